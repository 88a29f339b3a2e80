#include "planner/planner.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "where/kind_value.h"
#include "where/sql_identifier.h"

namespace fraiseql::planner {
namespace {

using where::FieldDef;
using where::FieldKind;
using where::JsonValue;
using where::ObjectType;

constexpr absl::string_view kRowAlias = "t";

std::string KnownFields(const ObjectType& type) {
  return absl::StrJoin(type.fields(), ", ",
                       [](std::string* out, const FieldDef& f) {
                         out->append(f.name);
                       });
}

absl::StatusOr<std::vector<response::FieldSelection>> ResolveSelection(
    const where::Schema& schema, const ObjectType& type,
    const google::protobuf::RepeatedPtrField<v1::Selection>& selections,
    const std::string& path) {
  std::vector<response::FieldSelection> fields;
  for (const v1::Selection& s : selections) {
    std::string field_path = absl::StrCat(path, ".", s.response_key());
    response::FieldSelection out;
    out.response_key = s.response_key();
    if (s.field_name() == "__typename") {
      if (s.fields_size() > 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid selection at ", field_path,
            ": __typename takes no sub-selection"));
      }
      out.kind = response::FieldSelection::Kind::kTypename;
      fields.push_back(std::move(out));
      continue;
    }
    const FieldDef* field = type.FindField(s.field_name());
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown field '", s.field_name(), "' at ", field_path, " on type ",
          type.name(), "; known fields: ", KnownFields(type)));
    }
    out.source_key = field->key;
    bool is_object = field->kind == FieldKind::kObject ||
                     (field->kind == FieldKind::kList &&
                      field->element_kind == FieldKind::kObject);
    if (is_object) {
      if (s.fields_size() == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid selection at ", field_path, ": ", field->name,
            " is of object type ", field->object_type,
            " and needs a sub-selection { ... }"));
      }
      const ObjectType* nested = schema.FindObjectType(field->object_type);
      out.kind = response::FieldSelection::Kind::kObject;
      out.type_name = nested->name();
      ASSIGN_OR_RETURN(out.fields,
                       ResolveSelection(schema, *nested, s.fields(), field_path));
    } else {
      if (s.fields_size() > 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid selection at ", field_path, ": ", field->name, " is a ",
            where::FieldKindName(field->kind),
            " field and takes no sub-selection"));
      }
      out.kind = field->kind == FieldKind::kJson
                     ? response::FieldSelection::Kind::kJson
                     : response::FieldSelection::Kind::kScalar;
    }
    fields.push_back(std::move(out));
  }
  return fields;
}

absl::StatusOr<std::string> ParseDirection(const JsonValue& value,
                                           const std::string& path) {
  if (value.is_string()) {
    std::string d = absl::AsciiStrToUpper(value.text());
    if (d == "ASC") return std::string("ASC");
    if (d == "DESC") return std::string("DESC");
    if (d == "ASC_NULLS_FIRST") return std::string("ASC NULLS FIRST");
    if (d == "ASC_NULLS_LAST") return std::string("ASC NULLS LAST");
    if (d == "DESC_NULLS_FIRST") return std::string("DESC NULLS FIRST");
    if (d == "DESC_NULLS_LAST") return std::string("DESC NULLS LAST");
  }
  std::string shown = value.is_string()
                          ? absl::StrCat("'", absl::CHexEscape(value.text()), "'")
                          : std::string(value.TypeDescription());
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid order direction at ", path, ": expected ASC, DESC, "
      "ASC_NULLS_FIRST, ASC_NULLS_LAST, DESC_NULLS_FIRST or DESC_NULLS_LAST, "
      "got ", shown));
}

// Appends the ORDER BY items of one orderBy object on `type`.
absl::Status CompileOrderObject(const where::Schema& schema,
                                const where::ViewDef& view,
                                const ObjectType& type,
                                const std::string& jsonb_sql, bool at_root,
                                const JsonValue& item, const std::string& path,
                                int depth, std::vector<std::string>* out) {
  if (!item.is_object() || item.members().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid orderBy at ", path,
        ": expected an object {field: direction}, got ",
        item.is_object() ? "an empty object" : item.TypeDescription()));
  }
  if (depth > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("orderBy too deep at ", path));
  }
  for (const auto& [name, value] : item.members()) {
    std::string field_path = absl::StrCat(path, ".", name);
    const FieldDef* field = type.FindField(name);
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown field '", name, "' at ", field_path, " on type ",
          type.name(), "; known fields: ", KnownFields(type)));
    }
    if (field->kind == FieldKind::kObject) {
      const ObjectType* nested = schema.FindObjectType(field->object_type);
      RETURN_IF_ERROR(CompileOrderObject(
          schema, view, *nested,
          absl::StrCat(jsonb_sql, "->", where::QuoteLiteral(field->key)),
          /*at_root=*/false, value, field_path, depth + 1, out));
      continue;
    }
    absl::string_view sql_type = where::SqlTypeForKind(field->kind);
    if (sql_type == "jsonb" || sql_type == "tsvector") {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid orderBy at ", field_path, ": cannot order by ",
          where::FieldKindName(field->kind), " field ", field->name));
    }
    ASSIGN_OR_RETURN(std::string direction, ParseDirection(value, field_path));
    std::string expression =
        at_root && !field->column.empty()
            ? absl::StrCat(kRowAlias, ".", where::QuoteIdentifier(field->column))
            : where::TypedJsonbValueSql(field->kind, jsonb_sql, field->key);
    out->push_back(absl::StrCat(expression, " ", direction));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CompileOrderBy(const where::Schema& schema,
                                           const where::ViewDef& view,
                                           absl::string_view order_by_json,
                                           const std::string& root_jsonb) {
  if (order_by_json.empty()) return std::string();
  absl::StatusOr<JsonValue> parsed = where::ParseJson(order_by_json, 40);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid orderBy input: ", parsed.status().message()));
  }
  std::vector<std::string> items;
  if (parsed->is_null()) return std::string();
  if (parsed->is_array()) {
    for (size_t i = 0; i < parsed->items().size(); ++i) {
      RETURN_IF_ERROR(CompileOrderObject(
          schema, view, view.type, root_jsonb, true, parsed->items()[i],
          absl::StrCat("orderBy[", i, "]"), 1, &items));
    }
  } else {
    RETURN_IF_ERROR(CompileOrderObject(schema, view, view.type, root_jsonb,
                                       true, *parsed, "orderBy", 1, &items));
  }
  return absl::StrJoin(items, ", ");
}

}  // namespace

absl::StatusOr<RootPlan> Planner::PlanRoot(const v1::RootField& root) const {
  const where::ViewDef* view = schema_.FindView(root.view());
  if (view == nullptr) {
    std::vector<std::string> known = schema_.ViewNames();
    return absl::NotFoundError(absl::StrCat(
        "unknown view '", root.view(), "'; registered views: ",
        known.empty() ? "none" : absl::StrJoin(known, ", ")));
  }
  RootPlan plan;
  plan.response_key = root.response_key();
  plan.is_list = root.is_list();
  plan.selection.type_name = view->type.name();
  if (root.has_selection()) {
    ASSIGN_OR_RETURN(plan.selection.fields,
                     ResolveSelection(schema_, view->type, root.selection(),
                                      absl::StrCat("selection.",
                                                   root.response_key())));
  } else {
    plan.selection.select_all = true;
  }

  std::string root_jsonb =
      view->jsonb_column.empty()
          ? std::string()
          : absl::StrCat(kRowAlias, ".",
                         where::QuoteIdentifier(view->jsonb_column));
  where::ParamList params;
  ASSIGN_OR_RETURN(std::string condition,
                   where::CompileWhereJson(*view, schema_, operators_,
                                           root.where_json(), kRowAlias,
                                           &params, limits_));
  ASSIGN_OR_RETURN(std::string order,
                   CompileOrderBy(schema_, *view, root.order_by_json(),
                                  root_jsonb));

  std::string& sql = plan.plan.sql;
  sql = absl::StrCat(
      "SELECT ",
      view->jsonb_column.empty() ? absl::StrCat("row_to_json(", kRowAlias, ")")
                                 : root_jsonb,
      "::text FROM ", where::QuoteQualifiedName(view->name), " AS ", kRowAlias);
  if (!condition.empty()) absl::StrAppend(&sql, " WHERE ", condition);
  if (!order.empty()) absl::StrAppend(&sql, " ORDER BY ", order);
  if (root.has_limit()) {
    if (root.limit() < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid limit: expected a non-negative number, got ", root.limit()));
    }
    if (root.is_list()) {
      absl::StrAppend(&sql, " LIMIT ",
                      params.Add({absl::StrCat(root.limit()), "bigint"}));
    }
  }
  if (!root.is_list()) absl::StrAppend(&sql, " LIMIT 1");
  if (root.has_offset()) {
    if (root.offset() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid offset: expected a non-negative number, got ",
                       root.offset()));
    }
    absl::StrAppend(&sql, " OFFSET ",
                    params.Add({absl::StrCat(root.offset()), "bigint"}));
  }
  plan.plan.params = params.Take();
  return plan;
}

}  // namespace fraiseql::planner
