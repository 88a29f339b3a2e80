// where/: compiles a `where` input (JSON, the GraphQL filter shape) on a view
// into one boolean SQL expression over the row alias plus bound parameters.
// Every error is found here, before any SQL is sent.
#ifndef FRAISEQL_WHERE_FILTER_H_
#define FRAISEQL_WHERE_FILTER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "where/json_value.h"
#include "where/operator.h"
#include "where/params.h"
#include "where/schema.h"

namespace fraiseql::where {

struct FilterLimits {
  size_t max_input_bytes = 64 * 1024;
  int max_depth = 16;        // nesting of AND/OR/NOT and object fields
  int max_conditions = 256;  // operator applications
  int max_list_items = 1000; // items of one list value (`in`, ...)
};

// Compiles `where` (already parsed) against `view`. Field names resolve by
// GraphQL name or JSONB key; `field: scalar` is shorthand for `{eq: scalar}`;
// nested object fields filter the nested JSONB object; AND/OR/NOT nest freely
// and are ANDed with their sibling fields; an operator whose value is null is
// skipped. Returns the SQL expression, or "" when nothing is filtered.
// InvalidArgument naming the input path (`where.address.cityName.eq`) and
// what was expected, for unknown fields and operators, operators that do
// not apply to the field's kind, values that do not fit, and limits.
absl::StatusOr<std::string> CompileWhere(const ViewDef& view,
                                         const Schema& schema,
                                         const OperatorRegistry& operators,
                                         const JsonValue& where,
                                         absl::string_view row_alias,
                                         ParamList* params,
                                         const FilterLimits& limits = {});

// Parses the JSON text (within limits) and compiles it; "" or "null" or "{}"
// mean no filter.
absl::StatusOr<std::string> CompileWhereJson(const ViewDef& view,
                                             const Schema& schema,
                                             const OperatorRegistry& operators,
                                             absl::string_view where_json,
                                             absl::string_view row_alias,
                                             ParamList* params,
                                             const FilterLimits& limits = {});

}  // namespace fraiseql::where

#endif  // FRAISEQL_WHERE_FILTER_H_
