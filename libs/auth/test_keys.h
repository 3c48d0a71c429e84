// Test helpers: keys generated with OpenSSL at run time (RSA 2048, EC P-256), their PEM and
// JWK forms, and tokens signed by them, so tests never ship a private key.
#ifndef LONGRUN_AUTH_TEST_KEYS_H_
#define LONGRUN_AUTH_TEST_KEYS_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace longrun::auth::testing {

inline constexpr absl::string_view kTestSecret = "0123456789abcdef0123456789abcdef-test";
// The time tests verify at (the FakeClock's default start).
inline const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

class TestKey {
 public:
  enum class Type { kRsa2048, kRsa1024, kEcP256, kEcP384 };
  explicit TestKey(Type type);
  ~TestKey();
  TestKey(const TestKey&) = delete;
  TestKey& operator=(const TestKey&) = delete;

  // Shared keys, generated once per process (RSA generation takes a while).
  static const TestKey& Rsa();
  static const TestKey& Rsa2();
  static const TestKey& Ec();
  static const TestKey& Ec2();

  std::string PublicPem() const;       // "-----BEGIN PUBLIC KEY-----"
  std::string PrivatePem() const;      // "-----BEGIN PRIVATE KEY-----"
  std::string CertificatePem() const;  // self-signed, one hour
  // The public key as a JWK object; `kid` and `alg` are left out when empty.
  std::string Jwk(absl::string_view kid = "", absl::string_view alg = "") const;
  // The JWS signature over `input`: RS256 (PKCS#1 v1.5) or ES256 (raw R || S).
  std::string Sign(absl::string_view input) const;
  // ES256 only: the DER signature OpenSSL produces (what a buggy signer would send).
  std::string SignDer(absl::string_view input) const;

 private:
  EVP_PKEY* pkey_;
  Type type_;
};

std::string B64(absl::string_view bytes);  // base64url, no padding
std::string HmacSha256(absl::string_view key, absl::string_view input);

// header.claims.signature, with the signature `sign(header.claims)`.
template <typename Sign>
std::string MakeJwt(absl::string_view header_json, absl::string_view claims_json, Sign sign) {
  const std::string input = B64(header_json) + "." + B64(claims_json);
  return input + "." + B64(sign(input));
}
std::string RsJwt(const TestKey& key, absl::string_view claims_json, absl::string_view kid = "");
std::string EsJwt(const TestKey& key, absl::string_view claims_json, absl::string_view kid = "");
std::string HsJwt(absl::string_view secret, absl::string_view claims_json);

// {"exp": kNow + exp_in, "tenant": "team-a", "sub": "alice", "scope": "operations.read"}
// plus `extra` members (a JSON fragment like `"aud":"x"`, without braces).
std::string Claims(absl::Duration exp_in = absl::Minutes(5), absl::string_view extra = "");

// A temporary directory, removed with everything in it by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(absl::string_view name) const { return path_ + "/" + std::string(name); }
  // Writes `content` to `name` (replacing it in place).
  void Write(absl::string_view name, absl::string_view content) const;
  // Writes to a temporary name, then renames over `name` (how editors and tools rotate).
  void Replace(absl::string_view name, absl::string_view content) const;

 private:
  std::string path_;
};

}  // namespace longrun::auth::testing

#endif  // LONGRUN_AUTH_TEST_KEYS_H_
