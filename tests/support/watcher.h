// A WatchOperation client on gRPC's callback API, so a test can hold thousands of streams
// without a thread each. Collects every message and the final status.
#ifndef LONGRUN_TESTS_SUPPORT_WATCHER_H_
#define LONGRUN_TESTS_SUPPORT_WATCHER_H_

#include <grpcpp/grpcpp.h>

#include <mutex>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "longrun/v1/operations.grpc.pb.h"

namespace longrun::testing {

class Watcher final : public grpc::ClientReadReactor<google::longrunning::Operation> {
 public:
  // Starts watching at once. `on_message` (optional) runs on a gRPC thread per message.
  Watcher(longrun::v1::Operations::Stub& stub, const std::string& name,
          std::function<void(const google::longrunning::Operation&)> on_message = nullptr);

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& s) override;

  // Waits for the stream to end; false on timeout.
  bool Await(absl::Duration timeout) {
    return done_.WaitForNotificationWithTimeout(timeout);
  }
  void Cancel() { ctx_.TryCancel(); }
  std::vector<google::longrunning::Operation> messages();
  grpc::Status status();

 private:
  grpc::ClientContext ctx_;
  longrun::v1::WatchOperationRequest req_;
  google::longrunning::Operation op_;
  std::function<void(const google::longrunning::Operation&)> on_message_;
  std::mutex mu_;
  std::vector<google::longrunning::Operation> messages_;
  grpc::Status status_;
  absl::Notification done_;
};

}  // namespace longrun::testing

#endif  // LONGRUN_TESTS_SUPPORT_WATCHER_H_
