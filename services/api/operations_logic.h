// The operations API without transport: validation, ids, paging and reads, over an
// OperationStore. Both gRPC services (longrun.v1 and the google.longrunning adapter) call
// this; tests construct it without a server. Methods block on the store: call them from an
// executor thread.
#ifndef LONGRUN_SERVICES_API_OPERATIONS_LOGIC_H_
#define LONGRUN_SERVICES_API_OPERATIONS_LOGIC_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/operation.h"
#include "libs/auth/principal.h"
#include "libs/core/submit.h"
#include "libs/store/callback_store.h"
#include "libs/store/event_log.h"
#include "libs/store/operation_store.h"

namespace longrun::api {

// Who is calling, as the auth interceptor established it (docs/SECURITY.md): every read and
// write is scoped to the caller's tenant. With --auth=none every caller is Caller{}.
struct Caller {
  std::string tenant{core::kDefaultTenant};
  bool admin = false;  // may read any tenant's operation by name
  // The credential's principal (scopes, lease grants); nullptr with --auth=none, which allows
  // everything.
  std::shared_ptr<const auth::Principal> principal;
};

struct ListRequest {
  std::string name;  // "operations" or empty
  std::string filter;
  int32_t page_size = 0;
  std::string page_token;
};

struct ListResult {
  std::vector<core::Operation> operations;
  std::string next_page_token;  // empty on the last page
};

class OperationsLogic {
 public:
  // page_token_secret signs page tokens; replicas must share it.
  OperationsLogic(store::OperationStore& store, core::SubmitLimits limits,
                  std::function<absl::Time()> clock, std::string page_token_secret = "");

  // Submit, first half, CPU only (validation, id, fingerprint): what to insert. Safe on a
  // gRPC callback thread; the insert itself goes through the SubmitBatcher.
  absl::StatusOr<store::OperationInsertParams> PrepareSubmit(const Caller& caller,
                                                             const core::SubmitSpec& spec);
  // Submit, second half: the batched insert's result as the operation to return.
  static absl::StatusOr<core::Operation> SubmitResult(
      absl::StatusOr<store::OperationInsertResult> result);
  // Another tenant's operation is NOT_FOUND, exactly as a missing one (an admin reads any).
  absl::StatusOr<core::Operation> Get(const Caller& caller, absl::string_view name);
  // QUEUED/RETRY_WAIT -> CANCELLED at once; RUNNING -> CANCELLING (the worker is told);
  // finished operations are returned unchanged. Never deletes.
  absl::StatusOr<core::Operation> Cancel(const Caller& caller, absl::string_view name);
  // Only finished operations; FAILED_PRECONDITION otherwise. Never cancels.
  absl::Status Delete(const Caller& caller, absl::string_view name);
  // AIP-160 filter subset, AIP-158 keyset paging (see docs/API.md). The caller's tenant only;
  // page tokens are bound to the tenant and the filter.
  absl::StatusOr<ListResult> List(const Caller& caller, const ListRequest& request);

  // Callbacks: off until EnableCallbacks (Submit with a callback is then
  // FAILED_PRECONDITION). `validate` checks a callback against the process's webhook policy
  // and returns it normalized (INVALID_ARGUMENT "callback.url: ..." otherwise).
  using CallbackValidator =
      std::function<absl::StatusOr<core::CallbackSpec>(const core::CallbackSpec&)>;
  void EnableCallbacks(store::CallbackStore* callbacks, CallbackValidator validate) {
    callbacks_ = callbacks;
    validate_callback_ = std::move(validate);
  }
  // Sends the operation's latest callback delivery again (see CallbackStore).
  absl::StatusOr<core::Operation> RedeliverCallback(const Caller& caller, absl::string_view name);

  // The event log (WatchOperations); UNIMPLEMENTED until set.
  void EnableEvents(store::EventLog* events) { events_ = events; }
  // Where a stream starts: after `start_after` (a cursor), or the head when it is empty.
  absl::StatusOr<store::EventCursor> EventsStart(absl::string_view start_after);
  // The caller's tenant's next events after `after`.
  absl::StatusOr<store::EventReadResult> EventsRead(const Caller& caller,
                                                    const std::optional<core::FilterNode>& filter,
                                                    const store::EventCursor& after,
                                                    int32_t limit);

  absl::Time Now() const { return clock_(); }

 private:
  store::OperationStore& store_;
  core::SubmitLimits limits_;
  std::function<absl::Time()> clock_;
  std::string page_token_secret_;
  store::CallbackStore* callbacks_ = nullptr;
  CallbackValidator validate_callback_;
  store::EventLog* events_ = nullptr;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_OPERATIONS_LOGIC_H_
