// The operations API without transport: validation, ids, idempotency and reads, over an
// OperationStore. Both gRPC services (longrun.v1 and the google.longrunning adapter) call
// this; tests construct it without a server. Methods block on the store: call them from an
// executor thread.
#ifndef LONGRUN_SERVICES_API_OPERATIONS_LOGIC_H_
#define LONGRUN_SERVICES_API_OPERATIONS_LOGIC_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/operation.h"
#include "libs/core/submit.h"
#include "libs/store/operation_store.h"

namespace longrun::api {

class OperationsLogic {
 public:
  OperationsLogic(store::OperationStore& store, core::SubmitLimits limits,
                  std::function<absl::Time()> clock);

  absl::StatusOr<core::Operation> Submit(const core::SubmitSpec& spec);
  // `field` names the request field holding `name` in error messages.
  absl::StatusOr<core::Operation> Get(absl::string_view name);

  absl::Time Now() const { return clock_(); }
  const core::SubmitLimits& limits() const { return limits_; }

 private:
  store::OperationStore& store_;
  core::SubmitLimits limits_;
  std::function<absl::Time()> clock_;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_OPERATIONS_LOGIC_H_
