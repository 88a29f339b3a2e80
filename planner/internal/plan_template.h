// planner/internal/: the template of a plan, what the plan cache keeps (see
// Planner in planner.h). Built by Planner::BuildTemplate
// (planner/template_builder.cc), filled with values by Planner::PlanRoot.
#ifndef FRAISEQL_PLANNER_INTERNAL_PLAN_TEMPLATE_H_
#define FRAISEQL_PLANNER_INTERNAL_PLAN_TEMPLATE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "exec/selection.h"
#include "planner/internal/order_by.h"
#include "planner/planner.h"

namespace fraiseql::planner {

// The part of a plan that depends only on the cache key.
struct Planner::Template {
  ResultShape shape = ResultShape::kList;
  std::string sql;
  std::string count_sql;  // kConnection with totalCount
  std::shared_ptr<const exec::SelectionSet> selection;
  std::shared_ptr<const CompiledSelection> compiled;
  // kConnection: the order keys, tiebreaker last, that cursors hold.
  std::vector<internal::OrderKey> cursor_keys;
  std::string fingerprint;
  bool backward = false;
  bool decimal_numbers = false;
  size_t param_count = 0;  // after binding every value
};

}  // namespace fraiseql::planner

#endif  // FRAISEQL_PLANNER_INTERNAL_PLAN_TEMPLATE_H_
