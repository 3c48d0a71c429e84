#include "libs/webhook/signature.h"

#include <fstream>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace longrun::webhook {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::string_view kSpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

TEST(SignatureTest, ReproducesTheStandardWebhooksVector) {
  absl::StatusOr<WebhookSecrets> secrets = ParseSecretsFile(kSpecSecret);
  ASSERT_TRUE(secrets.ok()) << secrets.status();
  EXPECT_EQ(Sign(*secrets, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(SignatureTest, OneSignaturePerActiveSecretInFileOrder) {
  absl::StatusOr<WebhookSecrets> secrets = ParseSecretsFile(absl::StrCat(
      "# rotation in progress\n\n", kSpecSecret, "\n  whsec_", std::string(32, 'A'), "  \n"));
  ASSERT_TRUE(secrets.ok()) << secrets.status();
  ASSERT_EQ(secrets->keys.size(), 2u);
  const std::string header = Sign(*secrets, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                  R"({"test": 2432232314})");
  std::vector<std::string> parts = absl::StrSplit(header, ' ');
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  EXPECT_THAT(parts[1], testing::StartsWith("v1,"));
  EXPECT_NE(parts[1], parts[0]);
}

TEST(SignatureTest, ChangingAnySignedPartChangesTheSignature) {
  WebhookSecrets secrets = *ParseSecretsFile(kSpecSecret);
  const std::string base = Sign(secrets, "msg_a", 100, "{}");
  EXPECT_NE(Sign(secrets, "msg_b", 100, "{}"), base);
  EXPECT_NE(Sign(secrets, "msg_a", 101, "{}"), base);
  EXPECT_NE(Sign(secrets, "msg_a", 100, "{ }"), base);
}

TEST(SignatureTest, BadFilesNameTheLineAndNeverQuoteTheSecret) {
  struct Case {
    std::string content;
    std::string want;
  } cases[] = {
      {"", "no secret"},
      {"# only a comment\n\n", "no secret"},
      {absl::StrCat(kSpecSecret, "\nsecret_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
       "line 2: a webhook secret must start with \"whsec_\""},
      {"whsec_MfKQ9r8GKYqr!wjUPD8ILPZIo2LaLaSw", "line 1: the part after \"whsec_\" is not"},
      {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-_", "line 1: the part after"},  // base64url
      {"whsec_MfKQ9r8GKYqrTwjU PD8ILPZIo2LaLaSw", "line 1: the part after"},
      {"whsec_AAAA", "line 1: the key is 3 bytes"},
      {absl::StrCat("whsec_", std::string(100, 'A')), "line 1: the key is 75 bytes"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<WebhookSecrets> parsed = ParseSecretsFile(c.content);
    ASSERT_FALSE(parsed.ok()) << c.content;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.want)) << c.content;
    EXPECT_THAT(parsed.status().message(), Not(HasSubstr("MfKQ9r8GKYqr"))) << c.content;
  }
}

TEST(SignatureTest, PaddedBase64IsAccepted) {
  // 25 key bytes: base64 needs padding.
  absl::StatusOr<std::string> key = ParseSecret(absl::StrCat("whsec_", std::string(32, 'A'), "AA=="));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->size(), 25u);
}

TEST(SignatureTest, SecretsFileReloadsARotation) {
  const std::string path = ::testing::TempDir() + "/webhook_secrets";
  std::ofstream(path) << kSpecSecret << "\n";
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<SecretsFile>> file = OpenSecretsFile(path, clock);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->Get()->keys.size(), 1u);
  std::ofstream(path) << kSpecSecret << "\nwhsec_" << std::string(32, 'B') << "\n";
  EXPECT_TRUE((*file)->RunOnce().reloaded);
  EXPECT_EQ((*file)->Get()->keys.size(), 2u);
  std::ofstream(path) << "garbage\n";
  EXPECT_FALSE((*file)->RunOnce().ok);
  EXPECT_EQ((*file)->Get()->keys.size(), 2u);  // a bad file keeps the secrets in use
}

}  // namespace
}  // namespace longrun::webhook
