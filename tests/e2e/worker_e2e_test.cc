// The worker library's behaviour as users see it, over the real binaries.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/support/stack.h"

namespace longrun::testing {
namespace {

using google::longrunning::Operation;
using longrun::v1::OperationMetadata;

std::string IdOf(const std::string& name) { return name.substr(name.find('/') + 1); }

// A handler that reports progress in a tight loop (100,000 times and for 3 s) must neither
// flood the database nor slow other jobs down: its progress is written at most once per
// --progress-interval (latest value wins), and ReportProgress never waits for a write.
TEST(WorkerE2E, ProgressFloodIsCoalescedAndDoesNotDelayOtherJobs) {
  TestDatabase db;
  // Count the writes that change only progress (not the state) of any operation.
  db.Exec(
      "CREATE TABLE test_progress_writes (id uuid, at timestamptz DEFAULT clock_timestamp());"
      "CREATE FUNCTION test_count_progress() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "  INSERT INTO test_progress_writes (id) VALUES (NEW.id); RETURN NULL; END $$;"
      "CREATE TRIGGER test_progress AFTER UPDATE ON operations FOR EACH ROW "
      "  WHEN (OLD.state = NEW.state AND (OLD.progress_percent IS DISTINCT FROM "
      "        NEW.progress_percent OR OLD.progress_message IS DISTINCT FROM "
      "        NEW.progress_message)) EXECUTE FUNCTION test_count_progress();");
  Stack stack(db, "worker_progress_flood");
  stack.StartApi();
  stack.StartWorker({"--concurrency=4", "--progress-interval=250ms"});

  Operation flood;
  ASSERT_TRUE(stack.Submit("demo.progress", R"({"reports": 100000, "seconds": 3})", &flood).ok());
  stack.WaitRunning(flood.name());
  // While it floods, other jobs are picked up and finished one after another.
  constexpr int kOthers = 20;
  std::vector<std::string> others;
  for (int i = 0; i < kOthers; ++i) {
    Operation op;
    ASSERT_TRUE(stack.Submit("demo.echo", absl::StrCat(R"({"i": )", i, "}"), &op).ok());
    const Operation done = stack.WaitDone(op.name(), absl::Seconds(30));
    ASSERT_TRUE(done.done()) << "job " << i << " did not finish while the flood ran";
    others.push_back(IdOf(op.name()));
  }
  const Operation flood_done = stack.WaitDone(flood.name(), absl::Seconds(60));
  ASSERT_TRUE(flood_done.done());
  EXPECT_EQ(Metadata(flood_done).state(), OperationMetadata::SUCCEEDED);
  const std::string result = ResponseJson(flood_done);
  const double reports = std::stod(result.substr(result.find(':') + 1));
  EXPECT_GE(reports, 100000) << result;

  const std::string id = IdOf(flood.name());
  const int writes =
      std::stoi(db.QueryValue("SELECT count(*) FROM test_progress_writes WHERE id = '" + id + "'"));
  const double seconds = std::stod(
      db.QueryValue("SELECT extract(epoch FROM end_time - attempt_start_time) FROM operations "
                    "WHERE id = '" +
                    id + "'"));
  const int bound = 1 + static_cast<int>(seconds / 0.25);
  std::cout << "flood: " << reports << " reports in " << seconds << " s, " << writes
            << " progress writes (bound " << bound << ")\n";
  EXPECT_GE(writes, 1);
  EXPECT_LE(writes, bound);

  // Order of events on the database's clock: every other job was picked up and finished
  // while the flood was still running.
  const std::string list = "'" + absl::StrJoin(others, "','") + "'";
  EXPECT_EQ(db.QueryValue("SELECT count(*) FROM operations WHERE id IN (" + list +
                          ") AND state = 'SUCCEEDED' AND attempt = 1 AND end_time < (SELECT "
                          "end_time FROM operations WHERE id = '" +
                          id + "')"),
            std::to_string(kOthers));
  std::cout << "other jobs' pickup during the flood (ms): p50 "
            << db.QueryValue(
                   "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                   "extract(epoch FROM start_time - create_time) * 1000)::numeric, 2) "
                   "FROM operations WHERE id IN (" +
                   list + ")")
            << ", max "
            << db.QueryValue(
                   "SELECT round(max(extract(epoch FROM start_time - create_time) * "
                   "1000)::numeric, 2) FROM operations WHERE id IN (" +
                   list + ")")
            << "\n";
}

}  // namespace
}  // namespace longrun::testing
