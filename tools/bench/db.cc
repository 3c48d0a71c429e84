#include "tools/bench/db.h"

#include <libpq-fe.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace longrun::bench {

absl::StatusOr<std::unique_ptr<Db>> Db::Connect(const std::string& url) {
  if (url.empty()) return absl::InvalidArgumentError("--database-url is required for this mode");
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the database: ", absl::StripTrailingAsciiWhitespace(msg)));
  }
  return std::unique_ptr<Db>(new Db(conn));
}

Db::~Db() { PQfinish(conn_); }

int Db::BackendPid() const { return PQbackendPID(conn_); }

absl::StatusOr<Db::Rows> Db::Query(const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  return Collect(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, 0));
}

absl::Status Db::Prepare(const std::string& name, const std::string& sql) {
  auto r = Collect(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::StatusOr<Db::Rows> Db::Execute(const std::string& name,
                                     const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  return Collect(PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                values.data(), nullptr, nullptr, 0));
}

absl::StatusOr<Db::Rows> Db::Collect(PGresult* res) {
  const ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    std::string msg = PQresultErrorMessage(res);
    PQclear(res);
    return absl::InternalError(
        absl::StrCat("query failed: ", absl::StripTrailingAsciiWhitespace(msg)));
  }
  Rows rows;
  const int nrows = PQntuples(res);
  const int ncols = PQnfields(res);
  rows.reserve(static_cast<size_t>(nrows));
  for (int r = 0; r < nrows; ++r) {
    std::vector<std::string> row;
    row.reserve(static_cast<size_t>(ncols));
    for (int c = 0; c < ncols; ++c) {
      row.emplace_back(PQgetisnull(res, r, c) ? "" : PQgetvalue(res, r, c));
    }
    rows.push_back(std::move(row));
  }
  PQclear(res);
  return rows;
}

absl::StatusOr<int64_t> Db::QueryInt(const std::string& sql,
                                     const std::vector<std::string>& params) {
  auto rows = Query(sql, params);
  if (!rows.ok()) return rows.status();
  if (rows->empty() || rows->front().empty()) return absl::InternalError("query returned no rows");
  int64_t v = 0;
  if (!absl::SimpleAtoi((*rows)[0][0], &v)) {
    return absl::InternalError(absl::StrCat("not an integer: \"", (*rows)[0][0], "\""));
  }
  return v;
}

}  // namespace longrun::bench
