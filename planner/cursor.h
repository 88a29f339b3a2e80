// planner/: the opaque cursors of keyset pagination. The planner decodes the
// `after`/`before` cursors of a request into key values to bind as
// parameters; the repository encodes one cursor per returned row from the
// key column the page statement selects.
//
// A cursor is signed, so a client can neither forge one nor alter one it
// was sent. It is the base64url text (RFC 4648 section 5, no padding) of a
// 16-byte tag followed by the compact JSON array of the row's order-key
// values as PostgreSQL's jsonb renders them (numbers as written, dates and
// UUIDs as strings, null for a missing value), the tiebreaker last:
//
//   tag = HMAC-SHA256(fingerprint, values)[0..16)
//   fingerprint = HMAC-SHA256(cursor secret,
//                             "fraiseql.cursor.v1" NUL view NUL ORDER BY SQL)
//
// The fingerprint is the ordering's own key, derived from the cursor secret
// (PlannerOptions::cursor_secret), so the tag covers the secret, the view,
// the ordering and the values: a cursor of another view, ordering or secret
// fails like an altered one. Tags are compared in constant time.
//
// The secret: given to the planner (PlannerOptions::cursor_secret), or, when
// none is given, 32 random bytes made once per process (ProcessCursorSecret).
// A deployment of several processes (workers, replicas behind a load
// balancer) must give every process the same secret, or a cursor issued by
// one process is rejected by another; with a random secret, cursors also
// stop working across a restart.
//
// Cursors are opaque to clients but not encrypted: anyone can read the key
// values of a row they were sent anyway. Decoded values never reach the SQL
// text; they are checked against their key's kind and bound as parameters.
#ifndef FRAISEQL_PLANNER_CURSOR_H_
#define FRAISEQL_PLANNER_CURSOR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "where/json_value.h"

namespace fraiseql::planner {

// The longest cursor accepted, in bytes of base64url text.
inline constexpr size_t kMaxCursorBytes = 4096;

// The bytes of a cursor's tag (a truncated HMAC-SHA256).
inline constexpr size_t kCursorTagBytes = 16;

// The secret of planners given none: 32 bytes from OpenSSL's RAND_bytes,
// made on first use and the same for the rest of the process. Thread-safe.
// Internal when the random generator fails (then every call fails).
absl::StatusOr<std::string> ProcessCursorSecret();

// The ordering's fingerprint: its 32-byte signing key (binary), derived
// from `secret` with HMAC-SHA256 as above. The same for the same secret,
// view and ORDER BY in every process and release; secret key material,
// never sent to clients or logged.
std::string CursorFingerprint(absl::string_view secret,
                              absl::string_view view_name,
                              absl::string_view order_by_sql);

// The cursor of one row, from the JSON array of its key values as the SQL
// returned it (`[37, "…"]`, any whitespace), signed with `fingerprint`.
// InvalidArgument when the text is not a JSON array (a broken statement,
// never user input).
absl::StatusOr<std::string> EncodeCursor(absl::string_view fingerprint,
                                         absl::string_view key_values_json);

// The `key_count` key values of `cursor`, given as the argument `argument`
// ("after" or "before"). InvalidArgument "invalid cursor at <argument>:
// <why>" when it is longer than kMaxCursorBytes, not base64url, too short
// to hold a tag and values, when its tag is not `fingerprint`'s (a cursor
// of another view, ordering or secret, or an altered one), or when it holds
// another number of values. The tag is checked before the values are read.
// The cursor text is never quoted in the message.
absl::StatusOr<std::vector<where::JsonValue>> DecodeCursor(
    absl::string_view cursor, absl::string_view fingerprint, size_t key_count,
    absl::string_view argument);

}  // namespace fraiseql::planner

#endif  // FRAISEQL_PLANNER_CURSOR_H_
