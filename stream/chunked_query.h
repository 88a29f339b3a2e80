// stream/: runs one planned statement on a libpq connection in single-row
// mode and hands its rows to a RowSink in chunks of `chunk_rows`, so memory
// is bounded by the chunk, not the result.
#ifndef FRAISEQL_STREAM_CHUNKED_QUERY_H_
#define FRAISEQL_STREAM_CHUNKED_QUERY_H_

#include <cstdint>

#include "absl/status/status.h"
#include "libpq-fe.h"
#include "planner/planner.h"
#include "stream/row_sink.h"

namespace fraiseql::stream {

struct StreamOptions {
  int chunk_rows = 256;
};

struct StreamResult {
  int64_t rows = 0;
  int64_t chunks = 0;
};

// Sends `plan` (parameters as text, cast in the SQL) and streams its rows:
// the first column of each in RowChunk::rows, any further columns in
// RowChunk::more. On return the connection is idle again, unless it broke.
// Errors: the server's, mapped from its SQLSTATE (base/pg_status.h);
// Unavailable when the connection is lost; the sink's status when it stops
// the stream (the query is then cancelled on the server).
// Not thread-safe: `conn` must be owned by the caller for the duration.
absl::StatusOr<StreamResult> StreamQuery(PGconn* conn,
                                         const planner::Plan& plan,
                                         const StreamOptions& options,
                                         RowSink* sink);

}  // namespace fraiseql::stream

#endif  // FRAISEQL_STREAM_CHUNKED_QUERY_H_
