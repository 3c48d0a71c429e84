// WatchReactor and WaitReactor without PostgreSQL: OperationsService on an in-process gRPC
// server over the in-memory store and a FakeClock. The hub is not started: the test moves
// changes to the reactors with hub_.RunOnce(), so every step happens in a known order.
#include "services/api/watch_reactor.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "libs/store/memory/memory_operation_store.h"
#include "services/api/memory_jobs_for_test.h"
#include "longrun/v1/operations.grpc.pb.h"
#include "services/api/operations_service.h"

namespace longrun::api {
namespace {

using google::longrunning::Operation;

core::Operation StateAt(int64_t version, core::State state = core::State::kRunning) {
  core::Operation op;
  op.id = "x";
  op.version = version;
  op.state = state;
  return op;
}

TEST(LatestStateQueueTest, OneWriteInFlightAndTheNewestParkedStateWins) {
  LatestStateQueue q;
  auto first = q.Offer(StateAt(1));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->version, 1);
  // While version 1 is being written, 2, 3 and 4 arrive: only the newest is kept.
  EXPECT_FALSE(q.Offer(StateAt(2)).has_value());
  EXPECT_FALSE(q.Offer(StateAt(3)).has_value());
  EXPECT_FALSE(q.Offer(StateAt(4, core::State::kSucceeded)).has_value());
  auto next = q.WriteDone();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->version, 4);
  EXPECT_EQ(next->state, core::State::kSucceeded);
  EXPECT_FALSE(q.WriteDone().has_value());  // nothing parked
}

TEST(LatestStateQueueTest, VersionsOnlyMoveForward) {
  LatestStateQueue q;
  ASSERT_TRUE(q.Offer(StateAt(5)).has_value());
  EXPECT_FALSE(q.Offer(StateAt(5)).has_value());  // a re-read of the same row
  EXPECT_FALSE(q.Offer(StateAt(3)).has_value());  // an older read arriving late
  EXPECT_FALSE(q.WriteDone().has_value());
  EXPECT_FALSE(q.Offer(StateAt(4)).has_value());  // still older than what was written
  auto next = q.Offer(StateAt(6));                // nothing in flight: written at once
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->version, 6);
}

class ReactorTest : public ::testing::Test {
 protected:
  ReactorTest() {
    store_.SetChangeObserver([this](const std::string& payload) { hub_.OnNotify(payload); });
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = longrun::v1::Operations::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~ReactorTest() override {
    store_.SetChangeObserver(nullptr);
    hub_.Shutdown();  // as longrun-api does: finish every watch, then stop the server
    server_->Shutdown();
    executor_.Shutdown();
    batcher_.Shutdown();
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }
  std::unique_ptr<grpc::ClientReader<Operation>> Watch(grpc::ClientContext& ctx,
                                                       const std::string& id) {
    longrun::v1::WatchOperationRequest req;
    req.set_name(core::OperationName(id));
    return stub_->WatchOperation(&ctx, req);
  }
  // Waits until `n` calls are subscribed and their snapshot reads are over. The snapshot is
  // read right after the subscription, in the same task on the (single) executor thread, so
  // a task posted once the subscription shows runs after it.
  void AwaitSubscribed(int n) {
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (hub_.Subscribers() < n && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_EQ(hub_.Subscribers(), n);
    absl::Notification drained;
    ASSERT_TRUE(executor_.Post([&] { drained.Notify(); }));
    drained.WaitForNotification();
  }

  // Waits until the hub holds no subscription: OnDone, which unsubscribes, may run after the
  // client saw the call end.
  void AwaitUnsubscribed() {
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (hub_.Subscribers() > 0 && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    EXPECT_EQ(hub_.Subscribers(), 0);
  }

  static longrun::v1::OperationMetadata Metadata(const Operation& op) {
    longrun::v1::OperationMetadata md;
    EXPECT_TRUE(op.metadata().UnpackTo(&md));
    return md;
  }

  FakeClock clock_;
  store::memory::MemoryOperationStore store_{clock_};
  MemoryJobs jobs_{clock_, store_};
  OperationsLogic logic_{store_, core::SubmitLimits{}, [this] { return clock_.Now(); }};
  concurrency::Executor executor_{"test", 1, 1000};
  WatchHub hub_{store_, {}, clock_};
  SubmitBatcher batcher_{store_, {}};
  // Room for the shutdown test's ten streams and its late one: a stream's count is released
  // in OnDone, which may run after its client saw the end.
  WatchLimits watch_limits_{11};
  OperationsService service_{{logic_, executor_, hub_, batcher_, absl::Seconds(60), nullptr,
                              &watch_limits_, absl::Minutes(10)}};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<longrun::v1::Operations::Stub> stub_;
};

TEST_F(ReactorTest, WatchesPerTenantAreCappedAndEachEndsAfterTheLongestLifetime) {
  const std::string id = jobs_.Insert();
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<Operation>>> readers;
  Operation op;
  for (int i = 0; i < 11; ++i) {  // the fixture's cap
    contexts.push_back(Context());
    readers.push_back(Watch(*contexts.back(), id));
    ASSERT_TRUE(readers.back()->Read(&op));
  }
  // One more stream of the same tenant is refused before anything is sent.
  auto ctx = Context();
  auto refused_reader = Watch(*ctx, id);
  EXPECT_FALSE(refused_reader->Read(&op));
  grpc::Status refused = refused_reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("--max-watches-per-tenant"), std::string::npos);

  // Ten minutes on, every stream ends with UNAVAILABLE (watch again), and a new one may open.
  clock_.Advance(absl::Minutes(10) + absl::Seconds(1));
  hub_.RunOnce();
  for (auto& reader : readers) {
    EXPECT_FALSE(reader->Read(&op));
    grpc::Status ended = reader->Finish();
    EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_NE(ended.error_message().find("--max-watch-duration"), std::string::npos);
  }
  AwaitUnsubscribed();
  auto again_ctx = Context();
  auto again = Watch(*again_ctx, id);
  ASSERT_TRUE(again->Read(&op));
  again_ctx->TryCancel();
}

TEST_F(ReactorTest, WatchStreamsTheSnapshotEachNewStateAndEndsWithTheTerminalOne) {
  const std::string id = jobs_.Insert();
  auto ctx = Context();
  auto reader = Watch(*ctx, id);
  Operation op;
  ASSERT_TRUE(reader->Read(&op));
  EXPECT_EQ(Metadata(op).state(), longrun::v1::OperationMetadata::QUEUED);
  EXPECT_EQ(Metadata(op).version(), 1);

  // A re-read of an unchanged row (a refresh) sends nothing: the next message is the claim.
  hub_.OnListenerConnected();
  hub_.RunOnce();
  jobs_.Claim();
  hub_.RunOnce();
  ASSERT_TRUE(reader->Read(&op));
  EXPECT_EQ(Metadata(op).state(), longrun::v1::OperationMetadata::RUNNING);
  EXPECT_EQ(Metadata(op).version(), 2);

  jobs_.Progress(id, 50);
  hub_.RunOnce();
  ASSERT_TRUE(reader->Read(&op));
  EXPECT_EQ(Metadata(op).progress_percent(), 50);
  EXPECT_FALSE(op.done());

  jobs_.Complete(id);
  hub_.RunOnce();
  ASSERT_TRUE(reader->Read(&op));
  EXPECT_TRUE(op.done());
  EXPECT_EQ(Metadata(op).state(), longrun::v1::OperationMetadata::SUCCEEDED);
  EXPECT_FALSE(reader->Read(&op));
  EXPECT_TRUE(reader->Finish().ok());
}

// Many states reach the reactor while the client reads nothing: whatever was skipped, the
// stream's versions increase and it ends with the terminal state.
TEST_F(ReactorTest, AReaderThatFallsBehindStillEndsWithTheTerminalState) {
  const std::string id = jobs_.Insert();
  auto ctx = Context();
  auto reader = Watch(*ctx, id);
  Operation op;
  ASSERT_TRUE(reader->Read(&op));
  jobs_.Claim();
  hub_.RunOnce();
  for (int percent = 1; percent <= 50; ++percent) {
    jobs_.Progress(id, percent);
    hub_.RunOnce();
  }
  jobs_.Complete(id);
  hub_.RunOnce();
  std::vector<Operation> msgs;
  while (reader->Read(&op)) msgs.push_back(op);
  EXPECT_TRUE(reader->Finish().ok());
  ASSERT_FALSE(msgs.empty());
  ASSERT_LE(msgs.size(), 52u);
  int64_t last = 1;
  for (size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_GT(Metadata(msgs[i]).version(), last) << "message " << i;
    last = Metadata(msgs[i]).version();
    EXPECT_EQ(msgs[i].done(), i + 1 == msgs.size()) << "message " << i;
  }
  EXPECT_EQ(Metadata(msgs.back()).state(), longrun::v1::OperationMetadata::SUCCEEDED);
}

TEST_F(ReactorTest, ADeletedOperationEndsTheWatchWithNotFound) {
  const std::string id = jobs_.Insert();
  jobs_.Claim();
  jobs_.Complete(id);
  ASSERT_TRUE(store_.OperationDelete({.id = id}).ok());
  auto ctx = Context();
  auto reader = Watch(*ctx, id);
  Operation op;
  EXPECT_FALSE(reader->Read(&op));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);

  auto bad_ctx = Context();
  longrun::v1::WatchOperationRequest req;
  req.set_name("operations/xyz");
  auto bad = stub_->WatchOperation(bad_ctx.get(), req);
  EXPECT_FALSE(bad->Read(&op));
  EXPECT_EQ(bad->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  AwaitUnsubscribed();
}

TEST_F(ReactorTest, AWatchOpenThroughAStoreOutageGetsTheStateOnceTheStoreIsBack) {
  const std::string id = jobs_.Insert();
  auto ctx = Context();
  auto reader = Watch(*ctx, id);
  Operation op;
  ASSERT_TRUE(reader->Read(&op));
  store_.SetUnavailableForTest(true);
  hub_.OnListenerConnected();
  EXPECT_EQ(hub_.RunOnce().failed_reads, 1);
  EXPECT_EQ(hub_.RunOnce().reads, 0);  // backing off
  store_.SetUnavailableForTest(false);
  jobs_.Claim();
  jobs_.Complete(id);
  clock_.Advance(absl::Seconds(5));  // the longest back-off
  EXPECT_EQ(hub_.RunOnce().reads, 1);
  ASSERT_TRUE(reader->Read(&op));
  EXPECT_TRUE(op.done());
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(ReactorTest, ACancelledWatchLetsGoOfItsSubscription) {
  const std::string id = jobs_.Insert();
  auto ctx = Context();
  auto reader = Watch(*ctx, id);
  Operation op;
  ASSERT_TRUE(reader->Read(&op));
  EXPECT_EQ(hub_.Subscribers(), 1);
  ctx->TryCancel();
  while (reader->Read(&op)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  AwaitUnsubscribed();
}

// An asynchronous WaitOperation call.
struct WaitCall {
  grpc::ClientContext ctx;
  longrun::v1::WaitOperationRequest req;
  Operation response;
  grpc::Status status;
  absl::Notification done;

  WaitCall(longrun::v1::Operations::Stub& stub, const std::string& id,
           std::optional<absl::Duration> timeout = std::nullopt) {
    req.set_name(core::OperationName(id));
    if (timeout.has_value()) {
      req.mutable_timeout()->set_seconds(absl::ToInt64Seconds(*timeout));
    }
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    stub.async()->WaitOperation(&ctx, &req, &response, [this](grpc::Status s) {
      status = std::move(s);
      done.Notify();
    });
  }
  bool Await() { return done.WaitForNotificationWithTimeout(absl::Seconds(30)); }
};

TEST_F(ReactorTest, WaitAnswersAsSoonAsTheOperationIsDone) {
  const std::string id = jobs_.Insert();
  WaitCall wait(*stub_, id);
  AwaitSubscribed(1);
  jobs_.Claim();
  hub_.RunOnce();
  EXPECT_FALSE(wait.done.HasBeenNotified());  // RUNNING is not an answer
  jobs_.Complete(id);
  hub_.RunOnce();
  ASSERT_TRUE(wait.Await());
  ASSERT_TRUE(wait.status.ok()) << wait.status.error_message();
  EXPECT_TRUE(wait.response.done());
}

TEST_F(ReactorTest, WaitAnswersTheLatestStateWhenItsTimeoutPasses) {
  const std::string id = jobs_.Insert();
  WaitCall wait(*stub_, id, absl::Seconds(10));
  AwaitSubscribed(1);
  jobs_.Claim();
  hub_.RunOnce();
  clock_.Advance(absl::Seconds(9));
  hub_.RunOnce();
  EXPECT_FALSE(wait.done.HasBeenNotified());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(hub_.RunOnce().deadlines, 1);
  ASSERT_TRUE(wait.Await());
  ASSERT_TRUE(wait.status.ok()) << wait.status.error_message();
  EXPECT_FALSE(wait.response.done());
  EXPECT_EQ(Metadata(wait.response).state(), longrun::v1::OperationMetadata::RUNNING);
  AwaitUnsubscribed();
}

TEST_F(ReactorTest, ShutdownFinishesEveryWatchAndWaitWithUnavailable) {
  const std::string id = jobs_.Insert();
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<Operation>>> readers;
  Operation op;
  for (int i = 0; i < 10; ++i) {
    contexts.push_back(Context());
    readers.push_back(Watch(*contexts.back(), id));
    ASSERT_TRUE(readers.back()->Read(&op));
  }
  WaitCall wait(*stub_, id);
  AwaitSubscribed(11);
  hub_.Shutdown();
  for (auto& reader : readers) {
    EXPECT_FALSE(reader->Read(&op));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  ASSERT_TRUE(wait.Await());
  EXPECT_EQ(wait.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // A watch started after shutdown is refused the same way.
  auto late_ctx = Context();
  auto late = Watch(*late_ctx, id);
  EXPECT_FALSE(late->Read(&op));
  EXPECT_EQ(late->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace longrun::api
