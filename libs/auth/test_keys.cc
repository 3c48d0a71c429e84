#include "libs/auth/test_keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/common/check.h"

namespace longrun::auth::testing {
namespace {

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string BnBytes(const BIGNUM* bn, int pad) {
  std::string out(pad > 0 ? static_cast<size_t>(pad) : static_cast<size_t>(BN_num_bytes(bn)), '\0');
  if (pad > 0) {
    LONGRUN_CHECK(BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad) == pad);
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  return out;
}

std::string BnParam(EVP_PKEY* pkey, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  LONGRUN_CHECK(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1);
  std::string out = BnBytes(bn, pad);
  BN_free(bn);
  return out;
}

}  // namespace

TestKey::TestKey(Type type) : type_(type) {
  switch (type) {
    case Type::kRsa2048:
      pkey_ = EVP_RSA_gen(2048);
      break;
    case Type::kRsa1024:
      pkey_ = EVP_RSA_gen(1024);
      break;
    case Type::kEcP256:
      pkey_ = EVP_EC_gen("P-256");
      break;
    case Type::kEcP384:
      pkey_ = EVP_EC_gen("P-384");
      break;
  }
  LONGRUN_CHECK(pkey_ != nullptr);
}

TestKey::~TestKey() { EVP_PKEY_free(pkey_); }

const TestKey& TestKey::Rsa() {
  static const TestKey* key = new TestKey(Type::kRsa2048);
  return *key;
}
const TestKey& TestKey::Rsa2() {
  static const TestKey* key = new TestKey(Type::kRsa2048);
  return *key;
}
const TestKey& TestKey::Ec() {
  static const TestKey* key = new TestKey(Type::kEcP256);
  return *key;
}
const TestKey& TestKey::Ec2() {
  static const TestKey* key = new TestKey(Type::kEcP256);
  return *key;
}

std::string TestKey::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  LONGRUN_CHECK(PEM_write_bio_PUBKEY(bio, pkey_) == 1);
  return BioText(bio);
}

std::string TestKey::PrivatePem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  LONGRUN_CHECK(PEM_write_bio_PrivateKey(bio, pkey_, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  return BioText(bio);
}

std::string TestKey::CertificatePem() const {
  X509* cert = X509_new();
  LONGRUN_CHECK(cert != nullptr);
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, pkey_);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("longrun test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  LONGRUN_CHECK(X509_sign(cert, pkey_, EVP_sha256()) > 0);
  BIO* bio = BIO_new(BIO_s_mem());
  LONGRUN_CHECK(PEM_write_bio_X509(bio, cert) == 1);
  X509_free(cert);
  return BioText(bio);
}

std::string TestKey::Jwk(absl::string_view kid, absl::string_view alg) const {
  std::string members;
  if (type_ == Type::kRsa2048 || type_ == Type::kRsa1024) {
    members = absl::StrCat(R"("kty":"RSA","n":")", B64(BnParam(pkey_, OSSL_PKEY_PARAM_RSA_N, 0)),
                           R"(","e":")", B64(BnParam(pkey_, OSSL_PKEY_PARAM_RSA_E, 0)), "\"");
  } else {
    const int size = type_ == Type::kEcP256 ? 32 : 48;
    members = absl::StrCat(R"("kty":"EC","crv":")", type_ == Type::kEcP256 ? "P-256" : "P-384",
                           R"(","x":")", B64(BnParam(pkey_, OSSL_PKEY_PARAM_EC_PUB_X, size)),
                           R"(","y":")", B64(BnParam(pkey_, OSSL_PKEY_PARAM_EC_PUB_Y, size)), "\"");
  }
  if (!kid.empty()) absl::StrAppend(&members, R"(,"kid":")", kid, "\"");
  if (!alg.empty()) absl::StrAppend(&members, R"(,"alg":")", alg, "\"");
  return absl::StrCat("{", members, "}");
}

std::string TestKey::SignDer(absl::string_view input) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  LONGRUN_CHECK(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey_) == 1);
  size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  LONGRUN_CHECK(EVP_DigestSign(ctx, nullptr, &len, data, input.size()) == 1);
  std::string sig(len, '\0');
  LONGRUN_CHECK(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                               input.size()) == 1);
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

std::string TestKey::Sign(absl::string_view input) const {
  std::string der = SignDer(input);
  if (type_ == Type::kRsa2048 || type_ == Type::kRsa1024) return der;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  LONGRUN_CHECK(sig != nullptr);
  const int size = type_ == Type::kEcP256 ? 32 : 48;
  std::string out = BnBytes(ECDSA_SIG_get0_r(sig), size) + BnBytes(ECDSA_SIG_get0_s(sig), size);
  ECDSA_SIG_free(sig);
  return out;
}

std::string B64(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

std::string HmacSha256(absl::string_view key, absl::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  LONGRUN_CHECK(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                     reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                     &len) != nullptr);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string RsJwt(const TestKey& key, absl::string_view claims_json, absl::string_view kid) {
  const std::string header =
      kid.empty() ? std::string(R"({"alg":"RS256","typ":"JWT"})")
                  : absl::StrCat(R"({"alg":"RS256","typ":"JWT","kid":")", kid, R"("})");
  return MakeJwt(header, claims_json, [&](absl::string_view in) { return key.Sign(in); });
}

std::string EsJwt(const TestKey& key, absl::string_view claims_json, absl::string_view kid) {
  const std::string header =
      kid.empty() ? std::string(R"({"alg":"ES256","typ":"JWT"})")
                  : absl::StrCat(R"({"alg":"ES256","typ":"JWT","kid":")", kid, R"("})");
  return MakeJwt(header, claims_json, [&](absl::string_view in) { return key.Sign(in); });
}

std::string HsJwt(absl::string_view secret, absl::string_view claims_json) {
  return MakeJwt(R"({"alg":"HS256","typ":"JWT"})", claims_json,
                 [&](absl::string_view in) { return HmacSha256(secret, in); });
}

std::string Claims(absl::Duration exp_in, absl::string_view extra) {
  return absl::StrCat(R"({"exp":)", absl::ToUnixSeconds(kNow + exp_in),
                      R"(,"tenant":"team-a","sub":"alice","scope":"operations.read")",
                      extra.empty() ? "" : ",", extra, "}");
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "longrun-auth-XXXXXX").string();
  LONGRUN_CHECK(mkdtemp(tmpl.data()) != nullptr);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void TempDir::Write(absl::string_view name, absl::string_view content) const {
  std::ofstream out(File(name), std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  LONGRUN_CHECK(out.good());
}

void TempDir::Replace(absl::string_view name, absl::string_view content) const {
  const std::string tmp = absl::StrCat(name, ".tmp");
  Write(tmp, content);
  std::filesystem::rename(File(tmp), File(name));
}

}  // namespace longrun::auth::testing
