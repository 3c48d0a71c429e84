#include "libs/auth/authenticator.h"

#include "absl/strings/str_cat.h"

namespace longrun::auth {
namespace {

constexpr absl::Duration kMaxClockSkew = absl::Minutes(10);

template <typename T>
absl::Status Load(const std::string& path, absl::string_view name,
                  typename ReloadingFile<T>::Parser parser, const Clock& clock,
                  std::unique_ptr<ReloadingFile<T>>* out) {
  if (path.empty()) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<ReloadingFile<T>>> file =
      ReloadingFile<T>::Create({.path = path, .name = std::string(name)}, std::move(parser), clock);
  if (!file.ok()) return file.status();
  *out = *std::move(file);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AuthMode> ParseAuthMode(absl::string_view text) {
  if (text == "none") return AuthMode::kNone;
  if (text == "token") return AuthMode::kToken;
  return absl::InvalidArgumentError("--auth must be none or token");
}

absl::Status AuthenticatorConfig::Validate() const {
  const bool any_file =
      !api_keys_file.empty() || !jwt_hs256_secret_file.empty() || !jwt_public_key_file.empty();
  if (mode == AuthMode::kToken && !any_file) {
    return absl::InvalidArgumentError(
        "--auth=token needs --api-keys-file, --jwt-hs256-secret-file or --jwt-public-key-file");
  }
  if (mode == AuthMode::kNone && any_file) {
    return absl::InvalidArgumentError(
        "--api-keys-file, --jwt-hs256-secret-file and --jwt-public-key-file need --auth=token");
  }
  if (jwt.clock_skew < absl::ZeroDuration() || jwt.clock_skew > kMaxClockSkew) {
    return absl::InvalidArgumentError(
        absl::StrCat("--jwt-clock-skew must be 0s..", absl::FormatDuration(kMaxClockSkew)));
  }
  if (tenant_claim.empty()) return absl::InvalidArgumentError("--tenant-claim must not be empty");
  if (reload_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the reload interval must be positive");
  }
  return absl::OkStatus();
}

Authenticator::Authenticator(AuthenticatorConfig config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      options_{.jwt = config_.jwt, .tenant_claim = config_.tenant_claim} {}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(AuthenticatorConfig config,
                                                                     const Clock& clock) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  std::unique_ptr<Authenticator> auth(new Authenticator(std::move(config), clock));
  const AuthenticatorConfig& c = auth->config_;
  if (absl::Status s =
          Load<ApiKeys>(c.api_keys_file, "api keys file", ApiKeys::Parse, clock, &auth->api_keys_);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Load<std::string>(c.jwt_hs256_secret_file, "jwt hs256 secret file",
                                         ParseHs256Secret, clock, &auth->hs256_secret_);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Load<JwtPublicKeys>(c.jwt_public_key_file, "jwt public key file",
                                           JwtPublicKeys::Parse, clock, &auth->public_keys_);
      !s.ok()) {
    return s;
  }
  return auth;
}

absl::StatusOr<Principal> Authenticator::Authenticate(absl::string_view authorization) const {
  if (config_.mode == AuthMode::kNone) return AnonymousPrincipal();
  Credentials credentials;
  if (api_keys_ != nullptr) credentials.api_keys = api_keys_->Get();
  if (hs256_secret_ != nullptr) credentials.jwt.hs256_secret = hs256_secret_->Get();
  if (public_keys_ != nullptr) credentials.jwt.public_keys = public_keys_->Get();
  return AuthenticateBearer(authorization, credentials, options_, clock_.Now());
}

ReloadRunResult Authenticator::ReloadOnce() {
  ReloadRunResult result;
  if (api_keys_ != nullptr) result.Merge(api_keys_->RunOnce());
  if (hs256_secret_ != nullptr) result.Merge(hs256_secret_->RunOnce());
  if (public_keys_ != nullptr) result.Merge(public_keys_->RunOnce());
  return result;
}

}  // namespace longrun::auth
