// planner/: the opaque cursors of keyset pagination. The planner decodes the
// `after`/`before` cursors of a request into key values to bind as
// parameters; the repository encodes one cursor per returned row from the
// key column the page statement selects.
//
// A cursor is the base64url text (RFC 4648 section 5, no padding) of a
// compact JSON array: first the fingerprint of the ordering it belongs to
// (view and ORDER BY keys, see CursorFingerprint), then the value of every
// order key of its row as PostgreSQL's jsonb renders it (numbers as written,
// dates and UUIDs as strings, null for a missing value), the tiebreaker last:
//
//   ["5c0e9a1f",37,"6d757539-96d9-75eb-1276-517c418566c7"]
//     -> WyI1YzBlOWExZiIsMzcsIjZkNzU3NTM5LTk2ZDktNzVlYi0xMjc2LTUxN2M0MTg1NjZjNyJd
//
// Cursors are opaque to clients but not secret: anyone can read the key
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

// A short, stable fingerprint (8 lower-case hex digits of FNV-1a) of an
// ordering: the same in every process and release, so cursors outlive
// restarts, and different for another view or another ORDER BY.
std::string CursorFingerprint(absl::string_view view_name,
                              absl::string_view order_by_sql);

// The cursor of one row, from the JSON array of its key values as the SQL
// returned it (`[37, "…"]`, any whitespace). InvalidArgument when the text
// is not a JSON array (a broken statement, never user input).
absl::StatusOr<std::string> EncodeCursor(absl::string_view fingerprint,
                                         absl::string_view key_values_json);

// The `key_count` key values of `cursor`, given as the argument `argument`
// ("after" or "before"). InvalidArgument "invalid cursor at <argument>:
// <why>" when it is longer than kMaxCursorBytes, not base64url, not a JSON
// array, or holds another fingerprint or another number of values (a
// cursor of another view or ordering). The cursor text is never quoted in
// the message.
absl::StatusOr<std::vector<where::JsonValue>> DecodeCursor(
    absl::string_view cursor, absl::string_view fingerprint, size_t key_count,
    absl::string_view argument);

}  // namespace fraiseql::planner

#endif  // FRAISEQL_PLANNER_CURSOR_H_
