// planner/internal/: the field of a value operation (sum, avg, min, max,
// distinct), resolved and typed, and which kinds each operation takes.
#ifndef FRAISEQL_PLANNER_INTERNAL_AGGREGATE_H_
#define FRAISEQL_PLANNER_INTERNAL_AGGREGATE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/query.pb.h"
#include "where/schema.h"

namespace fraiseql::planner::internal {

// The operation's name in SQL and in error paths: "count", "sum", ...
absl::string_view OperationName(v1::RootField::Operation op);

// Float and Decimal: numbers read as decimals even when integral.
bool IsDecimalKind(where::FieldKind kind);

struct ResolvedField {
  std::string sql;
  where::FieldKind kind;
};

// Resolves the dotted path of an aggregate's field ("address.cityName").
absl::StatusOr<ResolvedField> ResolveAggregateField(
    const where::Schema& schema, const where::ViewDef& view,
    v1::RootField::Operation op, absl::string_view dotted,
    const std::string& root_jsonb);

}  // namespace fraiseql::planner::internal

#endif  // FRAISEQL_PLANNER_INTERNAL_AGGREGATE_H_
