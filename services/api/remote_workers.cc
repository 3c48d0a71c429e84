#include "services/api/remote_workers.h"

#include <algorithm>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "libs/common/status_macros.h"
#include "libs/core/struct_json.h"
#include "libs/core/submit.h"

namespace longrun::api {
namespace {

bool IsValidWorkerId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '@' || c == '/' || c == '-';
  });
}

// Sorted and without duplicates, so equal sets share one broker group.
absl::StatusOr<std::vector<std::string>> Names(std::vector<std::string> names,
                                               absl::string_view field) {
  if (names.size() > 64) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": at most 64"));
  }
  for (const std::string& n : names) LONGRUN_RETURN_IF_ERROR(core::ValidateKindName(field, n));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

absl::Status NotCurrent(const core::LeaseClaim& claim, absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat(
      "the lease on operations/", claim.id, " attempt ", claim.attempt,
      " is no longer current (it expired and the job was rescued, or it was completed or "
      "handed back): ",
      what, " not recorded"));
}

}  // namespace

RemoteWorkers::RemoteWorkers(store::OperationStore& store, RemoteWorkersConfig config,
                             const Clock& clock)
    : store_(store),
      config_(std::move(config)),
      clock_(clock),
      completions_(/*threads=*/2, /*max_batch=*/512, /*max_queue=*/20000,
                   [this](std::vector<Completion>& batch) { FlushCompletions(batch); }) {}

absl::StatusOr<LeaseRequest> RemoteWorkers::PrepareLease(LeaseJobsInput input) const {
  if (!IsValidWorkerId(input.worker_id)) {
    return absl::InvalidArgumentError("worker_id: required, 1-128 of [A-Za-z0-9._:@/-]");
  }
  if (input.kinds.empty()) return absl::InvalidArgumentError("kinds: at least one is required");
  LeaseRequest out;
  out.worker_id = std::move(input.worker_id);
  auto kinds = Names(std::move(input.kinds), "kinds");
  if (!kinds.ok()) return kinds.status();
  auto queues = Names(std::move(input.queues), "queues");
  if (!queues.ok()) return queues.status();
  out.kinds = *std::move(kinds);
  out.queues = *std::move(queues);
  out.tenant = std::move(input.tenant);
  if (input.max_jobs < 0 || input.max_jobs > config_.max_jobs) {
    return absl::InvalidArgumentError(absl::StrCat("max_jobs: must be in 0..", config_.max_jobs));
  }
  out.max_jobs = std::max(1, input.max_jobs);
  if (input.wait < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("wait: must not be negative");
  }
  out.deadline = clock_.Now() + std::min(input.wait, config_.max_wait);
  out.lease = input.lease.value_or(config_.default_lease);
  if (out.lease < config_.min_lease || out.lease > config_.max_lease) {
    return absl::InvalidArgumentError(absl::StrCat("lease_duration: must be in ",
                                                   absl::FormatDuration(config_.min_lease), "..",
                                                   absl::FormatDuration(config_.max_lease)));
  }
  out.lease = absl::Microseconds(absl::ToInt64Microseconds(out.lease));
  return out;
}

LeasedJob RemoteWorkers::Leased(store::ClaimedJob job, absl::Duration lease) const {
  LeasedJob out;
  const absl::Time now = clock_.Now();
  if (job.timeout.has_value()) {
    out.deadline = absl::FromUnixMicros(absl::ToUnixMicros(now + *job.timeout));
  }
  out.lease_token = core::EncodeLeaseToken({.id = job.id,
                                            .attempt = job.attempt,
                                            .max_attempts = job.max_attempts,
                                            .lease = lease,
                                            .deadline = out.deadline},
                                           config_.token_secret);
  out.lease_expire_time = now + lease;
  out.job = std::move(job);
  return out;
}

store::JobCompleteParams RemoteWorkers::Failure(const core::LeaseClaim& claim,
                                                const absl::Status& error, bool retryable) const {
  thread_local absl::BitGen gen;
  return store::JobCompleteParams::Failed(
      claim.id, claim.attempt, error,
      core::RetryAfterFailure(config_.retry, error.code(), claim.attempt, claim.max_attempts, gen,
                              retryable));
}

store::JobCompleteParams RemoteWorkers::TimedOut(const core::LeaseClaim& claim) const {
  return Failure(claim, core::AttemptTimedOut(claim.attempt), /*retryable=*/true);
}

absl::StatusOr<core::LeaseClaim> RemoteWorkers::Decode(const std::string& token) const {
  return core::DecodeLeaseToken(token, config_.token_secret);
}

absl::StatusOr<std::vector<HeartbeatAnswer>> RemoteWorkers::Heartbeat(
    const std::vector<HeartbeatInput>& leases) {
  std::vector<core::LeaseClaim> claims;
  claims.reserve(leases.size());
  for (const HeartbeatInput& in : leases) {
    auto claim = Decode(in.lease_token);
    if (!claim.ok()) return claim.status();
    claims.push_back(*std::move(claim));
  }
  // An attempt past its deadline timed out, however its worker is doing: record that
  // (DEADLINE_EXCEEDED, retried if attempts remain) and tell the worker it lost the lease.
  const absl::Time start = clock_.Now();
  std::set<Ref> timed_out;
  for (const core::LeaseClaim& c : claims) {
    if (!c.deadline.has_value() || start < *c.deadline) continue;
    const absl::Status s = store_.JobComplete(TimedOut(c));
    if (!s.ok() && s.code() != absl::StatusCode::kAborted) return s;
    timed_out.insert({c.id, c.attempt});
  }
  // One statement per lease duration (usually one for the whole request).
  std::map<absl::Duration, std::vector<store::JobRef>> by_lease;
  for (const core::LeaseClaim& c : claims) {
    if (timed_out.count({c.id, c.attempt}) == 0) by_lease[c.lease].push_back({c.id, c.attempt});
  }
  std::map<Ref, core::State> held;
  for (auto& [lease, refs] : by_lease) {
    auto extended = store_.JobHeartbeat({.jobs = refs, .lease = lease});
    if (!extended.ok()) return extended.status();
    std::map<std::string, int32_t> attempt_of;
    for (const store::JobRef& r : refs) attempt_of[r.id] = r.attempt;
    for (const store::JobHeartbeatResult& h : *extended) held[{h.id, attempt_of[h.id]}] = h.state;
  }
  const absl::Time now = clock_.Now();
  std::vector<HeartbeatAnswer> out(leases.size());
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < leases.size(); ++i) {
    const Ref ref{claims[i].id, claims[i].attempt};
    auto h = held.find(ref);
    if (h == held.end()) {
      out[i].lost = true;
      parked_.erase(ref);
      continue;
    }
    out[i].lease_expire_time = now + claims[i].lease;
    out[i].cancel_requested = h->second == core::State::kCancelling;
    if (leases[i].progress.has_value()) {
      store::JobProgressValue p = *leases[i].progress;
      p.percent = std::clamp(p.percent, 0, 100);
      parked_[ref] = std::move(p);
    }
  }
  return out;
}

std::optional<store::JobProgressValue> RemoteWorkers::TakeProgress(const Ref& ref) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = parked_.find(ref);
  if (it == parked_.end()) return std::nullopt;
  store::JobProgressValue p = std::move(it->second);
  parked_.erase(it);
  return p;
}

void RemoteWorkers::Complete(const std::string& lease_token,
                             absl::StatusOr<google::protobuf::Struct> result, bool retryable,
                             std::function<void(absl::Status)> done) {
  auto claim = Decode(lease_token);
  if (!claim.ok()) return done(claim.status());
  Completion c{.claim = *claim, .params = {.id = claim->id, .attempt = claim->attempt}};
  if (claim->deadline.has_value() && clock_.Now() >= *claim->deadline) {
    // Too late: the attempt timed out, whatever the worker reports.
    c.params = TimedOut(*claim);
  } else if (result.ok()) {
    if (absl::Status bad = core::CheckJsonStorable(*result, "response"); !bad.ok()) {
      return done(bad);
    }
    c.params.response = *std::move(result);
  } else {
    const absl::Status& error = result.status();
    c.params = Failure(*claim, error, retryable);
  }
  c.done = std::move(done);
  if (!completions_.Add(c)) {
    c.done(absl::ResourceExhaustedError(
        "server is overloaded or shutting down; retry CompleteJob with back-off"));
  }
}

void RemoteWorkers::FlushCompletions(std::vector<Completion>& batch) {
  std::vector<Completion*> successes;
  store::JobCycleParams cycle;  // records only (no claim)
  for (Completion& c : batch) {
    if (c.params.response.has_value()) {
      TakeProgress({c.claim.id, c.claim.attempt});  // a success records 100 %
      successes.push_back(&c);
      cycle.successes.push_back(std::move(c.params));
      continue;
    }
    // The parked progress goes with a failure.
    absl::Status s;
    {
      std::lock_guard<std::mutex> write_lock(progress_write_mu_);
      c.params.progress = TakeProgress({c.claim.id, c.claim.attempt});
      s = store_.JobComplete(c.params);
    }
    c.done(s.code() == absl::StatusCode::kAborted ? NotCurrent(c.claim, "the outcome was") : s);
  }
  if (successes.empty()) return;
  auto recorded = store_.JobCompleteAndClaim(cycle);
  for (size_t i = 0; i < successes.size(); ++i) {
    Completion& c = *successes[i];
    if (!recorded.ok() && recorded.status().code() != absl::StatusCode::kUnavailable) {
      // Something in the batch was refused: record this one alone, so one bad row cannot
      // fail the others.
      c.params = std::move(cycle.successes[i]);
      const absl::Status s = store_.JobComplete(c.params);
      c.done(s.code() == absl::StatusCode::kAborted ? NotCurrent(c.claim, "the outcome was") : s);
      continue;
    }
    if (!recorded.ok()) {
      c.done(recorded.status());
      continue;
    }
    const absl::Status& s = recorded->completed[i];
    c.done(s.code() == absl::StatusCode::kAborted ? NotCurrent(c.claim, "the outcome was") : s);
  }
}

absl::StatusOr<int> RemoteWorkers::Release(const std::vector<std::string>& lease_tokens) {
  std::vector<core::LeaseClaim> claims;
  for (const std::string& token : lease_tokens) {
    auto claim = Decode(token);
    if (!claim.ok()) return claim.status();
    claims.push_back(*std::move(claim));
  }
  int released = 0;
  for (const core::LeaseClaim& c : claims) {
    TakeProgress({c.id, c.attempt});
    // Retire the attempt number: this lease token (or a copy of it) must never match a
    // later claim of the job.
    const absl::Status s = store_.JobRelease({c.id, c.attempt, /*retire_attempt=*/true});
    if (s.ok()) ++released;
    if (!s.ok() && s.code() != absl::StatusCode::kAborted) return s;
  }
  return released;
}

void RemoteWorkers::Unclaim(const std::vector<store::ClaimedJob>& jobs) {
  for (const store::ClaimedJob& job : jobs) (void)store_.JobRelease({job.id, job.attempt});
}

ProgressFlushResult RemoteWorkers::FlushProgress() {
  ProgressFlushResult out;
  std::lock_guard<std::mutex> write_lock(progress_write_mu_);
  std::map<Ref, store::JobProgressValue> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(parked_);
  }
  if (batch.empty()) return out;
  std::vector<store::JobProgressParams> params;
  params.reserve(batch.size());
  for (auto& [ref, p] : batch) {
    params.push_back(
        {.id = ref.first, .attempt = ref.second, .percent = p.percent, .message = p.message});
  }
  auto written = store_.JobProgressBatch(params);
  if (!written.ok()) {
    out.ok = false;
    // Keep the values for the next pass unless a newer one arrived meanwhile.
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [ref, p] : batch) parked_.emplace(ref, std::move(p));
    return out;
  }
  for (const absl::Status& s : *written) out.written += s.ok() ? 1 : 0;
  return out;
}

}  // namespace longrun::api
