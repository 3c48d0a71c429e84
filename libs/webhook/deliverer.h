// Deliverer: the webhook delivery loop. Claims due deliveries from the outbox
// (store::CallbackStore) and posts them, signed, from a fixed pool of threads.
//
// Shaped like the other loops (docs/ARCHITECTURE.md): RunOnce() is one claim pass and
// reports what happened since the previous pass; Start() runs passes on a thread of its own
// (every `interval`, at once after a full claim as soon as a slot frees, and with a doubling
// back-off while the store fails) plus `concurrency` posting threads; decisions read the
// injected Clock.
//
// A pass claims up to the free slots (concurrency minus deliveries in flight or queued),
// telling the store to skip hosts already at `concurrency_per_host`; a claimed row whose
// host filled up in the meantime is handed back (DeliveryRelease). A posting thread then:
//   1. loads the operation (a deleted one is recorded dead, "operation deleted");
//   2. builds the body {"type", "timestamp" (the change's time), "data" (the Operation in
//      proto3 JSON, without metadata.callback)}: the same bytes on every attempt of a
//      delivery as long as the operation does not change;
//   3. signs it with the secrets in use now (webhook-timestamp: now);
//   4. resolves and vets the host (address_policy.h) and posts to exactly that address;
//   5. decides the outcome (retry.h) and records it with DeliveryRecord, fenced by attempt.
// A refused address is an attempt without an answer (http_status 0, the refusal as error)
// and is retried like a connection failure. A failed DeliveryRecord is logged and counted
// nowhere: the row comes back when its lease expires, so nothing is lost or counted twice.
#ifndef LONGRUN_WEBHOOK_DELIVERER_H_
#define LONGRUN_WEBHOOK_DELIVERER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/core/operation.h"
#include "libs/store/callback_store.h"
#include "libs/webhook/address_policy.h"
#include "libs/webhook/callback_url.h"
#include "libs/webhook/http_poster.h"
#include "libs/webhook/retry.h"
#include "libs/webhook/signature.h"

namespace longrun::webhook {

struct DelivererConfig {
  std::string deliverer_id;      // recorded as the claimer (e.g. the worker id)
  int concurrency = 16;          // --webhook-concurrency
  int concurrency_per_host = 4;  // --webhook-concurrency-per-host
  absl::Duration lease = absl::Seconds(30);  // > the poster's total timeout
  // Poll for due deliveries this often when idle (nothing wakes an idle deliverer when a
  // delivery row is written): the delay of a callback at light load.
  absl::Duration interval = absl::Milliseconds(250);
  RetryConfig retry;
  CallbackPolicy policy;
};

struct DelivererRunResult {
  bool ok = true;    // false: the claim failed (the store is down)
  int claimed = 0;   // rows claimed by this pass
  int released = 0;  // ...handed back unattempted (host busy, or the operation unreadable)
  // Attempts recorded since the previous pass, by outcome.
  int delivered = 0;
  int retried = 0;
  int dead = 0;
  int gone = 0;
  int record_failed = 0;  // outcomes the store did not take (the row returns by lease expiry)
};

// Loads one operation; kNotFound when it was deleted. The api/worker pass a wrapper of
// OperationStore::OperationGetMany.
using OperationLoader = std::function<absl::StatusOr<core::Operation>(const std::string& id)>;
// The signing secrets in use (SecretsFile::Get()).
using SecretsSource = std::function<std::shared_ptr<const WebhookSecrets>()>;

struct DelivererDeps {
  store::CallbackStore& store;
  OperationLoader load_operation;
  SecretsSource secrets;
  Poster& poster;
  Resolver resolver = SystemResolver();
  const Clock& clock = RealClock();
  RandomFraction random = DefaultRandomFraction();
};

class Deliverer {
 public:
  Deliverer(DelivererConfig config, DelivererDeps deps);
  ~Deliverer();  // Stop()
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  // Starts the posting threads and the claim loop.
  void Start();
  // Stops claiming, hands back deliveries claimed but not started, and waits for the posts
  // in flight (each bounded by the poster's timeout) to be recorded. Idempotent.
  void Stop();

  // One claim pass (also used by Start()'s loop). Claimed deliveries are queued for the
  // posting threads, which run only after Start(); tests without Start() call
  // DrainForTest() to post them on the calling thread.
  DelivererRunResult RunOnce();

  // Posts every queued delivery on the calling thread. Tests only.
  void DrainForTest();
  // Deliveries claimed and not yet recorded (queued or posting).
  int in_flight() const;

  // The body posted for a delivery (exposed for tests and for the e2e receiver's checks).
  static std::string Body(const store::Delivery& delivery, const core::Operation& operation);

 private:
  struct Counts {
    int delivered = 0, retried = 0, dead = 0, gone = 0, record_failed = 0, released = 0;
  };
  void PostingThread();
  void ClaimLoop();
  // Posts one delivery and records its outcome; updates counts_ and the slot bookkeeping.
  void Deliver(const store::Delivery& delivery);
  void Record(const store::DeliveryOutcome& outcome);
  void Finish(const std::string& host);

  const DelivererConfig config_;
  DelivererDeps deps_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // posting threads: queue_ or stopping_
  std::condition_variable slot_cv_;  // claim loop: a slot freed, or stopping_
  std::deque<store::Delivery> queue_;
  absl::flat_hash_map<std::string, int> per_host_;  // claimed and not recorded, by host
  int in_flight_ = 0;
  uint64_t finished_ = 0;  // deliveries finished so far (wakes the claim loop)
  Counts counts_;
  bool started_ = false;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::thread claim_thread_;
};

}  // namespace longrun::webhook

#endif  // LONGRUN_WEBHOOK_DELIVERER_H_
