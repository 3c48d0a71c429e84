#include "libs/webhook/http_poster.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/common/check.h"

namespace longrun::webhook {
namespace {

constexpr size_t kMaxErrorChars = 200;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { LONGRUN_CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK); });
}

// State the callbacks share with Post().
struct Transfer {
  const IpAddress* pinned;
  int port;
  int64_t max_bytes;
  int64_t read = 0;
  bool truncated = false;        // stopped reading at max_bytes
  std::string refused;           // an address the socket guard refused
  std::string retry_after;       // of the last response (headers of a 1xx are dropped)
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const int64_t n = static_cast<int64_t>(size * count);
  if (t->read + n > t->max_bytes) {
    t->read = t->max_bytes;
    t->truncated = true;
    return 0;  // ends the transfer (CURLE_WRITE_ERROR); the status is already known
  }
  static_cast<void>(data);
  t->read += n;
  return size * count;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  absl::string_view line(data, size * count);
  if (absl::StartsWith(line, "HTTP/")) t->retry_after.clear();  // a new response begins
  const size_t colon = line.find(':');
  if (colon != absl::string_view::npos &&
      absl::EqualsIgnoreCase(line.substr(0, colon), "retry-after")) {
    t->retry_after = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * count;
}

// Opens the socket only for the pinned address and port.
curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  bool match = false;
  std::string seen = "(unknown family)";
  if (purpose == CURLSOCKTYPE_IPCXN && address->family == AF_INET && t->pinned->is_v4()) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&address->addr);
    match = ntohl(sin->sin_addr.s_addr) == t->pinned->v4_value() && ntohs(sin->sin_port) == t->port;
  } else if (purpose == CURLSOCKTYPE_IPCXN && address->family == AF_INET6 &&
             !t->pinned->is_v4()) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&address->addr);
    match = std::memcmp(sin6->sin6_addr.s6_addr, t->pinned->bytes(), 16) == 0 &&
            ntohs(sin6->sin6_port) == t->port;
  }
  if (address->family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&address->addr);
    seen = IpAddress::V4(ntohl(sin->sin_addr.s_addr)).ToString();
  } else if (address->family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&address->addr);
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), sin6->sin6_addr.s6_addr, 16);
    seen = IpAddress::V6(bytes).ToString();
  }
  if (!match) {
    t->refused = seen;
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

struct EasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct ListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

curl_slist* Append(curl_slist* list, const std::string& line) {
  curl_slist* out = curl_slist_append(list, line.c_str());
  LONGRUN_CHECK(out != nullptr);
  return out;
}

}  // namespace

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (absl::ascii_isdigit(value[0])) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(value, &seconds) || seconds < 0) return std::nullopt;
    return absl::Seconds(seconds);
  }
  const time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when == -1) return std::nullopt;
  return std::max(absl::ZeroDuration(), absl::FromTimeT(when) - now);
}

CurlPoster::CurlPoster(CurlPosterConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock) {
  GlobalInit();
}

PostResult CurlPoster::Post(const PostRequest& request) {
  PostResult result;
  std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  if (curl == nullptr) {
    result.error = "libcurl could not start a transfer";
    return result;
  }
  CURL* h = curl.get();
  Transfer transfer{.pinned = &request.address, .port = request.port,
                    .max_bytes = config_.max_response_bytes};
  char errbuf[CURL_ERROR_SIZE] = {0};

  std::unique_ptr<curl_slist, ListDeleter> headers(
      Append(nullptr, "content-type: application/json"));
  Append(headers.get(), "user-agent: longrun-webhooks/1");
  Append(headers.get(), "Expect:");  // no 100-continue round trip
  for (const auto& [name, value] : request.headers) {
    Append(headers.get(), absl::StrCat(name, ": ", value));
  }
  std::unique_ptr<curl_slist, ListDeleter> resolve;
  const std::string address = request.address.is_v4()
                                  ? request.address.ToString()
                                  : absl::StrCat("[", request.address.ToString(), "]");
  // An IP literal host is not resolved by libcurl; the socket guard still checks it.
  if (config_.pin_with_resolve && !absl::StartsWith(request.host, "[")) {
    resolve.reset(Append(nullptr, absl::StrCat(request.host, ":", request.port, ":", address)));
  }

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 0L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(config_.connect_timeout)));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(config_.total_timeout)));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!config_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config_.ca_file.c_str());
  if (resolve != nullptr) curl_easy_setopt(h, CURLOPT_RESOLVE, resolve.get());
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  result.response_bytes = transfer.read;
  const bool answered = status > 0 && (rc == CURLE_OK || transfer.truncated);
  if (answered) {
    result.http_status = static_cast<int>(status);
    if (!transfer.retry_after.empty()) {
      result.retry_after = ParseRetryAfter(transfer.retry_after, clock_.Now());
    }
    return result;
  }
  if (!transfer.refused.empty()) {
    result.error = absl::StrCat("connection to ", transfer.refused,
                                " refused: not the vetted address ", request.address.ToString());
  } else {
    result.error = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
  }
  if (result.error.size() > kMaxErrorChars) result.error.resize(kMaxErrorChars);
  return result;
}

}  // namespace longrun::webhook
