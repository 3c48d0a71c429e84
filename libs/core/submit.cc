#include "libs/core/submit.h"

#include <openssl/sha.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "libs/common/status_macros.h"
#include "libs/core/struct_json.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace longrun::core {
namespace {

bool IsKindChar(char c) {
  return absl::ascii_islower(static_cast<unsigned char>(c)) ||
         absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

std::string Shown(absl::string_view s) {
  return absl::StrCat("\"", absl::CHexEscape(s.substr(0, 64)), s.size() > 64 ? "...\"" : "\"");
}

// True if `s` (at `depth` levels) or anything in it is more than kMaxInputDepth deep. The
// recursion stops there, whatever the input.
bool TooDeep(const google::protobuf::Struct& s, int depth);

bool TooDeep(const google::protobuf::Value& v, int depth) {
  if (v.has_struct_value()) return TooDeep(v.struct_value(), depth + 1);
  if (!v.has_list_value()) return false;
  if (depth + 1 > kMaxInputDepth) return true;
  for (const google::protobuf::Value& item : v.list_value().values()) {
    if (TooDeep(item, depth + 1)) return true;
  }
  return false;
}

bool TooDeep(const google::protobuf::Struct& s, int depth) {
  if (depth > kMaxInputDepth) return true;
  for (const auto& [key, value] : s.fields()) {
    if (TooDeep(value, depth)) return true;
  }
  return false;
}

}  // namespace

absl::Status InputTooDeepError() {
  return Invalid("input", absl::StrCat("objects and lists nest more than ", kMaxInputDepth,
                                       " levels deep; the limit is ", kMaxInputDepth));
}

bool SerializedInputTooDeep(absl::string_view message, int input_field) {
  // The message: `input_field` is a Struct. google.protobuf.Struct: 1 fields (map entries:
  // 1 key, 2 Value). Value: 5 struct_value, 6 list_value, other kinds are leaves. ListValue:
  // 1 values. Every message on the stack is read once; nested ones are skipped by length
  // and read when popped.
  enum class Type { kMessage, kStruct, kEntry, kValue, kList };
  struct Pending {
    absl::string_view bytes;
    Type type;
    int depth;  // levels of objects and lists down to this message
  };
  std::vector<Pending> stack = {{message, Type::kMessage, 0}};
  while (!stack.empty()) {
    const Pending m = stack.back();
    stack.pop_back();
    if (m.depth > kMaxInputDepth) return true;
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(m.bytes.data()),
                                              static_cast<int>(m.bytes.size()));
    while (true) {
      const uint32_t tag = in.ReadTag();
      if (tag == 0) break;  // end, or malformed
      const uint32_t field = tag >> 3;
      bool ok = true;
      switch (tag & 7) {
        case 0: {  // varint
          uint64_t unused;
          ok = in.ReadVarint64(&unused);
          break;
        }
        case 1: ok = in.Skip(8); break;
        case 5: ok = in.Skip(4); break;
        case 2: {  // length-delimited: maybe a nested message
          uint32_t length = 0;
          ok = in.ReadVarint32(&length);
          const auto start = static_cast<size_t>(in.CurrentPosition());
          ok = ok && length <= m.bytes.size() - start;
          if (!ok) break;
          const absl::string_view inner = m.bytes.substr(start, length);
          if (m.type == Type::kMessage && field == static_cast<uint32_t>(input_field)) {
            stack.push_back({inner, Type::kStruct, 1});
          } else if (m.type == Type::kStruct && field == 1) {
            stack.push_back({inner, Type::kEntry, m.depth});
          } else if (m.type == Type::kEntry && field == 2) {
            stack.push_back({inner, Type::kValue, m.depth});
          } else if (m.type == Type::kValue && field == 5) {
            stack.push_back({inner, Type::kStruct, m.depth + 1});
          } else if (m.type == Type::kValue && field == 6) {
            stack.push_back({inner, Type::kList, m.depth + 1});
          } else if (m.type == Type::kList && field == 1) {
            stack.push_back({inner, Type::kValue, m.depth});
          }
          ok = in.Skip(static_cast<int>(length));
          break;
        }
        default:  // groups: none of these messages has one
          ok = false;
          break;
      }
      if (!ok) break;
    }
  }
  return false;
}

bool IsValidKind(absl::string_view kind) {
  if (kind.empty() || kind.size() > 64) return false;
  const unsigned char first = static_cast<unsigned char>(kind[0]);
  if (!absl::ascii_islower(first) && !absl::ascii_isdigit(first)) return false;
  for (char c : kind) {
    if (!IsKindChar(c)) return false;
  }
  return true;
}

bool IsValidLabelKey(absl::string_view key) {
  if (key.empty() || key.size() > 63) return false;
  if (!absl::ascii_islower(static_cast<unsigned char>(key[0]))) return false;
  for (char c : key) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

absl::Status ValidateKindName(absl::string_view field, absl::string_view value) {
  if (IsValidKind(value)) return absl::OkStatus();
  return Invalid(field, absl::StrCat(Shown(value), " must match [a-z0-9][a-z0-9._-]{0,63}"));
}

absl::Status ValidateSubmit(const SubmitSpec& spec, const SubmitLimits& limits, absl::Time now) {
  if (spec.kind.empty()) return Invalid("kind", "is required, e.g. \"demo.echo\"");
  LONGRUN_RETURN_IF_ERROR(ValidateKindName("kind", spec.kind));
  const int64_t input_bytes = static_cast<int64_t>(spec.input.ByteSizeLong());
  if (input_bytes > limits.max_input_bytes) {
    return Invalid("input", absl::StrCat("is ", input_bytes, " bytes serialized; the limit is ",
                                         limits.max_input_bytes, " bytes"));
  }
  if (TooDeep(spec.input, 1)) return InputTooDeepError();
  LONGRUN_RETURN_IF_ERROR(CheckJsonStorable(spec.input, "input"));
  if (!spec.request_id.empty()) {
    if (spec.request_id.size() > 128) {
      return Invalid("request_id", "must be 1-128 printable ASCII characters (a UUID is "
                                   "recommended); got " + std::to_string(spec.request_id.size()) +
                                   " characters");
    }
    for (char c : spec.request_id) {
      if (c < 0x20 || c > 0x7e) {
        return Invalid("request_id", "must be printable ASCII (0x20-0x7e)");
      }
    }
  }
  if (!spec.queue.empty()) LONGRUN_RETURN_IF_ERROR(ValidateKindName("queue", spec.queue));
  if (spec.priority < limits.min_priority || spec.priority > limits.max_priority) {
    return Invalid("priority", absl::StrCat(spec.priority, " is outside ", limits.min_priority,
                                            "..", limits.max_priority));
  }
  if (spec.max_attempts < 0 || spec.max_attempts > limits.max_max_attempts) {
    return Invalid("max_attempts",
                   absl::StrCat(spec.max_attempts, " is outside 1..", limits.max_max_attempts,
                                " (0 means the default, ", limits.default_max_attempts, ")"));
  }
  if (spec.timeout.has_value() &&
      (*spec.timeout < limits.min_timeout || *spec.timeout > limits.max_timeout)) {
    return Invalid("timeout", absl::StrCat(absl::FormatDuration(*spec.timeout), " is outside ",
                                           absl::FormatDuration(limits.min_timeout), "..",
                                           absl::FormatDuration(limits.max_timeout)));
  }
  if (spec.schedule_time.has_value() && *spec.schedule_time > now + limits.max_schedule_ahead) {
    return Invalid("schedule_time",
                   absl::StrCat("is more than ", absl::FormatDuration(limits.max_schedule_ahead),
                                " in the future"));
  }
  if (static_cast<int>(spec.labels.size()) > limits.max_labels) {
    return Invalid("labels", absl::StrCat("has ", spec.labels.size(), " entries; the limit is ",
                                          limits.max_labels));
  }
  for (const auto& [key, value] : spec.labels) {
    if (!IsValidLabelKey(key)) {
      return Invalid(absl::StrCat("labels"),
                     absl::StrCat("key ", Shown(key), " must match [a-z][a-z0-9_-]{0,62}"));
    }
    if (absl::StrContains(value, '\0')) {
      return Invalid(absl::StrCat("labels.", key),
                     "contains U+0000, which PostgreSQL's jsonb cannot store");
    }
    if (static_cast<int>(value.size()) > limits.max_label_value_bytes) {
      return Invalid(absl::StrCat("labels.", key),
                     absl::StrCat("value is ", value.size(), " bytes; the limit is ",
                                  limits.max_label_value_bytes));
    }
  }
  return absl::OkStatus();
}

std::string SubmitFingerprint(const SubmitSpec& spec, const SubmitLimits& limits) {
  std::string input_bytes;
  {
    google::protobuf::io::StringOutputStream raw(&input_bytes);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    spec.input.SerializeToCodedStream(&coded);
  }
  // Length-prefixed fields, so no two different requests encode the same way.
  std::string buf;
  auto add = [&buf](absl::string_view field) {
    absl::StrAppend(&buf, field.size(), ":", field, ";");
  };
  add(spec.kind);
  add(input_bytes);
  add(spec.queue.empty() ? kDefaultQueue : absl::string_view(spec.queue));
  add(absl::StrCat(spec.priority));
  add(absl::StrCat(spec.max_attempts == 0 ? limits.default_max_attempts : spec.max_attempts));
  add(spec.timeout ? absl::StrCat(absl::ToInt64Microseconds(*spec.timeout)) : "-");
  add(spec.schedule_time ? absl::StrCat(absl::ToUnixMicros(*spec.schedule_time)) : "-");
  add(absl::StrCat(spec.labels.size()));
  for (const auto& [k, v] : spec.labels) {  // std::map: sorted
    add(k);
    add(v);
  }
  // Only when set, so requests without a callback keep the fingerprints stored before
  // callbacks existed.
  if (spec.callback) {
    add("callback");
    add(spec.callback->url);
    add(CallbackEventsName(spec.callback->events));
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(buf.data()), buf.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace longrun::core
