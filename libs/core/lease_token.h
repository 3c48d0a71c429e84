// Lease tokens: what a remote worker (longrun.v1.Workers) holds for one leased attempt.
//
// The token binds the lease to (operation id, attempt) and carries what the server needs to
// act on it without another lookup: the job's max_attempts (for the retry decision) and the
// lease duration the worker asked for (each heartbeat extends the lease by it), and the
// attempt's deadline when the job has a timeout. It is a
// signed token (signed_token.h, version byte 'L'): clients cannot forge or alter one, and a
// stale one (an earlier attempt) is refused by the store's (id, attempt) fence, not here.
#ifndef LONGRUN_CORE_LEASE_TOKEN_H_
#define LONGRUN_CORE_LEASE_TOKEN_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace longrun::core {

struct LeaseClaim {
  std::string id;  // operation UUID text; decoded tokens give lower case
  int32_t attempt = 0;
  int32_t max_attempts = 0;
  absl::Duration lease = absl::Seconds(30);  // whole microseconds
  // When the attempt times out (whole microseconds); nullopt without a timeout. The api
  // turns any outcome or heartbeat after it into DEADLINE_EXCEEDED.
  std::optional<absl::Time> deadline;

  friend bool operator==(const LeaseClaim&, const LeaseClaim&) = default;
};

// `claim.id` must be UUID text; anything else is a bug and aborts.
std::string EncodeLeaseToken(const LeaseClaim& claim, absl::string_view secret);

// INVALID_ARGUMENT "lease_token: ..." for anything EncodeLeaseToken with this secret did not
// make.
absl::StatusOr<LeaseClaim> DecodeLeaseToken(absl::string_view token, absl::string_view secret);

}  // namespace longrun::core

#endif  // LONGRUN_CORE_LEASE_TOKEN_H_
