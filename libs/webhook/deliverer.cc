#include "libs/webhook/deliverer.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/common/backoff.h"
#include "libs/common/logging.h"
#include "libs/rpc/convert.h"

namespace longrun::webhook {
namespace {

std::string JsonString(absl::string_view text) {
  google::protobuf::Value value;
  value.set_string_value(std::string(text));
  std::string out;
  // A string Value always prints.
  static_cast<void>(google::protobuf::util::MessageToJsonString(value, &out));
  return out;
}

}  // namespace

Deliverer::Deliverer(DelivererConfig config, DelivererDeps deps)
    : config_(std::move(config)), deps_(std::move(deps)) {}

Deliverer::~Deliverer() { Stop(); }

std::string Deliverer::Body(const store::Delivery& delivery, const core::Operation& operation) {
  core::Operation op = operation;
  op.callback.reset();  // the delivery state is not part of what is delivered
  // The suggested poll delay of a not-done operation depends on "now": take the change's
  // time so every attempt prints the same bytes.
  const google::longrunning::Operation proto = rpc::ToProto(op, delivery.created_time);
  std::string data;
  if (!google::protobuf::util::MessageToJsonString(proto, &data).ok()) {
    // Only an unresolvable Any could fail; the types are linked in.
    data = "null";
  }
  return absl::StrCat(
      "{\"type\":", JsonString(delivery.event_type), ",\"timestamp\":",
      JsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", delivery.created_time,
                                  absl::UTCTimeZone())),
      ",\"data\":", data, "}");
}

void Deliverer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  for (int i = 0; i < config_.concurrency; ++i) threads_.emplace_back([this] { PostingThread(); });
  claim_thread_ = std::thread([this] { ClaimLoop(); });
}

void Deliverer::Stop() {
  std::deque<store::Delivery> unstarted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    unstarted.swap(queue_);
  }
  work_cv_.notify_all();
  slot_cv_.notify_all();
  if (claim_thread_.joinable()) claim_thread_.join();
  {
    // A pass that was claiming while Stop() began queued its rows after the swap above.
    std::lock_guard<std::mutex> lock(mu_);
    for (store::Delivery& d : queue_) unstarted.push_back(std::move(d));
    queue_.clear();
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  for (const store::Delivery& d : unstarted) {
    if (absl::Status s = deps_.store.DeliveryRelease(d.id, d.attempt); !s.ok()) {
      LONGRUN_LOG(kWarning, "webhook_release_failed", {{"delivery", d.id}, {"error", s.message()}});
    }
    Finish(d.host);
  }
}

int Deliverer::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_flight_;
}

DelivererRunResult Deliverer::RunOnce() {
  static log::RateLimiter error_log(absl::Seconds(60));
  DelivererRunResult out;
  store::DeliveryClaimParams params{.deliverer_id = config_.deliverer_id,
                                    .lease = config_.lease};
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Every free slot, skipping hosts at their bound. Rows of a host that fills up within
    // the claim are handed back (measured: with every callback to one host, 8 row writes
    // per post instead of 2, yet more posts per second than claiming one host's worth at a
    // time, which costs a round trip per freed slot; docs/BENCHMARKS.md).
    params.limit = config_.concurrency - in_flight_;
    for (const auto& [host, n] : per_host_) {
      if (n >= config_.concurrency_per_host) params.skip_hosts.push_back(host);
    }
  }
  if (params.limit > 0) {
    absl::StatusOr<std::vector<store::Delivery>> claimed = deps_.store.DeliveryClaim(params);
    if (!claimed.ok()) {
      if (error_log.Allow()) {
        LONGRUN_LOG(kWarning, "webhook_claim_failed", {{"error", claimed.status().message()}});
      }
      out.ok = false;
    } else {
      out.claimed = static_cast<int>(claimed->size());
      std::vector<store::Delivery> busy;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (store::Delivery& d : *claimed) {
          int& n = per_host_[d.host];
          if (n >= config_.concurrency_per_host) {
            busy.push_back(std::move(d));
            continue;
          }
          ++n;
          ++in_flight_;
          queue_.push_back(std::move(d));
        }
        // Host counts of 0 stay out of the map (erased in Finish); a busy host's entry
        // existed before.
      }
      work_cv_.notify_all();
      for (const store::Delivery& d : busy) {
        if (absl::Status s = deps_.store.DeliveryRelease(d.id, d.attempt); !s.ok()) {
          LONGRUN_LOG(kWarning, "webhook_release_failed",
                      {{"delivery", d.id}, {"error", s.message()}});
        }
        ++out.released;
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  out.delivered = std::exchange(counts_.delivered, 0);
  out.retried = std::exchange(counts_.retried, 0);
  out.dead = std::exchange(counts_.dead, 0);
  out.gone = std::exchange(counts_.gone, 0);
  out.record_failed = std::exchange(counts_.record_failed, 0);
  out.released += std::exchange(counts_.released, 0);
  return out;
}

void Deliverer::DrainForTest() {
  while (true) {
    store::Delivery d;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty()) return;
      d = std::move(queue_.front());
      queue_.pop_front();
    }
    Deliver(d);
  }
}

void Deliverer::PostingThread() {
  while (true) {
    store::Delivery d;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left that was handed to us
      d = std::move(queue_.front());
      queue_.pop_front();
    }
    Deliver(d);
  }
}

void Deliverer::ClaimLoop() {
  Backoff backoff({.initial = std::min(absl::Milliseconds(100), config_.interval),
                   .max = config_.interval});
  while (true) {
    const DelivererRunResult r = RunOnce();
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) return;
    if (!r.ok) {
      slot_cv_.wait_for(lock, absl::ToChronoNanoseconds(backoff.Next()),
                        [this] { return stopping_; });
      continue;
    }
    backoff.Reset();
    if (in_flight_ >= config_.concurrency) {
      // Every slot is taken: claim again as soon as one frees.
      slot_cv_.wait(lock, [this] { return stopping_ || in_flight_ < config_.concurrency; });
    } else if (r.claimed == 0) {
      // Nothing due (or only rows of busy hosts): poll again after the interval, or when a
      // post ends (its host may have been the busy one).
      const uint64_t seen = finished_;
      slot_cv_.wait_for(lock, absl::ToChronoNanoseconds(config_.interval),
                        [&] { return stopping_ || finished_ != seen; });
    }
    // Otherwise the claim found work and slots are free: look again at once.
  }
}

void Deliverer::Finish(const std::string& host) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = per_host_.find(host);
    if (it != per_host_.end() && --it->second <= 0) per_host_.erase(it);
    --in_flight_;
    ++finished_;
  }
  slot_cv_.notify_all();
}

void Deliverer::Record(const store::DeliveryOutcome& outcome) {
  absl::Status s = deps_.store.DeliveryRecord(outcome);
  std::lock_guard<std::mutex> lock(mu_);
  if (!s.ok()) {
    // kAborted: the claim was lost (lease expired, another deliverer took it). Anything
    // else: the row comes back by lease expiry and is attempted again.
    LONGRUN_LOG(kWarning, "webhook_record_failed",
                {{"delivery", outcome.id}, {"attempt", outcome.attempt}, {"error", s.message()}});
    ++counts_.record_failed;
    return;
  }
  switch (outcome.result) {
    case store::DeliveryResult::kDelivered:
      ++counts_.delivered;
      break;
    case store::DeliveryResult::kRetry:
      ++counts_.retried;
      break;
    case store::DeliveryResult::kDead:
      ++counts_.dead;
      break;
    case store::DeliveryResult::kGone:
      ++counts_.gone;
      break;
  }
}

void Deliverer::Deliver(const store::Delivery& d) {
  store::DeliveryOutcome outcome{.id = d.id, .attempt = d.attempt};
  absl::StatusOr<core::Operation> op = deps_.load_operation(d.operation_id);
  if (!op.ok() && op.status().code() != absl::StatusCode::kNotFound) {
    // Nothing was posted: give the claim back unattempted and try again on a later pass.
    LONGRUN_LOG(kWarning, "webhook_operation_unreadable",
                {{"delivery", d.id}, {"operation", d.operation_id}, {"error", op.status().message()}});
    if (absl::Status s = deps_.store.DeliveryRelease(d.id, d.attempt); !s.ok()) {
      LONGRUN_LOG(kWarning, "webhook_release_failed", {{"delivery", d.id}, {"error", s.message()}});
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++counts_.released;
    }
    Finish(d.host);
    return;
  }
  if (!op.ok()) {
    outcome.result = store::DeliveryResult::kDead;
    outcome.error = "operation deleted";
    Record(outcome);
    Finish(d.host);
    return;
  }
  // The URL was validated at Submit; the flags may have changed since (no more http).
  absl::StatusOr<CallbackUrl> url = ParseCallbackUrl(d.url, config_.policy.allow_insecure);
  if (!url.ok()) {
    outcome.result = store::DeliveryResult::kDead;
    outcome.error = std::string(url.status().message());
    Record(outcome);
    Finish(d.host);
    return;
  }
  const std::string body = Body(d, *op);
  AttemptAnswer answer;
  absl::StatusOr<IpAddress> address =
      VetHost(url->host, url->port, config_.policy.addresses, deps_.resolver);
  if (!address.ok()) {
    answer.error = std::string(address.status().message());
  } else {
    const int64_t timestamp = absl::ToUnixSeconds(deps_.clock.Now());
    std::shared_ptr<const WebhookSecrets> secrets = deps_.secrets();
    PostRequest request{.url = url->url,
                        .host = url->host,
                        .port = url->port,
                        .address = *address,
                        .headers = {{"webhook-id", d.webhook_id},
                                    {"webhook-timestamp", absl::StrCat(timestamp)},
                                    {"webhook-signature",
                                     Sign(*secrets, d.webhook_id, timestamp, body)}},
                        .body = body};
    PostResult result = deps_.poster.Post(request);
    answer = {.http_status = result.http_status,
              .retry_after = result.retry_after,
              .error = std::move(result.error)};
  }
  RetryDecision decision = DecideRetry(config_.retry, answer, d.attempt, deps_.clock.Now(),
                                       d.retry_from, deps_.random);
  outcome.result = decision.result;
  outcome.http_status = answer.http_status;
  outcome.error = std::move(decision.error);
  outcome.next_attempt_time = decision.next_attempt_time;
  Record(outcome);
  Finish(d.host);
}

}  // namespace longrun::webhook
