#include "services/api/event_stream.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "libs/core/filter.h"
#include "libs/rpc/convert.h"
#include "libs/rpc/grpc_status.h"

namespace longrun::api {

// ---- EventPoller ----

EventPoller::EventPoller(EventStreamConfig config, const Clock& clock)
    : config_(config), clock_(clock) {}

EventPoller::~EventPoller() { Shutdown(); }

void EventPoller::Start() { thread_ = std::thread([this] { Loop(); }); }

void EventPoller::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventPoller::Park(Stream* s) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    parked_.insert(s);
    // A notification that came while the stream was reading is for it too.
    wake = notified_;
  }
  if (wake) cv_.notify_one();
}

void EventPoller::Remove(Stream* s) {
  std::lock_guard<std::mutex> lock(mu_);
  parked_.erase(s);  // Poll() runs under mu_, so none is running now
}

void EventPoller::OnNotify() {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake = !notified_;
    notified_ = true;
  }
  if (wake) cv_.notify_one();
}

void EventPoller::Close() {
  closing_.store(true);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = parked_.begin(); it != parked_.end();) {
    it = (*it)->Poll() ? parked_.erase(it) : std::next(it);
  }
}

int EventPoller::Parked() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(parked_.size());
}

EventPollerRunResult EventPoller::RunOnce() {
  std::lock_guard<std::mutex> lock(mu_);
  return RunOnceLocked();
}

EventPollerRunResult EventPoller::RunOnceLocked() {
  EventPollerRunResult result;
  const absl::Time now = clock_.Now();
  const bool due = now >= last_wake_ + config_.poll_interval ||
                   (notified_ && now >= last_wake_ + config_.min_read_gap);
  if (due && !parked_.empty()) {
    last_wake_ = now;
    notified_ = false;
    for (auto it = parked_.begin(); it != parked_.end();) {
      if ((*it)->Poll()) {
        ++result.woken;
        it = parked_.erase(it);
      } else {
        ++it;
      }
    }
  } else if (due && !notified_) {
    // Nobody is parked: a notification stays pending until a stream parks (it may have
    // arrived while that stream was reading, after its read looked).
    last_wake_ = now;
  }
  // A pending notification with nobody parked waits for a Park() (which signals), not for
  // the gap.
  result.next_run = notified_ && !parked_.empty() ? last_wake_ + config_.min_read_gap
                                                  : last_wake_ + config_.poll_interval;
  return result;
}

void EventPoller::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const EventPollerRunResult r = RunOnceLocked();
    const absl::Duration wait = std::max(r.next_run - clock_.Now(), absl::Milliseconds(1));
    cv_.wait_for(lock, absl::ToChronoMilliseconds(wait),
                 [this] { return stopping_ || (notified_ && !parked_.empty()); });
    if (notified_ && !stopping_) {
      // A notification: wait out the rest of the gap so a burst wakes streams once.
      const absl::Duration gap = last_wake_ + config_.min_read_gap - clock_.Now();
      if (gap > absl::ZeroDuration()) {
        cv_.wait_for(lock, absl::ToChronoMicroseconds(gap), [this] { return stopping_; });
      }
    }
  }
}

// ---- EventsReactor ----

EventsReactor::EventsReactor(ApiDeps deps, EventPoller& poller, absl::StatusOr<Caller> caller,
                             const longrun::v1::WatchOperationsRequest& request)
    : deps_(deps),
      poller_(poller),
      caller_(caller.ok() ? *caller : Caller{}),
      request_(request),
      started_(deps.logic.Now()) {
  if (!caller.ok()) {
    FinishWith(caller.status());
    return;
  }
  if (deps_.watch_limits != nullptr) {
    if (!deps_.watch_limits->Acquire(caller_.tenant)) {
      FinishWith(absl::ResourceExhaustedError(absl::StrCat(
          "tenant \"", caller_.tenant, "\" already has ", deps_.watch_limits->per_tenant(),
          " watch streams open on this server (--max-watches-per-tenant); close one")));
      return;
    }
    counted_ = true;
  }
  if (!PostRead()) {
    FinishWith(absl::ResourceExhaustedError("server is overloaded or shutting down; retry"));
  }
}

bool EventsReactor::PostRead() {
  Ref();
  if (!deps_.executor.Post([this] {
        Read();
        Unref();
      })) {
    Unref();
    return false;
  }
  return true;
}

bool EventsReactor::Poll() { return PostRead(); }

void EventsReactor::Read() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
  }
  OperationsLogic& logic = deps_.logic;
  const absl::Time now = logic.Now();
  if (poller_.closing()) {
    FinishWith(absl::UnavailableError(absl::StrCat(
        "server shutting down; reconnect with start_after=\"", cursor_.Encode(),
        "\" (or the last event's cursor) to continue")));
    return;
  }
  if (now - started_ >= deps_.max_watch_duration) {
    FinishWith(absl::UnavailableError(absl::StrCat(
        "the stream reached --max-watch-duration; reconnect with start_after=\"",
        cursor_.Encode(), "\" (the last event's cursor) to continue")));
    return;
  }
  std::vector<longrun::v1::OperationEvent> out;
  bool caught_up = false;
  absl::Status status = [&]() -> absl::Status {
    if (!initialized_) {
      auto filter = core::ParseFilter(request_.filter());
      if (!filter.ok()) return filter.status();
      auto cursor = logic.EventsStart(request_.start_after());
      if (!cursor.ok()) return cursor.status();
      filter_ = *std::move(filter);
      cursor_ = *cursor;
      snapshot_pending_ = request_.include_snapshot();
      initialized_ = true;
    }
    if (snapshot_pending_) {
      auto page = logic.List(caller_, {.filter = request_.filter(),
                                       .page_size = poller_.config().snapshot_page,
                                       .page_token = snapshot_token_});
      if (!page.ok()) return page.status();
      const std::string cursor = cursor_.Encode();
      for (const core::Operation& op : page->operations) {
        longrun::v1::OperationEvent& e = out.emplace_back();
        e.set_cursor(cursor);
        *e.mutable_operation() = rpc::ToProto(op, now);
      }
      snapshot_token_ = page->next_page_token;
      snapshot_pending_ = !snapshot_token_.empty();
      return absl::OkStatus();
    }
    auto read = logic.EventsRead(caller_, filter_, cursor_, poller_.config().read_limit);
    if (!read.ok()) return read.status();
    caught_up = read->scanned_to == cursor_;
    cursor_ = read->scanned_to;
    for (const store::Event& ev : read->events) {
      longrun::v1::OperationEvent& e = out.emplace_back();
      e.set_cursor(ev.cursor.Encode());
      *e.mutable_operation() = rpc::ToProto(ev.operation, now);
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    const absl::StatusCode code = status.code();
    const bool transient = code == absl::StatusCode::kUnavailable ||
                           code == absl::StatusCode::kInternal ||
                           code == absl::StatusCode::kDeadlineExceeded ||
                           code == absl::StatusCode::kResourceExhausted;
    if (!transient) {
      FinishWith(status);
      return;
    }
    if (failing_since_ == absl::InfiniteFuture()) failing_since_ = now;
    if (now - failing_since_ >= poller_.config().outage_timeout) {
      FinishWith(absl::UnavailableError(absl::StrCat(
          "the event log has been unreadable for ",
          absl::FormatDuration(now - failing_since_), " (", status.message(),
          "); reconnect with start_after set to the last event's cursor")));
      return;
    }
    static log::RateLimiter limiter(absl::Seconds(10));
    if (limiter.Allow()) {
      LONGRUN_LOG(kWarning, "watch_operations_read_failed", {{"error", status.ToString()}});
    }
    caught_up = true;  // try again on the poller's next wake-up
  } else {
    failing_since_ = absl::InfiniteFuture();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  for (auto& e : out) buffer_.push_back(std::move(e));
  if (!buffer_.empty()) {
    if (!write_in_flight_) WriteNextLocked();
  } else if (caught_up || !PostRead()) {
    poller_.Park(this);
  }
}

void EventsReactor::WriteNextLocked() {
  current_ = std::move(buffer_.front());
  buffer_.pop_front();
  write_in_flight_ = true;
  StartWrite(&current_);
}

void EventsReactor::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  write_in_flight_ = false;
  if (!ok || finished_) return;  // the client went away: OnDone follows
  if (!buffer_.empty()) {
    WriteNextLocked();
  } else if (!PostRead()) {
    poller_.Park(this);
  }
}

void EventsReactor::FinishWith(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  buffer_.clear();
  Finish(rpc::ToGrpcStatus(status));
}

void EventsReactor::OnCancel() { FinishWith(absl::CancelledError("the client cancelled")); }

void EventsReactor::OnDone() {
  poller_.Remove(this);
  if (counted_) deps_.watch_limits->Release(caller_.tenant);
  Unref();
}

}  // namespace longrun::api
