#include "services/api/event_stream.h"

#include <gtest/gtest.h>

#include "libs/common/clock.h"

namespace longrun::api {
namespace {

class CountingStream : public EventPoller::Stream {
 public:
  bool Poll() override {
    ++polls;
    return accept;
  }
  int polls = 0;
  bool accept = true;
};

EventStreamConfig Config() {
  return {.poll_interval = absl::Milliseconds(200), .min_read_gap = absl::Milliseconds(5)};
}

TEST(EventPollerTest, ParkedStreamIsPolledOncePerInterval) {
  FakeClock clock;
  EventPoller poller(Config(), clock);
  CountingStream s;
  poller.RunOnce();  // the first pass starts the interval
  poller.Park(&s);
  EXPECT_EQ(poller.RunOnce().woken, 0);
  clock.Advance(absl::Milliseconds(199));
  EXPECT_EQ(poller.RunOnce().woken, 0);
  clock.Advance(absl::Milliseconds(1));
  EXPECT_EQ(poller.RunOnce().woken, 1);
  EXPECT_EQ(s.polls, 1);
  // Polled streams are no longer parked: they read, then park again when caught up.
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(poller.RunOnce().woken, 0);
  EXPECT_EQ(s.polls, 1);
}

TEST(EventPollerTest, NotificationWakesAfterTheMinimumGapOnly) {
  FakeClock clock;
  EventPoller poller(Config(), clock);
  CountingStream a, b;
  poller.RunOnce();
  poller.Park(&a);
  poller.Park(&b);
  poller.OnNotify();
  clock.Advance(absl::Milliseconds(4));
  EventPollerRunResult r = poller.RunOnce();
  EXPECT_EQ(r.woken, 0);
  EXPECT_EQ(r.next_run, clock.Now() + absl::Milliseconds(1));
  clock.Advance(absl::Milliseconds(1));
  EXPECT_EQ(poller.RunOnce().woken, 2);
  // A burst of notifications wakes once.
  poller.Park(&a);
  poller.OnNotify();
  poller.OnNotify();
  clock.Advance(absl::Milliseconds(5));
  EXPECT_EQ(poller.RunOnce().woken, 1);
  EXPECT_EQ(poller.RunOnce().woken, 0);
  EXPECT_EQ(a.polls, 2);
}

TEST(EventPollerTest, ANotificationDuringAReadWakesTheStreamWhenItParks) {
  FakeClock clock;
  EventPoller poller(Config(), clock);
  CountingStream s;
  poller.RunOnce();
  poller.OnNotify();  // s is reading: nobody is parked
  clock.Advance(absl::Milliseconds(5));
  EXPECT_EQ(poller.RunOnce().woken, 0);
  poller.Park(&s);  // caught up as of its read, which may predate the notification
  EventPollerRunResult r = poller.RunOnce();
  EXPECT_EQ(r.woken, 1);
  EXPECT_EQ(s.polls, 1);
  // Consumed: the next wake-up is the poll interval's.
  poller.Park(&s);
  clock.Advance(absl::Milliseconds(5));
  r = poller.RunOnce();
  EXPECT_EQ(r.woken, 0);
  EXPECT_EQ(r.next_run, clock.Now() - absl::Milliseconds(5) + absl::Milliseconds(200));
}

TEST(EventPollerTest, RefusedPollStaysParkedAndRemovedStreamIsNeverCalled) {
  FakeClock clock;
  EventPoller poller(Config(), clock);
  CountingStream busy, gone;
  busy.accept = false;
  poller.RunOnce();
  poller.Park(&busy);
  poller.Park(&gone);
  poller.Remove(&gone);
  clock.Advance(absl::Milliseconds(200));
  EXPECT_EQ(poller.RunOnce().woken, 0);
  EXPECT_EQ(busy.polls, 1);
  EXPECT_EQ(gone.polls, 0);
  EXPECT_EQ(poller.Parked(), 1);
  busy.accept = true;
  clock.Advance(absl::Milliseconds(200));
  EXPECT_EQ(poller.RunOnce().woken, 1);
  EXPECT_EQ(poller.Parked(), 0);
}

}  // namespace
}  // namespace longrun::api
