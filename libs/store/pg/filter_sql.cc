#include "libs/store/pg/filter_sql.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace longrun::store::pg {
namespace {

std::string Param(std::vector<std::string>* params, std::string value) {
  params->push_back(std::move(value));
  return absl::StrCat("$", params->size());
}

const char* SqlOp(core::CompareOp op) {
  switch (op) {
    case core::CompareOp::kEq: return "=";
    case core::CompareOp::kNe: return "<>";
    case core::CompareOp::kLt: return "<";
    case core::CompareOp::kLe: return "<=";
    case core::CompareOp::kGt: return ">";
    case core::CompareOp::kGe: return ">=";
    case core::CompareOp::kHas: return "=";
  }
  return "=";
}

std::string Compare(const core::Comparison& c, std::vector<std::string>* params) {
  switch (c.field) {
    case core::FilterField::kState:
      return absl::StrCat("state ", SqlOp(c.op), " ",
                          Param(params, std::string(core::StateName(c.state))),
                          "::operation_state");
    case core::FilterField::kKind:
      return absl::StrCat("kind ", SqlOp(c.op), " ", Param(params, c.value));
    case core::FilterField::kQueue:
      return absl::StrCat("queue ", SqlOp(c.op), " ", Param(params, c.value));
    case core::FilterField::kLabel: {
      const std::string key = Param(params, c.label_key);
      if (c.op == core::CompareOp::kHas && c.value.empty()) {
        return absl::StrCat("jsonb_exists(labels, ", key, ")");
      }
      // != is NOT =: true when the label is absent.
      return absl::StrCat("(labels ->> ", key, ") ",
                          c.op == core::CompareOp::kNe ? "IS DISTINCT FROM " : "= ",
                          Param(params, c.value));
    }
    case core::FilterField::kCreateTime:
    case core::FilterField::kUpdateTime: {
      const char* column = c.field == core::FilterField::kCreateTime ? "create_time" : "update_time";
      return absl::StrCat(column, " ", SqlOp(c.op), " (timestamptz 'epoch' + ",
                          Param(params, absl::StrCat(absl::ToUnixMicros(c.time))),
                          "::int8 * interval '1 microsecond')");
    }
  }
  return "false";
}

}  // namespace

std::string FilterToSql(const core::FilterNode& node, std::vector<std::string>* params) {
  switch (node.kind) {
    case core::FilterNode::Kind::kCompare:
      return Compare(node.comparison, params);
    case core::FilterNode::Kind::kNot:
      return absl::StrCat("NOT (", FilterToSql(node.children.at(0), params), ")");
    case core::FilterNode::Kind::kAnd:
    case core::FilterNode::Kind::kOr: {
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
