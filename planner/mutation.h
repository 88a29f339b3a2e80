// planner/: plans a mutation field (proto/query.proto MutationField): the
// call of its PostgreSQL function with bound arguments, and the selections
// its outcome is written with. The repository runs the call in a
// transaction and commits or rolls back by the returned status.
#ifndef FRAISEQL_PLANNER_MUTATION_H_
#define FRAISEQL_PLANNER_MUTATION_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "exec/selection.h"
#include "planner/planner.h"
#include "proto/query.pb.h"
#include "where/schema.h"

namespace fraiseql::planner {

// What a mutation_response status means. Success statuses ("success",
// "created", "updated", "deleted", also followed by ":<detail>") commit;
// every other status rolls back and is reported with the error type and an
// HTTP-like code by its prefix: "noop:" and "validation:" 422,
// "unauthorized:" 401, "forbidden:" 403, "not_found:" 404, "conflict:" 409,
// "timeout:" 408, "failed:" and anything unknown 500.
struct MutationOutcome {
  bool success = false;
  int code = 500;  // 200 for success
};
MutationOutcome ClassifyMutationStatus(absl::string_view status);

struct MutationPlan {
  std::string response_key;
  // SELECT row_to_json(m)::text, m.status::text FROM fn($1, ..., $n::jsonb)
  // AS m: the context arguments bound untyped (the server resolves them
  // against the function's parameter types), the input, last, as jsonb:
  // its text as given (checked to be one JSON object); the repository sends
  // it in the canonical compact form of the response stage.
  Plan plan;
  // How to write each outcome: the row of mutation_response (keys status,
  // message, entity_id, entity_type, entity, updated_fields, cascade,
  // metadata; the error outcome also `code`).
  std::shared_ptr<const exec::SelectionSet> success;
  std::shared_ptr<const exec::SelectionSet> error;
};

// Checks and plans `field`. `context_value` returns the request context's
// value for a context argument ("tenant_id", "user_id", "app.<name>"), or
// nullopt when the context has none. Errors (InvalidArgument unless noted):
// a bad function name, an input that is not a JSON object, a context
// argument that is unknown or missing from the context, a selection of an
// unknown field; NotFound for an unknown entity type.
absl::StatusOr<MutationPlan> PlanMutation(
    const where::Schema& schema, const v1::MutationField& field,
    absl::FunctionRef<std::optional<std::string>(absl::string_view)>
        context_value);

}  // namespace fraiseql::planner

#endif  // FRAISEQL_PLANNER_MUTATION_H_
