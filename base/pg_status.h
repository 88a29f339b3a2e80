// Shared by the pool and the backends: turns a PostgreSQL SQLSTATE into an
// absl::Status whose code carries Abseil's retry meaning. The SQLSTATE itself
// travels as the payload under kSqlStatePayloadUrl.
#ifndef FRAISEQL_BASE_PG_STATUS_H_
#define FRAISEQL_BASE_PG_STATUS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fraiseql {

inline constexpr absl::string_view kSqlStatePayloadUrl =
    "fraiseql.dev/sqlstate";

// Maps a five-character SQLSTATE to a status code:
// 08xxx, 57P01..57P03 Unavailable; 40001, 40P01 Aborted; 57014 Cancelled;
// 23505 AlreadyExists; other 23xxx FailedPrecondition; 22xxx, 42601
// InvalidArgument; 42501 PermissionDenied; 28xxx Unauthenticated; 53xxx
// ResourceExhausted; 42P01, 42703, 42704, 42883 NotFound (an undefined table,
// column, type or function); anything else Internal.
absl::StatusCode StatusCodeForSqlState(absl::string_view sqlstate);

// Builds a status from a server error: `context` first (what we were doing),
// then the server's message with its quoted text withheld
// (WithholdQuotedText). The SQLSTATE is attached as a payload.
absl::Status StatusFromSqlState(absl::string_view sqlstate,
                                absl::string_view context,
                                absl::string_view server_message);

// The server quotes the input it rejects, in every SQLSTATE class and
// anywhere in the message (`time zone "…" not recognized`, `syntax error in
// tsquery: "…"`, `invalid input syntax for type uuid: "…"`): a bound value,
// which messages never carry. It quotes identifiers the same way, and does
// not escape a quote inside what it quotes, so quoted spans cannot be told
// apart nor even paired: everything from the first double quote to the
// last (to the end when there is only one) becomes "(value withheld)"; a
// span ending the message loses its ": " too (`... for type uuid (value
// withheld)`). Identifiers in messages are withheld with the rest: the
// simplest rule that is safe.
std::string WithholdQuotedText(absl::string_view message);

// libpq's messages span lines ("...refused\n\tIs the server running...")
// and end with a newline: this is the same text on one line.
std::string PgMessageOneLine(absl::string_view message);

// The SQLSTATE attached by StatusFromSqlState, if any.
std::optional<std::string> SqlStateOf(const absl::Status& status);

}  // namespace fraiseql

#endif  // FRAISEQL_BASE_PG_STATUS_H_
