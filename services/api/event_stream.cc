#include "services/api/event_stream.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "libs/core/filter.h"
#include "libs/rpc/convert.h"
#include "libs/rpc/grpc_status.h"

namespace longrun::api {

// ---- EventPoller ----

EventPoller::EventPoller(EventStreamConfig config, const Clock& clock)
    : config_(config), clock_(clock) {}

EventPoller::~EventPoller() { Shutdown(); }

void EventPoller::Start() { thread_ = std::thread([this] { Loop(); }); }

void EventPoller::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventPoller::Park(Stream* s) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    parked_.insert(s);
    // A notification that came while the stream was reading is for it too.
    wake = notified_;
  }
  if (wake) cv_.notify_one();
}

void EventPoller::Remove(Stream* s) {
  std::lock_guard<std::mutex> lock(mu_);
  parked_.erase(s);  // Poll() runs under mu_, so none is running now
}

void EventPoller::OnNotify() {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake = !notified_;
    notified_ = true;
  }
  if (wake) cv_.notify_one();
}

void EventPoller::Close() {
  closing_.store(true);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = parked_.begin(); it != parked_.end();) {
    it = (*it)->Poll() ? parked_.erase(it) : std::next(it);
  }
}

int EventPoller::Parked() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(parked_.size());
}

EventPollerRunResult EventPoller::RunOnce() {
  std::lock_guard<std::mutex> lock(mu_);
  return RunOnceLocked();
}

EventPollerRunResult EventPoller::RunOnceLocked() {
  EventPollerRunResult result;
  const absl::Time now = clock_.Now();
  const bool due = now >= last_wake_ + config_.poll_interval ||
                   (notified_ && now >= last_wake_ + config_.min_read_gap);
  if (due && !parked_.empty()) {
    last_wake_ = now;
    notified_ = false;
    for (auto it = parked_.begin(); it != parked_.end();) {
      if ((*it)->Poll()) {
        ++result.woken;
        it = parked_.erase(it);
      } else {
        ++it;
      }
    }
  } else if (due && !notified_) {
    // Nobody is parked: a notification stays pending until a stream parks (it may have
    // arrived while that stream was reading, after its read looked).
    last_wake_ = now;
  }
  // A pending notification with nobody parked waits for a Park() (which signals), not for
  // the gap.
  result.next_run = notified_ && !parked_.empty() ? last_wake_ + config_.min_read_gap
                                                  : last_wake_ + config_.poll_interval;
  return result;
}

void EventPoller::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const EventPollerRunResult r = RunOnceLocked();
    const absl::Duration wait = std::max(r.next_run - clock_.Now(), absl::Milliseconds(1));
    cv_.wait_for(lock, absl::ToChronoMilliseconds(wait),
                 [this] { return stopping_ || (notified_ && !parked_.empty()); });
    if (notified_ && !stopping_) {
      // A notification: wait out the rest of the gap so a burst wakes streams once.
      const absl::Duration gap = last_wake_ + config_.min_read_gap - clock_.Now();
      if (gap > absl::ZeroDuration()) {
        cv_.wait_for(lock, absl::ToChronoMicroseconds(gap), [this] { return stopping_; });
      }
    }
  }
}

// ---- EventCursorReader ----

EventCursorReader::EventCursorReader(OperationsLogic& logic, const EventStreamConfig& config,
                                     Caller caller, Request request, absl::Time started,
                                     absl::Duration max_duration)
    : logic_(logic),
      config_(config),
      caller_(std::move(caller)),
      request_(std::move(request)),
      started_(started),
      max_duration_(max_duration) {}

EventCursorReader::Batch EventCursorReader::Next(bool closing) {
  Batch batch;
  const absl::Time now = logic_.Now();
  if (closing) {
    batch.end = absl::UnavailableError(absl::StrCat(
        "server shutting down; reconnect with ", request_.resume_field, "=\"",
        cursor_.Encode(), "\" (or the last event's cursor) to continue"));
    return batch;
  }
  if (now - started_ >= max_duration_) {
    batch.end = absl::UnavailableError(absl::StrCat(
        "the stream reached --max-watch-duration; reconnect with ", request_.resume_field,
        "=\"", cursor_.Encode(), "\" (the last event's cursor) to continue"));
    return batch;
  }
  absl::Status status = [&]() -> absl::Status {
    if (!initialized_) {
      auto filter = core::ParseFilter(request_.filter);
      if (!filter.ok()) return filter.status();
      auto cursor = logic_.EventsStart(request_.start_after);
      if (!cursor.ok()) return cursor.status();
      filter_ = *std::move(filter);
      cursor_ = *cursor;
      snapshot_pending_ = request_.include_snapshot;
      initialized_ = true;
    }
    if (snapshot_pending_) {
      auto page = logic_.List(caller_, {.filter = request_.filter,
                                        .page_size = config_.snapshot_page,
                                        .page_token = snapshot_token_});
      if (!page.ok()) return page.status();
      const std::string cursor = cursor_.Encode();
      for (const core::Operation& op : page->operations) {
        longrun::v1::OperationEvent& e = batch.events.emplace_back();
        e.set_cursor(cursor);
        *e.mutable_operation() = rpc::ToProto(op, now);
      }
      snapshot_token_ = page->next_page_token;
      snapshot_pending_ = !snapshot_token_.empty();
      return absl::OkStatus();
    }
    auto read = logic_.EventsRead(caller_, filter_, cursor_, config_.read_limit);
    if (!read.ok()) return read.status();
    batch.caught_up = read->scanned_to == cursor_;
    cursor_ = read->scanned_to;
    for (const store::Event& ev : read->events) {
      longrun::v1::OperationEvent& e = batch.events.emplace_back();
      e.set_cursor(ev.cursor.Encode());
      *e.mutable_operation() = rpc::ToProto(ev.operation, now);
    }
    return absl::OkStatus();
  }();
  if (status.ok()) {
    failing_since_ = absl::InfiniteFuture();
    return batch;
  }
  batch.events.clear();
  const absl::StatusCode code = status.code();
  const bool transient = code == absl::StatusCode::kUnavailable ||
                         code == absl::StatusCode::kInternal ||
                         code == absl::StatusCode::kDeadlineExceeded ||
                         code == absl::StatusCode::kResourceExhausted;
  if (!transient) {
    batch.end = status;
    return batch;
  }
  if (failing_since_ == absl::InfiniteFuture()) failing_since_ = now;
  if (now - failing_since_ >= config_.outage_timeout) {
    batch.end = absl::UnavailableError(absl::StrCat(
        "the event log has been unreadable for ", absl::FormatDuration(now - failing_since_),
        " (", status.message(), "); reconnect with ", request_.resume_field,
        " set to the last event's cursor"));
    return batch;
  }
  static log::RateLimiter limiter(absl::Seconds(10));
  if (limiter.Allow()) {
    LONGRUN_LOG(kWarning, "watch_operations_read_failed", {{"error", status.ToString()}});
  }
  batch.caught_up = true;  // try again on the poller's next wake-up
  return batch;
}

// ---- EventsReactor ----

EventsReactor::EventsReactor(ApiDeps deps, EventPoller& poller, absl::StatusOr<Caller> caller,
                             const longrun::v1::WatchOperationsRequest& request)
    : deps_(deps),
      poller_(poller),
      caller_(caller.ok() ? *caller : Caller{}),
      reader_(deps.logic, poller.config(), caller_,
              {.filter = request.filter(),
               .start_after = request.start_after(),
               .include_snapshot = request.include_snapshot()},
              deps.logic.Now(), deps.max_watch_duration) {
  if (!caller.ok()) {
    FinishWith(caller.status());
    return;
  }
  absl::StatusOr<bool> counted = AcquireWatch(deps_.watch_limits, caller_.tenant);
  if (!counted.ok()) {
    FinishWith(counted.status());
    return;
  }
  counted_ = *counted;
  if (!PostRead()) {
    FinishWith(absl::ResourceExhaustedError("server is overloaded or shutting down; retry"));
  }
}

bool EventsReactor::PostRead() {
  Ref();
  if (!deps_.executor.Post([this] {
        Read();
        Unref();
      })) {
    Unref();
    return false;
  }
  return true;
}

bool EventsReactor::Poll() { return PostRead(); }

void EventsReactor::Read() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
  }
  EventCursorReader::Batch batch = reader_.Next(poller_.closing());
  if (!batch.end.ok()) {
    FinishWith(batch.end);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  for (auto& e : batch.events) buffer_.push_back(std::move(e));
  if (!buffer_.empty()) {
    if (!write_in_flight_) WriteNextLocked();
  } else if (batch.caught_up || !PostRead()) {
    poller_.Park(this);
  }
}

void EventsReactor::WriteNextLocked() {
  current_ = std::move(buffer_.front());
  buffer_.pop_front();
  write_in_flight_ = true;
  StartWrite(&current_);
}

void EventsReactor::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  write_in_flight_ = false;
  if (!ok || finished_) return;  // the client went away: OnDone follows
  if (!buffer_.empty()) {
    WriteNextLocked();
  } else if (!PostRead()) {
    poller_.Park(this);
  }
}

void EventsReactor::FinishWith(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  buffer_.clear();
  Finish(rpc::ToGrpcStatus(status));
}

void EventsReactor::OnCancel() { FinishWith(absl::CancelledError("the client cancelled")); }

void EventsReactor::OnDone() {
  poller_.Remove(this);
  if (counted_) deps_.watch_limits->Release(caller_.tenant);
  Unref();
}

}  // namespace longrun::api
