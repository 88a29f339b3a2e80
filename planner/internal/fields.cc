#include "planner/internal/fields.h"

#include "absl/strings/str_cat.h"
#include "where/json_value.h"

namespace fraiseql::planner::internal {

using where::FieldDef;
using where::ObjectType;

absl::Status UnknownField(absl::string_view name, absl::string_view path,
                          const ObjectType& type) {
  return absl::InvalidArgumentError(
      absl::StrCat("unknown field '", where::PrintableKey(name), "' at ", path,
                   " on type ", type.name(), where::SuggestFields(name, type)));
}

where::TypedField TypeField(const where::ViewDef& view, const FieldDef& field,
                            absl::string_view jsonb_sql, bool at_root) {
  return where::TypeField(view, field, kRowAlias, jsonb_sql, at_root);
}

}  // namespace fraiseql::planner::internal
