#include "libs/store/pg/filter_sql.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "libs/store/pg/queries.h"

namespace longrun::store::pg {
namespace {

std::string Param(std::vector<std::string>* params, std::string value) {
  params->push_back(std::move(value));
  return absl::StrCat("$", params->size());
}

// Equality of text columns; kNe is its negation (both columns are NOT NULL).
std::string TextCompare(absl::string_view column, const core::Comparison& c,
                        std::vector<std::string>* params) {
  return absl::StrCat(column, c.op == core::CompareOp::kNe ? " <> " : " = ",
                      Param(params, c.value));
}

// A time comparison, exactly as core::Matches() decides it. Stored times are whole
// microseconds and filter times may be finer, so the bound is rounded in the direction that
// keeps the answer for every whole microsecond: t < 5.5us iff t < 6us, t <= 5.5us iff
// t <= 5us, and t = 5.5us never holds.
std::string TimeCompare(absl::string_view column, const core::Comparison& c,
                        std::vector<std::string>* params) {
  const int64_t floor_us = absl::ToUnixMicros(c.time);  // rounds toward the past
  const bool whole = absl::FromUnixMicros(floor_us) == c.time;
  const int64_t ceil_us = whole ? floor_us : floor_us + 1;
  const char* op = "=";
  int64_t bound = floor_us;
  switch (c.op) {
    case core::CompareOp::kEq:
      if (!whole) return "false";
      break;
    case core::CompareOp::kNe:
      if (!whole) return "true";
      op = "<>";
      break;
    case core::CompareOp::kLt:
      op = "<";
      bound = ceil_us;
      break;
    case core::CompareOp::kLe:
      op = "<=";
      break;
    case core::CompareOp::kGt:
      op = ">";
      break;
    case core::CompareOp::kGe:
      op = ">=";
      bound = ceil_us;
      break;
    case core::CompareOp::kHas:
      return "false";  // not produced by ParseFilter for times
  }
  return absl::StrCat(column, " ", op, " ",
                      MicrosToTimestampSql(Param(params, absl::StrCat(bound))));
}

std::string Compare(const core::Comparison& c, std::vector<std::string>* params) {
  switch (c.field) {
    case core::FilterField::kState:
      return absl::StrCat("state ", c.op == core::CompareOp::kNe ? "<> " : "= ",
                          Param(params, std::string(core::StateName(c.state))),
                          "::operation_state");
    case core::FilterField::kKind:
      return TextCompare("kind", c, params);
    case core::FilterField::kQueue:
      return TextCompare("queue", c, params);
    case core::FilterField::kLabel: {
      const std::string key = Param(params, c.label_key);
      if (c.op == core::CompareOp::kHas) return absl::StrCat("jsonb_exists(labels, ", key, ")");
      // Containment, never NULL: `labels ->> key = v` is NULL for an absent key, and
      // NOT (NULL) would drop the rows that Matches() keeps for NOT labels.KEY = "v".
      const std::string contains = absl::StrCat("labels @> jsonb_build_object(", key,
                                                "::text, ", Param(params, c.value), "::text)");
      return c.op == core::CompareOp::kNe ? absl::StrCat("NOT ", contains) : contains;
    }
    case core::FilterField::kCreateTime:
      return TimeCompare("create_time", c, params);
    case core::FilterField::kUpdateTime:
      return TimeCompare("update_time", c, params);
  }
  return "false";
}

}  // namespace

std::string MicrosToTimestampSql(absl::string_view placeholder) {
  return absl::StrReplaceAll(LONGRUN_MICROS_TO_TS("{n}"), {{"{n}", placeholder}});
}

std::string FilterToSql(const core::FilterNode& node, std::vector<std::string>* params) {
  switch (node.kind) {
    case core::FilterNode::Kind::kCompare:
      return Compare(node.comparison, params);
    case core::FilterNode::Kind::kNot:
      return absl::StrCat("NOT (", FilterToSql(node.children.at(0), params), ")");
    case core::FilterNode::Kind::kAnd:
    case core::FilterNode::Kind::kOr: {
      if (node.children.empty()) return node.kind == core::FilterNode::Kind::kAnd ? "true" : "false";
      std::vector<std::string> parts;
      for (const core::FilterNode& child : node.children) {
        parts.push_back(absl::StrCat("(", FilterToSql(child, params), ")"));
      }
      return absl::StrJoin(parts, node.kind == core::FilterNode::Kind::kAnd ? " AND " : " OR ");
    }
  }
  return "false";
}

}  // namespace longrun::store::pg
