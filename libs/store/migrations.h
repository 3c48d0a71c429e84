// The SQL migrations in libs/store/migrations/, embedded at build time so every binary and
// the test fixture apply byte-identical SQL.
#ifndef LONGRUN_STORE_MIGRATIONS_H_
#define LONGRUN_STORE_MIGRATIONS_H_

#include <span>
#include <string_view>

namespace longrun::store {

struct Migration {
  int version;             // from the NNNN_ file name prefix
  std::string_view name;   // file name
  std::string_view sql;
};

// In version order.
std::span<const Migration> EmbeddedMigrations();

}  // namespace longrun::store

#endif  // LONGRUN_STORE_MIGRATIONS_H_
