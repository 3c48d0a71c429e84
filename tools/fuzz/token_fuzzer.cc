// The authorization header and JWT parsers (libs/auth) on arbitrary bytes, against an HS256
// secret, an RSA 2048 and an EC P-256 key (generated at start-up) and two API keys. Checks,
// besides "no crash, no sanitizer report":
//   - every refusal is UNAUTHENTICATED, with a message under 256 bytes: built from fixed text,
//     dates and configuration, never from the presented token (a short token may of course
//     happen to spell a piece of fixed text, so the length is what is checked);
//   - an accepted credential names a valid tenant; an API key is one of the two known keys;
//     an accepted JWT header value verifies as a JWT on its own;
//   - the bytes as JWT claims, HS256-signed: accepted iff they are a JSON object whose exp
//     lies ahead (when nbf is absent and the token fits in 8 KiB), and then read back equal;
//   - the API-keys file parser's errors are INVALID_ARGUMENT "line N: ...", the public-key
//     parser's INVALID_ARGUMENT.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "libs/auth/api_keys.h"
#include "libs/auth/bearer.h"
#include "libs/auth/jwt.h"
#include "libs/auth/test_keys.h"
#include "libs/core/struct_json.h"

namespace {

using namespace longrun::auth;  // NOLINT: a fuzzer's whole world

constexpr absl::string_view kSecret = "fuzz-secret-0123456789abcdef0123456789";
// Seeds in tools/fuzz/corpus/token use these keys and expire in 2100.
constexpr absl::string_view kKeyA = "lr_fuzz-key-a-0123456789abcdefghijklmnopqrstu";
constexpr absl::string_view kKeyB = "lr_fuzz-key-b-0123456789abcdefghijklmnopqrstu";
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

[[noreturn]] void Fail(const char* what, absl::string_view detail) {
  std::fprintf(stderr, "token_fuzzer: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

struct World {
  Credentials credentials;
  BearerOptions options;
};

const World& GetWorld() {
  static const World* world = [] {
    auto* w = new World;
    w->credentials.jwt.hs256_secret = std::make_shared<const std::string>(kSecret);
    const testing::TestKey rsa(testing::TestKey::Type::kRsa2048);
    const testing::TestKey ec(testing::TestKey::Type::kEcP256);
    absl::StatusOr<JwtPublicKeys> keys = JwtPublicKeys::Parse(
        absl::StrCat(R"({"keys":[)", rsa.Jwk("r1", "RS256"), ",", ec.Jwk("e1"), "]}"));
    if (!keys.ok()) Fail("public keys", keys.status().ToString());
    w->credentials.jwt.public_keys = std::make_shared<const JwtPublicKeys>(*std::move(keys));
    absl::StatusOr<ApiKeys> api_keys =
        ApiKeys::Parse(absl::StrCat(ApiKeySha256Hex(kKeyA), " tenant-a operations.read\n",
                                    ApiKeySha256Hex(kKeyB), " tenant-b workers.lease:q/k\n"));
    if (!api_keys.ok()) Fail("api keys", api_keys.status().ToString());
    w->credentials.api_keys = std::make_shared<const ApiKeys>(*std::move(api_keys));
    return w;
  }();
  return *world;
}

constexpr size_t kMaxMessageBytes = 256;

void CheckRefusal(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnauthenticated) {
    Fail("refusal is not UNAUTHENTICATED", status.ToString());
  }
  if (status.message().size() >= kMaxMessageBytes) Fail("message too long", status.message());
}

void FuzzHeader(absl::string_view header) {
  const World& w = GetWorld();
  absl::StatusOr<absl::string_view> token = ParseBearer(header);
  absl::StatusOr<Principal> p = AuthenticateBearer(header, w.credentials, w.options, kNow);
  if (!p.ok()) {
    CheckRefusal(p.status());
    return;
  }
  if (!token.ok()) Fail("accepted what ParseBearer refused", header);
  if (!ValidateTenant(p->tenant).ok()) Fail("accepted an invalid tenant", p->tenant);
  if (p->credential == CredentialKind::kApiKey) {
    if (*token != kKeyA && *token != kKeyB) Fail("accepted an unknown API key", *token);
  } else if (p->credential == CredentialKind::kJwt) {
    if (!VerifyJwt(*token, w.credentials.jwt, w.options.jwt, kNow).ok()) {
      Fail("accepted a JWT VerifyJwt refuses", *token);
    }
  } else {
    Fail("unexpected credential kind", CredentialKindName(p->credential));
  }
}

void FuzzJwt(absl::string_view token) {
  const World& w = GetWorld();
  absl::StatusOr<VerifiedJwt> v = VerifyJwt(token, w.credentials.jwt, w.options.jwt, kNow);
  if (!v.ok()) CheckRefusal(v.status());
}

// `claims` signed with the secret: accepted iff a JSON object with a future exp.
void FuzzSignedClaims(absl::string_view claims) {
  const World& w = GetWorld();
  const std::string token = SignHs256Jwt(claims, kSecret);
  absl::StatusOr<VerifiedJwt> v = VerifyJwt(token, w.credentials.jwt, w.options.jwt, kNow);
  absl::StatusOr<google::protobuf::Struct> parsed = longrun::core::StructFromJson(claims);
  if (v.ok()) {
    if (!parsed.ok()) Fail("accepted claims that are not a JSON object", claims);
    if (!google::protobuf::util::MessageDifferencer::Equals(*parsed, v->claims)) {
      Fail("claims changed on the way", claims);
    }
    return;
  }
  CheckRefusal(v.status());
  if (!parsed.ok() || token.size() > kMaxTokenBytes) return;
  const auto& f = parsed->fields();
  auto exp = f.find("exp");
  const bool good_exp = exp != f.end() &&
                        exp->second.kind_case() == google::protobuf::Value::kNumberValue &&
                        std::isfinite(exp->second.number_value()) &&
                        exp->second.number_value() > absl::ToUnixSeconds(kNow) + 1;
  if (good_exp && !f.contains("nbf")) Fail("refused good claims", v.status().ToString());
}

void FuzzFiles(absl::string_view text) {
  absl::StatusOr<ApiKeys> keys = ApiKeys::Parse(text);
  if (!keys.ok() && (keys.status().code() != absl::StatusCode::kInvalidArgument ||
                     !absl::StartsWith(keys.status().message(), "line "))) {
    Fail("unexpected api keys error", keys.status().ToString());
  }
  if (keys.ok()) keys->Lookup(text);
  absl::StatusOr<JwtPublicKeys> public_keys = JwtPublicKeys::Parse(text);
  if (!public_keys.ok() && public_keys.status().code() != absl::StatusCode::kInvalidArgument) {
    Fail("unexpected public key error", public_keys.status().ToString());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  FuzzHeader(input);
  FuzzHeader(absl::StrCat("Bearer ", input));
  FuzzJwt(input);
  FuzzSignedClaims(input);
  FuzzFiles(input);
  return 0;
}
