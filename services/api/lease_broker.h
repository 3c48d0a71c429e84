// LeaseBroker: claims jobs for remote workers (longrun.v1.Workers/LeaseJobs), including
// their long polls, on one thread of its own.
//
// Waiters are grouped by what they may claim (kinds, queues, tenant); each group is a FIFO. A group
// is tried when a waiter joins it (unless its last claim found the queue dry and nothing
// woke us since), when runnable jobs may exist (Wake: the same NOTIFY that wakes native
// workers) and at least every poll interval (retries and scheduled jobs coming
// due send no NOTIFY). Trying a group claims for its oldest waiter; a full batch means there
// may be more, so the next waiter is tried too, and a short one ends the group's turn. So a
// thousand idle long polls cost one claim per poll interval, not a thousand, and a wake-up
// for one job costs one claim. Waiters whose wait ran out get an empty answer.
//
// Jobs claimed for a waiter that went away meanwhile (its RPC cancelled) are handed back at
// once (the attempt is not used up).
#ifndef LONGRUN_SERVICES_API_LEASE_BROKER_H_
#define LONGRUN_SERVICES_API_LEASE_BROKER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <tuple>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/store/operation_store.h"

namespace longrun::api {

struct LeaseBrokerConfig {
  absl::Duration poll_interval = absl::Seconds(1);
};

struct LeaseRequest {
  std::string worker_id;
  std::vector<std::string> kinds;   // sorted, not empty
  std::vector<std::string> queues;  // sorted; empty: every queue
  std::string tenant;               // only this tenant's jobs; empty: every tenant (admin)
  int32_t max_jobs = 1;
  absl::Duration lease = absl::Seconds(30);
  absl::Time deadline;  // answer empty once this passes (now: do not wait)
};

struct LeaseRunResult {
  int claims = 0;    // claim statements run
  int leased = 0;    // jobs handed to waiters
  int expired = 0;   // waiters answered empty
  int released = 0;  // jobs handed back: their waiter had gone
  int failed = 0;    // waiters answered with a database error
};

class LeaseBroker {
 public:
  // Runs once per Lease call on the broker thread (or in Shutdown): the jobs, possibly none,
  // or why not (UNAVAILABLE while the database is unreachable or shutting down).
  using Done = std::function<void(absl::StatusOr<std::vector<store::ClaimedJob>>)>;

  LeaseBroker(store::OperationStore& store, LeaseBrokerConfig config,
              const Clock& clock = RealClock());
  ~LeaseBroker();

  // Starts the broker thread. Without it, RunOnce() does the work (tests).
  void Start();
  // Answers every waiter with UNAVAILABLE and refuses new ones. Idempotent.
  void Shutdown();

  // Returns a handle for Cancel. `done` runs exactly once unless Cancel returns true.
  uint64_t Lease(LeaseRequest request, Done done);
  // The caller went away: forget the waiter. True if `done` will not run.
  bool Cancel(uint64_t handle);
  // Runnable jobs may exist.
  void Wake();

  // One pass: expires waiters and tries every group that is due. Thread-safe.
  LeaseRunResult RunOnce();
  size_t waiting() const;

 private:
  struct Waiter {
    uint64_t handle;
    LeaseRequest request;
    Done done;
  };
  struct Group {
    std::deque<Waiter> waiters;
    bool due = true;   // a claim may find something
    bool dry = false;  // the last claim came back short, and nothing woke us since
  };
  // (kinds, queues, tenant): waiters that may claim the same jobs.
  using GroupKey = std::tuple<std::vector<std::string>, std::vector<std::string>, std::string>;
  void Loop();
  // Claims for the oldest waiter of `key`. False when the group's turn is over.
  bool TryHead(const GroupKey& key, LeaseRunResult& result);

  store::OperationStore& store_;
  const LeaseBrokerConfig config_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  uint64_t next_handle_ = 1;
  std::map<GroupKey, Group> groups_;
  std::map<uint64_t, GroupKey> group_of_;  // waiting handles
  absl::Time next_poll_;
  std::thread thread_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_LEASE_BROKER_H_
