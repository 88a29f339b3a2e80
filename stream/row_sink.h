// stream/: the hand-off between the executor and the response stage. Rows
// arrive in chunks; a chunk's memory belongs to the producer and is valid
// only during the call, so memory stays bounded by the chunk size.
#ifndef FRAISEQL_STREAM_ROW_SINK_H_
#define FRAISEQL_STREAM_ROW_SINK_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fraiseql::stream {

// The text of the single result column of each row in the chunk; a SQL NULL
// arrives as the JSON literal `null`.
struct RowChunk {
  std::vector<absl::string_view> rows;
};

class RowSink {
 public:
  virtual ~RowSink() = default;
  // Consumes one chunk. A non-OK status stops the stream: the producer
  // cancels the query and returns that status.
  virtual absl::Status OnChunk(const RowChunk& chunk) = 0;
};

}  // namespace fraiseql::stream

#endif  // FRAISEQL_STREAM_ROW_SINK_H_
