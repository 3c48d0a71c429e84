// The SSRF guard: which network addresses a webhook may be posted to.
//
// A callback URL is chosen by whoever submits the operation, and the deliverer posts from
// inside the cluster, so without a guard a caller could make longrun probe or call internal
// services (the cloud metadata endpoint at 169.254.169.254, a database on 10.x, the
// deliverer's own loopback). The deliverer therefore resolves the host itself (VetHost),
// refuses the delivery if ANY resolved address is in a refused class (a mixed answer is the
// DNS-rebinding pattern), and connects to exactly the address it vetted (http_poster.h).
//
// Refused classes: unspecified, loopback, private (RFC 1918), carrier-grade NAT, link-local
// (169.254/16 including the metadata address, fe80::/10), unique-local (fc00::/7),
// multicast, broadcast, documentation, benchmarking and other reserved ranges, every IPv6
// address outside global unicast 2000::/3, Teredo (2001::/32) and the rest of 2001::/23;
// and IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96), NAT64 (64:ff9b::/96) and 6to4
// (2002::/16) addresses whose embedded IPv4 address is refused. The local-use NAT64 prefix
// 64:ff9b:1::/48 is refused outright (where the IPv4 sits in it depends on the operator's
// prefix length).
//
// --webhook-allow-cidrs opens chosen ranges (in-cluster receivers, tests on loopback): an
// address inside an allowed range is accepted whatever its class; for an IPv6 address that
// embeds an IPv4 one, the embedded address is checked against the list too.
#ifndef LONGRUN_WEBHOOK_ADDRESS_POLICY_H_
#define LONGRUN_WEBHOOK_ADDRESS_POLICY_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace longrun::webhook {

class IpAddress {
 public:
  // Dotted-quad IPv4 or RFC 4291 IPv6 text (inet_pton: no brackets, no zone, no octal).
  static std::optional<IpAddress> Parse(absl::string_view text);
  static IpAddress V4(uint32_t host_order);
  static IpAddress V6(const std::array<uint8_t, 16>& bytes);

  bool is_v4() const { return v4_; }
  // 4 bytes for IPv4, 16 for IPv6, network order.
  const uint8_t* bytes() const { return bytes_.data(); }
  int size() const { return v4_ ? 4 : 16; }
  uint32_t v4_value() const;  // host order; only for is_v4()
  // "192.0.2.1", "2001:db8::1" (inet_ntop).
  std::string ToString() const;

  bool operator==(const IpAddress& other) const = default;

 private:
  bool v4_ = true;
  std::array<uint8_t, 16> bytes_{};
};

struct Cidr {
  IpAddress base;  // host bits cleared
  int prefix = 0;
  bool Contains(const IpAddress& address) const;
  std::string ToString() const;  // "10.0.0.0/8"
};

// "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128). Set host bits are refused
// (they usually mean a typo). INVALID_ARGUMENT naming the text.
absl::StatusOr<Cidr> ParseCidr(absl::string_view text);

struct AddressPolicy {
  std::vector<Cidr> allow;  // --webhook-allow-cidrs
};

// "10.0.0.0/8,fd00::/8" (spaces around entries ignored, empty list allowed). Errors name
// the entry: `--webhook-allow-cidrs: entry "10.0.0.300/8": ...`.
absl::StatusOr<AddressPolicy> ParseAddressPolicy(absl::string_view allow_cidrs);

// Why `address` is refused regardless of any allow list ("loopback", "private (RFC 1918)",
// "IPv4-mapped 127.0.0.1: loopback", ...), or nullopt for a public address.
std::optional<std::string> AddressClass(const IpAddress& address);

// Why the policy refuses `address`, or nullopt if it may be connected to.
std::optional<std::string> RefusalReason(const AddressPolicy& policy, const IpAddress& address);

// Every address of `host`, or UNAVAILABLE (the name does not resolve: a retryable failure).
using Resolver = std::function<absl::StatusOr<std::vector<IpAddress>>(const std::string& host)>;

// getaddrinfo(AF_UNSPEC, SOCK_STREAM, AI_ADDRCONFIG), in its (RFC 6724) order.
Resolver SystemResolver();

// Resolves `host` (an IP literal, with or without [brackets], is taken as is) and returns
// the address to connect to: the first one, after checking that none is refused.
//  - PERMISSION_DENIED with a message for the user, e.g. `callback host "evil.example"
//    resolves to 127.0.0.1 (loopback), which longrun refuses; allow the range with
//    --webhook-allow-cidrs`, when any address is refused;
//  - UNAVAILABLE when the name does not resolve (or resolves to nothing).
absl::StatusOr<IpAddress> VetHost(const std::string& host, int port, const AddressPolicy& policy,
                                  const Resolver& resolver);

}  // namespace longrun::webhook

#endif  // LONGRUN_WEBHOOK_ADDRESS_POLICY_H_
