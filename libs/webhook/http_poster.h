// Posting one webhook: the Poster interface (faked in the deliverer's tests) and CurlPoster,
// the libcurl implementation.
//
// CurlPoster connects to exactly the address the SSRF guard vetted: CURLOPT_RESOLVE pins
// "host:port:address" so libcurl never resolves the name again (DNS rebinding between the
// check and the connect is moot), and an open-socket callback refuses any other address in
// case something slips past the pin. No redirects are followed, only http and https are
// spoken, proxies from the environment are ignored, TLS is verified against the URL's host
// name, and at most `max_response_bytes` of the answer are read (the status is what matters).
#ifndef LONGRUN_WEBHOOK_HTTP_POSTER_H_
#define LONGRUN_WEBHOOK_HTTP_POSTER_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/webhook/address_policy.h"

namespace longrun::webhook {

struct PostRequest {
  std::string url;     // as stored (normalized by ParseCallbackUrl)
  std::string host;    // the URL's host as ParseCallbackUrl returns it
  int port = 0;        // the URL's port
  IpAddress address;   // the vetted address to connect to, and no other
  std::vector<std::pair<std::string, std::string>> headers;  // besides content-type and UA
  std::string body;
};

struct PostResult {
  int http_status = 0;  // 0: no HTTP answer (connect error, timeout, TLS failure)
  std::optional<absl::Duration> retry_after;  // the answer's Retry-After, if it had one
  std::string error;    // why there was no answer; "" when there was one
  int64_t response_bytes = 0;  // body bytes read (at most max_response_bytes)
};

class Poster {
 public:
  virtual ~Poster() = default;
  // Blocks for at most the poster's total timeout. Thread-safe.
  virtual PostResult Post(const PostRequest& request) = 0;
};

struct CurlPosterConfig {
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(15);
  int64_t max_response_bytes = 64 << 10;
  std::string ca_file;  // "": the system's CA bundle
  // false only in tests of the open-socket guard: leave the name to libcurl's resolver, so
  // the guard alone keeps it on the pinned address.
  bool pin_with_resolve = true;
};

class CurlPoster final : public Poster {
 public:
  explicit CurlPoster(CurlPosterConfig config = {}, const Clock& clock = RealClock());
  PostResult Post(const PostRequest& request) override;

 private:
  const CurlPosterConfig config_;
  const Clock& clock_;
};

// Retry-After: delta-seconds ("120") or an HTTP-date (RFC 9110; a past date is 0).
// nullopt when it is neither.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

}  // namespace longrun::webhook

#endif  // LONGRUN_WEBHOOK_HTTP_POSTER_H_
