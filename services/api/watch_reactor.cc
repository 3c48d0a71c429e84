#include "services/api/watch_reactor.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/ids.h"
#include "libs/rpc/convert.h"
#include "libs/rpc/grpc_status.h"
#include "services/api/unary.h"

namespace longrun::api {

absl::Status HubCallBase::StartSubscription(const std::string& name, absl::Time deadline) {
  auto id = core::ParseOperationName(name);
  if (!id.ok()) return id.status();
  id_ = *id;
  Ref();  // held by the executor task
  const bool posted = deps_.executor.Post([this, deadline] {
    if (!deps_.hub.Subscribe(id_, this, deadline)) {
      FinishWith(absl::UnavailableError("server shutting down; retry on another replica"));
    } else {
      // Subscribed first, then read: any change after this read is notified to us.
      auto op = deps_.logic.Get(caller_, core::OperationName(id_));
      if (op.ok()) {
        Deliver(*op);
      } else {
        FinishWith(op.status());
      }
      // gRPC may have finished the call meanwhile; make sure the hub lets go of us.
      if (Finished()) deps_.hub.Unsubscribe(id_, this);
    }
    Unref();
  });
  if (!posted) {
    Unref();
    FinishWith(absl::ResourceExhaustedError("server is overloaded or shutting down; retry"));
  }
  return absl::OkStatus();
}

void HubCallBase::OnOperation(const core::Operation& op) {
  // The hub reads any tenant; the scoped read at the start already refused another tenant's
  // operation, and this keeps an update that raced it from being delivered.
  if (!caller_.admin && op.tenant != caller_.tenant) {
    FinishWith(absl::NotFoundError(
        absl::StrCat("operation ", core::OperationName(op.id), " not found")));
    return;
  }
  Deliver(op);
}

void HubCallBase::EndSubscription() {
  if (!id_.empty()) deps_.hub.Unsubscribe(id_, this);
}

// ---- LatestStateQueue ----

std::optional<core::Operation> LatestStateQueue::Offer(const core::Operation& op) {
  if (op.version <= latest_version_) return std::nullopt;
  latest_version_ = op.version;
  if (write_in_flight_) {
    pending_ = op;  // newer state replaces an unsent one
    return std::nullopt;
  }
  write_in_flight_ = true;
  return op;
}

std::optional<core::Operation> LatestStateQueue::WriteDone() {
  std::optional<core::Operation> next = std::move(pending_);
  pending_.reset();
  write_in_flight_ = next.has_value();
  return next;
}

// ---- WatchReactor ----

WatchReactor::WatchReactor(ApiDeps deps, absl::StatusOr<Caller> caller, const std::string& name)
    : HubCallBase(deps, caller.ok() ? *caller : Caller{}) {
  if (!caller.ok()) {
    FinishWith(caller.status());
    return;
  }
  // The per-tenant cap first, so a stream over it gets nothing but the refusal.
  absl::StatusOr<bool> counted =
      AcquireWatch(deps_.watch_limits, caller_.tenant, "poll with GetOperation or WaitOperation");
  if (!counted.ok()) {
    FinishWith(counted.status());
    return;
  }
  counted_ = *counted;
  absl::Time deadline = absl::InfiniteFuture();
  if (deps_.max_watch_duration < absl::InfiniteDuration()) {
    deadline = deps_.hub.clock().Now() + deps_.max_watch_duration;
  }
  if (absl::Status s = StartSubscription(name, deadline); !s.ok()) FinishWith(s);
}

void WatchReactor::Deliver(const core::Operation& op) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  if (std::optional<core::Operation> now = queue_.Offer(op)) WriteLocked(*now);
}

void WatchReactor::WriteLocked(const core::Operation& op) {
  current_ = rpc::ToProto(op, deps_.logic.Now());
  if (op.done()) {
    finished_ = true;
    StartWriteAndFinish(&current_, grpc::WriteOptions(), grpc::Status::OK);
  } else {
    StartWrite(&current_);
  }
}

void WatchReactor::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<core::Operation> next = queue_.WriteDone();
  if (finished_) return;
  if (!ok) {  // the client went away
    finished_ = true;
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed by the client"));
    return;
  }
  if (next.has_value()) WriteLocked(*next);
}

void WatchReactor::FinishWith(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  Finish(rpc::ToGrpcStatus(status));
}

bool WatchReactor::Finished() {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_;
}

void WatchReactor::OnCancel() { FinishWith(absl::CancelledError("watch cancelled by the client")); }

void WatchReactor::OnDeadline() {
  FinishWith(absl::UnavailableError(
      "watch stream reached its longest lifetime (--max-watch-duration); watch again to go on"));
}

void WatchReactor::OnDone() {
  if (counted_) deps_.watch_limits->Release(caller_.tenant);
  EndSubscription();
  Unref();
}

// ---- WaitReactor ----

WaitReactor::WaitReactor(ApiDeps deps, Caller caller, grpc::CallbackServerContext* ctx,
                         const std::string& name,
                         std::optional<absl::Duration> timeout,
                         google::longrunning::Operation* response)
    : HubCallBase(deps, std::move(caller)), ctx_(ctx), response_(response) {
  // The deadline is on the hub's clock; gRPC's is on the real one.
  const absl::Time now = deps_.hub.clock().Now();
  // Answer a little before the RPC deadline so the client gets the state, not an error.
  absl::Time deadline = now + deps_.max_wait;
  const absl::Time rpc_deadline = absl::FromChrono(ctx->deadline());
  if (rpc_deadline < absl::InfiniteFuture()) {
    const absl::Duration left = rpc_deadline - absl::Now();
    const absl::Duration margin = std::min(absl::Milliseconds(100), left / 10);
    deadline = std::min(deadline, now + left - margin);
  }
  if (timeout.has_value()) deadline = std::min(deadline, now + *timeout);
  if (absl::Status s = StartSubscription(name, deadline); !s.ok()) FinishWith(s);
}

void WaitReactor::Deliver(const core::Operation& op) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  if (latest_.has_value() && op.version <= latest_->version) return;
  latest_ = op;
  if (op.done()) RespondLocked(op);
}

void WaitReactor::OnDeadline() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  if (latest_.has_value()) {
    RespondLocked(*latest_);
  } else {
    finished_ = true;
    Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                        "timed out before the operation could be read"));
  }
}

void WaitReactor::RespondLocked(const core::Operation& op) {
  finished_ = true;
  RespondWithOperation(ctx_, op, deps_.logic.Now(), response_);
  Finish(grpc::Status::OK);
}

void WaitReactor::FinishWith(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  Finish(rpc::ToGrpcStatus(status));
}

bool WaitReactor::Finished() {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_;
}

void WaitReactor::OnCancel() { FinishWith(absl::CancelledError("wait cancelled by the client")); }

void WaitReactor::OnDone() {
  EndSubscription();
  Unref();
}

}  // namespace longrun::api
