// WatchHub: operation id -> live subscribers (WatchOperation streams, WaitOperation calls).
//
// Fed by the process's single LISTEN connection: each notification names changed
// operations. Notifications are hints: the hub's thread collects the changed ids that have
// subscribers and re-reads them in batches (one query per round, however many subscribers),
// then hands each subscriber the operation if it moved forward. After a LISTEN reconnect, and
// every `refresh_interval` anyway, it re-reads everything watched, so a lost notification
// delays an update but never loses it. The same thread fires subscriber deadlines, so there
// is no thread or timer per subscriber.
//
// A failed re-read (the database is down) puts the ids back and waits before the next try,
// with capped exponential back-off and jitter (`read_backoff`), so an outage costs a few
// queries, not a busy loop; deadlines still fire on time meanwhile. The back-off ends on the
// next successful read or when the listener reconnects (the database is back).
//
// Decisions (deadlines, refresh, back-off, outage timeout) read the injected Clock; waiting
// uses real time. Tests drive the hub with RunOnce() and a FakeClock instead of Start().
#ifndef LONGRUN_SERVICES_API_WATCH_HUB_H_
#define LONGRUN_SERVICES_API_WATCH_HUB_H_

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/common/backoff.h"
#include "libs/common/clock.h"
#include "libs/core/operation.h"
#include "libs/store/operation_store.h"

namespace longrun::api {

struct WatchHubConfig {
  absl::Duration refresh_interval = absl::Seconds(5);
  int read_batch = 1000;
  // While the database stays unreachable this long, subscribers end with UNAVAILABLE so
  // clients reconnect (perhaps to a healthier replica). Zero: never.
  absl::Duration outage_timeout = absl::Seconds(60);
  // Wait between failed re-reads.
  BackoffConfig read_backoff = {.initial = absl::Milliseconds(50), .max = absl::Seconds(5)};
};

// What one pass of the hub did.
struct WatchHubRunResult {
  int deadlines = 0;       // subscribers whose deadline fired
  int reads = 0;           // re-read queries attempted (each up to read_batch ids)
  int failed_reads = 0;    // ... of which failed
  absl::Time next_run = absl::InfiniteFuture();  // run again by then (on the hub's clock)
};

class WatchHub {
 public:
  // Subscriber callbacks run on the hub thread with the hub lock held: they must be quick,
  // must not block and must not call back into the hub.
  class Subscriber {
   public:
    virtual ~Subscriber() = default;
    virtual void OnOperation(const core::Operation& op) = 0;
    // The subscriber's deadline passed.
    virtual void OnDeadline() {}
    // The hub is done with this subscriber (shutdown, outage, operation deleted): `status`
    // says why. The subscriber is already unsubscribed.
    virtual void OnClosed(const absl::Status& status) = 0;
  };

  WatchHub(store::OperationStore& store, WatchHubConfig config, const Clock& clock = RealClock());
  ~WatchHub();

  // Runs the hub's thread (RunOnce, then wait for work or the next deadline).
  void Start();
  // One pass: fires due deadlines, marks everything dirty when a refresh is due, and re-reads
  // dirty ids unless a failed read's back-off is still running. Blocks on the store. For
  // tests that do not Start() the hub.
  WatchHubRunResult RunOnce();
  // Closes every subscriber with UNAVAILABLE and refuses new ones. Idempotent.
  void Shutdown();

  // Returns false after Shutdown. `deadline`: when to call OnDeadline (once).
  bool Subscribe(const std::string& id, Subscriber* s, absl::Time deadline = absl::InfiniteFuture());
  // After this returns the hub never calls `s` again.
  void Unsubscribe(const std::string& id, Subscriber* s);

  // Listener feed: a comma-separated list of changed operation ids.
  void OnNotify(const std::string& payload);
  // Listener feed: (re)connected, notifications may have been missed.
  void OnListenerConnected();

  const Clock& clock() const { return clock_; }
  // How many subscriptions are open: WatchOperation streams and waiting WaitOperation calls
  // (the longrun_watch_streams gauge).
  int Subscribers();

 private:
  void Loop();
  WatchHubRunResult RunOnceLocked(std::unique_lock<std::mutex>& lock);
  // Reads `ids` in batches; on a failure puts the unread ids back and starts the back-off.
  void ReadAndDeliver(std::vector<std::string> ids, WatchHubRunResult& result);
  // Closes every subscriber with `why`. Requires mu_.
  void CloseAllLocked(const absl::Status& why);
  // Forgets s's deadline, if it has one. Requires mu_.
  void DropDeadlineLocked(Subscriber* s);

  store::OperationStore& store_;
  WatchHubConfig config_;
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool timers_changed_ = false;  // a new deadline may be earlier than the current wait
  std::unordered_map<std::string, std::unordered_set<Subscriber*>> subs_;
  std::unordered_set<std::string> dirty_;
  std::multimap<absl::Time, std::pair<std::string, Subscriber*>> deadlines_;
  std::unordered_map<Subscriber*, std::multimap<absl::Time, std::pair<std::string, Subscriber*>>::iterator> deadline_of_;
  absl::Time last_refresh_;
  absl::Time failing_since_ = absl::InfiniteFuture();
  Backoff read_backoff_;
  absl::Time retry_at_ = absl::InfinitePast();  // no re-read before this (after a failure)
  std::thread thread_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_WATCH_HUB_H_
