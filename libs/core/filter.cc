#include "libs/core/filter.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/struct_json.h"
#include "libs/core/submit.h"

namespace longrun::core {
namespace {

constexpr absl::string_view kKnownFields =
    "state, kind, queue, labels.KEY, create_time, update_time";
constexpr absl::string_view kKnownStates =
    "QUEUED, RUNNING, RETRY_WAIT, CANCELLING, SUCCEEDED, FAILED, CANCELLED";
constexpr absl::string_view kLabelsPrefix = "labels.";
// Formatting always writes UTC with "Z" so the text does not depend on the server's zone.
constexpr absl::string_view kTimeFormat = "%E4Y-%m-%dT%H:%M:%E*SZ";

bool IsFieldChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

// Bare values also take ':' and '+' so RFC 3339 timestamps need no quotes.
bool IsValueChar(char c) { return IsFieldChar(c) || c == ':' || c == '+'; }

bool IsSpace(char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); }

bool IsKeyword(absl::string_view word) { return word == "AND" || word == "OR" || word == "NOT"; }

// A token as shown in an error: quoted, escaped and cut short, because it is user input.
std::string Shown(absl::string_view s) {
  return absl::StrCat("\"", absl::CHexEscape(s.substr(0, 64)), s.size() > 64 ? "...\"" : "\"");
}

absl::Status Error(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("filter: ", message));
}

bool Digits(absl::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// YYYY-MM-DD"T"hh:mm:ss[.fraction]("Z" | ("+" | "-")hh:mm). absl::ParseTime alone would
// also accept surrounding whitespace, "infinite-future" and years of other widths.
bool HasRfc3339Shape(absl::string_view s) {
  if (!Digits(s, 0, 4) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2) || s[7] != '-' ||
      !Digits(s, 8, 2) || (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2) || s[13] != ':' ||
      !Digits(s, 14, 2) || s[16] != ':' || !Digits(s, 17, 2)) {
    return false;
  }
  size_t i = 19;
  if (s[i] == '.') {
    const size_t start = ++i;
    while (i < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  return s.size() == i + 6 && Digits(s, i + 1, 2) && s[i + 3] == ':' && Digits(s, i + 4, 2);
}

bool ParseRfc3339(absl::string_view text, absl::Time* out) {
  if (!HasRfc3339Shape(text)) return false;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*S%Ez", text, out, &err)) return false;
  // An offset can push a four-digit year out of 0000-9999 in UTC; such a time could not be
  // written back in this syntax, so it is refused like any other malformed timestamp.
  const int64_t year = absl::ToCivilSecond(*out, absl::UTCTimeZone()).year();
  return year >= 0 && year <= 9999;
}

bool AllowedOp(FilterField field, CompareOp op) {
  switch (field) {
    case FilterField::kState:
    case FilterField::kKind:
    case FilterField::kQueue:
      return op == CompareOp::kEq || op == CompareOp::kNe;
    case FilterField::kLabel:
      return op == CompareOp::kEq || op == CompareOp::kNe || op == CompareOp::kHas;
    case FilterField::kCreateTime:
    case FilterField::kUpdateTime:
      return op != CompareOp::kHas;
  }
  return false;
}

absl::string_view AllowedOpsText(FilterField field) {
  switch (field) {
    case FilterField::kLabel: return "=, !=, :";
    case FilterField::kCreateTime:
    case FilterField::kUpdateTime: return "=, !=, <, <=, >, >=";
    default: return "=, !=";
  }
}

// Joins parts under an AND or OR, lifting the children of parts of the same kind so the
// AST has one shape per meaning (`a AND (b AND c)` is AND(a, b, c)).
FilterNode Combine(FilterNode::Kind kind, std::vector<FilterNode> parts) {
  if (parts.size() == 1) return std::move(parts[0]);
  FilterNode node;
  node.kind = kind;
  for (FilterNode& part : parts) {
    if (part.kind == kind) {
      for (FilterNode& child : part.children) node.children.push_back(std::move(child));
    } else {
      node.children.push_back(std::move(part));
    }
  }
  return node;
}

// Recursive descent over the input with a byte cursor. Tokens are scanned on demand
// because their rules depend on position: "-" starts a negation before a term but is an
// ordinary character inside a value, and ':' ends a field name but not a bare timestamp.
// Recursion is bounded by kMaxFilterDepth.
class Parser {
 public:
  explicit Parser(absl::string_view in) : in_(in) {}

  absl::StatusOr<std::optional<FilterNode>> Parse() {
    if (in_.size() > kMaxFilterBytes) {
      return Error(absl::StrCat("is ", in_.size(), " bytes; the limit is ", kMaxFilterBytes));
    }
    SkipSpace();
    if (AtEnd()) return std::optional<FilterNode>();
    absl::StatusOr<FilterNode> node = ParseExpression();
    if (!node.ok()) return node.status();
    SkipSpace();
    if (!AtEnd()) {
      // Expressions stop only at the end, at AND (which they consume) or at ')'.
      return Error(absl::StrCat("unbalanced parentheses: unexpected \")\" at offset ", pos_));
    }
    return std::optional<FilterNode>(*std::move(node));
  }

 private:
  enum class Keyword { kNone, kAnd, kOr, kNot };

  bool AtEnd() const { return pos_ >= in_.size(); }

  void SkipSpace() {
    while (!AtEnd() && IsSpace(in_[pos_])) ++pos_;
  }

  // The field-name-like word at the cursor (empty if none); a leading '-' is a negation,
  // never part of a word in term position.
  absl::string_view PeekWord() const {
    size_t end = pos_;
    if (end < in_.size() && in_[end] == '-') return {};
    while (end < in_.size() && IsFieldChar(in_[end])) ++end;
    return in_.substr(pos_, end - pos_);
  }

  Keyword PeekKeyword() {
    SkipSpace();
    const absl::string_view word = PeekWord();
    if (word == "AND") return Keyword::kAnd;
    if (word == "OR") return Keyword::kOr;
    if (word == "NOT") return Keyword::kNot;
    return Keyword::kNone;
  }

  // What the cursor points at, for "expected X, got Y" messages.
  std::string Found() const {
    if (AtEnd()) return "the end of the filter";
    const absl::string_view word = PeekWord();
    if (IsKeyword(word)) return absl::StrCat("keyword ", word);
    if (!word.empty()) return Shown(word);
    return Shown(in_.substr(pos_, 1));
  }

  // expression = sequence { "AND" sequence }
  absl::StatusOr<FilterNode> ParseExpression() {
    std::vector<FilterNode> parts;
    while (true) {
      absl::StatusOr<FilterNode> part = ParseSequence();
      if (!part.ok()) return part.status();
      parts.push_back(*std::move(part));
      if (PeekKeyword() != Keyword::kAnd) break;
      pos_ += 3;
    }
    return Combine(FilterNode::Kind::kAnd, std::move(parts));
  }

  // sequence = factor { factor }: adjacent factors are an implicit AND.
  absl::StatusOr<FilterNode> ParseSequence() {
    std::vector<FilterNode> parts;
    while (true) {
      absl::StatusOr<FilterNode> part = ParseFactor();
      if (!part.ok()) return part.status();
      parts.push_back(*std::move(part));
      SkipSpace();
      if (AtEnd() || in_[pos_] == ')' || PeekKeyword() == Keyword::kAnd) break;
    }
    return Combine(FilterNode::Kind::kAnd, std::move(parts));
  }

  // factor = term { "OR" term }
  absl::StatusOr<FilterNode> ParseFactor() {
    std::vector<FilterNode> parts;
    while (true) {
      absl::StatusOr<FilterNode> part = ParseTerm();
      if (!part.ok()) return part.status();
      parts.push_back(*std::move(part));
      if (PeekKeyword() != Keyword::kOr) break;
      pos_ += 2;
    }
    return Combine(FilterNode::Kind::kOr, std::move(parts));
  }

  // term = [ "NOT" | "-" ] simple
  absl::StatusOr<FilterNode> ParseTerm() {
    bool negate = false;
    if (PeekKeyword() == Keyword::kNot) {
      pos_ += 3;
      negate = true;
    } else if (!AtEnd() && in_[pos_] == '-') {
      const size_t minus = pos_++;
      if (AtEnd() || IsSpace(in_[pos_])) {
        return Error(absl::StrCat("\"-\" at offset ", minus,
                                  " must be followed directly by a field or \"(\""));
      }
      negate = true;
    }
    absl::StatusOr<FilterNode> simple = ParseSimple();
    if (!simple.ok() || !negate) return simple;
    FilterNode node;
    node.kind = FilterNode::Kind::kNot;
    node.children.push_back(*std::move(simple));
    return node;
  }

  // simple = restriction | "(" expression ")"
  absl::StatusOr<FilterNode> ParseSimple() {
    SkipSpace();
    if (!AtEnd() && in_[pos_] == '(') {
      const size_t open = pos_;
      if (depth_ >= kMaxFilterDepth) {
        return Error(absl::StrCat("parentheses nested deeper than ", kMaxFilterDepth,
                                  " levels at offset ", open));
      }
      ++pos_;
      ++depth_;
      absl::StatusOr<FilterNode> inner = ParseExpression();
      if (!inner.ok()) return inner.status();
      SkipSpace();
      if (AtEnd() || in_[pos_] != ')') {
        return Error(absl::StrCat("unbalanced parentheses: \"(\" at offset ", open,
                                  " is never closed"));
      }
      ++pos_;
      --depth_;
      return inner;
    }
    const absl::string_view word = PeekWord();
    if (word.empty() || IsKeyword(word)) {
      return Error(absl::StrCat(AtEnd() ? "unexpected end of filter" : "unexpected token",
                                " at offset ", pos_, ": expected a field or \"(\", got ",
                                Found()));
    }
    absl::StatusOr<Comparison> comparison = ParseRestriction();
    if (!comparison.ok()) return comparison.status();
    FilterNode node;
    node.comparison = *std::move(comparison);
    return node;
  }

  // restriction = field comparator value
  absl::StatusOr<Comparison> ParseRestriction() {
    Comparison c;
    const size_t field_pos = pos_;
    const absl::string_view name = PeekWord();
    pos_ += name.size();
    if (name == "state") {
      c.field = FilterField::kState;
    } else if (name == "kind") {
      c.field = FilterField::kKind;
    } else if (name == "queue") {
      c.field = FilterField::kQueue;
    } else if (name == "create_time") {
      c.field = FilterField::kCreateTime;
    } else if (name == "update_time") {
      c.field = FilterField::kUpdateTime;
    } else if (absl::StartsWith(name, kLabelsPrefix)) {
      c.field = FilterField::kLabel;
      c.label_key = std::string(name.substr(kLabelsPrefix.size()));
      if (!IsValidLabelKey(c.label_key)) {
        return Error(absl::StrCat("invalid label key ", Shown(c.label_key), " at offset ",
                                  field_pos + kLabelsPrefix.size(),
                                  "; keys match [a-z][a-z0-9_-]{0,62}"));
      }
    } else if (name == "labels") {
      return Error(absl::StrCat("field \"labels\" at offset ", field_pos,
                                " needs a key, e.g. labels.env"));
    } else {
      return Error(absl::StrCat("unknown field ", Shown(name), " at offset ", field_pos,
                                "; known: ", kKnownFields));
    }
    if (++comparisons_ > kMaxFilterComparisons) {
      return Error(absl::StrCat("more than ", kMaxFilterComparisons,
                                " comparisons; the one at offset ", field_pos,
                                " is over the limit"));
    }

    SkipSpace();
    const size_t op_pos = pos_;
    const absl::string_view rest = in_.substr(pos_);
    bool has = false;  // ':' was used
    if (absl::StartsWith(rest, "<=")) {
      c.op = CompareOp::kLe;
    } else if (absl::StartsWith(rest, ">=")) {
      c.op = CompareOp::kGe;
    } else if (absl::StartsWith(rest, "!=")) {
      c.op = CompareOp::kNe;
    } else if (absl::StartsWith(rest, "=")) {
      c.op = CompareOp::kEq;
    } else if (absl::StartsWith(rest, "<")) {
      c.op = CompareOp::kLt;
    } else if (absl::StartsWith(rest, ">")) {
      c.op = CompareOp::kGt;
    } else if (absl::StartsWith(rest, ":")) {
      c.op = CompareOp::kHas;
      has = true;
    } else {
      return Error(absl::StrCat(AtEnd() ? "unexpected end of filter" : "unexpected token",
                                " at offset ", op_pos,
                                ": expected a comparison operator (=, !=, <, <=, >, >=, :) "
                                "after ",
                                Shown(name), ", got ", Found()));
    }
    const absl::string_view op_text = CompareOpName(c.op);
    pos_ += op_text.size();
    if (!AllowedOp(c.field, c.op)) {
      return Error(absl::StrCat("operator \"", op_text, "\" at offset ", op_pos,
                                " is not allowed for field \"", FilterFieldName(c.field),
                                "\"; allowed: ", AllowedOpsText(c.field)));
    }

    SkipSpace();
    const size_t value_pos = pos_;
    if (AtEnd()) {
      return Error(absl::StrCat("unexpected end of filter at offset ", pos_,
                                ": expected a value after \"", op_text, "\""));
    }
    if (in_[pos_] == '"') {
      absl::StatusOr<std::string> s = ParseString();
      if (!s.ok()) return s.status();
      c.value = *std::move(s);
    } else if (in_[pos_] == '*') {
      if (!has) {
        return Error(absl::StrCat("\"*\" at offset ", pos_,
                                  " is only allowed as labels.KEY:* (there are no wildcards; "
                                  "quote it to match a literal *)"));
      }
      ++pos_;
      return c;  // labels.KEY:*
    } else if (IsValueChar(in_[pos_])) {
      size_t end = pos_;
      while (end < in_.size() && IsValueChar(in_[end])) ++end;
      const absl::string_view word = in_.substr(pos_, end - pos_);
      if (IsKeyword(word)) {
        return Error(absl::StrCat("keyword ", word, " at offset ", pos_,
                                  " cannot be a value; quote it (\"", word,
                                  "\") to match the text"));
      }
      c.value = std::string(word);
      pos_ = end;
    } else {
      return Error(absl::StrCat("unexpected token at offset ", pos_, ": expected a value after \"",
                                op_text, "\", got ", Found()));
    }
    if (has) c.op = CompareOp::kEq;  // labels.KEY:"v" means labels.KEY = "v"

    switch (c.field) {
      case FilterField::kState: {
        absl::StatusOr<State> state = ParseState(c.value);
        if (!state.ok()) {
          return Error(absl::StrCat("unknown state ", Shown(c.value), " at offset ", value_pos,
                                    "; known: ", kKnownStates));
        }
        c.state = *state;
        break;
      }
      case FilterField::kCreateTime:
      case FilterField::kUpdateTime:
        if (!ParseRfc3339(c.value, &c.time)) {
          return Error(absl::StrCat("bad timestamp ", Shown(c.value), " at offset ", value_pos,
                                    " for ", FilterFieldName(c.field),
                                    "; expected RFC 3339 such as 2024-01-02T15:04:05Z or "
                                    "2024-01-02T17:04:05.5+02:00"));
        }
        break;
      default:
        break;
    }
    return c;
  }

  // string = '"' { char | escape } '"'; the cursor is on the opening quote.
  absl::StatusOr<std::string> ParseString() {
    const size_t open = pos_++;
    std::string out;
    while (!AtEnd()) {
      const char ch = in_[pos_];
      if (ch == '"') {
        ++pos_;
        // Stored text is UTF-8 without U+0000 (PostgreSQL's text holds nothing else), so no
        // other value could match; say so rather than fail (or, as a NUL would, get cut
        // short) in the database.
        if (absl::StrContains(out, '\0')) {
          return Error(absl::StrCat("string starting at offset ", open,
                                    " contains U+0000, which no stored value can contain"));
        }
        if (!IsValidUtf8(out)) {
          return Error(absl::StrCat("string starting at offset ", open, " is not valid UTF-8"));
        }
        return out;
      }
      if (ch != '\\') {
        out.push_back(ch);
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= in_.size()) break;
      switch (in_[pos_ + 1]) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        default:
          return Error(absl::StrCat("unknown escape ", Shown(in_.substr(pos_, 2)),
                                    " at offset ", pos_, "; use \\\", \\\\, \\n, \\r or \\t"));
      }
      pos_ += 2;
    }
    return Error(absl::StrCat("unterminated string starting at offset ", open));
  }

  absl::string_view in_;
  size_t pos_ = 0;
  int depth_ = 0;
  int comparisons_ = 0;
};

bool MatchesComparison(const Comparison& c, const Operation& op) {
  bool equal = false;
  switch (c.field) {
    case FilterField::kState:
      equal = op.state == c.state;
      break;
    case FilterField::kKind:
      equal = op.kind == c.value;
      break;
    case FilterField::kQueue:
      equal = op.queue == c.value;
      break;
    case FilterField::kLabel: {
      const auto it = op.labels.find(c.label_key);
      if (c.op == CompareOp::kHas) return it != op.labels.end();
      equal = it != op.labels.end() && it->second == c.value;
      break;
    }
    case FilterField::kCreateTime:
    case FilterField::kUpdateTime: {
      const absl::Time t = c.field == FilterField::kCreateTime ? op.create_time : op.update_time;
      switch (c.op) {
        case CompareOp::kLt: return t < c.time;
        case CompareOp::kLe: return t <= c.time;
        case CompareOp::kGt: return t > c.time;
        case CompareOp::kGe: return t >= c.time;
        default: equal = t == c.time; break;
      }
      break;
    }
  }
  return c.op == CompareOp::kNe ? !equal : equal;
}

std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out.push_back(ch); break;
    }
  }
  out.push_back('"');
  return out;
}

std::string FormatComparison(const Comparison& c) {
  const std::string field = c.field == FilterField::kLabel
                                ? absl::StrCat(kLabelsPrefix, c.label_key)
                                : std::string(FilterFieldName(c.field));
  if (c.op == CompareOp::kHas) return absl::StrCat(field, ":*");
  std::string value;
  switch (c.field) {
    case FilterField::kState:
      value = std::string(StateName(c.state));
      break;
    case FilterField::kCreateTime:
    case FilterField::kUpdateTime:
      value = absl::FormatTime(kTimeFormat, c.time, absl::UTCTimeZone());
      break;
    default:
      value = Quote(c.value);
      break;
  }
  return absl::StrCat(field, " ", CompareOpName(c.op), " ", value);
}

}  // namespace

absl::StatusOr<std::optional<FilterNode>> ParseFilter(absl::string_view filter) {
  return Parser(filter).Parse();
}

bool Matches(const FilterNode& filter, const Operation& op) {
  switch (filter.kind) {
    case FilterNode::Kind::kAnd:
      return std::all_of(filter.children.begin(), filter.children.end(),
                         [&](const FilterNode& child) { return Matches(child, op); });
    case FilterNode::Kind::kOr:
      return std::any_of(filter.children.begin(), filter.children.end(),
                         [&](const FilterNode& child) { return Matches(child, op); });
    case FilterNode::Kind::kNot:
      return !filter.children.empty() && !Matches(filter.children[0], op);
    case FilterNode::Kind::kCompare:
      return MatchesComparison(filter.comparison, op);
  }
  return false;
}

std::string FormatFilter(const FilterNode& filter) {
  using Kind = FilterNode::Kind;
  switch (filter.kind) {
    case Kind::kCompare:
      return FormatComparison(filter.comparison);
    case Kind::kNot: {
      if (filter.children.empty()) return "NOT ()";
      const FilterNode& child = filter.children[0];
      return child.kind == Kind::kCompare ? absl::StrCat("NOT ", FormatFilter(child))
                                          : absl::StrCat("NOT (", FormatFilter(child), ")");
    }
    case Kind::kAnd:
    case Kind::kOr: {
      // Nested groups are always parenthesized, even an OR inside an AND where AIP-160
      // precedence makes that redundant: most readers assume AND binds tighter.
      std::vector<std::string> parts;
      for (const FilterNode& child : filter.children) {
        const bool group = child.kind == Kind::kAnd || child.kind == Kind::kOr;
        parts.push_back(group ? absl::StrCat("(", FormatFilter(child), ")")
                              : FormatFilter(child));
      }
      return absl::StrJoin(parts, filter.kind == Kind::kAnd ? " AND " : " OR ");
    }
  }
  return "";
}

absl::string_view FilterFieldName(FilterField field) {
  switch (field) {
    case FilterField::kState: return "state";
    case FilterField::kKind: return "kind";
    case FilterField::kQueue: return "queue";
    case FilterField::kLabel: return "labels";
    case FilterField::kCreateTime: return "create_time";
    case FilterField::kUpdateTime: return "update_time";
  }
  return "unknown";
}

absl::string_view CompareOpName(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return "=";
    case CompareOp::kNe: return "!=";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
    case CompareOp::kHas: return ":";
  }
  return "?";
}

}  // namespace longrun::core
