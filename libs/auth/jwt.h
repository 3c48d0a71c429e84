// JWT verification (RFC 7519, JWS compact serialization, RFC 7515) with OpenSSL.
//
// Accepted algorithms: HS256 (a shared secret, the bytes of --jwt-hs256-secret-file), RS256
// and ES256 (public keys from --jwt-public-key-file: PEM or JWKS). Every token is checked in
// this order, and the first failure is the answer (UNAUTHENTICATED):
//   1. at most kMaxTokenBytes, before anything is decoded;
//   2. three base64url parts without padding, decoded strictly; the header a JSON object;
//   3. the header's `alg` is HS256, RS256 or ES256 and this server has a key for it: an
//      HS256 token is verified with the secret only, RS256/ES256 with public keys only, so no
//      token can choose how its key is used (no `none`, no HS/RS confusion). A header with
//      `crit` is refused; `jku`, `x5u`, `jwk` and `x5c` are ignored (keys come from files);
//   4. the signature, with the keys of the token's alg whose `kid` equals the header's (keys
//      without a kid, e.g. from PEM, match any); nothing in the claims is read before this;
//   5. the claims: a JSON object; `exp` present (tokens must expire) and a number;
//      now < exp + skew; if present, nbf <= now + skew; `iss` equal to the configured issuer
//      and `aud` (a string or an array of strings) containing the configured audience when
//      those are configured.
#ifndef LONGRUN_AUTH_JWT_H_
#define LONGRUN_AUTH_JWT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "libs/auth/principal.h"

namespace longrun::auth {

inline constexpr size_t kMaxTokenBytes = 8 * 1024;
// RFC 7518 section 3.2: an HS256 key must be at least as long as the hash (256 bits).
inline constexpr size_t kMinHs256SecretBytes = 32;

enum class JwtAlg { kHs256, kRs256, kEs256 };
absl::string_view JwtAlgName(JwtAlg alg);  // "HS256", "RS256", "ES256"

// Public keys for RS256 and ES256. Immutable once parsed; safe to share between threads.
class JwtPublicKeys {
 public:
  struct KeyInfo {
    std::string kid;  // empty: matches any kid
    JwtAlg alg;       // kRs256 for RSA keys, kEs256 for EC P-256 keys
  };

  // `text` is either
  //   - PEM: one or more "PUBLIC KEY" (SubjectPublicKeyInfo), "RSA PUBLIC KEY" (PKCS#1) or
  //     "CERTIFICATE" blocks; a certificate only contributes its public key (its dates,
  //     issuer and chain are not checked); or
  //   - JSON: a JWKS ({"keys": [...]}) or a single JWK. kty RSA (n, e) and kty EC with crv
  //     P-256 (x, y); `kid` and `alg` are honoured. JWKs of other types or curves, with an
  //     `alg` other than RS256/ES256, or with a `use` other than "sig" are skipped.
  // RSA keys must have at least 2048 bits. INVALID_ARGUMENT naming the block or key at fault,
  // or when no usable key remains.
  static absl::StatusOr<JwtPublicKeys> Parse(absl::string_view text);

  JwtPublicKeys(JwtPublicKeys&&) noexcept;
  JwtPublicKeys& operator=(JwtPublicKeys&&) noexcept;
  ~JwtPublicKeys();

  std::vector<KeyInfo> keys() const;

  // OK if `signature` over `signing_input` verifies with one of the keys for `alg` (kRs256 or
  // kEs256) whose kid is `kid` or empty. UNAUTHENTICATED otherwise.
  absl::Status VerifySignature(JwtAlg alg, absl::string_view kid, absl::string_view signing_input,
                               absl::string_view signature) const;

  struct Key;  // defined in jwt.cc

 private:
  JwtPublicKeys();
  std::vector<Key> keys_;
};

// The HS256 secret: the file's bytes, unchanged (a trailing newline is part of the key).
// INVALID_ARGUMENT if shorter than kMinHs256SecretBytes.
absl::StatusOr<std::string> ParseHs256Secret(absl::string_view file_bytes);

// One snapshot of the keys a server verifies with. A null member: that kind is not accepted.
struct JwtKeys {
  std::shared_ptr<const std::string> hs256_secret;
  std::shared_ptr<const JwtPublicKeys> public_keys;
};

struct JwtOptions {
  std::string issuer;    // when not empty, `iss` must equal it
  std::string audience;  // when not empty, `aud` must be it or an array holding it
  absl::Duration clock_skew = absl::Seconds(60);
};

struct VerifiedJwt {
  JwtAlg alg;
  std::string kid;  // the header's, possibly empty
  google::protobuf::Struct claims;
};

// Verifies `token` (the compact JWS, without "Bearer ") at time `now`. UNAUTHENTICATED with a
// message a user can act on ("token expired at ..."); the message never contains the token.
absl::StatusOr<VerifiedJwt> VerifyJwt(absl::string_view token, const JwtKeys& keys,
                                      const JwtOptions& options, absl::Time now);

// The principal a verified token names: tenant from the claim `tenant_claim` (a string that
// passes ValidateTenant; missing: UNAUTHENTICATED, there is no default tenant for tokens),
// subject from `sub`, scopes from `scope` (space-separated, or an array of strings).
absl::StatusOr<Principal> PrincipalFromClaims(const google::protobuf::Struct& claims,
                                              absl::string_view tenant_claim);

// An HS256 JWT of `claims_json` (a JSON object, written as given) with the header
// {"alg":"HS256","typ":"JWT"}. For tools and tests (a benchmark token, e2e tests).
std::string SignHs256Jwt(absl::string_view claims_json, absl::string_view secret);

}  // namespace longrun::auth

#endif  // LONGRUN_AUTH_JWT_H_
