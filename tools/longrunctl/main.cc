// longrunctl: the terminal client.
//
//   longrunctl submit KIND [--input JSON] [--request-id ID] [--wait] [...]
//   longrunctl get NAME
#include <grpcpp/grpcpp.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "absl/strings/str_split.h"
#include "libs/auth/api_keys.h"
#include "libs/common/flags.h"
#include "libs/common/process.h"
#include "libs/rpc/convert.h"
#include "libs/rpc/tls.h"
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
    "              [--watch] [--callback-url=URL [--callback-events=terminal|all]]\n"
    "      With --watch, streams progress like `watch`. With --callback-url, the server\n"
    "      posts the outcome (or, with all, every change) there, signed (docs/WEBHOOKS.md).\n"
    "  redeliver NAME\n"
    "      Send the operation's latest callback again (same webhook-id); prints it.\n"
    "  events [--filter=EXPR] [--since=CURSOR] [--snapshot] [--max-events=N]\n"
    "      Follow every change of every matching operation, one JSON OperationEvent per\n"
    "      line, until interrupted (or N events). --since resumes after an event's cursor;\n"
    "      --snapshot first prints every matching operation as it is now. Reconnects from\n"
    "      the last cursor when the server asks clients to.\n"
    "  get NAME    Print an operation (NAME is operations/{uuid}) as JSON.\n"
    "  wait NAME [--timeout=DURATION]\n"
    "      Block until the operation is done or the timeout passes (server-capped);\n"
    "      print its latest state.\n"
    "  list [--filter=EXPR] [--page-size=N] [--all]\n"
    "      List operations, newest first, one JSON operation per line (AIP-160 filter, see\n"
    "      docs/API.md). Without --all, prints one page and then the next page token on\n"
    "      stderr; --page-token continues from it.\n"
    "  cancel NAME Request cancellation; prints the operation afterwards.\n"
    "  delete NAME Delete a finished operation.\n"
    "  watch NAME  Stream the operation until done. On a terminal: a live progress line\n"
    "      (state, percent, message, elapsed) and then the result; otherwise one JSON\n"
    "      operation per line.\n"
    "  new-api-key TENANT SCOPE[,SCOPE...] [--api-keys-file=PATH]\n"
    "      Make an API key for longrun-api --auth=token (docs/SECURITY.md). Prints the key;\n"
    "      appends its line to --api-keys-file (or prints the line too, on stderr). Needs\n"
    "      no server.\n"
    "\n"
    "Credentials: --token (or LONGRUN_TOKEN) is sent as authorization: Bearer <token>;\n"
    "--tls-ca-file turns TLS on (with --tls-cert-file/--tls-key-file for mTLS).\n"
    "\n"
    "Exit status: 0 on success (for --wait/--watch/wait/watch: the operation is done and\n"
    "succeeded, or wait timed out), 1 if the operation failed or was cancelled, 2 for usage\n"
    "errors, 3 for RPC errors.";

int Usage(const std::string& msg) {
  std::cerr << "longrunctl: " << msg << "\nRun longrunctl --help for usage.\n";
  return 2;
}

// new-api-key TENANT SCOPES: a fresh key on stdout; its keys-file line appended to
// `keys_file` (or on stderr).
int NewApiKeyCommand(const std::vector<std::string>& args, const std::string& keys_file) {
  if (args.size() != 3) return Usage("new-api-key needs TENANT and SCOPE[,SCOPE...]");
  const longrun::auth::NewApiKeyResult made = longrun::auth::NewApiKey();
  absl::StatusOr<std::string> line = longrun::auth::ApiKeyLine(
      made.sha256_hex, args[1], absl::StrSplit(args[2], ',', absl::SkipEmpty()));
  if (!line.ok()) return Usage(std::string(line.status().message()));
  if (keys_file.empty()) {
    std::cerr << "line for --api-keys-file: " << *line << "\n";
  } else {
    // A file whose last line has no newline would otherwise get the new line glued to it.
    bool needs_newline = false;
    if (std::ifstream in(keys_file, std::ios::binary | std::ios::ate); in && in.tellg() > 0) {
      in.seekg(-1, std::ios::end);
      needs_newline = in.get() != '\n';
    }
    std::ofstream out(keys_file, std::ios::app);
    if (needs_newline) out << "\n";
    out << *line << "\n";
    if (!out.flush()) return Usage("cannot append to --api-keys-file " + keys_file);
  }
  std::cout << made.key << "\n";
  return 0;
}

int RpcError(const grpc::Status& s) {
  // gRPC and absl share the canonical codes and their names.
  std::cerr << "longrunctl: "
            << absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())) << ": "
            << s.error_message() << "\n";
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
  return absl::StrCat("[", std::string(filled, '#'), std::string(kWidth - filled, '.'), "]");
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

// Follows WatchOperations, resuming from the last cursor when the server ends the stream
// with UNAVAILABLE (shutdown, --max-watch-duration, an outage).
int Events(longrun::v1::Operations::Stub& stub, const std::string& filter, std::string cursor,
           bool snapshot, int64_t max_events) {
  int64_t seen = 0;
  for (int reconnects = 0;; ++reconnects) {
    longrun::v1::WatchOperationsRequest req;
    req.set_filter(filter);
    req.set_start_after(cursor);
    req.set_include_snapshot(snapshot && reconnects == 0);
    grpc::ClientContext ctx;
    auto reader = stub.WatchOperations(&ctx, req);
    longrun::v1::OperationEvent event;
    while (reader->Read(&event)) {
      std::string json;
      google::protobuf::util::JsonPrintOptions opts;
      (void)google::protobuf::util::MessageToJsonString(event, &json, opts);
      std::cout << json << std::endl;
      cursor = event.cursor();
      if (max_events > 0 && ++seen >= max_events) {
        ctx.TryCancel();
        reader->Finish();
        return 0;
      }
    }
    grpc::Status s = reader->Finish();
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      if (!cursor.empty()) std::cerr << "longrunctl: reconnecting after " << cursor << "\n";
      absl::SleepFor(absl::Seconds(std::min(reconnects + 1, 5)));
      continue;
    }
    return RpcError(s);
  }
}

}  // namespace

int main(int argc, char** argv) {
  longrun::ConfigureProcess();
  std::string server = "127.0.0.1:50051";
  std::string input = "{}";
  std::string request_id;
  std::string queue;
  int64_t priority = 0;
  int64_t max_attempts = 0;
  absl::Duration timeout = absl::ZeroDuration();
  bool wait = false;
  bool watch = false;
  std::string filter;
  std::string page_token;
  int64_t page_size = 0;
  bool all = false;
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
  flags.String("filter", &filter, "list: AIP-160 filter, e.g. 'state = FAILED AND labels.team = \"x\"'");
  flags.Int("page-size", &page_size, "list: operations per page (0: server default 50)");
  flags.String("page-token", &page_token, "list: continue from this token");
  flags.Bool("all", &all, "list: follow page tokens to the end");
  std::string callback_url;
  std::string callback_events = "terminal";
  std::string since;
  bool snapshot = false;
  int64_t max_events = 0;
  flags.String("callback-url", &callback_url, "submit: post the outcome to this URL");
  flags.String("callback-events", &callback_events,
               "submit: terminal (the outcome only) or all (every change)");
  flags.String("since", &since, "events: resume after this cursor");
  flags.Bool("snapshot", &snapshot, "events: print matching operations as they are first");
  flags.Int("max-events", &max_events, "events: stop after this many (0: never)");
  std::string api_keys_file;
  flags.String("api-keys-file", &api_keys_file, "new-api-key: append the key's line here");
  longrun::rpc::ClientConfig client;
  longrun::rpc::AddClientFlags(flags, &client);
  auto args = flags.Parse(argc, argv);
  if (!args.ok()) return Usage(std::string(args.status().message()));
  if (flags.help_requested()) return 0;
  if (args->empty()) return Usage("missing command");

  if ((*args)[0] == "new-api-key") return NewApiKeyCommand(*args, api_keys_file);
  auto made = longrun::rpc::MakeChannel(server, client);
  if (!made.ok()) return Usage(std::string(made.status().message()));
  std::shared_ptr<grpc::Channel> channel = *std::move(made);
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
    if (!callback_url.empty()) {
      req.mutable_callback()->set_url(callback_url);
      if (callback_events == "all") {
        req.mutable_callback()->set_events(longrun::v1::Callback::ALL_CHANGES);
      } else if (callback_events == "terminal") {
        req.mutable_callback()->set_events(longrun::v1::Callback::TERMINAL);
      } else {
        return Usage("--callback-events must be terminal or all, got \"" + callback_events + "\"");
      }
    }
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
  if (cmd == "list") {
    if (args->size() != 1) return Usage("list takes no arguments");
    longrun::v1::ListOperationsRequest req;
    req.set_filter(filter);
    req.set_page_size(static_cast<int32_t>(page_size));
    req.set_page_token(page_token);
    for (;;) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      longrun::v1::ListOperationsResponse resp;
      grpc::Status s = stub->ListOperations(&ctx, req, &resp);
      if (!s.ok()) return RpcError(s);
      for (const auto& op : resp.operations()) Print(op);
      if (resp.next_page_token().empty()) return 0;
      if (!all) {
        std::cerr << "next page: --page-token=" << resp.next_page_token() << "\n";
        return 0;
      }
      req.set_page_token(resp.next_page_token());
    }
  }
  if (cmd == "cancel") {
    if (args->size() != 2) return Usage("cancel needs exactly one NAME");
    longrun::v1::CancelOperationRequest req;
    req.set_name((*args)[1]);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    google::longrunning::Operation op;
    grpc::Status s = stub->CancelOperation(&ctx, req, &op);
    if (!s.ok()) return RpcError(s);
    Print(op);
    return 0;
  }
  if (cmd == "delete") {
    if (args->size() != 2) return Usage("delete needs exactly one NAME");
    longrun::v1::DeleteOperationRequest req;
    req.set_name((*args)[1]);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    google::protobuf::Empty empty;
    grpc::Status s = stub->DeleteOperation(&ctx, req, &empty);
    if (!s.ok()) return RpcError(s);
    return 0;
  }
  if (cmd == "redeliver") {
    if (args->size() != 2) return Usage("redeliver needs exactly one NAME");
    longrun::v1::RedeliverCallbackRequest req;
    req.set_name((*args)[1]);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    google::longrunning::Operation op;
    grpc::Status s = stub->RedeliverCallback(&ctx, req, &op);
    if (!s.ok()) return RpcError(s);
    Print(op);
    return 0;
  }
  if (cmd == "events") {
    if (args->size() != 1) return Usage("events takes no arguments");
    return Events(*stub, filter, since, snapshot, max_events);
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
