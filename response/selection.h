// Part of the response stage: the selection the projector follows, under
// the stage's names (the types live in exec/selection.h, at the bottom, where
// the planner resolves them without depending on this stage), and the
// options of a projection.
#ifndef FRAISEQL_RESPONSE_SELECTION_H_
#define FRAISEQL_RESPONSE_SELECTION_H_

#include "exec/selection.h"

namespace fraiseql::response {

using FieldSelection = exec::FieldSelection;
using SelectionSet = exec::SelectionSet;

struct ProjectionOptions {
  // Inject "__typename" as the first key of every object whose type is known
  // (the root objects, and the objects of kObject fields with a type_name),
  // unless the selection already has a kTypename field keyed "__typename".
  bool always_typename = false;
};

}  // namespace fraiseql::response

#endif  // FRAISEQL_RESPONSE_SELECTION_H_
