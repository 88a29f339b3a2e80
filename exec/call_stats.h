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
  // The call's statement shape: 16 hex digits of a stable hash (FNV-1a) of
  // the SQL text of its statements, which holds no values (they are bound),
  // so calls that differ only in their values share it; empty when the
  // call failed before it was planned. Set by the Repository.
  std::string shape;
  // The SQLSTATE of the server error (or connection failure) the call
  // ended with, e.g. "23505"; empty when none.
  std::string sqlstate;
};

// The shape key of statements with this SQL text (see CallStats::shape);
// feed each statement's SQL in order.
class ShapeHasher {
 public:
  void Add(const std::string& sql) {
    for (unsigned char c : sql) {
      hash_ = (hash_ ^ c) * 0x100000001b3ULL;
    }
    hash_ = (hash_ ^ 0xffu) * 0x100000001b3ULL;  // statement boundary
  }
  std::string Hex() const {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 0; i < 16; ++i) out[15 - i] = kDigits[(hash_ >> (4 * i)) & 0xf];
    return out;
  }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace fraiseql::exec

#endif  // FRAISEQL_EXEC_CALL_STATS_H_
