#include "tests/support/stack.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace longrun::testing {

namespace {
std::chrono::system_clock::time_point In(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoMicroseconds(d);
}
}  // namespace

Stack::Stack(const TestDatabase& db, std::string name)
    : db_(db), name_(std::move(name)), dir_(TestOutputDir(name_)) {}

Stack::~Stack() {
  for (auto& w : workers_) {
    w->Signal(SIGKILL);
    w->Wait(absl::Seconds(10));
  }
  for (auto& a : apis_) {
    a->Signal(SIGKILL);
    a->Wait(absl::Seconds(10));
  }
}

int Stack::StartApi(const std::vector<std::string>& extra_args) {
  const int i = static_cast<int>(apis_.size());
  // Port 0: the kernel picks a free port and the api writes it to the port file, so no
  // port is chosen here and none can be taken by someone else before the api binds it.
  const std::string port_file = absl::StrCat(dir_, "/api", i, ".port");
  std::vector<std::string> args = {"--listen=127.0.0.1:0", "--port-file=" + port_file,
                                   "--database-url=" + db_.url()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  apis_.push_back(std::make_unique<ChildProcess>(BinDir() + "/longrun-api", args,
                                                 absl::StrCat(dir_, "/api", i, ".log")));
  const std::optional<int> port = apis_.back()->AwaitPortFile(port_file, absl::Seconds(20));
  EXPECT_TRUE(port.has_value()) << "api did not start:\n" << apis_.back()->Log();
  const std::string address = absl::StrCat("127.0.0.1:", port.value_or(0));
  addresses_.push_back(address);
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  const bool connected = channel->WaitForConnected(In(absl::Seconds(20)));
  EXPECT_TRUE(connected) << "api did not start:\n" << apis_.back()->Log();
  v1_.push_back(longrun::v1::Operations::NewStub(channel));
  lro_.push_back(google::longrunning::Operations::NewStub(channel));
  return i;
}

int Stack::StartWorker(const std::vector<std::string>& extra_args) {
  const int i = static_cast<int>(workers_.size());
  std::vector<std::string> args = {"--database-url=" + db_.url(), "--poll-interval=200ms",
                                   "--retry-base=100ms", "--retry-cap=1s"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  workers_.push_back(std::make_unique<ChildProcess>(
      BinDir() + "/longrun-worker", args, absl::StrCat(dir_, "/worker", i, ".log")));
  return i;
}

grpc::Status Stack::Submit(const std::string& kind, const std::string& input_json,
                           google::longrunning::Operation* out, longrun::v1::SubmitRequest req) {
  req.set_kind(kind);
  if (!input_json.empty()) {
    auto s = google::protobuf::util::JsonStringToMessage(input_json, req.mutable_input());
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(In(absl::Seconds(10)));
  return v1().Submit(&ctx, req, out);
}

grpc::Status Stack::Get(const std::string& name, google::longrunning::Operation* out, int api) {
  longrun::v1::GetOperationRequest req;
  req.set_name(name);
  grpc::ClientContext ctx;
  ctx.set_deadline(In(absl::Seconds(10)));
  return v1(api).GetOperation(&ctx, req, out);
}

google::longrunning::Operation Stack::WaitDone(const std::string& name, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  google::longrunning::Operation op;
  while (absl::Now() < until) {
    if (Get(name, &op).ok() && op.done()) return op;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return op;
}

google::longrunning::Operation Stack::WaitRunning(const std::string& name) {
  const absl::Time until = absl::Now() + absl::Seconds(10);
  google::longrunning::Operation op;
  while (absl::Now() < until) {
    if (Get(name, &op).ok() && Metadata(op).state() == longrun::v1::OperationMetadata::RUNNING) {
      return op;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return op;
}

longrun::v1::OperationMetadata Metadata(const google::longrunning::Operation& op) {
  longrun::v1::OperationMetadata md;
  EXPECT_TRUE(op.metadata().UnpackTo(&md)) << op.DebugString();
  return md;
}

std::string ResponseJson(const google::longrunning::Operation& op) {
  if (!op.has_response()) return "";
  google::protobuf::Struct s;
  if (!op.response().UnpackTo(&s)) return "";
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(s, &json);
  return json;
}

}  // namespace longrun::testing
