#include "libs/auth/api_keys.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace longrun::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

std::string ParseError(absl::string_view text) {
  absl::StatusOr<ApiKeys> keys = ApiKeys::Parse(text);
  EXPECT_FALSE(keys.ok()) << text;
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(keys.status().message());
}

TEST(ApiKeysTest, Sha256Hex) {
  EXPECT_EQ(ApiKeySha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeysTest, ParsesLinesCommentsAndBlanks) {
  const std::string text = absl::StrCat(
      "# keys for staging\n"
      "\n",
      ApiKeySha256Hex("key-a"), " team-a operations.submit,operations.read  # ci\n", "   \t\n",
      absl::AsciiStrToUpper(ApiKeySha256Hex("key-b")), "\tteam-b\tworkers.lease:q/k\r\n",
      "  # indented comment\n", ApiKeySha256Hex("key-c"), " team-a admin");  // no final newline
  absl::StatusOr<ApiKeys> keys = ApiKeys::Parse(text);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 3u);

  std::optional<Principal> a = keys->Lookup("key-a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->tenant, "team-a");
  EXPECT_EQ(a->credential, CredentialKind::kApiKey);
  EXPECT_EQ(a->subject, absl::StrCat("api_key:", ApiKeySha256Hex("key-a").substr(0, 12)));
  EXPECT_EQ(a->scopes.ToString(), "operations.submit operations.read");

  std::optional<Principal> b = keys->Lookup("key-b");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->tenant, "team-b");
  EXPECT_TRUE(MayLease(*b, "q", "k"));
  EXPECT_FALSE(MayLease(*b, "q", "other"));

  std::optional<Principal> c = keys->Lookup("key-c");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->CrossTenant());

  EXPECT_FALSE(keys->Lookup("key-d").has_value());
  EXPECT_FALSE(keys->Lookup("").has_value());
  EXPECT_FALSE(keys->Lookup(ApiKeySha256Hex("key-a")).has_value());  // the hash is not the key
}

TEST(ApiKeysTest, EmptyFileHasNoKeys) {
  absl::StatusOr<ApiKeys> keys = ApiKeys::Parse("# every key revoked\n");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 0u);
  EXPECT_FALSE(keys->Lookup("anything").has_value());
}

TEST(ApiKeysTest, ParseErrorsNameTheLine) {
  const std::string good = absl::StrCat(ApiKeySha256Hex("k1"), " t operations.read\n");
  EXPECT_THAT(ParseError(absl::StrCat("# c\n", good, "abc team operations.read\n")),
              HasSubstr("line 3: the first field must be the key's SHA-256 as 64 hex digits"));
  EXPECT_THAT(ParseError(absl::StrCat(good, ApiKeySha256Hex("k2"), " team\n")),
              HasSubstr("line 2: expected 3 fields"));
  EXPECT_THAT(ParseError(absl::StrCat(ApiKeySha256Hex("k2"), " team operations.read extra\n")),
              HasSubstr("line 1: expected 3 fields"));
  EXPECT_THAT(ParseError(absl::StrCat(ApiKeySha256Hex("k2"), " team operations.read, admin\n")),
              HasSubstr("line 1: expected 3 fields"));
  EXPECT_THAT(ParseError(absl::StrCat(ApiKeySha256Hex("k2"), " team operations.reed\n")),
              HasSubstr("line 1: scope \"operations.reed\": unknown scope"));
  EXPECT_THAT(ParseError(absl::StrCat(ApiKeySha256Hex("k2"), " team operations.read,,admin\n")),
              HasSubstr("line 1: empty scope"));
  EXPECT_THAT(ParseError(absl::StrCat(ApiKeySha256Hex("k2"), " team workers.lease:Q\n")),
              HasSubstr("line 1: scope \"workers.lease:Q\": workers.lease: the queue"));
  EXPECT_THAT(ParseError(absl::StrCat(ApiKeySha256Hex("k2"), " té operations.read\n")),
              HasSubstr("line 1: a tenant must be"));
  EXPECT_THAT(ParseError(absl::StrCat(std::string(63, 'a'), "g team operations.read\n")),
              HasSubstr("line 1: the first field"));
  EXPECT_THAT(ParseError(absl::StrCat(good, "\n\n", ApiKeySha256Hex("k1"), " u admin\n")),
              HasSubstr("line 4: the same key as line 1"));
}

TEST(ApiKeysTest, ErrorsNeverShowTheHash) {
  const std::string hex = ApiKeySha256Hex("k2");
  EXPECT_THAT(ParseError(absl::StrCat(hex, " team nope\n")), ::testing::Not(HasSubstr(hex)));
}

TEST(ApiKeysTest, LookupFindsEveryEntry) {
  std::string text;
  for (int i = 0; i < 200; ++i) {
    absl::StrAppend(&text, ApiKeySha256Hex(absl::StrCat("key-", i)), " tenant-", i,
                    " operations.read\n");
  }
  absl::StatusOr<ApiKeys> keys = ApiKeys::Parse(text);
  ASSERT_TRUE(keys.ok()) << keys.status();
  for (int i = 0; i < 200; ++i) {
    std::optional<Principal> p = keys->Lookup(absl::StrCat("key-", i));
    ASSERT_TRUE(p.has_value()) << i;
    EXPECT_EQ(p->tenant, absl::StrCat("tenant-", i));
  }
  EXPECT_FALSE(keys->Lookup("key-200").has_value());
}

TEST(ApiKeysTest, NewApiKey) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const NewApiKeyResult k = NewApiKey();
    EXPECT_THAT(k.key, MatchesRegex("lr_[A-Za-z0-9_-]{43}"));
    EXPECT_EQ(k.sha256_hex, ApiKeySha256Hex(k.key));
    EXPECT_TRUE(seen.insert(k.key).second);
  }
}

TEST(ApiKeysTest, ApiKeyLineParsesBack) {
  const NewApiKeyResult k = NewApiKey();
  absl::StatusOr<std::string> line =
      ApiKeyLine(k.sha256_hex, "team-a", {"operations.submit", "workers.lease:q/k"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, absl::StrCat(k.sha256_hex, " team-a operations.submit,workers.lease:q/k"));
  absl::StatusOr<ApiKeys> keys = ApiKeys::Parse(*line);
  ASSERT_TRUE(keys.ok()) << keys.status();
  std::optional<Principal> p = keys->Lookup(k.key);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->tenant, "team-a");
  EXPECT_TRUE(p->Has(Scope::kOperationsSubmit));

  EXPECT_FALSE(ApiKeyLine("abc", "t", {"admin"}).ok());
  EXPECT_FALSE(ApiKeyLine(k.sha256_hex, "a b", {"admin"}).ok());
  EXPECT_FALSE(ApiKeyLine(k.sha256_hex, "t", {}).ok());
  EXPECT_FALSE(ApiKeyLine(k.sha256_hex, "t", {"operations.write"}).ok());
}

}  // namespace
}  // namespace longrun::auth
