// Reactors for WatchOperation (server stream) and WaitOperation (unary that completes
// later), both subscribers of the WatchHub. No thread per call: the snapshot read runs on
// the executor, updates arrive from the hub thread, timeouts fire from the hub's timer.
//
// WatchReactor follows gRPC's DefaultHealthCheckService::WatchReactor: one write in flight,
// the newest state parked in a pending slot (a slow reader skips intermediate progress,
// never the terminal message), versions only move forward, Finish exactly once.
#ifndef LONGRUN_SERVICES_API_WATCH_REACTOR_H_
#define LONGRUN_SERVICES_API_WATCH_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>

#include "google/longrunning/operations.pb.h"
#include "libs/concurrency/executor.h"
#include "services/api/api_deps.h"
#include "services/api/watch_hub.h"

namespace longrun::api {

// The write side of a WatchOperation stream, without gRPC: one write in flight, the newest
// state parked while it is (replacing an unsent older one), versions only forward. Not
// thread-safe: WatchReactor calls it under its lock.
class LatestStateQueue {
 public:
  // A state arrived: returns it if it should be written now (newer than anything seen,
  // nothing in flight); parks it if a write is in flight; drops it if not newer.
  std::optional<core::Operation> Offer(const core::Operation& op);
  // The write in flight completed: returns the parked state to write next, if any.
  std::optional<core::Operation> WriteDone();

 private:
  int64_t latest_version_ = 0;
  bool write_in_flight_ = false;
  std::optional<core::Operation> pending_;
};

// Shared machinery: reference counting (the reactor outlives both gRPC's OnDone and the
// executor task that subscribes it) and the subscribe-then-snapshot start.
class HubCallBase : public WatchHub::Subscriber {
 protected:
  // `caller`: the call's, already allowed (call_auth.h).
  HubCallBase(ApiDeps deps, Caller caller) : deps_(deps), caller_(std::move(caller)) {}
  ~HubCallBase() override = default;

  // Parses `name`; on success subscribes on the executor and delivers the snapshot through
  // Deliver(). Returns the parse error (the caller finishes the call with it). Only the
  // caller's tenant's operation is delivered (an admin's: any).
  absl::Status StartSubscription(const std::string& name, absl::Time deadline);
  // Unsubscribes; call from OnDone before Unref().
  void EndSubscription();
  void Ref() { refs_.fetch_add(1); }
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  // Called with a newer state (snapshot or update).
  virtual void Deliver(const core::Operation& op) = 0;
  // Ends the call with an error unless already finished.
  virtual void FinishWith(const absl::Status& status) = 0;
  virtual bool Finished() = 0;

  void OnOperation(const core::Operation& op) override;
  void OnClosed(const absl::Status& status) override { FinishWith(status); }

  ApiDeps deps_;
  const Caller caller_;
  std::string id_;

 private:
  std::atomic<int> refs_{1};  // one for gRPC, released in OnDone
};

class WatchReactor final : public grpc::ServerWriteReactor<google::longrunning::Operation>,
                           public HubCallBase {
 public:
  // `caller`: the call's caller, or its refusal (the stream then ends with it at once).
  WatchReactor(ApiDeps deps, absl::StatusOr<Caller> caller, const std::string& name);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  void OnDeadline() override;  // --max-watch-duration

 private:
  void Deliver(const core::Operation& op) override;
  void FinishWith(const absl::Status& status) override;
  bool Finished() override;
  void WriteLocked(const core::Operation& op);

  std::mutex mu_;
  bool finished_ = false;
  LatestStateQueue queue_;
  google::longrunning::Operation current_;
  bool counted_ = false;  // holds one of caller_.tenant's WatchLimits
};

class WaitReactor final : public grpc::ServerUnaryReactor, public HubCallBase {
 public:
  // `timeout`: the request's, if set.
  WaitReactor(ApiDeps deps, Caller caller, grpc::CallbackServerContext* ctx, const std::string& name,
              std::optional<absl::Duration> timeout, google::longrunning::Operation* response);

  void OnCancel() override;
  void OnDone() override;
  void OnDeadline() override;

 private:
  void Deliver(const core::Operation& op) override;
  void FinishWith(const absl::Status& status) override;
  bool Finished() override;
  void RespondLocked(const core::Operation& op);

  grpc::CallbackServerContext* ctx_;
  google::longrunning::Operation* response_;
  std::mutex mu_;
  bool finished_ = false;
  std::optional<core::Operation> latest_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_WATCH_REACTOR_H_
