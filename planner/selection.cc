#include "planner/selection.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "planner/internal/selection.h"

namespace fraiseql::planner {

using internal::CheckSelectionLimits;
using internal::ResolveSelection;

absl::StatusOr<std::vector<exec::FieldSelection>> ResolveSelectionForType(
    const where::Schema& schema, absl::string_view type_name,
    const google::protobuf::RepeatedPtrField<v1::Selection>& selection,
    const std::string& path) {
  const where::ObjectType* type = schema.FindObjectType(type_name);
  if (type == nullptr) {
    for (const std::string& view : schema.ViewNames()) {
      const where::ViewDef* def = schema.FindView(view);
      if (def->type.name() == type_name) type = &def->type;
    }
  }
  if (type == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("unknown type '", type_name, "' at ", path,
                     "; register it with add_type or as a view's type"));
  }
  RETURN_IF_ERROR(CheckSelectionLimits(selection, SelectionLimits()));
  return ResolveSelection(schema, *type, selection, path);
}

}  // namespace fraiseql::planner
