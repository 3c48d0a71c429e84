#include "libs/webhook/callback_url.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace longrun::webhook {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(CallbackUrlTest, AcceptsHttpsAndNormalizes) {
  absl::StatusOr<CallbackUrl> url =
      ParseCallbackUrl("HTTPS://Hooks.Example.COM/a/../b?x=1", false);
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->url, "https://Hooks.Example.COM/b?x=1");
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "hooks.example.com");
  EXPECT_EQ(url->port, 443);

  absl::StatusOr<CallbackUrl> port = ParseCallbackUrl("https://h.example:8443/", false);
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(port->port, 8443);

  absl::StatusOr<CallbackUrl> v6 = ParseCallbackUrl("https://[2606:4700::1]/x", false);
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
  };
  for (const auto& c : cases) {
    absl::StatusOr<CallbackUrl> url = ParseCallbackUrl(c.url, false);
    ASSERT_FALSE(url.ok()) << c.url << " -> " << (url.ok() ? url->url : "");
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(url.status().message()), StartsWith("callback.url: ")) << c.url;
    EXPECT_THAT(std::string(url.status().message()), HasSubstr(c.want)) << c.url;
  }
}

TEST(CallbackUrlTest, InsecureWhenAllowed) {
  absl::StatusOr<CallbackUrl> url = ParseCallbackUrl("http://127.0.0.1:8080/hook", true);
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(ParseCallbackUrl("http://h.example/", true)->port, 80);
}

// Addresses are the guard's at delivery (VetHost): the parse accepts them, and spellings of
// an address reach the guard as the plain address it stands for.
TEST(CallbackUrlTest, AddressesAreLeftToTheGuardInTheirPlainForm) {
  EXPECT_EQ(ParseCallbackUrl("https://localhost/hook", false)->host, "localhost");
  EXPECT_EQ(ParseCallbackUrl("https://[::1]/hook", false)->host, "[::1]");
  EXPECT_EQ(ParseCallbackUrl("https://2130706433/", false)->host, "127.0.0.1");  // one number
  EXPECT_EQ(ParseCallbackUrl("https://0x7f.1/", false)->host, "127.0.0.1");
}

}  // namespace
}  // namespace longrun::webhook
