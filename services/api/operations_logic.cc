#include "services/api/operations_logic.h"

#include "libs/common/status_macros.h"
#include "absl/strings/str_cat.h"
#include "libs/core/filter.h"
#include "libs/core/ids.h"
#include "libs/core/page_token.h"

namespace longrun::api {

OperationsLogic::OperationsLogic(store::OperationStore& store, core::SubmitLimits limits,
                                 std::function<absl::Time()> clock, std::string page_token_secret)
    : store_(store),
      limits_(limits),
      clock_(std::move(clock)),
      page_token_secret_(std::move(page_token_secret)) {}

absl::StatusOr<store::OperationInsertParams> OperationsLogic::PrepareSubmit(
    const Caller& caller, const core::SubmitSpec& spec) {
  const absl::Time now = clock_();
  LONGRUN_RETURN_IF_ERROR(core::ValidateSubmit(spec, limits_, now));
  store::OperationInsertParams params;
  params.id = core::NewOperationId(now);
  params.tenant = caller.tenant;
  params.spec = spec;
  if (spec.callback) {
    if (callbacks_ == nullptr || !validate_callback_) {
      return absl::FailedPreconditionError(
          "callback: webhooks are off on this server; start longrun-api and a longrun-worker "
          "with --webhook-secret-file to deliver callbacks, or submit without one and poll");
    }
    LONGRUN_ASSIGN_OR_RETURN(params.spec.callback, validate_callback_(*spec.callback));
  }
  params.max_attempts = spec.max_attempts > 0 ? spec.max_attempts : limits_.default_max_attempts;
  if (!spec.request_id.empty()) {
    params.fingerprint = core::SubmitFingerprint(params.spec, limits_);
  }
  return params;
}

absl::StatusOr<core::Operation> OperationsLogic::SubmitResult(
    absl::StatusOr<store::OperationInsertResult> result) {
  if (!result.ok()) return result.status();
  return std::move(result->operation);
}

absl::StatusOr<core::Operation> OperationsLogic::Get(const Caller& caller,
                                                     absl::string_view name) {
  LONGRUN_ASSIGN_OR_RETURN(std::string id, core::ParseOperationName(name));
  if (!caller.admin) return store_.OperationGet({.id = id, .tenant = caller.tenant});
  // An admin reads any tenant's operation.
  LONGRUN_ASSIGN_OR_RETURN(std::vector<core::Operation> ops, store_.OperationGetMany({id}));
  if (ops.empty()) {
    return absl::NotFoundError(absl::StrCat("operation ", core::OperationName(id), " not found"));
  }
  return std::move(ops[0]);
}

absl::StatusOr<core::Operation> OperationsLogic::Cancel(const Caller& caller,
                                                        absl::string_view name) {
  LONGRUN_ASSIGN_OR_RETURN(std::string id, core::ParseOperationName(name));
  return store_.OperationCancel({.id = id, .tenant = caller.tenant});
}

absl::Status OperationsLogic::Delete(const Caller& caller, absl::string_view name) {
  LONGRUN_ASSIGN_OR_RETURN(std::string id, core::ParseOperationName(name));
  return store_.OperationDelete({.id = id, .tenant = caller.tenant});
}

absl::StatusOr<ListResult> OperationsLogic::List(const Caller& caller,
                                                  const ListRequest& request) {
  if (!request.name.empty() && request.name != "operations") {
    return absl::InvalidArgumentError(
        absl::StrCat("name: must be \"operations\" or empty, got \"", request.name.substr(0, 80), "\""));
  }
  LONGRUN_ASSIGN_OR_RETURN(std::optional<core::FilterNode> filter, core::ParseFilter(request.filter));
  LONGRUN_ASSIGN_OR_RETURN(int32_t page_size, core::ResolvePageSize(request.page_size));
  store::OperationListParams params{
      .tenant = caller.tenant, .filter = std::move(filter), .limit = page_size + 1};
  // A token is bound to the tenant as well as the filter: another tenant's token is refused.
  const std::string binding = absl::StrCat(caller.tenant, "\n", request.filter);
  if (!request.page_token.empty()) {
    LONGRUN_ASSIGN_OR_RETURN(
        core::PageCursor cursor,
        core::DecodePageToken(request.page_token, binding, page_token_secret_));
    params.after_create_time = cursor.create_time;
    params.after_id = cursor.id;
  }
  LONGRUN_ASSIGN_OR_RETURN(std::vector<core::Operation> ops, store_.OperationList(params));
  ListResult result;
  // One extra row tells whether another page exists, so the last page has no token.
  if (static_cast<int32_t>(ops.size()) > page_size) {
    ops.resize(page_size);
    const core::Operation& last = ops.back();
    result.next_page_token = core::EncodePageToken({.create_time = last.create_time, .id = last.id},
                                                   binding, page_token_secret_);
  }
  result.operations = std::move(ops);
  return result;
}

absl::StatusOr<core::Operation> OperationsLogic::RedeliverCallback(const Caller& caller,
                                                                   absl::string_view name) {
  LONGRUN_ASSIGN_OR_RETURN(std::string id, core::ParseOperationName(name));
  if (callbacks_ == nullptr) {
    return absl::FailedPreconditionError(
        "webhooks are off on this server (start longrun-api with --webhook-secret-file)");
  }
  return callbacks_->CallbackRedeliver({.id = id, .tenant = caller.tenant});
}

absl::StatusOr<store::EventCursor> OperationsLogic::EventsStart(absl::string_view start_after) {
  if (events_ == nullptr) return absl::UnimplementedError("this server has no event log");
  if (start_after.empty()) return events_->EventHead();
  return store::EventCursor::Decode(start_after);
}

absl::StatusOr<store::EventReadResult> OperationsLogic::EventsRead(
    const Caller& caller, const std::optional<core::FilterNode>& filter,
    const store::EventCursor& after, int32_t limit) {
  if (events_ == nullptr) return absl::UnimplementedError("this server has no event log");
  return events_->EventRead(
      {.tenant = caller.tenant, .filter = filter, .after = after, .limit = limit});
}

}  // namespace longrun::api
