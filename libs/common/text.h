// Small text helpers shared by the api's HTTP front end, the signed tokens and the bench.
#ifndef LONGRUN_COMMON_TEXT_H_
#define LONGRUN_COMMON_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace longrun {

// The value of one hexadecimal digit (either case), or -1.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `text` as a JSON string literal, quotes included: '"' and '\' escaped, \n \r \t as such,
// other control characters as \u00XX, every other byte as it is. (The JSON log lines have
// their own writer, which also replaces invalid UTF-8: libs/common/logging.cc.)
std::string JsonQuote(absl::string_view text);

}  // namespace longrun

#endif  // LONGRUN_COMMON_TEXT_H_
