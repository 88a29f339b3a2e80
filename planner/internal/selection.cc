#include "planner/internal/selection.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "planner/internal/fields.h"

namespace fraiseql::planner::internal {

using where::FieldDef;
using where::FieldKind;
using where::ObjectType;

namespace {

// GraphQL field merging: fields with the same response key are one field
// (their sub-selections are merged); the same key on two different fields
// is an error. One hash lookup per field.
absl::StatusOr<google::protobuf::RepeatedPtrField<v1::Selection>> MergeSameKeys(
    const google::protobuf::RepeatedPtrField<v1::Selection>& in,
    const std::string& path) {
  google::protobuf::RepeatedPtrField<v1::Selection> out;
  // Response key -> its index in `out` (RepeatedPtrField elements never
  // move, but indices are as cheap and obviously stable).
  absl::flat_hash_map<absl::string_view, int> index;
  index.reserve(in.size());
  for (const v1::Selection& s : in) {
    auto [it, inserted] = index.try_emplace(s.response_key(), out.size());
    v1::Selection* same = inserted ? nullptr : out.Mutable(it->second);
    if (same == nullptr) {
      *out.Add() = s;
    } else if (same->field_name() != s.field_name()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid selection at ", path, ".", s.response_key(), ": '",
          s.response_key(), "' names both ", same->field_name(), " and ",
          s.field_name(), "; give one of them another alias"));
    } else {
      for (const v1::Selection& sub : s.fields()) *same->add_fields() = sub;
    }
  }
  return out;
}

}  // namespace

std::vector<exec::FieldSelection> SelectAllOverrides(
    const where::Schema& schema, const ObjectType& type) {
  std::vector<exec::FieldSelection> overrides;
  for (const FieldDef& field : type.fields()) {
    const bool is_object = field.kind == FieldKind::kObject ||
                           (field.kind == FieldKind::kList &&
                            field.element_kind == FieldKind::kObject);
    if (field.kind != FieldKind::kJson && !is_object) continue;
    exec::FieldSelection out;
    out.response_key = field.name;
    out.source_key = field.key;
    if (field.kind == FieldKind::kJson) {
      out.kind = exec::FieldSelection::Kind::kJson;
    } else {
      const ObjectType* nested = schema.FindObjectType(field.object_type);
      if (nested == nullptr) continue;
      out.kind = exec::FieldSelection::Kind::kObject;
      out.type_name = nested->name();
      out.select_all = true;
      out.fields = SelectAllOverrides(schema, *nested);
    }
    overrides.push_back(std::move(out));
  }
  return overrides;
}

absl::Status CheckSelectionLimits(
    const google::protobuf::RepeatedPtrField<v1::Selection>& root,
    const SelectionLimits& limits) {
  struct Level {
    const google::protobuf::RepeatedPtrField<v1::Selection>* fields;
    int depth;  // levels of `{ }` around these fields
  };
  std::vector<Level> stack = {{&root, 0}};
  int fields = 0;
  int aliases = 0;
  while (!stack.empty()) {
    Level level = stack.back();
    stack.pop_back();
    if (level.depth > limits.max_selection_depth) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid selection: more than ", limits.max_selection_depth,
          " levels of nesting (limit max_selection_depth)"));
    }
    for (const v1::Selection& s : *level.fields) {
      if (++fields > limits.max_selection_fields) {
        return SelectionLimitError(limits.max_selection_fields, "fields",
                                   "max_selection_fields");
      }
      if (s.response_key() != s.field_name() &&
          ++aliases > limits.max_selection_aliases) {
        return SelectionLimitError(limits.max_selection_aliases, "aliases",
                                   "max_selection_aliases");
      }
      if (s.fields_size() > 0) stack.push_back({&s.fields(), level.depth + 1});
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<exec::FieldSelection>> ResolveSelection(
    const where::Schema& schema, const ObjectType& type,
    const google::protobuf::RepeatedPtrField<v1::Selection>& requested,
    const std::string& path) {
  ASSIGN_OR_RETURN(auto selections, MergeSameKeys(requested, path));
  std::vector<exec::FieldSelection> fields;
  for (const v1::Selection& s : selections) {
    std::string field_path = absl::StrCat(path, ".", s.response_key());
    exec::FieldSelection out;
    out.response_key = s.response_key();
    if (s.field_name() == "__typename") {
      if (s.fields_size() > 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid selection at ", field_path,
                         ": __typename takes no sub-selection"));
      }
      out.kind = exec::FieldSelection::Kind::kTypename;
      fields.push_back(std::move(out));
      continue;
    }
    const FieldDef* field = type.FindField(s.field_name());
    if (field == nullptr) return UnknownField(s.field_name(), field_path, type);
    out.source_key = field->key;
    bool is_object = field->kind == FieldKind::kObject ||
                     (field->kind == FieldKind::kList &&
                      field->element_kind == FieldKind::kObject);
    if (is_object) {
      if (s.fields_size() == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid selection at ", field_path, ": ", field->name,
                         " is of object type ", field->object_type,
                         " and needs a sub-selection { ... }"));
      }
      const ObjectType* nested = schema.FindObjectType(field->object_type);
      out.kind = exec::FieldSelection::Kind::kObject;
      out.type_name = nested->name();
      ASSIGN_OR_RETURN(out.fields, ResolveSelection(schema, *nested, s.fields(),
                                                    field_path));
    } else {
      if (s.fields_size() > 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid selection at ", field_path, ": ", field->name,
                         " is a ", where::FieldKindName(field->kind),
                         " field and takes no sub-selection"));
      }
      out.kind = field->kind == FieldKind::kJson
                     ? exec::FieldSelection::Kind::kJson
                     : exec::FieldSelection::Kind::kScalar;
    }
    fields.push_back(std::move(out));
  }
  return fields;
}

}  // namespace fraiseql::planner::internal
