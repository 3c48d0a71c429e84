// longrun::JobContext: what a job handler knows about the attempt it runs, and how it talks
// back to longrun. Part of the worker SDK (installed under include/longrun/).
//
//   absl::StatusOr<google::protobuf::Struct> Resize(longrun::JobContext& ctx) {
//     for (int i = 0; i < 10; ++i) {
//       if (!ctx.SleepFor(absl::Seconds(1))) return ctx.StopReason();
//       ctx.ReportProgress(10 * (i + 1), "resizing");
//     }
//     return google::protobuf::Struct();
//   }
//
// A handler runs on one of the worker's runner threads and owns it until it returns. It
// should return soon after Stopped() turns true (cancellation, timeout, lease lost or the
// worker shutting down): whatever it returns then is ignored or recorded as that reason.
// Delivery is at least once: use id() and attempt() to make side effects idempotent.
#ifndef LONGRUN_WORKER_INCLUDE_LONGRUN_JOB_CONTEXT_H_
#define LONGRUN_WORKER_INCLUDE_LONGRUN_JOB_CONTEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"

namespace longrun {

class JobContext {
 public:
  virtual ~JobContext() = default;

  // The operation's id (the UUID in "operations/{id}").
  virtual const std::string& id() const = 0;
  // The job kind the handler was registered for.
  virtual const std::string& kind() const = 0;
  // 1 for the first attempt; at most max_attempts().
  virtual int32_t attempt() const = 0;
  virtual int32_t max_attempts() const = 0;
  // The Submit request's input.
  virtual const google::protobuf::Struct& input() const = 0;
  // When this attempt times out (absl::InfiniteFuture() without a timeout).
  virtual absl::Time deadline() const = 0;
  // The W3C trace id the operation belongs to (32 lower-case hex digits; "" for operations
  // submitted before longrun recorded traces): use it in your own logs and spans.
  virtual const std::string& trace_id() const = 0;

  // Records progress (percent clamped to 0..100) and a short message. Never blocks on the
  // database: the latest value is written at most every --progress-interval, and the last
  // one is recorded with a failed attempt's outcome (a success records 100 %). Returns false
  // once the attempt has stopped (the handler should return).
  virtual bool ReportProgress(int32_t percent, std::string_view message) = 0;

  // OK while the attempt should go on; otherwise why it must stop: CANCELLED (cancellation
  // requested, or the worker is shutting down), DEADLINE_EXCEEDED (the attempt's timeout),
  // ABORTED (the lease was lost: another attempt may run).
  virtual absl::Status StopReason() = 0;
  bool Stopped() { return !StopReason().ok(); }

  // Sleeps up to `d`, or until the attempt stops or its deadline passes. Returns !Stopped().
  virtual bool SleepFor(absl::Duration d) = 0;
};

}  // namespace longrun

#endif  // LONGRUN_WORKER_INCLUDE_LONGRUN_JOB_CONTEXT_H_
