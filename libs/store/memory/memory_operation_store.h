// MemoryOperationStore: an OperationStore in process memory, for unit tests without
// PostgreSQL (worker loops, the watch hub, OperationsLogic, SubmitBatcher).
//
// It has exactly the semantics of store/pg (claim order, leases, fencing by (id, attempt),
// idempotency keys, attempt history, cancel/delete/prune rules, error codes and messages);
// tests/store/operation_store_conformance.* runs one suite against both to keep it so.
// Differences that remain, by design:
//   - Time is the injected Clock, read once per call (PostgreSQL: now() of the transaction),
//     truncated to microseconds as PostgreSQL stores it.
//   - Every call is atomic (one mutex); nothing is ever "skipped because locked".
//   - Results whose order PostgreSQL leaves unspecified (claimed jobs, heartbeats,
//     OperationGetMany) come in a deterministic order: claim order, resp. request order.
//   - Payloads take the round trip through JSON that jsonb gives them (a NaN comes back as
//     the string "NaN"); a payload jsonb refuses (U+0000, invalid UTF-8) is kInternal.
//   - Callbacks: the status a change gives them (WAITING, then PENDING with 0 attempts for
//     each change that makes a delivery), as migration 0009's trigger does; there is no
//     outbox, CallbackStore or EventLog in memory.
//   - Ids must be canonical UUID text (else kInternal, as PostgreSQL's uuid cast fails);
//     they are stored and returned in lower case.
//
// Wake-ups and cancellations reach workers through MemoryJobNotifier (below), visible
// changes reach a watch hub through SetChangeObserver. SetUnavailableForTest makes the store
// behave like a database that is down.
#ifndef LONGRUN_STORE_MEMORY_MEMORY_OPERATION_STORE_H_
#define LONGRUN_STORE_MEMORY_MEMORY_OPERATION_STORE_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "libs/common/clock.h"
#include "libs/store/operation_store.h"

namespace longrun::store::memory {

class MemoryJobNotifier;

class MemoryOperationStore final : public OperationStore {
 public:
  // `clock` must outlive the store.
  explicit MemoryOperationStore(const Clock& clock = RealClock());
  ~MemoryOperationStore() override;
  MemoryOperationStore(const MemoryOperationStore&) = delete;
  MemoryOperationStore& operator=(const MemoryOperationStore&) = delete;

  absl::StatusOr<JobCycleResult> JobCompleteAndClaim(const JobCycleParams& params) override;
  absl::Status JobComplete(const JobCompleteParams& params) override;
  absl::StatusOr<std::vector<absl::Status>> JobProgressBatch(
      const std::vector<JobProgressParams>& batch) override;
  absl::Status JobWake() override;
  absl::StatusOr<int> JobFailUnstarted(const JobFailUnstartedParams& params) override;
  absl::StatusOr<std::vector<JobHeartbeatResult>> JobHeartbeat(
      const JobHeartbeatParams& params) override;
  absl::Status JobRelease(const JobReleaseParams& params) override;
  absl::StatusOr<int> JobRescueStuck(const JobRescueParams& params) override;
  absl::StatusOr<core::Operation> OperationGet(const OperationGetParams& params) override;
  absl::StatusOr<std::vector<core::Operation>> OperationGetMany(
      const std::vector<std::string>& ids) override;
  absl::StatusOr<OperationInsertResult> OperationInsert(
      const OperationInsertParams& params) override;
  absl::StatusOr<std::vector<core::Operation>> OperationList(
      const OperationListParams& params) override;
  absl::StatusOr<core::Operation> OperationCancel(const OperationGetParams& params) override;
  absl::Status OperationDelete(const OperationGetParams& params) override;
  absl::StatusOr<std::vector<absl::StatusOr<OperationInsertResult>>> OperationInsertBatch(
      const std::vector<OperationInsertParams>& batch) override;
  absl::StatusOr<int> OperationPrune(const OperationPruneParams& params) override;
  absl::StatusOr<std::vector<QueueDepth>> QueueDepthList() override;

  // While true, every call that would reach the database returns kUnavailable and changes
  // nothing, like PgOperationStore against a database that is down. (Calls with nothing to
  // do, e.g. an empty heartbeat or progress batch, succeed as they do there.) Switching back
  // to false wakes every started notifier, as PgJobNotifier does when it reconnects.
  void SetUnavailableForTest(bool unavailable);

  // Called after every call that changed operations, with their ids comma-separated in
  // chunks of at most 150 (the payload of channel longrun_operations, for
  // WatchHub::OnNotify). Like the database's trigger it reports every UPDATE, heartbeats
  // included, and neither inserts nor deletes. Runs on the calling thread after the change,
  // serialized with other calls to it; it must not write to this store. nullptr: none.
  // After SetChangeObserver returns, the previous observer is no longer running or called.
  void SetChangeObserver(std::function<void(const std::string& payload)> observer);

  // The operation's input as stored (tests; the interface only returns it with a claim).
  absl::StatusOr<google::protobuf::Struct> InputForTest(const std::string& id);
  // Number of stored operations (any state, any tenant).
  int SizeForTest();

 private:
  friend class MemoryJobNotifier;
  struct Row;
  // What a call has to tell the outside world once it released mu_.
  struct Events {
    bool wake = false;
    std::vector<std::string> cancelled;  // RUNNING operations now CANCELLING
    std::vector<std::string> changed;    // updated operations
    // For the StoreObserver:
    std::vector<std::pair<std::string, std::string>> submitted;  // (queue, kind)
    std::vector<std::tuple<std::string, std::string, absl::Duration>> started;
    std::vector<JobTransition> ended;
  };

  absl::Time NowMicros() const;
  absl::Status CheckAvailable() const;
  void Publish(const Events& events);
  absl::StatusOr<OperationInsertResult> InsertLocked(const OperationInsertParams& p, absl::Time now,
                                                     Events* events);
  // Ends the row's running attempt with a success.
  void CompleteSuccessLocked(Row& row, const google::protobuf::Struct& response, absl::Time now);
  // The row of a live attempt (RUNNING or CANCELLING at `attempt`), or nullptr.
  Row* LiveLocked(const std::string& id, int32_t attempt);
  // SELECT ... WHERE matches ORDER BY before LIMIT limit.
  template <typename Match, typename Before>
  std::vector<Row*> SelectLocked(const Match& matches, const Before& before, int32_t limit);
  void AddNotifier(MemoryJobNotifier* n);
  void RemoveNotifier(MemoryJobNotifier* n);

  const Clock& clock_;
  std::atomic<bool> unavailable_{false};

  std::mutex mu_;
  std::map<std::string, Row> rows_;                                    // by id
  std::map<std::pair<std::string, std::string>, std::string> request_ids_;  // (tenant, key) -> id

  std::mutex notifiers_mu_;
  std::set<MemoryJobNotifier*> notifiers_;

  std::mutex observer_mu_;
  std::function<void(const std::string&)> observer_;
};

// JobNotifier over a MemoryOperationStore: on_wake after inserts, releases, rescues that
// requeue, failures that will be retried and JobWake (and once after Start, as PgJobNotifier
// after connecting); on_cancel(id) when a RUNNING operation becomes CANCELLING. Callbacks
// run on the notifier's own thread, as they do on the listener thread in production, so
// they may take locks the writer holds. After Stop returns none runs. Any number of
// notifiers may watch one store; each must be stopped (or destroyed) before the store is.
class MemoryJobNotifier final : public JobNotifier {
 public:
  explicit MemoryJobNotifier(MemoryOperationStore& store) : store_(store) {}
  ~MemoryJobNotifier() override { Stop(); }
  MemoryJobNotifier(const MemoryJobNotifier&) = delete;
  MemoryJobNotifier& operator=(const MemoryJobNotifier&) = delete;

  void Start(std::function<void()> on_wake,
             std::function<void(const std::string& id)> on_cancel) override;
  void Stop() override;

 private:
  friend class MemoryOperationStore;
  void Post(bool wake, const std::vector<std::string>& cancelled);
  void Loop();

  MemoryOperationStore& store_;
  std::function<void()> on_wake_;
  std::function<void(const std::string&)> on_cancel_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  std::vector<std::string> cancelled_;
  std::thread thread_;
};

}  // namespace longrun::store::memory

#endif  // LONGRUN_STORE_MEMORY_MEMORY_OPERATION_STORE_H_
