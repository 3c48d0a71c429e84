// Applies the embedded migrations under an advisory lock: safe to run from many processes at
// once and re-runnable (already-applied versions are skipped).
#ifndef LONGRUN_STORE_PG_MIGRATOR_H_
#define LONGRUN_STORE_PG_MIGRATOR_H_

#include <string>

#include "absl/status/statusor.h"

namespace longrun::store::pg {

struct MigrateResult {
  int applied = 0;         // migrations applied by this call
  int current_version = 0; // schema version afterwards
};

absl::StatusOr<MigrateResult> Migrate(const std::string& url);

// The applied schema version (0 for an empty database).
absl::StatusOr<int> SchemaVersion(const std::string& url);

// The newest version this binary knows.
int LatestSchemaVersion();

}  // namespace longrun::store::pg

#endif  // LONGRUN_STORE_PG_MIGRATOR_H_
