#include "services/worker/worker.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/common/logging.h"
#include "libs/core/policy.h"

namespace longrun::worker {

Worker::Worker(WorkerConfig config, store::OperationStore& store, store::JobNotifier& notifier,
               const Registry& registry)
    : config_(std::move(config)), store_(store), notifier_(notifier), registry_(registry) {
  kinds_ = config_.kinds.empty() ? registry_.Kinds() : config_.kinds;
}

Worker::~Worker() { Drain(); }

void Worker::Start() {
  runners_ = std::make_unique<concurrency::Executor>(
      "runner", static_cast<int>(config_.concurrency), static_cast<size_t>(config_.concurrency));
  notifier_.Start([this] { Wake(); });
  producer_ = std::thread([this] { ProducerLoop(); });
  LONGRUN_LOG(kInfo, "worker_started",
              {{"worker", config_.worker_id}, {"concurrency", config_.concurrency},
               {"kinds", absl::StrJoin(kinds_, ",")}});
}

void Worker::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    more_ = true;
  }
  cv_.notify_all();
}

void Worker::ProducerLoop() {
  static log::RateLimiter error_log(absl::Seconds(10));
  absl::Duration backoff = absl::Milliseconds(100);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const int free = static_cast<int>(config_.concurrency) - running_;
    if (free <= 0 || !more_) {
      // Sleep until woken (NOTIFY, a slot freeing up) or the poll interval passes.
      const bool woken = cv_.wait_for(lock, absl::ToChronoNanoseconds(config_.poll_interval), [&] {
        return stopping_ || (more_ && running_ < config_.concurrency);
      });
      if (!woken) more_ = true;  // poll fallback
      continue;
    }
    more_ = false;
    lock.unlock();
    auto jobs = store_.JobClaim({.worker_id = config_.worker_id,
                                 .kinds = kinds_,
                                 .limit = free,
                                 .lease = config_.lease_duration});
    lock.lock();
    if (!jobs.ok()) {
      if (error_log.Allow()) {
        LONGRUN_LOG(kWarning, "claim_failed",
                    {{"error", jobs.status().message()}, {"retry_in", backoff},
                     {"suppressed", error_log.TakeSuppressed()}});
      }
      more_ = true;
      cv_.wait_for(lock, absl::ToChronoNanoseconds(backoff), [&] { return stopping_; });
      backoff = std::min(backoff * 2, absl::Seconds(5));
      continue;
    }
    backoff = absl::Milliseconds(100);
    // A full batch means there is probably more: claim again as soon as slots free up.
    if (static_cast<int>(jobs->size()) == free) more_ = true;
    for (store::ClaimedJob& job : *jobs) {
      ++running_;
      claimed_.fetch_add(1);
      // Runner threads == concurrency and running_ <= concurrency, so Post never refuses.
      runners_->Post([this, job = std::move(job)]() mutable { RunJob(std::move(job)); });
    }
  }
}

void Worker::RunJob(store::ClaimedJob job) {
  const absl::Time deadline =
      job.timeout.has_value() ? absl::Now() + *job.timeout : absl::InfiniteFuture();
  auto ctx = std::make_shared<JobContext>(
      job.id, job.attempt, job.max_attempts, deadline,
      [this, id = job.id, attempt = job.attempt](int32_t percent, const std::string& message) {
        return store_.JobProgress({.id = id, .attempt = attempt, .percent = percent,
                                   .message = message});
      });
  {
    std::lock_guard<std::mutex> lock(mu_);
    contexts_[job.id] = ctx;
  }
  LONGRUN_LOG(kDebug, "job_started", {{"id", job.id}, {"kind", job.kind}, {"attempt", job.attempt}});

  absl::StatusOr<google::protobuf::Struct> result;
  if (const Handler* handler = registry_.Find(job.kind); handler != nullptr) {
    result = (*handler)(*ctx, job.input);
  } else {
    result = absl::UnimplementedError(absl::StrCat("no handler for kind \"", job.kind, "\""));
  }
  // A handler that overran its deadline failed with DEADLINE_EXCEEDED, whatever it returned.
  const absl::Status stop = ctx->StopReason();
  if (stop.code() == absl::StatusCode::kDeadlineExceeded) result = stop;
  if (stop.code() == absl::StatusCode::kAborted) {
    LONGRUN_LOG(kWarning, "job_abandoned", {{"id", job.id}, {"attempt", job.attempt},
                                            {"reason", stop.message()}});
  } else {
    Complete(job, result);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    contexts_.erase(job.id);
    --running_;
  }
  completed_.fetch_add(1);
  cv_.notify_all();
}

void Worker::Complete(const store::ClaimedJob& job,
                      const absl::StatusOr<google::protobuf::Struct>& result) {
  store::JobCompleteParams params{.id = job.id, .attempt = job.attempt};
  if (result.ok()) {
    params.response = *result;
  } else {
    params.error = core::OperationError{static_cast<int>(result.status().code()),
                                        std::string(result.status().message())};
    if (!core::IsPermanentError(result.status().code()) && job.attempt < job.max_attempts) {
      thread_local absl::BitGen gen;
      params.retry_after = core::RetryDelay(config_.retry, job.attempt, gen);
    }
  }
  // Keep trying through a database blip: the result is the expensive part. Give up when the
  // lease would have run out (the job is rescued and re-run elsewhere anyway).
  static log::RateLimiter error_log(absl::Seconds(10));
  const absl::Time give_up = absl::Now() + config_.lease_duration;
  absl::Duration backoff = absl::Milliseconds(50);
  for (;;) {
    const absl::Status s = store_.JobComplete(params);
    if (s.ok()) return;
    if (s.code() == absl::StatusCode::kAborted) {
      LONGRUN_LOG(kWarning, "completion_fenced", {{"id", job.id}, {"attempt", job.attempt}});
      return;
    }
    if (absl::Now() + backoff > give_up) {
      LONGRUN_LOG(kError, "completion_lost", {{"id", job.id}, {"error", s.message()}});
      return;
    }
    if (error_log.Allow()) {
      LONGRUN_LOG(kWarning, "completion_retry", {{"id", job.id}, {"error", s.message()}});
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

int Worker::Drain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !producer_.joinable() && runners_ == nullptr) return 0;
    stopping_ = true;
  }
  cv_.notify_all();
  if (producer_.joinable()) producer_.join();
  notifier_.Stop();
  int left = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(config_.shutdown_grace),
                 [&] { return running_ == 0; });
    left = running_;
    for (auto& [id, ctx] : contexts_) ctx->Stop(absl::CancelledError("worker shutting down"));
  }
  if (runners_) runners_->Shutdown();
  runners_.reset();
  return left;
}

}  // namespace longrun::worker
