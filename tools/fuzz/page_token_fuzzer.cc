// DecodePageToken on arbitrary bytes with a fixed filter and secret, and Encode -> Decode
// round trips for cursors and filters derived from the same bytes. Checks, besides "no
// crash, no sanitizer report":
//   - every error is INVALID_ARGUMENT with a "page_token: " message;
//   - an accepted token is exactly the token Encode makes for what it decodes to (so no
//     second spelling of a token exists);
//   - a derived cursor survives the round trip, and its token is refused for another filter
//     or another secret.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/core/ids.h"
#include "libs/core/page_token.h"

namespace {

using ::longrun::core::DecodePageToken;
using ::longrun::core::EncodePageToken;
using ::longrun::core::PageCursor;

constexpr absl::string_view kSecret = "fuzz-secret-0123456789abcdef0123";
constexpr absl::string_view kFilter = "state=QUEUED";

[[noreturn]] void Fail(const char* what, absl::string_view detail) {
  std::fprintf(stderr, "page_token_fuzzer: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void ExpectRejected(const absl::StatusOr<PageCursor>& decoded, absl::string_view message,
                    absl::string_view token) {
  if (decoded.ok()) Fail("accepted", token);
  if (decoded.status().code() != absl::StatusCode::kInvalidArgument ||
      !absl::StrContains(decoded.status().message(), message)) {
    Fail("wrong error", decoded.status().ToString());
  }
}

std::string UuidText(const uint8_t* b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<PageCursor> decoded = DecodePageToken(input, kFilter, kSecret);
  if (decoded.ok()) {
    if (!longrun::core::IsUuid(decoded->id)) Fail("decoded id is not a UUID", decoded->id);
    if (EncodePageToken(*decoded, kFilter, kSecret) != input) Fail("non-canonical token", input);
  } else if (decoded.status().code() != absl::StatusCode::kInvalidArgument ||
             !absl::StartsWith(decoded.status().message(), "page_token: ")) {
    Fail("unexpected error", decoded.status().ToString());
  }

  // Bytes 0-7: create_time micros (big-endian); 8-23: the id; the rest: the filter.
  if (size < 24) return 0;
  uint64_t micros = 0;
  for (int i = 0; i < 8; ++i) micros = (micros << 8) | data[i];
  const PageCursor cursor{absl::FromUnixMicros(static_cast<int64_t>(micros)), UuidText(data + 8)};
  const absl::string_view filter = input.substr(24);
  const std::string token = EncodePageToken(cursor, filter, kSecret);
  absl::StatusOr<PageCursor> round_trip = DecodePageToken(token, filter, kSecret);
  if (!round_trip.ok()) Fail("round trip rejected", round_trip.status().ToString());
  if (!(*round_trip == cursor)) Fail("round trip changed the cursor", token);
  ExpectRejected(DecodePageToken(token, absl::StrCat(filter, "x"), kSecret),
                 "was issued for a different filter", token);
  ExpectRejected(DecodePageToken(token, filter, absl::StrCat(kSecret, "x")),
                 "was not issued by this service or was modified", token);
  return 0;
}
