// longrun::Handler and longrun::Registry: which job kinds a worker runs, and with what code.
// Part of the worker SDK (installed under include/longrun/).
//
//   longrun::Registry registry;
//   LONGRUN_CHECK_OK(registry.Register("image.resize", Resize));
//
// A handler returns the job's result (recorded as the operation's response) or an error.
// These codes are permanent, so the job fails at once without a retry: INVALID_ARGUMENT,
// FAILED_PRECONDITION, NOT_FOUND, PERMISSION_DENIED and UNIMPLEMENTED. Any other error is
// retried with back-off until the job's max_attempts are used up.
#ifndef LONGRUN_WORKER_INCLUDE_LONGRUN_REGISTRY_H_
#define LONGRUN_WORKER_INCLUDE_LONGRUN_REGISTRY_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "longrun/job_context.h"

namespace longrun {

using Handler = std::function<absl::StatusOr<google::protobuf::Struct>(JobContext& ctx)>;

class Registry {
 public:
  // INVALID_ARGUMENT for a kind Submit would refuse or an empty handler; ALREADY_EXISTS if
  // the kind is registered already.
  absl::Status Register(const std::string& kind, Handler handler);
  // nullptr if the kind is not registered.
  const Handler* Find(const std::string& kind) const;
  // Registered kinds, sorted.
  std::vector<std::string> Kinds() const;

 private:
  std::map<std::string, Handler> handlers_;
};

}  // namespace longrun

#endif  // LONGRUN_WORKER_INCLUDE_LONGRUN_REGISTRY_H_
