#include "services/api/call_auth.h"

namespace longrun::api {

void CallAuthTable::Set(const grpc::ServerContextBase* call, absl::StatusOr<Caller> decision) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.insert_or_assign(call, std::move(decision));
}

void CallAuthTable::Erase(const grpc::ServerContextBase* call) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.erase(call);
}

absl::StatusOr<Caller> CallAuthTable::Get(const grpc::ServerContextBase* call) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(call);
  if (it == calls_.end()) {
    return absl::UnauthenticatedError("the call was not authenticated");
  }
  return it->second;
}

}  // namespace longrun::api
