// Logging facade: one line per event, written to stderr, as key=value text (the default) or
// as one JSON object per line (SetFormat(Format::kJson); --log-format=json on every binary):
//   2026-11-24T14:50:39.573Z level=info event=claimed count=3 worker=w1
//   {"ts":"2026-11-24T14:50:39.573Z","level":"info","event":"claimed","count":"3","worker":"w1"}
// In JSON every field value is a string.
//
//   LONGRUN_LOG(kInfo, "claimed", {{"count", n}, {"worker", id}});
//
// Abseil 20220623 has no absl/log; this facade can be re-pointed later without touching
// callers. A RateLimiter lets loops that fail repeatedly (a database outage) log once per
// interval instead of once per iteration.
#ifndef LONGRUN_COMMON_LOGGING_H_
#define LONGRUN_COMMON_LOGGING_H_

#include <atomic>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace longrun::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

struct Field {
  template <typename T>
  Field(absl::string_view k, const T& v) : key(k), value(absl::StrCat(v)) {}
  Field(absl::string_view k, absl::string_view v) : key(k), value(v) {}
  Field(absl::string_view k, const std::string& v) : key(k), value(v) {}
  Field(absl::string_view k, const char* v) : key(k), value(v) {}
  Field(absl::string_view k, std::string_view v) : key(k), value(v) {}
  Field(absl::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  Field(absl::string_view k, absl::Duration v) : key(k), value(absl::FormatDuration(v)) {}
  std::string key;
  std::string value;
};

enum class Format { kText = 0, kJson = 1 };

void SetMinLevel(Level level);
void SetFormat(Format format);
// "text" or "json"; INVALID_ARGUMENT otherwise.
absl::StatusOr<Format> ParseFormat(absl::string_view name);
// The line Write would print (with its newline), in `format`, stamped `time`.
std::string FormatLine(Format format, absl::Time time, Level level, absl::string_view event,
                       std::initializer_list<Field> fields);
// "debug", "info", "warn" (or "warning"), "error"; INVALID_ARGUMENT otherwise.
absl::StatusOr<Level> ParseLevel(absl::string_view name);
bool Enabled(Level level);
void Write(Level level, absl::string_view event, std::initializer_list<Field> fields);

// True at most once per `interval` for a given limiter; use one static limiter per call site.
class RateLimiter {
 public:
  explicit RateLimiter(absl::Duration interval) : interval_(interval) {}
  bool Allow();
  // How many calls were suppressed since the last allowed one (reset by Allow()).
  int64_t TakeSuppressed() { return suppressed_.exchange(0); }

 private:
  absl::Duration interval_;
  std::atomic<int64_t> last_ns_{0};
  std::atomic<int64_t> suppressed_{0};
};

}  // namespace longrun::log

#define LONGRUN_LOG(level, event, ...)                                         \
  do {                                                                         \
    if (::longrun::log::Enabled(::longrun::log::Level::level))                 \
      ::longrun::log::Write(::longrun::log::Level::level, event, __VA_ARGS__); \
  } while (0)

#endif  // LONGRUN_COMMON_LOGGING_H_
