// ParseFilter on arbitrary bytes. Besides "no crash, no sanitizer report", checks the
// properties the rest of the service relies on:
//   - every error is INVALID_ARGUMENT with a "filter: " message (safe to return to clients);
//   - "no filter" only for empty or whitespace-only input;
//   - a parsed filter's canonical form (FormatFilter) parses back to itself and means the
//     same on a few fixed operations, unless its extra parentheses or quotes go over a limit.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/core/filter.h"
#include "libs/core/operation.h"

namespace {

using ::longrun::core::FilterNode;
using ::longrun::core::FormatFilter;
using ::longrun::core::Matches;
using ::longrun::core::Operation;
using ::longrun::core::ParseFilter;
using ::longrun::core::State;

[[noreturn]] void Fail(const char* what, absl::string_view detail) {
  std::fprintf(stderr, "filter_fuzzer: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// Operations that the seed filters partly match, so both outcomes of Matches are reached.
std::vector<Operation> Samples() {
  std::vector<Operation> ops(3);
  ops[0].kind = "demo.echo";
  ops[0].queue = "default";
  ops[0].state = State::kQueued;
  ops[0].labels = {{"env", "prod"}, {"team", "infra"}};
  ops[0].create_time = absl::FromUnixSeconds(1704164645);  // 2024-01-02T03:04:05Z
  ops[0].update_time = ops[0].create_time + absl::Seconds(30);
  ops[1].kind = "report.build";
  ops[1].queue = "batch";
  ops[1].state = State::kFailed;
  ops[1].labels = {{"env", "dev"}};
  ops[1].create_time = absl::FromUnixSeconds(1704164645) + absl::Hours(1);
  ops[1].update_time = ops[1].create_time + absl::Microseconds(1);
  // ops[2]: the defaults (empty strings, no labels, infinite-past times).
  return ops;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Operation>* const kOps = new std::vector<Operation>(Samples());
  const absl::string_view input(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<std::optional<FilterNode>> parsed = ParseFilter(input);
  if (!parsed.ok()) {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument ||
        !absl::StartsWith(parsed.status().message(), "filter: ")) {
      Fail("unexpected error", parsed.status().ToString());
    }
    return 0;
  }
  if (!parsed->has_value()) {
    for (char c : input) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(c))) Fail("nullopt for", input);
    }
    return 0;
  }
  const FilterNode& node = **parsed;
  std::vector<bool> results;
  for (const Operation& op : *kOps) results.push_back(Matches(node, op));

  const std::string canonical = FormatFilter(node);
  absl::StatusOr<std::optional<FilterNode>> again = ParseFilter(canonical);
  if (!again.ok()) {
    const absl::string_view message = again.status().message();
    if (!absl::StrContains(message, "the limit is") &&
        !absl::StrContains(message, "nested deeper than")) {
      Fail("canonical form rejected", again.status().ToString() + " for " + canonical);
    }
    return 0;
  }
  if (!again->has_value()) Fail("canonical form is empty", input);
  if (FormatFilter(**again) != canonical) Fail("canonical form not stable", canonical);
  for (size_t i = 0; i < kOps->size(); ++i) {
    if (Matches(**again, (*kOps)[i]) != results[i]) Fail("canonical form differs", canonical);
  }
  return 0;
}
