// The vector family (spec/where.md, section 2).
#include "where/operator.h"

namespace fraiseql::where {

absl::Status RegisterBuiltinVectorOperators(OperatorRegistry* registry) {
  (void)registry;
  return absl::OkStatus();
}

}  // namespace fraiseql::where
