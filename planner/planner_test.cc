// Golden tests of whole statements: the SQL text and parameters a root field
// plans to, and the resolved selection handed to the response stage.
#include "planner/planner.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "planner/cursor.h"
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
  using Kind = exec::FieldSelection::Kind;
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
  // A few close names at most, never the list of views or fields.
  EXPECT_EQ(error(Root("sample.nope")), "unknown view 'sample.nope'");
  EXPECT_EQ(error(Root("v_user")),
            "unknown view 'v_user'; did you mean sample.v_user?");
  EXPECT_EQ(error(Root("sample.v_user\nforged")),
            "unknown view 'sample.v_user\\x0aforged'");
  EXPECT_EQ(error(Root("sample.v_user"), "id nickname"),
            "unknown field 'nickname' at selection.users.nickname on type "
            "User");
  EXPECT_EQ(error(Root("sample.v_user"), "id firstname"),
            "unknown field 'firstname' at selection.users.firstname on type "
            "User; did you mean firstName?");
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

// What a test compiles a selection into: what it was compiled from.
class RecordedSelection : public CompiledSelection {
 public:
  explicit RecordedSelection(const exec::SelectionSet& selection)
      : type_name(selection.type_name), fields(selection.fields.size()) {}
  std::string type_name;
  size_t fields;
};

TEST_F(PlannerTest, CachedPlanReusesItsCompiledSelection) {
  std::atomic<int> compiled{0};
  PlannerOptions options;
  options.compile_selection = [&compiled](const exec::SelectionSet& selection) {
    ++compiled;
    return std::make_shared<const RecordedSelection>(selection);
  };
  Planner planner(schema_, *operators_, where::FilterLimits(), options);
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
  ASSERT_NE(first->compiled, nullptr);
  EXPECT_EQ(first->compiled, second->compiled);  // compiled once
#ifdef NDEBUG
  // (A debug build also rebuilds a hit's template, to check the cache key.)
  EXPECT_EQ(compiled.load(), 1);
#endif
  const auto& recorded =
      static_cast<const RecordedSelection&>(*second->compiled);
  EXPECT_EQ(recorded.type_name, "User");
  EXPECT_EQ(recorded.fields, 2u);

  // Another shape, another template: compiled on its own.
  root.set_where_json(R"({"age": {"isnull": true}})");
  auto other = planner.PlanRoot(root);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->compiled, first->compiled);

  // Value operations have nothing to project.
  v1::RootField count = Root("sample.v_user");
  count.set_operation(v1::RootField::COUNT);
  auto counted = planner.PlanRoot(count);
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(counted->compiled, nullptr);

  // Without a compiler, nothing is compiled.
  auto plain = Plan(root);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->compiled, nullptr);
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

// A selection given as a tree (a QueryDefinition) obeys the limits of
// selection text: it never went through the text parser.
TEST_F(PlannerTest, SelectionTreeObeysTheSelectionLimits) {
  auto error = [&](const v1::RootField& root, PlannerOptions options = {}) {
    auto plan = Planner(schema_, *operators_, {}, options).PlanRoot(root);
    return plan.ok() ? std::string("ok")
                     : std::string(plan.status().message());
  };
  v1::RootField many = Root("sample.v_user");
  many.set_has_selection(true);
  for (int i = 0; i < 1000; ++i) {
    v1::Selection* s = many.add_selection();
    s->set_response_key("id");
    s->set_field_name("id");
  }
  EXPECT_EQ(error(many), "ok");
  *many.add_selection() = many.selection(0);
  EXPECT_EQ(error(many),
            "invalid selection: more than 1000 fields (limit "
            "max_selection_fields)");

  v1::RootField aliased = Root("sample.v_user");
  aliased.set_has_selection(true);
  for (int i = 0; i < 101; ++i) {
    v1::Selection* s = aliased.add_selection();
    s->set_response_key(absl::StrCat("a", i));
    s->set_field_name("id");
  }
  EXPECT_EQ(error(aliased),
            "invalid selection: more than 100 aliases (limit "
            "max_selection_aliases)");

  // Nested fields count, and the depth is bounded without recursion.
  v1::RootField deep = Root("sample.v_user");
  deep.set_has_selection(true);
  v1::Selection* level = deep.add_selection();
  for (int i = 0; i < 40; ++i) {
    level->set_response_key("friends");
    level->set_field_name("friends");
    level = level->add_fields();
  }
  level->set_response_key("id");
  level->set_field_name("id");
  EXPECT_EQ(error(deep),
            "invalid selection: more than 32 levels of nesting (limit "
            "max_selection_depth)");
  PlannerOptions tight;
  tight.selection.max_selection_fields = 3;
  auto nested = ParseSelectionText("id friends { id firstName }");
  ASSERT_TRUE(nested.ok());
  v1::RootField four = Root("sample.v_user");
  four.set_has_selection(true);
  for (auto& s : *nested) *four.add_selection() = s;
  EXPECT_EQ(error(four, tight),
            "invalid selection: more than 3 fields (limit "
            "max_selection_fields)");
}

TEST_F(PlannerTest, MergesSameKeyFieldsInOrder) {
  std::string text;
  for (int i = 0; i < 500; ++i) absl::StrAppend(&text, "f", i, ": id ");
  absl::StrAppend(&text, "f7: id friends { id } friends { firstName } f3: id");
  PlannerOptions options;
  options.selection.max_selection_aliases = 1000;
  SelectionLimits parse_limits;
  parse_limits.max_selection_aliases = 1000;
  auto parsed = ParseSelectionText(text, parse_limits);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  v1::RootField root = Root("sample.v_user");
  root.set_has_selection(true);
  for (auto& s : *parsed) *root.add_selection() = s;
  auto plan = Planner(schema_, *operators_, {}, options).PlanRoot(root);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const auto& fields = plan->selection->fields;
  ASSERT_EQ(fields.size(), 501u);
  EXPECT_EQ(fields[7].response_key, "f7");
  EXPECT_EQ(fields[500].response_key, "friends");
  ASSERT_EQ(fields[500].fields.size(), 2u);
  EXPECT_EQ(fields[500].fields[1].source_key, "first_name");
  // The same key on two fields is still an error.
  auto clash = ParseSelectionText("a: id b: age a: age");
  ASSERT_TRUE(clash.ok());
  v1::RootField bad = Root("sample.v_user");
  bad.set_has_selection(true);
  for (auto& s : *clash) *bad.add_selection() = s;
  EXPECT_EQ(Planner(schema_, *operators_).PlanRoot(bad).status().message(),
            "invalid selection at selection.users.a: 'a' names both id and "
            "age; give one of them another alias");
}

TEST_F(PlannerTest, OrderByObeysItsLimits) {
  auto error = [&](absl::string_view order_by, PlannerOptions options = {}) {
    v1::RootField root = Root("sample.v_user");
    root.set_order_by_json(std::string(order_by));
    auto plan = Planner(schema_, *operators_, {}, options).PlanRoot(root);
    return plan.ok() ? std::string("ok")
                     : std::string(plan.status().message());
  };
  // 1,000 entries used to reach the server, which refused the 1,001
  // arguments of jsonb_build_array.
  std::string thousand = "[";
  for (int i = 0; i < 1000; ++i) {
    absl::StrAppend(&thousand, i > 0 ? "," : "", R"({"age":"ASC"})");
  }
  thousand += "]";
  EXPECT_EQ(error(thousand),
            "invalid orderBy: more than 16 keys (limit max_order_by_keys)");
  PlannerOptions tight;
  tight.order_by.max_order_by_keys = 2;
  tight.order_by.max_order_by_bytes = 80;
  EXPECT_EQ(error(R"([{"age":"ASC","address":{"cityName":"ASC"}}])", tight),
            "ok");
  // Keys in one object and nested objects count.
  EXPECT_EQ(error(R"({"age":"ASC","address":{"cityName":"ASC","postalCode":"ASC"}})",
                  tight),
            "invalid orderBy: more than 2 keys (limit max_order_by_keys)");
  EXPECT_EQ(error(absl::StrCat("[", std::string(80, ' '), "]"), tight),
            "invalid orderBy: more than 80 bytes (limit max_order_by_bytes)");
}

TEST_F(PlannerTest, ManyOrderKeysPageWithANestedKeysetCondition) {
  Planner planner(schema_, *operators_);
  v1::RootField root = Root("sample.v_user");
  root.set_order_by_json(
      R"([{"age":"ASC"},{"firstName":"DESC"},{"createdAt":"ASC_NULLS_FIRST"},)"
      R"({"address":{"cityName":"ASC","postalCode":"DESC"}}])");
  root.set_first(2);
  auto first = planner.PlanRoot(root);
  ASSERT_TRUE(first.ok()) << first.status();
  auto cursor = EncodeCursor(
      first->connection.cursor_fingerprint,
      R"([1,"a","2024-01-01T00:00:00Z","b","c","00000000-0000-4000-8000-000000000001"])");
  ASSERT_TRUE(cursor.ok());
  root.set_after(*cursor);
  auto next = planner.PlanRoot(root);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->plan.params.size(), 7u);
  // Nested as k1 > c1 OR (k1 = c1 AND (k2 < c2 OR ...)), built front to
  // back: the tiebreaker last, then every parenthesis closed.
  EXPECT_NE(next->plan.sql.find(
                "WHERE (((t.\"data\"->>'age')::numeric > $1::numeric OR "
                "($1::numeric IS NOT NULL AND (t.\"data\"->>'age')::numeric "
                "IS NULL)) OR ((t.\"data\"->>'age')::numeric IS NOT DISTINCT "
                "FROM $1::numeric AND ((t.\"data\"->>'first_name' < $2::text"),
            std::string::npos)
      << next->plan.sql;
  EXPECT_NE(next->plan.sql.find(
                "IS NOT DISTINCT FROM $5::text AND t.\"id\" > $6::uuid)))))))))) "
                "ORDER BY"),
            std::string::npos)
      << next->plan.sql;
}

TEST_F(PlannerTest, CursorsAreSignedWithTheSecret) {
  PlannerOptions a_options, b_options;
  a_options.cursor_secret = "secret shared by the deployment";
  b_options.cursor_secret = "secret of another deployment";
  Planner a(schema_, *operators_, {}, a_options);
  Planner a_too(schema_, *operators_, {}, a_options);  // another process
  Planner b(schema_, *operators_, {}, b_options);
  Planner random_secret(schema_, *operators_);
  v1::RootField root = Root("sample.v_user");
  root.set_order_by_json(R"([{"age":"DESC"}])");
  root.set_first(2);
  auto page = a.PlanRoot(root);
  ASSERT_TRUE(page.ok()) << page.status();
  auto cursor = EncodeCursor(page->connection.cursor_fingerprint,
                             R"([30,"00000000-0000-4000-8000-000000000001"])");
  ASSERT_TRUE(cursor.ok());
  root.set_after(*cursor);
  EXPECT_TRUE(a.PlanRoot(root).ok());
  EXPECT_TRUE(a_too.PlanRoot(root).ok());
  const std::string foreign =
      "invalid cursor at after: the cursor belongs to another view or "
      "orderBy, or was altered";
  EXPECT_EQ(b.PlanRoot(root).status().message(), foreign);
  EXPECT_EQ(random_secret.PlanRoot(root).status().message(), foreign);

  // One character changed anywhere: rejected, and never quoted.
  for (size_t i = 0; i < cursor->size(); ++i) {
    std::string altered = *cursor;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    root.set_after(altered);
    auto plan = a.PlanRoot(root);
    ASSERT_FALSE(plan.ok()) << "character " << i;
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(plan.status().message().find(altered), std::string::npos);
  }
}

}  // namespace
}  // namespace fraiseql::planner
