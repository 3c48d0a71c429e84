#include "libs/common/logging.h"

#include <cstdio>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/time/clock.h"

namespace longrun::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::atomic<int> g_format{static_cast<int>(Format::kText)};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "?";
}

// Values with spaces, quotes or '=' are quoted so lines stay machine-splittable.
void AppendValue(std::string& out, absl::string_view v) {
  bool plain = !v.empty();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out.append(v.data(), v.size());
    return;
  }
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
}

// A JSON string: quotes, backslashes and control characters escaped; bytes that are not
// valid UTF-8 become U+FFFD, so every line parses.
void AppendJsonString(std::string& out, absl::string_view v) {
  out.push_back('"');
  for (size_t i = 0; i < v.size();) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
      ++i;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else {
      // The length of a well-formed UTF-8 sequence starting here, or 0.
      const size_t len = c >= 0xC2 && c <= 0xDF   ? 2
                         : c >= 0xE0 && c <= 0xEF ? 3
                         : c >= 0xF0 && c <= 0xF4 ? 4
                                                  : 0;
      bool ok = len > 0 && i + len <= v.size();
      for (size_t k = 1; ok && k < len; ++k) {
        ok = (static_cast<unsigned char>(v[i + k]) & 0xC0) == 0x80;
      }
      if (ok && len == 3) {
        const auto c1 = static_cast<unsigned char>(v[i + 1]);
        ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
      }
      if (ok && len == 4) {
        const auto c1 = static_cast<unsigned char>(v[i + 1]);
        ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
      }
      if (ok) {
        out.append(v.data() + i, len);
        i += len;
      } else {
        out.append("\xEF\xBF\xBD");  // U+FFFD
        ++i;
      }
    }
  }
  out.push_back('"');
}

}  // namespace

void SetFormat(Format format) { g_format.store(static_cast<int>(format)); }

absl::StatusOr<Format> ParseFormat(absl::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("\"", name, "\" is not a log format (text, json)"));
}

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

std::string FormatLine(Format format, absl::Time time, Level level, absl::string_view event,
                       std::initializer_list<Field> fields) {
  const std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
  std::string line;
  if (format == Format::kJson) {
    absl::StrAppend(&line, "{\"ts\":\"", ts, "\",\"level\":\"", LevelName(level), "\",\"event\":");
    AppendJsonString(line, event);
    for (const Field& f : fields) {
      line.push_back(',');
      AppendJsonString(line, f.key);
      line.push_back(':');
      AppendJsonString(line, f.value);
    }
    line.append("}\n");
    return line;
  }
  absl::StrAppend(&line, ts, " level=", LevelName(level), " event=");
  AppendValue(line, event);
  for (const Field& f : fields) {
    line.push_back(' ');
    line.append(f.key);
    line.push_back('=');
    AppendValue(line, f.value);
  }
  line.push_back('\n');
  return line;
}

void Write(Level level, absl::string_view event, std::initializer_list<Field> fields) {
  const std::string line =
      FormatLine(static_cast<Format>(g_format.load()), absl::Now(), level, event, fields);
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
