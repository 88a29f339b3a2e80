// The comparison family: eq, neq, gt, gte, lt, lte. Values are bound with the
// field kind's SQL type so that `age > 9` compares numbers and `birthDate <
// '2000-01-01'` compares dates, never text.
#include <memory>

#include "absl/strings/str_cat.h"
#include "where/kind_value.h"
#include "where/operator.h"

namespace fraiseql::where {
namespace {

const std::vector<FieldKind>& EqualityKinds() {
  static const auto* kinds = new std::vector<FieldKind>{
      FieldKind::kString,    FieldKind::kEmail,      FieldKind::kHostname,
      FieldKind::kInt,       FieldKind::kFloat,      FieldKind::kDecimal,
      FieldKind::kPort,      FieldKind::kBoolean,    FieldKind::kUuid,
      FieldKind::kId,        FieldKind::kDate,       FieldKind::kDateTime,
      FieldKind::kIpAddress, FieldKind::kCidr,       FieldKind::kMacAddress,
      FieldKind::kLTree,     FieldKind::kDateRange,  FieldKind::kJson,
      FieldKind::kList};
  return *kinds;
}

const std::vector<FieldKind>& OrderedKinds() {
  static const auto* kinds = new std::vector<FieldKind>{
      FieldKind::kInt,     FieldKind::kFloat, FieldKind::kDecimal,
      FieldKind::kPort,    FieldKind::kDate,  FieldKind::kDateTime};
  return *kinds;
}

class ComparisonOperator : public Operator {
 public:
  ComparisonOperator(OperatorInfo info, std::string sql_operator)
      : info_(std::move(info)), sql_operator_(std::move(sql_operator)) {}

  const OperatorInfo& info() const override { return info_; }

  absl::StatusOr<std::string> Render(const Operand& operand,
                                     const JsonValue& value,
                                     absl::string_view path,
                                     ParamList* params) const override {
    if (value.is_array() && operand.kind != FieldKind::kList &&
        operand.kind != FieldKind::kJson) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid value at ", path, ": expected one ",
          FieldKindName(operand.kind), " value, got a list"));
    }
    absl::StatusOr<Param> param = BindValue(operand.kind, value, path);
    if (!param.ok()) return param.status();
    return absl::StrCat(operand.typed_sql, " ", sql_operator_, " ",
                        params->Add(*std::move(param)));
  }

 private:
  OperatorInfo info_;
  std::string sql_operator_;
};

absl::Status Add(OperatorRegistry* registry, absl::string_view name,
                 std::vector<std::string> aliases, absl::string_view sql,
                 bool ordered, absl::string_view description,
                 absl::string_view example) {
  OperatorInfo info;
  info.key = absl::StrCat("where.compare.", name);
  info.name = std::string(name);
  info.aliases = std::move(aliases);
  info.kinds = ordered ? OrderedKinds() : EqualityKinds();
  info.value_shape = "one value of the field's kind";
  info.description = std::string(description);
  info.example = std::string(example);
  return registry->Register(
      std::make_unique<ComparisonOperator>(std::move(info), std::string(sql)));
}

}  // namespace

absl::Status RegisterBuiltinComparisonOperators(OperatorRegistry* registry) {
  struct Spec {
    absl::string_view name;
    std::vector<std::string> aliases;
    absl::string_view sql;
    bool ordered;
    absl::string_view description;
    absl::string_view example;
  };
  const Spec specs[] = {
      {"eq", {}, "=", false, "Equal to the value (typed by the field kind).",
       R"({"age": {"eq": 30}})"},
      {"neq", {"ne"}, "<>", false,
       "Not equal to the value; rows where the field is null or missing do "
       "not match.",
       R"({"status": {"neq": "archived"}})"},
      {"gt", {}, ">", true, "Greater than the value.", R"({"age": {"gt": 9}})"},
      {"gte", {}, ">=", true, "Greater than or equal to the value.",
       R"({"birthDate": {"gte": "2000-01-01"}})"},
      {"lt", {}, "<", true, "Less than the value.",
       R"({"balance": {"lt": 100.50}})"},
      {"lte", {}, "<=", true, "Less than or equal to the value.",
       R"({"createdAt": {"lte": "2024-03-05T10:15:00+02:00"}})"},
  };
  for (const Spec& s : specs) {
    absl::Status status = Add(registry, s.name, s.aliases, s.sql, s.ordered,
                              s.description, s.example);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace fraiseql::where
