#include "libs/auth/bearer.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace longrun::auth {
namespace {

constexpr absl::string_view kExpected = "send the header 'authorization: Bearer <token>'";
// "Bearer" and its spaces, on top of the token's own limit.
constexpr size_t kMaxHeaderOverhead = 64;

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~' || c == '+' || c == '/';
}

bool IsB64Token(absl::string_view token) {
  size_t i = 0;
  while (i < token.size() && IsTokenChar(token[i])) ++i;
  if (i == 0) return false;
  while (i < token.size() && token[i] == '=') ++i;
  return i == token.size();
}

absl::string_view StripSpaces(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

absl::StatusOr<absl::string_view> ParseBearer(absl::string_view authorization) {
  if (authorization.size() > kMaxTokenBytes + kMaxHeaderOverhead) {
    return absl::UnauthenticatedError(
        absl::StrCat("token is larger than ", kMaxTokenBytes, " bytes"));
  }
  authorization = StripSpaces(authorization);
  if (authorization.empty()) {
    return absl::UnauthenticatedError(absl::StrCat("missing credential: ", kExpected));
  }
  const size_t space = authorization.find_first_of(" \t");
  if (space == absl::string_view::npos && absl::EqualsIgnoreCase(authorization, "bearer")) {
    return absl::UnauthenticatedError(absl::StrCat("missing token after 'Bearer': ", kExpected));
  }
  if (space == absl::string_view::npos ||
      !absl::EqualsIgnoreCase(authorization.substr(0, space), "bearer")) {
    return absl::UnauthenticatedError(
        absl::StrCat("unsupported authorization scheme: ", kExpected));
  }
  const absl::string_view token = StripSpaces(authorization.substr(space + 1));
  if (token.size() > kMaxTokenBytes) {
    return absl::UnauthenticatedError(
        absl::StrCat("token is larger than ", kMaxTokenBytes, " bytes"));
  }
  if (!IsB64Token(token)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "malformed bearer token (one word of [A-Za-z0-9-._~+/], then any '='): ", kExpected));
  }
  return token;
}

bool LooksLikeJwt(absl::string_view token) {
  return std::count(token.begin(), token.end(), '.') == 2;
}

absl::StatusOr<Principal> AuthenticateBearer(absl::string_view authorization,
                                             const Credentials& credentials,
                                             const BearerOptions& options, absl::Time now) {
  absl::StatusOr<absl::string_view> token = ParseBearer(authorization);
  if (!token.ok()) return token.status();
  if (LooksLikeJwt(*token)) {
    if (credentials.jwt.hs256_secret == nullptr && credentials.jwt.public_keys == nullptr) {
      return absl::UnauthenticatedError("JWTs are not accepted by this server; use an API key");
    }
    absl::StatusOr<VerifiedJwt> jwt = VerifyJwt(*token, credentials.jwt, options.jwt, now);
    if (!jwt.ok()) return jwt.status();
    return PrincipalFromClaims(jwt->claims, options.tenant_claim);
  }
  if (credentials.api_keys == nullptr) {
    return absl::UnauthenticatedError(
        "API keys are not accepted by this server; use a JWT (a token with two dots)");
  }
  std::optional<Principal> principal = credentials.api_keys->Lookup(*token);
  if (!principal.has_value()) {
    return absl::UnauthenticatedError("unknown or revoked API key");
  }
  return *std::move(principal);
}

}  // namespace longrun::auth
