#include "absl/strings/str_cat.h"
#include "services/worker/handlers/demo.h"
#include "libs/common/check.h"

namespace longrun::worker {

void RegisterBuiltins(Registry& registry) {
  LONGRUN_CHECK(registry.Register("demo.echo", DemoEcho).ok());
  LONGRUN_CHECK(registry.Register("demo.sleep", DemoSleep).ok());
  LONGRUN_CHECK(registry.Register("demo.sha256", DemoSha256).ok());
  LONGRUN_CHECK(registry.Register("demo.fail", DemoFail).ok());
  LONGRUN_CHECK(registry.Register("demo.progress", DemoProgress).ok());
}

absl::StatusOr<double> NumberField(const google::protobuf::Struct& input, const std::string& field,
                                   double default_value) {
  auto it = input.fields().find(field);
  if (it == input.fields().end() || it->second.has_null_value()) return default_value;
  if (!it->second.has_number_value()) {
    return absl::InvalidArgumentError(absl::StrCat("input.", field, " must be a number"));
  }
  return it->second.number_value();
}

}  // namespace longrun::worker
