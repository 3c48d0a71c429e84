#include "libs/core/filter.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/operation.h"

namespace longrun::core {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// 2023-11-14T22:13:20Z; an arbitrary fixed instant, never the wall clock.
const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

absl::Time Rfc3339(const std::string& text) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &t, &err)) << text << ": " << err;
  return t;
}

// Parses a filter the test expects to be valid and non-empty.
FilterNode MustParse(const std::string& filter) {
  absl::StatusOr<std::optional<FilterNode>> parsed = ParseFilter(filter);
  EXPECT_TRUE(parsed.ok()) << filter << ": " << parsed.status();
  if (!parsed.ok() || !parsed->has_value()) {
    ADD_FAILURE() << "no filter parsed from " << filter;
    return FilterNode();
  }
  return **parsed;
}

// ---------------------------------------------------------------------------------------
// Valid filters, checked through their canonical form (which spells out the AST).

struct FormatCase {
  std::string filter;
  std::string canonical;
};

class ParseFormatTest : public testing::TestWithParam<FormatCase> {};

TEST_P(ParseFormatTest, ParsesToCanonicalFormAndRoundTrips) {
  const FormatCase& c = GetParam();
  const FilterNode node = MustParse(c.filter);
  const std::string formatted = FormatFilter(node);
  EXPECT_EQ(formatted, c.canonical) << "filter: " << c.filter;
  // The canonical form parses back to itself.
  EXPECT_EQ(FormatFilter(MustParse(formatted)), formatted);
}

INSTANTIATE_TEST_SUITE_P(
    Filters, ParseFormatTest,
    testing::Values(
        // Each field and operator.
        FormatCase{"state=QUEUED", "state = QUEUED"},
        FormatCase{"state = RUNNING", "state = RUNNING"},
        FormatCase{"state!=RETRY_WAIT", "state != RETRY_WAIT"},
        FormatCase{"state=\"CANCELLING\"", "state = CANCELLING"},
        FormatCase{"state=SUCCEEDED", "state = SUCCEEDED"},
        FormatCase{"state=FAILED", "state = FAILED"},
        FormatCase{"state=CANCELLED", "state = CANCELLED"},
        FormatCase{"kind=demo.echo", "kind = \"demo.echo\""},
        FormatCase{"kind=\"demo.echo\"", "kind = \"demo.echo\""},
        FormatCase{"kind != a-b_c.d", "kind != \"a-b_c.d\""},
        FormatCase{"queue=default", "queue = \"default\""},
        FormatCase{"queue!=\"batch\"", "queue != \"batch\""},
        FormatCase{"labels.env=prod", "labels.env = \"prod\""},
        FormatCase{"labels.env != prod", "labels.env != \"prod\""},
        FormatCase{"labels.team-name_2:*", "labels.team-name_2:*"},
        FormatCase{"labels.env : *", "labels.env:*"},
        FormatCase{"labels.env:\"prod\"", "labels.env = \"prod\""},
        FormatCase{"labels.env:prod", "labels.env = \"prod\""},
        FormatCase{"labels.env=\"*\"", "labels.env = \"*\""},
        FormatCase{"labels.env=\"\"", "labels.env = \"\""},
        FormatCase{"labels.url=a:b+c", "labels.url = \"a:b+c\""},
        FormatCase{"create_time>2024-01-02T03:04:05Z",
                   "create_time > 2024-01-02T03:04:05Z"},
        FormatCase{"create_time >= \"2024-01-02T03:04:05Z\"",
                   "create_time >= 2024-01-02T03:04:05Z"},
        FormatCase{"create_time<2024-01-02T03:04:05.25+02:00",
                   "create_time < 2024-01-02T01:04:05.25Z"},
        FormatCase{"create_time<=2024-01-02t03:04:05.123456789-01:30",
                   "create_time <= 2024-01-02T04:34:05.123456789Z"},
        FormatCase{"update_time=2024-01-02T03:04:05z", "update_time = 2024-01-02T03:04:05Z"},
        FormatCase{"update_time!=0000-01-01T00:00:00Z", "update_time != 0000-01-01T00:00:00Z"},
        FormatCase{"update_time>9999-12-31T23:59:59.999Z",
                   "update_time > 9999-12-31T23:59:59.999Z"},
        // Escapes in strings.
        FormatCase{R"(kind="a\"b\\c")", R"(kind = "a\"b\\c")"},
        FormatCase{R"(labels.x="tab\there\nnl\r")", R"(labels.x = "tab\there\nnl\r")"},
        FormatCase{"labels.x=\"\xc3\xa9\xf0\x9f\x98\x80\"", "labels.x = \"\xc3\xa9\xf0\x9f\x98\x80\""},
        FormatCase{"labels.x=\"with space and (parens) AND OR\"",
                   "labels.x = \"with space and (parens) AND OR\""},
        FormatCase{"labels.x=\"AND\"", "labels.x = \"AND\""},
        // Logic and precedence: OR binds tighter than AND; adjacency is AND.
        FormatCase{"state=QUEUED AND kind=a", "state = QUEUED AND kind = \"a\""},
        FormatCase{"state=QUEUED kind=a", "state = QUEUED AND kind = \"a\""},
        FormatCase{"state=QUEUED OR state=RUNNING", "state = QUEUED OR state = RUNNING"},
        FormatCase{"state=QUEUED AND kind=a OR kind=b",
                   "state = QUEUED AND (kind = \"a\" OR kind = \"b\")"},
        FormatCase{"kind=a OR kind=b AND state=QUEUED",
                   "(kind = \"a\" OR kind = \"b\") AND state = QUEUED"},
        FormatCase{"state=QUEUED kind=a OR kind=b",
                   "state = QUEUED AND (kind = \"a\" OR kind = \"b\")"},
        FormatCase{"(state=QUEUED AND kind=a) OR kind=b",
                   "(state = QUEUED AND kind = \"a\") OR kind = \"b\""},
        FormatCase{"(state=QUEUED kind=a) OR kind=b",
                   "(state = QUEUED AND kind = \"a\") OR kind = \"b\""},
        FormatCase{"NOT state=QUEUED", "NOT state = QUEUED"},
        FormatCase{"-state=QUEUED", "NOT state = QUEUED"},
        FormatCase{"-labels.env:*", "NOT labels.env:*"},
        FormatCase{"NOT state=QUEUED OR kind=a", "NOT state = QUEUED OR kind = \"a\""},
        FormatCase{"NOT (state=QUEUED OR kind=a)", "NOT (state = QUEUED OR kind = \"a\")"},
        FormatCase{"-(state=QUEUED kind=a)", "NOT (state = QUEUED AND kind = \"a\")"},
        FormatCase{"NOT(state=QUEUED)", "NOT state = QUEUED"},
        FormatCase{"NOT (NOT state=QUEUED)", "NOT (NOT state = QUEUED)"},
        FormatCase{"kind=-x", "kind = \"-x\""},
        FormatCase{"kind=a-b -kind=c", "kind = \"a-b\" AND NOT kind = \"c\""},
        // Flattening and redundant parentheses.
        FormatCase{"((state=QUEUED))", "state = QUEUED"},
        FormatCase{"kind=a AND (kind=b AND kind=c)",
                   "kind = \"a\" AND kind = \"b\" AND kind = \"c\""},
        FormatCase{"(kind=a OR kind=b) OR kind=c",
                   "kind = \"a\" OR kind = \"b\" OR kind = \"c\""},
        FormatCase{"(kind=a)(kind=b)", "kind = \"a\" AND kind = \"b\""},
        // Whitespace of every kind, and keywords glued to parentheses.
        FormatCase{" \t\n state \r\n= \t QUEUED \n", "state = QUEUED"},
        FormatCase{"(kind=a)AND(kind=b)", "kind = \"a\" AND kind = \"b\""},
        FormatCase{"(kind=a)OR(kind=b)", "kind = \"a\" OR kind = \"b\""}),
    [](const testing::TestParamInfo<FormatCase>& info) { return absl::StrCat(info.index); });

TEST(ParseFilterTest, EmptyAndWhitespaceOnlyMeanNoFilter) {
  for (const char* f : {"", " ", "\t\n\r ", "   \n"}) {
    absl::StatusOr<std::optional<FilterNode>> parsed = ParseFilter(f);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_FALSE(parsed->has_value()) << "\"" << f << "\"";
  }
}

TEST(ParseFilterTest, BuildsTheExpectedAst) {
  const FilterNode node = MustParse(
      "state=QUEUED AND (labels.env:* OR create_time >= 2024-01-02T03:04:05Z) -kind=\"x y\"");
  ASSERT_EQ(node.kind, FilterNode::Kind::kAnd);
  ASSERT_EQ(node.children.size(), 3u);

  const FilterNode& state = node.children[0];
  ASSERT_EQ(state.kind, FilterNode::Kind::kCompare);
  EXPECT_EQ(state.comparison.field, FilterField::kState);
  EXPECT_EQ(state.comparison.op, CompareOp::kEq);
  EXPECT_EQ(state.comparison.state, State::kQueued);
  EXPECT_EQ(state.comparison.value, "QUEUED");

  const FilterNode& either = node.children[1];
  ASSERT_EQ(either.kind, FilterNode::Kind::kOr);
  ASSERT_EQ(either.children.size(), 2u);
  const Comparison& has = either.children[0].comparison;
  EXPECT_EQ(has.field, FilterField::kLabel);
  EXPECT_EQ(has.label_key, "env");
  EXPECT_EQ(has.op, CompareOp::kHas);
  EXPECT_EQ(has.value, "");
  const Comparison& time = either.children[1].comparison;
  EXPECT_EQ(time.field, FilterField::kCreateTime);
  EXPECT_EQ(time.op, CompareOp::kGe);
  EXPECT_EQ(time.time, Rfc3339("2024-01-02T03:04:05Z"));
  EXPECT_EQ(time.value, "2024-01-02T03:04:05Z");

  const FilterNode& negated = node.children[2];
  ASSERT_EQ(negated.kind, FilterNode::Kind::kNot);
  ASSERT_EQ(negated.children.size(), 1u);
  EXPECT_EQ(negated.children[0].comparison.field, FilterField::kKind);
  EXPECT_EQ(negated.children[0].comparison.op, CompareOp::kEq);
  EXPECT_EQ(negated.children[0].comparison.value, "x y");
}

TEST(ParseFilterTest, LabelHasWithValueIsEquality) {
  const FilterNode node = MustParse("labels.env:\"prod\"");
  EXPECT_EQ(node.comparison.op, CompareOp::kEq);
  EXPECT_EQ(node.comparison.label_key, "env");
  EXPECT_EQ(node.comparison.value, "prod");
}

TEST(ParseFilterTest, TimeOffsetsAndFractionsAreExact) {
  EXPECT_EQ(MustParse("create_time=2024-01-02T03:04:05.000001+00:00").comparison.time,
            Rfc3339("2024-01-02T03:04:05Z") + absl::Microseconds(1));
  EXPECT_EQ(MustParse("create_time=2024-01-02T05:04:05+02:00").comparison.time,
            Rfc3339("2024-01-02T03:04:05Z"));
  EXPECT_EQ(MustParse("create_time=2024-01-02T00:00:00-00:30").comparison.time,
            Rfc3339("2024-01-02T00:30:00Z"));
}

// ---------------------------------------------------------------------------------------
// Matches(): the reference semantics, over a small fixed set of operations.

std::vector<Operation> SampleOperations() {
  std::vector<Operation> ops(4);
  ops[0].id = "a";
  ops[0].kind = "demo.echo";
  ops[0].queue = "default";
  ops[0].state = State::kQueued;
  ops[0].labels = {{"env", "prod"}, {"team", "infra"}};
  ops[0].create_time = kT0;
  ops[0].update_time = kT0;

  ops[1].id = "b";
  ops[1].kind = "demo.echo";
  ops[1].queue = "batch";
  ops[1].state = State::kRunning;
  ops[1].labels = {{"env", "dev"}};
  ops[1].create_time = kT0 + absl::Hours(1);
  ops[1].update_time = kT0 + absl::Hours(2);

  ops[2].id = "c";
  ops[2].kind = "report.build";
  ops[2].queue = "default";
  ops[2].state = State::kSucceeded;
  ops[2].create_time = kT0 + absl::Hours(2);
  ops[2].update_time = kT0 + absl::Hours(3);

  ops[3].id = "d";
  ops[3].kind = "report.build";
  ops[3].queue = "batch";
  ops[3].state = State::kFailed;
  ops[3].labels = {{"env", "prod"}, {"quote", "say \"hi\""}};
  ops[3].create_time = kT0 + absl::Hours(3);
  ops[3].update_time = kT0 + absl::Hours(3) + absl::Microseconds(1);
  return ops;
}

struct MatchCase {
  std::string filter;
  std::string matching_ids;  // ids of SampleOperations() that match, in order
};

class MatchesTest : public testing::TestWithParam<MatchCase> {};

TEST_P(MatchesTest, SelectsExpectedOperations) {
  const MatchCase& c = GetParam();
  const FilterNode node = MustParse(c.filter);
  std::string ids;
  for (const Operation& op : SampleOperations()) {
    if (Matches(node, op)) ids += op.id;
  }
  EXPECT_EQ(ids, c.matching_ids) << "filter: " << c.filter;
  // The canonical form means the same thing.
  const FilterNode again = MustParse(FormatFilter(node));
  for (const Operation& op : SampleOperations()) {
    EXPECT_EQ(Matches(again, op), Matches(node, op)) << FormatFilter(node) << " on " << op.id;
  }
}

// create_time: a=T0, b=T0+1h, c=T0+2h, d=T0+3h (T0 = 2023-11-14T22:13:20Z).
INSTANTIATE_TEST_SUITE_P(
    Semantics, MatchesTest,
    testing::Values(
        MatchCase{"state=QUEUED", "a"},
        MatchCase{"state!=QUEUED", "bcd"},
        MatchCase{"state=CANCELLED", ""},
        MatchCase{"kind=demo.echo", "ab"},
        MatchCase{"kind!=demo.echo", "cd"},
        MatchCase{"kind=demo", ""},
        MatchCase{"queue=batch", "bd"},
        MatchCase{"labels.env=prod", "ad"},
        MatchCase{"labels.env:prod", "ad"},
        MatchCase{"labels.env!=prod", "bc"},  // absent key counts as "not equal"
        MatchCase{"labels.env:*", "abd"},
        MatchCase{"-labels.env:*", "c"},
        // NOT of an equality holds where the key is absent (SQL's NULL must not leak in).
        MatchCase{"NOT labels.env=prod", "bc"},
        MatchCase{"-labels.team=infra", "bcd"},
        MatchCase{"NOT labels.missing=x", "abcd"},
        MatchCase{"NOT labels.env!=prod", "ad"},
        MatchCase{"labels.team:*", "a"},
        MatchCase{"labels.missing:*", ""},
        MatchCase{"labels.quote=\"say \\\"hi\\\"\"", "d"},
        MatchCase{"create_time=2023-11-14T22:13:20Z", "a"},
        MatchCase{"create_time!=2023-11-14T22:13:20Z", "bcd"},
        MatchCase{"create_time>2023-11-14T23:13:20Z", "cd"},
        MatchCase{"create_time>=2023-11-14T23:13:20Z", "bcd"},
        MatchCase{"create_time<2023-11-14T23:13:20Z", "a"},
        MatchCase{"create_time<=2023-11-14T23:13:20Z", "ab"},
        MatchCase{"create_time<=2023-11-15T00:13:20+01:00", "ab"},
        MatchCase{"update_time>2023-11-15T01:13:20Z", "d"},  // d is 1us later than c
        MatchCase{"update_time=2023-11-15T01:13:20.000001Z", "d"},
        MatchCase{"update_time>=2023-11-15T01:13:20Z", "cd"},
        // Bounds finer than the stored microseconds compare exactly (the SQL translation
        // rounds them; tests/store/filter_agreement_pgtest.cc found it did not).
        MatchCase{"update_time=2023-11-15T01:13:20.0000005Z", ""},
        MatchCase{"update_time!=2023-11-15T01:13:20.0000005Z", "abcd"},
        MatchCase{"update_time<2023-11-15T01:13:20.0000005Z", "abc"},
        MatchCase{"update_time<=2023-11-15T01:13:20.000000999Z", "abc"},
        MatchCase{"update_time>2023-11-15T01:13:20.000000001Z", "d"},
        MatchCase{"update_time>=2023-11-15T01:13:20.0000005Z", "d"},
        MatchCase{"update_time>=2023-11-15T01:13:19.9999995Z", "cd"},
        MatchCase{"update_time<2023-11-15T01:13:20.0000000003Z", "abc"},  // finer than 1ns
        MatchCase{"state=QUEUED OR state=FAILED", "ad"},
        MatchCase{"kind=report.build AND labels.env=prod", "d"},
        MatchCase{"kind=report.build labels.env=prod", "d"},
        // OR binds tighter: kind=demo.echo AND (queue=batch OR state=FAILED).
        MatchCase{"kind=demo.echo AND queue=batch OR state=FAILED", "b"},
        MatchCase{"(kind=demo.echo AND queue=batch) OR state=FAILED", "bd"},
        MatchCase{"NOT state=QUEUED AND NOT state=RUNNING", "cd"},
        MatchCase{"-(state=QUEUED OR state=RUNNING)", "cd"},
        MatchCase{"NOT (NOT queue=default)", "ac"},
        MatchCase{"-kind=demo.echo -queue=batch", "c"},
        MatchCase{"(queue=default OR labels.env=dev) (kind=demo.echo OR state=SUCCEEDED)",
                  "abc"}),
    [](const testing::TestParamInfo<MatchCase>& info) { return absl::StrCat(info.index); });

TEST(MatchesEdgeTest, EmptyAndOrFollowLogicIdentities) {
  // Not produced by ParseFilter, but Matches must still be total.
  Operation op;
  FilterNode all;
  all.kind = FilterNode::Kind::kAnd;
  FilterNode any;
  any.kind = FilterNode::Kind::kOr;
  EXPECT_TRUE(Matches(all, op));
  EXPECT_FALSE(Matches(any, op));
}

// ---------------------------------------------------------------------------------------
// Errors: every class, with the message naming the problem and where it is.

struct ErrorCase {
  std::string filter;
  std::string message;  // expected substring of the status message
};

class ParseErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ParseErrorTest, IsInvalidArgumentNamingTheProblem) {
  const ErrorCase& c = GetParam();
  absl::StatusOr<std::optional<FilterNode>> parsed = ParseFilter(c.filter);
  ASSERT_FALSE(parsed.ok()) << "accepted: " << c.filter;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()), StartsWith("filter: "));
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.message))
      << "filter: " << c.filter;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ParseErrorTest,
    testing::Values(
        // Unknown fields and label keys.
        ErrorCase{"colour=red",
                  "filter: unknown field \"colour\" at offset 0; known: state, kind, queue, "
                  "labels.KEY, create_time, update_time"},
        ErrorCase{"state=QUEUED AND name=x", "unknown field \"name\" at offset 17"},
        ErrorCase{"State=QUEUED", "unknown field \"State\""},
        ErrorCase{"labels=x", "field \"labels\" at offset 0 needs a key"},
        ErrorCase{"labels.=x", "invalid label key \"\" at offset 7"},
        ErrorCase{"labels.Env=x", "invalid label key \"Env\" at offset 7"},
        ErrorCase{"labels.1env=x", "invalid label key \"1env\""},
        ErrorCase{"labels.a.b=x", "invalid label key \"a.b\""},
        ErrorCase{"labels." + std::string(64, 'a') + "=x", "invalid label key"},
        // Unknown state values.
        ErrorCase{"state=DONE",
                  "unknown state \"DONE\" at offset 6; known: QUEUED, RUNNING, RETRY_WAIT, "
                  "CANCELLING, SUCCEEDED, FAILED, CANCELLED"},
        ErrorCase{"state=queued", "unknown state \"queued\""},
        ErrorCase{"state=\"\"", "unknown state \"\""},
        // Operators not allowed for the field.
        ErrorCase{"state<QUEUED",
                  "operator \"<\" at offset 5 is not allowed for field \"state\"; allowed: =, "
                  "!="},
        ErrorCase{"kind>=a", "operator \">=\" at offset 4 is not allowed for field \"kind\""},
        ErrorCase{"queue:x", "operator \":\" at offset 5 is not allowed for field \"queue\""},
        ErrorCase{"labels.env<x", "not allowed for field \"labels\"; allowed: =, !=, :"},
        ErrorCase{"create_time:*", "operator \":\" at offset 11 is not allowed for field "
                                   "\"create_time\"; allowed: =, !=, <, <=, >, >="},
        ErrorCase{"labels.env=*", "\"*\" at offset 11 is only allowed as labels.KEY:*"},
        ErrorCase{"labels.env!=*", "only allowed as labels.KEY:*"},
        // Missing or malformed pieces.
        ErrorCase{"state", "unexpected end of filter at offset 5: expected a comparison "
                           "operator"},
        ErrorCase{"state QUEUED", "at offset 6: expected a comparison operator (=, !=, <, <=, "
                                  ">, >=, :) after \"state\", got \"QUEUED\""},
        ErrorCase{"state==QUEUED", "at offset 6: expected a value after \"=\", got \"=\""},
        ErrorCase{"state=", "unexpected end of filter at offset 6: expected a value after \"=\""},
        ErrorCase{"state=QUEUED AND", "unexpected end of filter at offset 16: expected a field"},
        ErrorCase{"state=QUEUED OR", "unexpected end of filter at offset 15"},
        ErrorCase{"NOT", "unexpected end of filter at offset 3"},
        ErrorCase{"-", "\"-\" at offset 0 must be followed directly by a field or \"(\""},
        ErrorCase{"- state=QUEUED", "\"-\" at offset 0 must be followed directly"},
        ErrorCase{"AND state=QUEUED", "at offset 0: expected a field or \"(\", got keyword AND"},
        ErrorCase{"state=QUEUED OR OR kind=a", "got keyword OR"},
        ErrorCase{"NOT NOT state=QUEUED",
                  "at offset 4: expected a field or \"(\", got keyword NOT"},
        ErrorCase{"NOT -state=QUEUED", "at offset 4: expected a field or \"(\", got \"-\""},
        ErrorCase{"kind=AND", "keyword AND at offset 5 cannot be a value; quote it"},
        ErrorCase{"kind=a OR", "unexpected end of filter"},
        ErrorCase{"state=QUEUED;", "at offset 12: expected a field or \"(\", got \";\""},
        ErrorCase{"\"kind\"=a", "at offset 0: expected a field or \"(\", got \"\\\"\""},
        ErrorCase{"kind=a b", "unknown field \"b\" at offset 7"},
        ErrorCase{"kind=a\x01", "got \"\\x01\""},
        ErrorCase{"kind=\xff", "expected a value after \"=\", got \"\\xff\""},
        ErrorCase{"a.b.c=1 OR kind=x", "unknown field \"a.b.c\""},
        // Strings.
        ErrorCase{"kind=\"abc", "unterminated string starting at offset 5"},
        ErrorCase{"kind=\"abc\\", "unterminated string starting at offset 5"},
        ErrorCase{"kind=\"a\\qb\"", "unknown escape \"\\\\q\" at offset 7"},
        // What no stored text can be (PostgreSQL refused or cut them short).
        ErrorCase{std::string("kind=\"a\0\"", 9),
                  "string starting at offset 5 contains U+0000, which no stored value can "
                  "contain"},
        ErrorCase{"labels.env=\"\xff\"", "string starting at offset 11 is not valid UTF-8"},
        ErrorCase{"labels.env=\"a\xc3\"", "is not valid UTF-8"},           // truncated
        ErrorCase{"labels.env=\"\xc0\xaf\"", "is not valid UTF-8"},       // overlong
        ErrorCase{"labels.env=\"\xed\xa0\x80\"", "is not valid UTF-8"},  // surrogate
        // Parentheses.
        ErrorCase{"(state=QUEUED", "unbalanced parentheses: \"(\" at offset 0 is never closed"},
        ErrorCase{"((state=QUEUED)", "\"(\" at offset 0 is never closed"},
        ErrorCase{"state=QUEUED)", "unbalanced parentheses: unexpected \")\" at offset 12"},
        ErrorCase{"kind=a)OR(kind=b", "unexpected \")\" at offset 6"},
        ErrorCase{")", "at offset 0: expected a field or \"(\", got \")\""},
        ErrorCase{"()", "at offset 1: expected a field or \"(\", got \")\""},
        ErrorCase{"state=QUEUED AND ()", "at offset 18"},
        // Timestamps.
        ErrorCase{"create_time>2024-01-02",
                  "bad timestamp \"2024-01-02\" at offset 12 for create_time; expected RFC 3339"},
        ErrorCase{"create_time>yesterday", "bad timestamp \"yesterday\""},
        ErrorCase{"update_time>2024-01-02T03:04:05", "bad timestamp"},           // no offset
        ErrorCase{"update_time>2024-01-02 03:04:05Z", "bad timestamp \"2024-01-02\""},
        ErrorCase{"update_time>\"2024-01-02 03:04:05Z\"", "bad timestamp"},
        ErrorCase{"update_time>2024-1-02T03:04:05Z", "bad timestamp"},
        ErrorCase{"update_time>2024-02-30T03:04:05Z", "bad timestamp"},
        ErrorCase{"update_time>2024-01-02T24:00:00Z", "bad timestamp"},
        ErrorCase{"update_time>2024-01-02T03:04:05.Z", "bad timestamp"},
        ErrorCase{"update_time>2024-01-02T03:04:05+0200", "bad timestamp"},
        ErrorCase{"update_time>2024-01-02T03:04:05+02", "bad timestamp"},
        ErrorCase{"update_time>2024-01-02T03:04:05ZZ", "bad timestamp"},
        ErrorCase{"update_time>\" 2024-01-02T03:04:05Z\"", "bad timestamp"},
        ErrorCase{"update_time>infinite-future", "bad timestamp"},
        ErrorCase{"update_time>+12024-01-02T03:04:05Z", "bad timestamp"},
        ErrorCase{"update_time>1700000000", "bad timestamp"},
        ErrorCase{"update_time>9999-12-31T23:59:59-01:00", "bad timestamp"},  // year 10000 UTC
        ErrorCase{"update_time>0000-01-01T00:00:00+01:00", "bad timestamp"},  // year -1 UTC
        // Limits.
        ErrorCase{"kind=\"" + std::string(kMaxFilterBytes, 'x') + "\"",
                  "filter: is 4103 bytes; the limit is 4096"}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return absl::StrCat(info.index); });

std::string Nested(int depth) {
  return absl::StrCat(std::string(depth, '('), "state=QUEUED", std::string(depth, ')'));
}

std::string Comparisons(int n) {
  std::vector<std::string> parts(n, "kind=a");
  return absl::StrJoin(parts, " OR ");
}

TEST(ParseFilterLimitsTest, LengthUpToTheLimitIsAccepted) {
  std::string filter = "kind=\"\"";
  filter.insert(6, kMaxFilterBytes - filter.size(), 'x');
  ASSERT_EQ(filter.size(), kMaxFilterBytes);
  EXPECT_EQ(MustParse(filter).comparison.value, std::string(kMaxFilterBytes - 7, 'x'));
  filter.insert(6, "x");
  absl::StatusOr<std::optional<FilterNode>> parsed = ParseFilter(filter);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "filter: is 4097 bytes; the limit is 4096");
}

TEST(ParseFilterLimitsTest, NestingUpToTheLimitIsAccepted) {
  EXPECT_EQ(FormatFilter(MustParse(Nested(kMaxFilterDepth))), "state = QUEUED");
  absl::StatusOr<std::optional<FilterNode>> parsed = ParseFilter(Nested(kMaxFilterDepth + 1));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(),
            "filter: parentheses nested deeper than 32 levels at offset 32");
}

TEST(ParseFilterLimitsTest, NestingLimitCountsOpenParenthesesNotTotal) {
  // Many sibling groups at depth 1 are fine: depth is about nesting, not the count.
  std::vector<std::string> groups(60, "(kind=a)");
  EXPECT_TRUE(ParseFilter(absl::StrJoin(groups, " ")).ok());
  // Negations need parentheses to nest, so they are bounded by the same limit.
  std::string deep;
  for (int i = 0; i < kMaxFilterDepth + 1; ++i) deep += "NOT (";
  deep += "kind=a" + std::string(kMaxFilterDepth + 1, ')');
  absl::StatusOr<std::optional<FilterNode>> parsed = ParseFilter(deep);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("nested deeper than 32"));
}

TEST(ParseFilterLimitsTest, ComparisonsUpToTheLimitAreAccepted) {
  const FilterNode node = MustParse(Comparisons(kMaxFilterComparisons));
  EXPECT_EQ(node.kind, FilterNode::Kind::kOr);
  EXPECT_EQ(node.children.size(), static_cast<size_t>(kMaxFilterComparisons));
  absl::StatusOr<std::optional<FilterNode>> parsed =
      ParseFilter(Comparisons(kMaxFilterComparisons + 1));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  // The 101st comparison starts after 100 copies of "kind=a OR " (10 bytes each).
  EXPECT_EQ(parsed.status().message(),
            "filter: more than 100 comparisons; the one at offset 1000 is over the limit");
}

TEST(ParseFilterTest, ErrorsShowHostileTokensEscapedAndShortened) {
  absl::StatusOr<std::optional<FilterNode>> parsed =
      ParseFilter("labels." + std::string(200, 'Z') + "=x");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()),
              HasSubstr("\"" + std::string(64, 'Z') + "...\""));
  parsed = ParseFilter("state=\"\\n\"");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("unknown state \"\\n\""));
}

TEST(FormatFilterTest, NamesEveryFieldAndOperator) {
  EXPECT_EQ(FilterFieldName(FilterField::kState), "state");
  EXPECT_EQ(FilterFieldName(FilterField::kKind), "kind");
  EXPECT_EQ(FilterFieldName(FilterField::kQueue), "queue");
  EXPECT_EQ(FilterFieldName(FilterField::kLabel), "labels");
  EXPECT_EQ(FilterFieldName(FilterField::kCreateTime), "create_time");
  EXPECT_EQ(FilterFieldName(FilterField::kUpdateTime), "update_time");
  EXPECT_EQ(CompareOpName(CompareOp::kEq), "=");
  EXPECT_EQ(CompareOpName(CompareOp::kNe), "!=");
  EXPECT_EQ(CompareOpName(CompareOp::kLt), "<");
  EXPECT_EQ(CompareOpName(CompareOp::kLe), "<=");
  EXPECT_EQ(CompareOpName(CompareOp::kGt), ">");
  EXPECT_EQ(CompareOpName(CompareOp::kGe), ">=");
  EXPECT_EQ(CompareOpName(CompareOp::kHas), ":");
}

}  // namespace
}  // namespace longrun::core
