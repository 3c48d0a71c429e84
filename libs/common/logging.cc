#include "libs/common/logging.h"

#include <cstdio>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/time/clock.h"

namespace longrun::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarning: return "warn";
    case Level::kError: return "error";
  }
  return "?";
}

// Values with spaces, quotes or '=' are quoted so lines stay machine-splittable.
void AppendValue(std::string& out, absl::string_view v) {
  bool plain = !v.empty();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t') { plain = false; break; }
  }
  if (plain) { out.append(v.data(), v.size()); return; }
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') { out.append("\\n"); continue; }
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

void SetMinLevel(Level level) { g_min_level.store(static_cast<int>(level)); }

absl::StatusOr<Level> ParseLevel(absl::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarning;
  if (name == "error") return Level::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("\"", name, "\" is not a log level (debug, info, warn, error)"));
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_min_level.load(); }

void Write(Level level, absl::string_view event, std::initializer_list<Field> fields) {
  std::string line = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      " level=", LevelName(level), " event=");
  AppendValue(line, event);
  for (const Field& f : fields) {
    line.push_back(' ');
    line.append(f.key);
    line.push_back('=');
    AppendValue(line, f.value);
  }
  line.push_back('\n');
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

bool RateLimiter::Allow() {
  const int64_t now = absl::GetCurrentTimeNanos();
  int64_t last = last_ns_.load();
  if (last != 0 && now - last < absl::ToInt64Nanoseconds(interval_)) {
    suppressed_.fetch_add(1);
    return false;
  }
  return last_ns_.compare_exchange_strong(last, now);
}

}  // namespace longrun::log
