// WatchHub: operation id -> live subscribers (WatchOperation streams, WaitOperation calls).
//
// Fed by the process's single LISTEN connection: each notification names changed
// operations. Notifications are hints: the hub's thread collects the changed ids that have
// subscribers and re-reads them in batches (one query per round, however many subscribers),
// then hands each subscriber the operation if it moved forward. After a LISTEN reconnect, and
// every `refresh_interval` anyway, it re-reads everything watched, so a lost notification
// delays an update but never loses it. The same thread fires subscriber deadlines, so there
// is no thread or timer per subscriber.
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
#include "libs/core/operation.h"
#include "libs/store/operation_store.h"

namespace longrun::api {

struct WatchHubConfig {
  absl::Duration refresh_interval = absl::Seconds(5);
  int read_batch = 1000;
  // While the database stays unreachable this long, subscribers end with UNAVAILABLE so
  // clients reconnect (perhaps to a healthier replica). Zero: never.
  absl::Duration outage_timeout = absl::Seconds(60);
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

  WatchHub(store::OperationStore& store, WatchHubConfig config);
  ~WatchHub();

  void Start();
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

 private:
  void Loop();
  void ReadAndDeliver(std::vector<std::string> ids);
  // Forgets s's deadline, if it has one. Requires mu_.
  void DropDeadlineLocked(Subscriber* s);

  store::OperationStore& store_;
  WatchHubConfig config_;
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
  std::thread thread_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_WATCH_HUB_H_
