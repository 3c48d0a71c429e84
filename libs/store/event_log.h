// EventLog: every visible change of every operation, in an order a reader can resume from.
//
// The trap: a reader that remembers "the highest sequence number I have seen" skips any
// event whose transaction commits after a later-numbered one (sequence numbers are taken
// before commit, commits finish in any order). The pg log therefore orders events by a
// transaction-id key and only hands out events below the oldest transaction still running
// (pg_snapshot_xmin), a prefix no later commit can change; see migration 0009 and
// docs/ARCHITECTURE.md.
#ifndef LONGRUN_STORE_EVENT_LOG_H_
#define LONGRUN_STORE_EVENT_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/core/filter.h"
#include "libs/core/operation.h"

namespace longrun::store {

// A position in the log: every event at or before it has been handed out. Ordered by
// (key, seq). Clients see it only as an opaque string (Encode/Decode).
struct EventCursor {
  uint64_t key = 0;
  int64_t seq = 0;

  friend bool operator<(const EventCursor& a, const EventCursor& b) {
    return a.key != b.key ? a.key < b.key : a.seq < b.seq;
  }
  friend bool operator==(const EventCursor& a, const EventCursor& b) {
    return a.key == b.key && a.seq == b.seq;
  }
  // "e2." + key + "." + seq in base 10 (opaque to clients). Decode also takes the "e1"
  // cursors of releases before 0011_event_batches.sql, which stay valid.
  std::string Encode() const;
  // INVALID_ARGUMENT "start_after: ..." for anything Encode did not produce.
  static absl::StatusOr<EventCursor> Decode(absl::string_view text);
};

struct EventReadParams {
  std::string tenant;
  std::optional<core::FilterNode> filter;  // on the operation as it is at that change
  EventCursor after;
  int32_t limit = 500;  // events scanned (not returned) per read
};

struct Event {
  EventCursor cursor;
  core::Operation operation;  // the operation at this change (with attempt history)
};

struct EventReadResult {
  // In log order; per operation, versions only increase. An event whose operation has
  // changed again since (or was deleted) is left out: the later event carries the newer
  // state, so a reader behind the head sees each operation's latest state, never an older
  // one after a newer.
  std::vector<Event> events;
  // How far this read looked (>= after); resume from here even when `events` is empty.
  EventCursor scanned_to;
};

class EventLog {
 public:
  virtual ~EventLog() = default;
  // Where a reader that starts now begins: every event after it is not yet final or not
  // yet written; everything at or before it is already visible in a fresh read of the
  // operations.
  virtual absl::StatusOr<EventCursor> EventHead() = 0;
  // The next final events after params.after. kOutOfRange when params.after is older than
  // the retention horizon (events after it were pruned): start again from a snapshot.
  virtual absl::StatusOr<EventReadResult> EventRead(const EventReadParams& params) = 0;
  // Deletes events older than `older_than`, oldest first, `limit` log rows at most (a row
  // holds the changes of one statement, up to 64), and moves the retention horizon past
  // them; returns how many events. Fewer than `limit` events means the backlog is gone.
  virtual absl::StatusOr<int> EventPrune(absl::Duration older_than, int32_t limit) = 0;
};

}  // namespace longrun::store

#endif  // LONGRUN_STORE_EVENT_LOG_H_
