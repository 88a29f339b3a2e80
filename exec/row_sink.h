// exec/: the hand-off between the executor and the response stage. Rows
// arrive in chunks; a chunk's memory belongs to the producer and is valid
// only during the call, so memory stays bounded by the chunk size.
#ifndef FRAISEQL_EXEC_ROW_SINK_H_
#define FRAISEQL_EXEC_ROW_SINK_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fraiseql::exec {

// The rows of one chunk, as text; a SQL NULL arrives as the JSON literal
// `null`. The first column of every row (the row's JSON: what most
// statements select alone) is in `rows`; a statement with more columns adds
// the others, row by row, to `more`, so the one-column case carries nothing
// extra.
struct RowChunk {
  std::vector<absl::string_view> rows;
  // Columns in each row (at least 1).
  int columns = 1;
  // Columns 2..`columns` of every row, row-major: empty for one column.
  std::vector<absl::string_view> more;

  // Column `column` (0-based; 0 is `rows[row]`) of row `row`.
  absl::string_view cell(size_t row, int column) const {
    return column == 0 ? rows[row]
                       : more[row * static_cast<size_t>(columns - 1) +
                              static_cast<size_t>(column - 1)];
  }
};

class RowSink {
 public:
  virtual ~RowSink() = default;
  // Consumes one chunk. A non-OK status stops the stream: the producer
  // cancels the query and returns that status.
  virtual absl::Status OnChunk(const RowChunk& chunk) = 0;
};

}  // namespace fraiseql::exec

#endif  // FRAISEQL_EXEC_ROW_SINK_H_
