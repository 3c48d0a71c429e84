#include <cmath>

#include "absl/strings/str_cat.h"
#include "services/worker/handlers/demo.h"

namespace longrun::worker {

absl::StatusOr<google::protobuf::Struct> DemoSleep(JobContext& ctx) {
  const google::protobuf::Struct& input = ctx.input();
  auto seconds = NumberField(input, "seconds", 1);
  if (!seconds.ok()) return seconds.status();
  auto steps = NumberField(input, "steps", 1);
  if (!steps.ok()) return steps.status();
  if (!(*seconds >= 0 && *seconds <= 86400)) {
    return absl::InvalidArgumentError("input.seconds must be in 0..86400");
  }
  if (!(*steps >= 1 && *steps <= 10000) || std::floor(*steps) != *steps) {
    return absl::InvalidArgumentError("input.steps must be an integer in 1..10000");
  }
  const int n = static_cast<int>(*steps);
  const absl::Duration step = absl::Seconds(*seconds) / n;
  for (int i = 1; i <= n; ++i) {
    if (!ctx.SleepFor(step)) return ctx.StopReason();
    if (i < n && !ctx.ReportProgress(100 * i / n, absl::StrCat("step ", i, "/", n))) {
      return ctx.StopReason();
    }
  }
  google::protobuf::Struct out;
  (*out.mutable_fields())["slept_seconds"].set_number_value(*seconds);
  return out;
}

}  // namespace longrun::worker
