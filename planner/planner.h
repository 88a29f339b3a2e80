// planner/: the second stage. Turns one root field of a query definition into
// a Plan (SQL text plus typed bound parameters) for the executor, and the
// resolved selection tree for the response stage. Nothing reaches the
// database before the whole root field has been checked here.
#ifndef FRAISEQL_PLANNER_PLANNER_H_
#define FRAISEQL_PLANNER_PLANNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/query.pb.h"
#include "response/selection.h"
#include "where/filter.h"
#include "where/operator.h"
#include "where/params.h"
#include "where/schema.h"

namespace fraiseql::planner {

// What the executor runs: one statement whose only result column is the row
// as JSON text. The same input shape always yields the same `sql`, so
// statements can be prepared and cached by it.
struct Plan {
  std::string sql;
  std::vector<where::Param> params;
};

struct RootPlan {
  std::string response_key;
  bool is_list = true;
  Plan plan;
  response::SelectionSet selection;
};

// Plans root fields against a schema and an operator registry, both of which
// must outlive it. Immutable; thread-safe.
class Planner {
 public:
  Planner(const where::Schema& schema, const where::OperatorRegistry& operators,
          where::FilterLimits limits = {})
      : schema_(schema), operators_(operators), limits_(limits) {}

  // Plans `root`: the view's rows filtered by `where_json`, ordered by
  // `order_by_json` (a list of {field: ASC|DESC|ASC_NULLS_FIRST|...}, nested
  // paths as nested objects, typed by field kind), then `offset`/`limit`
  // (bound parameters). A single-object root reads at most one row.
  // Returns NotFound for an unknown view and InvalidArgument, naming the
  // input path, for anything else that is wrong in the input.
  absl::StatusOr<RootPlan> PlanRoot(const v1::RootField& root) const;

 private:
  const where::Schema& schema_;
  const where::OperatorRegistry& operators_;
  where::FilterLimits limits_;
};

}  // namespace fraiseql::planner

#endif  // FRAISEQL_PLANNER_PLANNER_H_
