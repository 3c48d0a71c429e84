#include "libs/worker/job_runner.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/common/backoff.h"
#include "libs/common/logging.h"
#include "libs/core/struct_json.h"

namespace longrun::worker {

JobRunner::JobRunner(JobRunnerConfig config, store::OperationStore& store, const Registry& registry,
                     const Clock& clock, ReturnedFn returned)
    : config_(config),
      store_(store),
      registry_(registry),
      clock_(clock),
      returned_(std::move(returned)) {}

RunOutcome JobRunner::Run(Attempt& attempt) {
  LONGRUN_LOG(kDebug, "job_started",
              {{"operation", attempt.id()},
               {"kind", attempt.kind()},
               {"attempt", attempt.attempt()},
               {"trace_id", attempt.trace_id()}});
  bool handed_back = false;
  {
    std::lock_guard<std::mutex> lock(attempt.write_mu);
    handed_back = attempt.released;
  }
  absl::StatusOr<google::protobuf::Struct> result =
      absl::AbortedError("handed back before it started");
  if (!handed_back) {
    if (const Handler* handler = registry_.Find(attempt.kind()); handler != nullptr) {
      result = (*handler)(attempt);
    } else {
      result =
          absl::UnimplementedError(absl::StrCat("no handler for kind \"", attempt.kind(), "\""));
    }
    // A handler that overran its deadline failed with DEADLINE_EXCEEDED, whatever it
    // returned; one whose attempt was taken away (ABORTED) records nothing.
    const absl::Status stop = attempt.StopReason();
    if (stop.code() == absl::StatusCode::kDeadlineExceeded) result = stop;
    if (stop.code() == absl::StatusCode::kAborted) result = stop;
    // A result PostgreSQL could not store (NaN, U+0000, invalid UTF-8) fails the attempt
    // here, instead of failing the round that would carry it.
    if (result.ok()) {
      if (absl::Status bad = core::CheckJsonStorable(*result, "result"); !bad.ok()) {
        result =
            absl::InternalError(absl::StrCat("handler returned a result that cannot be "
                                             "stored as JSON: ",
                                             bad.message()));
      }
    }
  }
  if (result.status().code() == absl::StatusCode::kAborted) {
    LONGRUN_LOG(kWarning, "job_abandoned",
                {{"operation", attempt.id()},
                 {"attempt", attempt.attempt()},
                 {"trace_id", attempt.trace_id()},
                 {"reason", result.status().message()}});
    returned_(attempt.ref(), std::nullopt);
    return RunOutcome::kAbandoned;
  }
  if (!result.ok()) {
    const RunOutcome outcome = RecordFailure(attempt, result.status());
    returned_(attempt.ref(), std::nullopt);
    return outcome;
  }
  std::lock_guard<std::mutex> lock(attempt.write_mu);
  if (attempt.released) {
    returned_(attempt.ref(), std::nullopt);
    return Discarded(attempt);
  }
  // From here on drain leaves the job alone: its result is on the way. (A success records
  // 100 %, so progress still pending is superseded.)
  attempt.finished = true;
  returned_(attempt.ref(),
            store::JobCompleteParams{
                .id = attempt.id(), .attempt = attempt.attempt(), .response = *std::move(result)});
  return RunOutcome::kSucceeded;
}

RunOutcome JobRunner::RecordFailure(Attempt& attempt, const absl::Status& result) {
  thread_local absl::BitGen gen;
  store::JobCompleteParams params = store::JobCompleteParams::Failed(
      attempt.id(), attempt.attempt(), result,
      core::RetryAfterFailure(config_.retry, result.code(), attempt.attempt(),
                              attempt.max_attempts(), gen));
  // Keep trying through a database blip: give up when the lease would have run out (the
  // job is rescued and re-run elsewhere anyway).
  static log::RateLimiter error_log(absl::Seconds(10));
  const absl::Time give_up = clock_.Now() + config_.lease_duration;
  Backoff backoff({.initial = config_.min_backoff, .max = config_.max_backoff});
  absl::Duration wait = backoff.Next();
  absl::Duration waited;  // also counted, so a clock that stands still cannot keep us here
  for (;;) {
    absl::Status s;
    {
      std::lock_guard<std::mutex> lock(attempt.write_mu);
      if (attempt.released) {
        return Discarded(attempt);
      }
      attempt.finished = true;
      // The latest progress the progress loop has not written goes with the outcome.
      if (auto progress = attempt.TakeProgress(); progress.has_value()) {
        params.progress = std::move(progress);
      }
      s = store_.JobComplete(params);
    }
    if (s.ok()) return RunOutcome::kFailed;
    if (s.code() == absl::StatusCode::kAborted) {
      LONGRUN_LOG(kWarning, "completion_fenced",
                  {{"operation", attempt.id()},
                   {"attempt", attempt.attempt()},
                   {"trace_id", attempt.trace_id()}});
      return RunOutcome::kFenced;
    }
    if (clock_.Now() + wait > give_up || waited + wait > config_.lease_duration) {
      LONGRUN_LOG(kError, "completion_lost",
                  {{"operation", attempt.id()},
                   {"attempt", attempt.attempt()},
                   {"trace_id", attempt.trace_id()},
                   {"error", s.message()}});
      return RunOutcome::kLost;
    }
    if (error_log.Allow()) {
      LONGRUN_LOG(kWarning, "completion_retry",
                  {{"operation", attempt.id()},
                   {"attempt", attempt.attempt()},
                   {"trace_id", attempt.trace_id()},
                   {"error", s.message()}});
    }
    absl::SleepFor(wait);
    waited += wait;
    wait = backoff.Next();
  }
}

RunOutcome JobRunner::Discarded(const Attempt& attempt) {
  LONGRUN_LOG(kInfo, "result_discarded",
              {{"operation", attempt.id()},
               {"attempt", attempt.attempt()},
               {"trace_id", attempt.trace_id()},
               {"reason", "job was handed back during drain"}});
  return RunOutcome::kDiscarded;
}

}  // namespace longrun::worker
