#include "tests/support/test_pg.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include <pqxx/pqxx>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "libs/store/migrations.h"
#include "libs/store/pg/migrator.h"

namespace longrun::testing {

std::string ClusterDir() {
  const char* dir = std::getenv("LONGRUN_TEST_PG_DIR");
  return dir == nullptr ? "" : dir;
}

std::string ClusterUrl() {
  if (const char* url = std::getenv("LONGRUN_TEST_DATABASE_URL"); url != nullptr && *url) {
    return url;
  }
  const std::string dir = ClusterDir();
  if (dir.empty()) return "";
  return ClusterUrlFromDir(dir);
}

std::string ClusterUrlFromDir(const std::string& dir) {
  std::ifstream in(dir + "/url");
  std::string url;
  std::getline(in, url);
  return std::string(absl::StripAsciiWhitespace(url));
}

namespace {

// Replaces the database name (the last path segment before any '?') of a URL.
std::string WithDatabase(const std::string& url, const std::string& db) {
  const size_t q = url.find('?');
  const std::string base = url.substr(0, q);
  const std::string query = q == std::string::npos ? "" : url.substr(q);
  const size_t slash = base.rfind('/');
  return base.substr(0, slash + 1) + db + query;
}

}  // namespace

TestDatabase::TestDatabase() {
  CreateEmpty();
  auto migrated = store::pg::Migrate(url_);
  if (!migrated.ok()) {
    std::cerr << "migrating the test database failed: " << migrated.status() << "\n";
    std::abort();
  }
}

TestDatabase::TestDatabase(int version) {
  CreateEmpty();
  for (const store::Migration& m : store::EmbeddedMigrations()) {
    if (m.version <= version) ApplyMigration(m.version);
  }
}

void TestDatabase::CreateEmpty() {
  const std::string cluster = ClusterUrl();
  if (cluster.empty()) {
    std::cerr << "No test PostgreSQL: run through ctest (fixture \"pg\") or set "
                 "LONGRUN_TEST_DATABASE_URL\n";
    std::abort();
  }
  admin_url_ = WithDatabase(cluster, "postgres");
  absl::BitGen gen;
  name_ = absl::StrCat("t_", absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16));
  url_ = WithDatabase(cluster, name_);
  Exec(absl::StrCat("CREATE DATABASE ", name_));
}

void TestDatabase::ApplyMigration(int version) const {
  for (const store::Migration& m : store::EmbeddedMigrations()) {
    if (m.version != version) continue;
    pqxx::connection c(url_);
    pqxx::work tx(c);
    tx.exec(std::string(m.sql));
    tx.commit();
    return;
  }
  std::cerr << "no embedded migration " << version << "\n";
  std::abort();
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection c(admin_url_);
    pqxx::nontransaction tx(c);
    tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"));
  } catch (const std::exception& e) {
    std::cerr << "dropping test database " << name_ << " failed: " << e.what() << "\n";
  }
}

void TestDatabase::Exec(const std::string& sql) const {
  const bool admin = sql.rfind("CREATE DATABASE", 0) == 0;
  pqxx::connection c(admin ? admin_url_ : url_);
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

std::string TestDatabase::QueryValue(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  const pqxx::result r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].as<std::string>();
}

absl::Time TestDatabase::Now() const {
  int64_t micros = 0;
  if (!absl::SimpleAtoi(QueryValue("SELECT (extract(epoch from now()) * 1000000)::int8"),
                        &micros)) {
    std::cerr << "reading now() from the test database failed\n";
    std::abort();
  }
  return absl::FromUnixMicros(micros);
}

void TestDatabase::AdvanceClock(absl::Duration d) const {
  const std::string by = absl::StrCat(absl::ToInt64Microseconds(d));
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  std::vector<std::string> sets;
  for (const auto& row : tx.exec("SELECT column_name FROM information_schema.columns "
                                 "WHERE table_name = 'operations' "
                                 "AND data_type = 'timestamp with time zone' ORDER BY 1")) {
    const std::string column = tx.quote_name(row[0].as<std::string>());
    sets.push_back(absl::StrCat(column, " = ", column, " - ", by, " * interval '1 microsecond'"));
  }
  // attempts: [[attempt, worker, start_us, end_us, outcome, code, message], ...]
  // (0004_attempts_inline.sql); start_us may be null.
  sets.push_back(absl::StrCat(
      "attempts = (SELECT jsonb_agg(jsonb_build_array(a->0, a->1, "
      "CASE WHEN jsonb_typeof(a->2) = 'number' THEN to_jsonb((a->>2)::int8 - ", by,
      ") ELSE a->2 END, to_jsonb((a->>3)::int8 - ", by, "), a->4, a->5, a->6) ORDER BY i) "
      "FROM jsonb_array_elements(attempts) WITH ORDINALITY AS e(a, i))"));
  tx.exec(absl::StrCat("UPDATE operations SET ", absl::StrJoin(sets, ", ")));
}

}  // namespace longrun::testing
