// Golden tests of whole statements: the SQL text and parameters a root field
// plans to, and the resolved selection handed to the response stage.
#include "planner/planner.h"

#include <algorithm>
#include <thread>

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
            "SELECT t.\"data\" FROM \"sample\".\"v_user\" AS t WHERE "
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
            "SELECT t.\"data\" FROM \"sample\".\"v_user\" AS t WHERE "
            "t.\"id\" = $1::uuid LIMIT 1");
  EXPECT_EQ(plan->shape, ResultShape::kObject);
  EXPECT_TRUE(plan->selection->select_all);
  EXPECT_EQ(plan->selection->type_name, "User");
}

TEST_F(PlannerTest, PlansViewWithoutJsonbColumnAsRowToJson) {
  v1::RootField root = Root("public.v_plain");
  root.set_where_json(R"({"id": {"gt": 1}})");
  root.set_order_by_json(R"({"label": "DESC"})");
  auto plan = Plan(root);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->plan.sql,
            "SELECT row_to_json(t) FROM \"public\".\"v_plain\" AS t "
            "WHERE t.\"id\" > $1::bigint ORDER BY t.\"label\" DESC");
}

TEST_F(PlannerTest, ResolvesSelectionAgainstTheSchema) {
  auto plan = Plan(Root("sample.v_user"),
                   "id name: firstName home: address { cityName __typename } "
                   "prefs: preferences tags friends { firstName } __typename");
  ASSERT_TRUE(plan.ok()) << plan.status();
  const auto& f = plan->selection->fields;
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
            "invalid value at where.age.gt: expected an Int (a whole number), "
            "got a string");
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

TEST_F(PlannerTest, CachedPlanBindsNewValuesWhenShapeRepeats) {
  Planner planner(schema_, *operators_);
  v1::RootField root = Root("sample.v_user");
  root.set_where_json(R"({"age": {"gt": 9}, "address": {"cityName": "Paris"}})");
  root.set_order_by_json(R"([{"age": "DESC"}])");
  root.set_limit(10);
  auto first = planner.PlanRoot(root);
  root.set_where_json(R"({"age": {"gt": 70}, "address": {"cityName": "Oslo"}})");
  root.set_limit(3);
  auto second = planner.PlanRoot(root);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->plan.sql, second->plan.sql);
  EXPECT_EQ(Params(*second), "70::numeric, Oslo::text, 3::bigint");
  EXPECT_EQ(first->selection, second->selection);  // shared, not re-resolved
  CacheStats stats = planner.cache_stats();
  EXPECT_EQ(stats.misses, 1);
  EXPECT_EQ(stats.hits, 1);
  EXPECT_EQ(stats.size, 1u);
}

TEST_F(PlannerTest, CachedPlanReusesItsCompiledProjector) {
  Planner planner(schema_, *operators_);
  v1::RootField root = Root("sample.v_user");
  root.set_has_selection(true);
  auto parsed = ParseSelectionText("firstName, city: address { cityName }");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  for (auto& s : *parsed) *root.add_selection() = s;
  root.set_where_json(R"({"age": {"gt": 9}})");
  auto first = planner.PlanRoot(root);
  root.set_where_json(R"({"age": {"gt": 70}})");
  auto second = planner.PlanRoot(root);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_NE(first->projector, nullptr);
  EXPECT_EQ(first->projector, second->projector);  // compiled once
  std::string out;
  ASSERT_TRUE(second->projector
                  ->AppendRow(R"({"age": 80, "first_name": "Ann",)"
                              R"( "address": {"city_name": "Oslo"}})",
                              &out)
                  .ok());
  EXPECT_EQ(out, R"({"firstName":"Ann","city":{"cityName":"Oslo"}})");

  // Another shape, another template: its own projector.
  root.set_where_json(R"({"age": {"isnull": true}})");
  auto other = planner.PlanRoot(root);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->projector, first->projector);

  // Value operations have nothing to project.
  v1::RootField count = Root("sample.v_user");
  count.set_operation(v1::RootField::COUNT);
  auto counted = planner.PlanRoot(count);
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(counted->projector, nullptr);
}

TEST_F(PlannerTest, ProjectorFollowsTheProjectionOptions) {
  PlannerOptions options;
  options.projection.always_typename = true;
  Planner planner(schema_, *operators_, where::FilterLimits(), options);
  v1::RootField root = Root("sample.v_user");
  root.set_has_selection(true);
  auto parsed = ParseSelectionText("firstName");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  for (auto& s : *parsed) *root.add_selection() = s;
  auto plan = planner.PlanRoot(root);
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::string out;
  ASSERT_TRUE(plan->projector->AppendRow(R"({"first_name": "Ann"})", &out).ok());
  EXPECT_EQ(out, R"({"__typename":"User","firstName":"Ann"})");
  // Without the option (the default), no __typename.
  auto plain = Plan(root);
  ASSERT_TRUE(plain.ok());
  out.clear();
  ASSERT_TRUE(plain->projector->AppendRow(R"({"first_name": "Ann"})", &out).ok());
  EXPECT_EQ(out, R"({"firstName":"Ann"})");
}

TEST_F(PlannerTest, ValueThatChangesTheSqlIsAnotherCacheEntry) {
  Planner planner(schema_, *operators_);
  v1::RootField root = Root("sample.v_user");
  root.set_where_json(R"({"age": {"isnull": true}})");
  auto is_null = planner.PlanRoot(root);
  root.set_where_json(R"({"age": {"isnull": false}})");
  auto not_null = planner.PlanRoot(root);
  ASSERT_TRUE(is_null.ok() && not_null.ok());
  EXPECT_NE(is_null->plan.sql, not_null->plan.sql);
  EXPECT_EQ(planner.cache_stats().misses, 2);
  EXPECT_EQ(planner.cache_stats().hits, 0);
}

TEST_F(PlannerTest, InputsOutsideWhereAreInTheCacheKey) {
  Planner planner(schema_, *operators_);
  auto sql = [&](v1::RootField root) {
    auto plan = planner.PlanRoot(root);
    EXPECT_TRUE(plan.ok()) << plan.status();
    return plan.ok() ? plan->plan.sql : "";
  };
  v1::RootField base = Root("sample.v_user");
  v1::RootField limited = base;
  limited.set_limit(1);
  v1::RootField paged = base;
  paged.set_first(1);
  v1::RootField counted = base;
  counted.set_operation(v1::RootField::COUNT);
  v1::RootField ordered = base;
  ordered.set_order_by_json(R"([{"age": "ASC"}])");
  v1::RootField single = Root("sample.v_user", /*is_list=*/false);
  std::vector<std::string> all = {sql(base),    sql(limited), sql(paged),
                                  sql(counted), sql(ordered), sql(single)};
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::unique(all.begin(), all.end()), all.end());
  EXPECT_EQ(planner.cache_stats().misses, 6);
}

TEST_F(PlannerTest, ErrorsAreNotCachedAndValuesAreCheckedOnEveryHit) {
  Planner planner(schema_, *operators_);
  v1::RootField root = Root("sample.v_user");
  root.set_where_json(R"({"age": {"gt": 1}})");
  ASSERT_TRUE(planner.PlanRoot(root).ok());
  root.set_where_json(R"({"age": {"gt": "x"}})");
  EXPECT_FALSE(planner.PlanRoot(root).ok());
  root.set_where_json(R"({"age": {"gt": 1}})");
  root.set_first(2);
  root.set_after("bad cursor");
  EXPECT_FALSE(planner.PlanRoot(root).ok());
  EXPECT_FALSE(planner.PlanRoot(root).ok());
  EXPECT_EQ(planner.cache_stats().hits, 1);  // the second bad cursor
}

TEST_F(PlannerTest, CacheOffPlansTheSame) {
  Planner planner(schema_, *operators_, {}, PlannerOptions{0});
  v1::RootField root = Root("sample.v_user");
  root.set_where_json(R"({"age": 1})");
  ASSERT_TRUE(planner.PlanRoot(root).ok());
  ASSERT_TRUE(planner.PlanRoot(root).ok());
  EXPECT_EQ(planner.cache_stats().hits, 0);
  EXPECT_EQ(planner.cache_stats().size, 0u);
}

TEST_F(PlannerTest, PlansConcurrentlyWithOneCache) {
  Planner shared(schema_, *operators_, {}, PlannerOptions{4});  // evicts often
  Planner reference(schema_, *operators_, {}, PlannerOptions{0});
  std::vector<v1::RootField> roots;
  for (int i = 0; i < 12; ++i) {
    v1::RootField root = Root("sample.v_user");
    root.set_where_json(i % 2 ? absl::StrCat(R"({"age": {"gt": )", i, "}}")
                              : absl::StrCat(R"({"firstName": {"in": ["a", ")",
                                             i, R"("]}})"));
    if (i % 3 == 0) root.set_first(i);
    if (i % 3 == 1) root.set_order_by_json(R"([{"createdAt": "DESC"}])");
    if (i % 3 == 2) root.set_operation(v1::RootField::COUNT);
    roots.push_back(root);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 300; ++n) {
        const v1::RootField& root = roots[(n * 5 + t) % roots.size()];
        auto got = shared.PlanRoot(root);
        auto want = reference.PlanRoot(root);
        ASSERT_TRUE(got.ok() && want.ok()) << got.status() << want.status();
        EXPECT_EQ(got->plan.sql, want->plan.sql);
        EXPECT_EQ(got->plan.params, want->plan.params);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(shared.cache_stats().hits + shared.cache_stats().misses, 6 * 300);
}

}  // namespace
}  // namespace fraiseql::planner
