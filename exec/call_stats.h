// exec/: what one call cost, for metrics and logs. A caller that wants them
// points RequestContext::stats at a CallStats of its own; the backend and
// the Repository fill it in as the call runs (the Python module hands them
// to its per-call hook).
#ifndef FRAISEQL_EXEC_CALL_STATS_H_
#define FRAISEQL_EXEC_CALL_STATS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace fraiseql::exec {

// Not thread-safe: one call at a time fills one CallStats (give each call
// its own). Filled whether the call succeeds or fails.
struct CallStats {
  // Time spent waiting for a pool connection; added to by every acquire of
  // the call (the native backend's; a transaction's statements wait for
  // none: the transaction holds its connection).
  absl::Duration acquire_wait = absl::ZeroDuration();
  // The call's own time apart from acquire_wait: planning, the round
  // trips, writing the response. Set by the Repository when the call ends.
  absl::Duration execution = absl::ZeroDuration();
  // Rows the server returned; added to by each statement that completes
  // (native backend). A failed statement's rows are not counted.
  int64_t rows = 0;
  // The size of what the call returned: the response body, a value's JSON,
  // RunSql's JSON array, or the bytes handed to a streaming sink (set by
  // the Repository; 0 on failure, or the bytes streamed before it).
  int64_t bytes = 0;
  // The SQLSTATE of the server error (or connection failure) the call
  // ended with, e.g. "23505"; empty when none.
  std::string sqlstate;
};

}  // namespace fraiseql::exec

#endif  // FRAISEQL_EXEC_CALL_STATS_H_
