#include <cmath>

#include "absl/strings/str_cat.h"
#include "services/worker/handlers/demo.h"

namespace longrun::worker {

absl::StatusOr<google::protobuf::Struct> DemoFail(JobContext& ctx) {
  const google::protobuf::Struct& input = ctx.input();
  auto failures = NumberField(input, "failures", 1);
  if (!failures.ok()) return failures.status();
  if (!(*failures >= 0 && *failures <= 1000) || std::floor(*failures) != *failures) {
    return absl::InvalidArgumentError("input.failures must be an integer in 0..1000");
  }
  bool permanent = false;
  if (auto it = input.fields().find("permanent"); it != input.fields().end()) {
    if (!it->second.has_bool_value()) {
      return absl::InvalidArgumentError("input.permanent must be true or false");
    }
    permanent = it->second.bool_value();
  }
  if (ctx.attempt() <= static_cast<int>(*failures)) {
    const std::string msg = absl::StrCat("demo.fail: simulated failure on attempt ", ctx.attempt(),
                                         " of the first ", static_cast<int>(*failures));
    return permanent ? absl::FailedPreconditionError(msg) : absl::UnavailableError(msg);
  }
  google::protobuf::Struct out;
  (*out.mutable_fields())["attempt"].set_number_value(ctx.attempt());
  return out;
}

}  // namespace longrun::worker
