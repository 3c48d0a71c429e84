#include "libs/webhook/webhook_flags.h"

#include <cstdlib>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace longrun::webhook {
namespace {

using ::testing::HasSubstr;

absl::Status Parse(WebhookFlags* config, std::vector<std::string> args) {
  FlagSet flags("prog", "usage");
  AddWebhookFlags(flags, config);
  std::vector<char*> argv;
  static std::string prog = "prog";
  argv.push_back(prog.data());
  for (auto& a : args) argv.push_back(a.data());
  return flags.Parse(static_cast<int>(argv.size()), argv.data()).status();
}

TEST(WebhookFlagsTest, DefaultsAreOffWithTheDocumentedValues) {
  unsetenv("LONGRUN_WEBHOOK_SECRET_FILE");
  WebhookFlags config;
  ASSERT_TRUE(Parse(&config, {}).ok());
  EXPECT_FALSE(config.on());
  EXPECT_TRUE(config.Validate().ok());
  EXPECT_EQ(config.retry_base, absl::Seconds(5));
  EXPECT_EQ(config.retry_cap, absl::Hours(1));
  EXPECT_EQ(config.retry_for, absl::Hours(24));
  EXPECT_EQ(config.concurrency, 16);
  EXPECT_EQ(config.concurrency_per_host, 4);
  absl::StatusOr<CallbackPolicy> policy = config.Policy();
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE(policy->allow_insecure);
  EXPECT_TRUE(policy->addresses.allow.empty());
}

TEST(WebhookFlagsTest, EveryFlagParses) {
  WebhookFlags config;
  ASSERT_TRUE(Parse(&config, {"--webhook-secret-file=/run/secrets/whsec",
                              "--webhook-allow-insecure", "--webhook-allow-cidrs=127.0.0.0/8,::1",
                              "--webhook-retry-base=1s", "--webhook-retry-cap=2m",
                              "--webhook-retry-for=1h", "--webhook-concurrency=8",
                              "--webhook-concurrency-per-host=2"})
                  .ok());
  EXPECT_TRUE(config.on());
  EXPECT_TRUE(config.Validate().ok());
  RetryConfig retry = config.Retry();
  EXPECT_EQ(retry.base, absl::Seconds(1));
  EXPECT_EQ(retry.cap, absl::Minutes(2));
  EXPECT_EQ(retry.retry_for, absl::Hours(1));
  EXPECT_EQ(config.concurrency, 8);
  EXPECT_EQ(config.concurrency_per_host, 2);
  absl::StatusOr<CallbackPolicy> policy = config.Policy();
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->allow_insecure);
  EXPECT_EQ(policy->addresses.allow.size(), 2u);
}

TEST(WebhookFlagsTest, SecretFileFromTheEnvironment) {
  setenv("LONGRUN_WEBHOOK_SECRET_FILE", "/etc/longrun/whsec", 1);
  WebhookFlags config;
  ASSERT_TRUE(Parse(&config, {}).ok());
  unsetenv("LONGRUN_WEBHOOK_SECRET_FILE");
  EXPECT_EQ(config.secret_file, "/etc/longrun/whsec");
}

TEST(WebhookFlagsTest, ValidateNamesTheFlag) {
  const struct {
    std::vector<std::string> args;
    const char* want;
  } cases[] = {
      {{"--webhook-retry-base=0s"}, "--webhook-retry-base"},
      {{"--webhook-retry-cap=1s"}, "--webhook-retry-cap"},
      {{"--webhook-retry-for=0s"}, "--webhook-retry-for"},
      {{"--webhook-concurrency=0"}, "--webhook-concurrency "},
      {{"--webhook-concurrency-per-host=0"}, "--webhook-concurrency-per-host"},
      {{"--webhook-allow-cidrs=10.0.0.0/8,nope"}, "--webhook-allow-cidrs: entry \"nope\""},
  };
  for (const auto& c : cases) {
    WebhookFlags config;
    ASSERT_TRUE(Parse(&config, c.args).ok());
    absl::Status s = config.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.want;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.want));
  }
}

}  // namespace
}  // namespace longrun::webhook
