// plugins/where/case_insensitive: an example operator plugin, built the way a
// third-party plugin is. It adds `ieq` (aliases i_eq, iEq) on text kinds:
// equality that ignores case, `lower(x) = lower($1)`. Link the target (it is
// alwayslink) and every registry made by MakeBuiltinOperatorRegistry() has
// it; delete this folder and its line in plugins/where/BUILD.bazel to remove
// it.
#include "absl/strings/str_cat.h"
#include "where/kind_value.h"
#include "where/operator.h"
#include "where/operator_plugin.h"

namespace fraiseql::plugins::where_case_insensitive {
namespace {

using where::FieldKind;

absl::StatusOr<std::string> RenderIeq(const where::Operand& operand,
                                      const where::JsonValue& value,
                                      absl::string_view path,
                                      where::ParamList* params) {
  absl::StatusOr<where::Param> param =
      where::BindValue(FieldKind::kString, value, path);
  if (!param.ok()) return param.status();
  return absl::StrCat("lower(", operand.text_sql, ") = lower(",
                      params->Add(*std::move(param)), ")");
}

absl::Status RegisterCaseInsensitiveOperators(where::OperatorRegistry* r) {
  where::OperatorInfo info;
  info.key = "where.example.ieq";
  info.name = "ieq";
  info.aliases = {"iEq", "i_eq"};
  info.kinds = {FieldKind::kString, FieldKind::kEmail, FieldKind::kHostname};
  info.value_shape = "a string";
  info.graphql_type = "String";
  info.description =
      "Equal ignoring case (lower() on both sides); an example plugin from "
      "plugins/where/case_insensitive.";
  info.example = R"({"email": {"ieq": "Ann@Example.COM"}})";
  return r->Register(where::MakeOperator(std::move(info), RenderIeq));
}

}  // namespace

FRAISEQL_WHERE_OPERATOR_PLUGIN(case_insensitive,
                               RegisterCaseInsensitiveOperators);

}  // namespace fraiseql::plugins::where_case_insensitive
