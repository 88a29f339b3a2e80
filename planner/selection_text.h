// planner/: reads a GraphQL selection set written as text
// (`id firstName home: address { cityName } __typename`) into the selection
// tree of the query definition. Names are not resolved here; the planner
// checks them against the schema.
#ifndef FRAISEQL_PLANNER_SELECTION_TEXT_H_
#define FRAISEQL_PLANNER_SELECTION_TEXT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/query.pb.h"

namespace fraiseql::planner {

// Accepts an optional enclosing `{ }`, aliases (`alias: field`), nested
// selections, commas and `#` comments, as GraphQL does. Arguments,
// directives and fragments are not supported and are reported as such.
// InvalidArgument naming the line, column and what was expected.
absl::StatusOr<std::vector<fraiseql::v1::Selection>> ParseSelectionText(
    absl::string_view text);

}  // namespace fraiseql::planner

#endif  // FRAISEQL_PLANNER_SELECTION_TEXT_H_
