// planner/internal/: what every part of a plan shares: the row's alias in the
// statement, fields typed for SQL, and the error for an unknown field.
#ifndef FRAISEQL_PLANNER_INTERNAL_FIELDS_H_
#define FRAISEQL_PLANNER_INTERNAL_FIELDS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "where/schema.h"
#include "where/typed_field.h"

namespace fraiseql::planner::internal {

// The view's row in every statement: `FROM <view> AS t`.
inline constexpr absl::string_view kRowAlias = "t";

// InvalidArgument for the unknown field `name` at `path` on `type`, with a
// few close names, never the type's whole list.
absl::Status UnknownField(absl::string_view name, absl::string_view path,
                          const where::ObjectType& type);

// A field typed as the filter compiler types it (where/typed_field.h): a
// bare column where its declared type serves the kind, so that ORDER BY and
// keyset conditions can use the column's index.
where::TypedField TypeField(const where::ViewDef& view,
                            const where::FieldDef& field,
                            absl::string_view jsonb_sql, bool at_root);

}  // namespace fraiseql::planner::internal

#endif  // FRAISEQL_PLANNER_INTERNAL_FIELDS_H_
