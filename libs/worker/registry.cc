#include "longrun/registry.h"

#include "absl/strings/str_cat.h"
#include "libs/core/submit.h"

namespace longrun {

absl::Status Registry::Register(const std::string& kind, Handler handler) {
  if (absl::Status s = core::ValidateKindName("kind", kind); !s.ok()) return s;
  if (!handler) {
    return absl::InvalidArgumentError(absl::StrCat("job kind \"", kind, "\": empty handler"));
  }
  if (!handlers_.emplace(kind, std::move(handler)).second) {
    return absl::AlreadyExistsError(absl::StrCat("job kind \"", kind, "\" is registered already"));
  }
  return absl::OkStatus();
}

const Handler* Registry::Find(const std::string& kind) const {
  auto it = handlers_.find(kind);
  return it == handlers_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::Kinds() const {
  std::vector<std::string> kinds;
  kinds.reserve(handlers_.size());
  for (const auto& [kind, handler] : handlers_) kinds.push_back(kind);
  return kinds;
}

}  // namespace longrun
