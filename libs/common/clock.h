// Clock: where code that decides by time reads the time, so tests can move it.
//
// Loops (dispatch, heartbeat, rescue, prune, progress), the watch hub and the in-memory
// store take a `Clock&`; production passes RealClock(), tests a FakeClock they advance by
// hand. Only decisions read the clock: waiting (condition variables, sleeps) still uses real
// time, so a test drives a loop by calling its RunOnce() after moving the fake clock.
#ifndef LONGRUN_COMMON_CLOCK_H_
#define LONGRUN_COMMON_CLOCK_H_

#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace longrun {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class RealClockImpl final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// The process-wide real clock.
inline Clock& RealClock() {
  static RealClockImpl clock;
  return clock;
}

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'800'000'000)) : now_(start) {}
  absl::Time Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

}  // namespace longrun

#endif  // LONGRUN_COMMON_CLOCK_H_
