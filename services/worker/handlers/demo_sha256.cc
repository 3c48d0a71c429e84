#include <openssl/evp.h>

#include <cmath>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/worker/handlers/demo.h"

namespace longrun::worker {

absl::StatusOr<google::protobuf::Struct> DemoSha256(JobContext& ctx) {
  const google::protobuf::Struct& input = ctx.input();
  auto text_it = input.fields().find("text");
  if (text_it != input.fields().end() && !text_it->second.has_string_value()) {
    return absl::InvalidArgumentError("input.text must be a string");
  }
  const std::string text = text_it == input.fields().end() ? "" : text_it->second.string_value();
  auto repeat = NumberField(input, "repeat", 1);
  if (!repeat.ok()) return repeat.status();
  if (!(*repeat >= 0 && *repeat <= 1e10) || std::floor(*repeat) != *repeat) {
    return absl::InvalidArgumentError("input.repeat must be an integer in 0..10000000000");
  }
  const int64_t n = static_cast<int64_t>(*repeat);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (sha == nullptr || EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("OpenSSL could not start a SHA-256 digest");
  }
  // Report about ten progress steps, and check for cancellation between chunks.
  const int64_t chunk = std::max<int64_t>(1, n / 10);
  int last_percent = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (EVP_DigestUpdate(sha.get(), text.data(), text.size()) != 1) {
      return absl::InternalError("OpenSSL SHA-256 update failed");
    }
    if ((i + 1) % chunk == 0 && i + 1 < n) {
      const int percent = static_cast<int>(100 * (i + 1) / n);
      if (percent != last_percent) {
        last_percent = percent;
        if (!ctx.ReportProgress(percent, absl::StrCat("hashed ", i + 1, "/", n))) {
          return ctx.StopReason();
        }
      }
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_DigestFinal_ex(sha.get(), digest, &digest_len) != 1) {
    return absl::InternalError("OpenSSL could not finish the SHA-256 digest");
  }
  google::protobuf::Struct out;
  (*out.mutable_fields())["sha256"].set_string_value(absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_len)));
  return out;
}

}  // namespace longrun::worker
