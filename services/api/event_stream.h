// WatchOperations (and HTTP's GET /v1/events): a resumable stream of every change of every
// operation that matches a filter, read from the event log (libs/store/event_log.h).
//
// No thread per stream. Each stream reads the log on the executor, writes what it read one
// message at a time, and reads again when its buffer is empty: at once while the log has
// more, else when the EventPoller next calls it. The poller is one thread for every stream of
// the process: it wakes them when a change notification arrives (at most once per
// `min_read_gap`) and every `poll_interval` anyway (an event only becomes readable once every
// older transaction has finished, which no notification announces). A stream therefore holds
// at most one read's worth of events in memory, however far behind its consumer is.
#ifndef LONGRUN_SERVICES_API_EVENT_STREAM_H_
#define LONGRUN_SERVICES_API_EVENT_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "libs/common/clock.h"
#include "libs/store/event_log.h"
#include "longrun/v1/operations.pb.h"
#include "services/api/api_deps.h"

namespace longrun::api {

struct EventStreamConfig {
  absl::Duration poll_interval = absl::Milliseconds(200);
  absl::Duration min_read_gap = absl::Milliseconds(5);
  int32_t read_limit = 500;     // events scanned per read
  int32_t snapshot_page = 200;  // operations per snapshot read
  // A stream whose reads keep failing this long ends with UNAVAILABLE (the client resumes
  // from its cursor, perhaps on a healthier replica).
  absl::Duration outage_timeout = absl::Seconds(60);
};

// What one pass of the poller did.
struct EventPollerRunResult {
  int woken = 0;  // streams asked to read
  absl::Time next_run = absl::InfiniteFuture();
};

class EventPoller {
 public:
  class Stream {
   public:
    virtual ~Stream() = default;
    // Read the log again. Called on the poller thread with its lock held: must be quick
    // (post the read) and must not call back into the poller. false: could not start
    // (the executor is full); the stream stays parked and is asked again next time.
    virtual bool Poll() = 0;
  };

  EventPoller(EventStreamConfig config, const Clock& clock = RealClock());
  ~EventPoller();
  void Start();
  void Shutdown();

  // The stream is caught up: call its Poll() on the next wake-up.
  void Park(Stream* s);
  // After this returns, the poller never calls `s` again.
  void Remove(Stream* s);
  // Something changed in the database (a change notification).
  void OnNotify();
  // Server shutdown: every stream ends with UNAVAILABLE (clients resume from their cursor)
  // at its next read; parked streams are woken for it now.
  void Close();
  bool closing() const { return closing_.load(); }

  // One pass: wakes the parked streams if a notification came (and min_read_gap passed) or
  // poll_interval passed. For tests that do not Start().
  EventPollerRunResult RunOnce();
  int Parked();
  const EventStreamConfig& config() const { return config_; }

 private:
  EventPollerRunResult RunOnceLocked();
  void Loop();

  const EventStreamConfig config_;
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool notified_ = false;
  std::atomic<bool> closing_{false};
  absl::Time last_wake_ = absl::InfinitePast();
  std::unordered_set<Stream*> parked_;
  std::thread thread_;
};

// The transport-free read loop of one stream: the gRPC EventsReactor and the HTTP SSE stream
// (services/api/http) both drive one. Next() reads the next batch (a snapshot page, else the
// log after the cursor); it blocks on the database, so it runs on the executor, one call at a
// time. The transport writes the batch, then calls Next() again at once, or, when the batch
// says `caught_up`, parks itself on the EventPoller and calls Next() when polled.
class EventCursorReader {
 public:
  struct Request {
    std::string filter;       // AIP-160, on the operation as it is at the change
    std::string start_after;  // a cursor; "" = the head (now)
    bool include_snapshot = false;
    // How the end-of-stream messages name the resume position ("reconnect with
    // start_after="<cursor>""): the gRPC field, or HTTP's query parameter.
    std::string resume_field = "start_after";
  };
  struct Batch {
    std::vector<longrun::v1::OperationEvent> events;
    // Nothing more to read now: wait for the poller before calling Next() again.
    bool caught_up = false;
    // Not OK: the stream ends with this status (`events` is then empty). UNAVAILABLE (server
    // closing, --max-watch-duration, a long outage) says how to resume.
    absl::Status end;
  };

  // `started`: when the stream began (for `max_duration`).
  EventCursorReader(OperationsLogic& logic, const EventStreamConfig& config, Caller caller,
                    Request request, absl::Time started, absl::Duration max_duration);

  // `closing`: the server is shutting down (EventPoller::closing()).
  Batch Next(bool closing);
  // Where a resumed stream continues: everything before it was in a batch already returned.
  std::string ResumeCursor() const { return cursor_.Encode(); }

 private:
  OperationsLogic& logic_;
  const EventStreamConfig& config_;
  const Caller caller_;
  const Request request_;
  const absl::Time started_;
  const absl::Duration max_duration_;

  bool initialized_ = false;
  std::optional<core::FilterNode> filter_;
  store::EventCursor cursor_;
  bool snapshot_pending_ = false;
  std::string snapshot_token_;
  absl::Time failing_since_ = absl::InfiniteFuture();
};

// The gRPC side of one WatchOperations call.
class EventsReactor final : public grpc::ServerWriteReactor<longrun::v1::OperationEvent>,
                            public EventPoller::Stream {
 public:
  EventsReactor(ApiDeps deps, EventPoller& poller, absl::StatusOr<Caller> caller,
                const longrun::v1::WatchOperationsRequest& request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  bool Poll() override;

 private:
  // Reads the next batch (snapshot page or log events) on the executor.
  void Read();
  // Posts Read() to the executor; false if it is full.
  bool PostRead();
  void FinishWith(const absl::Status& status);
  void WriteNextLocked();
  void Ref() { refs_.fetch_add(1); }
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  ApiDeps deps_;
  EventPoller& poller_;
  Caller caller_;
  EventCursorReader reader_;  // touched only by Read() (one at a time)

  std::mutex mu_;
  bool finished_ = false;
  bool counted_ = false;  // holds one of caller_.tenant's WatchLimits
  bool write_in_flight_ = false;
  std::deque<longrun::v1::OperationEvent> buffer_;
  longrun::v1::OperationEvent current_;
  std::atomic<int> refs_{1};  // one for gRPC, released in OnDone
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_EVENT_STREAM_H_
