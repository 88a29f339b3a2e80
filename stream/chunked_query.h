// stream/: runs one planned statement on a libpq connection in single-row
// mode and hands its rows to a RowSink in chunks of `chunk_rows`, so memory
// is bounded by the chunk, not the result. Applies the request's context
// (variables, statement_timeout, deadline, cancel flag) and prepares
// statements per connection by shape.
#ifndef FRAISEQL_STREAM_CHUNKED_QUERY_H_
#define FRAISEQL_STREAM_CHUNKED_QUERY_H_

#include <cstdint>

#include "absl/status/status.h"
#include "libpq-fe.h"
#include "planner/planner.h"
#include "stream/request_context.h"
#include "stream/row_sink.h"
#include "stream/statement_cache.h"

namespace fraiseql::stream {

struct StreamOptions {
  int chunk_rows = 256;
  // When set, a statement is prepared once per connection (named, by its SQL
  // text) and executed by name afterwards. Null: every statement is sent
  // unnamed (PgBouncer transaction pooling, where session state such as a
  // prepared statement does not survive the transaction). Not owned; must
  // outlive the calls.
  StatementCache* statements = nullptr;
  // The statement_timeout the connection's session already carries (the
  // pool sets it at connect); 0 when none. A 57014 from the server is then
  // our timeout (DeadlineExceeded), not a cancellation.
  absl::Duration session_statement_timeout = absl::ZeroDuration();
};

struct StreamResult {
  int64_t rows = 0;
  int64_t chunks = 0;
};

// Sends `plan` (parameters as text, cast in the SQL) and streams its rows:
// the first column of each in RowChunk::rows, any further columns in
// RowChunk::more.
//
// Everything goes in one round trip, in libpq pipeline mode:
//
//   [BEGIN]                                       when the context has
//   [SELECT set_config('statement_timeout', $1, true),  variables or a
//           set_config($2, $3, true), ...]            statement_timeout
//   [DEALLOCATE <evicted>]...                      statements evicted earlier
//   [Parse <name>]                                 first run of a shape
//   Bind/Execute (<name> or unnamed), single-row mode
//   [COMMIT]
//   Sync
//
// so set_config(..., is_local=true) (SET LOCAL) values are visible to the
// statement (e.g. to row-level security policies through current_setting)
// and gone at COMMIT. On any error the pipeline aborts and the transaction
// is rolled back (one more round trip).
//
// On return the connection is idle (no transaction, no result pending)
// unless it broke or could not be cleaned up in time; Connection::
// IsReusable() tells, and the pool discards such a connection.
//
// Errors: the server's, mapped from its SQLSTATE (base/pg_status.h);
// InvalidArgument for a bad context variable name (nothing sent);
// DeadlineExceeded when `context.deadline` passes (the statement is
// cancelled on the server) or the server's statement_timeout fires (SQLSTATE
// 57014 kept as payload), both with kQueryTimeoutPayloadUrl; Cancelled when
// `*context.cancelled` becomes true (cancelled on the server), or a 57014
// nobody here asked for (pg_cancel_backend); Unavailable when the connection
// is lost; the sink's status when it stops the stream (the statement is
// then cancelled on the server).
// Not thread-safe: `conn` must be owned by the caller for the duration.
absl::StatusOr<StreamResult> StreamQuery(PGconn* conn,
                                         const planner::Plan& plan,
                                         const StreamOptions& options,
                                         const RequestContext& context,
                                         RowSink* sink);

// The same without context.
inline absl::StatusOr<StreamResult> StreamQuery(PGconn* conn,
                                                const planner::Plan& plan,
                                                const StreamOptions& options,
                                                RowSink* sink) {
  return StreamQuery(conn, plan, options, RequestContext(), sink);
}

}  // namespace fraiseql::stream

#endif  // FRAISEQL_STREAM_CHUNKED_QUERY_H_
