// The date range family (spec/where.md, section 2): PostgreSQL's range
// operators on daterange values. The field and the value are both cast to
// daterange, so bounds follow PostgreSQL: `[2024-01-01,2024-01-31]` is the
// same range as `[2024-01-01,2024-02-01)`, an empty bound is unbounded, and
// an unbounded side extends forever (a range without an upper bound contains
// every later date and is never strictly left of anything).
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "where/kind_value.h"
#include "where/operator.h"
#include "where/operator_plugin.h"

namespace fraiseql::where {
namespace {

constexpr absl::string_view kRangeExpected =
    "a date range like [2024-01-01,2024-02-01)";

// A daterange value: BindValue's format check, and a lower bound that is not
// after the upper one (PostgreSQL rejects `[2024-02-01,2024-01-01)` with a
// server error; here it is an input error naming the path).
absl::StatusOr<Param> BindRange(const JsonValue& value,
                                absl::string_view path) {
  ASSIGN_OR_RETURN(Param param, BindValue(FieldKind::kDateRange, value, path));
  absl::string_view text = param.text;
  if (text != "empty") {
    std::vector<absl::string_view> bounds =
        absl::StrSplit(text.substr(1, text.size() - 2), ',');
    absl::string_view lower = absl::StripAsciiWhitespace(bounds[0]);
    absl::string_view upper = absl::StripAsciiWhitespace(bounds[1]);
    // YYYY-MM-DD compares as text in date order.
    if (!lower.empty() && !upper.empty() && lower > upper) {
      absl::Status error = ExpectedError(path, kRangeExpected, value);
      return absl::InvalidArgumentError(absl::StrCat(
          error.message(), " (the lower bound is after the upper bound)"));
    }
  }
  return param;
}


absl::Status RegisterBuiltinDateRangeOperators(OperatorRegistry* registry) {
  struct Spec {
    absl::string_view key, name;
    const char* sql;
    bool date_value;  // the value is one date, else a date range
    absl::string_view description, example;
  };
  const Spec specs[] = {
      {"contains_date", "containsDate", "@>", true,
       "The range contains the date (daterange @> date).",
       R"js({"availability": {"containsDate": "2024-03-15"}})js"},
      {"overlaps", "overlaps", "&&", false,
       "The range and the given range have a date in common (&&).",
       R"js({"availability": {"overlaps": "[2024-03-01,2024-04-01)"}})js"},
      {"adjacent", "adjacent", "-|-", false,
       "The range ends where the given range starts, or starts where it "
       "ends, without a gap or an overlap (-|-).",
       R"js({"availability": {"adjacent": "[2024-03-01,2024-04-01)"}})js"},
      {"strictly_left", "strictlyLeft", "<<", false,
       "The range ends before the given range starts (<<).",
       R"js({"availability": {"strictlyLeft": "[2024-06-01,)"}})js"},
      {"strictly_right", "strictlyRight", ">>", false,
       "The range starts after the given range ends (>>).",
       R"js({"availability": {"strictlyRight": "[,2024-06-01)"}})js"},
      {"not_left", "notLeft", "&>", false,
       "The range does not extend to the left of the given range: it "
       "starts on or after the given range's start (&>).",
       R"js({"availability": {"notLeft": "[2024-03-01,2024-04-01)"}})js"},
      {"not_right", "notRight", "&<", false,
       "The range does not extend to the right of the given range: it "
       "ends on or before the given range's end (&<).",
       R"js({"availability": {"notRight": "[2024-03-01,2024-04-01)"}})js"},
  };
  for (const Spec& s : specs) {
    OperatorInfo info;
    info.key = absl::StrCat("where.date_range.", s.key);
    info.name = std::string(s.name);
    info.aliases = NameSpellings(s.name);
    info.kinds = {FieldKind::kDateRange};
    info.value_shape = s.date_value
                           ? "a date YYYY-MM-DD"
                           : "a date range like [2024-01-01,2024-02-01)";
    info.graphql_type = s.date_value ? "Date" : "$field";
    info.description = std::string(s.description);
    info.example = std::string(s.example);
    std::string sql = s.sql;
    bool date_value = s.date_value;
    RETURN_IF_ERROR(registry->Register(MakeOperator(
        std::move(info),
        [sql, date_value](const Operand& operand, const JsonValue& value,
                          absl::string_view path,
                          ParamList* params) -> absl::StatusOr<std::string> {
          ASSIGN_OR_RETURN(Param param,
                           date_value ? BindValue(FieldKind::kDate, value, path)
                                      : BindRange(value, path));
          return absl::StrCat(operand.typed_sql, " ", sql, " ",
                              params->Add(std::move(param)));
        })));
  }
  return absl::OkStatus();
}

}  // namespace

FRAISEQL_WHERE_OPERATOR_PLUGIN_RANKED(date_range, 50,
                                      RegisterBuiltinDateRangeOperators);

}  // namespace fraiseql::where
