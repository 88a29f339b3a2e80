// planner/internal/: keyset pagination: the condition that selects the rows
// after (or before) a cursor, the operator allow-list it must pass, and the
// cursor's values bound as its parameters.
#ifndef FRAISEQL_PLANNER_INTERNAL_KEYSET_H_
#define FRAISEQL_PLANNER_INTERNAL_KEYSET_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "planner/internal/order_by.h"
#include "where/operator.h"
#include "where/params.h"
#include "where/schema.h"

namespace fraiseql::planner::internal {

// Rows strictly after (or before) the cursor: the first key beyond, or equal
// and the rest beyond, nested: k1 > c1 OR (k1 = c1 AND (k2 > c2 OR ...)).
// Row-value comparison (k1, k2) > (c1, c2) would only serve one uniform
// direction without nulls.
// Written front to back into one string, the closing parentheses last:
// linear in the size of the keys.
std::string KeysetCondition(const std::vector<OrderKey>& keys,
                            const std::vector<std::string>& values, bool after);

// A cursor compares the order keys as `gt`/`lt` filters would: on a view
// with an operator allow-list, every comparison the keyset conditions use
// must be granted (planner.h).
absl::Status CheckCursorOperators(const where::OperatorRegistry& operators,
                                  const where::ViewDef& view,
                                  const std::vector<OrderKey>& keys, bool after,
                                  bool before);

// The parameter a cursor value of `key` is bound as (its value unset).
where::Param CursorParam(const OrderKey& key);

// Binds the key values of one cursor, in key order.
absl::Status BindCursor(const std::string& cursor, absl::string_view argument,
                        const std::vector<OrderKey>& keys,
                        absl::string_view fingerprint,
                        where::ParamList* params);

}  // namespace fraiseql::planner::internal

#endif  // FRAISEQL_PLANNER_INTERNAL_KEYSET_H_
