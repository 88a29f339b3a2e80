// Golden, data-driven tests of whole statements: each block of a
// testdata/*.golden file is one root field and either the SQL and parameters
// it must plan to (plus the totalCount statement of a connection), or the
// exact error. Every case is planned three times: by a planner without a
// cache, and twice by one with a cache (a miss, then a hit), and all three
// plans must be identical, so the shape cache is checked on every case.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/golden_file.h"
#include "planner/cursor.h"
#include "planner/planner.h"
#include "planner/selection_text.h"
#include "where/json_value.h"

namespace fraiseql::planner {
namespace {

// The schema every golden file plans against.
where::Schema TestSchema() {
  where::Schema schema;
  EXPECT_TRUE(schema
                  .AddObjectType("Address", {{"city_name", "String"},
                                             {"postal_code", "String"},
                                             {"zip", "Int"}})
                  .ok());
  EXPECT_TRUE(
      schema.AddObjectType("Author", {{"id", "UUID"}, {"first_name", "String"}})
          .ok());
  absl::Status s = schema.AddView(
      "sample.v_user", "User", "data",
      {{"id", "uuid"}, {"tenant_id", "uuid"}, {"data", "jsonb"}},
      {{"id", "UUID"},
       {"tenant_id", "UUID"},
       {"first_name", "String"},
       {"email", "Email"},
       {"age", "Int"},
       {"balance", "Decimal"},
       {"score", "Float"},
       {"is_active", "Boolean"},
       {"birth_date", "Date"},
       {"created_at", "DateTime"},
       {"ip_address", "IpAddress"},
       {"address", "Address"},
       {"preferences", "JSON"},
       {"tags", "[String]"},
       {"friends", "[Author]"}});
  EXPECT_TRUE(s.ok()) << s;
  s = schema.AddView("public.v_plain", "Plain", "",
                     {{"id", "integer"}, {"label", "text"}},
                     {{"id", "Int"}, {"label", "String"}});
  EXPECT_TRUE(s.ok()) << s;
  // Real columns whose declared types serve their kinds: compared, ordered
  // and paginated bare (where/typed_field.h).
  s = schema.AddView("app.v_event", "Event", "data",
                     {{"id", "bigint"},
                      {"seen_at", "timestamp without time zone"},
                      {"price", "real"},
                      {"data", "jsonb"}},
                     {{"id", "ID"},
                      {"seen_at", "DateTime"},
                      {"price", "Float"},
                      {"title", "String"}});
  EXPECT_TRUE(s.ok()) << s;
  s = schema.AddView("sample.v_log", "Log", "data", {{"data", "jsonb"}},
                     {{"message", "String"}, {"at", "DateTime"}});
  EXPECT_TRUE(s.ok()) << s;
  // Operator allow-lists: cursors compare order keys as gt/lt filters do.
  where::ViewSpec guarded;
  guarded.name = "app.v_guarded";
  guarded.type_name = "Guarded";
  guarded.jsonb_column = "";
  guarded.columns = {{"id", "integer"}, {"label", "text"}};
  guarded.fields = {{"id", "Int"}, {"label", "String"}};
  guarded.allowed_operators = {"eq", "gt"};
  s = schema.AddView(guarded);
  EXPECT_TRUE(s.ok()) << s;
  where::ViewSpec closed = guarded;
  closed.name = "app.v_closed";
  closed.type_name = "Closed";
  closed.allowed_operators = {"eq", "where.compare.in"};
  s = schema.AddView(closed);
  EXPECT_TRUE(s.ok()) << s;
  return schema;
}

struct Case {
  std::string file;
  int line = 0;
  std::string name;
  v1::RootField root;
  std::string selection;
  // Cursors to sign for the case's ordering (or for `cursor_order_by`).
  std::string after_keys, before_keys, cursor_order_by;
  bool has_cursor_order_by = false;
  std::string sql, params, count_sql, count_params, error;
};

// Every golden planner signs cursors with this secret.
constexpr absl::string_view kCursorSecret = "golden cursor secret";

PlannerOptions GoldenOptions(size_t cache_capacity) {
  PlannerOptions options;
  options.cache_capacity = cache_capacity;
  options.cursor_secret = std::string(kCursorSecret);
  return options;
}

// `after_keys: [...]` writes a cursor of the key values as the repository
// would encode it for the case's own ordering (its fingerprint from a plan
// of the root without cursors); with `cursor_order_by: <orderBy>`, signed
// for that ordering instead. `after: text` passes text as is.
std::string CursorOf(const where::Schema& schema,
                     const where::OperatorRegistry& operators,
                     const Case& c, absl::string_view values) {
  v1::RootField root = c.root;
  root.clear_after();
  root.clear_before();
  root.clear_last();
  if (!root.has_first()) root.set_first(1);
  if (c.has_cursor_order_by) root.set_order_by_json(c.cursor_order_by);
  Planner planner(schema, operators, {}, GoldenOptions(0));
  absl::StatusOr<RootPlan> plan = planner.PlanRoot(root);
  EXPECT_TRUE(plan.ok()) << plan.status();
  if (!plan.ok()) return "";
  absl::StatusOr<std::string> cursor =
      EncodeCursor(plan->connection.cursor_fingerprint, values);
  EXPECT_TRUE(cursor.ok()) << cursor.status();
  return cursor.ok() ? *cursor : "";
}

int64_t Number(absl::string_view text) {
  int64_t n = 0;
  EXPECT_TRUE(absl::SimpleAtoi(text, &n)) << text;
  return n;
}

std::vector<Case> LoadCases(const std::string& file) {
  std::vector<Case> cases;
  for (const testing::GoldenBlock& block :
       testing::ReadGoldenFile(absl::StrCat("planner/testdata/", file))) {
    Case c;
    c.file = file;
    c.line = block.line;
    c.name = block.name;
    c.root.set_view("sample.v_user");
    c.root.set_response_key("users");
    c.root.set_is_list(true);
    v1::RootField& root = c.root;
    for (const auto& [key, value] : block.fields) {
      if (key == "view") {
        root.set_view(value);
      } else if (key == "single") {
        root.set_is_list(value != "true");
      } else if (key == "operation") {
        v1::RootField::Operation op;
        EXPECT_TRUE(v1::RootField::Operation_Parse(value, &op)) << value;
        root.set_operation(op);
      } else if (key == "field") {
        root.set_aggregate_field(value);
      } else if (key == "where") {
        root.set_where_json(value);
      } else if (key == "order_by") {
        root.set_order_by_json(value);
      } else if (key == "selection") {
        c.selection = value;
      } else if (key == "limit") {
        root.set_limit(Number(value));
      } else if (key == "offset") {
        root.set_offset(Number(value));
      } else if (key == "first") {
        root.set_first(Number(value));
      } else if (key == "last") {
        root.set_last(Number(value));
      } else if (key == "after") {
        root.set_after(value);
      } else if (key == "before") {
        root.set_before(value);
      } else if (key == "after_keys") {
        c.after_keys = value;
      } else if (key == "before_keys") {
        c.before_keys = value;
      } else if (key == "cursor_order_by") {
        c.cursor_order_by = value;
        c.has_cursor_order_by = true;
      } else if (key == "total_count") {
        root.set_include_total_count(value == "true");
      } else if (key == "sql") {
        c.sql = value;
      } else if (key == "params") {
        c.params = value;
      } else if (key == "count_sql") {
        c.count_sql = value;
      } else if (key == "count_params") {
        c.count_params = value;
      } else if (key == "error") {
        c.error = value;
      } else {
        ADD_FAILURE() << file << ":" << block.line << ": unknown key: " << key;
      }
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

// Parameters as the golden files spell them: [["text","type"],...], nulls
// as [null,"type"].

// A plan as one comparable text.
std::string Describe(const absl::StatusOr<RootPlan>& plan) {
  if (!plan.ok()) return absl::StrCat("error: ", plan.status().ToString());
  std::string out = absl::StrCat("sql: ", plan->plan.sql,
                                 "\nparams: ", testing::FormatGoldenParams(plan->plan.params));
  if (plan->connection.total_count.has_value()) {
    absl::StrAppend(&out, "\ncount_sql: ", plan->connection.total_count->sql,
                    "\ncount_params: ",
                    testing::FormatGoldenParams(plan->connection.total_count->params));
  }
  return out;
}

void RunGoldenFile(const std::string& file) {
  where::Schema schema = TestSchema();
  std::unique_ptr<where::OperatorRegistry> operators =
      where::MakeBuiltinOperatorRegistry();
  Planner uncached(schema, *operators, {}, GoldenOptions(0));
  Planner cached(schema, *operators, {}, GoldenOptions(1024));
  std::vector<Case> cases = LoadCases(file);
  ASSERT_FALSE(cases.empty()) << file;
  for (Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.file, ":", c.line, ": ", c.name));
    ASSERT_TRUE(c.error.empty() != c.sql.empty())
        << "a case needs exactly one of sql: and error:";
    if (!c.selection.empty()) {
      auto parsed = ParseSelectionText(c.selection);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      c.root.set_has_selection(true);
      for (auto& s : *parsed) *c.root.add_selection() = s;
    }
    if (!c.after_keys.empty()) {
      c.root.set_after(CursorOf(schema, *operators, c, c.after_keys));
    }
    if (!c.before_keys.empty()) {
      c.root.set_before(CursorOf(schema, *operators, c, c.before_keys));
    }
    absl::StatusOr<RootPlan> plan = uncached.PlanRoot(c.root);
    // To write a new case: run with --test_env=GOLDEN_PRINT=1 and read what
    // each case plans to in the test log; check it by hand before copying.
    if (std::getenv("GOLDEN_PRINT") != nullptr) {
      std::cout << "== " << c.name << "\n" << Describe(plan) << "\n\n";
    }
    // The cache changes nothing: a miss, then a hit, plan the same.
    EXPECT_EQ(Describe(cached.PlanRoot(c.root)), Describe(plan));
    EXPECT_EQ(Describe(cached.PlanRoot(c.root)), Describe(plan));
    if (!c.error.empty()) {
      ASSERT_FALSE(plan.ok()) << "expected an error, got " << Describe(plan);
      EXPECT_EQ(std::string(plan.status().message()), c.error);
      continue;
    }
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(plan->plan.sql, c.sql);
    EXPECT_EQ(testing::FormatGoldenParams(plan->plan.params),
              c.params.empty() ? "[]" : c.params);
    if (c.count_sql.empty()) {
      EXPECT_FALSE(plan->connection.total_count.has_value());
    } else {
      ASSERT_TRUE(plan->connection.total_count.has_value());
      EXPECT_EQ(plan->connection.total_count->sql, c.count_sql);
      EXPECT_EQ(testing::FormatGoldenParams(plan->connection.total_count->params),
                c.count_params.empty() ? "[]" : c.count_params);
    }
  }
}

TEST(PlannerGolden, Find) { RunGoldenFile("find.golden"); }
TEST(PlannerGolden, Aggregates) { RunGoldenFile("aggregates.golden"); }
TEST(PlannerGolden, Pagination) { RunGoldenFile("pagination.golden"); }
TEST(PlannerGolden, Errors) { RunGoldenFile("errors.golden"); }

}  // namespace
}  // namespace fraiseql::planner
