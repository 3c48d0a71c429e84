#include "tests/support/watcher.h"

namespace longrun::testing {

Watcher::Watcher(longrun::v1::Operations::Stub& stub, const std::string& name,
                 std::function<void(const google::longrunning::Operation&)> on_message)
    : on_message_(std::move(on_message)) {
  req_.set_name(name);
  stub.async()->WatchOperation(&ctx_, &req_, this);
  StartRead(&op_);
  StartCall();
}

void Watcher::OnReadDone(bool ok) {
  if (!ok) return;  // OnDone follows
  {
    std::lock_guard<std::mutex> lock(mu_);
    messages_.push_back(op_);
  }
  if (on_message_) on_message_(op_);
  StartRead(&op_);
}

void Watcher::OnDone(const grpc::Status& s) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = s;
  }
  done_.Notify();
}

std::vector<google::longrunning::Operation> Watcher::messages() {
  std::lock_guard<std::mutex> lock(mu_);
  return messages_;
}

grpc::Status Watcher::status() {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace longrun::testing
