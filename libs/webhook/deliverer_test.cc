#include "libs/webhook/deliverer.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace longrun::webhook {
namespace {

using ::testing::HasSubstr;
using store::Delivery;
using store::DeliveryOutcome;
using store::DeliveryResult;

constexpr absl::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// The outbox without PostgreSQL: due rows, the outcomes recorded, the rows released.
class FakeCallbackStore final : public store::CallbackStore {
 public:
  void Add(Delivery d) {
    std::lock_guard<std::mutex> lock(mu_);
    due_.push_back(std::move(d));
  }
  absl::StatusOr<std::vector<Delivery>> DeliveryClaim(
      const store::DeliveryClaimParams& params) override {
    std::lock_guard<std::mutex> lock(mu_);
    claims_.push_back(params);
    if (!claim_error_.ok()) return claim_error_;
    std::vector<Delivery> out;
    for (auto it = due_.begin(); it != due_.end() && static_cast<int>(out.size()) < params.limit;) {
      const bool skip = honour_skip_hosts_ && std::find(params.skip_hosts.begin(),
                                                        params.skip_hosts.end(),
                                                        it->host) != params.skip_hosts.end();
      if (skip) {
        ++it;
        continue;
      }
      out.push_back(*it);
      claimed_[it->id] = *it;
      it = due_.erase(it);
    }
    return out;
  }
  absl::Status DeliveryRecord(const DeliveryOutcome& outcome) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!record_error_.ok()) return record_error_;
    records_.push_back(outcome);
    cv_.notify_all();
    return absl::OkStatus();
  }
  absl::Status DeliveryRelease(const std::string& id, int32_t attempt) override {
    std::lock_guard<std::mutex> lock(mu_);
    released_.push_back({id, attempt});
    due_.push_back(claimed_.at(id));  // due again, unattempted
    return absl::OkStatus();
  }
  absl::StatusOr<core::Operation> CallbackRedeliver(const store::OperationGetParams&) override {
    return absl::UnimplementedError("not in this fake");
  }

  // Waits (bounded) until `n` outcomes are recorded.
  bool WaitRecords(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return records_.size() >= n; });
  }
  std::vector<DeliveryOutcome> records() {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }
  std::vector<std::pair<std::string, int32_t>> released() {
    std::lock_guard<std::mutex> lock(mu_);
    return released_;
  }
  std::vector<store::DeliveryClaimParams> claims() {
    std::lock_guard<std::mutex> lock(mu_);
    return claims_;
  }
  void set_claim_error(absl::Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    claim_error_ = std::move(s);
  }
  void set_record_error(absl::Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    record_error_ = std::move(s);
  }
  void set_honour_skip_hosts(bool v) { honour_skip_hosts_ = v; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Delivery> due_;
  std::map<std::string, Delivery> claimed_;
  std::vector<DeliveryOutcome> records_;
  std::vector<std::pair<std::string, int32_t>> released_;
  std::vector<store::DeliveryClaimParams> claims_;
  absl::Status claim_error_;
  absl::Status record_error_;
  bool honour_skip_hosts_ = true;
};

// Answers every post with `status`; optionally holds posts until Release().
class FakePoster final : public Poster {
 public:
  PostResult Post(const PostRequest& request) override {
    std::unique_lock<std::mutex> lock(mu_);
    requests_.push_back(request);
    const int now = ++in_flight_[request.host];
    max_per_host_[request.host] = std::max(max_per_host_[request.host], now);
    max_total_ = std::max(max_total_, ++total_);
    cv_.notify_all();
    cv_.wait(lock, [this] { return !hold_; });
    --in_flight_[request.host];
    --total_;
    return result_;
  }
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  // Waits (bounded) until `n` posts are in progress at once.
  bool WaitInFlight(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return total_ >= n; });
  }
  void set_result(PostResult r) {
    std::lock_guard<std::mutex> lock(mu_);
    result_ = std::move(r);
  }
  std::vector<PostRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int max_per_host(const std::string& host) {
    std::lock_guard<std::mutex> lock(mu_);
    return max_per_host_[host];
  }
  int max_total() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_total_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  PostResult result_{.http_status = 200};
  std::vector<PostRequest> requests_;
  std::map<std::string, int> in_flight_, max_per_host_;
  int total_ = 0, max_total_ = 0;
};

core::Operation DoneOperation(const std::string& id) {
  core::Operation op;
  op.id = id;
  op.tenant = "t";
  op.kind = "demo.sleep";
  op.queue = "default";
  op.state = core::State::kSucceeded;
  op.create_time = absl::FromUnixSeconds(1'799'999'000);
  op.update_time = op.end_time.emplace(absl::FromUnixSeconds(1'799'999'900));
  op.version = 3;
  google::protobuf::Struct response;
  (*response.mutable_fields())["answer"].set_number_value(42);
  op.response = response;
  op.callback = core::CallbackStatus{.url = "https://hooks.example/x",
                                     .state = core::CallbackState::kPending,
                                     .attempts = 1};
  return op;
}

Delivery MakeDelivery(int n, const std::string& host = "hooks.example") {
  Delivery d;
  d.id = absl::StrCat("d", n);
  d.webhook_id = absl::StrCat("msg_", std::string(31, '0'), n % 10);
  d.operation_id = absl::StrCat("op", n);
  d.tenant = "t";
  d.url = absl::StrCat("https://", host, "/hook?n=", n);
  d.host = host;
  d.event_type = "operation.completed";
  d.version = 3;
  d.attempt = 1;
  d.created_time = absl::FromUnixSeconds(1'799'999'900);
  d.retry_from = d.created_time;
  return d;
}

class DelivererTest : public ::testing::Test {
 protected:
  DelivererTest() : secrets_(std::make_shared<WebhookSecrets>(*ParseSecretsFile(kSecret))) {}

  std::unique_ptr<Deliverer> Make(DelivererConfig config = {}) {
    config.deliverer_id = "test";
    return std::make_unique<Deliverer>(
        config, DelivererDeps{
                    .store = store_,
                    .load_operation = [this](const std::string& id)
                        -> absl::StatusOr<core::Operation> {
                      std::lock_guard<std::mutex> lock(mu_);
                      if (!load_error_.ok()) return load_error_;
                      if (deleted_) return absl::NotFoundError("no such operation");
                      return DoneOperation(id);
                    },
                    .secrets = [this] { return secrets_; },
                    .poster = poster_,
                    .resolver = [this](const std::string& host)
                        -> absl::StatusOr<std::vector<IpAddress>> {
                      ++resolved_;
                      if (host == "evil.example") return std::vector{*IpAddress::Parse("127.0.0.1")};
                      return std::vector{*IpAddress::Parse("93.184.216.34")};
                    },
                    .clock = clock_,
                    .random = [] { return 0.5; },
                });
  }

  FakeCallbackStore store_;
  FakePoster poster_;
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::shared_ptr<const WebhookSecrets> secrets_;
  std::mutex mu_;
  absl::Status load_error_;
  bool deleted_ = false;
  std::atomic<int> resolved_{0};
};

TEST_F(DelivererTest, PostsASignedBodyToTheVettedAddressAndRecordsDelivered) {
  auto deliverer = Make();
  store_.Add(MakeDelivery(1));
  DelivererRunResult r = deliverer->RunOnce();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.claimed, 1);
  deliverer->DrainForTest();
  r = deliverer->RunOnce();
  EXPECT_EQ(r.delivered, 1);
  EXPECT_EQ(r.claimed, 0);

  ASSERT_EQ(poster_.requests().size(), 1u);
  const PostRequest request = poster_.requests()[0];
  EXPECT_EQ(request.url, "https://hooks.example/hook?n=1");
  EXPECT_EQ(request.host, "hooks.example");
  EXPECT_EQ(request.port, 443);
  EXPECT_EQ(request.address.ToString(), "93.184.216.34");
  std::map<std::string, std::string> headers(request.headers.begin(), request.headers.end());
  EXPECT_EQ(headers["webhook-id"], MakeDelivery(1).webhook_id);
  EXPECT_EQ(headers["webhook-timestamp"], "1800000000");
  EXPECT_EQ(headers["webhook-signature"],
            Sign(*secrets_, headers["webhook-id"], 1'800'000'000, request.body));

  // The body: type, the change's time, and the operation in proto3 JSON without callback.
  google::protobuf::Struct body;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(request.body, &body).ok())
      << request.body;
  EXPECT_EQ(body.fields().at("type").string_value(), "operation.completed");
  EXPECT_EQ(body.fields().at("timestamp").string_value(), "2027-01-15T07:58:20Z");
  const google::protobuf::Struct& data = body.fields().at("data").struct_value();
  EXPECT_EQ(data.fields().at("name").string_value(), "operations/op1");
  EXPECT_TRUE(data.fields().at("done").bool_value());
  EXPECT_EQ(data.fields().at("response").struct_value().fields().at("value").struct_value()
                .fields().at("answer").number_value(),
            42);
  EXPECT_THAT(request.body, HasSubstr("\"@type\":\"type.googleapis.com/longrun.v1."
                                      "OperationMetadata\""));
  EXPECT_THAT(request.body, Not(HasSubstr("callback")));
  EXPECT_THAT(request.body, Not(HasSubstr("hooks.example")));

  ASSERT_EQ(store_.records().size(), 1u);
  const DeliveryOutcome outcome = store_.records()[0];
  EXPECT_EQ(outcome.id, "d1");
  EXPECT_EQ(outcome.attempt, 1);
  EXPECT_EQ(outcome.result, DeliveryResult::kDelivered);
  EXPECT_EQ(outcome.http_status, 200);
  EXPECT_EQ(outcome.error, "");
  EXPECT_EQ(deliverer->in_flight(), 0);
}

TEST_F(DelivererTest, RetriesSendTheSameBytesWithTheSameIdAndAFreshTimestamp) {
  auto deliverer = Make();
  poster_.set_result({.http_status = 500});
  Delivery d = MakeDelivery(1);
  store_.Add(d);
  deliverer->RunOnce();
  deliverer->DrainForTest();
  ASSERT_EQ(store_.records().size(), 1u);
  EXPECT_EQ(store_.records()[0].result, DeliveryResult::kRetry);
  EXPECT_EQ(store_.records()[0].http_status, 500);
  EXPECT_EQ(store_.records()[0].error, "HTTP 500");
  // Full jitter with the fake random 0.5 under a 5 s ceiling.
  EXPECT_EQ(store_.records()[0].next_attempt_time, clock_.Now() + absl::Milliseconds(2500));
  EXPECT_EQ(deliverer->RunOnce().retried, 1);

  clock_.Advance(absl::Seconds(3));
  poster_.set_result({.http_status = 200});
  d.attempt = 2;
  store_.Add(d);
  deliverer->RunOnce();
  deliverer->DrainForTest();
  ASSERT_EQ(poster_.requests().size(), 2u);
  const PostRequest first = poster_.requests()[0], second = poster_.requests()[1];
  EXPECT_EQ(first.body, second.body);
  EXPECT_EQ(first.headers[0], second.headers[0]);  // webhook-id
  EXPECT_EQ(second.headers[1].second, "1800000003");
  EXPECT_NE(first.headers[2], second.headers[2]);
  EXPECT_EQ(store_.records()[1].result, DeliveryResult::kDelivered);
  EXPECT_EQ(store_.records()[1].attempt, 2);
}

TEST_F(DelivererTest, ARefusedAddressIsRecordedAndRetriedWithoutAPost) {
  auto deliverer = Make();
  store_.Add(MakeDelivery(1, "evil.example"));
  store_.Add(MakeDelivery(2, "127.0.0.1"));
  deliverer->RunOnce();
  deliverer->DrainForTest();
  EXPECT_TRUE(poster_.requests().empty());
  ASSERT_EQ(store_.records().size(), 2u);
  for (const DeliveryOutcome& o : store_.records()) {
    EXPECT_EQ(o.result, DeliveryResult::kRetry);
    EXPECT_EQ(o.http_status, 0);
    EXPECT_THAT(o.error, HasSubstr("loopback"));
    EXPECT_THAT(o.error, HasSubstr("--webhook-allow-cidrs"));
  }
  EXPECT_THAT(store_.records()[0].error,
              HasSubstr("callback host \"evil.example\" resolves to 127.0.0.1 (loopback)"));
  EXPECT_EQ(deliverer->RunOnce().retried, 2);
}

TEST_F(DelivererTest, AllowedRangesAreDeliveredTo) {
  DelivererConfig config;
  config.policy.addresses = *ParseAddressPolicy("127.0.0.0/8");
  auto deliverer = Make(config);
  store_.Add(MakeDelivery(1, "evil.example"));
  deliverer->RunOnce();
  deliverer->DrainForTest();
  ASSERT_EQ(poster_.requests().size(), 1u);
  EXPECT_EQ(poster_.requests()[0].address.ToString(), "127.0.0.1");
}

TEST_F(DelivererTest, GoneDeadAndDeletedOperations) {
  auto deliverer = Make();
  int gone = 0, dead = 0;
  auto pass = [&] {
    DelivererRunResult r = deliverer->RunOnce();
    gone += r.gone;
    dead += r.dead;
  };
  poster_.set_result({.http_status = 410});
  store_.Add(MakeDelivery(1));
  pass();
  deliverer->DrainForTest();
  EXPECT_EQ(store_.records().back().result, DeliveryResult::kGone);
  EXPECT_EQ(store_.records().back().http_status, 410);

  poster_.set_result({.http_status = 503});
  Delivery old = MakeDelivery(2);
  old.retry_from = clock_.Now() - absl::Hours(24);
  old.attempt = 30;
  store_.Add(old);
  pass();
  deliverer->DrainForTest();
  EXPECT_EQ(store_.records().back().result, DeliveryResult::kDead);
  EXPECT_THAT(store_.records().back().error, HasSubstr("retries ran out"));

  {
    std::lock_guard<std::mutex> lock(mu_);
    deleted_ = true;
  }
  store_.Add(MakeDelivery(3));
  pass();
  deliverer->DrainForTest();
  EXPECT_EQ(store_.records().back().result, DeliveryResult::kDead);
  EXPECT_EQ(store_.records().back().error, "operation deleted");
  EXPECT_EQ(poster_.requests().size(), 2u);  // nothing posted for the deleted one
  pass();
  EXPECT_EQ(gone, 1);
  EXPECT_EQ(dead, 2);
}

TEST_F(DelivererTest, UnreadableOperationIsHandedBackUnattempted) {
  auto deliverer = Make();
  {
    std::lock_guard<std::mutex> lock(mu_);
    load_error_ = absl::UnavailableError("database down");
  }
  store_.Add(MakeDelivery(1));
  deliverer->RunOnce();
  deliverer->DrainForTest();
  EXPECT_TRUE(store_.records().empty());
  EXPECT_TRUE(poster_.requests().empty());
  ASSERT_EQ(store_.released().size(), 1u);
  EXPECT_EQ(store_.released()[0], std::make_pair(std::string("d1"), 1));
  EXPECT_EQ(deliverer->in_flight(), 0);
  EXPECT_EQ(deliverer->RunOnce().released, 1);
}

TEST_F(DelivererTest, InsecureUrlIsDeadOnceHttpIsNoLongerAllowed) {
  auto deliverer = Make();
  Delivery d = MakeDelivery(1);
  d.url = "http://hooks.example/hook";
  store_.Add(d);
  deliverer->RunOnce();
  deliverer->DrainForTest();
  ASSERT_EQ(store_.records().size(), 1u);
  EXPECT_EQ(store_.records()[0].result, DeliveryResult::kDead);
  EXPECT_THAT(store_.records()[0].error, HasSubstr("--webhook-allow-insecure"));
}

TEST_F(DelivererTest, StoreFailuresCountNothing) {
  auto deliverer = Make();
  store_.set_claim_error(absl::UnavailableError("down"));
  store_.Add(MakeDelivery(1));
  DelivererRunResult r = deliverer->RunOnce();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.claimed, 0);
  store_.set_claim_error(absl::OkStatus());
  store_.set_record_error(absl::UnavailableError("down"));
  EXPECT_EQ(deliverer->RunOnce().claimed, 1);
  deliverer->DrainForTest();
  r = deliverer->RunOnce();
  EXPECT_EQ(r.delivered, 0);
  EXPECT_EQ(r.record_failed, 1);
  EXPECT_EQ(deliverer->in_flight(), 0);  // the slot is free; the row returns by lease expiry
}

TEST_F(DelivererTest, ClaimsOnlyFreeSlotsAndSkipsFullHosts) {
  DelivererConfig config;
  config.concurrency = 3;
  config.concurrency_per_host = 2;
  auto deliverer = Make(config);
  for (int i = 1; i <= 4; ++i) store_.Add(MakeDelivery(i, "a.example"));
  EXPECT_EQ(deliverer->RunOnce().claimed, 3);
  // The store does not know the per-host bound: the third row of a.example goes back.
  EXPECT_EQ(store_.released().size(), 1u);
  EXPECT_EQ(deliverer->in_flight(), 2);
  EXPECT_EQ(store_.claims()[0].limit, 3);
  EXPECT_TRUE(store_.claims()[0].skip_hosts.empty());
  deliverer->RunOnce();
  EXPECT_EQ(store_.claims()[1].limit, 1);
  EXPECT_EQ(store_.claims()[1].skip_hosts, std::vector<std::string>{"a.example"});
  deliverer->DrainForTest();
  EXPECT_EQ(deliverer->in_flight(), 0);
}

TEST_F(DelivererTest, ThreadsBoundPostsPerHostAndInTotal) {
  DelivererConfig config;
  config.concurrency = 4;
  config.concurrency_per_host = 2;
  config.interval = absl::Milliseconds(20);
  auto deliverer = Make(config);
  for (int i = 1; i <= 6; ++i) store_.Add(MakeDelivery(i, "a.example"));
  for (int i = 7; i <= 9; ++i) store_.Add(MakeDelivery(i, "b.example"));
  poster_.Hold();
  deliverer->Start();
  ASSERT_TRUE(poster_.WaitInFlight(4));
  poster_.Release();
  EXPECT_TRUE(store_.WaitRecords(9));
  deliverer->Stop();
  EXPECT_EQ(store_.records().size(), 9u);
  EXPECT_LE(poster_.max_per_host("a.example"), 2);
  EXPECT_LE(poster_.max_per_host("b.example"), 2);
  EXPECT_LE(poster_.max_total(), 4);
  EXPECT_EQ(deliverer->in_flight(), 0);
}

TEST_F(DelivererTest, StopWaitsForPostsInFlight) {
  auto deliverer = Make();
  store_.Add(MakeDelivery(1));
  poster_.Hold();
  deliverer->Start();
  ASSERT_TRUE(poster_.WaitInFlight(1));
  std::thread stopper([&] { deliverer->Stop(); });
  poster_.Release();
  stopper.join();
  // Stop() returned only after the post in flight was recorded.
  ASSERT_EQ(store_.records().size(), 1u);
  EXPECT_EQ(store_.records()[0].result, DeliveryResult::kDelivered);
}

}  // namespace
}  // namespace longrun::webhook
