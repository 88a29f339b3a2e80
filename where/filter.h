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

// Bounds on one `where` input. Every one is checked while the input is read
// or compiled, so work stops at the limit; over a limit the call fails with
// InvalidArgument naming where and the limit's value. The planner's other
// limits are SelectionLimits (planner/selection_text.h) and OrderByLimits
// (planner/planner.h).
struct FilterLimits {
  // Bytes of `where` JSON text, checked before it is parsed (CompileWhereJson):
  // "where input too large: N bytes, at most 65536 allowed".
  size_t max_input_bytes = 64 * 1024;
  // Levels of AND/OR/NOT and nested object fields: "filter too deep at
  // <path>: more than 16 levels of nesting". The JSON text itself may nest
  // at most 2 * max_depth + 2 levels ("invalid JSON at byte N: nesting
  // deeper than 34 levels").
  int max_depth = 16;
  // Operator applications in the whole filter: "filter has too many
  // conditions at <path>: at most 256 are allowed".
  int max_conditions = 256;
  // Items of one list value (`in`, `nin`, list operators): "list too long
  // at <path>: N items, at most 1000 allowed".
  int max_list_items = 1000;
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
