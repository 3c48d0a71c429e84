// A minimal libpq connection for the read-only queries of the bench (plain libpq on purpose:
// libpqxx stays inside libs/store).
#ifndef LONGRUN_TOOLS_BENCH_DB_H_
#define LONGRUN_TOOLS_BENCH_DB_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

struct pg_conn;
struct pg_result;

namespace longrun::bench {

class Db {
 public:
  static absl::StatusOr<std::unique_ptr<Db>> Connect(const std::string& url);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  using Rows = std::vector<std::vector<std::string>>;  // NULL is ""
  absl::StatusOr<Rows> Query(const std::string& sql, const std::vector<std::string>& params = {});
  // First column of the first row as an integer.
  absl::StatusOr<int64_t> QueryInt(const std::string& sql,
                                   const std::vector<std::string>& params = {});
  // A named prepared statement, planned once (generic plan) for repeated cheap queries.
  absl::Status Prepare(const std::string& name, const std::string& sql);
  absl::StatusOr<Rows> Execute(const std::string& name, const std::vector<std::string>& params);
  // PID of the server process serving this connection.
  int BackendPid() const;

 private:
  explicit Db(pg_conn* conn) : conn_(conn) {}
  absl::StatusOr<Rows> Collect(::pg_result* res);
  pg_conn* conn_;
};

}  // namespace longrun::bench

#endif  // LONGRUN_TOOLS_BENCH_DB_H_
