#include "libs/webhook/address_policy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace longrun::webhook {
namespace {

// A refused range and why.
struct Range {
  const char* cidr;
  const char* reason;
};

// Checked in order; the first match names the class. Embedded IPv4 (mapped, compatible,
// NAT64, 6to4) is handled before these for IPv6.
constexpr Range kV4Ranges[] = {
    {"0.0.0.0/32", "unspecified"},
    {"0.0.0.0/8", "reserved (\"this network\", 0.0.0.0/8)"},
    {"10.0.0.0/8", "private (RFC 1918)"},
    {"100.64.0.0/10", "carrier-grade NAT (100.64.0.0/10)"},
    {"127.0.0.0/8", "loopback"},
    {"169.254.169.254/32", "link-local (the cloud metadata address)"},
    {"169.254.0.0/16", "link-local"},
    {"172.16.0.0/12", "private (RFC 1918)"},
    {"192.0.0.0/24", "reserved (IETF protocol assignments, 192.0.0.0/24)"},
    {"192.0.2.0/24", "documentation (TEST-NET-1)"},
    {"192.88.99.0/24", "reserved (6to4 relay anycast)"},
    {"192.168.0.0/16", "private (RFC 1918)"},
    {"198.18.0.0/15", "reserved (benchmarking, 198.18.0.0/15)"},
    {"198.51.100.0/24", "documentation (TEST-NET-2)"},
    {"203.0.113.0/24", "documentation (TEST-NET-3)"},
    {"224.0.0.0/4", "multicast"},
    {"255.255.255.255/32", "broadcast"},
    {"240.0.0.0/4", "reserved (240.0.0.0/4)"},
};

constexpr Range kV6Ranges[] = {
    {"::/128", "unspecified"},
    {"::1/128", "loopback"},
    {"64:ff9b:1::/48", "local-use NAT64 (64:ff9b:1::/48)"},
    {"100::/64", "reserved (discard-only, 100::/64)"},
    {"2001::/32", "Teredo (2001::/32)"},
    {"2001:db8::/32", "documentation (2001:db8::/32)"},
    {"2001::/23", "reserved (IETF protocol assignments, 2001::/23)"},
    {"3fff::/20", "documentation (3fff::/20)"},
    {"5f00::/16", "reserved (SRv6 SIDs, 5f00::/16)"},
    {"fc00::/7", "unique-local (fc00::/7)"},
    {"fe80::/10", "link-local (fe80::/10)"},
    {"fec0::/10", "reserved (site-local, fec0::/10)"},
    {"ff00::/8", "multicast"},
};

// IPv6 prefixes that carry an IPv4 address, and where (byte offset).
struct Embedding {
  const char* cidr;
  const char* name;
  int offset;
};
constexpr Embedding kEmbeddings[] = {
    {"::ffff:0:0/96", "IPv4-mapped", 12},
    {"::/96", "IPv4-compatible", 12},
    {"64:ff9b::/96", "NAT64", 12},
    {"2002::/16", "6to4", 2},
};

struct ParsedRange {
  Cidr cidr;
  std::string reason;
};

std::vector<ParsedRange> ParseRanges(const Range* begin, const Range* end) {
  std::vector<ParsedRange> out;
  for (const Range* r = begin; r != end; ++r) out.push_back({*ParseCidr(r->cidr), r->reason});
  return out;
}

const std::vector<ParsedRange>& V4Ranges() {
  static const auto* ranges =
      new std::vector<ParsedRange>(ParseRanges(std::begin(kV4Ranges), std::end(kV4Ranges)));
  return *ranges;
}

const std::vector<ParsedRange>& V6Ranges() {
  static const auto* ranges =
      new std::vector<ParsedRange>(ParseRanges(std::begin(kV6Ranges), std::end(kV6Ranges)));
  return *ranges;
}

const Cidr& GlobalUnicast() {
  static const Cidr cidr = *ParseCidr("2000::/3");
  return cidr;
}

// The IPv4 address inside an IPv6 one, with the embedding's name, if it has one.
std::optional<std::pair<IpAddress, const char*>> Embedded(const IpAddress& address) {
  if (address.is_v4()) return std::nullopt;
  static const auto* embeddings = [] {
    auto* out = new std::vector<std::pair<Cidr, const Embedding*>>();
    for (const Embedding& e : kEmbeddings) out->push_back({*ParseCidr(e.cidr), &e});
    return out;
  }();
  for (const auto& [cidr, e] : *embeddings) {
    if (!cidr.Contains(address)) continue;
    const uint8_t* b = address.bytes() + e->offset;
    const uint32_t v4 = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) |
                        uint32_t{b[3]};
    return std::make_pair(IpAddress::V4(v4), e->name);
  }
  return std::nullopt;
}

bool Allowed(const AddressPolicy& policy, const IpAddress& address) {
  for (const Cidr& cidr : policy.allow) {
    if (cidr.Contains(address)) return true;
  }
  return false;
}

// The class of `address`; with `policy`, allowed ranges (also for embedded IPv4) pass.
std::optional<std::string> Classify(const IpAddress& address, const AddressPolicy* policy) {
  if (policy != nullptr && Allowed(*policy, address)) return std::nullopt;
  if (address.is_v4()) {
    for (const ParsedRange& r : V4Ranges()) {
      if (r.cidr.Contains(address)) return r.reason;
    }
    return std::nullopt;
  }
  // :: and ::1 lie inside ::/96 but are classes of their own.
  if (address == *IpAddress::Parse("::")) return "unspecified";
  if (address == *IpAddress::Parse("::1")) return "loopback";
  if (auto embedded = Embedded(address); embedded.has_value()) {
    std::optional<std::string> inner = Classify(embedded->first, policy);
    if (!inner.has_value()) return std::nullopt;
    return absl::StrCat(embedded->second, " ", embedded->first.ToString(), ": ", *inner);
  }
  for (const ParsedRange& r : V6Ranges()) {
    if (r.cidr.Contains(address)) return r.reason;
  }
  if (!GlobalUnicast().Contains(address)) return "reserved (outside global unicast 2000::/3)";
  return std::nullopt;
}

std::string StripBrackets(const std::string& host) {
  absl::string_view h = host;
  if (absl::ConsumePrefix(&h, "[") && absl::ConsumeSuffix(&h, "]")) return std::string(h);
  return host;
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(absl::string_view text) {
  const std::string s(text);
  IpAddress out;
  if (inet_pton(AF_INET, s.c_str(), out.bytes_.data()) == 1) {
    out.v4_ = true;
    return out;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.bytes_.data()) == 1) {
    out.v4_ = false;
    return out;
  }
  return std::nullopt;
}

IpAddress IpAddress::V4(uint32_t host_order) {
  IpAddress out;
  out.v4_ = true;
  out.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
  out.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
  out.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
  out.bytes_[3] = static_cast<uint8_t>(host_order);
  return out;
}

IpAddress IpAddress::V6(const std::array<uint8_t, 16>& bytes) {
  IpAddress out;
  out.v4_ = false;
  out.bytes_ = bytes;
  return out;
}

uint32_t IpAddress::v4_value() const {
  return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) |
         uint32_t{bytes_[3]};
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(v4_ ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof(buf));
  return buf;
}

bool Cidr::Contains(const IpAddress& address) const {
  if (address.is_v4() != base.is_v4()) return false;
  const int full = prefix / 8;
  if (std::memcmp(address.bytes(), base.bytes(), full) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address.bytes()[full] & mask) == base.bytes()[full];
}

std::string Cidr::ToString() const { return absl::StrCat(base.ToString(), "/", prefix); }

absl::StatusOr<Cidr> ParseCidr(absl::string_view text) {
  const std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('/', 1));
  std::optional<IpAddress> base = IpAddress::Parse(parts.first);
  if (!base.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", parts.first, "\" is not an IPv4 or IPv6 address"));
  }
  const int max = base->size() * 8;
  int prefix = max;
  if (text.find('/') != absl::string_view::npos &&
      (!absl::SimpleAtoi(parts.second, &prefix) || prefix < 0 || prefix > max ||
       parts.second.empty() || !absl::ascii_isdigit(parts.second[0]))) {
    return absl::InvalidArgumentError(
        absl::StrCat("prefix length \"", parts.second, "\" is not a number from 0 to ", max));
  }
  // Host bits must be zero: "10.0.0.1/8" is more likely a typo than a range.
  std::array<uint8_t, 16> masked{};
  std::memcpy(masked.data(), base->bytes(), base->size());
  for (int bit = prefix; bit < max; ++bit) masked[bit / 8] &= ~(0x80 >> (bit % 8));
  const IpAddress network =
      base->is_v4() ? IpAddress::V4((uint32_t{masked[0]} << 24) | (uint32_t{masked[1]} << 16) |
                                    (uint32_t{masked[2]} << 8) | masked[3])
                    : IpAddress::V6(masked);
  if (!(network == *base)) {
    return absl::InvalidArgumentError(absl::StrCat("host bits are set after /", prefix,
                                                   " (did you mean ", network.ToString(), "/",
                                                   prefix, "?)"));
  }
  Cidr cidr{*base, prefix};
  return cidr;
}

absl::StatusOr<AddressPolicy> ParseAddressPolicy(absl::string_view allow_cidrs) {
  AddressPolicy policy;
  for (absl::string_view entry : absl::StrSplit(allow_cidrs, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) continue;
    absl::StatusOr<Cidr> cidr = ParseCidr(entry);
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--webhook-allow-cidrs: entry \"", entry,
                                                     "\": ", cidr.status().message()));
    }
    policy.allow.push_back(*cidr);
  }
  return policy;
}

std::optional<std::string> AddressClass(const IpAddress& address) {
  return Classify(address, nullptr);
}

std::optional<std::string> RefusalReason(const AddressPolicy& policy, const IpAddress& address) {
  return Classify(address, &policy);
}

Resolver SystemResolver() {
  return [](const std::string& host) -> absl::StatusOr<std::vector<IpAddress>> {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* result = nullptr;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result);
    if (rc != 0) {
      return absl::UnavailableError(
          absl::StrCat("callback host \"", host, "\" does not resolve: ", gai_strerror(rc)));
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(result, freeaddrinfo);
    std::vector<IpAddress> out;
    for (const addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
      if (ai->ai_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
        out.push_back(IpAddress::V4(ntohl(sin->sin_addr.s_addr)));
      } else if (ai->ai_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
        std::array<uint8_t, 16> bytes;
        std::memcpy(bytes.data(), sin6->sin6_addr.s6_addr, 16);
        out.push_back(IpAddress::V6(bytes));
      }
    }
    return out;
  };
}

absl::StatusOr<IpAddress> VetHost(const std::string& host, int port, const AddressPolicy& policy,
                                  const Resolver& resolver) {
  constexpr absl::string_view kHint =
      "which longrun refuses; allow the range with --webhook-allow-cidrs";
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("callback port ", port, " is out of range"));
  }
  const std::string bare = StripBrackets(host);
  if (std::optional<IpAddress> literal = IpAddress::Parse(bare); literal.has_value()) {
    if (std::optional<std::string> why = RefusalReason(policy, *literal); why.has_value()) {
      return absl::PermissionDeniedError(
          absl::StrCat("callback address ", literal->ToString(), " is ", *why, ", ", kHint));
    }
    return *literal;
  }
  absl::StatusOr<std::vector<IpAddress>> addresses = resolver(bare);
  if (!addresses.ok()) return addresses.status();
  if (addresses->empty()) {
    return absl::UnavailableError(
        absl::StrCat("callback host \"", bare, "\" resolves to no address"));
  }
  for (const IpAddress& address : *addresses) {
    if (std::optional<std::string> why = RefusalReason(policy, address); why.has_value()) {
      return absl::PermissionDeniedError(absl::StrCat("callback host \"", bare, "\" resolves to ",
                                                      address.ToString(), " (", *why, "), ",
                                                      kHint));
    }
  }
  return addresses->front();
}

}  // namespace longrun::webhook
