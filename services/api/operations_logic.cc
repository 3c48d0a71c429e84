#include "services/api/operations_logic.h"

#include "libs/common/status_macros.h"
#include "libs/core/ids.h"

namespace longrun::api {

OperationsLogic::OperationsLogic(store::OperationStore& store, core::SubmitLimits limits,
                                 std::function<absl::Time()> clock)
    : store_(store), limits_(limits), clock_(std::move(clock)) {}

absl::StatusOr<core::Operation> OperationsLogic::Submit(const core::SubmitSpec& spec) {
  const absl::Time now = clock_();
  LONGRUN_RETURN_IF_ERROR(core::ValidateSubmit(spec, limits_, now));
  store::OperationInsertParams params;
  params.id = core::NewOperationId(now);
  params.spec = spec;
  params.max_attempts = spec.max_attempts > 0 ? spec.max_attempts : limits_.default_max_attempts;
  if (!spec.request_id.empty()) params.fingerprint = core::SubmitFingerprint(spec, limits_);
  LONGRUN_ASSIGN_OR_RETURN(store::OperationInsertResult result, store_.OperationInsert(params));
  return std::move(result.operation);
}

absl::StatusOr<core::Operation> OperationsLogic::Get(absl::string_view name) {
  LONGRUN_ASSIGN_OR_RETURN(std::string id, core::ParseOperationName(name));
  return store_.OperationGet({.id = id});
}

}  // namespace longrun::api
