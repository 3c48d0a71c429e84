// A running longrun stack for end-to-end tests: real longrun-api and longrun-worker
// processes against a TestDatabase, plus gRPC stubs to talk to them.
#ifndef LONGRUN_TESTS_SUPPORT_STACK_H_
#define LONGRUN_TESTS_SUPPORT_STACK_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/longrunning/operations.grpc.pb.h"
#include "longrun/v1/operations.grpc.pb.h"
#include "tests/support/process.h"
#include "tests/support/test_pg.h"

namespace longrun::testing {

class Stack {
 public:
  Stack(const TestDatabase& db, std::string name);
  ~Stack();

  // Starts an api replica; returns its index.
  int StartApi(const std::vector<std::string>& extra_args = {});
  // Starts a worker; returns its index.
  int StartWorker(const std::vector<std::string>& extra_args = {});
  ChildProcess& api(int i = 0) { return *apis_[i]; }
  ChildProcess& worker(int i) { return *workers_[i]; }
  std::string address(int i = 0) const { return addresses_[i]; }
  const std::string& dir() const { return dir_; }

  longrun::v1::Operations::Stub& v1(int api = 0) { return *v1_[api]; }
  google::longrunning::Operations::Stub& lro(int api = 0) { return *lro_[api]; }

  // Convenience calls with a 10s deadline.
  grpc::Status Submit(const std::string& kind, const std::string& input_json,
                      google::longrunning::Operation* out,
                      longrun::v1::SubmitRequest base = {});
  grpc::Status Get(const std::string& name, google::longrunning::Operation* out, int api = 0);
  // Polls GetOperation until done or timeout; returns the last operation seen.
  google::longrunning::Operation WaitDone(const std::string& name, absl::Duration timeout);
  // Polls GetOperation until a worker runs the operation (state RUNNING) or 10s pass;
  // returns the last operation seen.
  google::longrunning::Operation WaitRunning(const std::string& name);

 private:
  const TestDatabase& db_;
  std::string name_;
  std::string dir_;
  std::vector<std::unique_ptr<ChildProcess>> apis_;
  std::vector<std::string> addresses_;
  std::vector<std::unique_ptr<ChildProcess>> workers_;
  std::vector<std::unique_ptr<longrun::v1::Operations::Stub>> v1_;
  std::vector<std::unique_ptr<google::longrunning::Operations::Stub>> lro_;
};

// Unpacks metadata; fails the test if it is not OperationMetadata.
longrun::v1::OperationMetadata Metadata(const google::longrunning::Operation& op);
// The operation's response Struct as JSON ("" if none).
std::string ResponseJson(const google::longrunning::Operation& op);

}  // namespace longrun::testing

#endif  // LONGRUN_TESTS_SUPPORT_STACK_H_
