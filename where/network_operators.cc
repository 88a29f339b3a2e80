// The network family (spec/where.md, section 2).
#include "where/operator.h"

namespace fraiseql::where {

absl::Status RegisterBuiltinNetworkOperators(OperatorRegistry* registry) {
  (void)registry;
  return absl::OkStatus();
}

}  // namespace fraiseql::where
