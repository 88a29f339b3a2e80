// Golden tests of whole statements: the SQL text and parameters a root field
// plans to, and the resolved selection handed to the response stage.
#include "planner/planner.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "planner/selection_text.h"

namespace fraiseql::planner {
namespace {

class PlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(schema_.AddObjectType("Address", {{"city_name", "String"},
                                                  {"postal_code", "String"}})
                    .ok());
    ASSERT_TRUE(schema_.AddObjectType("Author", {{"id", "UUID"},
                                                 {"first_name", "String"}})
                    .ok());
    absl::Status s = schema_.AddView(
        "sample.v_user", "User", "data",
        {{"id", "uuid"}, {"tenant_id", "uuid"}, {"data", "jsonb"}},
        {{"id", "UUID"},
         {"first_name", "String"},
         {"age", "Int"},
         {"created_at", "DateTime"},
         {"address", "Address"},
         {"preferences", "JSON"},
         {"tags", "[String]"},
         {"friends", "[Author]"}});
    ASSERT_TRUE(s.ok()) << s;
    s = schema_.AddView("public.v_plain", "Plain", "",
                        {{"id", "integer"}, {"label", "text"}},
                        {{"id", "Int"}, {"label", "String"}});
    ASSERT_TRUE(s.ok()) << s;
  }

  absl::StatusOr<RootPlan> Plan(v1::RootField root,
                                absl::string_view selection = "") {
    if (!selection.empty()) {
      auto parsed = ParseSelectionText(selection);
      EXPECT_TRUE(parsed.ok()) << parsed.status();
      root.set_has_selection(true);
      for (auto& s : *parsed) *root.add_selection() = s;
    }
    return Planner(schema_, *operators_).PlanRoot(root);
  }

  static v1::RootField Root(absl::string_view view, bool is_list = true) {
    v1::RootField root;
    root.set_view(std::string(view));
    root.set_response_key("users");
    root.set_is_list(is_list);
    return root;
  }

  static std::string Params(const RootPlan& plan) {
    return absl::StrJoin(plan.plan.params, ", ",
                         [](std::string* out, const where::Param& p) {
                           absl::StrAppend(out, p.text, "::", p.sql_type);
                         });
  }

  where::Schema schema_;
  std::unique_ptr<where::OperatorRegistry> operators_ =
      where::MakeBuiltinOperatorRegistry();
};

TEST_F(PlannerTest, PlansFilteredOrderedPagedList) {
  v1::RootField root = Root("sample.v_user");
  root.set_where_json(R"({"age": {"gte": 18}, "address": {"cityName": "Paris"}})");
  root.set_order_by_json(
      R"([{"age": "DESC_NULLS_LAST"}, {"address": {"cityName": "asc"}}, {"id": "ASC"}])");
  root.set_limit(10);
  root.set_offset(20);
  auto plan = Plan(root, "id firstName");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->plan.sql,
            "SELECT t.\"data\"::text FROM \"sample\".\"v_user\" AS t WHERE "
            "(t.\"data\"->>'age')::numeric >= $1::numeric AND "
            "t.\"data\"->'address'->>'city_name' = $2::text ORDER BY "
            "(t.\"data\"->>'age')::numeric DESC NULLS LAST, "
            "t.\"data\"->'address'->>'city_name' ASC, t.\"id\" ASC LIMIT "
            "$3::bigint OFFSET $4::bigint");
  EXPECT_EQ(Params(*plan), "18::numeric, Paris::text, 10::bigint, 20::bigint");
}

TEST_F(PlannerTest, PlansSingleObjectWithLimitOne) {
  v1::RootField root = Root("sample.v_user", /*is_list=*/false);
  root.set_where_json(R"({"id": "00000000-0000-4000-8000-000000000001"})");
  auto plan = Plan(root);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->plan.sql,
            "SELECT t.\"data\"::text FROM \"sample\".\"v_user\" AS t WHERE "
            "t.\"id\" = $1::uuid LIMIT 1");
  EXPECT_FALSE(plan->is_list);
  EXPECT_TRUE(plan->selection.select_all);
  EXPECT_EQ(plan->selection.type_name, "User");
}

TEST_F(PlannerTest, PlansViewWithoutJsonbColumnAsRowToJson) {
  v1::RootField root = Root("public.v_plain");
  root.set_where_json(R"({"id": {"gt": 1}})");
  root.set_order_by_json(R"({"label": "DESC"})");
  auto plan = Plan(root);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->plan.sql,
            "SELECT row_to_json(t)::text FROM \"public\".\"v_plain\" AS t "
            "WHERE t.\"id\"::numeric > $1::numeric ORDER BY t.\"label\" DESC");
}

TEST_F(PlannerTest, ResolvesSelectionAgainstTheSchema) {
  auto plan = Plan(Root("sample.v_user"),
                   "id name: firstName home: address { cityName __typename } "
                   "prefs: preferences tags friends { firstName } __typename");
  ASSERT_TRUE(plan.ok()) << plan.status();
  const auto& f = plan->selection.fields;
  ASSERT_EQ(f.size(), 7u);
  using Kind = response::FieldSelection::Kind;
  EXPECT_EQ(f[0].response_key, "id");
  EXPECT_EQ(f[0].source_key, "id");
  EXPECT_EQ(f[1].response_key, "name");
  EXPECT_EQ(f[1].source_key, "first_name");
  EXPECT_EQ(f[2].kind, Kind::kObject);
  EXPECT_EQ(f[2].response_key, "home");
  EXPECT_EQ(f[2].source_key, "address");
  EXPECT_EQ(f[2].type_name, "Address");
  ASSERT_EQ(f[2].fields.size(), 2u);
  EXPECT_EQ(f[2].fields[0].source_key, "city_name");
  EXPECT_EQ(f[2].fields[1].kind, Kind::kTypename);
  EXPECT_EQ(f[3].kind, Kind::kJson);
  EXPECT_EQ(f[4].kind, Kind::kScalar);
  EXPECT_EQ(f[5].kind, Kind::kObject);
  EXPECT_EQ(f[5].type_name, "Author");
  EXPECT_EQ(f[6].kind, Kind::kTypename);
}

TEST_F(PlannerTest, RejectsBadInputNamingThePath) {
  auto error = [&](v1::RootField root, absl::string_view selection = "") {
    auto plan = Plan(std::move(root), selection);
    return plan.ok() ? std::string("ok")
                     : std::string(plan.status().message());
  };
  EXPECT_EQ(error(Root("sample.nope")),
            "unknown view 'sample.nope'; registered views: public.v_plain, "
            "sample.v_user");
  EXPECT_EQ(error(Root("sample.v_user"), "id nickname"),
            "unknown field 'nickname' at selection.users.nickname on type "
            "User; known fields: id, firstName, age, createdAt, address, "
            "preferences, tags, friends");
  EXPECT_EQ(error(Root("sample.v_user"), "address"),
            "invalid selection at selection.users.address: address is of "
            "object type Address and needs a sub-selection { ... }");
  EXPECT_EQ(error(Root("sample.v_user"), "age { x }"),
            "invalid selection at selection.users.age: age is a Int field and "
            "takes no sub-selection");
  v1::RootField bad_order = Root("sample.v_user");
  bad_order.set_order_by_json(R"([{"age": "DOWN"}])");
  EXPECT_EQ(error(bad_order),
            "invalid order direction at orderBy[0].age: expected ASC, DESC, "
            "ASC_NULLS_FIRST, ASC_NULLS_LAST, DESC_NULLS_FIRST or "
            "DESC_NULLS_LAST, got 'DOWN'");
  bad_order.set_order_by_json(R"([{"preferences": "ASC"}])");
  EXPECT_EQ(error(bad_order),
            "invalid orderBy at orderBy[0].preferences: cannot order by JSON "
            "field preferences");
  v1::RootField negative = Root("sample.v_user");
  negative.set_limit(-1);
  EXPECT_EQ(error(negative),
            "invalid limit: expected a non-negative number, got -1");
  v1::RootField bad_where = Root("sample.v_user");
  bad_where.set_where_json(R"({"age": {"gt": "ten"}})");
  EXPECT_EQ(error(bad_where),
            "invalid value at where.age.gt: expected an integer, got a string "
            "'ten'");
}

TEST_F(PlannerTest, SameShapeSameSqlDifferentParams) {
  v1::RootField a = Root("sample.v_user");
  a.set_where_json(R"({"firstName": "Ann"})");
  a.set_limit(1);
  v1::RootField b = Root("sample.v_user");
  b.set_where_json(R"({"firstName": "Robert'); DROP TABLE students;--"})");
  b.set_limit(500);
  auto pa = Plan(a), pb = Plan(b);
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_EQ(pa->plan.sql, pb->plan.sql);
  EXPECT_EQ(pb->plan.params[0].text, "Robert'); DROP TABLE students;--");
}

}  // namespace
}  // namespace fraiseql::planner
