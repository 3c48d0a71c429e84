// One request's credential, checked against one snapshot of the keys: the pure core of
// Authenticator (authenticator.h), without files or reloading, so tests and the fuzzer
// (tools/fuzz/token_fuzzer.cc) drive it directly.
#ifndef LONGRUN_AUTH_BEARER_H_
#define LONGRUN_AUTH_BEARER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/auth/api_keys.h"
#include "libs/auth/jwt.h"
#include "libs/auth/principal.h"

namespace longrun::auth {

// The token of an `authorization` header value "Bearer <token>": the scheme in any case,
// then one or more spaces, then an RFC 6750 b64token ([A-Za-z0-9-._~+/]+ then any '='s).
// Surrounding spaces and tabs are ignored. UNAUTHENTICATED, saying what is expected, for a
// missing or empty value, another scheme, a malformed token, or more than kMaxTokenBytes.
// The message never contains the value.
absl::StatusOr<absl::string_view> ParseBearer(absl::string_view authorization);

// A token with exactly two dots is a JWT; anything else is an API key.
bool LooksLikeJwt(absl::string_view token);

// One snapshot of what tokens are checked against. Null members: that kind is not accepted.
struct Credentials {
  JwtKeys jwt;
  std::shared_ptr<const ApiKeys> api_keys;
};

struct BearerOptions {
  JwtOptions jwt;
  std::string tenant_claim = "tenant";
};

// ParseBearer, then VerifyJwt + PrincipalFromClaims or ApiKeys::Lookup. Every failure is
// UNAUTHENTICATED.
absl::StatusOr<Principal> AuthenticateBearer(absl::string_view authorization,
                                             const Credentials& credentials,
                                             const BearerOptions& options, absl::Time now);

}  // namespace longrun::auth

#endif  // LONGRUN_AUTH_BEARER_H_
