// ListOperations paging (AIP-158): page sizes, and opaque page tokens for keyset paging.
//
// Results are ordered newest first, ties broken by id, so a page ends at a cursor
// (create_time, id) and the next page is every row strictly after it in that order. That
// stays correct while rows are inserted, unlike offsets.
//
// A token is base64url (no padding) of
//   payload = version (1 byte, 1) | create_time as Unix microseconds (int64, big-endian)
//           | the 16 bytes of the id UUID | the first 8 bytes of SHA-256(filter)
// followed by the first 16 bytes of HMAC-SHA256(secret, payload): 49 bytes, 66 characters.
// The MAC makes tokens tamper-evident, so a client cannot forge a cursor; the filter hash
// rejects a token reused with a different filter, which AIP-158 requires. Tokens do not
// expire and are not encrypted: the cursor is visible to whoever holds the token, which is
// fine because it only names an operation the same caller was shown.
#ifndef LONGRUN_CORE_PAGE_TOKEN_H_
#define LONGRUN_CORE_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace longrun::core {

inline constexpr int32_t kDefaultPageSize = 50;
inline constexpr int32_t kMaxPageSize = 1000;

// Where the previous page ended: the last item it returned.
struct PageCursor {
  absl::Time create_time;  // kept to the microsecond (rounded down), the store's precision
  std::string id;          // UUID text of the last item; decoded tokens give lower case

  friend bool operator==(const PageCursor&, const PageCursor&) = default;
};

// The token for the page after `cursor`, bound to `filter` (the request's filter string
// exactly as sent) and signed with `secret` (the server's paging key; use 32 random bytes).
// `cursor.id` must be UUID text (core::IsUuid); anything else is a bug and aborts.
std::string EncodePageToken(const PageCursor& cursor, absl::string_view filter,
                            absl::string_view secret);

// Checks and decodes a token from EncodePageToken with the same filter and secret. Errors
// are INVALID_ARGUMENT "page_token: ..." for text that is not canonical base64url, has the
// wrong length or version, fails the MAC ("was not issued by this service or was
// modified") or was issued for another filter. An empty token is an error too: callers
// treat an empty page_token as "first page" before calling this.
absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token, absl::string_view filter,
                                           absl::string_view secret);

// The page size to use for a request's page_size: 0 (unset) -> kDefaultPageSize, above
// kMaxPageSize -> kMaxPageSize (AIP-158 says to coerce, not reject), negative ->
// INVALID_ARGUMENT "page_size: must not be negative".
absl::StatusOr<int32_t> ResolvePageSize(int32_t requested);

}  // namespace longrun::core

#endif  // LONGRUN_CORE_PAGE_TOKEN_H_
