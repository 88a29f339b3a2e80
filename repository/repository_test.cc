// End to end through every C++ stage on a real server: planner -> native
// backend -> stream -> response, with exact response bytes.
#include "repository/repository.h"

#include "gtest/gtest.h"
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

}  // namespace
}  // namespace fraiseql
