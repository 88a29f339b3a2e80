// The hostile-input suite: quotes, backslashes, LIKE wildcards, NUL bytes,
// SQL fragments and unicode, placed in values, field names, JSON keys,
// operator names, order directions and selections. None of them may change
// the SQL structure or reach the SQL text: values become parameters, names
// that are not in the schema are errors.
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "planner/planner.h"
#include "planner/selection_text.h"
#include "where/json_value.h"
#include "where/operator.h"
#include "where/schema.h"

namespace fraiseql {
namespace {

const std::vector<std::string>& HostileStrings() {
  static const auto* strings = new std::vector<std::string>{
      "'",
      "''",
      "\"",
      "\\",
      "\\'",
      "%",
      "_",
      "%_%",
      "'; DROP TABLE users; --",
      "\" OR 1=1 --",
      "') OR ('1'='1",
      "$1",
      "$$ OR TRUE $$",
      "/* comment */",
      "E'\\x27'",
      "data->>'x'",
      "a\"b'c\\d%e_f",
      "Zoë 日本 😀",
      "\xe2\x80\xae",  // right-to-left override
      std::string("nul\0byte", 8),
      "line\nbreak\ttab",
      "ASC; DELETE FROM t",
      "DESC NULLS FIRST, (SELECT 1)",
  };
  return *strings;
}

// JSON string literal of arbitrary bytes.
std::string Json(const std::string& text) {
  return where::JsonValue::String(text).ToJson();
}

class HostileInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(schema_.AddObjectType("Address", {{"city_name", "String"}}).ok());
    where::ViewSpec view;
    view.name = "app.v_user";
    view.type_name = "User";
    view.columns = {{"id", "uuid"}, {"data", "jsonb"}};
    view.fields = {{"id", "UUID"},         {"first_name", "String"},
                   {"age", "Int"},         {"prefs", "JSON"},
                   {"tags", "[String]"},   {"address", "Address"}};
    ASSERT_TRUE(schema_.AddView(view).ok());
  }

  absl::StatusOr<planner::RootPlan> Plan(const std::string& where_json,
                                         const std::string& order_json = "",
                                         const std::string& selection = "") {
    v1::RootField root;
    root.set_view("app.v_user");
    root.set_response_key("users");
    root.set_is_list(true);
    root.set_where_json(where_json);
    root.set_order_by_json(order_json);
    if (!selection.empty()) {
      auto parsed = planner::ParseSelectionText(selection);
      if (!parsed.ok()) return parsed.status();
      root.set_has_selection(true);
      for (auto& s : *parsed) *root.add_selection() = s;
    }
    return planner::Planner(schema_, *operators_).PlanRoot(root);
  }

  // The value must travel as a parameter: same SQL as a benign value, and
  // the hostile text nowhere in it.
  void ExpectValueOnly(const std::string& where_template,
                       const std::string& hostile) {
    auto fill = [&](const std::string& v) {
      std::string out = where_template;
      out.replace(out.find("@"), 1, v);
      return out;
    };
    auto benign = Plan(fill(Json("benign")));
    ASSERT_TRUE(benign.ok()) << benign.status();
    auto plan = Plan(fill(Json(hostile)));
    if (!plan.ok()) {
      // Only NUL is refused (PostgreSQL text cannot hold it), and before SQL.
      EXPECT_TRUE(hostile.find('\0') != std::string::npos) << plan.status();
      EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
      return;
    }
    EXPECT_EQ(plan->plan.sql, benign->plan.sql) << where_template;
    EXPECT_EQ(plan->plan.params.size(), benign->plan.params.size());
    // (A string the benign SQL holds anyway, like "$1", proves nothing.)
    if (hostile.size() >= 2 && !absl::StrContains(benign->plan.sql, hostile)) {
      EXPECT_FALSE(absl::StrContains(plan->plan.sql, hostile))
          << where_template << " leaked " << hostile;
    }
  }

  where::Schema schema_;
  std::unique_ptr<where::OperatorRegistry> operators_ =
      where::MakeBuiltinOperatorRegistry();
};

TEST_F(HostileInputTest, ValuesNeverReachTheSql) {
  for (const std::string& h : HostileStrings()) {
    SCOPED_TRACE(absl::CHexEscape(h));
    ExpectValueOnly(R"({"firstName": @})", h);
    ExpectValueOnly(R"({"firstName": {"neq": @}})", h);
    ExpectValueOnly(R"({"firstName": {"in": ["a", @]}})", h);
    ExpectValueOnly(R"({"address": {"cityName": {"eq": @}}})", h);
    ExpectValueOnly(R"({"OR": [{"firstName": @}, {"age": 1}]})", h);
    ExpectValueOnly(R"({"tags": {"eq": ["x", @]}})", h);
    // Hostile JSON keys and values inside a JSON value stay in the param.
    std::string prefs =
        absl::StrCat(R"({"prefs": {"eq": {)", Json(h), R"(: @}}})");
    if (h.find('\0') == std::string::npos) {
      ExpectValueOnly(prefs, h);
    } else {
      // A NUL key cannot be stored in jsonb: refused before any SQL.
      std::string filled = prefs;
      filled.replace(filled.find("@"), 1, Json("v"));
      auto plan = Plan(filled);
      ASSERT_FALSE(plan.ok());
      EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST_F(HostileInputTest, HostileNamesAreErrorsNotSql) {
  for (const std::string& h : HostileStrings()) {
    SCOPED_TRACE(absl::CHexEscape(h));
    std::string name = Json(h);
    // As a field name, a nested field name and an operator name.
    for (const std::string& where :
         {absl::StrCat("{", name, R"(: {"eq": "x"}})"),
          absl::StrCat(R"({"address": {)", name, R"(: "x"}})"),
          absl::StrCat(R"({"age": {)", name, ": 1}}")}) {
      auto plan = Plan(where);
      ASSERT_FALSE(plan.ok()) << where << " planned: " << plan->plan.sql;
      EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    }
    // As an order field and as an order direction.
    EXPECT_FALSE(Plan("", absl::StrCat("[{", name, R"(: "ASC"}])")).ok());
    auto direction = Plan("", absl::StrCat(R"([{"age": )", name, "}]"));
    ASSERT_FALSE(direction.ok());
    EXPECT_TRUE(absl::StartsWith(direction.status().message(),
                                 "invalid order direction at orderBy[0].age"))
        << direction.status();
    // In a selection: the parser accepts only GraphQL names.
    EXPECT_FALSE(Plan("", "", absl::StrCat("id ", h)).ok());
  }
}

TEST_F(HostileInputTest, OrderDirectionsAreAWhitelist) {
  for (const char* bad : {"asc ", "DESCENDING", "ASC NULLS FIRST", "",
                          "RANDOM()", "1"}) {
    auto plan = Plan("", absl::StrCat(R"([{"age": )", Json(bad), "}]"));
    EXPECT_FALSE(plan.ok()) << bad;
  }
  auto plan = Plan("", R"([{"age": "desc_nulls_last"}])");
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(absl::EndsWith(plan->plan.sql, "DESC NULLS LAST"));
}

}  // namespace
}  // namespace fraiseql
