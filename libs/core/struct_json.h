// JSON text <-> google.protobuf.Struct, without protobuf's JSON converter.
//
// Inputs, responses and labels travel between the services and PostgreSQL (jsonb) as JSON
// text. protobuf's util::JsonStringToMessage / MessageToJsonString go through a generic,
// reflection-driven converter that allocates heavily; in drain profiles they were the
// largest part of the worker's own CPU. Struct is a small closed type, so a direct
// conversion is short and several times cheaper.
//
// The output is standard JSON: numbers in the shortest form that reads back to the same
// double, non-finite numbers (which JSON cannot express) as the strings "NaN", "Infinity"
// and "-Infinity" like protobuf's converter, strings escaped as RFC 8259 requires.
#ifndef LONGRUN_CORE_STRUCT_JSON_H_
#define LONGRUN_CORE_STRUCT_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace longrun::core {

// Appends `s` as a JSON object to *out.
void AppendStructJson(const google::protobuf::Struct& s, std::string* out);
std::string StructToJson(const google::protobuf::Struct& s);

// Parses a JSON object (RFC 8259; at most kMaxJsonDepth levels of nesting).
// INVALID_ARGUMENT, naming the byte offset, for anything else.
absl::StatusOr<google::protobuf::Struct> StructFromJson(absl::string_view json);
// Any JSON value (e.g. an array), with the same rules.
absl::StatusOr<google::protobuf::Value> ValueFromJson(absl::string_view json);

inline constexpr int kMaxJsonDepth = 100;

// True if `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF), as PostgreSQL requires of text.
bool IsValidUtf8(absl::string_view s);

// OK if PostgreSQL's jsonb can store `s`: every number finite, every string and key valid
// UTF-8 without U+0000. Otherwise INVALID_ARGUMENT "<path>.<where>: <why>", e.g.
// "input.a.b[1]: is nan; JSON numbers must be finite".
absl::Status CheckJsonStorable(const google::protobuf::Struct& s, absl::string_view path);

}  // namespace longrun::core

#endif  // LONGRUN_CORE_STRUCT_JSON_H_
