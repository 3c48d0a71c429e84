// Test databases. The CTest fixture "pg" starts one throwaway PostgreSQL cluster per test run
// (tools/dev/pg.sh, as the postgres user when root) and removes it afterwards; each test
// gets its own freshly migrated database in that cluster, dropped when the test ends.
//
// The cluster is found through LONGRUN_TEST_PG_DIR (set by CTest) or, to run against an
// existing server, LONGRUN_TEST_DATABASE_URL (a URL whose user may CREATE DATABASE).
#ifndef LONGRUN_TESTS_SUPPORT_TEST_PG_H_
#define LONGRUN_TESTS_SUPPORT_TEST_PG_H_

#include <string>

namespace longrun::testing {

class TestDatabase {
 public:
  // Creates and migrates a new database; aborts the test binary when the cluster is missing.
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& admin_url() const { return admin_url_; }
  // Runs SQL and returns the first column of the first row ("" if none).
  std::string QueryValue(const std::string& sql) const;
  void Exec(const std::string& sql) const;

 private:
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
