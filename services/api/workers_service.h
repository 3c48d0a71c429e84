// longrun.v1.Workers over the callback API: converts messages and hands the work to
// RemoteWorkers (on the executor) and the LeaseBroker (long polls, on its own thread).
#ifndef LONGRUN_SERVICES_API_WORKERS_SERVICE_H_
#define LONGRUN_SERVICES_API_WORKERS_SERVICE_H_

#include <functional>

#include "libs/concurrency/executor.h"
#include "longrun/v1/workers.grpc.pb.h"
#include "services/api/call_auth.h"
#include "services/api/lease_broker.h"
#include "services/api/remote_workers.h"

namespace longrun::api {

class WorkersService final : public longrun::v1::Workers::CallbackService {
 public:
  // `auth`: the auth interceptor's decisions (nullptr with --auth=none). Lease tokens are
  // signed for one job and attempt, so Heartbeat, CompleteJob(s) and ReleaseJobs only need
  // the caller to be allowed the Workers service; LeaseJobs leases the caller's tenant's jobs.
  WorkersService(RemoteWorkers& remote, LeaseBroker& broker, concurrency::Executor& executor,
                 const CallAuthTable* auth = nullptr)
      : remote_(remote), broker_(broker), executor_(executor), auth_(auth) {}

  grpc::ServerUnaryReactor* LeaseJobs(grpc::CallbackServerContext* ctx,
                                      const longrun::v1::LeaseJobsRequest* request,
                                      longrun::v1::LeaseJobsResponse* response) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx,
                                      const longrun::v1::HeartbeatRequest* request,
                                      longrun::v1::HeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* CompleteJob(grpc::CallbackServerContext* ctx,
                                        const longrun::v1::CompleteJobRequest* request,
                                        longrun::v1::CompleteJobResponse* response) override;
  grpc::ServerUnaryReactor* CompleteJobs(grpc::CallbackServerContext* ctx,
                                         const longrun::v1::CompleteJobsRequest* request,
                                         longrun::v1::CompleteJobsResponse* response) override;
  grpc::ServerUnaryReactor* ReleaseJobs(grpc::CallbackServerContext* ctx,
                                        const longrun::v1::ReleaseJobsRequest* request,
                                        longrun::v1::ReleaseJobsResponse* response) override;

 private:
  // Checks one completion and hands it to RemoteWorkers; `done` gets its result.
  void Complete(const longrun::v1::CompleteJobRequest& request,
                std::function<void(absl::Status)> done);

  RemoteWorkers& remote_;
  LeaseBroker& broker_;
  concurrency::Executor& executor_;
  const CallAuthTable* auth_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_WORKERS_SERVICE_H_
