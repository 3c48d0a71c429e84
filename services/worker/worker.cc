#include "services/worker/worker.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/common/check.h"
#include "libs/common/logging.h"
#include "libs/core/policy.h"
#include "libs/core/struct_json.h"

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
  notifier_.Start([this] { Wake(); }, [this](const std::string& id) { CancelRunning(id); });
  last_heartbeat_ok_ = absl::Now();
  // Two dispatchers when there are enough slots to split: while one round is in flight, the
  // other can start the next, so a busy worker is never idle waiting for a commit. With few
  // slots, two rounds would each carry half a batch, and a job's cost in PostgreSQL grows as
  // batches shrink (measured: 1 x 256 slots drained 20.6k -> 30.8k jobs/s with two; 2 x 32
  // fell from ~16.8k to ~14.2k).
  const int dispatchers = config_.concurrency >= kTwoDispatchersFrom ? 2 : 1;
  for (int i = 0; i < dispatchers; ++i) {
    dispatchers_.emplace_back([this] { DispatchLoop(); });
  }
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

void Worker::DispatchLoop() {
  static log::RateLimiter error_log(absl::Seconds(10));
  absl::Duration backoff = absl::Milliseconds(100);
  // While handlers are busy and the queue has work, let a few slots free up before a round,
  // so a backlog is claimed and recorded in batches (one transaction and one notification
  // per round) rather than one job per finished job. Waits at most kLinger, never when the
  // worker is idle, and never when there is nothing to claim (results then go at once;
  // they still batch up while a round is in flight), so a lone job's pickup and
  // completion are not delayed.
  //
  // A steady stream of short jobs (each claim got a few, the queue then ran dry) would
  // otherwise cost two rounds per arrival burst: one recording the finished jobs, one
  // claiming the next arrivals when their wake-up comes. While streaming, finished jobs
  // wait up to kLinger for that wake-up (or a batch of results), so both go in one round.
  // A lone job (its claim got one) is never held.
  constexpr absl::Duration kLinger = absl::Milliseconds(2);
  const int concurrency = static_cast<int>(config_.concurrency);
  const int min_batch = MinBatch();
  bool lingered = false;
  bool streaming = false;  // this dispatcher's last claim got 2..limit-1 jobs
  std::vector<Finished> batch;
  std::unique_lock<std::mutex> lock(mu_);
  // Slots neither running a handler nor reserved by a round in flight.
  auto free_slots = [&] { return concurrency - running_ - reserved_; };
  // Jobs that become due without a NOTIFY (retries, scheduled jobs) are found by polling:
  // at least one claim attempt per poll interval, however many other wake-ups come.
  absl::Time next_poll = absl::Now() + config_.poll_interval;
  for (;;) {
    if (!stopping_ && absl::Now() >= next_poll) {
      more_ = true;
      next_poll = absl::Now() + config_.poll_interval;
    }
    const int free = free_slots();
    const bool claim = !stopping_ && more_ && free > 0;
    if (!claim && finished_.empty()) {
      if (dispatcher_exit_) break;
      // Sleep until woken (NOTIFY, a handler returning) or the poll interval passes.
      const WaitFor waiting(waiting_for_anything_);
      cv_.wait_for(lock, absl::ToChronoNanoseconds(std::max(next_poll - absl::Now(), absl::ZeroDuration())), [&] {
        return dispatcher_exit_ || !finished_.empty() ||
               (!stopping_ && more_ && free_slots() > 0);
      });
      continue;  // the poll deadline is checked at the top
    }
    if (!lingered && claim && running_ + reserved_ > 0 && free < min_batch) {
      const WaitFor waiting(waiting_for_batch_);
      cv_.wait_for(lock, absl::ToChronoNanoseconds(kLinger), [&] {
        return stopping_ || free_slots() >= min_batch;
      });
      lingered = true;
      continue;
    }
    if (!lingered && !claim && streaming && !stopping_ &&
        static_cast<int>(finished_.size()) < min_batch) {
      // Handlers do not wake this wait; a wake-up (Wake) or the timeout ends it.
      cv_.wait_for(lock, absl::ToChronoNanoseconds(kLinger), [&] {
        return stopping_ || dispatcher_exit_ || (more_ && free_slots() > 0);
      });
      lingered = true;
      continue;
    }
    lingered = false;
    batch.swap(finished_);
    finished_.clear();
    if (claim) more_ = false;
    const int limit = claim ? free : 0;
    int claimed = 0;
    if (Cycle(batch, limit, lock, &claimed)) {
      backoff = absl::Milliseconds(100);
      if (limit > 0) {
        streaming = claimed >= 2 && claimed < limit;
        next_poll = absl::Now() + config_.poll_interval;  // a claim is a poll
      }
      continue;
    }
    if (claim) more_ = true;
    if (dispatcher_exit_) break;  // Drain: do not hold the exit up through an outage
    if (error_log.Allow()) {
      LONGRUN_LOG(kWarning, "dispatch_failed",
                  {{"retry_in", backoff}, {"suppressed", error_log.TakeSuppressed()}});
    }
    cv_.wait_for(lock, absl::ToChronoNanoseconds(backoff), [&] { return dispatcher_exit_; });
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
  // Whatever is still unrecorded is lost with this process; its lease runs out and the
  // rescuer re-queues it, as after a crash.
  for (const Finished& f : finished_) {
    LONGRUN_LOG(kError, "completion_lost", {{"id", f.params.id}, {"reason", "worker exiting"}});
  }
}

bool Worker::Cycle(std::vector<Finished>& batch, int limit, std::unique_lock<std::mutex>& lock,
                   int* claimed) {
  reserved_ += limit;
  lock.unlock();
  store::JobCycleParams params{.claim = {.worker_id = config_.worker_id,
                                         .kinds = kinds_,
                                         .queues = config_.queues,
                                         .limit = limit,
                                         .lease = config_.lease_duration}};
  // The results move into the statement's parameters and back (no copy per job).
  params.successes.reserve(batch.size());
  for (Finished& f : batch) params.successes.push_back(std::move(f.params));
  auto result = store_.JobCompleteAndClaim(params);
  for (size_t i = 0; i < batch.size(); ++i) batch[i].params = std::move(params.successes[i]);
  lock.lock();
  reserved_ -= limit;
  if (stopping_) state_cv_.notify_all();
  if (!result.ok() && result.status().code() != absl::StatusCode::kUnavailable &&
      !batch.empty()) {
    // Not the connection: something in the batch PostgreSQL refused. Record the successes
    // one by one so one bad result cannot hold the others (or this worker's claims) up.
    LONGRUN_LOG(kWarning, "dispatch_error",
                {{"error", result.status().message()}, {"completions", batch.size()},
                 {"claim", limit}, {"next", "recording the completions one by one"}});
    std::vector<Finished> single;
    single.swap(batch);
    RecordOneByOne(single, lock);
    return false;
  }
  if (!result.ok()) {
    LONGRUN_LOG(kWarning, "dispatch_error",
                {{"error", result.status().message()}, {"completions", batch.size()},
                 {"claim", limit}});
    // Keep the successes for the next round unless their lease has surely run out.
    const absl::Time now = absl::Now();
    for (Finished& f : batch) {
      if (now < f.give_up) {
        finished_.push_back(std::move(f));
        continue;
      }
      LONGRUN_LOG(kError, "completion_lost", {{"id", f.params.id}, {"error", result.status().message()}});
      ForgetJob(f.params.id, f.params.attempt);
    }
    batch.clear();
    return false;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (result->completed[i].code() == absl::StatusCode::kAborted) {
      LONGRUN_LOG(kWarning, "completion_fenced",
                  {{"id", batch[i].params.id}, {"attempt", batch[i].params.attempt}});
    }
    ForgetJob(batch[i].params.id, batch[i].params.attempt);
  }
  batch.clear();
  // A full batch means there is probably more: claim again as soon as slots free up.
  *claimed = static_cast<int>(result->claimed.size());
  if (limit > 0 && *claimed == limit) more_ = true;
  for (store::ClaimedJob& job : result->claimed) {
    auto running = std::make_shared<RunningJob>();
    running->attempt = job.attempt;
    // An older attempt of the same job (its lease lost) may still be here; this one
    // replaces it, and ForgetJob never removes an entry of another attempt.
    jobs_[job.id] = running;
    ++running_;
    claimed_.fetch_add(1);
    // Runner threads == concurrency and running_ <= concurrency (claims never exceed the
    // free, unreserved slots), so Post never refuses. If it did, the job would silently
    // wait for its lease to expire: crash instead, which has the same outcome, loudly.
    LONGRUN_CHECK(running_ <= static_cast<int>(config_.concurrency));
    const bool posted =
        runners_->Post([this, job = std::move(job), running = std::move(running)]() mutable {
          RunJob(std::move(job), std::move(running));
        });
    LONGRUN_CHECK(posted);
  }
  return true;
}

void Worker::RunJob(store::ClaimedJob job, std::shared_ptr<RunningJob> running) {
  const absl::Time deadline =
      job.timeout.has_value() ? absl::Now() + *job.timeout : absl::InfiniteFuture();
  RunningJob* r = running.get();
  auto ctx = std::make_shared<JobContext>(
      job.id, job.attempt, job.max_attempts, deadline,
      [this, r, id = job.id, attempt = job.attempt](int32_t percent, const std::string& message) {
        std::lock_guard<std::mutex> lock(r->write_mu);
        if (r->released) return absl::AbortedError("job was handed back");
        return store_.JobProgress({.id = id, .attempt = attempt, .percent = percent,
                                   .message = message});
      });
  bool cancelled_early = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    running->ctx = ctx;
    cancelled_early = running->cancel_requested;
  }
  if (cancelled_early) ctx->Stop(absl::CancelledError("cancellation requested"));
  LONGRUN_LOG(kDebug, "job_started", {{"id", job.id}, {"kind", job.kind}, {"attempt", job.attempt}});

  bool handed_back = false;
  {
    std::lock_guard<std::mutex> lock(r->write_mu);
    handed_back = r->released;
  }
  absl::StatusOr<google::protobuf::Struct> result = absl::AbortedError("handed back before it started");
  if (!handed_back) {
    if (const Handler* handler = registry_.Find(job.kind); handler != nullptr) {
      result = (*handler)(*ctx, job.input);
    } else {
      result = absl::UnimplementedError(absl::StrCat("no handler for kind \"", job.kind, "\""));
    }
    // A handler that overran its deadline failed with DEADLINE_EXCEEDED, whatever it returned.
    const absl::Status stop = ctx->StopReason();
    if (stop.code() == absl::StatusCode::kDeadlineExceeded) result = stop;
    if (stop.code() == absl::StatusCode::kAborted) result = stop;
    // A result PostgreSQL could not store (NaN, U+0000, invalid UTF-8) fails the attempt
    // here, instead of failing the round that would carry it.
    if (result.ok()) {
      if (absl::Status bad = core::CheckJsonStorable(*result, "result"); !bad.ok()) {
        result = absl::InternalError(absl::StrCat("handler returned a result that cannot be "
                                                  "stored as JSON: ", bad.message()));
      }
    }
  }
  if (result.status().code() == absl::StatusCode::kAborted) {
    LONGRUN_LOG(kWarning, "job_abandoned", {{"id", job.id}, {"attempt", job.attempt},
                                            {"reason", result.status().message()}});
    HandlerReturned(job.id, job.attempt, std::nullopt);
    return;
  }
  if (!result.ok()) {
    CompleteFailure(job, *running, result.status());
    HandlerReturned(job.id, job.attempt, std::nullopt);
    return;
  }
  std::lock_guard<std::mutex> lock(r->write_mu);
  if (r->released) {
    LONGRUN_LOG(kInfo, "result_discarded", {{"id", job.id}, {"attempt", job.attempt},
                                            {"reason", "job was handed back during drain"}});
    HandlerReturned(job.id, job.attempt, std::nullopt);
    return;
  }
  // From here on Drain leaves the job alone: its result is on the way.
  r->finished = true;
  HandlerReturned(job.id, job.attempt, Finished{{.id = job.id, .attempt = job.attempt,
                                    .response = *std::move(result)},
                                   absl::Now() + config_.lease_duration});
}

void Worker::ForgetJob(const std::string& id, int32_t attempt) {
  if (auto it = jobs_.find(id); it != jobs_.end() && it->second->attempt == attempt) {
    jobs_.erase(it);
  }
}

void Worker::RecordOneByOne(std::vector<Finished>& batch, std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  std::vector<Finished> retry;
  std::vector<std::pair<std::string, int32_t>> done;
  for (Finished& f : batch) {
    absl::Status s = store_.JobComplete(f.params);
    if (!s.ok() && s.code() != absl::StatusCode::kAborted &&
        s.code() != absl::StatusCode::kUnavailable) {
      LONGRUN_LOG(kError, "result_refused", {{"id", f.params.id}, {"attempt", f.params.attempt},
                                             {"error", s.message()}});
      store::JobCompleteParams failed{.id = f.params.id, .attempt = f.params.attempt};
      failed.error = core::OperationError{
          static_cast<int>(absl::StatusCode::kInternal),
          absl::StrCat("the handler's result could not be stored: ", s.message())};
      s = store_.JobComplete(failed);
    }
    if (s.code() == absl::StatusCode::kUnavailable && absl::Now() < f.give_up) {
      retry.push_back(std::move(f));
    } else {
      done.emplace_back(f.params.id, f.params.attempt);
    }
  }
  lock.lock();
  for (Finished& f : retry) finished_.push_back(std::move(f));
  for (const auto& [id, attempt] : done) ForgetJob(id, attempt);
  batch.clear();
}

void Worker::HandlerReturned(const std::string& id, int32_t attempt,
                             std::optional<Finished> success) {
  bool wake_dispatcher = false;
  bool wake_drain = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (success.has_value()) {
      finished_.push_back(*std::move(success));
    } else {
      ForgetJob(id, attempt);
    }
    --running_;
    // Wake a dispatcher only when what it waits for happened: one wake-up per round, not
    // one per job.
    const int free = static_cast<int>(config_.concurrency) - running_ - reserved_;
    wake_dispatcher =
        waiting_for_anything_ > 0 ||
        (waiting_for_batch_ > 0 &&
         (running_ + reserved_ == 0 || free >= MinBatch()));
    wake_drain = stopping_;
  }
  if (wake_dispatcher) cv_.notify_all();
  if (wake_drain) state_cv_.notify_all();
}

void Worker::CompleteFailure(const store::ClaimedJob& job, RunningJob& running,
                             const absl::Status& result) {
  store::JobCompleteParams params{.id = job.id, .attempt = job.attempt};
  params.error = core::OperationError{static_cast<int>(result.code()), std::string(result.message())};
  if (!core::IsPermanentError(result.code()) && job.attempt < job.max_attempts) {
    thread_local absl::BitGen gen;
    params.retry_after = core::RetryDelay(config_.retry, job.attempt, gen);
  }
  // Keep trying through a database blip: give up when the lease would have run out (the
  // job is rescued and re-run elsewhere anyway).
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
      running.finished = true;
      s = store_.JobComplete(params);
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

void Worker::CancelRunning(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  if (it->second->ctx == nullptr) {
    it->second->cancel_requested = true;  // claimed, not started yet: RunJob stops it
    return;
  }
  it->second->ctx->Stop(absl::CancelledError("cancellation requested"));
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
  // While draining (stopping_), only heartbeats go on: the jobs still running or waiting
  // for their round keep their leases until Drain is done with them.
  while (!maintenance_exit_) {
    const absl::Time wake =
        stopping_ ? next_hb : std::min({next_hb, next_rescue, next_prune});
    const bool was_stopping = stopping_;
    state_cv_.wait_for(lock, absl::ToChronoNanoseconds(std::max(wake - absl::Now(), absl::ZeroDuration())),
                 [&] { return maintenance_exit_ || stopping_ != was_stopping; });
    if (maintenance_exit_) break;
    const bool draining = stopping_;
    const absl::Time now = absl::Now();
    lock.unlock();
    if (now >= next_hb) {
      Heartbeat();
      next_hb = now + hb_every;
    }
    if (draining) {
      lock.lock();
      continue;
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
        if (auto it = jobs_.find(ref.id); it != jobs_.end() && it->second->ctx != nullptr) {
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
    if (it == jobs_.end() || it->second->attempt != ref.attempt || it->second->ctx == nullptr) {
      continue;
    }
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
    if (stopping_ && dispatchers_.empty() && runners_ == nullptr) return 0;
    stopping_ = true;
  }
  cv_.notify_all();
  state_cv_.notify_all();
  notifier_.Stop();
  std::vector<std::pair<std::string, std::shared_ptr<RunningJob>>> left;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // A round already in flight may still claim jobs: wait for it (bounded: a stalled
    // connection must not hold the exit up; what it claims then is rescued after its
    // lease, as after a crash), then for the handlers.
    state_cv_.wait_for(lock, absl::ToChronoNanoseconds(config_.shutdown_grace),
                       [&] { return reserved_ == 0; });
    state_cv_.wait_for(lock, absl::ToChronoNanoseconds(config_.shutdown_grace),
                       [&] { return running_ == 0; });
    for (auto& [id, job] : jobs_) left.emplace_back(id, job);
  }
  // Hand unfinished jobs back at once, so another worker starts them without waiting for a
  // lease to expire.
  int released = 0;
  for (auto& [id, job] : left) {
    {
      std::lock_guard<std::mutex> lock(job->write_mu);
      if (job->finished) continue;  // its result is recorded or waiting for the dispatcher
      job->released = true;
      const absl::Status s = store_.JobRelease({id, job->attempt});
      if (s.ok()) ++released;
      LONGRUN_LOG(kInfo, "job_released", {{"id", id}, {"attempt", job->attempt},
                                          {"status", s.ok() ? "ok" : std::string(s.message())}});
    }
    std::shared_ptr<JobContext> ctx;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ctx = job->ctx;
    }
    if (ctx != nullptr) ctx->Stop(absl::CancelledError("worker shutting down"));
  }
  // Record the successes still waiting, then stop the dispatcher.
  {
    std::lock_guard<std::mutex> lock(mu_);
    dispatcher_exit_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : dispatchers_) t.join();
  dispatchers_.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    maintenance_exit_ = true;
  }
  state_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  {
    std::unique_lock<std::mutex> lock(mu_);
    state_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return running_ == 0; });
    if (running_ > 0) return released;  // handlers ignoring the stop: the caller exits anyway
  }
  if (runners_) runners_->Shutdown();
  runners_.reset();
  return released;
}

}  // namespace longrun::worker
