#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/worker/handlers/demo.h"

namespace longrun::worker {

absl::StatusOr<google::protobuf::Struct> DemoProgress(JobContext& ctx) {
  const google::protobuf::Struct& input = ctx.input();
  auto reports = NumberField(input, "reports", 1000);
  if (!reports.ok()) return reports.status();
  auto seconds = NumberField(input, "seconds", 0);
  if (!seconds.ok()) return seconds.status();
  if (!(*reports >= 0 && *reports <= 1e9) || std::floor(*reports) != *reports) {
    return absl::InvalidArgumentError("input.reports must be an integer in 0..1000000000");
  }
  if (!(*seconds >= 0 && *seconds <= 3600)) {
    return absl::InvalidArgumentError("input.seconds must be in 0..3600");
  }
  const int64_t at_least = static_cast<int64_t>(*reports);
  const absl::Time until = absl::Now() + absl::Seconds(*seconds);
  int64_t n = 0;
  // A tight loop: no waiting between reports.
  while (n < at_least || absl::Now() < until) {
    ++n;
    const int percent =
        at_least > 0 ? static_cast<int>(std::min<int64_t>(99, 100 * n / at_least)) : 0;
    if (!ctx.ReportProgress(percent, absl::StrCat("report ", n))) return ctx.StopReason();
  }
  google::protobuf::Struct out;
  (*out.mutable_fields())["reports"].set_number_value(static_cast<double>(n));
  return out;
}

}  // namespace longrun::worker
