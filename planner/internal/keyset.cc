#include "planner/internal/keyset.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "planner/cursor.h"
#include "where/kind_value.h"

namespace fraiseql::planner::internal {

using where::FieldKind;
using where::JsonValue;

namespace {

// `key` strictly after (`after`) or before the cursor value `value` (a
// placeholder) in the ordering. A null value is a position too: under NULLS
// FIRST every non-null value comes after it; under NULLS LAST nothing does.
// Only AND/OR are used, so a SQL NULL anywhere counts as false.
std::string StrictlyBeyond(const OrderKey& key, const std::string& value,
                           bool after) {
  bool descending = key.direction.descending != !after;
  bool nulls_first = key.direction.nulls_first != !after;
  std::string compare =
      absl::StrCat(key.sql, descending ? " < " : " > ", value);
  if (key.unique) return compare;
  return absl::StrCat("(", compare, " OR (", value,
                      nulls_first ? " IS NULL AND " : " IS NOT NULL AND ",
                      key.sql, nulls_first ? " IS NOT NULL))" : " IS NULL))");
}

// The filter operator a key's comparison in a keyset condition stands for:
// `gt` for `>`, `lt` for `<` (as StrictlyBeyond writes them).
absl::string_view CursorOperator(const OrderKey& key, bool after) {
  bool descending = key.direction.descending != !after;
  return descending ? "lt" : "gt";
}

bool Grants(const where::ViewDef& view, const where::Operator* op,
            absl::string_view name) {
  for (const std::string& allowed : view.allowed_operators) {
    if (allowed == name || (op != nullptr && allowed == op->info().key)) {
      return true;
    }
  }
  return false;
}

bool IsNumberType(absl::string_view sql_type) {
  return sql_type == "numeric" || sql_type == "bigint" || sql_type == "real" ||
         sql_type == "double precision";
}

}  // namespace

std::string KeysetCondition(const std::vector<OrderKey>& keys,
                            const std::vector<std::string>& values,
                            bool after) {
  std::string sql;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    absl::StrAppend(&sql, "(", StrictlyBeyond(keys[i], values[i], after),
                    " OR (", keys[i].sql, " IS NOT DISTINCT FROM ", values[i],
                    " AND ");
  }
  sql.append(StrictlyBeyond(keys.back(), values.back(), after));
  for (size_t i = 0; i + 1 < keys.size(); ++i) sql.append("))");
  return sql;
}

absl::Status CheckCursorOperators(const where::OperatorRegistry& operators,
                                  const where::ViewDef& view,
                                  const std::vector<OrderKey>& keys, bool after,
                                  bool before) {
  if (view.allowed_operators.empty()) return absl::OkStatus();
  std::vector<absl::string_view> missing;
  for (bool is_after : {true, false}) {
    if (is_after ? !after : !before) continue;
    for (const OrderKey& key : keys) {
      absl::string_view name = CursorOperator(key, is_after);
      if (std::find(missing.begin(), missing.end(), name) != missing.end() ||
          Grants(view, operators.Find(name, key.kind), name)) {
        continue;
      }
      missing.push_back(name);
    }
  }
  if (missing.empty()) return absl::OkStatus();
  std::sort(missing.begin(), missing.end());
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid cursor at ",
      after && before ? "after and before" : (after ? "after" : "before"),
      ": paging from a cursor compares the order keys with ",
      absl::StrJoin(missing, " and "),
      ", which the operator allow-list of "
      "view ",
      view.name, " does not grant (missing: ", absl::StrJoin(missing, ", "),
      ")"));
}

where::Param CursorParam(const OrderKey& key) {
  return {"", key.value_type, false};
}

absl::Status BindCursor(const std::string& cursor, absl::string_view argument,
                        const std::vector<OrderKey>& keys,
                        absl::string_view fingerprint,
                        where::ParamList* params) {
  ASSIGN_OR_RETURN(std::vector<JsonValue> values,
                   DecodeCursor(cursor, fingerprint, keys.size(), argument));
  for (size_t i = 0; i < keys.size(); ++i) {
    const OrderKey& key = keys[i];
    where::Param param = CursorParam(key);
    if (values[i].is_null()) {
      if (key.unique) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid cursor at ", argument, ": its ", key.name,
                         " value is null"));
      }
      param.is_null = true;
      params->Add(std::move(param));
      continue;
    }
    // Numbers of any kind come back as any JSON number (and an ID held in
    // an integer column as a number); the value type checks the rest.
    FieldKind check =
        IsNumberType(key.value_type) ? FieldKind::kFloat : key.kind;
    absl::StatusOr<where::Param> bound =
        where::BindValueAs(check, key.value_type, values[i], "cursor");
    if (!bound.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid cursor at ", argument, ": its ", key.name,
          " value is not of kind ", where::FieldKindName(key.kind)));
    }
    param.text = std::move(bound->text);
    params->Add(std::move(param));
  }
  return absl::OkStatus();
}

}  // namespace fraiseql::planner::internal
