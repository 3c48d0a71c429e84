// ListOperations filters: a documented subset of AIP-160 parsed into a small AST, and the
// in-memory evaluator that defines what a filter means. The store translates the same AST
// to SQL; Matches() is the reference that translation must agree with.
//
// Grammar (EBNF). Whitespace may separate any two tokens; keywords are upper case and
// case-sensitive. Following AIP-160, OR binds tighter than AND, and adjacent terms are
// joined by an implicit AND:  `a AND b OR c` == `a b OR c` == `a AND (b OR c)`.
//
//   filter      = [ expression ] ;
//   expression  = sequence , { "AND" , sequence } ;
//   sequence    = factor , { factor } ;                 (* adjacency = implicit AND *)
//   factor      = term , { "OR" , term } ;
//   term        = [ "NOT" | "-" ] , simple ;            (* no space after "-" *)
//   simple      = restriction | "(" , expression , ")" ;
//   restriction = field , comparator , value ;
//   field       = "state" | "kind" | "queue" | "create_time" | "update_time"
//               | "labels." , label_key ;               (* label_key: IsValidLabelKey *)
//   comparator  = "=" | "!=" | "<" | "<=" | ">" | ">=" | ":" ;
//   value       = string | word | "*" ;
//   string      = '"' , { any byte except '"' and '\' | escape } , '"' ;  (* UTF-8, no U+0000 *)
//   escape      = '\' , ( '"' | '\' | "n" | "r" | "t" ) ;
//   word        = wordchar , { wordchar } ;             (* not AND, OR or NOT *)
//   wordchar    = "A".."Z" | "a".."z" | "0".."9" | "." | "_" | "-" | ":" | "+" ;
//
// Which comparators each field takes:
//   state, kind, queue           = !=           (state values: QUEUED, RUNNING, ...)
//   create_time, update_time     = != < <= > >= (RFC 3339, quoted or bare; UTC year 0-9999)
//   labels.KEY                   = != :         (":*" = key present; ":v" = "=v")
// There are no wildcards: "*" in a string is literal, and a bare "*" is only valid after ":".
//
// Semantics worth knowing when translating to SQL:
//   - labels.KEY != "v" is exactly NOT labels.KEY = "v", so it is true when the key is
//     absent (SQL: `labels->>'KEY' IS DISTINCT FROM 'v'`, not `<>`).
//   - Times compare exactly, at the precision written in the filter (nanoseconds and finer),
//     while stored times are whole microseconds. So `create_time = X` never holds for an X
//     between two microseconds, and a translation must round such a bound the way that
//     keeps every answer: `t < 5.5us` is `t < 6us`, `t <= 5.5us` is `t <= 5us`.
//   - No operation can hold text that is not UTF-8 or contains U+0000 (PostgreSQL's text
//     cannot), so a string value like that is refused rather than compared.
//   - Nothing evaluates to "unknown": NOT flips every comparison, unlike SQL on NULL.
//
// Limits keep hostile input cheap: at most kMaxFilterBytes bytes, kMaxFilterDepth nested
// parentheses and kMaxFilterComparisons comparisons.
#ifndef LONGRUN_CORE_FILTER_H_
#define LONGRUN_CORE_FILTER_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/core/operation.h"

namespace longrun::core {

inline constexpr size_t kMaxFilterBytes = 4096;
inline constexpr int kMaxFilterDepth = 32;
inline constexpr int kMaxFilterComparisons = 100;

enum class FilterField { kState, kKind, kQueue, kLabel, kCreateTime, kUpdateTime };

// kHas only appears as `labels.KEY:*`; `labels.KEY:"v"` is parsed as kEq.
enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe, kHas };

struct Comparison {
  FilterField field = FilterField::kState;
  std::string label_key;  // kLabel only: KEY in labels.KEY
  CompareOp op = CompareOp::kEq;
  std::string value;             // the value as written, unescaped; empty for kHas
  State state = State::kQueued;  // kState only
  absl::Time time;               // kCreateTime and kUpdateTime only
};

struct FilterNode {
  enum class Kind { kAnd, kOr, kNot, kCompare };
  Kind kind = Kind::kCompare;
  // kAnd / kOr: two or more children, none of the same kind (ParseFilter flattens
  // `a AND (b AND c)`); kNot: exactly one; kCompare: none.
  std::vector<FilterNode> children;
  Comparison comparison;  // kCompare only
};

// Parses `filter`. An empty or whitespace-only filter means "no filter" and yields
// std::nullopt. Errors are INVALID_ARGUMENT with a message starting "filter: " that names
// the problem and its byte offset, fit to return to the client as is.
absl::StatusOr<std::optional<FilterNode>> ParseFilter(absl::string_view filter);

// True if `op` satisfies `filter`: the reference semantics of every filter.
bool Matches(const FilterNode& filter, const Operation& op);

// A canonical filter text for a parsed AST, e.g. `state = QUEUED AND (kind = "a" OR
// labels.env:*)`: strings quoted, times in UTC, every nested AND/OR group in parentheses.
// ParseFilter(FormatFilter(f)) yields the same AST unless the extra parentheses or quotes
// push it over kMaxFilterDepth or kMaxFilterBytes. For logs and tests.
std::string FormatFilter(const FilterNode& filter);

// "state", "kind", "queue", "labels", "create_time", "update_time".
absl::string_view FilterFieldName(FilterField field);
// "=", "!=", "<", "<=", ">", ">=", ":".
absl::string_view CompareOpName(CompareOp op);

}  // namespace longrun::core

#endif  // LONGRUN_CORE_FILTER_H_
