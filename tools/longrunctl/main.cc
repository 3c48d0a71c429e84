// longrunctl: the terminal client.
//
//   longrunctl submit KIND [--input JSON] [--request-id ID] [--wait] [...]
//   longrunctl get NAME
#include <grpcpp/grpcpp.h>

#include <unistd.h>

#include <algorithm>
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
    "              [--watch]\n"
    "      With --watch, streams progress like `watch`.\n"
    "  get NAME    Print an operation (NAME is operations/{uuid}) as JSON.\n"
    "  wait NAME [--timeout=DURATION]\n"
    "      Block until the operation is done or the timeout passes (server-capped);\n"
    "      print its latest state.\n"
    "  watch NAME  Stream the operation until done. On a terminal: a live progress line\n"
    "      (state, percent, message, elapsed) and then the result; otherwise one JSON\n"
    "      operation per line.\n"
    "\n"
    "Exit status: 0 on success (for --wait/--watch/wait/watch: the operation is done and\n"
    "succeeded, or wait timed out), 1 if the operation failed or was cancelled, 2 for usage\n"
    "errors, 3 for RPC errors.";

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

std::string Bar(int percent) {
  constexpr int kWidth = 24;
  const int filled = std::clamp(percent, 0, 100) * kWidth / 100;
  return "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "]";
}

// Streams WatchOperation; see the usage text for the two output styles.
int Watch(longrun::v1::Operations::Stub& stub, const std::string& name) {
  const bool tty = isatty(STDOUT_FILENO) != 0;
  const absl::Time start = absl::Now();
  longrun::v1::WatchOperationRequest req;
  req.set_name(name);
  for (int reconnects = 0;; ++reconnects) {
    grpc::ClientContext ctx;
    auto reader = stub.WatchOperation(&ctx, req);
    google::longrunning::Operation op;
    bool done = false;
    while (reader->Read(&op)) {
      if (!tty) {
        Print(op);
      } else {
        longrun::v1::OperationMetadata md;
        op.metadata().UnpackTo(&md);
        const std::string state = longrun::v1::OperationMetadata::State_Name(md.state());
        std::cout << "\r\x1b[2K" << state << " " << Bar(md.progress_percent()) << " "
                  << md.progress_percent() << "% " << md.progress_message() << " ("
                  << absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(100)))
                  << ")" << std::flush;
      }
      done = op.done();
    }
    grpc::Status s = reader->Finish();
    if (done) {
      if (tty) {
        std::cout << "\n";
        Print(op);
      }
      return op.has_error() ? 1 : 0;
    }
    // The server asks clients to reconnect (shutdown, outage): do so a few times.
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE && reconnects < 10) {
      absl::SleepFor(absl::Seconds(1));
      continue;
    }
    if (tty) std::cout << "\n";
    return RpcError(s);
  }
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
  bool watch = false;
  longrun::FlagSet flags("longrunctl", kUsage);
  flags.String("server", &server, "longrun-api address", "LONGRUN_SERVER");
  flags.String("input", &input, "submit: job input as a JSON object");
  flags.String("request-id", &request_id, "submit: idempotency key");
  flags.String("queue", &queue, "submit: queue name");
  flags.Int("priority", &priority, "submit: higher runs first");
  flags.Int("max-attempts", &max_attempts, "submit: attempts before failing (0: server default)");
  flags.Duration("timeout", &timeout,
                 "submit: bound on each attempt (0: none); wait: how long to wait (0: server max)");
  flags.Bool("wait", &wait, "submit: wait until done, then print the final operation");
  flags.Bool("watch", &watch, "submit: stream progress until done");
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
    if (watch) return Watch(*stub, op.name());
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
  if (cmd == "watch") {
    if (args->size() != 2) return Usage("watch needs exactly one NAME");
    return Watch(*stub, (*args)[1]);
  }
  if (cmd == "wait") {
    if (args->size() != 2) return Usage("wait needs exactly one NAME");
    longrun::v1::WaitOperationRequest req;
    req.set_name((*args)[1]);
    if (timeout > absl::ZeroDuration()) longrun::rpc::ToProto(timeout, req.mutable_timeout());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
    google::longrunning::Operation op;
    grpc::Status s = stub->WaitOperation(&ctx, req, &op);
    if (!s.ok()) return RpcError(s);
    Print(op);
    return op.has_error() ? 1 : 0;
  }
  return Usage("unknown command \"" + cmd + "\"");
}
