#include "libs/auth/bearer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/auth/test_keys.h"

namespace longrun::auth {
namespace {

using testing::Claims;
using ::testing::HasSubstr;
using testing::HsJwt;
using testing::kNow;
using testing::kTestSecret;
using ::testing::Not;

TEST(ParseBearerTest, AcceptsTheBearerScheme) {
  for (absl::string_view value : {"Bearer abc", "bearer abc", "BEARER abc", "  Bearer    abc  ",
                                  "Bearer\tabc", "Bearer abc=="}) {
    absl::StatusOr<absl::string_view> token = ParseBearer(value);
    ASSERT_TRUE(token.ok()) << value << ": " << token.status();
    EXPECT_EQ(absl::StripSuffix(*token, "=="), "abc") << value;
  }
  EXPECT_EQ(*ParseBearer("Bearer a.b-c_d~e+f/g"), "a.b-c_d~e+f/g");
}

TEST(ParseBearerTest, RefusesWithoutEchoingTheValue) {
  const struct {
    std::string value;
    absl::string_view message;
  } cases[] = {
      {"", "missing credential: send the header 'authorization: Bearer <token>'"},
      {"   ", "missing credential"},
      {"Bearer", "missing token after 'Bearer'"},
      {"bearer \t ", "missing token after 'Bearer'"},
      {"Bearerx token", "unsupported authorization scheme"},
      {"Basic dXNlcjpzZWNyZXQtcGFzc3dvcmQ=", "unsupported authorization scheme"},
      {"secret-token-without-scheme", "unsupported authorization scheme"},
      {"Bearer secret-token with-space", "malformed bearer token"},
      {"Bearer secret=token", "malformed bearer token"},
      {"Bearer =secret", "malformed bearer token"},
      {"Bearer secret\x01token", "malformed bearer token"},
      {"Bearer secret\"token", "malformed bearer token"},
      {"Bearer " + std::string(kMaxTokenBytes + 1, 'a'), "larger than 8192 bytes"},
      {std::string(100000, 'a'), "larger than 8192 bytes"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<absl::string_view> token = ParseBearer(c.value);
    ASSERT_FALSE(token.ok()) << c.value;
    EXPECT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(std::string(token.status().message()), HasSubstr(c.message));
    EXPECT_THAT(std::string(token.status().message()), Not(HasSubstr("secret")));
  }
  // Exactly the limit is fine.
  EXPECT_TRUE(ParseBearer("Bearer " + std::string(kMaxTokenBytes, 'a')).ok());
}

TEST(LooksLikeJwtTest, TwoDots) {
  EXPECT_TRUE(LooksLikeJwt("a.b.c"));
  EXPECT_TRUE(LooksLikeJwt(".."));
  EXPECT_FALSE(LooksLikeJwt("lr_abc"));
  EXPECT_FALSE(LooksLikeJwt("a.b"));
  EXPECT_FALSE(LooksLikeJwt("a.b.c.d.e"));  // a JWE: not accepted as a JWT
}

class AuthenticateBearerTest : public ::testing::Test {
 protected:
  AuthenticateBearerTest() {
    const NewApiKeyResult k = NewApiKey();
    key_ = k.key;
    auto keys = ApiKeys::Parse(absl::StrCat(k.sha256_hex, " team-k operations.submit"));
    EXPECT_TRUE(keys.ok());
    both_.api_keys = std::make_shared<const ApiKeys>(*std::move(keys));
    both_.jwt.hs256_secret = std::make_shared<const std::string>(kTestSecret);
  }

  absl::StatusOr<Principal> Auth(absl::string_view header, const Credentials& c) {
    return AuthenticateBearer(header, c, {}, kNow);
  }

  std::string key_;
  Credentials both_;
};

TEST_F(AuthenticateBearerTest, JwtAndApiKey) {
  absl::StatusOr<Principal> jwt = Auth("Bearer " + HsJwt(kTestSecret, Claims()), both_);
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->tenant, "team-a");
  EXPECT_EQ(jwt->credential, CredentialKind::kJwt);
  EXPECT_TRUE(jwt->Has(Scope::kOperationsRead));

  absl::StatusOr<Principal> key = Auth("bearer " + key_, both_);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->tenant, "team-k");
  EXPECT_EQ(key->credential, CredentialKind::kApiKey);
  EXPECT_TRUE(key->Has(Scope::kOperationsSubmit));
}

TEST_F(AuthenticateBearerTest, Refusals) {
  auto expect = [&](absl::string_view header, const Credentials& c, absl::string_view message) {
    absl::StatusOr<Principal> p = Auth(header, c);
    ASSERT_FALSE(p.ok()) << header;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(std::string(p.status().message()), HasSubstr(message));
    EXPECT_THAT(std::string(p.status().message()), Not(HasSubstr(key_)));
  };
  expect("", both_, "missing credential");
  expect("Bearer " + key_ + "x", both_, "unknown or revoked API key");
  expect("Bearer " + HsJwt(kTestSecret, Claims(-absl::Minutes(5))), both_, "token expired");
  // A valid token without the tenant claim.
  expect("Bearer " +
             HsJwt(kTestSecret, absl::StrCat(R"({"exp":)", absl::ToUnixSeconds(kNow) + 60, "}")),
         both_, "token has no \"tenant\" claim");
  Credentials keys_only{.api_keys = both_.api_keys};
  expect("Bearer " + HsJwt(kTestSecret, Claims()), keys_only, "JWTs are not accepted");
  Credentials jwt_only{.jwt = both_.jwt};
  expect("Bearer " + key_, jwt_only, "API keys are not accepted");
}

TEST_F(AuthenticateBearerTest, TenantClaimOption) {
  const BearerOptions options{.tenant_claim = "org"};
  absl::StatusOr<Principal> p =
      AuthenticateBearer("Bearer " + HsJwt(kTestSecret, Claims(absl::Minutes(1), R"("org":"o1")")),
                         both_, options, kNow);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "o1");
}

}  // namespace
}  // namespace longrun::auth
