#include "libs/webhook/callback_url.h"

#include <curl/curl.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace longrun::webhook {
namespace {

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("callback.url: ", why));
}

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlString {
  ~CurlString() { curl_free(value); }
  char* value = nullptr;
};

// A part of the URL, or nullopt when it is absent.
std::optional<std::string> Part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  CurlString out;
  if (curl_url_get(url, part, &out.value, flags) != CURLUE_OK || out.value == nullptr) {
    return std::nullopt;
  }
  return std::string(out.value);
}

}  // namespace

absl::StatusOr<CallbackUrl> ParseCallbackUrl(absl::string_view url, bool allow_insecure) {
  if (url.empty()) return Invalid("required (an https:// URL)");
  if (url.size() > kMaxCallbackUrlBytes) {
    return Invalid(absl::StrCat("longer than ", kMaxCallbackUrlBytes, " bytes (", url.size(),
                                ")"));
  }
  std::unique_ptr<CURLU, UrlDeleter> handle(curl_url());
  if (handle == nullptr) return absl::ResourceExhaustedError("callback.url: out of memory");
  const std::string text(url);
  // No default or guessed scheme: "example.com/hook" is not a URL.
  if (CURLUcode rc = curl_url_set(handle.get(), CURLUPART_URL, text.c_str(),
                                  CURLU_NON_SUPPORT_SCHEME);
      rc != CURLUE_OK) {
    return Invalid(absl::StrCat("not a valid absolute URL (", curl_url_strerror(rc), ")"));
  }
  CallbackUrl out;
  out.scheme = absl::AsciiStrToLower(Part(handle.get(), CURLUPART_SCHEME).value_or(""));
  if (out.scheme == "http") {
    if (!allow_insecure) {
      return Invalid(
          "http:// is not allowed: use https:// (this server refuses plain http unless "
          "started with --webhook-allow-insecure, meant for development)");
    }
  } else if (out.scheme != "https") {
    return Invalid(absl::StrCat("scheme \"", out.scheme, "\" is not allowed; use https://"));
  }
  if (Part(handle.get(), CURLUPART_USER).has_value() ||
      Part(handle.get(), CURLUPART_PASSWORD).has_value() ||
      Part(handle.get(), CURLUPART_OPTIONS).has_value()) {
    return Invalid("a user:password@ part is not allowed (authenticate the signature instead)");
  }
  if (Part(handle.get(), CURLUPART_FRAGMENT).has_value()) {
    return Invalid("a #fragment is not allowed (it is never sent to the receiver)");
  }
  if (Part(handle.get(), CURLUPART_ZONEID).has_value()) {
    return Invalid("an IPv6 zone id is not allowed");
  }
  std::optional<std::string> host = Part(handle.get(), CURLUPART_HOST);
  if (!host.has_value() || host->empty()) return Invalid("no host");
  out.host = absl::AsciiStrToLower(*host);
  std::optional<std::string> port = Part(handle.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!port.has_value() || !absl::SimpleAtoi(*port, &out.port) || out.port <= 0 ||
      out.port > 65535) {
    return Invalid(absl::StrCat("bad port \"", port.value_or(""), "\""));
  }
  std::optional<std::string> normalized = Part(handle.get(), CURLUPART_URL);
  if (!normalized.has_value()) return Invalid("cannot be normalized");
  out.url = *std::move(normalized);
  if (out.url.size() > kMaxCallbackUrlBytes) {
    return Invalid(absl::StrCat("longer than ", kMaxCallbackUrlBytes, " bytes once normalized"));
  }
  return out;
}

}  // namespace longrun::webhook
