#include "where/filter.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "where/kind_value.h"
#include "where/sql_identifier.h"
#include "where/typed_field.h"

namespace fraiseql::where {
namespace {

class Compiler {
 public:
  Compiler(const ViewDef& view, const Schema& schema,
           const OperatorRegistry& operators, absl::string_view row_alias,
           ParamList* params, const FilterLimits& limits)
      : view_(view),
        schema_(schema),
        operators_(operators),
        row_alias_(row_alias),
        params_(params),
        limits_(limits) {}

  // Compiles one filter object on `type`, whose JSONB object is `jsonb_sql`
  // (empty at the root of a view without a JSONB column). `id_column`, when
  // not empty, is the foreign-key column that stands for this object's `id`
  // field (the object of an FK field at the root), at this level and inside
  // its AND/OR/NOT. Returns the conditions, to be ANDed by the caller.
  absl::StatusOr<std::vector<std::string>> CompileObject(
      const JsonValue& filter, const ObjectType& type,
      const std::string& jsonb_sql, bool at_root, const std::string& path,
      int depth, const std::string& id_column = "") {
    if (!filter.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid filter at ", path, ": expected an object, got ",
                       filter.TypeDescription()));
    }
    if (depth > limits_.max_depth) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter too deep at ", path, ": more than ",
                       limits_.max_depth, " levels of nesting"));
    }
    std::vector<std::string> conditions;
    for (const auto& [key, value] : filter.members()) {
      std::string member_path = absl::StrCat(path, ".", PrintableKey(key));
      if (key == "AND" || key == "OR") {
        ASSIGN_OR_RETURN(std::string sql,
                         CompileList(key, value, type, jsonb_sql, at_root,
                                     member_path, depth + 1, id_column));
        if (!sql.empty()) conditions.push_back(std::move(sql));
        continue;
      }
      if (key == "NOT") {
        if (value.is_null()) continue;
        ASSIGN_OR_RETURN(std::vector<std::string> inner,
                         CompileObject(value, type, jsonb_sql, at_root,
                                       member_path, depth + 1, id_column));
        if (!inner.empty()) {
          conditions.push_back(absl::StrCat("NOT (", Join(inner, " AND "), ")"));
        }
        continue;
      }
      const FieldDef* field = type.FindField(key);
      if (field == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unknown field '", PrintableKey(key), "' at ", member_path,
            " on type ", type.name(), SuggestFields(key, type)));
      }
      if (value.is_null()) continue;
      if (!id_column.empty() && field->key == "id" &&
          field->kind != FieldKind::kObject) {
        // The declared FK column stands for the related object's id.
        FieldDef column_field = *field;
        column_field.column = id_column;
        ASSIGN_OR_RETURN(std::vector<std::string> leaf,
                         CompileLeaf(column_field, value, jsonb_sql,
                                     /*at_root=*/true, member_path));
        conditions.insert(conditions.end(), leaf.begin(), leaf.end());
        continue;
      }
      if (field->kind == FieldKind::kObject) {
        ASSIGN_OR_RETURN(std::vector<std::string> inner,
                         CompileObjectField(*field, value, jsonb_sql, at_root,
                                            member_path, depth));
        conditions.insert(conditions.end(), inner.begin(), inner.end());
        continue;
      }
      ASSIGN_OR_RETURN(std::vector<std::string> leaf,
                       CompileLeaf(*field, value, jsonb_sql, at_root,
                                   member_path));
      conditions.insert(conditions.end(), leaf.begin(), leaf.end());
    }
    return conditions;
  }

 private:
  // An object field: `{subfield: ...}` filters the nested JSONB object;
  // `isnull` (when the type has no field of that name) tests the object
  // itself; on a foreign-key object at the root, `id` filters the declared
  // column, also inside AND/OR/NOT.
  absl::StatusOr<std::vector<std::string>> CompileObjectField(
      const FieldDef& field, const JsonValue& value,
      const std::string& jsonb_sql, bool at_root,
      const std::string& member_path, int depth) {
    if (!value.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid filter at ", member_path, ": ", field.name,
          " is an object of type ", field.object_type,
          "; expected a filter object on its fields, got ",
          value.TypeDescription()));
    }
    const ObjectType* nested = schema_.FindObjectType(field.object_type);
    std::string nested_jsonb =
        absl::StrCat(jsonb_sql, "->", QuoteLiteral(field.key));
    std::vector<std::pair<std::string, JsonValue>> rest;
    std::vector<std::string> conditions;
    for (const auto& [key, sub] : value.members()) {
      std::string sub_path =
          absl::StrCat(member_path, ".", PrintableKey(key));
      if (nested->FindField(key) == nullptr &&
          operators_.Find(key, FieldKind::kObject) != nullptr) {
        if (sub.is_null()) continue;
        Operand operand = MakeOperand(field, jsonb_sql, at_root);
        ASSIGN_OR_RETURN(std::string sql, Apply(key, operand, sub, sub_path));
        conditions.push_back(std::move(sql));
        continue;
      }
      rest.emplace_back(key, sub);
    }
    if (!rest.empty()) {
      ASSIGN_OR_RETURN(std::vector<std::string> inner,
                       CompileObject(JsonValue::Object(std::move(rest)),
                                     *nested, nested_jsonb, /*at_root=*/false,
                                     member_path, depth + 1,
                                     at_root ? field.fk_column : ""));
      conditions.insert(conditions.end(), inner.begin(), inner.end());
    }
    return conditions;
  }

  // A scalar field: `field: value` (eq) or `field: {op: value, ...}`.
  absl::StatusOr<std::vector<std::string>> CompileLeaf(
      const FieldDef& field, const JsonValue& value,
      const std::string& jsonb_sql, bool at_root,
      const std::string& member_path) {
    std::vector<std::string> conditions;
    if (value.is_null()) return conditions;
    Operand operand = MakeOperand(field, jsonb_sql, at_root);
    if (!value.is_object()) {
      ASSIGN_OR_RETURN(std::string sql, Apply("eq", operand, value, member_path));
      conditions.push_back(std::move(sql));
      return conditions;
    }
    for (const auto& [op_name, op_value] : value.members()) {
      std::string op_path =
          absl::StrCat(member_path, ".", PrintableKey(op_name));
      if (op_value.is_null()) continue;
      ASSIGN_OR_RETURN(std::string sql,
                       Apply(op_name, operand, op_value, op_path));
      conditions.push_back(std::move(sql));
    }
    return conditions;
  }

  absl::StatusOr<std::string> CompileList(const std::string& logic,
                                          const JsonValue& value,
                                          const ObjectType& type,
                                          const std::string& jsonb_sql,
                                          bool at_root, const std::string& path,
                                          int depth,
                                          const std::string& id_column) {
    if (value.is_null()) return std::string();
    if (!value.is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid filter at ", path, ": ", logic,
                       " expects a list of filter objects, got ",
                       value.TypeDescription()));
    }
    std::vector<std::string> parts;
    for (size_t i = 0; i < value.items().size(); ++i) {
      std::string item_path = absl::StrCat(path, "[", i, "]");
      ASSIGN_OR_RETURN(std::vector<std::string> inner,
                       CompileObject(value.items()[i], type, jsonb_sql, at_root,
                                     item_path, depth, id_column));
      // An empty item ({}) matches every row.
      parts.push_back(inner.empty() ? "TRUE" : Join(inner, " AND "));
    }
    if (parts.empty()) {
      // The empty conjunction is true, the empty disjunction false.
      return logic == "AND" ? std::string() : std::string("FALSE");
    }
    if (parts.size() == 1) return parts[0];
    std::string glue = absl::StrCat(" ", logic, " ");
    return absl::StrCat("(", absl::StrJoin(parts, glue), ")");
  }

  absl::StatusOr<std::string> Apply(absl::string_view op_name,
                                    const Operand& operand,
                                    const JsonValue& value,
                                    const std::string& path) {
    const Operator* op = operators_.Find(op_name, operand.kind);
    if (op == nullptr) {
      if (operators_.Knows(op_name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "operator '", op_name, "' at ", path, " does not apply to ",
            FieldKindName(operand.kind), " field ", operand.field->name,
            "; it applies to ", KindList(operators_.KindsOf(op_name))));
      }
      std::string hint = operators_.Suggest(op_name);
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown operator '", PrintableKey(op_name), "' at ", path,
          hint.empty() ? "" : absl::StrCat("; did you mean ", hint, "?")));
    }
    if (!view_.allowed_operators.empty() &&
        std::find_if(view_.allowed_operators.begin(),
                     view_.allowed_operators.end(),
                     [op](const std::string& allowed) {
                       return allowed == op->info().name ||
                              allowed == op->info().key;
                     }) == view_.allowed_operators.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "operator '", op->info().name, "' at ", path,
          " is not allowed on view ", view_.name, "; allowed: ",
          absl::StrJoin(view_.allowed_operators, ", ")));
    }
    if (++conditions_ > limits_.max_conditions) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter has too many conditions at ", path,
                       ": at most ", limits_.max_conditions, " are allowed"));
    }
    return op->Render(operand, value, path, params_);
  }

  Operand MakeOperand(const FieldDef& field, const std::string& jsonb_sql,
                      bool at_root) const {
    Operand operand;
    operand.field = &field;
    operand.kind = field.kind;
    operand.text_search_config = view_.text_search_config;
    operand.max_list_items = limits_.max_list_items;
    TypedField typed = TypeField(view_, field, row_alias_, jsonb_sql, at_root);
    operand.typed_sql = std::move(typed.sql);
    operand.value_type = std::move(typed.value_type);
    if (at_root && !field.column.empty()) {
      std::string column =
          absl::StrCat(row_alias_, ".", QuoteIdentifier(field.column));
      operand.text_sql = absl::StrCat(column, "::text");
      operand.jsonb_sql = absl::StrCat("to_jsonb(", column, ")");
      return operand;
    }
    operand.text_sql = absl::StrCat(jsonb_sql, "->>", QuoteLiteral(field.key));
    operand.jsonb_sql = absl::StrCat(jsonb_sql, "->", QuoteLiteral(field.key));
    return operand;
  }

  static std::string KindList(const std::vector<FieldKind>& kinds) {
    return absl::StrJoin(kinds, ", ", [](std::string* out, FieldKind k) {
      out->append(std::string(FieldKindName(k)));
    });
  }

  static std::string Join(const std::vector<std::string>& parts,
                          absl::string_view glue) {
    if (parts.size() == 1) return parts[0];
    return absl::StrCat("(", absl::StrJoin(parts, glue), ")");
  }

  const ViewDef& view_;
  const Schema& schema_;
  const OperatorRegistry& operators_;
  std::string row_alias_;
  ParamList* params_;
  FilterLimits limits_;
  int conditions_ = 0;
};

}  // namespace

absl::StatusOr<std::string> CompileWhere(const ViewDef& view,
                                         const Schema& schema,
                                         const OperatorRegistry& operators,
                                         const JsonValue& where,
                                         absl::string_view row_alias,
                                         ParamList* params,
                                         const FilterLimits& limits) {
  if (where.is_null()) return std::string();
  Compiler compiler(view, schema, operators, row_alias, params, limits);
  std::string root_jsonb =
      view.jsonb_column.empty()
          ? std::string()
          : absl::StrCat(row_alias, ".", QuoteIdentifier(view.jsonb_column));
  ASSIGN_OR_RETURN(std::vector<std::string> conditions,
                   compiler.CompileObject(where, view.type, root_jsonb,
                                          /*at_root=*/true, "where", 1));
  if (conditions.empty()) return std::string();
  return absl::StrJoin(conditions, " AND ");
}

absl::StatusOr<std::string> CompileWhereJson(const ViewDef& view,
                                             const Schema& schema,
                                             const OperatorRegistry& operators,
                                             absl::string_view where_json,
                                             absl::string_view row_alias,
                                             ParamList* params,
                                             const FilterLimits& limits) {
  if (where_json.size() > limits.max_input_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("where input too large: ", where_json.size(),
                     " bytes, at most ", limits.max_input_bytes, " allowed"));
  }
  if (where_json.empty()) return std::string();
  absl::StatusOr<JsonValue> where = ParseJson(where_json, limits.max_depth * 2 + 2);
  if (!where.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid where input: ", where.status().message()));
  }
  return CompileWhere(view, schema, operators, *where, row_alias, params,
                      limits);
}

}  // namespace fraiseql::where
