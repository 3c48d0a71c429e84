#include "libs/worker/heartbeat_loop.h"

#include <map>

#include "libs/common/logging.h"

namespace longrun::worker {

HeartbeatLoop::HeartbeatLoop(HeartbeatConfig config, store::OperationStore& store, JobTable& table,
                             const Clock& clock)
    : config_(config), store_(store), table_(table), clock_(clock), last_ok_(clock.Now()) {}

HeartbeatRunResult HeartbeatLoop::RunOnce() {
  HeartbeatRunResult out;
  if (config_.disabled_for_test) return out;
  const std::vector<std::shared_ptr<Attempt>> held = table_.Snapshot();
  if (held.empty()) {
    last_ok_ = clock_.Now();
    return out;
  }
  std::vector<store::JobRef> refs;
  refs.reserve(held.size());
  for (const auto& a : held) refs.push_back(a->ref());
  auto extended = store_.JobHeartbeat({.jobs = refs, .lease = config_.lease_duration});
  if (!extended.ok()) {
    out.ok = false;
    static log::RateLimiter error_log(absl::Seconds(10));
    if (error_log.Allow()) {
      LONGRUN_LOG(kWarning, "heartbeat_failed", {{"error", extended.status().message()}});
    }
    // A short outage does not stop handlers; once the lease must have run out the job is
    // (or will be) rescued elsewhere, so stop working on it.
    if (clock_.Now() - last_ok_ >= config_.lease_duration) {
      for (const auto& a : held) {
        a->Stop(absl::AbortedError("lease expired while the database was unreachable"));
        ++out.expired;
      }
    }
    return out;
  }
  last_ok_ = clock_.Now();
  std::map<std::string, core::State> state;
  for (const auto& h : *extended) state[h.id] = h.state;
  for (const auto& a : held) {
    auto s = state.find(a->id());
    if (s == state.end()) {
      a->Stop(absl::AbortedError("lease lost: the job was rescued or finished elsewhere"));
      ++out.lost;
      continue;
    }
    ++out.extended;
    if (s->second == core::State::kCancelling) {
      a->Stop(absl::CancelledError("cancellation requested"));
      ++out.cancelling;
    }
  }
  return out;
}

}  // namespace longrun::worker
