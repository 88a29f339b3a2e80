// planner/internal/: a root's selection resolved against the schema into the
// tree the response stage projects rows with (exec/selection.h).
#ifndef FRAISEQL_PLANNER_INTERNAL_SELECTION_H_
#define FRAISEQL_PLANNER_INTERNAL_SELECTION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "exec/selection.h"
#include "planner/selection_text.h"
#include "proto/query.pb.h"
#include "where/schema.h"

namespace fraiseql::planner::internal {

// What the schema knows of a row written without a selection (every key
// camelCased): JSON fields pass through untouched, objects carry their type
// (for __typename) and their own overrides.
std::vector<exec::FieldSelection> SelectAllOverrides(
    const where::Schema& schema, const where::ObjectType& type);

// The limits of a selection given as a tree, checked before it is merged
// or resolved: a walk (an explicit stack, no recursion) that stops at the
// first field over a limit, so its work is bounded by the limits, not by
// the input.
absl::Status CheckSelectionLimits(
    const google::protobuf::RepeatedPtrField<v1::Selection>& root,
    const SelectionLimits& limits);

// Resolves `requested` against `type`, fields of the same response key
// merged: InvalidArgument, naming the field's path under `path`, for an
// unknown field, an object without a sub-selection or a scalar with one.
absl::StatusOr<std::vector<exec::FieldSelection>> ResolveSelection(
    const where::Schema& schema, const where::ObjectType& type,
    const google::protobuf::RepeatedPtrField<v1::Selection>& requested,
    const std::string& path);

}  // namespace fraiseql::planner::internal

#endif  // FRAISEQL_PLANNER_INTERNAL_SELECTION_H_
