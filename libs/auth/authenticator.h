// Authenticator: --auth=none|token, the key files, and what one `authorization` header value
// proves (a Principal). The api's server interceptor calls Authenticate() for every call that
// is not open (method_scopes.h), and a LoopThread calls ReloadOnce() every reload_interval so
// rotated or revoked keys take effect without a restart.
//
//   auto auth = auth::Authenticator::Create(config, RealClock());
//   concurrency::LoopThread reload({.interval = (*auth)->reload_interval()},
//                                  [&] { return (*auth)->ReloadOnce().ok; });
//   absl::StatusOr<auth::Principal> who = (*auth)->Authenticate(header_value);
#ifndef LONGRUN_AUTH_AUTHENTICATOR_H_
#define LONGRUN_AUTH_AUTHENTICATOR_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/auth/api_keys.h"
#include "libs/auth/bearer.h"
#include "libs/auth/jwt.h"
#include "libs/auth/principal.h"
#include "libs/auth/reloading_file.h"
#include "libs/common/clock.h"

namespace longrun::auth {

enum class AuthMode { kNone, kToken };
// "none" or "token"; INVALID_ARGUMENT otherwise.
absl::StatusOr<AuthMode> ParseAuthMode(absl::string_view text);

struct AuthenticatorConfig {
  AuthMode mode = AuthMode::kNone;      // --auth
  std::string api_keys_file;            // --api-keys-file
  std::string jwt_hs256_secret_file;    // --jwt-hs256-secret-file
  std::string jwt_public_key_file;      // --jwt-public-key-file (PEM or JWKS)
  JwtOptions jwt;                       // --jwt-issuer, --jwt-audience, --jwt-clock-skew
  std::string tenant_claim = "tenant";  // --tenant-claim
  absl::Duration reload_interval = absl::Seconds(5);  // how often files are checked

  // INVALID_ARGUMENT naming the flag: token mode needs at least one key file; none mode
  // takes none (so a file given by mistake cannot look like auth is on); the clock skew is
  // 0..10 min; the tenant claim is not empty; the reload interval is positive.
  absl::Status Validate() const;
};

class Authenticator {
 public:
  // Validates and loads every configured file; an unreadable or invalid file is an error
  // naming it (the process should not start).
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(AuthenticatorConfig config,
                                                               const Clock& clock);

  // The caller behind an `authorization` header value (empty if the call had none). With
  // --auth=none: AnonymousPrincipal(), whatever the value. Otherwise UNAUTHENTICATED for a
  // missing, malformed, unknown, expired or otherwise refused credential (bearer.h, jwt.h).
  // Thread-safe.
  absl::StatusOr<Principal> Authenticate(absl::string_view authorization) const;

  // One pass over every configured file (ReloadingFile::RunOnce). Call from one thread.
  ReloadRunResult ReloadOnce();

  AuthMode mode() const { return config_.mode; }
  absl::Duration reload_interval() const { return config_.reload_interval; }

 private:
  Authenticator(AuthenticatorConfig config, const Clock& clock);

  const AuthenticatorConfig config_;
  const Clock& clock_;
  BearerOptions options_;
  std::unique_ptr<ReloadingFile<ApiKeys>> api_keys_;
  std::unique_ptr<ReloadingFile<std::string>> hs256_secret_;
  std::unique_ptr<ReloadingFile<JwtPublicKeys>> public_keys_;
};

}  // namespace longrun::auth

#endif  // LONGRUN_AUTH_AUTHENTICATOR_H_
