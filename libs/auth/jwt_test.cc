#include "libs/auth/jwt.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/auth/test_keys.h"

namespace longrun::auth {
namespace {

using testing::B64;
using testing::Claims;
using testing::EsJwt;
using ::testing::HasSubstr;
using testing::HmacSha256;
using testing::HsJwt;
using testing::kNow;
using testing::kTestSecret;
using testing::MakeJwt;
using testing::RsJwt;
using testing::TestKey;

std::shared_ptr<const JwtPublicKeys> Keys(absl::string_view text) {
  absl::StatusOr<JwtPublicKeys> keys = JwtPublicKeys::Parse(text);
  EXPECT_TRUE(keys.ok()) << keys.status();
  if (!keys.ok()) return nullptr;
  return std::make_shared<const JwtPublicKeys>(*std::move(keys));
}

JwtKeys SecretOnly() { return {.hs256_secret = std::make_shared<std::string>(kTestSecret)}; }
JwtKeys PublicOnly(absl::string_view text) { return {.public_keys = Keys(text)}; }
JwtKeys Both(absl::string_view text) {
  return {.hs256_secret = std::make_shared<std::string>(kTestSecret), .public_keys = Keys(text)};
}

std::string Jwks(std::initializer_list<std::string> jwks) {
  return absl::StrCat(R"({"keys":[)", absl::StrJoin(jwks, ","), "]}");
}

// Expects UNAUTHENTICATED with `message` in it.
void ExpectRefused(absl::string_view token, const JwtKeys& keys, absl::string_view message,
                   const JwtOptions& options = {}, absl::Time now = kNow) {
  absl::StatusOr<VerifiedJwt> got = VerifyJwt(token, keys, options, now);
  ASSERT_FALSE(got.ok()) << "accepted: " << token;
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated) << got.status();
  EXPECT_THAT(std::string(got.status().message()), HasSubstr(message));
  // The message never echoes the token (or any long part of it).
  for (absl::string_view part : absl::StrSplit(token, '.')) {
    if (part.size() >= 16) {
      EXPECT_THAT(std::string(got.status().message()),
                  ::testing::Not(HasSubstr(std::string(part))));
    }
  }
}

void ExpectAccepted(absl::string_view token, const JwtKeys& keys, JwtAlg alg,
                    const JwtOptions& options = {}, absl::Time now = kNow) {
  absl::StatusOr<VerifiedJwt> got = VerifyJwt(token, keys, options, now);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->alg, alg);
  EXPECT_EQ(got->claims.fields().at("tenant").string_value(), "team-a");
}

// Flips one bit in the signature's first byte, keeping the encoding valid.
std::string TamperSignature(absl::string_view token) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  std::string sig;
  absl::WebSafeBase64Unescape(parts[2], &sig);
  sig[0] ^= 1;
  parts[2] = B64(sig);
  return absl::StrJoin(parts, ".");
}

TEST(JwtTest, ValidHs256) {
  ExpectAccepted(HsJwt(kTestSecret, Claims()), SecretOnly(), JwtAlg::kHs256);
}

TEST(JwtTest, SignHs256JwtMakesATokenVerifyJwtAccepts) {
  ExpectAccepted(SignHs256Jwt(Claims(), kTestSecret), SecretOnly(), JwtAlg::kHs256);
}

TEST(JwtTest, ValidRs256WithPem) {
  ExpectAccepted(RsJwt(TestKey::Rsa(), Claims()), PublicOnly(TestKey::Rsa().PublicPem()),
                 JwtAlg::kRs256);
}

TEST(JwtTest, ValidEs256WithPem) {
  ExpectAccepted(EsJwt(TestKey::Ec(), Claims()), PublicOnly(TestKey::Ec().PublicPem()),
                 JwtAlg::kEs256);
}

TEST(JwtTest, ValidWithCertificatePem) {
  ExpectAccepted(RsJwt(TestKey::Rsa(), Claims()), PublicOnly(TestKey::Rsa().CertificatePem()),
                 JwtAlg::kRs256);
  ExpectAccepted(EsJwt(TestKey::Ec(), Claims()), PublicOnly(TestKey::Ec().CertificatePem()),
                 JwtAlg::kEs256);
}

TEST(JwtTest, SeveralPemBlocksAreSeveralKeys) {
  const JwtKeys keys = PublicOnly(TestKey::Rsa().PublicPem() + "\n" + TestKey::Ec().PublicPem() +
                                  TestKey::Rsa2().CertificatePem());
  ASSERT_EQ(keys.public_keys->keys().size(), 3u);
  ExpectAccepted(RsJwt(TestKey::Rsa(), Claims()), keys, JwtAlg::kRs256);
  ExpectAccepted(RsJwt(TestKey::Rsa2(), Claims()), keys, JwtAlg::kRs256);
  ExpectAccepted(EsJwt(TestKey::Ec(), Claims()), keys, JwtAlg::kEs256);
}

TEST(JwtTest, ValidWithJwks) {
  const JwtKeys keys =
      PublicOnly(Jwks({TestKey::Rsa().Jwk("r1", "RS256"), TestKey::Ec().Jwk("e1", "ES256")}));
  ExpectAccepted(RsJwt(TestKey::Rsa(), Claims(), "r1"), keys, JwtAlg::kRs256);
  ExpectAccepted(EsJwt(TestKey::Ec(), Claims(), "e1"), keys, JwtAlg::kEs256);
  // No kid: every key of the token's alg is tried.
  ExpectAccepted(RsJwt(TestKey::Rsa(), Claims()), keys, JwtAlg::kRs256);
}

TEST(JwtTest, SingleJwkWithoutKidOrAlg) {
  ExpectAccepted(EsJwt(TestKey::Ec(), Claims(), "any"), PublicOnly(TestKey::Ec().Jwk()),
                 JwtAlg::kEs256);
}

TEST(JwtTest, JwksKidSelectsTheKey) {
  const JwtKeys keys =
      PublicOnly(Jwks({TestKey::Rsa().Jwk("a"), TestKey::Rsa2().Jwk("b"), TestKey::Ec().Jwk("c")}));
  ExpectAccepted(RsJwt(TestKey::Rsa2(), Claims(), "b"), keys, JwtAlg::kRs256);
  ExpectAccepted(RsJwt(TestKey::Rsa(), Claims(), "a"), keys, JwtAlg::kRs256);
  // Key b's signature presented as key a's: only key a is tried.
  ExpectRefused(RsJwt(TestKey::Rsa2(), Claims(), "a"), keys, "signature does not verify");
  ExpectRefused(RsJwt(TestKey::Rsa(), Claims(), "zz"), keys,
                "no configured RS256 key matches the token's key id");
  // kid "c" names the EC key: an RS256 token cannot use it.
  ExpectRefused(RsJwt(TestKey::Rsa(), Claims(), "c"), keys, "no configured RS256 key");
}

TEST(JwtTest, BadSignature) {
  ExpectRefused(TamperSignature(HsJwt(kTestSecret, Claims())), SecretOnly(),
                "signature does not verify");
  ExpectRefused(TamperSignature(RsJwt(TestKey::Rsa(), Claims())),
                PublicOnly(TestKey::Rsa().PublicPem()), "signature does not verify");
  ExpectRefused(TamperSignature(EsJwt(TestKey::Ec(), Claims())),
                PublicOnly(TestKey::Ec().PublicPem()), "signature does not verify");
  // Signed by another key of the same type.
  ExpectRefused(RsJwt(TestKey::Rsa2(), Claims()), PublicOnly(TestKey::Rsa().PublicPem()),
                "signature does not verify");
  ExpectRefused(EsJwt(TestKey::Ec2(), Claims()), PublicOnly(TestKey::Ec().PublicPem()),
                "signature does not verify");
  ExpectRefused(HsJwt("another secret, also 32 bytes long!", Claims()), SecretOnly(),
                "signature does not verify");
}

TEST(JwtTest, ClaimsChangedAfterSigningAreRefused) {
  const std::string token = HsJwt(kTestSecret, Claims());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  parts[1] = B64(absl::StrReplaceAll(Claims(), {{"team-a", "team-b"}}));
  ExpectRefused(absl::StrJoin(parts, "."), SecretOnly(), "signature does not verify");
}

TEST(JwtTest, Es256DerSignatureIsRefused) {
  // JWS carries R || S; a DER-encoded signature (what OpenSSL emits) is not a JWS signature.
  const std::string token = MakeJwt(R"({"alg":"ES256"})", Claims(),
                                    [](absl::string_view in) { return TestKey::Ec().SignDer(in); });
  ExpectRefused(token, PublicOnly(TestKey::Ec().PublicPem()), "signature does not verify");
}

TEST(JwtTest, ExpiryAndNotBeforeWithSkew) {
  const JwtKeys keys = SecretOnly();
  ExpectRefused(HsJwt(kTestSecret, Claims(-absl::Seconds(61))), keys, "token expired at 2027-");
  ExpectRefused(HsJwt(kTestSecret, Claims(-absl::Seconds(60))), keys, "token expired");
  // Within the default 60 s of skew.
  ExpectAccepted(HsJwt(kTestSecret, Claims(-absl::Seconds(59))), keys, JwtAlg::kHs256);
  const std::string nbf_far = absl::StrCat(R"("nbf":)", absl::ToUnixSeconds(kNow) + 120);
  ExpectRefused(HsJwt(kTestSecret, Claims(absl::Minutes(5), nbf_far)), keys,
                "token is not valid before 2027-");
  const std::string nbf_near = absl::StrCat(R"("nbf":)", absl::ToUnixSeconds(kNow) + 30);
  ExpectAccepted(HsJwt(kTestSecret, Claims(absl::Minutes(5), nbf_near)), keys, JwtAlg::kHs256);
  // With no skew allowed.
  const JwtOptions strict{.clock_skew = absl::ZeroDuration()};
  ExpectRefused(HsJwt(kTestSecret, Claims(-absl::Seconds(1))), keys, "expired", strict);
  ExpectRefused(HsJwt(kTestSecret, Claims(absl::Minutes(5), nbf_near)), keys, "not valid before",
                strict);
  ExpectAccepted(HsJwt(kTestSecret, Claims(absl::Seconds(1))), keys, JwtAlg::kHs256, strict);
  // Fractional NumericDates are allowed (RFC 7519 section 2).
  ExpectAccepted(HsJwt(kTestSecret, absl::StrCat(R"({"tenant":"team-a","exp":)",
                                                 absl::ToUnixSeconds(kNow), ".5}")),
                 keys, JwtAlg::kHs256, strict, kNow + absl::Milliseconds(400));
}

TEST(JwtTest, MissingOrMalformedExp) {
  ExpectRefused(HsJwt(kTestSecret, R"({"tenant":"team-a"})"), SecretOnly(), "no exp claim");
  ExpectRefused(HsJwt(kTestSecret, R"({"tenant":"team-a","exp":"1900000000"})"), SecretOnly(),
                "claim exp is not a number");
  ExpectRefused(HsJwt(kTestSecret, Claims(absl::Minutes(5), R"("nbf":true)")), SecretOnly(),
                "claim nbf is not a number");
}

TEST(JwtTest, Issuer) {
  const JwtOptions options{.issuer = "https://idp.example"};
  ExpectAccepted(HsJwt(kTestSecret, Claims(absl::Minutes(5), R"("iss":"https://idp.example")")),
                 SecretOnly(), JwtAlg::kHs256, options);
  ExpectRefused(HsJwt(kTestSecret, Claims(absl::Minutes(5), R"("iss":"https://evil.example")")),
                SecretOnly(), "issuer (iss) is not the accepted one", options);
  ExpectRefused(HsJwt(kTestSecret, Claims()), SecretOnly(), "issuer", options);
  // Not configured: not checked.
  ExpectAccepted(HsJwt(kTestSecret, Claims(absl::Minutes(5), R"("iss":"anyone")")), SecretOnly(),
                 JwtAlg::kHs256);
}

TEST(JwtTest, Audience) {
  const JwtOptions options{.audience = "longrun"};
  auto with = [](absl::string_view aud) {
    return HsJwt(kTestSecret, Claims(absl::Minutes(5), absl::StrCat(R"("aud":)", aud)));
  };
  ExpectAccepted(with(R"("longrun")"), SecretOnly(), JwtAlg::kHs256, options);
  ExpectAccepted(with(R"(["other","longrun"])"), SecretOnly(), JwtAlg::kHs256, options);
  ExpectRefused(with(R"("other")"), SecretOnly(), "audience (aud) does not include \"longrun\"",
                options);
  ExpectRefused(with(R"(["other","longrun-x"])"), SecretOnly(), "audience", options);
  ExpectRefused(with(R"([])"), SecretOnly(), "audience", options);
  ExpectRefused(with("7"), SecretOnly(), "audience", options);
  ExpectRefused(HsJwt(kTestSecret, Claims()), SecretOnly(), "audience", options);
}

TEST(JwtTest, AlgNoneIsRefused) {
  for (absl::string_view alg : {"none", "None", "NONE"}) {
    const std::string header = absl::StrCat(R"({"alg":")", alg, R"(","typ":"JWT"})");
    const std::string unsigned_token = B64(header) + "." + B64(Claims()) + ".";
    ExpectRefused(unsigned_token, Both(TestKey::Rsa().PublicPem()), "alg none");
    // Even with something in the signature part.
    ExpectRefused(unsigned_token + "c2ln", Both(TestKey::Rsa().PublicPem()), "alg none");
  }
}

TEST(JwtTest, OtherAlgorithmsAreRefused) {
  for (absl::string_view alg : {"HS384", "HS512", "RS512", "PS256", "ES384", "EdDSA", "hs256"}) {
    const std::string token =
        MakeJwt(absl::StrCat(R"({"alg":")", alg, R"("})"), Claims(),
                [](absl::string_view in) { return HmacSha256(kTestSecret, in); });
    ExpectRefused(token, Both(TestKey::Rsa().PublicPem()),
                  "token alg is not accepted; this server accepts HS256, RS256");
  }
  ExpectRefused(MakeJwt(R"({"typ":"JWT"})", Claims(),
                        [](absl::string_view in) { return HmacSha256(kTestSecret, in); }),
                SecretOnly(), "the header has no alg");
  ExpectRefused(MakeJwt(R"({"alg":256})", Claims(),
                        [](absl::string_view in) { return HmacSha256(kTestSecret, in); }),
                SecretOnly(), "the header has no alg");
}

TEST(JwtTest, HsRsConfusionIsRefused) {
  // The classic attack: an HS256 token whose HMAC key is the server's RSA public key (which
  // is public), hoping the server feeds "its key" to HMAC.
  for (const std::string& pem : {TestKey::Rsa().PublicPem(), TestKey::Rsa().CertificatePem()}) {
    const std::string forged = HsJwt(pem, Claims());
    ExpectRefused(forged, PublicOnly(pem), "HS256 tokens are not accepted");
    // With an HS256 secret configured too, HS256 is verified with that secret only.
    ExpectRefused(forged, Both(pem), "signature does not verify");
  }
  const std::string jwks = Jwks({TestKey::Rsa().Jwk("k1", "RS256")});
  ExpectRefused(HsJwt(jwks, Claims()), PublicOnly(jwks), "HS256 tokens are not accepted");
  ExpectRefused(HsJwt(TestKey::Rsa().Jwk("k1", "RS256"), Claims()), PublicOnly(jwks),
                "HS256 tokens are not accepted");
}

TEST(JwtTest, PublicKeyTokensNeedPublicKeys) {
  ExpectRefused(RsJwt(TestKey::Rsa(), Claims()), SecretOnly(),
                "RS256 tokens are not accepted; this server accepts HS256");
  ExpectRefused(EsJwt(TestKey::Ec(), Claims()), SecretOnly(), "ES256 tokens are not accepted");
}

TEST(JwtTest, RsEsMismatchIsRefused) {
  // An ES256 header on an RSA signature, against an RSA key only.
  const std::string es_header_rsa_sig = MakeJwt(
      R"({"alg":"ES256"})", Claims(), [](absl::string_view in) { return TestKey::Rsa().Sign(in); });
  ExpectRefused(es_header_rsa_sig, PublicOnly(TestKey::Rsa().PublicPem()),
                "no configured ES256 key");
  // ...and an RS256 header on an EC signature, against both keys.
  const std::string rs_header_ec_sig = MakeJwt(
      R"({"alg":"RS256"})", Claims(), [](absl::string_view in) { return TestKey::Ec().Sign(in); });
  ExpectRefused(rs_header_ec_sig,
                PublicOnly(TestKey::Rsa().PublicPem() + TestKey::Ec().PublicPem()),
                "signature does not verify");
  // A JWK whose alg is RS256 is never used for ES256, even with the token's kid.
  const JwtKeys keys = PublicOnly(Jwks({TestKey::Rsa().Jwk("k", "RS256")}));
  ExpectRefused(MakeJwt(R"({"alg":"ES256","kid":"k"})", Claims(),
                        [](absl::string_view in) { return TestKey::Ec().Sign(in); }),
                keys, "no configured ES256 key");
}

TEST(JwtTest, OversizedTokenIsRefusedBeforeParsing) {
  const std::string big =
      HsJwt(kTestSecret,
            Claims(absl::Minutes(5), absl::StrCat(R"("pad":")", std::string(8200, 'x'), "\"")));
  ExpectRefused(big, SecretOnly(), "larger than 8192 bytes");
  // Not even decoded: garbage of that size gets the same answer.
  ExpectRefused(std::string(kMaxTokenBytes + 1, '!'), SecretOnly(), "larger than 8192 bytes");
  // Just under the limit is fine.
  std::string token;
  for (size_t n = 5500; n < 7000; ++n) {
    token = HsJwt(kTestSecret,
                  Claims(absl::Minutes(5), absl::StrCat(R"("pad":")", std::string(n, 'x'), "\"")));
    if (token.size() >= kMaxTokenBytes - 4) break;
  }
  ASSERT_LE(token.size(), kMaxTokenBytes);
  ExpectAccepted(token, SecretOnly(), JwtAlg::kHs256);
}

TEST(JwtTest, Base64UrlIsStrict) {
  const std::string token = HsJwt(kTestSecret, Claims());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  auto join = [&](std::vector<std::string> p) { return absl::StrJoin(p, "."); };
  // Padding.
  ExpectRefused(join({parts[0] + "=", parts[1], parts[2]}), SecretOnly(), "malformed token");
  ExpectRefused(join({parts[0], parts[1], parts[2] + "="}), SecretOnly(), "malformed token");
  // Standard base64's alphabet.
  std::string plus = parts[2];
  plus[3] = '+';
  ExpectRefused(join({parts[0], parts[1], plus}), SecretOnly(), "malformed token");
  // Whitespace inside.
  ExpectRefused(join({parts[0], parts[1] + " ", parts[2]}), SecretOnly(), "malformed token");
  // The signature's last character carries 2 unused bits (32 bytes in 43 characters): a
  // second spelling of the same bytes must not be accepted.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const size_t last = alphabet.find(parts[2].back());
  ASSERT_EQ(last % 4, 0u) << "unused bits must be zero in a canonical encoding";
  std::string sloppy = parts[2];
  sloppy.back() = alphabet[last + 1];
  ExpectRefused(join({parts[0], parts[1], sloppy}), SecretOnly(), "malformed token");
  // Wrong number of parts.
  ExpectRefused(join({parts[0], parts[1]}), SecretOnly(), "malformed token");
  ExpectRefused(join({parts[0], parts[1], parts[2], parts[2]}), SecretOnly(), "malformed token");
  ExpectRefused("..", SecretOnly(), "malformed token");
  ExpectRefused("", SecretOnly(), "malformed token");
}

TEST(JwtTest, MalformedHeaderAndClaims) {
  const auto sign = [](absl::string_view in) { return HmacSha256(kTestSecret, in); };
  ExpectRefused(MakeJwt("not json", Claims(), sign), SecretOnly(), "header is not a JSON object");
  ExpectRefused(MakeJwt(R"(["HS256"])", Claims(), sign), SecretOnly(), "header is not a JSON");
  ExpectRefused(MakeJwt(R"({"alg":"HS256","kid":7})", Claims(), sign), SecretOnly(),
                "kid is not a string");
  ExpectRefused(MakeJwt(R"({"alg":"HS256","crit":["exp"]})", Claims(), sign), SecretOnly(), "crit");
  // Claims that are not an object, correctly signed.
  ExpectRefused(MakeJwt(R"({"alg":"HS256"})", "[1,2]", sign), SecretOnly(),
                "claims are not a JSON object");
}

TEST(JwtTest, HeaderKeysAreNeverTrusted) {
  // A token carrying its own key (jwk / jku / x5c) is still verified with the configured keys.
  const std::string header = absl::StrCat(R"({"alg":"RS256","jwk":)", TestKey::Rsa2().Jwk(),
                                          R"(,"jku":"https://evil.example/jwks"})");
  const std::string token =
      MakeJwt(header, Claims(), [](absl::string_view in) { return TestKey::Rsa2().Sign(in); });
  ExpectRefused(token, PublicOnly(TestKey::Rsa().PublicPem()), "signature does not verify");
}

TEST(JwtPublicKeysTest, RefusesKeysItCannotUse) {
  auto error = [](absl::string_view text) {
    absl::StatusOr<JwtPublicKeys> keys = JwtPublicKeys::Parse(text);
    EXPECT_FALSE(keys.ok());
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(keys.status().message());
  };
  EXPECT_THAT(error(""), HasSubstr("neither PEM"));
  EXPECT_THAT(error("hello"), HasSubstr("neither PEM"));
  EXPECT_THAT(error(TestKey(TestKey::Type::kRsa1024).PublicPem()),
              HasSubstr("RSA key of 1024 bits; at least 2048"));
  EXPECT_THAT(error(TestKey(TestKey::Type::kEcP384).PublicPem()), HasSubstr("only P-256"));
  EXPECT_THAT(error(TestKey::Ec().PrivatePem()), HasSubstr("private key"));
  EXPECT_THAT(error(TestKey::Rsa().PublicPem() + TestKey::Ec().PrivatePem()),
              HasSubstr("PEM block 2 (PRIVATE KEY) is a private key"));
  EXPECT_THAT(error("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
              HasSubstr("does not hold a valid key"));
  EXPECT_THAT(error("-----BEGIN PUBLIC KEY-----\n!!!\n"), HasSubstr("PEM block 1 is malformed"));
  EXPECT_THAT(error("{"), HasSubstr("JWKS"));
  EXPECT_THAT(error(R"({"keys":{}})"), HasSubstr("\"keys\" is not an array"));
  EXPECT_THAT(error(R"({"keys":[]})"), HasSubstr("no RSA or EC P-256 signing key"));
  EXPECT_THAT(error(R"({"keys":[7]})"), HasSubstr("JWKS key 0 is not a JSON object"));
  EXPECT_THAT(error(R"({"x":1})"), HasSubstr("expected {\"keys\""));
  // Keys we do not verify with are skipped, which leaves none here.
  EXPECT_THAT(
      error(Jwks({R"({"kty":"oct","k":"c2VjcmV0"})", TestKey::Rsa().Jwk("a", "RS384"),
                  TestKey::Rsa().Jwk("b", "ES256"), TestKey(TestKey::Type::kEcP384).Jwk("c"),
                  absl::StrReplaceAll(TestKey::Rsa().Jwk("d"), {{"}", R"(,"use":"enc"})"}})})),
      HasSubstr("(5 keys skipped)"));
  EXPECT_THAT(error(Jwks({R"({"kty":"RSA","n":"AQAB"})"})), HasSubstr("\"e\" is missing"));
  EXPECT_THAT(error(Jwks({R"({"kty":"RSA","n":"AQAB=","e":"AQAB"})"})),
              HasSubstr("\"n\" is not base64url"));
  EXPECT_THAT(error(Jwks({R"({"kty":"RSA","n":"AQAB","e":"AQAB"})"})),
              HasSubstr("not a valid RSA key"));
  EXPECT_THAT(error(Jwks({TestKey(TestKey::Type::kRsa1024).Jwk()})), HasSubstr("1024 bits"));
  EXPECT_THAT(error(Jwks({R"({"kty":"EC","crv":"P-256","x":"AQAB","y":"AQAB"})"})),
              HasSubstr("32 bytes"));
  const std::string off_curve =
      absl::StrCat(R"({"kty":"EC","crv":"P-256","x":")", B64(std::string(32, '\x01')), R"(","y":")",
                   B64(std::string(32, '\x02')), R"("})");
  EXPECT_THAT(error(Jwks({off_curve})), HasSubstr("not a point on P-256"));
  EXPECT_THAT(error(Jwks({R"({"kty":"RSA","kid":1})"})), HasSubstr("\"kid\" is not a string"));
}

TEST(JwtPublicKeysTest, SkipsUnusableJwksEntriesNextToUsableOnes) {
  absl::StatusOr<JwtPublicKeys> keys = JwtPublicKeys::Parse(
      Jwks({R"({"kty":"oct","k":"c2VjcmV0"})", TestKey::Rsa2().Jwk("old", "RS512"),
            TestKey::Ec().Jwk("e", "ES256")}));
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->keys().size(), 1u);
  EXPECT_EQ(keys->keys()[0].kid, "e");
  EXPECT_EQ(keys->keys()[0].alg, JwtAlg::kEs256);
}

TEST(Hs256SecretTest, NeedsThirtyTwoBytes) {
  EXPECT_EQ(ParseHs256Secret(std::string(31, 'k')).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(ParseHs256Secret(std::string(32, 'k')).ok());
  // The bytes are the key, a trailing newline included.
  EXPECT_EQ(*ParseHs256Secret(std::string(32, 'k') + "\n"), std::string(32, 'k') + "\n");
}

google::protobuf::Struct ClaimsStruct(absl::string_view json) {
  absl::StatusOr<VerifiedJwt> v = VerifyJwt(HsJwt(kTestSecret, json), SecretOnly(), {}, kNow);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? v->claims : google::protobuf::Struct();
}

TEST(PrincipalFromClaimsTest, TenantSubjectAndScopes) {
  absl::StatusOr<Principal> p = PrincipalFromClaims(
      ClaimsStruct(Claims(absl::Minutes(5),
                          R"("scope":"operations.submit workers.lease:q1/k1 unknown.scope")")),
      "tenant");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "team-a");
  EXPECT_EQ(p->subject, "alice");
  EXPECT_EQ(p->credential, CredentialKind::kJwt);
  EXPECT_TRUE(p->Has(Scope::kOperationsSubmit));
  EXPECT_FALSE(p->Has(Scope::kOperationsRead));
  EXPECT_TRUE(MayLease(*p, "q1", "k1"));
  EXPECT_FALSE(MayLease(*p, "q1", "k2"));
  EXPECT_EQ(p->scopes.ToString(), "operations.submit workers.lease:q1/k1");
}

TEST(PrincipalFromClaimsTest, ScopeMayBeAnArray) {
  absl::StatusOr<Principal> p = PrincipalFromClaims(
      ClaimsStruct(Claims(absl::Minutes(5), R"("scope":["operations.cancel","admin",7])")),
      "tenant");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->scopes.ToString(), "operations.cancel admin");
}

TEST(PrincipalFromClaimsTest, TenantClaim) {
  const google::protobuf::Struct claims =
      ClaimsStruct(Claims(absl::Minutes(5), R"("org":"acme.example/eu")"));
  absl::StatusOr<Principal> org = PrincipalFromClaims(claims, "org");
  ASSERT_TRUE(org.ok()) << org.status();
  EXPECT_EQ(org->tenant, "acme.example/eu");
  absl::StatusOr<Principal> missing = PrincipalFromClaims(claims, "https://example.com/tenant");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("token has no \"https://example.com/tenant\" claim"));
  for (absl::string_view bad : {R"("t":"")", R"("t":"a b")", R"("t":7)", R"("t":["a"])"}) {
    absl::StatusOr<Principal> p =
        PrincipalFromClaims(ClaimsStruct(Claims(absl::Minutes(5), bad)), "t");
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated) << bad;
    EXPECT_THAT(std::string(p.status().message()), HasSubstr("must be 1-128 characters"));
  }
}

}  // namespace
}  // namespace longrun::auth
