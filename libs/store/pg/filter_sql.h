// Translates a parsed ListOperations filter (core::FilterNode) into a parameterized SQL
// boolean expression over the operations table. Values always travel as parameters, never
// spliced into the SQL text. The expression selects exactly the rows core::Matches()
// accepts (tests/store/filter_agreement_pgtest.cc checks it with random filters): it is
// never NULL, and time bounds finer than a microsecond are rounded so that the answer for
// the stored whole microseconds does not change.
#ifndef LONGRUN_STORE_PG_FILTER_SQL_H_
#define LONGRUN_STORE_PG_FILTER_SQL_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "libs/core/filter.h"

namespace longrun::store::pg {

// Appends parameters to `params`; placeholders are numbered from params->size() + 1.
std::string FilterToSql(const core::FilterNode& node, std::vector<std::string>* params);

// LONGRUN_MICROS_TO_TS (queries.h) for a placeholder chosen at run time, e.g. "$3".
std::string MicrosToTimestampSql(absl::string_view placeholder);

}  // namespace longrun::store::pg

#endif  // LONGRUN_STORE_PG_FILTER_SQL_H_
