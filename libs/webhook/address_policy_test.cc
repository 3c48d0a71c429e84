#include "libs/webhook/address_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace longrun::webhook {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

IpAddress Ip(absl::string_view text) {
  std::optional<IpAddress> ip = IpAddress::Parse(text);
  EXPECT_TRUE(ip.has_value()) << text;
  return ip.value_or(IpAddress::V4(0));
}

// Every refused class, in its IPv4 and IPv6 spellings, with the class the message names.
TEST(AddressPolicyTest, RefusesEveryNonPublicClass) {
  const struct {
    const char* address;
    const char* reason;
  } refused[] = {
      {"0.0.0.0", "unspecified"},
      {"0.1.2.3", "\"this network\""},
      {"10.0.0.1", "private"},
      {"10.255.255.255", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.254", "private"},
      {"192.168.1.1", "private"},
      {"100.64.0.1", "carrier-grade NAT"},
      {"100.127.255.254", "carrier-grade NAT"},
      {"127.0.0.1", "loopback"},
      {"127.255.0.9", "loopback"},
      {"169.254.169.254", "metadata"},
      {"169.254.1.1", "link-local"},
      {"192.0.0.8", "IETF protocol assignments"},
      {"192.0.2.10", "documentation"},
      {"198.51.100.7", "documentation"},
      {"203.0.113.99", "documentation"},
      {"192.88.99.1", "6to4 relay"},
      {"198.18.0.1", "benchmarking"},
      {"198.19.255.255", "benchmarking"},
      {"224.0.0.1", "multicast"},
      {"239.255.255.250", "multicast"},
      {"240.0.0.1", "reserved"},
      {"255.255.255.255", "broadcast"},
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"fe80::1", "link-local"},
      {"febf::1", "link-local"},
      {"fc00::1", "unique-local"},
      {"fd12:3456::1", "unique-local"},
      {"ff02::1", "multicast"},
      {"ff0e::1", "multicast"},
      {"100::1", "discard-only"},
      {"2001:db8::1", "documentation"},
      {"3fff::1", "documentation"},
      {"2001::1", "Teredo"},
      {"2001:2::1", "IETF protocol assignments"},
      {"fec0::1", "site-local"},
      {"5f00::1", "SRv6"},
      {"::ffff:0:1.2.3.4", "outside global unicast"},  // IPv4-translated (RFC 2765)
      {"4000::1", "outside global unicast"},
      {"64:ff9b:1::a00:1", "local-use NAT64"},
      // IPv4 inside IPv6: the embedded address decides.
      {"::ffff:127.0.0.1", "IPv4-mapped 127.0.0.1: loopback"},
      {"::ffff:169.254.169.254", "IPv4-mapped 169.254.169.254: link-local"},
      {"::ffff:10.1.2.3", "IPv4-mapped 10.1.2.3: private"},
      {"::127.0.0.1", "IPv4-compatible 127.0.0.1: loopback"},
      {"::10.0.0.1", "IPv4-compatible 10.0.0.1: private"},
      {"64:ff9b::7f00:1", "NAT64 127.0.0.1: loopback"},
      {"64:ff9b::a9fe:a9fe", "NAT64 169.254.169.254: link-local"},
      {"2002:7f00:1::1", "6to4 127.0.0.1: loopback"},
      {"2002:c0a8:101::", "6to4 192.168.1.1: private"},
  };
  for (const auto& c : refused) {
    EXPECT_THAT(AddressClass(Ip(c.address)), Optional(HasSubstr(c.reason))) << c.address;
    EXPECT_THAT(RefusalReason(AddressPolicy{}, Ip(c.address)), Optional(HasSubstr(c.reason)))
        << c.address;
  }
}

TEST(AddressPolicyTest, PublicAddressesPass) {
  for (const char* address :
       {"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0",
        "172.15.255.255", "172.32.0.0", "169.253.255.255", "192.169.0.1", "198.17.255.255",
        "198.20.0.0", "223.255.255.255", "2606:4700:4700::1111", "2a00:1450:4001::200e",
        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2001:200::1"}) {
    EXPECT_EQ(AddressClass(Ip(address)), std::nullopt) << address;
  }
}

TEST(AddressPolicyTest, AllowListOpensChosenRangesOnly) {
  absl::StatusOr<AddressPolicy> policy =
      ParseAddressPolicy(" 127.0.0.0/8, fd00::/8 ,10.1.2.3");
  ASSERT_TRUE(policy.ok()) << policy.status();
  ASSERT_EQ(policy->allow.size(), 3u);
  EXPECT_EQ(policy->allow[2].ToString(), "10.1.2.3/32");
  for (const char* address : {"127.0.0.1", "127.9.9.9", "fd00::5", "10.1.2.3",
                              "::ffff:127.0.0.1", "64:ff9b::7f00:1"}) {
    EXPECT_EQ(RefusalReason(*policy, Ip(address)), std::nullopt) << address;
  }
  for (const char* address : {"10.1.2.4", "169.254.169.254", "::1", "fc00::1", "192.168.0.1"}) {
    EXPECT_NE(RefusalReason(*policy, Ip(address)), std::nullopt) << address;
  }
  // Nothing is allowed by an empty list.
  absl::StatusOr<AddressPolicy> empty = ParseAddressPolicy("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->allow.empty());
}

TEST(AddressPolicyTest, AllowListErrorsNameTheEntry) {
  const struct {
    const char* list;
    const char* want;
  } cases[] = {
      {"10.0.0.0/8,10.0.0.300/8", "entry \"10.0.0.300/8\": \"10.0.0.300\" is not an IPv4"},
      {"10.0.0.0/33", "entry \"10.0.0.0/33\": prefix length \"33\" is not a number from 0 to 32"},
      {"fd00::/129", "from 0 to 128"},
      {"10.0.0.0/", "prefix length \"\""},
      {"10.0.0.0/+8", "prefix length \"+8\""},
      {"10.0.0.1/8", "host bits are set after /8 (did you mean 10.0.0.0/8?)"},
      {"example.com/8", "\"example.com\" is not an IPv4 or IPv6 address"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<AddressPolicy> policy = ParseAddressPolicy(c.list);
    ASSERT_FALSE(policy.ok()) << c.list;
    EXPECT_THAT(policy.status().message(), HasSubstr("--webhook-allow-cidrs: "));
    EXPECT_THAT(policy.status().message(), HasSubstr(c.want)) << c.list;
  }
}

Resolver FakeResolver(std::vector<std::string> answer, int* calls = nullptr) {
  return [answer, calls](const std::string&) -> absl::StatusOr<std::vector<IpAddress>> {
    if (calls != nullptr) ++*calls;
    std::vector<IpAddress> out;
    for (const std::string& a : answer) out.push_back(*IpAddress::Parse(a));
    return out;
  };
}

TEST(VetHostTest, NameResolvingToLoopbackIsRefusedWithAnActionableMessage) {
  absl::StatusOr<IpAddress> vetted =
      VetHost("evil.example", 443, AddressPolicy{}, FakeResolver({"127.0.0.1"}));
  ASSERT_FALSE(vetted.ok());
  EXPECT_EQ(vetted.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(vetted.status().message(),
            "callback host \"evil.example\" resolves to 127.0.0.1 (loopback), which longrun "
            "refuses; allow the range with --webhook-allow-cidrs");
}

TEST(VetHostTest, AnyRefusedAnswerRefusesTheHost) {
  // A mixed answer is the DNS-rebinding pattern: the public address passes a check, the
  // private one is where the connection would go.
  absl::StatusOr<IpAddress> vetted = VetHost(
      "mixed.example", 443, AddressPolicy{}, FakeResolver({"93.184.216.34", "10.0.0.7"}));
  ASSERT_FALSE(vetted.ok());
  EXPECT_THAT(vetted.status().message(), HasSubstr("resolves to 10.0.0.7 (private"));
}

TEST(VetHostTest, ReturnsTheFirstAddressToPin) {
  absl::StatusOr<IpAddress> vetted = VetHost("ok.example", 443, AddressPolicy{},
                                             FakeResolver({"2606:4700::1", "93.184.216.34"}));
  ASSERT_TRUE(vetted.ok()) << vetted.status();
  EXPECT_EQ(vetted->ToString(), "2606:4700::1");
}

TEST(VetHostTest, LiteralsAreNotResolved) {
  int calls = 0;
  Resolver resolver = FakeResolver({"8.8.8.8"}, &calls);
  absl::StatusOr<IpAddress> v4 = VetHost("93.184.216.34", 80, AddressPolicy{}, resolver);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->ToString(), "93.184.216.34");
  absl::StatusOr<IpAddress> v6 = VetHost("[::1]", 80, AddressPolicy{}, resolver);
  ASSERT_FALSE(v6.ok());
  EXPECT_THAT(v6.status().message(),
              HasSubstr("callback address ::1 is loopback, which longrun refuses; allow the "
                        "range with --webhook-allow-cidrs"));
  absl::StatusOr<IpAddress> mapped = VetHost("[::ffff:169.254.169.254]", 80, AddressPolicy{},
                                             resolver);
  EXPECT_FALSE(mapped.ok());
  EXPECT_EQ(calls, 0);
}

TEST(VetHostTest, AllowedRangesPassAndResolutionFailuresAreRetryable) {
  AddressPolicy policy = *ParseAddressPolicy("127.0.0.0/8,::1");
  absl::StatusOr<IpAddress> vetted =
      VetHost("localhost", 8080, policy, FakeResolver({"::1", "127.0.0.1"}));
  ASSERT_TRUE(vetted.ok()) << vetted.status();
  EXPECT_EQ(vetted->ToString(), "::1");
  EXPECT_EQ(VetHost("nothing.example", 443, policy, FakeResolver({})).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(VetHost("x.example", 0, policy, FakeResolver({"8.8.8.8"})).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(VetHostTest, SystemResolverResolvesLocalhostToLoopbackWhichIsRefused) {
  absl::StatusOr<IpAddress> vetted = VetHost("localhost", 443, AddressPolicy{}, SystemResolver());
  ASSERT_FALSE(vetted.ok());
  // Where localhost resolves at all (AI_ADDRCONFIG), it is loopback.
  if (vetted.status().code() == absl::StatusCode::kPermissionDenied) {
    EXPECT_THAT(vetted.status().message(), HasSubstr("(loopback)"));
  } else {
    EXPECT_EQ(vetted.status().code(), absl::StatusCode::kUnavailable) << vetted.status();
  }
}

}  // namespace
}  // namespace longrun::webhook
