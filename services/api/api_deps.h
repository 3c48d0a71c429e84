// ApiDeps: what the gRPC services and their reactors share, built once in main.cc.
#ifndef LONGRUN_SERVICES_API_API_DEPS_H_
#define LONGRUN_SERVICES_API_API_DEPS_H_

#include "absl/time/time.h"
#include "libs/concurrency/executor.h"
#include "services/api/call_auth.h"
#include "services/api/operations_logic.h"
#include "services/api/submit_batcher.h"
#include "services/api/watch_limits.h"
#include "services/api/watch_hub.h"

namespace longrun::api {

class EventPoller;  // event_stream.h

struct ApiDeps {
  OperationsLogic& logic;
  concurrency::Executor& executor;  // blocking work of unary RPCs
  WatchHub& hub;                    // WatchOperation and WaitOperation
  SubmitBatcher& submit_batcher;    // group commit of Submits
  absl::Duration max_wait = absl::Seconds(60);  // cap on a WaitOperation
  // The auth interceptor's decisions; nullptr with --auth=none (every caller is Caller{}).
  const CallAuthTable* auth = nullptr;
  // Open WatchOperation streams per tenant (nullptr: no cap), and how long one may last.
  WatchLimits* watch_limits = nullptr;
  absl::Duration max_watch_duration = absl::InfiniteDuration();
  // Wakes WatchOperations streams (nullptr: WatchOperations is UNIMPLEMENTED).
  EventPoller* event_poller = nullptr;
};

// The caller of the call `ctx`, or why it is refused (see call_auth.h).
// With --auth=none (auth == nullptr) every caller is tenant "default" with every scope, admin
// included: it reads every tenant's operation by name and leases every tenant's jobs.
inline absl::StatusOr<Caller> CallerOf(const CallAuthTable* auth,
                                       const grpc::ServerContextBase* ctx) {
  if (auth == nullptr) return Caller{.admin = true};
  return auth->Get(ctx);
}

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_API_DEPS_H_
