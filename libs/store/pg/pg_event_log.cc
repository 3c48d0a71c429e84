#include "libs/store/pg/pg_event_log.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/common/status_macros.h"
#include "libs/store/pg/filter_sql.h"
#include "libs/store/pg/pool.h"
#include "libs/store/pg/queries.h"
#include "libs/store/pg/rows.h"

namespace longrun::store::pg {
namespace {

// An xid8 read as text.
absl::StatusOr<uint64_t> ReadKey(const pqxx::field& f) {
  uint64_t key = 0;
  if (!absl::SimpleAtoi(f.as<std::string>(), &key)) {
    return absl::InternalError(absl::StrCat("event key \"", f.as<std::string>(),
                                            "\" cannot be decoded as an xid8"));
  }
  return key;
}

}  // namespace

absl::StatusOr<EventCursor> PgEventLog::EventHead() {
  absl::StatusOr<uint64_t> xmin = 0;
  LONGRUN_RETURN_IF_ERROR(pool_.Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    xmin = ReadKey(tx.exec_prepared("EventHead")[0][0]);
  }, PgPool::RetryPolicy::kRetryReadOnStaleConnection));
  LONGRUN_RETURN_IF_ERROR(xmin.status());
  // Every event with key < xmin is final and visible now; every later one has key >= xmin
  // and so sorts after (xmin - 1, max).
  return EventCursor{.key = *xmin - 1, .seq = std::numeric_limits<int64_t>::max()};
}

absl::StatusOr<EventReadResult> PgEventLog::EventRead(const EventReadParams& p) {
  // The unfiltered read is prepared; a filter shapes the SQL, built per call like
  // OperationList (values are parameters, never SQL text).
  std::vector<std::string> params = {absl::StrCat(p.after.key), absl::StrCat(p.after.seq),
                                     absl::StrCat(std::max(1, p.limit)), p.tenant};
  std::string sql;
  if (p.filter.has_value()) {
    const std::string filter = FilterToSql(*p.filter, &params);
    sql = std::string(kEventReadHead) + filter + std::string(kEventReadTail);
  }
  EventReadResult out;
  absl::Status decoded;
  EventCursor horizon;
  LONGRUN_RETURN_IF_ERROR(pool_.Run([&](pqxx::connection& c) {
    out = EventReadResult{.scanned_to = p.after};
    decoded = absl::OkStatus();
    pqxx::nontransaction tx(c);
    const pqxx::result r =
        sql.empty() ? tx.exec_prepared("EventRead", params[0], params[1], params[2], params[3])
                    : tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    for (const auto& row : r) {
      absl::StatusOr<uint64_t> key = ReadKey(row[kOperationColumns]);
      if (!key.ok()) {
        decoded = key.status();
        return;
      }
      const EventCursor at{.key = *key, .seq = row[kOperationColumns + 1].as<int64_t>()};
      out.scanned_to = at;
      if (row[0].is_null()) continue;  // filtered out, changed since, or deleted
      absl::StatusOr<core::Operation> op = ReadOperation(row);
      if (!op.ok()) {
        decoded = op.status();
        return;
      }
      out.events.push_back({.cursor = at, .operation = *std::move(op)});
    }
    // After the window: a prune between the two statements can only make this stricter.
    const pqxx::result h = tx.exec_prepared("EventHorizon");
    absl::StatusOr<uint64_t> key = ReadKey(h[0][0]);
    if (!key.ok()) {
      decoded = key.status();
      return;
    }
    horizon = {.key = *key, .seq = h[0][1].as<int64_t>()};
  }, PgPool::RetryPolicy::kRetryReadOnStaleConnection));
  LONGRUN_RETURN_IF_ERROR(decoded);
  if (p.after < horizon) {
    return absl::OutOfRangeError(absl::StrCat(
        "start_after: the cursor is older than the event retention (--event-retention): the "
        "events after it were pruned; start again with include_snapshot"));
  }
  return out;
}

absl::StatusOr<int> PgEventLog::EventPrune(absl::Duration older_than, int32_t limit) {
  int n = 0;
  LONGRUN_RETURN_IF_ERROR(pool_.Run([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    n = static_cast<int>(tx.exec_prepared("EventPrune", absl::ToInt64Microseconds(older_than),
                                          std::max(0, limit))[0][0]
                             .as<int64_t>());
  }));
  return n;
}

}  // namespace longrun::store::pg
