// The comparison family: eq, neq, gt, gte, lt, lte, in, nin, isnull. Values
// are bound with the field kind's SQL type so that `age > 9` compares numbers
// and `birthDate < '2000-01-01'` compares dates, never text; against a bare
// column, with the operand's value_type (`t."age" > $1::bigint`), so an index
// on the column serves the comparison.
#include <memory>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "where/kind_value.h"
#include "where/operator.h"
#include "where/operator_plugin.h"

namespace fraiseql::where {
namespace {

// Kinds with a total order that PostgreSQL compares by value.
const std::vector<FieldKind>& OrderedKinds() {
  static const auto* kinds = new std::vector<FieldKind>{
      FieldKind::kInt,  FieldKind::kFloat,    FieldKind::kDecimal,
      FieldKind::kPort, FieldKind::kDate,     FieldKind::kDateTime};
  return *kinds;
}

// Kinds where eq/neq compare one value.
const std::vector<FieldKind>& EqualityKinds() {
  static const auto* kinds = new std::vector<FieldKind>{
      FieldKind::kString,    FieldKind::kEmail,     FieldKind::kHostname,
      FieldKind::kInt,       FieldKind::kFloat,     FieldKind::kDecimal,
      FieldKind::kPort,      FieldKind::kBoolean,   FieldKind::kUuid,
      FieldKind::kId,        FieldKind::kDate,      FieldKind::kDateTime,
      FieldKind::kIpAddress, FieldKind::kCidr,      FieldKind::kMacAddress,
      FieldKind::kLTree,     FieldKind::kDateRange, FieldKind::kJson,
      FieldKind::kList};
  return *kinds;
}

// Kinds where in/nin take a list of values.
const std::vector<FieldKind>& MembershipKinds() {
  static const auto* kinds = new std::vector<FieldKind>{
      FieldKind::kString,    FieldKind::kEmail,  FieldKind::kHostname,
      FieldKind::kInt,       FieldKind::kFloat,  FieldKind::kDecimal,
      FieldKind::kPort,      FieldKind::kUuid,   FieldKind::kId,
      FieldKind::kDate,      FieldKind::kDateTime, FieldKind::kIpAddress,
      FieldKind::kCidr,      FieldKind::kMacAddress, FieldKind::kLTree};
  return *kinds;
}

// Every kind, objects included: isnull asks whether there is a value at all.
const std::vector<FieldKind>& AllKinds() {
  static const auto* kinds = new std::vector<FieldKind>{
      FieldKind::kString,    FieldKind::kEmail,     FieldKind::kHostname,
      FieldKind::kInt,       FieldKind::kFloat,     FieldKind::kDecimal,
      FieldKind::kPort,      FieldKind::kBoolean,   FieldKind::kUuid,
      FieldKind::kId,        FieldKind::kDate,      FieldKind::kDateTime,
      FieldKind::kIpAddress, FieldKind::kCidr,      FieldKind::kMacAddress,
      FieldKind::kLTree,     FieldKind::kDateRange, FieldKind::kJson,
      FieldKind::kList,      FieldKind::kFullText,  FieldKind::kVector,
      FieldKind::kCoordinate, FieldKind::kObject};
  return *kinds;
}

OperatorInfo Info(absl::string_view name, std::vector<std::string> aliases,
                  const std::vector<FieldKind>& kinds,
                  absl::string_view value_shape, absl::string_view graphql_type,
                  absl::string_view description, absl::string_view example) {
  OperatorInfo info;
  info.key = absl::StrCat("where.compare.", name);
  info.name = std::string(name);
  info.aliases = std::move(aliases);
  info.kinds = kinds;
  info.value_shape = std::string(value_shape);
  info.graphql_type = std::string(graphql_type);
  info.description = std::string(description);
  info.example = std::string(example);
  return info;
}

RenderFunction Compare(std::string sql_operator) {
  return [sql_operator](const Operand& operand, const JsonValue& value,
                        absl::string_view path,
                        ParamList* params) -> absl::StatusOr<std::string> {
    if (value.is_array() && operand.kind != FieldKind::kList &&
        operand.kind != FieldKind::kJson) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid value at ", path, ": expected one ",
          FieldKindName(operand.kind), " value, got a list"));
    }
    ASSIGN_OR_RETURN(Param param, BindValueAs(operand.kind, operand.value_type,
                                              value, path));
    return absl::StrCat(operand.typed_sql, " ", sql_operator, " ",
                        params->Add(std::move(param)));
  };
}

absl::StatusOr<std::string> RenderIn(const Operand& operand,
                                     const JsonValue& value,
                                     absl::string_view path, ParamList* params,
                                     bool negate) {
  ASSIGN_OR_RETURN(Param param,
                   BindListAs(operand.kind, operand.value_type, value, path,
                              operand.max_list_items));
  // One array parameter: the SQL text does not depend on the list length,
  // and an empty list is no SQL error (= ANY('{}') is false, <> ALL true).
  return absl::StrCat(operand.typed_sql, negate ? " <> ALL(" : " = ANY(",
                      params->Add(std::move(param)), ")");
}

absl::StatusOr<std::string> RenderIsNull(const Operand& operand,
                                         const JsonValue& value,
                                         absl::string_view path, ParamList*) {
  if (!value.is_bool()) return ExpectedError(path, "true or false", value);
  // ->> yields SQL NULL both for a missing key and for a JSON null.
  return absl::StrCat(operand.text_sql,
                      value.bool_value() ? " IS NULL" : " IS NOT NULL");
}

absl::Status RegisterBuiltinComparisonOperators(OperatorRegistry* registry) {
  constexpr absl::string_view kOne = "one value of the field's kind";
  struct Spec {
    absl::string_view name;
    std::vector<std::string> aliases;
    const char* sql;
    bool ordered;
    absl::string_view description;
    absl::string_view example;
  };
  const Spec specs[] = {
      {"eq", {}, "=", false,
       "Equal to the value, compared as the field's kind (numbers as "
       "numbers, JSON and lists as JSON values).",
       R"({"age": {"eq": 30}})"},
      {"neq", {"ne"}, "<>", false,
       "Not equal to the value; rows where the field is null or missing do "
       "not match.",
       R"({"email": {"neq": "a@example.com"}})"},
      {"gt", {}, ">", true, "Greater than the value.", R"({"age": {"gt": 9}})"},
      {"gte", {}, ">=", true, "Greater than or equal to the value.",
       R"({"birthDate": {"gte": "2000-01-01"}})"},
      {"lt", {}, "<", true, "Less than the value.",
       R"({"balance": {"lt": 100.50}})"},
      {"lte", {}, "<=", true, "Less than or equal to the value.",
       R"({"createdAt": {"lte": "2024-03-05T10:15:00+02:00"}})"},
  };
  for (const Spec& s : specs) {
    RETURN_IF_ERROR(registry->Register(MakeOperator(
        Info(s.name, s.aliases, s.ordered ? OrderedKinds() : EqualityKinds(),
             kOne, "$field", s.description, s.example),
        Compare(s.sql))));
  }
  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info("in", {"in_"}, MembershipKinds(),
           "a list of values of the field's kind", "[$field!]",
           "One of the listed values; an empty list matches nothing.",
           R"({"age": {"in": [18, 21, 65]}})"),
      [](const Operand& o, const JsonValue& v, absl::string_view p,
         ParamList* params) { return RenderIn(o, v, p, params, false); })));
  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info("nin", {"notIn", "not_in"}, MembershipKinds(),
           "a list of values of the field's kind", "[$field!]",
           "None of the listed values (null and missing values do not "
           "match); an empty list matches every row, null and missing "
           "values included.",
           R"({"email": {"nin": ["a@example.com"]}})"),
      [](const Operand& o, const JsonValue& v, absl::string_view p,
         ParamList* params) { return RenderIn(o, v, p, params, true); })));
  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info("isnull", {"isNull", "is_null"}, AllKinds(), "true or false",
           "Boolean",
           "true: the key is missing or its value is null; false: it has a "
           "value.",
           R"({"nickname": {"isnull": true}})"),
      RenderIsNull)));
  return absl::OkStatus();
}

}  // namespace

FRAISEQL_WHERE_OPERATOR_PLUGIN_RANKED(comparison, 10,
                                      RegisterBuiltinComparisonOperators);

}  // namespace fraiseql::where
