// Backoff: how long to wait before the next attempt after consecutive failures.
//
// Capped exponential back-off with jitter: the n-th delay in a row is
// min(initial * multiplier^(n-1), max), shortened by a random fraction of up to `jitter`
// (0: always the nominal delay; 1: anywhere between 0 and it). The jitter keeps processes
// that failed together (a database restart) from retrying in lockstep. Reset() after a
// success starts again from `initial`.
//
//   Backoff backoff({.initial = absl::Milliseconds(50), .max = absl::Seconds(5)});
//   while (!Try()) Sleep(backoff.Next());
//   backoff.Reset();
//
// Not thread-safe: one instance per retrying loop. Tests pass a seed for repeatable delays.
#ifndef LONGRUN_COMMON_BACKOFF_H_
#define LONGRUN_COMMON_BACKOFF_H_

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace longrun {

struct BackoffConfig {
  absl::Duration initial = absl::Milliseconds(50);  // > 0
  absl::Duration max = absl::Seconds(5);            // >= initial
  double multiplier = 2.0;                          // >= 1
  double jitter = 0.5;                              // in [0, 1]
};

class Backoff {
 public:
  // Seeded from std::random_device.
  explicit Backoff(BackoffConfig config = {});
  Backoff(BackoffConfig config, uint64_t seed);

  // The delay to wait before the next attempt; each call without a Reset() grows it.
  absl::Duration Next();
  // After a success: the next delay is `initial` again.
  void Reset() { nominal_ = config_.initial; }

 private:
  BackoffConfig config_;
  absl::Duration nominal_;
  std::mt19937_64 random_;
};

}  // namespace longrun

#endif  // LONGRUN_COMMON_BACKOFF_H_
