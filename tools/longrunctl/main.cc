// longrunctl: the terminal client.
//
//   longrunctl submit KIND [--input JSON] [--request-id ID] [--wait] [...]
//   longrunctl get NAME
#include <grpcpp/grpcpp.h>

#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "libs/common/flags.h"
#include "libs/rpc/convert.h"
#include "longrun/v1/operations.grpc.pb.h"

namespace {

constexpr char kUsage[] =
    "Usage: longrunctl [--server=HOST:PORT] COMMAND ...\n"
    "\n"
    "Commands:\n"
    "  submit KIND [--input=JSON] [--request-id=ID] [--queue=Q] [--priority=N]\n"
    "              [--max-attempts=N] [--timeout=DURATION] [--wait]\n"
    "      Submit work; prints the operation as JSON. With --wait, polls as the server\n"
    "      suggests and prints the finished operation.\n"
    "  get NAME    Print an operation (NAME is operations/{uuid}) as JSON.\n"
    "\n"
    "Exit status: 0 on success (for --wait: the operation succeeded), 1 if the operation\n"
    "failed or was cancelled, 2 for usage errors, 3 for RPC errors.";

int Usage(const std::string& msg) {
  std::cerr << "longrunctl: " << msg << "\nRun longrunctl --help for usage.\n";
  return 2;
}

int RpcError(const grpc::Status& s) {
  std::cerr << "longrunctl: " << s.error_code() << " " << s.error_message() << "\n";
  return 3;
}

void Print(const google::longrunning::Operation& op) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = false;
  (void)google::protobuf::util::MessageToJsonString(op, &json, opts);
  std::cout << json << std::endl;
}

absl::Duration RetryAfter(const google::longrunning::Operation& op) {
  longrun::v1::OperationMetadata md;
  if (op.metadata().UnpackTo(&md) && md.has_retry_after()) {
    auto d = longrun::rpc::FromProtoDuration(md.retry_after(), "retry_after");
    if (d.ok() && *d > absl::ZeroDuration()) return std::min(*d, absl::Seconds(5));
  }
  return absl::Seconds(1);
}

// Polls until done, sleeping as the server suggests (capped at 5s so short jobs finish fast).
int WaitAndPrint(longrun::v1::Operations::Stub& stub, google::longrunning::Operation op) {
  while (!op.done()) {
    absl::SleepFor(RetryAfter(op));
    longrun::v1::GetOperationRequest req;
    req.set_name(op.name());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    google::longrunning::Operation next;
    grpc::Status s = stub.GetOperation(&ctx, req, &next);
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) continue;
    if (!s.ok()) return RpcError(s);
    op = std::move(next);
  }
  Print(op);
  return op.has_error() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string server = "127.0.0.1:50051";
  std::string input = "{}";
  std::string request_id;
  std::string queue;
  int64_t priority = 0;
  int64_t max_attempts = 0;
  absl::Duration timeout = absl::ZeroDuration();
  bool wait = false;
  longrun::FlagSet flags("longrunctl", kUsage);
  flags.String("server", &server, "longrun-api address", "LONGRUN_SERVER");
  flags.String("input", &input, "submit: job input as a JSON object");
  flags.String("request-id", &request_id, "submit: idempotency key");
  flags.String("queue", &queue, "submit: queue name");
  flags.Int("priority", &priority, "submit: higher runs first");
  flags.Int("max-attempts", &max_attempts, "submit: attempts before failing (0: server default)");
  flags.Duration("timeout", &timeout, "submit: bound on each attempt (0: none)");
  flags.Bool("wait", &wait, "submit: wait until done, then print the final operation");
  auto args = flags.Parse(argc, argv);
  if (!args.ok()) return Usage(std::string(args.status().message()));
  if (flags.help_requested()) return 0;
  if (args->empty()) return Usage("missing command");

  auto channel = grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  auto stub = longrun::v1::Operations::NewStub(channel);
  const std::string& cmd = (*args)[0];

  if (cmd == "submit") {
    if (args->size() != 2) return Usage("submit needs exactly one KIND");
    longrun::v1::SubmitRequest req;
    req.set_kind((*args)[1]);
    if (auto s = google::protobuf::util::JsonStringToMessage(input, req.mutable_input()); !s.ok()) {
      return Usage("--input is not a JSON object: " + s.ToString());
    }
    req.set_request_id(request_id);
    req.set_queue(queue);
    req.set_priority(static_cast<int32_t>(priority));
    req.set_max_attempts(static_cast<int32_t>(max_attempts));
    if (timeout > absl::ZeroDuration()) longrun::rpc::ToProto(timeout, req.mutable_timeout());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    google::longrunning::Operation op;
    grpc::Status s = stub->Submit(&ctx, req, &op);
    if (!s.ok()) return RpcError(s);
    if (!wait) {
      Print(op);
      return 0;
    }
    return WaitAndPrint(*stub, std::move(op));
  }
  if (cmd == "get") {
    if (args->size() != 2) return Usage("get needs exactly one NAME");
    longrun::v1::GetOperationRequest req;
    req.set_name((*args)[1]);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    google::longrunning::Operation op;
    grpc::Status s = stub->GetOperation(&ctx, req, &op);
    if (!s.ok()) return RpcError(s);
    Print(op);
    return 0;
  }
  return Usage("unknown command \"" + cmd + "\"");
}
