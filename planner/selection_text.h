// planner/: reads a GraphQL selection set written as text
// (`id firstName home: address { cityName } __typename`) into the selection
// tree of the query definition. Names are not resolved here; the planner
// checks them against the schema.
#ifndef FRAISEQL_PLANNER_SELECTION_TEXT_H_
#define FRAISEQL_PLANNER_SELECTION_TEXT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/query.pb.h"

namespace fraiseql::planner {

// Bounds on one selection set. Each is checked while the text is read, so
// the work stops at the limit: reading is linear in min(input, limit). The
// planner applies the same field, alias and depth limits to a selection
// given as a tree (QueryDefinition), counted before same-key fields merge.
// Over a limit: InvalidArgument naming the limit, e.g. "invalid selection:
// more than 1000 fields (limit max_selection_fields)".
struct SelectionLimits {
  // Bytes of selection text, comments and white space included. Checked
  // first, before anything is read.
  size_t max_selection_bytes = 64 * 1024;
  // Fields in total at every level, each occurrence counted (`id id` is two
  // fields; `__typename` counts).
  int max_selection_fields = 1000;
  // Fields written with an alias (`home: address`), at every level.
  int max_selection_aliases = 100;
  // Levels of `{ }` nesting, an enclosing `{ }` included.
  int max_selection_depth = 32;
};

// Accepts an optional enclosing `{ }`, aliases (`alias: field`), nested
// selections, commas and `#` comments, as GraphQL does. Arguments,
// directives and fragments are not supported and are reported as such.
// InvalidArgument naming the line, column and what was expected, or the
// limit (SelectionLimits) that was passed.
absl::StatusOr<std::vector<fraiseql::v1::Selection>> ParseSelectionText(
    absl::string_view text, const SelectionLimits& limits = {});

// The message of a selection over one of its limits: "invalid selection:
// more than <limit> <what> (limit <name>)".
absl::Status SelectionLimitError(int64_t limit, absl::string_view what,
                                 absl::string_view name);

}  // namespace fraiseql::planner

#endif  // FRAISEQL_PLANNER_SELECTION_TEXT_H_
