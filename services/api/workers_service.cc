#include "services/api/workers_service.h"

#include <algorithm>
#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/common/status_macros.h"
#include "libs/rpc/convert.h"
#include "libs/rpc/grpc_status.h"
#include "services/api/unary.h"

namespace longrun::api {
namespace {

// One LeaseJobs call: waits in the broker (no thread of its own) and finishes when the
// broker answers, or when the client goes away first.
class LeaseReactor final : public grpc::ServerUnaryReactor {
 public:
  static constexpr size_t kMaxAnswerBytes = 3 << 20;

  LeaseReactor(grpc::CallbackServerContext* ctx, RemoteWorkers& remote, LeaseBroker& broker,
               LeaseRequest request, longrun::v1::LeaseJobsResponse* response)
      : ctx_(ctx), remote_(remote), broker_(broker), response_(response) {
    const absl::Duration lease = request.lease;
    handle_ = broker_.Lease(std::move(request),
                            [this, lease](auto jobs) { Answer(std::move(jobs), lease); });
  }
  void OnCancel() override {
    if (broker_.Cancel(handle_)) Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }
  void OnDone() override { delete this; }

 private:
  void Answer(absl::StatusOr<std::vector<store::ClaimedJob>> jobs, absl::Duration lease) {
    if (!jobs.ok()) {
      Finish(rpc::ToGrpcStatus(jobs.status()));
      return;
    }
    std::vector<std::string> tokens;
    // Keep the answer under a client's default 4 MiB receive limit: jobs beyond the budget
    // (never the first) go back to the queue at once, no token issued, no attempt used.
    size_t bytes = 0;
    std::vector<store::ClaimedJob> unsent;
    for (store::ClaimedJob& claimed : *jobs) {
      const size_t size = claimed.input.ByteSizeLong() + 512;
      if (!tokens.empty() && bytes + size > kMaxAnswerBytes) {
        unsent.push_back(std::move(claimed));
        continue;
      }
      bytes += size;
      LeasedJob leased = remote_.Leased(std::move(claimed), lease);
      longrun::v1::Job* job = response_->add_jobs();
      job->set_name(absl::StrCat("operations/", leased.job.id));
      job->set_kind(leased.job.kind);
      *job->mutable_input() = std::move(leased.job.input);
      job->set_attempt(leased.job.attempt);
      job->set_max_attempts(leased.job.max_attempts);
      job->set_trace_id(leased.job.trace_id);
      job->set_lease_token(leased.lease_token);
      rpc::ToProto(leased.lease_expire_time, job->mutable_lease_expire_time());
      if (leased.deadline.has_value()) rpc::ToProto(*leased.deadline, job->mutable_deadline());
      tokens.push_back(std::move(leased.lease_token));
    }
    // The client left after the claim: hand the jobs back rather than leave them leased to
    // nobody until their lease runs out.
    if (!tokens.empty() && ctx_->IsCancelled()) (void)remote_.Release(tokens);
    if (!unsent.empty()) remote_.Unclaim(unsent);
    Finish(grpc::Status::OK);
  }

  grpc::CallbackServerContext* ctx_;
  RemoteWorkers& remote_;
  LeaseBroker& broker_;
  longrun::v1::LeaseJobsResponse* response_;
  uint64_t handle_ = 0;
};

}  // namespace

grpc::ServerUnaryReactor* WorkersService::LeaseJobs(grpc::CallbackServerContext* ctx,
                                                    const longrun::v1::LeaseJobsRequest* request,
                                                    longrun::v1::LeaseJobsResponse* response) {
  absl::StatusOr<LeaseRequest> prepared = [&]() -> absl::StatusOr<LeaseRequest> {
    LONGRUN_ASSIGN_OR_RETURN(const Caller caller, CallerOf(auth_, ctx));
    // A worker leases its own tenant's jobs; an admin's, every tenant's.
    LeaseJobsInput in{.worker_id = request->worker_id(),
                      .kinds = {request->kinds().begin(), request->kinds().end()},
                      .queues = {request->queues().begin(), request->queues().end()},
                      .tenant = caller.admin ? "" : caller.tenant,
                      .max_jobs = request->max_jobs()};
    if (caller.principal != nullptr) {
      // workers.lease may be limited to queues and kinds (docs/SECURITY.md).
      LONGRUN_RETURN_IF_ERROR(auth::CheckLease(*caller.principal, in.queues, in.kinds));
    }
    if (request->has_wait()) {
      LONGRUN_ASSIGN_OR_RETURN(in.wait, rpc::FromProtoDuration(request->wait(), "wait"));
      // Answer (empty) a little before the call's own deadline rather than let it expire:
      // jobs claimed at that moment would be leased to nobody.
      const absl::Time deadline = absl::FromChrono(ctx->deadline());
      if (deadline != absl::InfiniteFuture() && in.wait > absl::ZeroDuration()) {
        in.wait = std::max(absl::ZeroDuration(),
                           std::min(in.wait, deadline - absl::Now() - absl::Milliseconds(200)));
      }
    }
    if (request->has_lease_duration()) {
      LONGRUN_ASSIGN_OR_RETURN(in.lease,
                               rpc::FromProtoDuration(request->lease_duration(), "lease_duration"));
    }
    return remote_.PrepareLease(std::move(in));
  }();
  if (!prepared.ok()) return FinishNow(ctx, prepared.status());
  return new LeaseReactor(ctx, remote_, broker_, *std::move(prepared), response);
}

grpc::ServerUnaryReactor* WorkersService::Heartbeat(grpc::CallbackServerContext* ctx,
                                                    const longrun::v1::HeartbeatRequest* request,
                                                    longrun::v1::HeartbeatResponse* response) {
  return RunUnary(ctx, auth_, executor_, [this, request, response](const Caller&) -> absl::Status {
    std::vector<HeartbeatInput> leases;
    leases.reserve(request->leases_size());
    for (const auto& l : request->leases()) {
      HeartbeatInput in{.lease_token = l.lease_token()};
      if (l.has_progress()) in.progress = {l.progress().percent(), l.progress().message()};
      leases.push_back(std::move(in));
    }
    LONGRUN_ASSIGN_OR_RETURN(std::vector<HeartbeatAnswer> answers, remote_.Heartbeat(leases));
    for (size_t i = 0; i < answers.size(); ++i) {
      auto* out = response->add_leases();
      out->set_lease_token(request->leases(static_cast<int>(i)).lease_token());
      if (answers[i].lease_expire_time.has_value()) {
        rpc::ToProto(*answers[i].lease_expire_time, out->mutable_lease_expire_time());
      }
      out->set_cancel_requested(answers[i].cancel_requested);
      out->set_lost(answers[i].lost);
    }
    return absl::OkStatus();
  });
}

void WorkersService::Complete(const longrun::v1::CompleteJobRequest& request,
                              std::function<void(absl::Status)> done) {
  absl::StatusOr<google::protobuf::Struct> result;
  switch (request.result_case()) {
    case longrun::v1::CompleteJobRequest::kResponse:
      result = request.response();
      break;
    case longrun::v1::CompleteJobRequest::kError:
      if (request.error().code() <= 0 || request.error().code() > 16) {
        return done(absl::InvalidArgumentError(
            "error.code: must be a canonical error code (1..16), not OK"));
      }
      result = absl::Status(static_cast<absl::StatusCode>(request.error().code()),
                            request.error().message());
      break;
    default:
      return done(absl::InvalidArgumentError("result: set response or error"));
  }
  // Group commit: answered on a flush thread once the batch is recorded.
  remote_.Complete(request.lease_token(), std::move(result), !request.permanent(), std::move(done));
}

grpc::ServerUnaryReactor* WorkersService::CompleteJob(
    grpc::CallbackServerContext* ctx, const longrun::v1::CompleteJobRequest* request,
    longrun::v1::CompleteJobResponse*) {
  if (absl::StatusOr<Caller> caller = CallerOf(auth_, ctx); !caller.ok()) {
    return FinishNow(ctx, caller.status());
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Complete(*request, [reactor](const absl::Status& s) { reactor->Finish(rpc::ToGrpcStatus(s)); });
  return reactor;
}

grpc::ServerUnaryReactor* WorkersService::CompleteJobs(
    grpc::CallbackServerContext* ctx, const longrun::v1::CompleteJobsRequest* request,
    longrun::v1::CompleteJobsResponse* response) {
  if (absl::StatusOr<Caller> caller = CallerOf(auth_, ctx); !caller.ok()) {
    return FinishNow(ctx, caller.status());
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const int n = request->completions_size();
  if (n > 1000) {
    reactor->Finish(rpc::ToGrpcStatus(absl::InvalidArgumentError("completions: at most 1000")));
    return reactor;
  }
  if (n == 0) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  for (int i = 0; i < n; ++i) response->add_results();
  // The last completion to be recorded finishes the call.
  auto pending = std::make_shared<std::atomic<int>>(n);
  for (int i = 0; i < n; ++i) {
    Complete(request->completions(i), [reactor, response, pending, i](const absl::Status& s) {
      google::rpc::Status* out = response->mutable_results(i);
      out->set_code(static_cast<int>(s.code()));
      out->set_message(std::string(s.message()));
      if (pending->fetch_sub(1) == 1) reactor->Finish(grpc::Status::OK);
    });
  }
  return reactor;
}

grpc::ServerUnaryReactor* WorkersService::ReleaseJobs(
    grpc::CallbackServerContext* ctx, const longrun::v1::ReleaseJobsRequest* request,
    longrun::v1::ReleaseJobsResponse* response) {
  return RunUnary(ctx, auth_, executor_, [this, request, response](const Caller&) -> absl::Status {
    LONGRUN_ASSIGN_OR_RETURN(int released, remote_.Release({request->lease_tokens().begin(),
                                                            request->lease_tokens().end()}));
    response->set_released(released);
    return absl::OkStatus();
  });
}

}  // namespace longrun::api
