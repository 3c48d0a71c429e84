#include "libs/worker/dispatch_loop.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/common/backoff.h"
#include "libs/common/check.h"
#include "libs/common/logging.h"

namespace longrun::worker {
namespace {

// Counts one waiter for the scope of one wait (the loop's mutex held around it).
struct WaitFor {
  explicit WaitFor(int& count) : count_(count) { ++count_; }
  ~WaitFor() { --count_; }
  int& count_;
};

}  // namespace

DispatchLoop::DispatchLoop(DispatchConfig config, store::OperationStore& store, JobTable& table,
                           const Clock& clock, StartFn start)
    : config_(std::move(config)),
      store_(store),
      table_(table),
      clock_(clock),
      start_(std::move(start)) {}

std::string DispatchLoop::TraceOf(const store::JobCompleteParams& params) const {
  std::shared_ptr<Attempt> attempt = table_.Find(params.id);
  return attempt != nullptr && attempt->attempt() == params.attempt ? attempt->trace_id() : "";
}

void DispatchLoop::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    more_ = true;
  }
  cv_.notify_all();
}

int DispatchLoop::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

DispatchRunResult DispatchLoop::RunOnce() {
  std::unique_lock<std::mutex> lock(mu_);
  return RoundLocked(stopping_ ? 0 : std::max(0, FreeSlotsLocked()), lock);
}

void DispatchLoop::Run() {
  static log::RateLimiter error_log(absl::Seconds(10));
  Backoff backoff({.initial = config_.min_backoff, .max = config_.max_backoff});
  // While handlers are busy and the queue has work, let a few slots free up before a round,
  // so a backlog is claimed and recorded in batches (one transaction and one notification
  // per round) rather than one job per finished job. Waits at most `linger`, never when the
  // worker is idle, and never when there is nothing to claim (results then go at once;
  // they still batch up while a round is in flight), so a lone job's pickup and
  // completion are not delayed.
  //
  // A steady stream of short jobs (each claim got a few, the queue then ran dry) would
  // otherwise cost two rounds per arrival burst: one recording the finished jobs, one
  // claiming the next arrivals when their wake-up comes. While streaming, finished jobs
  // wait up to `linger` for that wake-up (or a batch of results), so both go in one round.
  // A lone job (its claim got one) is never held.
  const auto linger = absl::ToChronoNanoseconds(config_.linger);
  const int min_batch = MinBatch();
  bool lingered = false;
  bool streaming = false;  // this dispatcher's last claim got 2..limit-1 jobs
  std::unique_lock<std::mutex> lock(mu_);
  // Jobs that become due without a NOTIFY (retries, scheduled jobs) are found by polling:
  // at least one claim attempt per poll interval, however many other wake-ups come.
  absl::Time next_poll = absl::Now() + config_.poll_interval;
  for (;;) {
    if (!stopping_ && absl::Now() >= next_poll) {
      more_ = true;
      next_poll = absl::Now() + config_.poll_interval;
    }
    const int free = FreeSlotsLocked();
    const bool claim = !stopping_ && more_ && free > 0;
    if (!claim && finished_.empty()) {
      if (exit_) break;
      // Sleep until woken (NOTIFY, a handler returning) or the poll interval passes.
      const WaitFor waiting(waiting_for_anything_);
      cv_.wait_for(
          lock, absl::ToChronoNanoseconds(std::max(next_poll - absl::Now(), absl::ZeroDuration())),
          [&] {
            return exit_ || !finished_.empty() || (!stopping_ && more_ && FreeSlotsLocked() > 0);
          });
      continue;  // the poll deadline is checked at the top
    }
    if (!lingered && claim && running_ + reserved_ > 0 && free < min_batch) {
      const WaitFor waiting(waiting_for_batch_);
      cv_.wait_for(lock, linger, [&] { return stopping_ || FreeSlotsLocked() >= min_batch; });
      lingered = true;
      continue;
    }
    if (!lingered && !claim && streaming && !stopping_ &&
        static_cast<int>(finished_.size()) < min_batch) {
      // Handlers do not wake this wait; a wake-up (Wake) or the timeout ends it.
      cv_.wait_for(lock, linger,
                   [&] { return stopping_ || exit_ || (more_ && FreeSlotsLocked() > 0); });
      lingered = true;
      continue;
    }
    lingered = false;
    const int limit = claim ? free : 0;
    const DispatchRunResult round = RoundLocked(limit, lock);
    if (round.ok) {
      backoff.Reset();
      if (limit > 0) {
        streaming = round.claimed >= 2 && round.claimed < limit;
        next_poll = absl::Now() + config_.poll_interval;  // a claim is a poll
      }
      continue;
    }
    if (exit_) break;  // Drain: do not hold the exit up through an outage
    const absl::Duration wait = backoff.Next();
    if (error_log.Allow()) {
      LONGRUN_LOG(kWarning, "dispatch_failed",
                  {{"retry_in", wait}, {"suppressed", error_log.TakeSuppressed()}});
    }
    cv_.wait_for(lock, absl::ToChronoNanoseconds(wait), [&] { return exit_; });
  }
  // Whatever is still unrecorded is lost with this process; its lease runs out and the
  // rescuer re-queues it, as after a crash.
  for (const Finished& f : finished_) {
    LONGRUN_LOG(
        kError, "completion_lost",
        {{"operation", f.params.id},
         {"attempt", f.params.attempt},
         {"trace_id", TraceOf(f.params)},
         {"reason", "worker exiting"}});
  }
}

DispatchRunResult DispatchLoop::RoundLocked(int limit, std::unique_lock<std::mutex>& lock) {
  DispatchRunResult out;
  std::vector<Finished> batch;
  batch.swap(finished_);
  if (limit > 0) more_ = false;
  reserved_ += limit;
  lock.unlock();
  store::JobCycleParams params{.claim = {.worker_id = config_.worker_id,
                                         .kinds = config_.kinds,
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
  if (stopping_) idle_cv_.notify_all();
  if (!result.ok()) {
    out.ok = false;
    if (limit > 0) more_ = true;
    LONGRUN_LOG(
        kWarning, "dispatch_error",
        {{"error", result.status().message()}, {"completions", batch.size()}, {"claim", limit}});
    if (result.status().code() != absl::StatusCode::kUnavailable && !batch.empty()) {
      // Not the connection: something in the batch PostgreSQL refused. Record the successes
      // one by one so one bad result cannot hold the others (or this worker's claims) up.
      RecordOneByOne(batch, lock, out);
      return out;
    }
    // Keep the successes for the next round unless their lease has surely run out.
    const absl::Time now = clock_.Now();
    for (Finished& f : batch) {
      if (now < f.give_up) {
        finished_.push_back(std::move(f));
        continue;
      }
      LONGRUN_LOG(kError, "completion_lost",
                  {{"operation", f.params.id},
                   {"trace_id", TraceOf(f.params)},
                   {"attempt", f.params.attempt},
                   {"error", result.status().message()}});
      table_.Forget({f.params.id, f.params.attempt});
      ++out.lost;
    }
    return out;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (result->completed[i].code() == absl::StatusCode::kAborted) {
      LONGRUN_LOG(kWarning, "completion_fenced",
                  {{"operation", batch[i].params.id},
                   {"attempt", batch[i].params.attempt},
                   {"trace_id", TraceOf(batch[i].params)}});
      ++out.fenced;
    } else {
      ++out.recorded;
    }
    table_.Forget({batch[i].params.id, batch[i].params.attempt});
  }
  // A full batch means there is probably more: claim again as soon as slots free up.
  out.claimed = static_cast<int>(result->claimed.size());
  if (limit > 0 && out.claimed == limit) more_ = true;
  for (store::ClaimedJob& job : result->claimed) {
    auto attempt = std::make_shared<Attempt>(std::move(job), clock_);
    table_.Add(attempt);
    ++running_;
    claimed_total_.fetch_add(1);
    // Claims never exceed the free, unreserved slots. If one did, a job would wait for a
    // runner (or, refused, for its lease to expire): crash instead, loudly.
    LONGRUN_CHECK(running_ <= config_.concurrency);
    start_(std::move(attempt));
  }
  return out;
}

void DispatchLoop::RecordOneByOne(std::vector<Finished>& batch, std::unique_lock<std::mutex>& lock,
                                  DispatchRunResult& out) {
  lock.unlock();
  std::vector<Finished> retry;
  std::vector<store::JobRef> done;
  for (Finished& f : batch) {
    absl::Status s = store_.JobComplete(f.params);
    if (!s.ok() && s.code() != absl::StatusCode::kAborted &&
        s.code() != absl::StatusCode::kUnavailable) {
      LONGRUN_LOG(
          kError, "result_refused",
          {{"operation", f.params.id},
           {"attempt", f.params.attempt},
           {"trace_id", TraceOf(f.params)},
           {"error", s.message()}});
      s = store_.JobComplete(store::JobCompleteParams::Failed(
          f.params.id, f.params.attempt,
          absl::InternalError(
              absl::StrCat("the handler's result could not be stored: ", s.message()))));
    }
    if (s.code() == absl::StatusCode::kUnavailable && clock_.Now() < f.give_up) {
      retry.push_back(std::move(f));
      continue;
    }
    if (s.ok()) ++out.recorded;
    if (s.code() == absl::StatusCode::kAborted) ++out.fenced;
    if (s.code() == absl::StatusCode::kUnavailable) ++out.lost;
    done.push_back({f.params.id, f.params.attempt});
  }
  lock.lock();
  for (Finished& f : retry) finished_.push_back(std::move(f));
  for (const store::JobRef& ref : done) table_.Forget(ref);
}

void DispatchLoop::HandlerReturned(const store::JobRef& ref,
                                   std::optional<store::JobCompleteParams> success) {
  bool wake_dispatcher = false;
  bool wake_drain = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (success.has_value()) {
      finished_.push_back({*std::move(success), clock_.Now() + config_.lease_duration});
    } else {
      table_.Forget(ref);
    }
    --running_;
    // Wake a dispatcher only when what it waits for happened: one wake-up per round, not
    // one per job.
    wake_dispatcher =
        waiting_for_anything_ > 0 ||
        (waiting_for_batch_ > 0 && (running_ + reserved_ == 0 || FreeSlotsLocked() >= MinBatch()));
    wake_drain = stopping_;
  }
  if (wake_dispatcher) cv_.notify_all();
  if (wake_drain) idle_cv_.notify_all();
}

void DispatchLoop::StopClaiming() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

bool DispatchLoop::WaitIdle(absl::Duration grace) {
  std::unique_lock<std::mutex> lock(mu_);
  // A round already in flight may still claim jobs: wait for it (bounded: a stalled
  // connection must not hold the exit up; what it claims then is rescued after its lease,
  // as after a crash), then for the handlers.
  idle_cv_.wait_for(lock, absl::ToChronoNanoseconds(grace), [&] { return reserved_ == 0; });
  idle_cv_.wait_for(lock, absl::ToChronoNanoseconds(grace), [&] { return running_ == 0; });
  return running_ == 0;
}

void DispatchLoop::Exit() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    exit_ = true;
  }
  cv_.notify_all();
}

}  // namespace longrun::worker
