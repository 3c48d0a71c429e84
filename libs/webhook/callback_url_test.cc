#include "libs/webhook/callback_url.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace longrun::webhook {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(CallbackUrlTest, AcceptsHttpsAndNormalizes) {
  absl::StatusOr<CallbackUrl> url =
      ValidateCallbackUrl("HTTPS://Hooks.Example.COM/a/../b?x=1", CallbackPolicy{});
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->url, "https://Hooks.Example.COM/b?x=1");
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "hooks.example.com");
  EXPECT_EQ(url->port, 443);

  absl::StatusOr<CallbackUrl> port = ValidateCallbackUrl("https://h.example:8443/", {});
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(port->port, 8443);

  absl::StatusOr<CallbackUrl> v6 = ValidateCallbackUrl("https://[2606:4700::1]/x", {});
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "[2606:4700::1]");
}

TEST(CallbackUrlTest, RefusesWithAMessageNamingTheField) {
  const struct {
    std::string url;
    const char* want;
  } cases[] = {
      {"", "required"},
      {"https://h.example/" + std::string(2048, 'a'), "longer than 2048 bytes"},
      {"h.example/hook", "not a valid absolute URL"},
      {"https://", "not a valid absolute URL"},
      {"https://h.example/a b", "not a valid absolute URL"},
      {"http://h.example/hook", "--webhook-allow-insecure"},
      {"ftp://h.example/hook", "scheme \"ftp\" is not allowed"},
      {"file:///etc/passwd", "scheme \"file\" is not allowed"},
      {"gopher://h.example/", "scheme \"gopher\""},
      {"https://user:pw@h.example/hook", "user:password@"},
      {"https://user@h.example/hook", "user:password@"},
      {"https://h.example:99999/hook", "not a valid absolute URL"},
      {"https://h.example:0/hook", "bad port"},
      {"https://h.example:abc/hook", "not a valid absolute URL"},
      {"https://h.example/hook#frag", "#fragment"},
      {"https://127.0.0.1/hook", "address 127.0.0.1 is loopback, which longrun refuses; allow "
                                 "the range with --webhook-allow-cidrs"},
      {"https://[::1]/hook", "address ::1 is loopback"},
      {"https://169.254.169.254/latest/meta-data", "link-local (the cloud metadata address)"},
      {"https://[::ffff:10.0.0.1]/", "IPv4-mapped 10.0.0.1: private"},
      {"https://2130706433/", "loopback"},  // 127.0.0.1 as one number
      {"https://0x7f.1/", "loopback"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<CallbackUrl> url = ValidateCallbackUrl(c.url, CallbackPolicy{});
    ASSERT_FALSE(url.ok()) << c.url << " -> " << (url.ok() ? url->url : "");
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(url.status().message()), StartsWith("callback.url: ")) << c.url;
    EXPECT_THAT(std::string(url.status().message()), HasSubstr(c.want)) << c.url;
  }
}

TEST(CallbackUrlTest, InsecureAndAllowedRangesWhenThePolicySaysSo) {
  CallbackPolicy policy{.allow_insecure = true,
                        .addresses = *ParseAddressPolicy("127.0.0.0/8")};
  absl::StatusOr<CallbackUrl> url = ValidateCallbackUrl("http://127.0.0.1:8080/hook", policy);
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(ValidateCallbackUrl("http://h.example/", policy)->port, 80);
  // Names are resolved only at delivery.
  EXPECT_TRUE(ValidateCallbackUrl("https://localhost/hook", CallbackPolicy{}).ok());
}

}  // namespace
}  // namespace longrun::webhook
