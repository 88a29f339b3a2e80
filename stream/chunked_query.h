// stream/: runs planned statements on a libpq connection, all in one round
// trip (pipeline mode), each in single-row mode, and hands their rows to
// RowSinks in chunks of at most `chunk_rows`, so memory is bounded by the
// chunk, not the result. A chunk is also handed on early, whenever every row
// received so far has been read and the next would mean waiting for the
// server: the sink works while the server does, so that the rows left to
// handle after the result's end are only those of its last packets, not up
// to a whole chunk. Applies the request's context (variables,
// statement_timeout, deadline, cancel flag) and prepares statements per
// connection by shape.
#ifndef FRAISEQL_STREAM_CHUNKED_QUERY_H_
#define FRAISEQL_STREAM_CHUNKED_QUERY_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "exec/plan.h"
#include "exec/request_context.h"
#include "exec/row_sink.h"
#include "libpq-fe.h"
#include "stream/statement_cache.h"

namespace fraiseql::stream {

struct StreamOptions {
  // The most rows a chunk holds (see above).
  int chunk_rows = 256;
  // When set, a statement is prepared once per connection (named, by its SQL
  // text) and executed by name afterwards. Null: every statement is sent
  // unnamed (PgBouncer transaction pooling, where session state such as a
  // prepared statement does not survive the transaction). The cache of the
  // connection the call runs on (it describes that one server session, see
  // stream/statement_cache.h); not owned.
  StatementCache* statements = nullptr;
  // The pool's statement_timeout (ConnectionOptions::statement_timeout,
  // also set at connect in the startup `options`, which PgBouncer drops);
  // 0 when none.
  absl::Duration session_statement_timeout = absl::ZeroDuration();
  // The statement_timeout of a request whose context gives none; zero
  // disables it.
  //
  // The effective statement_timeout of a request is: the context's own
  // (exec::RequestContext::statement_timeout) when it gives one; else the
  // smaller nonzero of default_statement_timeout and session_statement_timeout;
  // else none (the session's, usually the server's default). It is sent in
  // every kAuto and kBegin batch, with set_config('statement_timeout', ...,
  // true), so it holds behind PgBouncer too; clamped to 1..2147483647 ms
  // (longer or infinite timeouts become 2147483647 ms, about 24.8 days). A
  // 57014 from the server is then our timeout (DeadlineExceeded with
  // exec::kQueryTimeoutPayloadUrl), not a cancellation.
  absl::Duration default_statement_timeout = absl::Seconds(30);
};

struct StreamResult {
  int64_t rows = 0;
  int64_t chunks = 0;
};

// Who owns the transaction a batch runs in.
enum class TransactionControl {
  // The batch is a unit of its own. It runs in a transaction when the
  // context needs one (variables, statement_timeout) or when it has more
  // than one statement (then REPEATABLE READ, so every statement reads the
  // same snapshot); the transaction is committed at the end, and rolled
  // back on any error.
  kAuto,
  // Opens the caller's transaction: `begin_sql` and the context's settings,
  // then the statements. On success the transaction is left open (the
  // caller commits or rolls back with later kInside batches); on any error
  // it is rolled back (see BatchOptions::keep_open_on_error).
  kBegin,
  // The connection is already in the caller's transaction: statements
  // only. The context's settings are not sent again (they were set by the
  // kBegin batch) and must be empty. On an error the transaction is left
  // aborted (PQTRANS_INERROR) for the caller to roll back.
  kInside,
};

struct BatchOptions {
  TransactionControl transaction = TransactionControl::kAuto;
  // kBegin: the statement that opens the transaction, e.g.
  // "BEGIN ISOLATION LEVEL SERIALIZABLE". Trusted text, never user input.
  std::string begin_sql = "BEGIN";
  // kBegin: on an error after BEGIN, leave the transaction open (aborted,
  // PQTRANS_INERROR) for the caller to roll back, wholly or to a savepoint
  // the batch set, instead of rolling it back here.
  bool keep_open_on_error = false;
};

// Sends every statement of `statements` in one round trip, in libpq
// pipeline mode, and streams each one's rows to its sink in order (the
// first column of each row in exec::RowChunk::rows, further columns in
// exec::RowChunk::more), chunk by chunk:
//
//   RESET ALL                                  not in kInside batches:
//   RESET SESSION AUTHORIZATION                the session's startup state
//   RESET ROLE
//   [BEGIN]                                    see TransactionControl
//   [SELECT set_config('statement_timeout', $1, true),
//           set_config($2, $3, true), ...,     the effective timeout (see
//           set_config('role', $n, true)]      StreamOptions), the context's
//                                              variables and its role
//                                              (settings_statement.h)
//   for each statement:
//     [Parse <name>]                           first run of a shape
//     Bind/Execute (<name> or unnamed), single-row mode
//   [COMMIT]
//   Sync
//
// so set_config(..., is_local=true) (SET LOCAL) values are visible to the
// statements (e.g. to row-level security policies through
// current_setting) and gone at COMMIT. Without BEGIN (one statement and no
// context settings) they hold for the pipeline's implicit transaction,
// which ends at the Sync. SET LOCAL ROLE ends with the transaction too:
// the next batch starts as the session's own user (and RESET ROLE first
// undoes a session-level SET ROLE an earlier caller left).
//
// Session state: whatever an earlier caller's statements set at session
// level (set_config(..., false), SET, SET ROLE, SET SESSION AUTHORIZATION,
// SET search_path) is undone before this batch's statements run: RESET ALL
// restores every setting to its startup value (the connection's startup
// `options`, such as the pool's pinned TimeZone, or the server's
// defaults), and clears app.* placeholders; role and session_authorization
// are not reset by RESET ALL, hence the other two. They run in the batch's
// own transaction, so a batch that fails rolls its RESET back: the cleanup
// round trip then resets again. Transaction defaults an earlier caller left
// (default_transaction_read_only, ...) still apply to the transaction that
// starts with the RESET, since a transaction takes them when it starts. A
// failing statement aborts the rest of the pipeline: later statements send
// nothing to their sinks. Only when needed, a second round trip follows: after
// a failure ROLLBACK (kAuto, or kBegin without keep_open_on_error) and the
// RESETs, and in kAuto batches DEALLOCATE of statements the cache evicted
// earlier.
//
// A deadline or cancel that comes when every result has already arrived
// changes nothing: the call returns what happened (OK, or the server's
// error), so a COMMIT that committed is never reported as timed out.
//
// On return from a kAuto batch the connection is idle (no transaction, no
// result pending) unless it broke or could not be cleaned up in time;
// Connection::IsReusable() tells, and the pool discards such a connection.
//
// Errors: the server's, mapped from its SQLSTATE (base/pg_status.h), with
// whatever the message quotes withheld (an unknown role is InvalidArgument,
// SQLSTATE 22023; a role the session's user may not take PermissionDenied,
// 42501); InvalidArgument for a bad context variable name or role, a NUL
// byte in a context value or a text parameter
// ("invalid parameter $3: text contains a NUL byte"), or settings in a
// kInside batch (all checked before anything is sent); DeadlineExceeded when
// `context.deadline` passes (the statement is cancelled on the server) or the
// server's statement_timeout fires (SQLSTATE 57014 kept as payload), both with
// exec::kQueryTimeoutPayloadUrl; Cancelled when `*context.cancelled` becomes
// true (cancelled on the server), or a 57014 nobody here asked for
// (pg_cancel_backend); Unavailable when the connection is lost; a sink's
// status when it stops the stream (the statement is then cancelled on the
// server).
// Not thread-safe: `conn` must be owned by the caller for the duration.
absl::StatusOr<StreamResult> StreamBatch(
    PGconn* conn, absl::Span<const exec::Statement> statements,
    const StreamOptions& options, const BatchOptions& batch,
    const exec::RequestContext& context);

// One statement, kAuto: the plan's rows to `sink`.
absl::StatusOr<StreamResult> StreamQuery(PGconn* conn, const exec::Plan& plan,
                                         const StreamOptions& options,
                                         const exec::RequestContext& context,
                                         exec::RowSink* sink);

// The same without context.
inline absl::StatusOr<StreamResult> StreamQuery(PGconn* conn,
                                                const exec::Plan& plan,
                                                const StreamOptions& options,
                                                exec::RowSink* sink) {
  return StreamQuery(conn, plan, options, exec::RequestContext(), sink);
}

}  // namespace fraiseql::stream

#endif  // FRAISEQL_STREAM_CHUNKED_QUERY_H_
