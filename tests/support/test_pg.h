// Test databases. The CTest fixture "pg" starts one throwaway PostgreSQL cluster per test run
// (tools/dev/pg.sh, as the postgres user when root) and removes it afterwards; each test
// gets its own freshly migrated database in that cluster, dropped when the test ends.
//
// The cluster is found through LONGRUN_TEST_PG_DIR (set by CTest) or, to run against an
// existing server, LONGRUN_TEST_DATABASE_URL (a URL whose user may CREATE DATABASE).
#ifndef LONGRUN_TESTS_SUPPORT_TEST_PG_H_
#define LONGRUN_TESTS_SUPPORT_TEST_PG_H_

#include <string>

#include "absl/time/time.h"

namespace longrun::testing {

class TestDatabase {
 public:
  // Creates and migrates a new database; aborts the test binary when the cluster is missing.
  TestDatabase();
  // Creates a database with the embedded migrations up to `version` only (not recorded in
  // schema_migrations), for tests of what a later migration does to existing rows.
  explicit TestDatabase(int version);
  // Runs one more embedded migration's SQL (after TestDatabase(version)).
  void ApplyMigration(int version) const;
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& admin_url() const { return admin_url_; }
  // Runs SQL and returns the first column of the first row ("" if none).
  std::string QueryValue(const std::string& sql) const;
  void Exec(const std::string& sql) const;
  // The database's now().
  absl::Time Now() const;
  // Moves this database's clock forward by `d` as far as longrun can tell: one UPDATE moves
  // every stored time of every operation back by d (each timestamptz column of operations,
  // found in the catalog, and the start/end times in the attempts history), so a lease, a
  // backoff, a schedule or a TTL that was d away from now() has now come. Times read before
  // the shift are d later than the same times read after it; rows inserted afterwards are
  // not moved. How the store tests let time pass without sleeping (docs/TESTING.md).
  void AdvanceClock(absl::Duration d) const;

 private:
  void CreateEmpty();
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

// The cluster's URL (database "longrun"); empty if none is configured.
std::string ClusterUrl();
// The tools/dev/pg.sh state directory of the test cluster (empty with an external URL).
std::string ClusterDir();
// The URL recorded by tools/dev/pg.sh in `dir`.
std::string ClusterUrlFromDir(const std::string& dir);

}  // namespace longrun::testing

#endif  // LONGRUN_TESTS_SUPPORT_TEST_PG_H_
