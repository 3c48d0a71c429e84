// Operation ids and names. Ids are UUIDv7 (RFC 9562): time-ordered, so new rows land at the
// right edge of the primary-key index instead of scattering across it.
#ifndef LONGRUN_CORE_IDS_H_
#define LONGRUN_CORE_IDS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace longrun::core {

inline constexpr absl::string_view kOperationNamePrefix = "operations/";

// A new UUIDv7 in canonical lower-case text form.
std::string NewOperationId(absl::Time now);
// True for canonical 8-4-4-4-12 hex UUID text (either case).
bool IsUuid(absl::string_view text);
// "operations/{id}".
std::string OperationName(absl::string_view id);
// Parses "operations/{uuid}" and returns the lower-case id. `field` names the request field
// in the error message.
absl::StatusOr<std::string> ParseOperationName(absl::string_view name,
                                               absl::string_view field = "name");

}  // namespace longrun::core

#endif  // LONGRUN_CORE_IDS_H_
