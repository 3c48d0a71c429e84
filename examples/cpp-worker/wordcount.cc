#include "wordcount.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace example {
namespace {

// Decodes the UTF-8 code point at text[i] and advances i; a malformed byte is taken as
// itself (it is neither whitespace nor a line break).
char32_t Next(std::string_view text, size_t& i) {
  const auto b = static_cast<unsigned char>(text[i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
  if (i + len > text.size()) len = 1;
  char32_t c = len == 1 ? b : b & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    const auto cont = static_cast<unsigned char>(text[i + k]);
    if ((cont & 0xC0) != 0x80) {
      len = 1;
      c = b;
      break;
    }
    c = (c << 6) | (cont & 0x3F);
  }
  i += len;
  return c;
}

// Python's str.splitlines() boundaries (\r\n counts once, handled by the caller).
bool IsLineBreak(char32_t c) {
  switch (c) {
    case U'\n':
    case U'\r':
    case 0x0B:
    case 0x0C:
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x85:
    case 0x2028:
    case 0x2029:
      return true;
    default:
      return false;
  }
}

// Python's str.isspace(), which str.split() splits on.
bool IsSpace(char32_t c) {
  if (c == U' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return true;
  switch (c) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

}  // namespace

Counts CountWords(std::string_view text) {
  Counts out;
  bool in_word = false;
  bool line_open = false;  // characters since the last line break
  for (size_t i = 0; i < text.size();) {
    const char32_t c = Next(text, i);
    if (IsSpace(c)) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      ++out.words;
    }
    if (IsLineBreak(c)) {
      if (c == U'\r' && i < text.size() && text[i] == '\n') ++i;
      ++out.lines;
      line_open = false;
    } else {
      line_open = true;
    }
  }
  if (line_open) ++out.lines;
  return out;
}

absl::StatusOr<google::protobuf::Struct> WordCount(longrun::JobContext& ctx) {
  auto it = ctx.input().fields().find("text");
  if (it == ctx.input().fields().end() || !it->second.has_string_value()) {
    return absl::InvalidArgumentError("input.text must be a string");
  }
  // Optional: pretend the work is slow (progress reported, cancellation honoured).
  double sleep_seconds = 0;
  if (auto s = ctx.input().fields().find("sleep_seconds"); s != ctx.input().fields().end()) {
    sleep_seconds = s->second.number_value();
    if (!s->second.has_number_value() || !(sleep_seconds >= 0 && sleep_seconds <= 3600)) {
      return absl::InvalidArgumentError("input.sleep_seconds must be in 0..3600");
    }
  }
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(sleep_seconds);
  for (absl::Time now = start; now < end; now = absl::Now()) {
    if (!ctx.SleepFor(std::min(absl::Milliseconds(100), end - now))) return ctx.StopReason();
    ctx.ReportProgress(static_cast<int>(100 * ((absl::Now() - start) / (end - start))), "counting");
  }
  const Counts counts = CountWords(it->second.string_value());
  google::protobuf::Struct out;
  (*out.mutable_fields())["words"].set_number_value(static_cast<double>(counts.words));
  (*out.mutable_fields())["lines"].set_number_value(static_cast<double>(counts.lines));
  return out;
}

}  // namespace example
