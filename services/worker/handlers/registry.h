// Handler registry: job kind -> function. Adding a kind is one file defining the handler
// and one line in builtins.cc.
#ifndef LONGRUN_SERVICES_WORKER_HANDLERS_REGISTRY_H_
#define LONGRUN_SERVICES_WORKER_HANDLERS_REGISTRY_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "services/worker/job_context.h"

namespace longrun::worker {

// Returns the job's result, or an error. Errors with INVALID_ARGUMENT, FAILED_PRECONDITION,
// NOT_FOUND, PERMISSION_DENIED or UNIMPLEMENTED are permanent (not retried).
using Handler = std::function<absl::StatusOr<google::protobuf::Struct>(
    JobContext& ctx, const google::protobuf::Struct& input)>;

class Registry {
 public:
  void Register(const std::string& kind, Handler handler) { handlers_[kind] = std::move(handler); }
  const Handler* Find(const std::string& kind) const {
    auto it = handlers_.find(kind);
    return it == handlers_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> Kinds() const {
    std::vector<std::string> kinds;
    for (const auto& [k, _] : handlers_) kinds.push_back(k);
    return kinds;
  }

 private:
  std::map<std::string, Handler> handlers_;
};

// demo.echo, demo.sleep, demo.sha256, demo.fail.
void RegisterBuiltins(Registry& registry);

// Reads an optional number field; INVALID_ARGUMENT naming input.<field> if it has another type.
absl::StatusOr<double> NumberField(const google::protobuf::Struct& input, const std::string& field,
                                   double default_value);

}  // namespace longrun::worker

#endif  // LONGRUN_SERVICES_WORKER_HANDLERS_REGISTRY_H_
