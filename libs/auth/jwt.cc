#include "libs/auth/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <climits>
#include <cmath>
#include <optional>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/auth/encoding.h"
#include "libs/core/struct_json.h"

namespace longrun::auth {

using google::protobuf::Struct;
using google::protobuf::Value;
using internal::Bytes;
using internal::DecodeBase64Url;
using internal::EncodeBase64Url;

struct JwtPublicKeys::Key {
  std::string kid;
  JwtAlg alg;
  std::shared_ptr<EVP_PKEY> pkey;
};

namespace {

template <auto kFree>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;

constexpr size_t kHs256Bytes = 32;
constexpr size_t kP256CoordinateBytes = 32;
constexpr int kMinRsaBits = 2048;

absl::Status Unauthenticated(absl::string_view message) {
  return absl::UnauthenticatedError(message);
}

// Clears OpenSSL's per-thread error queue when it goes out of scope: a failed parse or
// verification leaves entries there that other users of OpenSSL on this thread (gRPC's TLS)
// must not mistake for their own.
struct ClearOpenSslErrors {
  ~ClearOpenSslErrors() { ERR_clear_error(); }
};

std::shared_ptr<EVP_PKEY> Share(PkeyPtr pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free);
}

// The JWT algorithm a key verifies with, or INVALID_ARGUMENT "<where> ...".
absl::StatusOr<JwtAlg> AlgForKey(EVP_PKEY* pkey, absl::string_view where) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_get_bits(pkey);
      if (bits < kMinRsaBits) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, " is an RSA key of ", bits, " bits; at least ", kMinRsaBits, " are required"));
      }
      return JwtAlg::kRs256;
    }
    case EVP_PKEY_EC: {
      char name[80] = {0};
      size_t len = 0;
      int nid = NID_undef;
      if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len) == 1) {
        nid = OBJ_sn2nid(name);
        if (nid == NID_undef) nid = EC_curve_nist2nid(name);
      }
      if (nid != NID_X9_62_prime256v1) {
        return absl::InvalidArgumentError(absl::StrCat(where, " is an EC key on curve \"", name,
                                                       "\"; only P-256 (ES256) is supported"));
      }
      return JwtAlg::kEs256;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(where, " is neither an RSA key nor an EC P-256 key"));
  }
}

absl::Status AddKey(PkeyPtr pkey, std::string kid, absl::string_view where,
                    std::vector<JwtPublicKeys::Key>* keys) {
  absl::StatusOr<JwtAlg> alg = AlgForKey(pkey.get(), where);
  if (!alg.ok()) return alg.status();
  keys->push_back({.kid = std::move(kid), .alg = *alg, .pkey = Share(std::move(pkey))});
  return absl::OkStatus();
}

absl::Status ParsePem(absl::string_view text, std::vector<JwtPublicKeys::Key>* keys) {
  if (text.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("the key file is too large");
  }
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  for (int block = 1;; ++block) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      const unsigned long err = ERR_peek_last_error();
      ERR_clear_error();
      const bool no_more =
          ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
      if (no_more && block > 1) return absl::OkStatus();
      if (no_more) return absl::InvalidArgumentError("no PEM block found");
      return absl::InvalidArgumentError(absl::StrCat("PEM block ", block, " is malformed"));
    }
    absl::Cleanup free_block = [&] {
      OPENSSL_free(name);
      OPENSSL_free(header);
      OPENSSL_free(data);
    };
    const std::string where = absl::StrCat("PEM block ", block, " (", name, ")");
    const absl::string_view type = name;
    const unsigned char* p = data;
    PkeyPtr pkey;
    if (type == "PUBLIC KEY") {
      pkey.reset(d2i_PUBKEY(nullptr, &p, len));
    } else if (type == "RSA PUBLIC KEY") {
      pkey.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, len));
    } else if (type == "CERTIFICATE") {
      X509Ptr cert(d2i_X509(nullptr, &p, len));
      if (cert != nullptr) pkey.reset(X509_get_pubkey(cert.get()));
    } else if (absl::StrContains(type, "PRIVATE KEY")) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, " is a private key; give the public key (openssl pkey -pubout) instead"));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " is not a PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE"));
    }
    if (pkey == nullptr || p != data + len) {
      return absl::InvalidArgumentError(absl::StrCat(where, " does not hold a valid key"));
    }
    if (absl::Status s = AddKey(std::move(pkey), "", where, keys); !s.ok()) return s;
  }
}

// A string member of a JWK: nullopt if absent, INVALID_ARGUMENT if not a string.
absl::StatusOr<std::optional<std::string>> JwkString(const Struct& jwk, absl::string_view field,
                                                     absl::string_view where) {
  auto it = jwk.fields().find(std::string(field));
  if (it == jwk.fields().end()) return std::nullopt;
  if (it->second.kind_case() != Value::kStringValue) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": \"", field, "\" is not a string"));
  }
  return std::optional<std::string>(it->second.string_value());
}

absl::StatusOr<std::string> JwkBytes(const Struct& jwk, absl::string_view field,
                                     absl::string_view where) {
  absl::StatusOr<std::optional<std::string>> text = JwkString(jwk, field, where);
  if (!text.ok()) return text.status();
  if (!text->has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": \"", field, "\" is missing"));
  }
  std::optional<std::string> bytes = DecodeBase64Url(**text);
  if (!bytes.has_value() || bytes->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": \"", field, "\" is not base64url without padding"));
  }
  return *std::move(bytes);
}

PkeyPtr KeyFromParams(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  PkeyPtr pkey(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return pkey;
}

absl::StatusOr<PkeyPtr> RsaKeyFromJwk(const Struct& jwk, absl::string_view where) {
  absl::StatusOr<std::string> n = JwkBytes(jwk, "n", where);
  if (!n.ok()) return n.status();
  absl::StatusOr<std::string> e = JwkBytes(jwk, "e", where);
  if (!e.ok()) return e.status();
  BnPtr n_bn(BN_bin2bn(Bytes(*n), static_cast<int>(n->size()), nullptr));
  BnPtr e_bn(BN_bin2bn(Bytes(*e), static_cast<int>(e->size()), nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  PkeyPtr pkey;
  if (n_bn != nullptr && e_bn != nullptr && bld != nullptr &&
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) == 1) {
    pkey = KeyFromParams("RSA", bld.get());
  }
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": n and e are not a valid RSA key"));
  }
  return pkey;
}

absl::StatusOr<PkeyPtr> EcKeyFromJwk(const Struct& jwk, absl::string_view where) {
  absl::StatusOr<std::string> x = JwkBytes(jwk, "x", where);
  if (!x.ok()) return x.status();
  absl::StatusOr<std::string> y = JwkBytes(jwk, "y", where);
  if (!y.ok()) return y.status();
  if (x->size() != kP256CoordinateBytes || y->size() != kP256CoordinateBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": x and y must be 32 bytes each for P-256"));
  }
  const std::string point = absl::StrCat("\x04", *x, *y);  // uncompressed SEC 1 point
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  PkeyPtr pkey;
  if (bld != nullptr &&
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) == 1) {
    pkey = KeyFromParams("EC", bld.get());
  }
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": x and y are not a point on P-256"));
  }
  return pkey;
}

// Adds the key if it is one we verify with; skipped JWKs count in *skipped.
absl::Status ParseJwk(const Struct& jwk, absl::string_view where,
                      std::vector<JwtPublicKeys::Key>* keys, int* skipped) {
  absl::StatusOr<std::optional<std::string>> kty = JwkString(jwk, "kty", where);
  absl::StatusOr<std::optional<std::string>> use = JwkString(jwk, "use", where);
  absl::StatusOr<std::optional<std::string>> alg = JwkString(jwk, "alg", where);
  absl::StatusOr<std::optional<std::string>> crv = JwkString(jwk, "crv", where);
  absl::StatusOr<std::optional<std::string>> kid = JwkString(jwk, "kid", where);
  for (const auto* s : {&kty, &use, &alg, &crv, &kid}) {
    if (!s->ok()) return s->status();
  }
  if (!kty->has_value()) return absl::InvalidArgumentError(absl::StrCat(where, ": no \"kty\""));
  JwtAlg key_alg;
  if (**kty == "RSA") {
    key_alg = JwtAlg::kRs256;
  } else if (**kty == "EC" && crv->value_or("") == "P-256") {
    key_alg = JwtAlg::kEs256;
  } else {
    ++*skipped;  // oct, OKP, other curves: not ours to verify with
    return absl::OkStatus();
  }
  if ((use->has_value() && **use != "sig") || (alg->has_value() && **alg != JwtAlgName(key_alg))) {
    ++*skipped;  // an encryption key, or one meant for RS384, ES384, PS256, ...
    return absl::OkStatus();
  }
  absl::StatusOr<PkeyPtr> pkey =
      key_alg == JwtAlg::kRs256 ? RsaKeyFromJwk(jwk, where) : EcKeyFromJwk(jwk, where);
  if (!pkey.ok()) return pkey.status();
  return AddKey(*std::move(pkey), kid->value_or(""), where, keys);
}

absl::Status ParseJwks(absl::string_view text, std::vector<JwtPublicKeys::Key>* keys) {
  absl::StatusOr<Struct> doc = core::StructFromJson(text);
  if (!doc.ok()) return absl::InvalidArgumentError(absl::StrCat("JWKS: ", doc.status().message()));
  int skipped = 0;
  auto keys_it = doc->fields().find("keys");
  if (keys_it != doc->fields().end()) {
    if (keys_it->second.kind_case() != Value::kListValue) {
      return absl::InvalidArgumentError("JWKS: \"keys\" is not an array");
    }
    const auto& list = keys_it->second.list_value().values();
    for (int i = 0; i < list.size(); ++i) {
      const std::string where = absl::StrCat("JWKS key ", i);
      if (list[i].kind_case() != Value::kStructValue) {
        return absl::InvalidArgumentError(absl::StrCat(where, " is not a JSON object"));
      }
      if (absl::Status s = ParseJwk(list[i].struct_value(), where, keys, &skipped); !s.ok()) {
        return s;
      }
    }
  } else if (doc->fields().contains("kty")) {
    if (absl::Status s = ParseJwk(*doc, "JWK", keys, &skipped); !s.ok()) return s;
  } else {
    return absl::InvalidArgumentError(
        "JWKS: expected {\"keys\": [...]} or a single JWK with \"kty\"");
  }
  if (keys->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "JWKS: no RSA or EC P-256 signing key for RS256 or ES256 (", skipped, " keys skipped)"));
  }
  return absl::OkStatus();
}

std::string HmacSha256(absl::string_view secret, absl::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), Bytes(secret), static_cast<int>(secret.size()), Bytes(input), input.size(),
           mac, &mac_len) == nullptr) {
    return std::string();
  }
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

// The DER ECDSA-Sig-Value OpenSSL verifies, from JWS's raw R || S (RFC 7518 section 3.4).
std::optional<std::string> RawEcdsaToDer(absl::string_view raw) {
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BnPtr r(BN_bin2bn(Bytes(raw), static_cast<int>(kP256CoordinateBytes), nullptr));
  BnPtr s(BN_bin2bn(Bytes(raw) + kP256CoordinateBytes, static_cast<int>(kP256CoordinateBytes),
                    nullptr));
  if (sig == nullptr || r == nullptr || s == nullptr ||
      ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return std::nullopt;
  }
  r.release();  // owned by sig now
  s.release();
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool VerifyWithKey(EVP_PKEY* pkey, JwtAlg alg, absl::string_view input,
                   absl::string_view signature) {
  std::optional<std::string> der;
  if (alg == JwtAlg::kRs256) {
    if (signature.size() != static_cast<size_t>(EVP_PKEY_get_size(pkey))) return false;
  } else {
    if (signature.size() != 2 * kP256CoordinateBytes) return false;
    der = RawEcdsaToDer(signature);
    if (!der.has_value()) return false;
    signature = *der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx != nullptr &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
         EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(input),
                          input.size()) == 1;
}

// The algorithms `keys` can verify, for messages: "HS256, RS256".
std::string AcceptedAlgs(const JwtKeys& keys) {
  std::vector<absl::string_view> algs;
  if (keys.hs256_secret != nullptr) algs.push_back("HS256");
  if (keys.public_keys != nullptr) {
    bool rs = false, es = false;
    for (const JwtPublicKeys::KeyInfo& k : keys.public_keys->keys()) {
      rs = rs || k.alg == JwtAlg::kRs256;
      es = es || k.alg == JwtAlg::kEs256;
    }
    if (rs) algs.push_back("RS256");
    if (es) algs.push_back("ES256");
  }
  return algs.empty() ? "none" : absl::StrJoin(algs, ", ");
}

std::string FormatNumericDate(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// A NumericDate claim (RFC 7519 section 2): nullopt if absent; UNAUTHENTICATED if not a
// finite number.
absl::StatusOr<std::optional<absl::Time>> NumericDate(const Struct& claims,
                                                      absl::string_view name) {
  auto it = claims.fields().find(std::string(name));
  if (it == claims.fields().end()) return std::nullopt;
  if (it->second.kind_case() != Value::kNumberValue || !std::isfinite(it->second.number_value())) {
    return Unauthenticated(
        absl::StrCat("token claim ", name, " is not a number (seconds since the epoch)"));
  }
  return std::optional<absl::Time>(absl::UnixEpoch() + absl::Seconds(it->second.number_value()));
}

absl::Status CheckClaims(const Struct& claims, const JwtOptions& options, absl::Time now) {
  absl::StatusOr<std::optional<absl::Time>> exp = NumericDate(claims, "exp");
  if (!exp.ok()) return exp.status();
  if (!exp->has_value()) {
    return Unauthenticated("token has no exp claim; only tokens that expire are accepted");
  }
  if (now >= **exp + options.clock_skew) {
    return Unauthenticated(absl::StrCat("token expired at ", FormatNumericDate(**exp)));
  }
  absl::StatusOr<std::optional<absl::Time>> nbf = NumericDate(claims, "nbf");
  if (!nbf.ok()) return nbf.status();
  if (nbf->has_value() && now + options.clock_skew < **nbf) {
    return Unauthenticated(absl::StrCat("token is not valid before ", FormatNumericDate(**nbf)));
  }
  const auto& fields = claims.fields();
  if (!options.issuer.empty()) {
    auto it = fields.find("iss");
    if (it == fields.end() || it->second.kind_case() != Value::kStringValue ||
        it->second.string_value() != options.issuer) {
      return Unauthenticated(
          absl::StrCat("token issuer (iss) is not the accepted one, \"", options.issuer, "\""));
    }
  }
  if (!options.audience.empty()) {
    bool found = false;
    if (auto it = fields.find("aud"); it != fields.end()) {
      if (it->second.kind_case() == Value::kStringValue) {
        found = it->second.string_value() == options.audience;
      } else if (it->second.kind_case() == Value::kListValue) {
        for (const Value& v : it->second.list_value().values()) {
          found = found ||
                  (v.kind_case() == Value::kStringValue && v.string_value() == options.audience);
        }
      }
    }
    if (!found) {
      return Unauthenticated(
          absl::StrCat("token audience (aud) does not include \"", options.audience, "\""));
    }
  }
  return absl::OkStatus();
}

constexpr absl::string_view kMalformed =
    "malformed token: a JWT is three base64url parts (no padding) separated by dots";

}  // namespace

absl::string_view JwtAlgName(JwtAlg alg) {
  switch (alg) {
    case JwtAlg::kHs256:
      return "HS256";
    case JwtAlg::kRs256:
      return "RS256";
    case JwtAlg::kEs256:
      return "ES256";
  }
  return "unknown";
}

JwtPublicKeys::JwtPublicKeys() = default;
JwtPublicKeys::JwtPublicKeys(JwtPublicKeys&&) noexcept = default;
JwtPublicKeys& JwtPublicKeys::operator=(JwtPublicKeys&&) noexcept = default;
JwtPublicKeys::~JwtPublicKeys() = default;

absl::StatusOr<JwtPublicKeys> JwtPublicKeys::Parse(absl::string_view text) {
  ClearOpenSslErrors clear_errors;
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  JwtPublicKeys out;
  absl::Status status;
  if (absl::StartsWith(trimmed, "{")) {
    status = ParseJwks(trimmed, &out.keys_);
  } else if (absl::StrContains(trimmed, "-----BEGIN ")) {
    status = ParsePem(trimmed, &out.keys_);
  } else {
    status = absl::InvalidArgumentError(
        "is neither PEM (-----BEGIN PUBLIC KEY-----) nor a JWKS (a JSON object)");
  }
  if (!status.ok()) return status;
  return out;
}

std::vector<JwtPublicKeys::KeyInfo> JwtPublicKeys::keys() const {
  std::vector<KeyInfo> out;
  out.reserve(keys_.size());
  for (const Key& k : keys_) out.push_back({.kid = k.kid, .alg = k.alg});
  return out;
}

absl::Status JwtPublicKeys::VerifySignature(JwtAlg alg, absl::string_view kid,
                                            absl::string_view signing_input,
                                            absl::string_view signature) const {
  ClearOpenSslErrors clear_errors;
  bool candidate = false;
  for (const Key& k : keys_) {
    if (k.alg != alg || (!k.kid.empty() && !kid.empty() && k.kid != kid)) continue;
    candidate = true;
    if (VerifyWithKey(k.pkey.get(), alg, signing_input, signature)) return absl::OkStatus();
  }
  if (!candidate) {
    return Unauthenticated(
        absl::StrCat("no configured ", JwtAlgName(alg), " key matches the token's key id (kid)"));
  }
  return Unauthenticated("token signature does not verify");
}

absl::StatusOr<std::string> ParseHs256Secret(absl::string_view file_bytes) {
  if (file_bytes.size() < kMinHs256SecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("an HS256 secret must be at least ", kMinHs256SecretBytes, " bytes; got ",
                     file_bytes.size(), " (e.g. head -c 32 /dev/urandom > FILE)"));
  }
  return std::string(file_bytes);
}

absl::StatusOr<VerifiedJwt> VerifyJwt(absl::string_view token, const JwtKeys& keys,
                                      const JwtOptions& options, absl::Time now) {
  if (token.size() > kMaxTokenBytes) {
    return Unauthenticated(absl::StrCat("token is larger than ", kMaxTokenBytes, " bytes"));
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Unauthenticated(kMalformed);
  std::optional<std::string> header_json = DecodeBase64Url(parts[0]);
  std::optional<std::string> claims_json = DecodeBase64Url(parts[1]);
  std::optional<std::string> signature = DecodeBase64Url(parts[2]);
  if (!header_json.has_value() || !claims_json.has_value() || !signature.has_value()) {
    return Unauthenticated(kMalformed);
  }
  absl::StatusOr<Struct> header = core::StructFromJson(*header_json);
  if (!header.ok()) return Unauthenticated("malformed token: the header is not a JSON object");
  const auto& hf = header->fields();
  auto alg_it = hf.find("alg");
  if (alg_it == hf.end() || alg_it->second.kind_case() != Value::kStringValue) {
    return Unauthenticated("malformed token: the header has no alg");
  }
  const std::string& alg_name = alg_it->second.string_value();
  VerifiedJwt out;
  if (alg_name == "HS256") {
    out.alg = JwtAlg::kHs256;
  } else if (alg_name == "RS256") {
    out.alg = JwtAlg::kRs256;
  } else if (alg_name == "ES256") {
    out.alg = JwtAlg::kEs256;
  } else if (absl::EqualsIgnoreCase(alg_name, "none")) {
    return Unauthenticated("unsigned tokens (alg none) are not accepted");
  } else {
    return Unauthenticated(
        absl::StrCat("token alg is not accepted; this server accepts ", AcceptedAlgs(keys)));
  }
  if (hf.contains("crit")) {
    return Unauthenticated("token header has crit extensions, which this server does not know");
  }
  if (auto kid_it = hf.find("kid"); kid_it != hf.end()) {
    if (kid_it->second.kind_case() != Value::kStringValue) {
      return Unauthenticated("malformed token: the header's kid is not a string");
    }
    out.kid = kid_it->second.string_value();
  }

  const absl::string_view signing_input = token.substr(0, parts[0].size() + 1 + parts[1].size());
  if (out.alg == JwtAlg::kHs256) {
    if (keys.hs256_secret == nullptr) {
      return Unauthenticated(
          absl::StrCat("HS256 tokens are not accepted; this server accepts ", AcceptedAlgs(keys)));
    }
    const std::string mac = HmacSha256(*keys.hs256_secret, signing_input);
    if (mac.size() != kHs256Bytes || signature->size() != kHs256Bytes ||
        CRYPTO_memcmp(mac.data(), signature->data(), kHs256Bytes) != 0) {
      return Unauthenticated("token signature does not verify");
    }
  } else {
    if (keys.public_keys == nullptr) {
      return Unauthenticated(absl::StrCat(JwtAlgName(out.alg),
                                          " tokens are not accepted; this server accepts ",
                                          AcceptedAlgs(keys)));
    }
    if (absl::Status s =
            keys.public_keys->VerifySignature(out.alg, out.kid, signing_input, *signature);
        !s.ok()) {
      return s;
    }
  }

  absl::StatusOr<Struct> claims = core::StructFromJson(*claims_json);
  if (!claims.ok()) return Unauthenticated("malformed token: the claims are not a JSON object");
  if (absl::Status s = CheckClaims(*claims, options, now); !s.ok()) return s;
  out.claims = *std::move(claims);
  return out;
}

absl::StatusOr<Principal> PrincipalFromClaims(const Struct& claims,
                                              absl::string_view tenant_claim) {
  const auto& fields = claims.fields();
  Principal p;
  p.credential = CredentialKind::kJwt;
  auto tenant_it = fields.find(std::string(tenant_claim));
  if (tenant_it == fields.end()) {
    return Unauthenticated(
        absl::StrCat("token has no \"", tenant_claim, "\" claim naming the caller's tenant"));
  }
  if (tenant_it->second.kind_case() != Value::kStringValue ||
      !ValidateTenant(tenant_it->second.string_value()).ok()) {
    return Unauthenticated(absl::StrCat("token claim \"", tenant_claim,
                                        "\" must be 1-128 characters of [A-Za-z0-9._:@/-]"));
  }
  p.tenant = tenant_it->second.string_value();
  if (auto it = fields.find("sub");
      it != fields.end() && it->second.kind_case() == Value::kStringValue) {
    p.subject = it->second.string_value();
  }
  if (auto it = fields.find("scope"); it != fields.end()) {
    if (it->second.kind_case() == Value::kStringValue) {
      p.scopes = ParseTokenScopes(it->second.string_value());
    } else if (it->second.kind_case() == Value::kListValue) {
      for (const Value& v : it->second.list_value().values()) {
        if (v.kind_case() == Value::kStringValue)
          AddScope(v.string_value(), &p.scopes).IgnoreError();
      }
    }
  }
  return p;
}

std::string SignHs256Jwt(absl::string_view claims_json, absl::string_view secret) {
  const std::string input = absl::StrCat(EncodeBase64Url(R"({"alg":"HS256","typ":"JWT"})"), ".",
                                         EncodeBase64Url(claims_json));
  return absl::StrCat(input, ".", EncodeBase64Url(HmacSha256(secret, input)));
}

}  // namespace longrun::auth
