// The date range family (spec/where.md, section 2).
#include "where/operator.h"

namespace fraiseql::where {

absl::Status RegisterBuiltinDateRangeOperators(OperatorRegistry* registry) {
  (void)registry;
  return absl::OkStatus();
}

}  // namespace fraiseql::where
