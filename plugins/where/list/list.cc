// The list family (spec/where.md, section 2) on List fields ([String],
// [Int], [Author], ...), whose operand is a jsonb array
// (`t."data"->'tags'`). eq/neq (JSON value equality) and isnull belong to
// the comparison family.
//
// Values are checked against the element kind (field->element_kind, as by
// BindValue) and bound as one jsonb parameter whose JSON types are those
// the element kind is stored as: numbers as numbers (a Decimal given as
// "12.50" becomes 12.50), booleans as booleans, other scalars (UUID, Date,
// IpAddress, ...) as strings compared exactly as stored, objects as given
// (their keys are the JSONB keys, snake_case). jsonb compares numbers by
// value, so [1.0] contains 1.
//
// Semantics:
//   - contains (@>): every given item occurs in the list; containedBy (<@):
//     every element of the list occurs among the given items. Both are set
//     tests (duplicates do not count) and, for lists of objects, partial:
//     an object item is contained in an element having at least its keys
//     and values. contains: [] matches every array; containedBy: [] the
//     empty arrays. containedBy also requires the value to be an array
//     (PostgreSQL's `"a" <@ ["a"]` is true for a scalar).
//   - overlaps: some given item is contained in the list, i.e. the OR of
//     contains over the items, whatever the element kind; [] matches
//     nothing. It scans the (short) parameter, never the row's value, so a
//     row whose value is not an array simply does not match.
//   - lenEq ... lenLte compare jsonb_array_length; rows whose value is not
//     an array (null, missing, a scalar) do not match, lenNeq included.
//     The CASE guarantees jsonb_array_length never sees a non-array (an AND
//     would not: PostgreSQL may evaluate its arms in any order).
//   - anyEq: some element equals the value (JSON equality). For scalar
//     elements that is containment of the one-item list (@>, which a GIN
//     index can serve); for object and JSON elements, where containment
//     would be a partial match, an element scan with =.
//   - allEq: the list is non-empty and every element equals the value. The
//     empty list does not match: "all tags are 'dev'" is read as a claim
//     about existing tags, not a vacuous truth (use lenEq: 0 for those).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "where/kind_value.h"
#include "where/operator.h"
#include "where/operator_plugin.h"

namespace fraiseql::where {
namespace {



FieldKind ElementKind(const Operand& operand) {
  return operand.field != nullptr ? operand.field->element_kind
                                  : FieldKind::kJson;
}

// How the element kind is named in messages: "String", "Author".
std::string ElementName(const Operand& operand) {
  if (operand.field != nullptr && operand.field->element_kind ==
                                      FieldKind::kObject &&
      !operand.field->object_type.empty()) {
    return operand.field->object_type;
  }
  return std::string(FieldKindName(ElementKind(operand)));
}

// Elements held as JSON (objects, coordinates, free JSON) rather than as
// a scalar: compared by equality, not containment, in anyEq.
bool IsStructured(FieldKind kind) { return SqlTypeForKind(kind) == "jsonb"; }

// A numeric literal (JSON number grammar, possibly with leading zeros when
// it came as a Decimal string) as a valid JSON number: "-007.5" -> "-7.5".
std::string JsonNumber(absl::string_view literal) {
  std::string out;
  if (!literal.empty() && literal[0] == '-') {
    out.push_back('-');
    literal.remove_prefix(1);
  }
  while (literal.size() > 1 && literal[0] == '0' &&
         absl::ascii_isdigit(literal[1])) {
    literal.remove_prefix(1);
  }
  out.append(literal.data(), literal.size());
  return out;
}

// One item, checked against the element kind, as the JSON it is stored as.
absl::StatusOr<std::string> ItemJson(const Operand& operand,
                                     const JsonValue& item,
                                     const std::string& path) {
  FieldKind kind = ElementKind(operand);
  if (item.is_null()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value at ", path, ": null is not allowed in a list"));
  }
  if (IsStructured(kind)) {
    if ((kind == FieldKind::kObject || kind == FieldKind::kCoordinate) &&
        !item.is_object()) {
      return ExpectedError(
          path, absl::StrCat("one ", ElementName(operand), " object"), item);
    }
    RETURN_IF_ERROR(CheckJsonStorable(item, path));
    return item.ToJson();
  }
  ASSIGN_OR_RETURN(Param bound, BindValue(kind, item, path));
  absl::string_view type = SqlTypeForKind(kind);
  if (type == "numeric") return JsonNumber(bound.text);
  if (type == "boolean") return bound.text;
  return JsonValue::String(bound.text).ToJson();
}

// A list of items as one JSON array.
absl::StatusOr<std::string> ItemsJson(const Operand& operand,
                                      const JsonValue& value,
                                      absl::string_view path) {
  if (!value.is_array()) {
    return ExpectedError(
        path, absl::StrCat("a list of ", ElementName(operand), " values"),
        value);
  }
  if (static_cast<int>(value.items().size()) > operand.max_list_items) {
    return absl::InvalidArgumentError(absl::StrCat(
        "list too long at ", path, ": ", value.items().size(),
        " items, at most ", operand.max_list_items, " allowed"));
  }
  std::string json = "[";
  for (size_t i = 0; i < value.items().size(); ++i) {
    ASSIGN_OR_RETURN(std::string item,
                     ItemJson(operand, value.items()[i],
                              absl::StrCat(path, "[", i, "]")));
    if (i > 0) json.push_back(',');
    json += item;
  }
  json.push_back(']');
  return json;
}

// One item (anyEq, allEq): a list is refused unless elements are free JSON.
absl::StatusOr<std::string> OneItemJson(const Operand& operand,
                                        const JsonValue& value,
                                        absl::string_view path) {
  if (value.is_array() && ElementKind(operand) != FieldKind::kJson) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value at ", path, ": expected one ", ElementName(operand),
        " value, got a list"));
  }
  return ItemJson(operand, value, std::string(path));
}

// `CASE jsonb_typeof(x) WHEN 'array' THEN <then> END`: <then> only ever
// sees an array.
std::string IfArray(const Operand& operand, absl::string_view then) {
  return absl::StrCat("CASE jsonb_typeof(", operand.typed_sql,
                      ") WHEN 'array' THEN ", then, " END");
}

absl::StatusOr<std::string> RenderContains(const Operand& operand,
                                           const JsonValue& value,
                                           absl::string_view path,
                                           ParamList* params) {
  ASSIGN_OR_RETURN(std::string json, ItemsJson(operand, value, path));
  return absl::StrCat(operand.typed_sql, " @> ",
                      params->Add(Param{std::move(json), "jsonb"}));
}

absl::StatusOr<std::string> RenderContainedBy(const Operand& operand,
                                              const JsonValue& value,
                                              absl::string_view path,
                                              ParamList* params) {
  ASSIGN_OR_RETURN(std::string json, ItemsJson(operand, value, path));
  return absl::StrCat("(jsonb_typeof(", operand.typed_sql,
                      ") = 'array' AND ", operand.typed_sql, " <@ ",
                      params->Add(Param{std::move(json), "jsonb"}), ")");
}

absl::StatusOr<std::string> RenderOverlaps(const Operand& operand,
                                           const JsonValue& value,
                                           absl::string_view path,
                                           ParamList* params) {
  ASSIGN_OR_RETURN(std::string json, ItemsJson(operand, value, path));
  return absl::StrCat(
      "EXISTS (SELECT 1 FROM jsonb_array_elements(",
      params->Add(Param{std::move(json), "jsonb"}),
      ") AS fql_item(value) WHERE ", operand.typed_sql,
      " @> jsonb_build_array(fql_item.value))");
}

RenderFunction Length(std::string sql_operator) {
  return [sql_operator](const Operand& operand, const JsonValue& value,
                        absl::string_view path,
                        ParamList* params) -> absl::StatusOr<std::string> {
    int length;
    // SimpleAtoi refuses fractions, exponents and values beyond int.
    if (!value.is_number() || !absl::SimpleAtoi(value.text(), &length) ||
        length < 0) {
      return ExpectedError(path, "a list length (a non-negative integer)",
                           value);
    }
    return absl::StrCat(
        IfArray(operand, absl::StrCat("jsonb_array_length(",
                                      operand.typed_sql, ")")),
        " ", sql_operator, " ",
        params->Add(Param{absl::StrCat(length), "integer"}));
  };
}

absl::StatusOr<std::string> RenderAnyEq(const Operand& operand,
                                        const JsonValue& value,
                                        absl::string_view path,
                                        ParamList* params) {
  ASSIGN_OR_RETURN(std::string item, OneItemJson(operand, value, path));
  if (!IsStructured(ElementKind(operand))) {
    return absl::StrCat(
        operand.typed_sql, " @> ",
        params->Add(Param{absl::StrCat("[", item, "]"), "jsonb"}));
  }
  return absl::StrCat(
      "EXISTS (SELECT 1 FROM jsonb_array_elements(",
      IfArray(operand, operand.typed_sql),
      ") AS fql_item(value) WHERE fql_item.value = ",
      params->Add(Param{std::move(item), "jsonb"}), ")");
}

absl::StatusOr<std::string> RenderAllEq(const Operand& operand,
                                        const JsonValue& value,
                                        absl::string_view path,
                                        ParamList* params) {
  ASSIGN_OR_RETURN(std::string item, OneItemJson(operand, value, path));
  return IfArray(
      operand,
      absl::StrCat("jsonb_array_length(", operand.typed_sql,
                   ") > 0 AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(",
                   operand.typed_sql,
                   ") AS fql_item(value) WHERE fql_item.value <> ",
                   params->Add(Param{std::move(item), "jsonb"}), ")"));
}


absl::Status RegisterBuiltinListOperators(OperatorRegistry* registry) {
  constexpr char kItems[] = "a list of values of the element kind";
  constexpr char kItem[] = "one value of the element kind";
  constexpr char kLength[] = "a non-negative integer";
  std::vector<OperatorSpec> specs = {
      {"contains",
       "contains",
       {},
       kItems,
       "[$element!]",
       "The list contains every given item (jsonb @>; objects match "
       "partially); an empty list of items matches every list.",
       R"({"tags": {"contains": ["dev", "ops"]}})",
       RenderContains},
      {"contained_by",
       "containedBy",
       {"contained_by", "containedby"},
       kItems,
       "[$element!]",
       "Every element of the list is among the given items (jsonb <@); the "
       "empty list matches.",
       R"({"tags": {"containedBy": ["dev", "ops", "admin"]}})",
       RenderContainedBy},
      {"overlaps",
       "overlaps",
       {},
       kItems,
       "[$element!]",
       "The list contains at least one of the given items; an empty list of "
       "items matches nothing.",
       R"({"tags": {"overlaps": ["admin", "on-call"]}})",
       RenderOverlaps},
      {"len_eq",
       "lenEq",
       {"len_eq", "leneq"},
       kLength,
       "Int",
       "The list has exactly this many elements.",
       R"({"tags": {"lenEq": 0}})",
       Length("=")},
      {"len_neq",
       "lenNeq",
       {"len_neq", "lenneq"},
       kLength,
       "Int",
       "The list does not have this many elements (a missing or non-list "
       "value does not match).",
       R"({"tags": {"lenNeq": 1}})",
       Length("<>")},
      {"len_gt",
       "lenGt",
       {"len_gt", "lengt"},
       kLength,
       "Int",
       "The list has more elements than this.",
       R"({"tags": {"lenGt": 1}})",
       Length(">")},
      {"len_gte",
       "lenGte",
       {"len_gte", "lengte"},
       kLength,
       "Int",
       "The list has at least this many elements.",
       R"({"tags": {"lenGte": 2}})",
       Length(">=")},
      {"len_lt",
       "lenLt",
       {"len_lt", "lenlt"},
       kLength,
       "Int",
       "The list has fewer elements than this.",
       R"({"tags": {"lenLt": 3}})",
       Length("<")},
      {"len_lte",
       "lenLte",
       {"len_lte", "lenlte"},
       kLength,
       "Int",
       "The list has at most this many elements.",
       R"({"tags": {"lenLte": 1}})",
       Length("<=")},
      {"any_eq",
       "anyEq",
       {"any_eq", "anyeq"},
       kItem,
       "$element",
       "Some element equals the value (as JSON values).",
       R"({"tags": {"anyEq": "admin"}})",
       RenderAnyEq},
      {"all_eq",
       "allEq",
       {"all_eq", "alleq"},
       kItem,
       "$element",
       "The list is not empty and every element equals the value.",
       R"({"tags": {"allEq": "dev"}})",
       RenderAllEq},
  };
  return RegisterFamily(registry, "list", {FieldKind::kList}, std::move(specs));
}

}  // namespace

FRAISEQL_WHERE_OPERATOR_PLUGIN_RANKED(list, 70, RegisterBuiltinListOperators);

}  // namespace fraiseql::where
