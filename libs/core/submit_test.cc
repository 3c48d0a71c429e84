#include "libs/core/submit.h"

#include <cmath>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"

namespace longrun::core {
namespace {

using ::google::protobuf::ListValue;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

// A spec that passes every rule with the default limits.
SubmitSpec ValidSpec() {
  SubmitSpec s;
  s.kind = "demo.echo";
  (*s.input.mutable_fields())["message"].set_string_value("hello");
  (*s.input.mutable_fields())["count"].set_number_value(3);
  s.request_id = "3f0c1a2e-5b7d-4c8e-9f10-1a2b3c4d5e6f";
  s.queue = "batch";
  s.priority = 10;
  s.max_attempts = 3;
  s.timeout = absl::Minutes(5);
  s.schedule_time = kNow + absl::Hours(1);
  s.labels = {{"env", "prod"}, {"team", "infra"}};
  return s;
}

// A Struct whose serialized size is exactly `bytes` (>= 16).
Struct StructOfSize(int64_t bytes) {
  Struct s;
  Value& v = (*s.mutable_fields())["blob"];
  // Start at the target and shrink until the encoding (whose length prefixes grow with the
  // payload) lands exactly on it.
  for (int64_t n = bytes; n >= 0; --n) {
    v.set_string_value(std::string(static_cast<size_t>(n), 'x'));
    if (static_cast<int64_t>(s.ByteSizeLong()) == bytes) return s;
  }
  ADD_FAILURE() << "cannot build a Struct of exactly " << bytes << " bytes";
  return s;
}

// An input whose objects nest `depth` levels deep: {"a": {"a": ... {"leaf": 1}}}.
Struct NestedObjects(int depth) {
  Struct top;
  Struct* s = &top;
  for (int level = 1; level < depth; ++level) {
    s = (*s->mutable_fields())["a"].mutable_struct_value();
  }
  (*s->mutable_fields())["leaf"].set_number_value(1);
  return top;
}

// An input with one object and lists below it, `depth` levels in all: {"a": [[...[1]]]}.
Struct NestedLists(int depth) {
  Struct top;
  Value* v = &(*top.mutable_fields())["a"];
  for (int level = 2; level <= depth; ++level) v = v->mutable_list_value()->add_values();
  v->set_number_value(1);
  return top;
}

// Objects and lists taking turns, `depth` levels: {"a": ["sibling", {"a": ["sibling", ...]}]}.
Struct NestedMixed(int depth) {
  Struct top;
  Struct* object = &top;      // the innermost container is an object...
  ListValue* list = nullptr;  // ...or a list
  for (int level = 2; level <= depth; ++level) {
    Value* child = object != nullptr ? &(*object->mutable_fields())["a"] : list->add_values();
    if (level % 2 == 0) {
      list = child->mutable_list_value();
      list->add_values()->set_string_value("sibling");
      object = nullptr;
    } else {
      object = child->mutable_struct_value();
      list = nullptr;
    }
  }
  return top;
}

std::map<std::string, std::string> NLabels(int n) {
  std::map<std::string, std::string> m;
  for (int i = 0; i < n; ++i) m[absl::StrCat("k", i)] = "v";
  return m;
}

constexpr int64_t kSmallInputLimit = 200;

struct ValidateCase {
  std::string name;
  std::function<void(SubmitSpec&, SubmitLimits&)> mutate;
  absl::StatusCode code;    // kOk: must pass
  std::string field;        // must appear in the message when code != kOk
  std::string also = "";    // optional extra substring of the message
};

std::vector<ValidateCase> ValidateCases() {
  using C = absl::StatusCode;
  constexpr C kOk = C::kOk;
  constexpr C kBad = C::kInvalidArgument;
  return {
      {"baseline", [](SubmitSpec&, SubmitLimits&) {}, kOk, ""},
      {"all_optional_unset",
       [](SubmitSpec& s, SubmitLimits&) {
         SubmitSpec bare;
         bare.kind = s.kind;
         s = bare;
       },
       kOk, ""},

      // kind: required, [a-z0-9][a-z0-9._-]{0,63}
      {"kind_empty", [](SubmitSpec& s, SubmitLimits&) { s.kind = ""; }, kBad, "kind",
       "required"},
      {"kind_upper", [](SubmitSpec& s, SubmitLimits&) { s.kind = "Demo.echo"; }, kBad, "kind"},
      {"kind_upper_inside", [](SubmitSpec& s, SubmitLimits&) { s.kind = "demo.Echo"; }, kBad,
       "kind"},
      {"kind_leading_dot", [](SubmitSpec& s, SubmitLimits&) { s.kind = ".demo"; }, kBad, "kind"},
      {"kind_leading_dash", [](SubmitSpec& s, SubmitLimits&) { s.kind = "-demo"; }, kBad, "kind"},
      {"kind_leading_underscore", [](SubmitSpec& s, SubmitLimits&) { s.kind = "_demo"; }, kBad,
       "kind"},
      {"kind_space", [](SubmitSpec& s, SubmitLimits&) { s.kind = "demo echo"; }, kBad, "kind"},
      {"kind_slash", [](SubmitSpec& s, SubmitLimits&) { s.kind = "demo/echo"; }, kBad, "kind"},
      {"kind_non_ascii", [](SubmitSpec& s, SubmitLimits&) { s.kind = "d\xc3\xa9mo"; }, kBad,
       "kind"},
      {"kind_nul", [](SubmitSpec& s, SubmitLimits&) { s.kind = std::string("de\0mo", 5); }, kBad,
       "kind"},
      {"kind_digit_first_ok", [](SubmitSpec& s, SubmitLimits&) { s.kind = "0demo"; }, kOk, ""},
      {"kind_single_char_ok", [](SubmitSpec& s, SubmitLimits&) { s.kind = "a"; }, kOk, ""},
      {"kind_all_classes_ok", [](SubmitSpec& s, SubmitLimits&) { s.kind = "a9._-z"; }, kOk, ""},
      {"kind_len_64_ok", [](SubmitSpec& s, SubmitLimits&) { s.kind = std::string(64, 'k'); }, kOk,
       ""},
      {"kind_len_65", [](SubmitSpec& s, SubmitLimits&) { s.kind = std::string(65, 'k'); }, kBad,
       "kind"},

      // input: serialized size <= max_input_bytes
      {"input_at_limit_ok",
       [](SubmitSpec& s, SubmitLimits& l) {
         l.max_input_bytes = kSmallInputLimit;
         s.input = StructOfSize(kSmallInputLimit);
       },
       kOk, ""},
      {"input_just_under_limit_ok",
       [](SubmitSpec& s, SubmitLimits& l) {
         l.max_input_bytes = kSmallInputLimit;
         s.input = StructOfSize(kSmallInputLimit - 1);
       },
       kOk, ""},
      {"input_just_over_limit",
       [](SubmitSpec& s, SubmitLimits& l) {
         l.max_input_bytes = kSmallInputLimit;
         s.input = StructOfSize(kSmallInputLimit + 1);
       },
       kBad, "input", absl::StrCat(kSmallInputLimit)},
      {"input_empty_ok_with_zero_limit",
       [](SubmitSpec& s, SubmitLimits& l) {
         l.max_input_bytes = 0;
         s.input.Clear();
       },
       kOk, ""},

      // input is stored as jsonb: finite numbers only, no U+0000 anywhere
      {"input_nan",
       [](SubmitSpec& s, SubmitLimits&) {
         (*s.input.mutable_fields())["x"].set_number_value(std::nan(""));
       },
       kBad, "input.x", "finite"},
      {"input_infinity_nested",
       [](SubmitSpec& s, SubmitLimits&) {
         auto* list = (*(*s.input.mutable_fields())["a"].mutable_struct_value()->mutable_fields())["b"]
                          .mutable_list_value();
         list->add_values()->set_number_value(1);
         list->add_values()->set_number_value(-HUGE_VAL);
       },
       kBad, "input.a.b[1]", "finite"},
      {"input_nul_in_string",
       [](SubmitSpec& s, SubmitLimits&) {
         (*s.input.mutable_fields())["s"].set_string_value(std::string("a\0b", 3));
       },
       kBad, "input.s", "U+0000"},
      {"input_nul_in_key",
       [](SubmitSpec& s, SubmitLimits&) {
         (*s.input.mutable_fields())[std::string("k\0", 2)].set_bool_value(true);
       },
       kBad, "input", "U+0000"},
      {"input_huge_finite_ok",
       [](SubmitSpec& s, SubmitLimits&) {
         (*s.input.mutable_fields())["x"].set_number_value(1e308);
       },
       kOk, ""},
      // input: objects and lists nest at most kMaxInputDepth (32) levels
      {"input_objects_at_depth_limit_ok",
       [](SubmitSpec& s, SubmitLimits&) { s.input = NestedObjects(kMaxInputDepth); }, kOk, ""},
      {"input_objects_over_depth_limit",
       [](SubmitSpec& s, SubmitLimits&) { s.input = NestedObjects(kMaxInputDepth + 1); }, kBad,
       "input", "nest more than 32 levels deep; the limit is 32"},
      {"input_lists_at_depth_limit_ok",
       [](SubmitSpec& s, SubmitLimits&) { s.input = NestedLists(kMaxInputDepth); }, kOk, ""},
      {"input_lists_over_depth_limit",
       [](SubmitSpec& s, SubmitLimits&) { s.input = NestedLists(kMaxInputDepth + 1); }, kBad,
       "input", "the limit is 32"},
      {"input_empty_list_over_depth_limit",
       [](SubmitSpec& s, SubmitLimits&) {
         s.input = NestedLists(kMaxInputDepth);
         Value* v = &(*s.input.mutable_fields())["a"];
         while (v->has_list_value()) v = v->mutable_list_value()->mutable_values(0);
         v->mutable_list_value();  // [] one level deeper
       },
       kBad, "input", "the limit is 32"},
      {"input_mixed_over_depth_limit",
       [](SubmitSpec& s, SubmitLimits&) { s.input = NestedMixed(kMaxInputDepth + 1); }, kBad,
       "input", "the limit is 32"},
      {"input_mixed_at_depth_limit_ok",
       [](SubmitSpec& s, SubmitLimits&) { s.input = NestedMixed(kMaxInputDepth); }, kOk, ""},
      {"label_value_nul",
       [](SubmitSpec& s, SubmitLimits&) { s.labels["team"] = std::string("a\0", 2); }, kBad,
       "labels.team", "U+0000"},

      // request_id: optional, 1-128 printable ASCII
      {"request_id_empty_ok", [](SubmitSpec& s, SubmitLimits&) { s.request_id = ""; }, kOk, ""},
      {"request_id_len_128_ok",
       [](SubmitSpec& s, SubmitLimits&) { s.request_id = std::string(128, 'r'); }, kOk, ""},
      {"request_id_len_129",
       [](SubmitSpec& s, SubmitLimits&) { s.request_id = std::string(129, 'r'); }, kBad,
       "request_id"},
      {"request_id_printable_edges_ok",
       [](SubmitSpec& s, SubmitLimits&) { s.request_id = " ~!Az09{}"; }, kOk, ""},
      {"request_id_newline", [](SubmitSpec& s, SubmitLimits&) { s.request_id = "abc\ndef"; },
       kBad, "request_id"},
      {"request_id_tab", [](SubmitSpec& s, SubmitLimits&) { s.request_id = "\tabc"; }, kBad,
       "request_id"},
      {"request_id_nul",
       [](SubmitSpec& s, SubmitLimits&) { s.request_id = std::string("ab\0c", 4); }, kBad,
       "request_id"},
      {"request_id_del", [](SubmitSpec& s, SubmitLimits&) { s.request_id = "abc\x7f"; }, kBad,
       "request_id"},
      {"request_id_utf8", [](SubmitSpec& s, SubmitLimits&) { s.request_id = "r\xc3\xa9q"; },
       kBad, "request_id"},

      // queue: optional, same pattern as kind
      {"queue_empty_ok", [](SubmitSpec& s, SubmitLimits&) { s.queue = ""; }, kOk, ""},
      {"queue_default_ok", [](SubmitSpec& s, SubmitLimits&) { s.queue = "default"; }, kOk, ""},
      {"queue_upper", [](SubmitSpec& s, SubmitLimits&) { s.queue = "Batch"; }, kBad, "queue"},
      {"queue_leading_dash", [](SubmitSpec& s, SubmitLimits&) { s.queue = "-batch"; }, kBad,
       "queue"},
      {"queue_space", [](SubmitSpec& s, SubmitLimits&) { s.queue = "my queue"; }, kBad, "queue"},
      {"queue_len_64_ok", [](SubmitSpec& s, SubmitLimits&) { s.queue = std::string(64, 'q'); },
       kOk, ""},
      {"queue_len_65", [](SubmitSpec& s, SubmitLimits&) { s.queue = std::string(65, 'q'); },
       kBad, "queue"},

      // priority: [min_priority, max_priority]
      {"priority_min_ok", [](SubmitSpec& s, SubmitLimits&) { s.priority = -1000; }, kOk, ""},
      {"priority_max_ok", [](SubmitSpec& s, SubmitLimits&) { s.priority = 1000; }, kOk, ""},
      {"priority_below_min", [](SubmitSpec& s, SubmitLimits&) { s.priority = -1001; }, kBad,
       "priority"},
      {"priority_above_max", [](SubmitSpec& s, SubmitLimits&) { s.priority = 1001; }, kBad,
       "priority"},
      {"priority_int_min",
       [](SubmitSpec& s, SubmitLimits&) { s.priority = std::numeric_limits<int32_t>::min(); },
       kBad, "priority"},
      {"priority_int_max",
       [](SubmitSpec& s, SubmitLimits&) { s.priority = std::numeric_limits<int32_t>::max(); },
       kBad, "priority"},
      {"priority_custom_limits",
       [](SubmitSpec& s, SubmitLimits& l) {
         l.min_priority = 0;
         l.max_priority = 5;
         s.priority = 6;
       },
       kBad, "priority"},

      // max_attempts: 0 (default) or 1..max_max_attempts
      {"max_attempts_zero_ok", [](SubmitSpec& s, SubmitLimits&) { s.max_attempts = 0; }, kOk, ""},
      {"max_attempts_one_ok", [](SubmitSpec& s, SubmitLimits&) { s.max_attempts = 1; }, kOk, ""},
      {"max_attempts_max_ok", [](SubmitSpec& s, SubmitLimits&) { s.max_attempts = 100; }, kOk,
       ""},
      {"max_attempts_negative", [](SubmitSpec& s, SubmitLimits&) { s.max_attempts = -1; }, kBad,
       "max_attempts"},
      {"max_attempts_over_max", [](SubmitSpec& s, SubmitLimits&) { s.max_attempts = 101; }, kBad,
       "max_attempts"},
      {"max_attempts_over_custom_max",
       [](SubmitSpec& s, SubmitLimits& l) {
         l.max_max_attempts = 3;
         s.max_attempts = 4;
       },
       kBad, "max_attempts"},

      // timeout: unset, or [min_timeout, max_timeout]
      {"timeout_unset_ok", [](SubmitSpec& s, SubmitLimits&) { s.timeout.reset(); }, kOk, ""},
      {"timeout_min_ok", [](SubmitSpec& s, SubmitLimits&) { s.timeout = absl::Milliseconds(100); },
       kOk, ""},
      {"timeout_max_ok", [](SubmitSpec& s, SubmitLimits&) { s.timeout = absl::Hours(24 * 7); },
       kOk, ""},
      {"timeout_below_min",
       [](SubmitSpec& s, SubmitLimits&) { s.timeout = absl::Milliseconds(99); }, kBad, "timeout"},
      {"timeout_zero", [](SubmitSpec& s, SubmitLimits&) { s.timeout = absl::ZeroDuration(); },
       kBad, "timeout"},
      {"timeout_negative", [](SubmitSpec& s, SubmitLimits&) { s.timeout = absl::Seconds(-5); },
       kBad, "timeout"},
      {"timeout_above_max",
       [](SubmitSpec& s, SubmitLimits&) {
         s.timeout = absl::Hours(24 * 7) + absl::Microseconds(1);
       },
       kBad, "timeout"},
      {"timeout_infinite",
       [](SubmitSpec& s, SubmitLimits&) { s.timeout = absl::InfiniteDuration(); }, kBad,
       "timeout"},

      // schedule_time: unset, in the past, or at most max_schedule_ahead after now
      {"schedule_unset_ok", [](SubmitSpec& s, SubmitLimits&) { s.schedule_time.reset(); }, kOk,
       ""},
      {"schedule_past_ok",
       [](SubmitSpec& s, SubmitLimits&) { s.schedule_time = kNow - absl::Hours(24 * 30); }, kOk,
       ""},
      {"schedule_now_ok", [](SubmitSpec& s, SubmitLimits&) { s.schedule_time = kNow; }, kOk, ""},
      {"schedule_at_max_ahead_ok",
       [](SubmitSpec& s, SubmitLimits&) { s.schedule_time = kNow + absl::Hours(24 * 365); }, kOk,
       ""},
      {"schedule_too_far_ahead",
       [](SubmitSpec& s, SubmitLimits&) {
         s.schedule_time = kNow + absl::Hours(24 * 365) + absl::Seconds(1);
       },
       kBad, "schedule_time"},
      {"schedule_infinite_future",
       [](SubmitSpec& s, SubmitLimits&) { s.schedule_time = absl::InfiniteFuture(); }, kBad,
       "schedule_time"},
      {"schedule_custom_ahead",
       [](SubmitSpec& s, SubmitLimits& l) {
         l.max_schedule_ahead = absl::Minutes(10);
         s.schedule_time = kNow + absl::Minutes(11);
       },
       kBad, "schedule_time"},

      // labels: count, key pattern [a-z][a-z0-9_-]{0,62}, value length
      {"labels_none_ok", [](SubmitSpec& s, SubmitLimits&) { s.labels.clear(); }, kOk, ""},
      {"labels_count_at_max_ok", [](SubmitSpec& s, SubmitLimits&) { s.labels = NLabels(64); },
       kOk, ""},
      {"labels_count_over_max", [](SubmitSpec& s, SubmitLimits&) { s.labels = NLabels(65); },
       kBad, "labels", "65"},
      {"labels_count_custom",
       [](SubmitSpec& s, SubmitLimits& l) {
         l.max_labels = 1;
         s.labels = NLabels(2);
       },
       kBad, "labels"},
      {"labels_key_empty", [](SubmitSpec& s, SubmitLimits&) { s.labels[""] = "v"; }, kBad,
       "labels"},
      {"labels_key_upper", [](SubmitSpec& s, SubmitLimits&) { s.labels["Env2"] = "v"; }, kBad,
       "labels", "Env2"},
      {"labels_key_digit_first", [](SubmitSpec& s, SubmitLimits&) { s.labels["1env"] = "v"; },
       kBad, "labels"},
      {"labels_key_dot", [](SubmitSpec& s, SubmitLimits&) { s.labels["a.b"] = "v"; }, kBad,
       "labels"},
      {"labels_key_dash_first", [](SubmitSpec& s, SubmitLimits&) { s.labels["-ab"] = "v"; },
       kBad, "labels"},
      {"labels_key_classes_ok", [](SubmitSpec& s, SubmitLimits&) { s.labels["a0_-z"] = "v"; },
       kOk, ""},
      {"labels_key_len_63_ok",
       [](SubmitSpec& s, SubmitLimits&) { s.labels[std::string(63, 'k')] = "v"; }, kOk, ""},
      {"labels_key_len_64",
       [](SubmitSpec& s, SubmitLimits&) { s.labels[std::string(64, 'k')] = "v"; }, kBad,
       "labels"},
      {"labels_value_empty_ok", [](SubmitSpec& s, SubmitLimits&) { s.labels["env"] = ""; }, kOk,
       ""},
      {"labels_value_at_max_ok",
       [](SubmitSpec& s, SubmitLimits&) { s.labels["env"] = std::string(256, 'v'); }, kOk, ""},
      {"labels_value_over_max",
       [](SubmitSpec& s, SubmitLimits&) { s.labels["env"] = std::string(257, 'v'); }, kBad,
       "labels.env"},
      {"labels_value_over_custom_max",
       [](SubmitSpec& s, SubmitLimits& l) {
         l.max_label_value_bytes = 4;
         s.labels["team"] = "abcde";
       },
       kBad, "labels.team"},
  };
}

// Keeps gtest from dumping the row's bytes when it fails.
void PrintTo(const ValidateCase& c, std::ostream* os) { *os << c.name; }

class ValidateSubmitTest : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(ValidateSubmitTest, Row) {
  const ValidateCase& c = GetParam();
  SubmitSpec spec = ValidSpec();
  SubmitLimits limits;
  c.mutate(spec, limits);
  const absl::Status st = ValidateSubmit(spec, limits, kNow);
  ASSERT_EQ(st.code(), c.code) << st;
  if (c.code != absl::StatusCode::kOk) {
    ASSERT_FALSE(c.field.empty());
    EXPECT_THAT(std::string(st.message()), HasSubstr(c.field)) << st;
    if (!c.also.empty()) {
      EXPECT_THAT(std::string(st.message()), HasSubstr(c.also)) << st;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, ValidateSubmitTest, ::testing::ValuesIn(ValidateCases()),
                         [](const ::testing::TestParamInfo<ValidateCase>& info) {
                           return info.param.name;
                         });

// Protobuf's base-128 varint.
std::string Varint(uint64_t v) {
  std::string out;
  do {
    out.push_back(static_cast<char>((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
    v >>= 7;
  } while (v != 0);
  return out;
}

// `struct_bytes` as field 2 of a message, as SubmitRequest carries its input.
std::string AsInput(absl::string_view struct_bytes) {
  return absl::StrCat("\x12", Varint(struct_bytes.size()), struct_bytes);
}

bool TooDeep(const std::string& struct_bytes) {
  return SerializedInputTooDeep(AsInput(struct_bytes), 2);
}

TEST(InputDepthTest, SerializedDepthAgreesWithValidateSubmit) {
  for (int depth = 1; depth <= kMaxInputDepth + 8; ++depth) {
    for (const Struct& input : {NestedObjects(depth), NestedLists(depth), NestedMixed(depth)}) {
      SubmitSpec spec = ValidSpec();
      spec.input = input;
      const bool refused = !ValidateSubmit(spec, SubmitLimits(), kNow).ok();
      EXPECT_EQ(refused, depth > kMaxInputDepth) << "depth " << depth;
      EXPECT_EQ(TooDeep(input.SerializeAsString()), depth > kMaxInputDepth)
          << "depth " << depth;
    }
  }
}

// The rpc layer relies on this: with protobuf's default recursion limit, input one level
// deeper than allowed still parses as a field (so ValidateSubmit names the rule), and only
// deeper input needs SerializedInputTooDeep.
TEST(InputDepthTest, OneLevelTooDeepStillParsesAsAFieldWithTheDefaultLimit) {
  const auto parses_as_field = [](const Struct& input) {
    Value wrapper;  // like SubmitRequest.input: one message level above the Struct
    *wrapper.mutable_struct_value() = input;
    return Value().ParseFromString(wrapper.SerializeAsString());
  };
  EXPECT_TRUE(parses_as_field(NestedObjects(kMaxInputDepth)));
  EXPECT_TRUE(parses_as_field(NestedObjects(kMaxInputDepth + 1)));
  EXPECT_TRUE(parses_as_field(NestedLists(kMaxInputDepth + 1)));
  EXPECT_TRUE(parses_as_field(NestedMixed(kMaxInputDepth + 1)));
  EXPECT_FALSE(parses_as_field(NestedObjects(kMaxInputDepth + 2)));
}

// A Struct nested `depth` objects deep, serialized without building it (a message that deep
// could not even be destroyed without exhausting the stack).
std::string SerializedNestedObjects(int depth) {
  // Built back to front, then reversed: each level wraps everything inside it.
  std::string reversed;
  const auto prepend_varint = [&](uint64_t v) {
    const std::string bytes = Varint(v);
    reversed.append(bytes.rbegin(), bytes.rend());
  };
  const auto prepend_field = [&](int field, size_t inner_size) {
    prepend_varint(inner_size);
    prepend_varint(static_cast<uint64_t>(field) << 3 | 2);
  };
  for (int level = depth; level >= 1; --level) {
    // This level's Struct is {"a": <what is inside>}; the innermost one is empty.
    if (level == depth) continue;
    prepend_field(5, reversed.size());       // Value.struct_value
    const size_t value_size = reversed.size();
    prepend_field(2, value_size);            // entry.value
    reversed.append("a");
    prepend_varint(1);
    prepend_varint(1 << 3 | 2);              // entry.key = "a"
    prepend_field(1, reversed.size());       // Struct.fields
  }
  return std::string(reversed.rbegin(), reversed.rend());
}

TEST(InputDepthTest, SerializedDepthReadsFarPastAnyRecursionLimit) {
  // The helper builds what it says: 20 objects, each {"a": ...} around the next.
  Struct parsed;
  ASSERT_TRUE(parsed.ParseFromString(SerializedNestedObjects(20)));
  int levels = 1;
  for (const Struct* s = &parsed; s->fields().contains("a"); s = &s->fields().at("a").struct_value()) {
    ++levels;
  }
  EXPECT_EQ(levels, 20);
  EXPECT_FALSE(TooDeep(SerializedNestedObjects(kMaxInputDepth)));
  EXPECT_TRUE(TooDeep(SerializedNestedObjects(kMaxInputDepth + 1)));
  EXPECT_TRUE(TooDeep(SerializedNestedObjects(100000)));
  // Only the input field counts; other fields are read past.
  const std::string deep = SerializedNestedObjects(kMaxInputDepth + 1);
  EXPECT_FALSE(SerializedInputTooDeep(AsInput(deep), 3));
  EXPECT_TRUE(SerializedInputTooDeep(absl::StrCat("\x0a\x01k", "\x28\x07", AsInput(deep)), 2));
}

TEST(InputDepthTest, SerializedDepthSurvivesMalformedBytes) {
  const std::string deep = AsInput(NestedMixed(kMaxInputDepth + 2).SerializeAsString());
  for (size_t n = 0; n <= deep.size(); ++n) {
    SerializedInputTooDeep(deep.substr(0, n), 2);  // any answer, no crash
    std::string flipped = deep;
    if (n < deep.size()) flipped[n] = static_cast<char>(~flipped[n]);
    SerializedInputTooDeep(flipped, 2);
  }
  EXPECT_FALSE(SerializedInputTooDeep("", 2));
  EXPECT_FALSE(TooDeep("\x0b\x0c"));                   // groups
  EXPECT_FALSE(TooDeep("\x0a\xff\xff\xff\xff\x0f"));  // length past the end
}

TEST(StructOfSizeTest, BuildsExactSizes) {
  for (int64_t n : {kSmallInputLimit - 1, kSmallInputLimit, kSmallInputLimit + 1}) {
    EXPECT_EQ(static_cast<int64_t>(StructOfSize(n).ByteSizeLong()), n);
  }
}

TEST(IsValidKindTest, Direct) {
  EXPECT_TRUE(IsValidKind("demo.echo"));
  EXPECT_TRUE(IsValidKind(std::string(64, 'a')));
  EXPECT_FALSE(IsValidKind(std::string(65, 'a')));
  EXPECT_FALSE(IsValidKind(""));
  EXPECT_FALSE(IsValidKind("Demo"));
  EXPECT_FALSE(IsValidKind(".demo"));
}

TEST(IsValidLabelKeyTest, Direct) {
  EXPECT_TRUE(IsValidLabelKey("env"));
  EXPECT_TRUE(IsValidLabelKey(std::string(63, 'a')));
  EXPECT_FALSE(IsValidLabelKey(std::string(64, 'a')));
  EXPECT_FALSE(IsValidLabelKey(""));
  EXPECT_FALSE(IsValidLabelKey("0env"));
  EXPECT_FALSE(IsValidLabelKey("e.nv"));
}

// ---------------------------------------------------------------------------------------
// SubmitFingerprint

TEST(SubmitFingerprintTest, SameSpecSameFingerprint) {
  const SubmitLimits limits;
  const std::string a = SubmitFingerprint(ValidSpec(), limits);
  const std::string b = SubmitFingerprint(ValidSpec(), limits);
  EXPECT_EQ(a, b);
  // Hex SHA-256.
  ASSERT_EQ(a.size(), 64u);
  for (char c : a) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << a;
}

TEST(SubmitFingerprintTest, EmptySpecIsStable) {
  const SubmitLimits limits;
  EXPECT_EQ(SubmitFingerprint(SubmitSpec{}, limits), SubmitFingerprint(SubmitSpec{}, limits));
  EXPECT_NE(SubmitFingerprint(SubmitSpec{}, limits), SubmitFingerprint(ValidSpec(), limits));
}

struct FingerprintChange {
  std::string name;
  std::function<void(SubmitSpec&)> mutate;
};

TEST(SubmitFingerprintTest, EachSemanticFieldChangesFingerprint) {
  const SubmitLimits limits;
  const std::string base = SubmitFingerprint(ValidSpec(), limits);
  const std::vector<FingerprintChange> changes = {
      {"kind", [](SubmitSpec& s) { s.kind = "demo.other"; }},
      {"input_value", [](SubmitSpec& s) {
         (*s.input.mutable_fields())["message"].set_string_value("hellp");
       }},
      {"input_type", [](SubmitSpec& s) {
         (*s.input.mutable_fields())["count"].set_string_value("3");
       }},
      {"input_extra_key", [](SubmitSpec& s) {
         (*s.input.mutable_fields())["extra"].set_null_value(google::protobuf::NULL_VALUE);
       }},
      {"input_cleared", [](SubmitSpec& s) { s.input.Clear(); }},
      {"queue", [](SubmitSpec& s) { s.queue = "batch2"; }},
      {"queue_to_default", [](SubmitSpec& s) { s.queue = ""; }},
      {"priority", [](SubmitSpec& s) { s.priority = 11; }},
      {"priority_sign", [](SubmitSpec& s) { s.priority = -10; }},
      {"max_attempts", [](SubmitSpec& s) { s.max_attempts = 4; }},
      {"timeout", [](SubmitSpec& s) { s.timeout = absl::Minutes(5) + absl::Microseconds(1); }},
      {"timeout_unset", [](SubmitSpec& s) { s.timeout.reset(); }},
      {"schedule_time", [](SubmitSpec& s) { s.schedule_time = *s.schedule_time +
                                                               absl::Microseconds(1); }},
      {"schedule_time_unset", [](SubmitSpec& s) { s.schedule_time.reset(); }},
      {"label_value", [](SubmitSpec& s) { s.labels["env"] = "staging"; }},
      {"label_key", [](SubmitSpec& s) {
         s.labels.erase("env");
         s.labels["envx"] = "prod";
       }},
      {"label_added", [](SubmitSpec& s) { s.labels["extra"] = ""; }},
      {"label_removed", [](SubmitSpec& s) { s.labels.erase("team"); }},
      {"labels_cleared", [](SubmitSpec& s) { s.labels.clear(); }},
  };
  std::map<std::string, std::string> seen;  // fingerprint -> change name
  seen[base] = "base";
  for (const auto& change : changes) {
    SubmitSpec spec = ValidSpec();
    change.mutate(spec);
    const std::string fp = SubmitFingerprint(spec, limits);
    EXPECT_NE(fp, base) << change.name;
    auto [it, inserted] = seen.emplace(fp, change.name);
    EXPECT_TRUE(inserted) << change.name << " collides with " << it->second;
  }
}

TEST(SubmitFingerprintTest, FieldBoundariesAreUnambiguous) {
  const SubmitLimits limits;
  SubmitSpec a;
  a.kind = "ab";
  a.queue = "c";
  SubmitSpec b;
  b.kind = "a";
  b.queue = "bc";
  EXPECT_NE(SubmitFingerprint(a, limits), SubmitFingerprint(b, limits));

  SubmitSpec c;
  c.kind = "k";
  c.labels = {{"a", "b"}, {"c", "d"}};
  SubmitSpec d;
  d.kind = "k";
  d.labels = {{"a", "bc"}, {"d", ""}};
  EXPECT_NE(SubmitFingerprint(c, limits), SubmitFingerprint(d, limits));

  // Unset timeout differs from every set value, including zero.
  SubmitSpec e;
  e.kind = "k";
  SubmitSpec f = e;
  f.timeout = absl::ZeroDuration();
  EXPECT_NE(SubmitFingerprint(e, limits), SubmitFingerprint(f, limits));
}

TEST(SubmitFingerprintTest, RequestIdIsNotPartOfIt) {
  const SubmitLimits limits;
  SubmitSpec a = ValidSpec();
  SubmitSpec b = ValidSpec();
  b.request_id = "a-completely-different-request-id";
  SubmitSpec c = ValidSpec();
  c.request_id.clear();
  EXPECT_EQ(SubmitFingerprint(a, limits), SubmitFingerprint(b, limits));
  EXPECT_EQ(SubmitFingerprint(a, limits), SubmitFingerprint(c, limits));
}

TEST(SubmitFingerprintTest, EmptyQueueEqualsDefault) {
  const SubmitLimits limits;
  SubmitSpec a = ValidSpec();
  a.queue = "";
  SubmitSpec b = ValidSpec();
  b.queue = std::string(kDefaultQueue);
  SubmitSpec c = ValidSpec();
  c.queue = "other";
  EXPECT_EQ(SubmitFingerprint(a, limits), SubmitFingerprint(b, limits));
  EXPECT_NE(SubmitFingerprint(a, limits), SubmitFingerprint(c, limits));
}

TEST(SubmitFingerprintTest, ZeroMaxAttemptsEqualsDefault) {
  SubmitLimits limits;
  ASSERT_EQ(limits.default_max_attempts, 5);
  SubmitSpec zero = ValidSpec();
  zero.max_attempts = 0;
  SubmitSpec five = ValidSpec();
  five.max_attempts = 5;
  SubmitSpec six = ValidSpec();
  six.max_attempts = 6;
  EXPECT_EQ(SubmitFingerprint(zero, limits), SubmitFingerprint(five, limits));
  EXPECT_NE(SubmitFingerprint(zero, limits), SubmitFingerprint(six, limits));

  // The default comes from the limits, not a constant.
  SubmitLimits custom;
  custom.default_max_attempts = 6;
  EXPECT_EQ(SubmitFingerprint(zero, custom), SubmitFingerprint(six, custom));
  EXPECT_NE(SubmitFingerprint(zero, custom), SubmitFingerprint(five, custom));
}

TEST(SubmitFingerprintTest, LabelInsertionOrderIrrelevant) {
  const SubmitLimits limits;
  SubmitSpec a = ValidSpec();
  a.labels.clear();
  SubmitSpec b = a;
  for (int i = 0; i < 20; ++i) a.labels[absl::StrCat("k", i)] = absl::StrCat("v", i);
  for (int i = 19; i >= 0; --i) b.labels[absl::StrCat("k", i)] = absl::StrCat("v", i);
  EXPECT_EQ(SubmitFingerprint(a, limits), SubmitFingerprint(b, limits));
}

// Fills `s` with keys in the order given, including a nested Struct filled the same way.
void FillStruct(Struct& s, const std::vector<int>& order) {
  for (int i : order) {
    (*s.mutable_fields())[absl::StrCat("key_", i)].set_number_value(i);
  }
  Struct* nested = (*s.mutable_fields())["nested"].mutable_struct_value();
  for (int i : order) {
    (*nested->mutable_fields())[absl::StrCat("inner_", i)].set_string_value(absl::StrCat(i));
  }
  auto* list = (*s.mutable_fields())["list"].mutable_list_value();
  for (int i = 0; i < 3; ++i) {
    Struct* elem = list->add_values()->mutable_struct_value();
    for (int j : order) (*elem->mutable_fields())[absl::StrCat("e", j)].set_bool_value(j % 2);
  }
}

TEST(SubmitFingerprintTest, InputKeyInsertionOrderIrrelevant) {
  constexpr int kKeys = 200;
  std::vector<int> forward;
  for (int i = 0; i < kKeys; ++i) forward.push_back(i);
  std::vector<int> backward(forward.rbegin(), forward.rend());
  std::vector<int> interleaved;
  for (int i = 0; i < kKeys; i += 2) interleaved.push_back(i);
  for (int i = kKeys - 1; i >= 1; i -= 2) interleaved.push_back(i);
  ASSERT_EQ(interleaved.size(), forward.size());

  const SubmitLimits limits;
  SubmitSpec a = ValidSpec();
  SubmitSpec b = ValidSpec();
  SubmitSpec c = ValidSpec();
  a.input.Clear();
  b.input.Clear();
  c.input.Clear();
  FillStruct(a.input, forward);
  FillStruct(b.input, backward);
  FillStruct(c.input, interleaved);
  const std::string fa = SubmitFingerprint(a, limits);
  EXPECT_EQ(fa, SubmitFingerprint(b, limits));
  EXPECT_EQ(fa, SubmitFingerprint(c, limits));

  // Sanity: the content still matters.
  (*c.input.mutable_fields())["key_7"].set_number_value(8);
  EXPECT_NE(fa, SubmitFingerprint(c, limits));
}

}  // namespace
}  // namespace longrun::core
