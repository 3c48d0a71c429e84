#include "libs/core/operation.h"

#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace longrun::core {
namespace {

const std::pair<State, const char*> kAllStates[] = {
    {State::kQueued, "QUEUED"},         {State::kRunning, "RUNNING"},
    {State::kRetryWait, "RETRY_WAIT"},  {State::kCancelling, "CANCELLING"},
    {State::kSucceeded, "SUCCEEDED"},   {State::kFailed, "FAILED"},
    {State::kCancelled, "CANCELLED"},
};

TEST(StateTest, ValuesMatchProtoEnum) {
  // longrun.v1.OperationMetadata.State: QUEUED=1 ... CANCELLED=7.
  EXPECT_EQ(static_cast<int>(State::kQueued), 1);
  EXPECT_EQ(static_cast<int>(State::kRunning), 2);
  EXPECT_EQ(static_cast<int>(State::kRetryWait), 3);
  EXPECT_EQ(static_cast<int>(State::kCancelling), 4);
  EXPECT_EQ(static_cast<int>(State::kSucceeded), 5);
  EXPECT_EQ(static_cast<int>(State::kFailed), 6);
  EXPECT_EQ(static_cast<int>(State::kCancelled), 7);
}

TEST(StateTest, NamesAreExactAndDistinct) {
  std::set<std::string> names;
  for (const auto& [state, name] : kAllStates) {
    EXPECT_EQ(StateName(state), name);
    names.insert(std::string(StateName(state)));
  }
  EXPECT_EQ(names.size(), 7u);
}

TEST(StateTest, NameParseRoundTrip) {
  for (const auto& [state, name] : kAllStates) {
    auto parsed = ParseState(StateName(state));
    ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.status();
    EXPECT_EQ(*parsed, state) << name;
    auto from_literal = ParseState(name);
    ASSERT_TRUE(from_literal.ok()) << name << ": " << from_literal.status();
    EXPECT_EQ(*from_literal, state) << name;
  }
}

TEST(StateTest, UnknownNameRejected) {
  for (const char* bad : {"", "queued", "Queued", "QUEUED ", " QUEUED", "DONE", "PENDING",
                          "STATE_UNSPECIFIED", "RETRYWAIT", "CANCELED", "SUCCEEDED\n"}) {
    auto r = ParseState(bad);
    ASSERT_FALSE(r.ok()) << "\"" << bad << "\" parsed as " << static_cast<int>(*r);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(StateTest, UnknownNameMessageShowsName) {
  auto r = ParseState("BOGUS");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("BOGUS"), absl::string_view::npos) << r.status();
}

TEST(StateTest, IsTerminalExactlyForFinalStates) {
  for (const auto& [state, name] : kAllStates) {
    const bool expected =
        state == State::kSucceeded || state == State::kFailed || state == State::kCancelled;
    EXPECT_EQ(IsTerminal(state), expected) << name;
  }
  EXPECT_FALSE(IsTerminal(State::kQueued));
  EXPECT_FALSE(IsTerminal(State::kRunning));
  EXPECT_FALSE(IsTerminal(State::kRetryWait));
  EXPECT_FALSE(IsTerminal(State::kCancelling));
  EXPECT_TRUE(IsTerminal(State::kSucceeded));
  EXPECT_TRUE(IsTerminal(State::kFailed));
  EXPECT_TRUE(IsTerminal(State::kCancelled));
}

TEST(OperationTest, DoneFollowsState) {
  Operation op;
  EXPECT_EQ(op.state, State::kQueued);
  EXPECT_FALSE(op.done());
  for (const auto& [state, name] : kAllStates) {
    op.state = state;
    EXPECT_EQ(op.done(), IsTerminal(state)) << name;
  }
  op.state = State::kCancelled;
  EXPECT_TRUE(op.done());
}

}  // namespace
}  // namespace longrun::core
