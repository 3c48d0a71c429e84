#include "libs/core/struct_json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace longrun::core {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

void AppendString(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (u < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[u >> 4]);
          out->push_back(kHex[u & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendNumber(double d, std::string* out) {
  if (std::isnan(d)) {
    out->append("\"NaN\"");
    return;
  }
  if (std::isinf(d)) {
    out->append(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  char buf[32];
  // Shortest representation that parses back to the same double ("3", "0.1", "1e+21").
  const auto r = std::to_chars(buf, buf + sizeof(buf), d);
  out->append(buf, r.ptr);
}

void AppendValue(const Value& v, std::string* out);

void AppendList(const ListValue& l, std::string* out) {
  out->push_back('[');
  bool first = true;
  for (const Value& v : l.values()) {
    if (!first) out->push_back(',');
    first = false;
    AppendValue(v, out);
  }
  out->push_back(']');
}

void AppendValue(const Value& v, std::string* out) {
  switch (v.kind_case()) {
    case Value::kNumberValue: AppendNumber(v.number_value(), out); break;
    case Value::kStringValue: AppendString(v.string_value(), out); break;
    case Value::kBoolValue: out->append(v.bool_value() ? "true" : "false"); break;
    case Value::kStructValue: AppendStructJson(v.struct_value(), out); break;
    case Value::kListValue: AppendList(v.list_value(), out); break;
    case Value::kNullValue:
    case Value::KIND_NOT_SET: out->append("null"); break;
  }
}

class Parser {
 public:
  explicit Parser(absl::string_view in) : in_(in) {}

  absl::Status ParseTop(Struct* s) {
    SkipSpace();
    if (!Peek('{')) return Error("a JSON object");
    if (!ParseObject(s, 1)) return status_;
    return AtEnd();
  }

  absl::Status ParseTop(Value* v) {
    if (!ParseValue(v, 0)) return status_;
    return AtEnd();
  }

 private:
  bool ParseObject(Struct* s, int depth) {
    if (depth > kMaxJsonDepth) return Fail(absl::StrCat("at most ", kMaxJsonDepth, " levels of nesting"));
    ++pos_;  // '{'
    SkipSpace();
    if (Consume('}')) return true;
    for (;;) {
      SkipSpace();
      std::string key;
      if (!Peek('"')) return Fail("a string key");
      if (!ParseString(&key)) return false;
      SkipSpace();
      if (!Consume(':')) return Fail("':'");
      Value& v = (*s->mutable_fields())[key];
      v.Clear();  // a repeated key: the last one wins
      if (!ParseValue(&v, depth)) return false;
      SkipSpace();
      if (Consume('}')) return true;
      if (!Consume(',')) return Fail("',' or '}'");
    }
  }

  bool ParseList(ListValue* l, int depth) {
    if (depth > kMaxJsonDepth) return Fail(absl::StrCat("at most ", kMaxJsonDepth, " levels of nesting"));
    ++pos_;  // '['
    SkipSpace();
    if (Consume(']')) return true;
    for (;;) {
      if (!ParseValue(l->add_values(), depth)) return false;
      SkipSpace();
      if (Consume(']')) return true;
      if (!Consume(',')) return Fail("',' or ']'");
    }
  }

  bool ParseValue(Value* v, int depth) {
    SkipSpace();
    if (pos_ >= in_.size()) return Fail("a value");
    switch (in_[pos_]) {
      case '{': return ParseObject(v->mutable_struct_value(), depth + 1);
      case '[': return ParseList(v->mutable_list_value(), depth + 1);
      case '"': return ParseString(v->mutable_string_value());
      case 't': return Literal("true") && (v->set_bool_value(true), true);
      case 'f': return Literal("false") && (v->set_bool_value(false), true);
      case 'n': return Literal("null") && (v->set_null_value(google::protobuf::NULL_VALUE), true);
      default: return ParseNumber(v);
    }
  }

  bool Literal(absl::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return Fail("a value");
    pos_ += word.size();
    return true;
  }

  bool ParseNumber(Value* v) {
    // RFC 8259 grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    const size_t start = pos_;
    auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') ++pos_;
      return pos_ > from;
    };
    Consume('-');
    if (Consume('0')) {
      // no leading zeros
    } else if (!digits()) {
      pos_ = start;
      return Fail("a value");
    }
    if (Consume('.') && !digits()) return Fail("a digit after '.'");
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      if (!Consume('+')) Consume('-');
      if (!digits()) return Fail("a digit in the exponent");
    }
    // strtod needs a terminated string; numbers are short.
    const std::string text(in_.substr(start, pos_ - start));
    const double d = std::strtod(text.c_str(), nullptr);
    if (std::isinf(d)) {
      pos_ = start;
      return Fail("a number within the range of a double");
    }
    v->set_number_value(d);
    return true;
  }

  bool ParseString(std::string* out) {
    ++pos_;  // '"'
    for (;;) {
      // Copy the run up to the next quote, backslash or control character at once.
      const size_t from = pos_;
      while (pos_ < in_.size() && in_[pos_] != '"' && in_[pos_] != '\\' &&
             static_cast<unsigned char>(in_[pos_]) >= 0x20) {
        ++pos_;
      }
      out->append(in_.data() + from, pos_ - from);
      if (pos_ >= in_.size()) return Fail("'\"' closing the string");
      const char c = in_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        --pos_;
        return Fail("no raw control character in a string");
      }
      if (pos_ >= in_.size()) return Fail("an escape");
      switch (in_[pos_++]) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by an escaped low surrogate.
            uint32_t low = 0;
            if (!(Consume('\\') && Consume('u')) || !Hex4(&low) || low < 0xDC00 || low > 0xDFFF) {
              return Fail("a low surrogate after a high surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Fail("no lone low surrogate");
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          --pos_;
          return Fail("a valid escape");
      }
    }
  }

  bool Hex4(uint32_t* cp) {
    if (pos_ + 4 > in_.size()) return Fail("four hex digits");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = in_[pos_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return Fail("four hex digits");
    }
    pos_ += 4;
    *cp = v;
    return true;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  absl::Status AtEnd() {
    SkipSpace();
    if (pos_ != in_.size()) return Error("the end of the input");
    return absl::OkStatus();
  }

  void SkipSpace() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\n' || in_[pos_] == '\r' || in_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool Peek(char c) const { return pos_ < in_.size() && in_[pos_] == c; }
  bool Consume(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  absl::Status Error(absl::string_view expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON at byte ", pos_, ": expected ", expected));
  }
  bool Fail(absl::string_view expected) {
    if (status_.ok()) status_ = Error(expected);
    return false;
  }

  absl::string_view in_;
  size_t pos_ = 0;
  absl::Status status_;
};

}  // namespace

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<size_t>(n) >= s.size()) return false;  // truncated sequence
    for (int k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

namespace {

absl::Status NotStorable(absl::string_view path, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", why));
}

absl::Status CheckString(absl::string_view s, absl::string_view path) {
  if (s.find('\0') != absl::string_view::npos) {
    return NotStorable(path, "contains U+0000, which PostgreSQL's jsonb cannot store; remove "
                             "it or encode the data (e.g. base64)");
  }
  if (!IsValidUtf8(s)) return NotStorable(path, "is not valid UTF-8");
  return absl::OkStatus();
}

absl::Status CheckValue(const Value& v, const std::string& path);

absl::Status CheckStruct(const Struct& s, const std::string& path) {
  for (const auto& [key, child] : s.fields()) {
    if (absl::Status st = CheckString(key, absl::StrCat(path, " key")); !st.ok()) return st;
    if (absl::Status st = CheckValue(child, absl::StrCat(path, ".", key)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status CheckValue(const Value& v, const std::string& path) {
  switch (v.kind_case()) {
    case Value::kNumberValue:
      if (!std::isfinite(v.number_value())) {
        return NotStorable(path, absl::StrCat("is ", v.number_value(),
                                              "; JSON numbers must be finite"));
      }
      return absl::OkStatus();
    case Value::kStringValue:
      return CheckString(v.string_value(), path);
    case Value::kListValue:
      for (int i = 0; i < v.list_value().values_size(); ++i) {
        if (absl::Status st = CheckValue(v.list_value().values(i), absl::StrCat(path, "[", i, "]"));
            !st.ok()) {
          return st;
        }
      }
      return absl::OkStatus();
    case Value::kStructValue:
      return CheckStruct(v.struct_value(), path);
    default:
      return absl::OkStatus();
  }
}

}  // namespace

absl::Status CheckJsonStorable(const Struct& s, absl::string_view path) {
  return CheckStruct(s, std::string(path));
}

void AppendStructJson(const Struct& s, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const auto& [key, value] : s.fields()) {
    if (!first) out->push_back(',');
    first = false;
    AppendString(key, out);
    out->push_back(':');
    AppendValue(value, out);
  }
  out->push_back('}');
}

std::string StructToJson(const Struct& s) {
  std::string out;
  AppendStructJson(s, &out);
  return out;
}

absl::StatusOr<Value> ValueFromJson(absl::string_view json) {
  Value v;
  Parser p(json);
  if (absl::Status st = p.ParseTop(&v); !st.ok()) return st;
  return v;
}

absl::StatusOr<Struct> StructFromJson(absl::string_view json) {
  Struct s;
  Parser p(json);
  if (absl::Status st = p.ParseTop(&s); !st.ok()) return st;
  return s;
}

}  // namespace longrun::core
