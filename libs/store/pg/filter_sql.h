// Translates a parsed ListOperations filter (core::FilterNode) into a parameterized SQL
// boolean expression over the operations table. Values always travel as parameters, never
// spliced into the SQL text.
#ifndef LONGRUN_STORE_PG_FILTER_SQL_H_
#define LONGRUN_STORE_PG_FILTER_SQL_H_

#include <string>
#include <vector>

#include "libs/core/filter.h"

namespace longrun::store::pg {

// Appends parameters to `params`; placeholders are numbered from params->size() + 1.
std::string FilterToSql(const core::FilterNode& node, std::vector<std::string>* params);

}  // namespace longrun::store::pg

#endif  // LONGRUN_STORE_PG_FILTER_SQL_H_
