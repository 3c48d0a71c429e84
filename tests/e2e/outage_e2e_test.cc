// PostgreSQL down: the api answers UNAVAILABLE, and recovers without a restart when the
// database returns. Uses its own cluster so stopping it cannot disturb other tests.
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/store/pg/migrator.h"
#include "tests/support/stack.h"
#include "tests/support/watcher.h"

namespace longrun::testing {
namespace {

int PgCtl(const std::string& args) {
  return std::system(absl::StrCat(LONGRUN_SOURCE_DIR, "/tools/dev/pg.sh ", args, " >/dev/null").c_str());
}

TEST(OutageE2E, DatabaseDownIsUnavailableThenRecoversWithoutRestart) {
  const std::string dir = TestOutputDir("outage_pg");
  ASSERT_EQ(PgCtl(absl::StrCat("start ", dir)), 0);
  setenv("LONGRUN_TEST_DATABASE_URL", ClusterUrlFromDir(dir).c_str(), 1);
  {
    TestDatabase db;
    Stack stack(db, "outage");
    stack.StartApi();
    stack.StartWorker();
    google::longrunning::Operation op;
    ASSERT_TRUE(stack.Submit("demo.echo", "{}", &op).ok());

    ASSERT_EQ(PgCtl(absl::StrCat("stop ", dir, " fast")), 0);
    grpc::Status s = stack.Submit("demo.echo", "{}", &op);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    s = stack.Get(op.name(), &op);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();

    const absl::Time restart = absl::Now();
    ASSERT_EQ(PgCtl(absl::StrCat("start ", dir)), 0);
    // Recovery: a Submit succeeds again within seconds, and the worker finishes it.
    absl::Time until = absl::Now() + absl::Seconds(20);
    grpc::Status last;
    while (absl::Now() < until) {
      last = stack.Submit("demo.echo", R"({"after": "outage"})", &op);
      if (last.ok()) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ASSERT_TRUE(last.ok()) << last.error_message();
    std::cout << "api recovered " << absl::Now() - restart << " after the database restarted\n";
    const auto done = stack.WaitDone(op.name(), absl::Seconds(30));
    EXPECT_TRUE(done.done()) << "worker did not recover:\n" << stack.worker(0).Log();
    EXPECT_TRUE(stack.api().Running());
    EXPECT_TRUE(stack.worker(0).Running());

    // A watch open across a database restart still ends with the terminal message.
    ASSERT_TRUE(stack.Submit("demo.sleep", R"({"seconds": 3, "steps": 3})", &op).ok());
    Watcher watcher(stack.v1(), op.name());
    absl::SleepFor(absl::Milliseconds(500));
    ASSERT_EQ(PgCtl(absl::StrCat("stop ", dir, " fast")), 0);
    absl::SleepFor(absl::Seconds(1));
    ASSERT_EQ(PgCtl(absl::StrCat("start ", dir)), 0);
    ASSERT_TRUE(watcher.Await(absl::Seconds(40)));
    EXPECT_TRUE(watcher.status().ok()) << watcher.status().error_message();
    ASSERT_FALSE(watcher.messages().empty());
    EXPECT_TRUE(watcher.messages().back().done());
    EXPECT_EQ(Metadata(watcher.messages().back()).state(), longrun::v1::OperationMetadata::SUCCEEDED);
  }
  PgCtl(absl::StrCat("destroy ", dir));
}

// 100 open watches while PostgreSQL is down for 10 s: the api waits between failed re-reads
// (back-off) instead of spinning, so it stays under 5 % of one core (it burned most of a
// core before); once the database is back every watcher gets the terminal message. The CPU
// figure is a resource bound the issue asks for, not a timing: a busy loop fails it by an
// order of magnitude whatever the machine's speed.
TEST(OutageE2E, OpenWatchesCostAlmostNoCpuWhileTheDatabaseIsDown) {
  constexpr int kWatches = 100;
  constexpr absl::Duration kOutage = absl::Seconds(10);
  const std::string dir = TestOutputDir("outage_watch_pg");
  ASSERT_EQ(PgCtl(absl::StrCat("start ", dir)), 0);
  setenv("LONGRUN_TEST_DATABASE_URL", ClusterUrlFromDir(dir).c_str(), 1);
  {
    TestDatabase db;
    Stack stack(db, "outage_watch");
    stack.StartApi();
    // No worker yet: the operations stay QUEUED through the outage.
    std::vector<std::string> names;
    for (int i = 0; i < kWatches; ++i) {
      google::longrunning::Operation op;
      ASSERT_TRUE(stack.Submit("demo.echo", absl::StrCat(R"({"i": )", i, "}"), &op).ok());
      names.push_back(op.name());
    }
    absl::Mutex mu;
    int snapshots = 0;
    std::vector<std::unique_ptr<Watcher>> watchers;
    for (const std::string& name : names) {
      watchers.push_back(std::make_unique<Watcher>(
          stack.v1(), name, [&, first = std::make_shared<std::once_flag>()](const auto&) {
            std::call_once(*first, [&] {
              absl::MutexLock lock(&mu);
              ++snapshots;
            });
          }));
    }
    {
      absl::MutexLock lock(&mu);
      ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                          +[](int* n) { return *n == kWatches; }, &snapshots),
                                      absl::Seconds(30)))
          << snapshots << " of " << kWatches << " watchers got their snapshot";
    }

    ASSERT_EQ(PgCtl(absl::StrCat("stop ", dir, " fast")), 0);
    const absl::Duration cpu_before = stack.api().CpuTime();
    const absl::Time start = absl::Now();
    absl::SleepFor(kOutage);  // the window measured, not a wait for a condition
    const absl::Duration cpu = stack.api().CpuTime() - cpu_before;
    const absl::Duration wall = absl::Now() - start;
    const double share = absl::FDivDuration(cpu, wall);
    std::cout << "api CPU with " << kWatches << " open watches and PostgreSQL down: " << cpu
              << " over " << wall << " (" << 100 * share << " % of one core)\n";
    EXPECT_LT(share, 0.05);

    ASSERT_EQ(PgCtl(absl::StrCat("start ", dir)), 0);
    stack.StartWorker();
    int terminal = 0;
    for (auto& w : watchers) {
      ASSERT_TRUE(w->Await(absl::Seconds(60))) << "a watcher got no terminal message:\n"
                                               << stack.api().Log();
      EXPECT_TRUE(w->status().ok()) << w->status().error_message();
      const auto msgs = w->messages();
      if (!msgs.empty() && msgs.back().done() &&
          Metadata(msgs.back()).state() == longrun::v1::OperationMetadata::SUCCEEDED) {
        ++terminal;
      }
    }
    EXPECT_EQ(terminal, kWatches);
    EXPECT_TRUE(stack.api().Running());
  }
  PgCtl(absl::StrCat("destroy ", dir));
}

// Restarts PostgreSQL (fast, then immediate) while clients keep submitting: every Submit the
// api acknowledged is in the database and finishes; the api answers UNAVAILABLE meanwhile.
TEST(OutageE2E, RestartsMidRunLoseNoAcknowledgedSubmit) {
  const std::string dir = TestOutputDir("outage_restart_pg");
  ASSERT_EQ(PgCtl(absl::StrCat("start ", dir)), 0);
  setenv("LONGRUN_TEST_DATABASE_URL", ClusterUrlFromDir(dir).c_str(), 1);
  {
    TestDatabase db;
    Stack stack(db, "outage_restart");
    stack.StartApi();
    stack.StartWorker({"--concurrency=8", "--lease-duration=3s", "--rescue-interval=500ms"});
    std::mutex mu;
    std::vector<std::string> acknowledged;
    std::atomic<int> unavailable{0}, other_errors{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c) {
      clients.emplace_back([&] {
        while (!stop) {
          google::longrunning::Operation op;
          grpc::Status s = stack.Submit("demo.echo", R"({"n": 1})", &op);
          if (s.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            acknowledged.push_back(op.name());
          } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
            ++unavailable;
            absl::SleepFor(absl::Milliseconds(20));
          } else {
            ++other_errors;
          }
        }
      });
    }
    for (const char* mode : {"fast", "immediate"}) {
      absl::SleepFor(absl::Seconds(1));
      ASSERT_EQ(PgCtl(absl::StrCat("stop ", dir, " ", mode)), 0);
      absl::SleepFor(absl::Milliseconds(500));
      ASSERT_EQ(PgCtl(absl::StrCat("start ", dir)), 0);
    }
    absl::SleepFor(absl::Seconds(1));
    stop = true;
    for (auto& t : clients) t.join();
    std::cout << "acknowledged=" << acknowledged.size() << " unavailable=" << unavailable
              << " other_errors=" << other_errors << "\n";
    EXPECT_GT(unavailable.load(), 0);
    EXPECT_EQ(other_errors.load(), 0);
    const absl::Time until = absl::Now() + absl::Seconds(60);
    while (absl::Now() < until &&
           db.QueryValue("SELECT count(*) FROM operations WHERE state <> 'SUCCEEDED'") != "0") {
      absl::SleepFor(absl::Milliseconds(200));
    }
    for (const std::string& name : acknowledged) {
      google::longrunning::Operation op;
      ASSERT_TRUE(stack.Get(name, &op).ok()) << name << " was acknowledged but is missing";
      EXPECT_EQ(Metadata(op).state(), longrun::v1::OperationMetadata::SUCCEEDED) << name;
    }
    EXPECT_EQ(db.QueryValue("SELECT count(*) FROM operations WHERE state <> 'SUCCEEDED'"), "0");
  }
  PgCtl(absl::StrCat("destroy ", dir));
}

}  // namespace
}  // namespace longrun::testing
