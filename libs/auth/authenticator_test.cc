#include "libs/auth/authenticator.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/auth/method_scopes.h"
#include "libs/auth/test_keys.h"

namespace longrun::auth {
namespace {

using testing::Claims;
using testing::EsJwt;
using ::testing::HasSubstr;
using testing::HsJwt;
using testing::kTestSecret;
using testing::RsJwt;
using testing::TempDir;
using testing::TestKey;

absl::StatusCode Code(const absl::StatusOr<Principal>& p) { return p.status().code(); }

TEST(AuthenticatorConfigTest, Validate) {
  EXPECT_TRUE(AuthenticatorConfig{}.Validate().ok());
  EXPECT_THAT(std::string(AuthenticatorConfig{.mode = AuthMode::kToken}.Validate().message()),
              HasSubstr("--auth=token needs --api-keys-file"));
  EXPECT_THAT(std::string(AuthenticatorConfig{.api_keys_file = "f"}.Validate().message()),
              HasSubstr("need --auth=token"));
  AuthenticatorConfig skew{.mode = AuthMode::kToken, .api_keys_file = "f"};
  EXPECT_TRUE(skew.Validate().ok());
  skew.jwt.clock_skew = absl::Minutes(11);
  EXPECT_THAT(std::string(skew.Validate().message()), HasSubstr("--jwt-clock-skew"));
  skew.jwt.clock_skew = absl::Seconds(60);
  skew.tenant_claim = "";
  EXPECT_THAT(std::string(skew.Validate().message()), HasSubstr("--tenant-claim"));
  EXPECT_EQ(*ParseAuthMode("token"), AuthMode::kToken);
  EXPECT_EQ(*ParseAuthMode("none"), AuthMode::kNone);
  EXPECT_FALSE(ParseAuthMode("jwt").ok());
}

TEST(AuthenticatorTest, NoneModeIsTheDefaultTenantWithEveryScope) {
  FakeClock clock;
  auto auth = Authenticator::Create({}, clock);
  ASSERT_TRUE(auth.ok()) << auth.status();
  for (absl::string_view header : {"", "Bearer whatever", "garbage"}) {
    absl::StatusOr<Principal> p = (*auth)->Authenticate(header);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->tenant, "default");
    for (Scope s : kAllScopes) EXPECT_TRUE(p->Has(s));
  }
  EXPECT_TRUE((*auth)->ReloadOnce().ok);
}

// Token mode with all three files, as the api would run it.
class TokenModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reader_ = NewApiKey();
    submitter_ = NewApiKey();
    dir_.Write("keys", KeysFile({&reader_, &submitter_}));
    dir_.Write("secret", kTestSecret);
    dir_.Write("jwks", absl::StrCat(R"({"keys":[)", TestKey::Rsa().Jwk("r1"), ",",
                                    TestKey::Ec().Jwk("e1"), "]}"));
    auto auth = Authenticator::Create(Config(), clock_);
    ASSERT_TRUE(auth.ok()) << auth.status();
    auth_ = *std::move(auth);
  }

  AuthenticatorConfig Config() const {
    return {.mode = AuthMode::kToken,
            .api_keys_file = dir_.File("keys"),
            .jwt_hs256_secret_file = dir_.File("secret"),
            .jwt_public_key_file = dir_.File("jwks"),
            .jwt = {.issuer = "https://idp.example", .audience = "longrun"}};
  }

  std::string KeysFile(std::initializer_list<const NewApiKeyResult*> keys) const {
    std::string text = "# test keys\n";
    for (const NewApiKeyResult* k : keys) {
      absl::StrAppend(&text, k->sha256_hex, " ",
                      k == &reader_ ? "team-r operations.read" : "team-s operations.submit", "\n");
    }
    return text;
  }

  // Claims that pass the configured issuer and audience, expiring 5 minutes from the clock.
  std::string GoodClaims() const {
    return absl::StrCat(R"({"iss":"https://idp.example","aud":["longrun"],"exp":)",
                        absl::ToUnixSeconds(clock_.Now()) + 300,
                        R"(,"tenant":"team-j","sub":"svc","scope":"operations.submit"})");
  }

  absl::StatusOr<Principal> Auth(absl::string_view token) const {
    return auth_->Authenticate(absl::StrCat("Bearer ", token));
  }

  TempDir dir_;
  FakeClock clock_{testing::kNow};
  NewApiKeyResult reader_, submitter_;
  std::unique_ptr<Authenticator> auth_;
};

TEST_F(TokenModeTest, EveryKindOfCredential) {
  absl::StatusOr<Principal> key = Auth(reader_.key);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->tenant, "team-r");
  EXPECT_EQ(key->credential, CredentialKind::kApiKey);

  for (const std::string& token :
       {HsJwt(kTestSecret, GoodClaims()), RsJwt(TestKey::Rsa(), GoodClaims(), "r1"),
        EsJwt(TestKey::Ec(), GoodClaims(), "e1")}) {
    absl::StatusOr<Principal> jwt = Auth(token);
    ASSERT_TRUE(jwt.ok()) << jwt.status();
    EXPECT_EQ(jwt->tenant, "team-j");
    EXPECT_EQ(jwt->subject, "svc");
    EXPECT_EQ(jwt->credential, CredentialKind::kJwt);
    EXPECT_TRUE(jwt->Has(Scope::kOperationsSubmit));
  }
}

TEST_F(TokenModeTest, Refusals) {
  EXPECT_EQ(Code(auth_->Authenticate("")), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Code(Auth("lr_not-a-key")), absl::StatusCode::kUnauthenticated);
  // The configured audience and issuer apply: Claims() has neither.
  EXPECT_EQ(Code(Auth(HsJwt(kTestSecret, Claims()))), absl::StatusCode::kUnauthenticated);
  // alg none and HS/RS confusion against the configured RSA key.
  EXPECT_EQ(Code(Auth(absl::StrCat(testing::B64(R"({"alg":"none"})"), ".",
                                   testing::B64(GoodClaims()), "."))),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Code(Auth(HsJwt(TestKey::Rsa().PublicPem(), GoodClaims()))),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenModeTest, ExpiryFollowsTheInjectedClock) {
  const std::string token = HsJwt(kTestSecret, GoodClaims());
  ASSERT_TRUE(Auth(token).ok());
  clock_.Advance(absl::Seconds(300 + 59));  // within the skew
  EXPECT_TRUE(Auth(token).ok());
  clock_.Advance(absl::Seconds(1));
  absl::StatusOr<Principal> expired = Auth(token);
  EXPECT_EQ(Code(expired), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(expired.status().message()), HasSubstr("token expired at"));
}

TEST_F(TokenModeTest, ARemovedKeyIsRevokedAtTheNextReload) {
  ASSERT_TRUE(Auth(reader_.key).ok());
  ASSERT_TRUE(Auth(submitter_.key).ok());
  dir_.Replace("keys", KeysFile({&submitter_}));
  EXPECT_TRUE(Auth(reader_.key).ok());  // not yet: nothing reloaded
  ReloadRunResult r = auth_->ReloadOnce();
  EXPECT_TRUE(r.ok && r.reloaded);
  absl::StatusOr<Principal> revoked = Auth(reader_.key);
  EXPECT_EQ(Code(revoked), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(revoked.status().message()), HasSubstr("unknown or revoked API key"));
  EXPECT_TRUE(Auth(submitter_.key).ok());
  // Unchanged files: nothing to do.
  r = auth_->ReloadOnce();
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.changed);
}

TEST_F(TokenModeTest, ABrokenKeysFileKeepsThePreviousKeys) {
  dir_.Write("keys", "this is not a keys file\n");
  ReloadRunResult r = auth_->ReloadOnce();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(Auth(reader_.key).ok());
  EXPECT_TRUE(Auth(HsJwt(kTestSecret, GoodClaims())).ok());  // the other files are unaffected
}

TEST_F(TokenModeTest, SecretAndKeyRotation) {
  const std::string old_hs = HsJwt(kTestSecret, GoodClaims());
  const std::string new_secret(40, 'n');
  dir_.Replace("secret", new_secret);
  dir_.Replace("jwks", absl::StrCat(R"({"keys":[)", TestKey::Rsa2().Jwk("r2"), "]}"));
  EXPECT_TRUE(auth_->ReloadOnce().reloaded);
  EXPECT_EQ(Code(Auth(old_hs)), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(Auth(HsJwt(new_secret, GoodClaims())).ok());
  EXPECT_EQ(Code(Auth(RsJwt(TestKey::Rsa(), GoodClaims(), "r1"))),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(Auth(RsJwt(TestKey::Rsa2(), GoodClaims(), "r2")).ok());
}

TEST_F(TokenModeTest, CreateRefusesABadFileNamingIt) {
  dir_.Write("short", "too short");
  AuthenticatorConfig config = Config();
  config.jwt_hs256_secret_file = dir_.File("short");
  absl::StatusOr<std::unique_ptr<Authenticator>> auth = Authenticator::Create(config, clock_);
  EXPECT_EQ(auth.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(auth.status().message()),
              HasSubstr(absl::StrCat("jwt hs256 secret file ", dir_.File("short"),
                                     ": an HS256 secret must be at least 32 bytes")));
  EXPECT_THAT(std::string(auth.status().message()), ::testing::Not(HasSubstr("too short")));
  config = Config();
  config.api_keys_file = dir_.File("missing");
  EXPECT_EQ(Authenticator::Create(config, clock_).status().code(), absl::StatusCode::kNotFound);
}

// What the interceptor will do: rule, then Authenticate, then CheckAccess.
TEST_F(TokenModeTest, WithTheMethodTable) {
  auto call = [&](absl::string_view method, absl::string_view header) -> absl::Status {
    const MethodRule rule = RuleForMethod(method);
    if (rule.access == MethodAccess::kOpen) return absl::OkStatus();
    absl::StatusOr<Principal> p = auth_->Authenticate(header);
    if (!p.ok()) return p.status();
    return CheckAccess(rule, *p);
  };
  const std::string reader = "Bearer " + reader_.key;
  EXPECT_TRUE(call("/grpc.health.v1.Health/Check", "").ok());
  EXPECT_EQ(call("/longrun.v1.Operations/GetOperation", "").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(call("/longrun.v1.Operations/GetOperation", reader).ok());
  EXPECT_EQ(call("/longrun.v1.Operations/Submit", reader).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(call("/longrun.v1.Operations/Submit", "Bearer " + submitter_.key).ok());
  EXPECT_EQ(call("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(call("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", reader).ok());
}

}  // namespace
}  // namespace longrun::auth
