// End to end through every C++ stage on a real server: planner -> native
// backend -> stream -> response, with exact response bytes.
#include "repository/repository.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "where/json_value.h"
#include "plugins/backends/native/native_backend.h"
#include "tests/postgres_fixture.h"

namespace fraiseql {
namespace {

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string& s = schema_.name();
    schema_.admin().Exec(
        "CREATE TABLE " + s + ".tb_item (id uuid PRIMARY KEY, data jsonb);"
        "CREATE VIEW " + s + ".v_item AS SELECT id, data FROM " + s +
        ".tb_item;"
        "INSERT INTO " + s + ".tb_item VALUES "
        "('00000000-0000-4000-8000-000000000001', '{\"id\": "
        "\"00000000-0000-4000-8000-000000000001\", \"item_name\": \"Zoë "
        "\\\"quoted\\\" \\\\ back\", \"price\": 100.50, \"qty\": 9, "
        "\"place\": {\"city_name\": \"Paris\", \"zip_code\": \"75001\"}}'),"
        "('00000000-0000-4000-8000-000000000002', '{\"id\": "
        "\"00000000-0000-4000-8000-000000000002\", \"item_name\": \"日本\", "
        "\"price\": 12345678901234567.89, \"qty\": 10, \"place\": null}'),"
        "('00000000-0000-4000-8000-000000000003', '{\"id\": "
        "\"00000000-0000-4000-8000-000000000003\", \"item_name\": \"third\", "
        "\"qty\": 11}');"
        "CREATE VIEW " + s + ".v_broken AS SELECT 'not json'::text AS data");
    auto registry = std::make_shared<where::Schema>();
    ASSERT_TRUE(registry
                    ->AddObjectType("Place", {{"city_name", "String"},
                                              {"zip_code", "String"}})
                    .ok());
    ASSERT_TRUE(registry
                    ->AddView(s + ".v_item", "Item", "data",
                              {{"id", "uuid"}, {"data", "jsonb"}},
                              {{"id", "UUID"},
                               {"item_name", "String"},
                               {"price", "Decimal"},
                               {"qty", "Int"},
                               {"place", "Place"}})
                    .ok());
    ASSERT_TRUE(registry
                    ->AddView(s + ".v_broken", "Broken", "data",
                              {{"data", "text"}}, {{"x", "Int"}})
                    .ok());
    pool::PoolOptions options;
    options.connection.conninfo = testing::DatabaseUrl();
    options.max_size = 2;
    auto pool = pool::Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    repository_ = std::make_unique<Repository>(
        registry, std::shared_ptr<const where::OperatorRegistry>(
                      where::MakeBuiltinOperatorRegistry()),
        std::make_shared<plugins::NativeBackend>(*pool));
  }

  v1::RootField* AddRoot(v1::QueryDefinition* q, const std::string& key,
                         const std::string& view, bool is_list = true) {
    v1::RootField* root = q->add_roots();
    root->set_response_key(key);
    root->set_view(schema_.name() + "." + view);
    root->set_is_list(is_list);
    return root;
  }

  static void Select(v1::RootField* root,
                     std::vector<std::pair<std::string, std::string>> fields) {
    root->set_has_selection(true);
    for (auto& [key, name] : fields) {
      v1::Selection* s = root->add_selection();
      s->set_response_key(key);
      s->set_field_name(name);
    }
  }

  testing::ScopedSchema schema_{"repository"};
  std::unique_ptr<Repository> repository_;
};

TEST_F(RepositoryTest, ReturnsExactBytesForFilteredOrderedProjectedList) {
  v1::QueryDefinition q;
  v1::RootField* root = AddRoot(&q, "items", "v_item");
  root->set_where_json(R"({"qty": {"gte": 9}, "price": {"gt": 100}})");
  root->set_order_by_json(R"([{"qty": "DESC"}])");
  Select(root, {{"name", "itemName"}, {"price", "price"}, {"qty", "qty"},
                {"__typename", "__typename"}});
  auto body = repository_->Execute(q);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body,
            R"({"data":{"items":[)"
            R"({"name":"日本","price":12345678901234567.89,"qty":10,"__typename":"Item"},)"
            R"({"name":"Zoë \"quoted\" \\ back","price":100.50,"qty":9,"__typename":"Item"}]}})");
}

TEST_F(RepositoryTest, SingleObjectAndNullInOneBody) {
  v1::QueryDefinition q;
  v1::RootField* one = AddRoot(&q, "item", "v_item", /*is_list=*/false);
  one->set_where_json(R"({"id": "00000000-0000-4000-8000-000000000001"})");
  one->set_has_selection(true);
  v1::Selection* place = one->add_selection();
  place->set_response_key("where");
  place->set_field_name("place");
  v1::Selection* c = place->add_fields();
  c->set_response_key("cityName");
  c->set_field_name("cityName");
  v1::RootField* none = AddRoot(&q, "missing", "v_item", /*is_list=*/false);
  none->set_where_json(R"({"qty": 12345})");
  Select(none, {{"id", "id"}});
  auto body = repository_->Execute(q);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body,
            R"({"data":{"item":{"where":{"cityName":"Paris"}},"missing":null}})");
}

TEST_F(RepositoryTest, EmptyListAndMissingKeysAsNull) {
  v1::QueryDefinition q;
  v1::RootField* none = AddRoot(&q, "none", "v_item");
  none->set_where_json(R"({"qty": {"gt": 100}})");
  v1::RootField* third = AddRoot(&q, "third", "v_item");
  third->set_where_json(R"({"qty": 11})");
  Select(third, {{"price", "price"}, {"qty", "qty"}});
  auto body = repository_->Execute(q);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body,
            R"({"data":{"none":[],"third":[{"price":null,"qty":11}]}})");
}

TEST_F(RepositoryTest, InvalidRowBecomesFieldError) {
  v1::QueryDefinition q;
  AddRoot(&q, "broken", "v_broken");
  v1::RootField* ok = AddRoot(&q, "items", "v_item");
  ok->set_limit(1);
  ok->set_order_by_json(R"([{"qty": "ASC"}])");
  Select(ok, {{"qty", "qty"}});
  auto body = repository_->Execute(q);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->substr(0, 57),
            R"({"data":{"broken":null,"items":[{"qty":9}]},"errors":[{"m)");
  EXPECT_NE(body->find(R"("path":["broken"])"), std::string::npos) << *body;
}

TEST_F(RepositoryTest, BadInputFailsBeforeAnySql) {
  v1::QueryDefinition q;
  AddRoot(&q, "items", "v_item");
  v1::RootField* bad = AddRoot(&q, "bad", "v_item");
  bad->set_where_json(R"({"qty": {"eq": "nine"}})");
  auto body = repository_->Execute(q);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(std::string(body.status().message()),
            "invalid value at where.qty.eq: expected an integer, got a string "
            "'nine'");
  v1::QueryDefinition dup;
  AddRoot(&dup, "items", "v_item");
  AddRoot(&dup, "items", "v_item");
  EXPECT_EQ(std::string(repository_->Execute(dup).status().message()),
            "two root fields answer to the key 'items'; give one an alias");
}

TEST_F(RepositoryTest, WritesValuesOfValueOperations) {
  v1::QueryDefinition q;
  AddRoot(&q, "n", "v_item")->set_operation(v1::RootField::COUNT);
  v1::RootField* any = AddRoot(&q, "any", "v_item");
  any->set_operation(v1::RootField::EXISTS);
  any->set_where_json(R"({"qty": 12345})");
  v1::RootField* total = AddRoot(&q, "total", "v_item");
  total->set_operation(v1::RootField::SUM);
  total->set_aggregate_field("price");
  v1::RootField* most = AddRoot(&q, "most", "v_item");
  most->set_operation(v1::RootField::MAX);
  most->set_aggregate_field("itemName");
  v1::RootField* none = AddRoot(&q, "none", "v_item");
  none->set_operation(v1::RootField::AVG);
  none->set_aggregate_field("qty");
  none->set_where_json(R"({"qty": {"gt": 100}})");
  v1::RootField* cities = AddRoot(&q, "cities", "v_item");
  cities->set_operation(v1::RootField::DISTINCT);
  cities->set_aggregate_field("place.cityName");
  auto body = repository_->Execute(q);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body,
            R"({"data":{"n":3,"any":false,"total":12345678901234668.39,)"
            R"("most":"日本","none":null,"cities":["Paris",null]}})");

  v1::RootField avg;
  avg.set_view(schema_.name() + ".v_item");
  avg.set_operation(v1::RootField::AVG);
  avg.set_aggregate_field("qty");
  auto value = repository_->ExecuteValue(avg);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->json, "10.0000000000000000");
  EXPECT_TRUE(value->decimal_numbers);
  avg.set_operation(v1::RootField::FIND);
  EXPECT_EQ(repository_->ExecuteValue(avg).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Keyset pagination end to end: every page forward and backward, for
// orderings with mixed directions and null keys, must add up to the full
// ordered list.
class PaginationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string& s = schema_.name();
    // 40 rows; names repeat and are sometimes null; scores repeat, are null
    // (every 5th) or missing (every 7th).
    schema_.admin().Exec(
        "CREATE TABLE " + s + ".tb_row (id uuid PRIMARY KEY, data jsonb);"
        "CREATE VIEW " + s + ".v_row AS SELECT id, data FROM " + s +
        ".tb_row;"
        "INSERT INTO " + s + ".tb_row SELECT u, jsonb_build_object('id', "
        "u::text, 'name', (ARRAY['b', 'a', NULL, 'c'])[1 + g % 4], 'score', "
        "CASE WHEN g % 5 = 0 THEN NULL ELSE g % 6 END, 'day', "
        "('2024-01-01'::date + g % 3)::text) - CASE WHEN g % 7 = 0 THEN "
        "'score' ELSE '' END FROM (SELECT g, md5('row' || g)::uuid AS u FROM "
        "generate_series(1, 40) g) AS rows");
    auto registry = std::make_shared<where::Schema>();
    ASSERT_TRUE(registry
                    ->AddView(s + ".v_row", "Row", "data",
                              {{"id", "uuid"}, {"data", "jsonb"}},
                              {{"id", "UUID"},
                               {"name", "String"},
                               {"score", "Int"},
                               {"day", "Date"}})
                    .ok());
    pool::PoolOptions options;
    options.connection.conninfo = testing::DatabaseUrl();
    options.max_size = 2;
    auto pool = pool::Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    repository_ = std::make_unique<Repository>(
        registry, std::shared_ptr<const where::OperatorRegistry>(
                      where::MakeBuiltinOperatorRegistry()),
        std::make_shared<plugins::NativeBackend>(*pool));
  }

  struct Page {
    std::vector<std::string> ids;
    std::vector<std::string> cursors;
    bool has_next = false;
    bool has_previous = false;
    std::string start, end;  // "null" when absent
    std::optional<int64_t> total;
  };

  v1::RootField Root(const std::string& order_by) {
    v1::RootField root;
    root.set_view(schema_.name() + ".v_row");
    root.set_response_key("rows");
    root.set_is_list(true);
    root.set_where_json(where_json_);
    root.set_order_by_json(order_by);
    root.set_has_selection(true);
    v1::Selection* id = root.add_selection();
    id->set_response_key("id");
    id->set_field_name("id");
    return root;
  }

  // The ids of the full list, ordered as the connection orders it.
  std::vector<std::string> FullList(const std::string& order_by) {
    std::string with_id = order_by.empty()
                              ? R"([{"id": "ASC"}])"
                              : absl::StrCat(order_by.substr(0, order_by.size() - 1),
                                             R"(, {"id": "ASC"}])");
    v1::QueryDefinition q;
    *q.add_roots() = Root(with_id);
    auto body = repository_->Execute(q);
    EXPECT_TRUE(body.ok()) << body.status();
    auto json = where::ParseJson(*body);
    std::vector<std::string> ids;
    for (const auto& row : json->members()[0].second.members()[0].second.items()) {
      ids.push_back(row.members()[0].second.text());
    }
    return ids;
  }

  static const where::JsonValue& Member(const where::JsonValue& object,
                                        absl::string_view key) {
    for (const auto& [k, v] : object.members()) {
      if (k == key) return v;
    }
    static const where::JsonValue* null = new where::JsonValue(where::JsonValue::Null());
    ADD_FAILURE() << "no member " << key << " in " << object.ToJson();
    return *null;
  }

  Page Fetch(v1::RootField root) {
    v1::QueryDefinition q;
    *q.add_roots() = std::move(root);
    auto body = repository_->Execute(q);
    EXPECT_TRUE(body.ok()) << body.status();
    Page page;
    if (!body.ok()) return page;
    auto json = where::ParseJson(*body);
    EXPECT_TRUE(json.ok()) << *body;
    const where::JsonValue& rows = Member(Member(*json, "data"), "rows");
    for (const auto& edge : Member(rows, "edges").items()) {
      page.cursors.push_back(Member(edge, "cursor").text());
      page.ids.push_back(Member(Member(edge, "node"), "id").text());
    }
    const where::JsonValue& info = Member(rows, "pageInfo");
    page.has_next = Member(info, "hasNextPage").bool_value();
    page.has_previous = Member(info, "hasPreviousPage").bool_value();
    page.start = Member(info, "startCursor").ToJson();
    page.end = Member(info, "endCursor").ToJson();
    if (rows.members().size() == 3) {
      page.total = std::stoll(Member(rows, "totalCount").text());
    }
    return page;
  }

  // Walks every page forward with first=n, then backward with last=n, and
  // checks both against the full ordered list.
  void WalkBothWays(const std::string& order_by, int n) {
    SCOPED_TRACE(absl::StrCat(order_by, " by ", n));
    const std::vector<std::string> full = FullList(order_by);
    ASSERT_FALSE(full.empty());

    std::vector<std::string> forward;
    std::optional<std::string> after;
    for (int guard = 0; guard < 100; ++guard) {
      v1::RootField root = Root(order_by);
      root.set_first(n);
      if (after.has_value()) root.set_after(*after);
      root.set_include_total_count(guard == 0);
      Page page = Fetch(root);
      if (guard == 0) {
        EXPECT_EQ(page.total, static_cast<int64_t>(full.size()));
      }
      EXPECT_FALSE(page.has_previous);  // Relay: false when paging forward
      EXPECT_LE(page.ids.size(), static_cast<size_t>(n));
      forward.insert(forward.end(), page.ids.begin(), page.ids.end());
      EXPECT_EQ(page.has_next, forward.size() < full.size());
      if (!page.ids.empty()) {
        EXPECT_EQ(page.start, absl::StrCat("\"", page.cursors.front(), "\""));
        EXPECT_EQ(page.end, absl::StrCat("\"", page.cursors.back(), "\""));
      }
      if (!page.has_next) break;
      after = page.cursors.back();
    }
    EXPECT_EQ(forward, full);

    std::vector<std::string> backward;
    std::optional<std::string> before;
    for (int guard = 0; guard < 100; ++guard) {
      v1::RootField root = Root(order_by);
      root.set_last(n);
      if (before.has_value()) root.set_before(*before);
      Page page = Fetch(root);
      EXPECT_FALSE(page.has_next);  // Relay: false when paging backward
      backward.insert(backward.begin(), page.ids.begin(), page.ids.end());
      EXPECT_EQ(page.has_previous, backward.size() < full.size());
      if (!page.has_previous) break;
      before = page.cursors.front();
    }
    EXPECT_EQ(backward, full);
  }

  testing::ScopedSchema schema_{"pagination"};
  std::unique_ptr<Repository> repository_;
  std::string where_json_;
};

TEST_F(PaginationTest, WalksEveryPageByIdAlone) { WalkBothWays("", 7); }

TEST_F(PaginationTest, WalksEveryPageOverNullableKeysBothDirections) {
  for (const char* order :
       {R"([{"score": "ASC"}])", R"([{"score": "DESC"}])",
        R"([{"score": "ASC_NULLS_FIRST"}])", R"([{"score": "DESC_NULLS_LAST"}])",
        R"([{"name": "ASC"}, {"score": "DESC"}])",
        R"([{"name": "DESC_NULLS_LAST"}, {"score": "ASC_NULLS_FIRST"}])",
        R"([{"day": "DESC"}, {"name": "ASC_NULLS_FIRST"}, {"score": "DESC_NULLS_LAST"}])",
        R"([{"score": "ASC"}, {"id": "DESC"}])"}) {
    for (int n : {1, 3, 8, 40, 41}) WalkBothWays(order, n);
  }
}

TEST_F(PaginationTest, WalksAFilteredList) {
  where_json_ = R"({"OR": [{"score": {"gte": 3}}, {"name": {"isnull": true}}]})";
  WalkBothWays(R"([{"name": "ASC"}, {"score": "DESC"}])", 4);
}

TEST_F(PaginationTest, PagesBetweenTwoCursorsAndReportsTotalCount) {
  const std::string order = R"([{"score": "DESC"}, {"name": "ASC"}])";
  v1::RootField all = Root(order);
  all.set_first(40);
  Page full = Fetch(all);
  ASSERT_EQ(full.ids.size(), 40u);
  v1::RootField between = Root(order);
  between.set_after(full.cursors[5]);
  between.set_before(full.cursors[15]);
  between.set_include_total_count(true);
  Page page = Fetch(between);
  EXPECT_EQ(page.ids, std::vector<std::string>(full.ids.begin() + 6,
                                               full.ids.begin() + 15));
  EXPECT_EQ(page.cursors, std::vector<std::string>(full.cursors.begin() + 6,
                                                   full.cursors.begin() + 15));
  EXPECT_EQ(page.total, 40);
  // first: 0 returns no edge but knows that rows follow.
  v1::RootField none = Root(order);
  none.set_first(0);
  page = Fetch(none);
  EXPECT_TRUE(page.ids.empty());
  EXPECT_TRUE(page.has_next);
  EXPECT_EQ(page.start, "null");
}

TEST_F(PaginationTest, RejectsACursorOfAnotherOrdering) {
  v1::RootField by_score = Root(R"([{"score": "DESC"}])");
  by_score.set_first(1);
  Page page = Fetch(by_score);
  ASSERT_EQ(page.cursors.size(), 1u);
  v1::RootField by_name = Root(R"([{"name": "DESC"}])");
  by_name.set_first(1);
  by_name.set_after(page.cursors[0]);
  v1::QueryDefinition q;
  *q.add_roots() = by_name;
  auto body = repository_->Execute(q);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(std::string(body.status().message()),
            "invalid cursor at after: the cursor belongs to another view or "
            "orderBy");
}

}  // namespace
}  // namespace fraiseql
