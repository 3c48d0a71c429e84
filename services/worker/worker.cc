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
  completions_ = std::make_unique<concurrency::Batcher<CompletionItem>>(
      2, 512, 100000, [this](std::vector<CompletionItem>& batch) { FlushCompletions(batch); });
  runners_ = std::make_unique<concurrency::Executor>(
      "runner", static_cast<int>(config_.concurrency), static_cast<size_t>(config_.concurrency));
  notifier_.Start([this] { Wake(); }, [this](const std::string& id) { CancelRunning(id); });
  last_heartbeat_ok_ = absl::Now();
  producer_ = std::thread([this] { ProducerLoop(); });
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
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
  // While busy, let a few slots free up before claiming, so a backlog is claimed in batches
  // (one transaction and one NOTIFY per batch) rather than one job per finished job. Waits
  // at most kClaimLinger, and never when the worker is idle, so pickup latency is unchanged.
  constexpr absl::Duration kClaimLinger = absl::Milliseconds(2);
  const int min_batch = std::max<int>(1, static_cast<int>(config_.concurrency) / 4);
  bool lingered = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const int free = static_cast<int>(config_.concurrency) - running_;
    if (free > 0 && more_ && free < min_batch && running_ > 0 && !lingered) {
      cv_.wait_for(lock, absl::ToChronoNanoseconds(kClaimLinger), [&] {
        return stopping_ || static_cast<int>(config_.concurrency) - running_ >= min_batch;
      });
      lingered = true;
      continue;
    }
    lingered = false;
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
                                 .queues = config_.queues,
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
  auto running = std::make_shared<RunningJob>();
  running->attempt = job.attempt;
  RunningJob* r = running.get();
  running->ctx = std::make_shared<JobContext>(
      job.id, job.attempt, job.max_attempts, deadline,
      [this, r, id = job.id, attempt = job.attempt](int32_t percent, const std::string& message) {
        std::lock_guard<std::mutex> lock(r->write_mu);
        if (r->released) return absl::AbortedError("job was handed back");
        return store_.JobProgress({.id = id, .attempt = attempt, .percent = percent,
                                   .message = message});
      });
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_[job.id] = running;
  }
  LONGRUN_LOG(kDebug, "job_started", {{"id", job.id}, {"kind", job.kind}, {"attempt", job.attempt}});

  absl::StatusOr<google::protobuf::Struct> result;
  if (const Handler* handler = registry_.Find(job.kind); handler != nullptr) {
    result = (*handler)(*running->ctx, job.input);
  } else {
    result = absl::UnimplementedError(absl::StrCat("no handler for kind \"", job.kind, "\""));
  }
  // A handler that overran its deadline failed with DEADLINE_EXCEEDED, whatever it returned.
  const absl::Status stop = running->ctx->StopReason();
  if (stop.code() == absl::StatusCode::kDeadlineExceeded) result = stop;
  if (stop.code() == absl::StatusCode::kAborted) {
    LONGRUN_LOG(kWarning, "job_abandoned", {{"id", job.id}, {"attempt", job.attempt},
                                            {"reason", stop.message()}});
  } else {
    Complete(job, *running, result);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.erase(job.id);
    --running_;
  }
  cv_.notify_all();
}

void Worker::Complete(const store::ClaimedJob& job, RunningJob& running,
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
    absl::Status s;
    {
      std::lock_guard<std::mutex> lock(running.write_mu);
      if (running.released) {
        LONGRUN_LOG(kInfo, "result_discarded", {{"id", job.id}, {"attempt", job.attempt},
                                                {"reason", "job was handed back during drain"}});
        return;
      }
      s = params.response.has_value() ? CompleteSuccessBatched(params) : store_.JobComplete(params);
    }
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

absl::Status Worker::CompleteSuccessBatched(const store::JobCompleteParams& params) {
  CompletionItem item{params, {}};
  std::future<absl::Status> done = item.done.get_future();
  if (!completions_->Add(item)) return store_.JobComplete(params);
  return done.get();
}

void Worker::FlushCompletions(std::vector<CompletionItem>& batch) {
  std::vector<store::JobCompleteParams> params;
  params.reserve(batch.size());
  for (const CompletionItem& item : batch) params.push_back(item.params);
  auto results = store_.JobCompleteBatch(params);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].done.set_value(results.ok() ? (*results)[i] : results.status());
  }
}

void Worker::CancelRunning(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = jobs_.find(id); it != jobs_.end()) {
    it->second->ctx->Stop(absl::CancelledError("cancellation requested"));
  }
}

void Worker::MaintenanceLoop() {
  const absl::Duration hb_every = config_.EffectiveHeartbeatInterval();
  absl::Time next_hb = absl::Now() + hb_every;
  // Spread the first rescue/prune a little so replicas started together do not align.
  thread_local absl::BitGen gen;
  auto spread = [&](absl::Duration d) { return d * absl::Uniform(gen, 0.0, 1.0); };
  absl::Time next_rescue = absl::Now() + spread(config_.rescue_interval);
  absl::Time next_prune = absl::Now() + spread(config_.prune_interval);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const absl::Time wake = std::min({next_hb, next_rescue, next_prune});
    cv_.wait_for(lock, absl::ToChronoNanoseconds(std::max(wake - absl::Now(), absl::ZeroDuration())),
                 [&] { return stopping_; });
    if (stopping_) break;
    const absl::Time now = absl::Now();
    lock.unlock();
    if (now >= next_hb) {
      Heartbeat();
      next_hb = now + hb_every;
    }
    if (now >= next_rescue) {
      Rescue();
      next_rescue = now + config_.rescue_interval;
    }
    if (now >= next_prune) {
      Prune();
      next_prune = now + config_.prune_interval;
    }
    lock.lock();
  }
}

void Worker::Heartbeat() {
  if (config_.disable_heartbeats_for_test) return;
  std::vector<store::JobRef> refs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, job] : jobs_) refs.push_back({id, job->attempt});
  }
  if (refs.empty()) {
    last_heartbeat_ok_ = absl::Now();
    return;
  }
  auto held = store_.JobHeartbeat({.jobs = refs, .lease = config_.lease_duration});
  std::lock_guard<std::mutex> lock(mu_);
  if (!held.ok()) {
    // A short outage does not stop handlers; once the lease must have run out the job is
    // (or will be) rescued elsewhere, so stop working on it.
    static log::RateLimiter error_log(absl::Seconds(10));
    if (error_log.Allow()) {
      LONGRUN_LOG(kWarning, "heartbeat_failed", {{"error", held.status().message()}});
    }
    if (absl::Now() - last_heartbeat_ok_ >= config_.lease_duration) {
      for (const store::JobRef& ref : refs) {
        if (auto it = jobs_.find(ref.id); it != jobs_.end()) {
          it->second->ctx->Stop(absl::AbortedError("lease expired while the database was unreachable"));
        }
      }
    }
    return;
  }
  last_heartbeat_ok_ = absl::Now();
  std::map<std::string, core::State> state;
  for (const auto& h : *held) state[h.id] = h.state;
  for (const store::JobRef& ref : refs) {
    auto it = jobs_.find(ref.id);
    if (it == jobs_.end() || it->second->attempt != ref.attempt) continue;
    auto s = state.find(ref.id);
    if (s == state.end()) {
      it->second->ctx->Stop(absl::AbortedError("lease lost: the job was rescued or finished elsewhere"));
    } else if (s->second == core::State::kCancelling) {
      it->second->ctx->Stop(absl::CancelledError("cancellation requested"));
    }
  }
}

void Worker::Rescue() {
  static log::RateLimiter error_log(absl::Seconds(30));
  for (int round = 0; round < 20; ++round) {
    auto n = store_.JobRescueStuck({.limit = 100});
    if (!n.ok()) {
      if (error_log.Allow()) LONGRUN_LOG(kWarning, "rescue_failed", {{"error", n.status().message()}});
      return;
    }
    if (*n > 0) LONGRUN_LOG(kInfo, "rescued", {{"count", *n}, {"worker", config_.worker_id}});
    if (*n < 100) break;
  }
  if (config_.schedule_to_start > absl::ZeroDuration()) {
    auto n = store_.JobFailUnstarted({.older_than = config_.schedule_to_start, .limit = 100});
    if (n.ok() && *n > 0) LONGRUN_LOG(kInfo, "failed_unstarted", {{"count", *n}});
  }
}

void Worker::Prune() {
  static log::RateLimiter error_log(absl::Seconds(60));
  const std::pair<core::State, absl::Duration> ttls[] = {
      {core::State::kSucceeded, config_.retain_succeeded},
      {core::State::kFailed, config_.retain_failed},
      {core::State::kCancelled, config_.retain_cancelled}};
  for (const auto& [state, ttl] : ttls) {
    int total = 0;
    // Small batches, each its own short transaction; stop after a bounded amount per pass.
    for (int round = 0; round < 20; ++round) {
      auto n = store_.OperationPrune({.state = state, .older_than = ttl, .limit = 500});
      if (!n.ok()) {
        if (error_log.Allow()) LONGRUN_LOG(kWarning, "prune_failed", {{"error", n.status().message()}});
        return;
      }
      total += *n;
      if (*n < 500) break;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
      }
    }
    if (total > 0) {
      LONGRUN_LOG(kInfo, "pruned", {{"state", core::StateName(state)}, {"count", total}});
    }
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
  std::vector<std::pair<std::string, std::shared_ptr<RunningJob>>> left;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(config_.shutdown_grace),
                 [&] { return running_ == 0; });
    for (auto& [id, job] : jobs_) left.emplace_back(id, job);
  }
  // Hand unfinished jobs back at once, so another worker starts them without waiting for a
  // lease to expire.
  int released = 0;
  for (auto& [id, job] : left) {
    {
      std::lock_guard<std::mutex> lock(job->write_mu);
      job->released = true;
      const absl::Status s = store_.JobRelease({id, job->attempt});
      if (s.ok()) ++released;
      LONGRUN_LOG(kInfo, "job_released", {{"id", id}, {"attempt", job->attempt},
                                          {"status", s.ok() ? "ok" : std::string(s.message())}});
    }
    job->ctx->Stop(absl::CancelledError("worker shutting down"));
  }
  if (maintenance_.joinable()) maintenance_.join();
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(2), [&] { return running_ == 0; });
    if (running_ > 0) return released;  // handlers ignoring the stop: the caller exits anyway
  }
  if (runners_) runners_->Shutdown();
  runners_.reset();
  if (completions_) completions_->Shutdown();
  return released;
}

}  // namespace longrun::worker
