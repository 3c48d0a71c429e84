// Callback URL parsing, shared by the api's Submit and the deliverer (which re-parses the
// stored URL for its port and checks it again, since the flags may have changed since
// Submit).
//
// Accepted: https://host[:port]/path?query, at most 2048 bytes, no user:password part, no
// fragment; http only with --webhook-allow-insecure. Addresses, IP literals included, are
// checked only at delivery (VetHost, address_policy.h), where the answer is pinned and a
// refusal is recorded in the operation's callback state.
#ifndef LONGRUN_WEBHOOK_CALLBACK_URL_H_
#define LONGRUN_WEBHOOK_CALLBACK_URL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/webhook/address_policy.h"

namespace longrun::webhook {

constexpr size_t kMaxCallbackUrlBytes = 2048;

// The process's rules for callback URLs (from WebhookFlags::Policy()).
struct CallbackPolicy {
  bool allow_insecure = false;  // --webhook-allow-insecure: http:// URLs too
  AddressPolicy addresses;      // --webhook-allow-cidrs
};

struct CallbackUrl {
  std::string url;     // normalized by libcurl's URL parser; what is stored and posted to
  std::string scheme;  // "https" or "http"
  std::string host;    // lower case; an IPv6 literal keeps its brackets: "[2001:db8::1]"
  int port = 0;        // explicit or the scheme's default
};

// INVALID_ARGUMENT with a message starting "callback.url: " when the URL is not acceptable.
// The address is left to VetHost (a refused address is retried, a malformed URL is not).
absl::StatusOr<CallbackUrl> ParseCallbackUrl(absl::string_view url, bool allow_insecure);

}  // namespace longrun::webhook

#endif  // LONGRUN_WEBHOOK_CALLBACK_URL_H_
