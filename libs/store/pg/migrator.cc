#include "libs/store/pg/migrator.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "libs/store/migrations.h"
#include "libs/store/pg/pool.h"

namespace longrun::store::pg {
namespace {

// Arbitrary constant shared by every longrun process ("lrun" in ASCII).
constexpr int64_t kMigrationLockKey = 0x6c72756e;

constexpr const char* kCreateTableSql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version integer PRIMARY KEY, name text NOT NULL, "
    "  applied_at timestamptz NOT NULL DEFAULT now())";

int ReadVersion(pqxx::transaction_base& tx) {
  const pqxx::result exists = tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists[0][0].as<bool>()) return 0;
  return tx.exec("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0].as<int>();
}

}  // namespace

int LatestSchemaVersion() {
  const auto all = EmbeddedMigrations();
  return all.empty() ? 0 : all.back().version;
}

absl::StatusOr<MigrateResult> Migrate(const std::string& url) {
  MigrateResult result;
  try {
    pqxx::connection c(WithConnectDefaults(url, "longrun-migrate"));
    {
      pqxx::nontransaction tx(c);
      tx.exec(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLockKey, ")"));
      tx.exec(kCreateTableSql);
    }
    for (const Migration& m : EmbeddedMigrations()) {
      pqxx::work tx(c);
      const pqxx::result done =
          tx.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", m.version);
      if (!done.empty()) continue;
      tx.exec(std::string(m.sql));
      tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                     std::string(m.name));
      tx.commit();
      ++result.applied;
      LONGRUN_LOG(kInfo, "migration_applied", {{"version", m.version}, {"name", m.name}});
    }
    pqxx::nontransaction tx(c);
    result.current_version = ReadVersion(tx);
    tx.exec(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLockKey, ")"));
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
  return result;
}

absl::StatusOr<int> SchemaVersion(const std::string& url) {
  try {
    pqxx::connection c(WithConnectDefaults(url, "longrun"));
    pqxx::nontransaction tx(c);
    return ReadVersion(tx);
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

}  // namespace longrun::store::pg
