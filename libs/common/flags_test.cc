#include "libs/common/flags.h"

#include "gtest/gtest.h"
#include "libs/common/logging.h"

namespace longrun {
namespace {

absl::StatusOr<std::vector<std::string>> ParseArgs(FlagSet& flags, std::vector<std::string> args) {
  std::vector<char*> argv;
  static std::string prog = "prog";
  argv.push_back(prog.data());
  for (auto& a : args) argv.push_back(a.data());
  return flags.Parse(static_cast<int>(argv.size()), argv.data());
}

TEST(FlagSetTest, ParsesEveryFormAndKeepsPositionals) {
  FlagSet flags("prog", "usage");
  std::string url = "default";
  int64_t n = 1;
  bool verbose = false;
  absl::Duration grace = absl::Seconds(30);
  flags.String("database-url", &url, "db");
  flags.Int("concurrency", &n, "n");
  flags.Bool("verbose", &verbose, "v");
  flags.Duration("shutdown-grace", &grace, "g");
  auto pos = ParseArgs(flags, {"migrate", "--database-url=postgres://x", "--concurrency", "7",
                               "--verbose", "--shutdown-grace=1m30s", "extra"});
  ASSERT_TRUE(pos.ok()) << pos.status();
  EXPECT_EQ(*pos, (std::vector<std::string>{"migrate", "extra"}));
  EXPECT_EQ(url, "postgres://x");
  EXPECT_EQ(n, 7);
  EXPECT_TRUE(verbose);
  EXPECT_EQ(grace, absl::Seconds(90));
}

TEST(FlagSetTest, ErrorsNameTheFlag) {
  FlagSet flags("prog", "usage");
  int64_t n = 1;
  absl::Duration d;
  flags.Int("concurrency", &n, "n");
  flags.Duration("lease-duration", &d, "l");
  auto r = ParseArgs(flags, {"--concurrency=abc"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--concurrency"), std::string::npos);
  r = ParseArgs(flags, {"--lease-duration=soon"});
  EXPECT_NE(r.status().message().find("--lease-duration"), std::string::npos);
  r = ParseArgs(flags, {"--nope=1"});
  EXPECT_NE(r.status().message().find("unknown flag --nope"), std::string::npos);
  r = ParseArgs(flags, {"--concurrency"});
  EXPECT_NE(r.status().message().find("needs a value"), std::string::npos);
}

TEST(FlagSetTest, EnvironmentFallbackAndFlagWins) {
  setenv("LONGRUN_TEST_FLAG_ENV", "from-env", 1);
  FlagSet flags("prog", "usage");
  std::string v = "default";
  flags.String("thing", &v, "t", "LONGRUN_TEST_FLAG_ENV");
  EXPECT_EQ(v, "from-env");
  ASSERT_TRUE(ParseArgs(flags, {"--thing=from-flag"}).ok());
  EXPECT_EQ(v, "from-flag");
  unsetenv("LONGRUN_TEST_FLAG_ENV");
}

TEST(FlagSetTest, HelpListsFlagsWithDefaults) {
  FlagSet flags("prog", "Usage: prog");
  std::string listen = "0.0.0.0:50051";
  flags.String("listen", &listen, "where to listen", "LISTEN_ENV");
  auto r = ParseArgs(flags, {"--help"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(flags.help_requested());
  const std::string help = flags.Help();
  EXPECT_NE(help.find("--listen=VALUE"), std::string::npos);
  EXPECT_NE(help.find("default: 0.0.0.0:50051"), std::string::npos);
  EXPECT_NE(help.find("env LISTEN_ENV"), std::string::npos);
}

TEST(FlagSetTest, EveryFlagSetHasLogLevel) {
  FlagSet flags("prog", "Usage: prog");
  EXPECT_NE(flags.Help().find("--log-level=VALUE"), std::string::npos);
  ASSERT_TRUE(ParseArgs(flags, {"--log-level=warn"}).ok());
  EXPECT_FALSE(log::Enabled(log::Level::kInfo));
  EXPECT_TRUE(log::Enabled(log::Level::kWarning));
  ASSERT_TRUE(ParseArgs(flags, {"--log-level", "debug"}).ok());
  EXPECT_TRUE(log::Enabled(log::Level::kDebug));
  auto bad = ParseArgs(flags, {"--log-level=loud"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("--log-level"), std::string::npos);
  log::SetMinLevel(log::Level::kInfo);
}

}  // namespace
}  // namespace longrun
