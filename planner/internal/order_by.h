// planner/internal/: orderBy input compiled into the keys of an ordering, and
// the tiebreaker that makes an ordering total for keyset pagination.
#ifndef FRAISEQL_PLANNER_INTERNAL_ORDER_BY_H_
#define FRAISEQL_PLANNER_INTERNAL_ORDER_BY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "planner/planner.h"
#include "where/schema.h"

namespace fraiseql::planner::internal {

struct Direction {
  bool descending = false;
  bool nulls_first = false;     // PostgreSQL's default: only with DESC
  bool explicit_nulls = false;  // NULLS FIRST/LAST was written
};

// One key of the ordering: a typed expression and its direction.
struct OrderKey {
  std::string sql;
  // The SQL type cursor values of this key are bound as (TypedField).
  std::string value_type;
  Direction direction;
  where::FieldKind kind = where::FieldKind::kString;
  std::string name;     // the input path, for cursor errors: "address.cityName"
  bool unique = false;  // the tiebreaker: never null, never equal
};

// The ORDER BY list of `keys` (without the keywords), every direction
// reversed when `reversed` (a backward page).
std::string RenderOrderBy(const std::vector<OrderKey>& keys, bool reversed);

// Compiles `order_by_json` (see Planner::PlanRoot) on `view`, whose row's
// JSONB is `root_jsonb`: InvalidArgument naming the input path for a bad
// entry, an unknown field, a field that cannot be ordered, a key given twice
// or an input over `limits`. Empty or null input: no keys.
absl::StatusOr<std::vector<OrderKey>> CompileOrderBy(
    const where::Schema& schema, const where::ViewDef& view,
    absl::string_view order_by_json, const std::string& root_jsonb,
    const OrderByLimits& limits);

// The unique key that makes an ordering total: the view's `id` field, else
// its `id` column.
absl::StatusOr<OrderKey> Tiebreaker(const where::ViewDef& view,
                                    const std::string& root_jsonb);

}  // namespace fraiseql::planner::internal

#endif  // FRAISEQL_PLANNER_INTERNAL_ORDER_BY_H_
