// planner/: resolves a selection against a registered type into the tree the
// response stage projects rows with (exec/selection.h), as root fields'
// selections are (Planner::PlanRoot); used for the entities of mutations.
#ifndef FRAISEQL_PLANNER_SELECTION_H_
#define FRAISEQL_PLANNER_SELECTION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "exec/selection.h"
#include "proto/query.pb.h"
#include "where/schema.h"

namespace fraiseql::planner {

// Resolves a selection against a registered type (an object type, or the
// type of a registered view) as root fields' selections are: NotFound for
// an unknown type, InvalidArgument for an unknown field or a bad
// sub-selection, naming `path`.
absl::StatusOr<std::vector<exec::FieldSelection>> ResolveSelectionForType(
    const where::Schema& schema, absl::string_view type_name,
    const google::protobuf::RepeatedPtrField<v1::Selection>& selection,
    const std::string& path);

}  // namespace fraiseql::planner

#endif  // FRAISEQL_PLANNER_SELECTION_H_
