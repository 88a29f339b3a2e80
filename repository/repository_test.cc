// End to end through every C++ stage on a real server: planner -> native
// backend -> stream -> response, with exact response bytes.
#include "repository/repository.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/pg_status.h"
#include "gtest/gtest.h"
#include "plugins/backends/native/native_backend.h"
#include "tests/postgres_fixture.h"
#include "tests/string_destination.h"
#include "where/json_value.h"

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
        "CREATE VIEW " + s + ".v_broken AS SELECT 'not json'::text AS data;"
        "CREATE VIEW " + s + ".v_many AS SELECT g AS id, jsonb_build_object("
        "'id', g, 'label', 'row number ' || g) AS data FROM "
        "generate_series(1, 300) g;"
        // The series in the target list streams (in FROM it would be
        // materialised first).
        "CREATE VIEW " + s + ".v_huge AS SELECT g AS id, jsonb_build_object("
        "'id', g) AS data FROM (SELECT generate_series(1, 1000000) AS g) AS "
        "series;"
        // Rows 1 to 60,000 are JSON, the last one is not: its field fails
        // after most of it has been landed.
        "CREATE VIEW " + s + ".v_late_broken AS SELECT g AS id, CASE WHEN "
        "g <= 60000 THEN jsonb_build_object('id', g)::text ELSE 'not json' "
        "END AS data FROM (SELECT generate_series(1, 60001) AS g) AS series");
    auto registry = std::make_shared<where::Schema>();
    registry_ = registry;
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
    ASSERT_TRUE(registry
                    ->AddView(s + ".v_late_broken", "Row", "data",
                              {{"id", "integer"}, {"data", "text"}},
                              {{"id", "Int"}})
                    .ok());
    for (const char* view : {".v_many", ".v_huge"}) {
      ASSERT_TRUE(registry
                      ->AddView(s + view, "Row", "data",
                                {{"id", "integer"}, {"data", "jsonb"}},
                                {{"id", "Int"}, {"label", "String"}})
                      .ok());
    }
    auto pool = pool::Pool::Create(testing::TestPoolOptions(2));
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *pool;
    backend_ = std::make_shared<plugins::NativeBackend>(pool_);
    repository_ = std::make_unique<Repository>(registry, operators_, backend_);
  }

  // A repository over the same schema and backend, with `options`.
  std::unique_ptr<Repository> WithOptions(RepositoryOptions options) {
    return std::make_unique<Repository>(registry_, operators_, backend_,
                                        options);
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
  std::shared_ptr<where::Schema> registry_;
  std::shared_ptr<const where::OperatorRegistry> operators_ =
      where::MakeBuiltinOperatorRegistry();
  std::shared_ptr<pool::Pool> pool_;
  std::shared_ptr<plugins::NativeBackend> backend_;
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

TEST_F(RepositoryTest, ABodyIsSizedAheadFromTheLastOfItsShape) {
  v1::QueryDefinition q;
  v1::RootField* root = AddRoot(&q, "items", "v_item");
  Select(root, {{"name", "itemName"}, {"price", "price"}});
  auto first = repository_->Execute(q);
  ASSERT_TRUE(first.ok()) << first.status();
  // The same shape again: the body is reserved for the last one's size
  // and a little more, before any row is written.
  auto second = repository_->Execute(q);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(second->capacity(), first->size() + first->size() / 8 + 4096);
  // The same size, for a caller that makes the buffer itself.
  EXPECT_EQ(Repository::BodySizeHint(*repository_->Plan(q)),
            second->capacity());
  v1::QueryDefinition other = q;
  other.mutable_roots(0)->set_where_json(R"({"qty": {"gt": 1}})");
  EXPECT_EQ(Repository::BodySizeHint(*repository_->Plan(other)), 0u);
}

TEST_F(RepositoryTest, ALandedBodyEqualsTheWholeBody) {
  v1::QueryDefinition q;
  AddRoot(&q, "n", "v_many")->set_operation(v1::RootField::COUNT);
  v1::RootField* huge = AddRoot(&q, "huge", "v_huge");
  huge->set_order_by_json(R"([{"id": "ASC"}])");
  huge->set_limit(100000);
  v1::RootField* page = AddRoot(&q, "page", "v_many");
  page->set_order_by_json(R"([{"id": "DESC"}])");
  page->set_last(50);
  page->set_include_total_count(true);
  AddRoot(&q, "one", "v_item", false)->set_where_json(R"({"qty": 9})");
  auto whole = repository_->Execute(q);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_GT(whole->size(), 1000000u);

  exec::CallStats stats;
  exec::RequestContext context;
  context.stats = &stats;
  testing::StringDestination destination;
  auto rest = repository_->Execute(q, context, &destination);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(*rest, "");
  EXPECT_EQ(destination.bytes(), *whole);
  // Landed as it was written, in pieces that stay small.
  EXPECT_GE(destination.pieces(), 4);
  EXPECT_EQ(stats.bytes, static_cast<int64_t>(whole->size()));
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(RepositoryTest, ALandedFieldThatFailsLateIsCutBack) {
  v1::QueryDefinition q;
  AddRoot(&q, "one", "v_item", false)->set_where_json(R"({"qty": 9})");
  AddRoot(&q, "rows", "v_late_broken")->set_order_by_json(R"([{"id": "ASC"}])");
  AddRoot(&q, "n", "v_many")->set_operation(v1::RootField::COUNT);
  auto whole = repository_->Execute(q);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_TRUE(absl::StrContains(*whole, R"("rows":null,"n":300})"))
      << whole->substr(0, 200);

  testing::StringDestination destination;
  auto rest = repository_->Execute(q, {}, &destination);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(destination.bytes(), *whole);
  EXPECT_GE(destination.truncations(), 1);
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(RepositoryTest, ALandedBodyPastTheCapFails) {
  v1::QueryDefinition q;
  v1::RootField* huge = AddRoot(&q, "huge", "v_huge");
  huge->set_order_by_json(R"([{"id": "ASC"}])");
  huge->set_limit(100000);
  RepositoryOptions options;
  options.max_response_bytes = 500000;
  testing::StringDestination destination;
  auto rest = WithOptions(options)->Execute(q, {}, &destination);
  EXPECT_EQ(rest.status().code(), absl::StatusCode::kResourceExhausted)
      << rest.status();
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(RepositoryTest, ExecuteManyLandsEachBodyInItsOwnDestination) {
  // Row 60,000 of v_late_boom divides by zero on the server.
  schema_.admin().Exec(
      "CREATE VIEW " + schema_.name() + ".v_late_boom AS SELECT g AS id, "
      "jsonb_build_object('id', CASE WHEN g = 60000 THEN 1 / (g - 60000) "
      "ELSE g END) AS data FROM (SELECT generate_series(1, 60001) AS g) AS "
      "series");
  auto registry = std::make_shared<where::Schema>(*registry_);
  ASSERT_TRUE(registry
                  ->AddView(schema_.name() + ".v_late_boom", "Row", "data",
                            {{"id", "integer"}, {"data", "jsonb"}},
                            {{"id", "Int"}})
                  .ok());
  Repository repository(registry, operators_, backend_);
  std::vector<v1::QueryDefinition> queries(3);
  for (size_t i = 0; i < queries.size(); ++i) {
    v1::RootField* huge = AddRoot(&queries[i], "huge", "v_huge");
    huge->set_where_json(absl::StrCat(R"({"id": {"gt": )", i * 1000, "}}"));
    huge->set_order_by_json(R"([{"id": "ASC"}])");
    huge->set_limit(40000 + i);
  }
  exec::RequestContext context;
  const auto run = [&](std::vector<const v1::QueryDefinition*> query_of,
                       std::vector<testing::StringDestination>* landed) {
    landed->resize(query_of.size());
    std::vector<const exec::RequestContext*> context_of(query_of.size(),
                                                        &context);
    std::vector<response::Destination*> destination_of;
    for (auto& destination : *landed) destination_of.push_back(&destination);
    return repository.ExecuteMany(query_of, context_of, nullptr,
                                  destination_of);
  };
  // One batch, each body in its own destination.
  std::vector<testing::StringDestination> landed;
  auto many = run({&queries[0], &queries[2]}, &landed);
  for (size_t k = 0; k < 2; ++k) {
    auto alone = repository.Execute(queries[2 * k]);
    ASSERT_TRUE(alone.ok()) << alone.status();
    ASSERT_TRUE(many[k].ok()) << k << ": " << many[k].status();
    EXPECT_EQ(*many[k], "") << k;
    EXPECT_EQ(landed[k].bytes(), *alone) << k;
    EXPECT_GE(landed[k].pieces(), 2) << k;
  }

  // The middle query fails the batch on the server after the first body
  // has landed whole: each runs again alone, into a destination emptied
  // first.
  queries[1].mutable_roots(0)->set_view(schema_.name() + ".v_late_boom");
  queries[1].mutable_roots(0)->clear_where_json();
  many = run({&queries[0], &queries[1], &queries[2]}, &landed);
  EXPECT_EQ(many[1].status().code(), absl::StatusCode::kInvalidArgument)
      << many[1].status();  // 22012 division_by_zero
  for (size_t i : {0, 2}) {
    auto alone = repository.Execute(queries[i]);
    ASSERT_TRUE(alone.ok()) << alone.status();
    ASSERT_TRUE(many[i].ok()) << i << ": " << many[i].status();
    EXPECT_EQ(landed[i].bytes(), *alone) << i;
  }
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(RepositoryTest, ProjectionOptionsApplyToPlannedAndCachedRoots) {
  RepositoryOptions options;
  options.projection.always_typename = true;
  std::unique_ptr<Repository> typed = WithOptions(options);
  v1::QueryDefinition q;
  v1::RootField* root = AddRoot(&q, "item", "v_item", /*is_list=*/false);
  root->set_where_json(R"({"qty": {"eq": 9}})");
  Select(root, {{"qty", "qty"}});
  for (int call = 0; call < 2; ++call) {  // planned, then from the cache
    auto body = typed->Execute(q);
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_EQ(*body, R"({"data":{"item":{"__typename":"Item","qty":9}}})");
  }
  EXPECT_EQ(typed->plan_cache_stats().hits, 1);
  // Without the option (the default), no __typename.
  auto plain = repository_->Execute(q);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, R"({"data":{"item":{"qty":9}}})");
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
            "invalid value at where.qty.eq: expected an Int (a whole number), "
            "got a string");
  v1::QueryDefinition dup;
  AddRoot(&dup, "items", "v_item");
  AddRoot(&dup, "items", "v_item");
  EXPECT_EQ(std::string(repository_->Execute(dup).status().message()),
            "two root fields answer to the key 'items'; give one an alias");
}

TEST_F(RepositoryTest, TooManyRootFieldsFailBeforePlanning) {
  v1::QueryDefinition q;
  for (int i = 0; i < 65; ++i) {
    // Unknown views: planning them would fail with NotFound first.
    AddRoot(&q, absl::StrCat("r", i), "v_nowhere");
  }
  auto body = repository_->Execute(q);
  EXPECT_EQ(body.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(body.status().message()),
            "too many root fields: 65 (limit max_root_fields 64)");
  struct NoSink : BodySink {
    absl::Status OnBytes(absl::string_view) override {
      ++pieces;
      return absl::OkStatus();
    }
    int pieces = 0;
  } sink;
  absl::Status streamed = repository_->ExecuteStreaming(q, {}, &sink);
  EXPECT_EQ(std::string(streamed.message()),
            "too many root fields: 65 (limit max_root_fields 64)");
  EXPECT_EQ(sink.pieces, 0);
  // Up to the limit, and without one, they are planned (NotFound here).
  q.mutable_roots()->RemoveLast();
  EXPECT_EQ(repository_->Execute(q).status().code(),
            absl::StatusCode::kNotFound);
  RepositoryOptions options;
  options.max_root_fields = 0;
  AddRoot(&q, "r64", "v_nowhere");
  EXPECT_EQ(WithOptions(options)->Execute(q).status().code(),
            absl::StatusCode::kNotFound);
  options.max_root_fields = 2;
  EXPECT_EQ(std::string(WithOptions(options)->Execute(q).status().message()),
            "too many root fields: 65 (limit max_root_fields 2)");
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

// Collects a streamed body; optionally fails on the `fail_at`-th piece.
class PieceSink : public BodySink {
 public:
  absl::Status OnBytes(absl::string_view bytes) override {
    pieces.emplace_back(bytes);
    if (static_cast<int>(pieces.size()) == fail_at) {
      return absl::AbortedError("the client went away");
    }
    return absl::OkStatus();
  }
  std::string Joined() const { return absl::StrJoin(pieces, ""); }
  std::vector<std::string> pieces;
  int fail_at = -1;
};

TEST_F(RepositoryTest, RootsOfEveryShapeMakeOneBodyInRequestOrder) {
  v1::QueryDefinition q;
  AddRoot(&q, "n", "v_item")->set_operation(v1::RootField::COUNT);
  v1::RootField* page = AddRoot(&q, "page", "v_item");
  page->set_order_by_json(R"([{"qty": "ASC"}])");
  page->set_first(2);
  page->set_include_total_count(true);
  Select(page, {{"qty", "qty"}});
  v1::RootField* list = AddRoot(&q, "list", "v_item");
  list->set_order_by_json(R"([{"qty": "DESC"}])");
  Select(list, {{"qty", "qty"}});
  v1::RootField* one = AddRoot(&q, "one", "v_item", /*is_list=*/false);
  one->set_where_json(R"({"qty": 10})");
  Select(one, {{"name", "itemName"}});
  v1::RootField* none = AddRoot(&q, "none", "v_item", /*is_list=*/false);
  none->set_where_json(R"({"qty": 12345})");
  auto body = repository_->Execute(q);
  ASSERT_TRUE(body.ok()) << body.status();

  // Each root alone gives the same value as in the batch.
  std::string expected = R"({"data":{)";
  for (int i = 0; i < q.roots_size(); ++i) {
    v1::QueryDefinition alone;
    *alone.add_roots() = q.roots(i);
    auto part = repository_->Execute(alone);
    ASSERT_TRUE(part.ok()) << part.status();
    const std::string prefix = R"({"data":{)";
    ASSERT_EQ(part->substr(0, prefix.size()), prefix);
    ASSERT_EQ(part->substr(part->size() - 2), "}}");
    absl::StrAppend(&expected, i == 0 ? "" : ",",
                    part->substr(prefix.size(),
                                 part->size() - prefix.size() - 2));
  }
  absl::StrAppend(&expected, "}}");
  EXPECT_EQ(*body, expected);

  // And the values themselves.
  auto json = where::ParseJson(*body);
  ASSERT_TRUE(json.ok()) << *body;
  const auto& data = json->members()[0].second.members();
  ASSERT_EQ(data.size(), 5u);
  EXPECT_EQ(data[0].first, "n");
  EXPECT_EQ(data[0].second.ToJson(), "3");
  EXPECT_EQ(data[1].first, "page");
  const auto& connection = data[1].second.members();
  ASSERT_EQ(connection.size(), 3u) << *body;
  EXPECT_EQ(connection[0].first, "edges");
  ASSERT_EQ(connection[0].second.items().size(), 2u);
  EXPECT_EQ(connection[0].second.items()[1].members()[1].second.ToJson(),
            R"({"qty":10})");
  EXPECT_EQ(connection[1].first, "pageInfo");
  EXPECT_EQ(connection[1].second.members()[0].second.ToJson(), "true")
      << "hasNextPage";
  EXPECT_EQ(connection[2].first, "totalCount");
  EXPECT_EQ(connection[2].second.ToJson(), "3");
  EXPECT_EQ(data[2].first, "list");
  EXPECT_EQ(data[2].second.ToJson(), R"([{"qty":11},{"qty":10},{"qty":9}])");
  EXPECT_EQ(data[3].first, "one");
  EXPECT_EQ(data[3].second.ToJson(), R"({"name":"日本"})");
  EXPECT_EQ(data[4].first, "none");
  EXPECT_EQ(data[4].second.ToJson(), "null");
}

TEST_F(RepositoryTest, RootsOfOneRequestShareOneTransaction) {
  const std::string& s = schema_.name();
  schema_.admin().Exec("CREATE VIEW " + s +
                       ".v_xid AS SELECT jsonb_build_object('xid', "
                       "txid_current()::text) AS data");
  auto registry = std::make_shared<where::Schema>(*registry_);
  ASSERT_TRUE(registry
                  ->AddView(s + ".v_xid", "Xid", "data", {{"data", "jsonb"}},
                            {{"xid", "String"}})
                  .ok());
  Repository repository(registry, operators_, backend_);
  v1::QueryDefinition q;
  for (const char* key : {"a", "b", "c"}) AddRoot(&q, key, "v_xid", false);
  auto body = repository.Execute(q);
  ASSERT_TRUE(body.ok()) << body.status();
  auto json = where::ParseJson(*body);
  ASSERT_TRUE(json.ok()) << *body;
  const auto& data = json->members()[0].second.members();
  ASSERT_EQ(data.size(), 3u);
  EXPECT_EQ(data[0].second.ToJson(), data[1].second.ToJson());
  EXPECT_EQ(data[0].second.ToJson(), data[2].second.ToJson());
  auto again = repository.Execute(q);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *body);
}

TEST_F(RepositoryTest, BatchFailsAsAWholeOnAServerError) {
  const std::string& s = schema_.name();
  schema_.admin().Exec("CREATE VIEW " + s +
                       ".v_fail AS SELECT jsonb_build_object('x', 1 / 0) AS "
                       "data");
  auto registry = std::make_shared<where::Schema>(*registry_);
  ASSERT_TRUE(registry
                  ->AddView(s + ".v_fail", "Fail", "data", {{"data", "jsonb"}},
                            {{"x", "Int"}})
                  .ok());
  Repository repository(registry, operators_, backend_);
  v1::QueryDefinition q;
  AddRoot(&q, "items", "v_item");
  AddRoot(&q, "fail", "v_fail");
  auto body = repository.Execute(q);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(std::string(body.status().message()),
            "query failed: division by zero (SQLSTATE 22012)");
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(RepositoryTest, StreamedPiecesJoinToTheBufferedBody) {
  v1::QueryDefinition q;
  AddRoot(&q, "n", "v_many")->set_operation(v1::RootField::COUNT);
  AddRoot(&q, "many", "v_many")->set_order_by_json(R"([{"id": "ASC"}])");
  v1::RootField* page = AddRoot(&q, "page", "v_many");
  page->set_order_by_json(R"([{"id": "DESC"}])");
  page->set_first(50);
  page->set_include_total_count(true);
  AddRoot(&q, "one", "v_item", false)->set_where_json(R"({"qty": 9})");
  auto body = repository_->Execute(q);
  ASSERT_TRUE(body.ok()) << body.status();
  ASSERT_GT(body->size(), 10000u);

  PieceSink sink;
  const size_t chunk_bytes = 512;
  absl::Status status =
      repository_->ExecuteStreaming(q, {}, &sink, chunk_bytes);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(sink.Joined(), *body);
  EXPECT_GT(sink.pieces.size(), body->size() / (2 * chunk_bytes));
  for (const std::string& piece : sink.pieces) {
    EXPECT_FALSE(piece.empty());
    // About chunk_bytes: a piece ends after the row that filled it (and
    // what finishing the roots before that row wrote: a pageInfo...).
    EXPECT_LT(piece.size(), 2 * chunk_bytes) << piece;
  }

  // A chunk larger than the body: one piece.
  PieceSink whole;
  ASSERT_TRUE(repository_->ExecuteStreaming(q, {}, &whole, 1 << 20).ok());
  EXPECT_EQ(whole.pieces, (std::vector<std::string>{*body}));
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(RepositoryTest, StreamingChecksInputBeforeSendingAnything) {
  v1::QueryDefinition q;
  AddRoot(&q, "bad", "v_nowhere");
  PieceSink sink;
  absl::Status status = repository_->ExecuteStreaming(q, {}, &sink, 64);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(sink.pieces.empty());
  v1::QueryDefinition fine;
  AddRoot(&fine, "items", "v_item");
  EXPECT_EQ(repository_->ExecuteStreaming(fine, {}, nullptr, 64).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RepositoryTest, StreamingRejectsAChunkOverTheMaximum) {
  v1::QueryDefinition q;
  AddRoot(&q, "items", "v_item");
  PieceSink sink;
  absl::Status status =
      repository_->ExecuteStreaming(q, {}, &sink, kMaxChunkBytes + 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(std::string(status.message()),
            "chunk_bytes is too large (limit 67108864 bytes)");
  status = repository_->ExecuteStreaming(q, {}, &sink,
                                         std::numeric_limits<size_t>::max());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(sink.pieces.empty());
  EXPECT_TRUE(repository_->ExecuteStreaming(q, {}, &sink, 64).ok());
}

TEST_F(RepositoryTest, SinkErrorStopsTheStreamWithThatError) {
  v1::QueryDefinition q;
  AddRoot(&q, "huge", "v_huge");
  AddRoot(&q, "after", "v_item");
  PieceSink sink;
  sink.fail_at = 1;
  absl::Status status = repository_->ExecuteStreaming(q, {}, &sink, 256);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_EQ(std::string(status.message()), "the client went away");
  EXPECT_EQ(sink.pieces.size(), 1u);
  EXPECT_EQ(pool_->Stats().in_use, 0);
  // The pool is healthy afterwards.
  v1::QueryDefinition next;
  AddRoot(&next, "n", "v_item")->set_operation(v1::RootField::COUNT);
  auto body = repository_->Execute(next);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, R"({"data":{"n":3}})");
}

TEST_F(RepositoryTest, ResponsePastTheCapIsResourceExhausted) {
  v1::QueryDefinition q;
  AddRoot(&q, "many", "v_many")->set_order_by_json(R"([{"id": "ASC"}])");
  RepositoryOptions options;
  options.max_response_bytes = 1000;
  auto capped = WithOptions(options);
  auto body = capped->Execute(q);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), absl::StatusCode::kResourceExhausted);
  auto payload = body.status().GetPayload(kResponseTooLargePayloadUrl);
  ASSERT_TRUE(payload.has_value());
  EXPECT_EQ(std::string(*payload), "response");
  EXPECT_TRUE(absl::StartsWith(body.status().message(),
                               "the response exceeds max_response_bytes (1000 "
                               "bytes) at root field 'many' after "))
      << body.status();
  EXPECT_EQ(pool_->Stats().in_use, 0);
  // Under the cap the same repository answers.
  v1::QueryDefinition small;
  AddRoot(&small, "n", "v_many")->set_operation(v1::RootField::COUNT);
  auto answer = capped->Execute(small);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(*answer, R"({"data":{"n":300}})");
}

TEST_F(RepositoryTest, CapOnAValueRootIsResourceExhausted) {
  v1::QueryDefinition q;
  v1::RootField* labels = AddRoot(&q, "labels", "v_many");
  labels->set_operation(v1::RootField::DISTINCT);
  labels->set_aggregate_field("label");
  RepositoryOptions options;
  options.max_response_bytes = 500;
  auto body = WithOptions(options)->Execute(q);
  EXPECT_EQ(body.status().code(), absl::StatusCode::kResourceExhausted)
      << (body.ok() ? *body : "");
}

// A value call alone (ExecuteValue, e.g. distinct over a big column) obeys
// the cap too, as values arrive, and leaves the pool healthy.
TEST_F(RepositoryTest, CapOnExecuteValueIsResourceExhausted) {
  v1::RootField labels;
  labels.set_response_key("labels");
  labels.set_view(schema_.name() + ".v_many");
  labels.set_is_list(true);
  labels.set_operation(v1::RootField::DISTINCT);
  labels.set_aggregate_field("label");
  RepositoryOptions options;
  options.max_response_bytes = 500;
  auto capped = WithOptions(options);
  auto value = capped->ExecuteValue(labels);
  ASSERT_FALSE(value.ok()) << value->json;
  EXPECT_EQ(value.status().code(), absl::StatusCode::kResourceExhausted);
  auto payload = value.status().GetPayload(kResponseTooLargePayloadUrl);
  ASSERT_TRUE(payload.has_value());
  EXPECT_EQ(std::string(*payload), "response");
  EXPECT_TRUE(absl::StartsWith(value.status().message(),
                               "the response exceeds max_response_bytes (500 "
                               "bytes) at root field 'labels' after "))
      << value.status();
  EXPECT_EQ(pool_->Stats().in_use, 0);
  // Without the cap the same value is whole; a count passes the cap.
  auto whole = repository_->ExecuteValue(labels);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_GT(whole->json.size(), 500u);
  labels.set_operation(v1::RootField::COUNT);
  labels.clear_aggregate_field();
  auto count = capped->ExecuteValue(labels);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->json, "300");
}

// The cap is on the whole body: a body of exactly the cap passes, one byte
// less fails (repository.h: "A response body may not grow past this many
// bytes").
TEST_F(RepositoryTest, CapIsExactOnTheWholeBody) {
  v1::QueryDefinition q;
  v1::RootField* many = AddRoot(&q, "many", "v_many");
  many->set_order_by_json(R"([{"id": "ASC"}])");
  many->set_limit(20);
  auto full = repository_->Execute(q);
  ASSERT_TRUE(full.ok()) << full.status();
  RepositoryOptions options;
  options.max_response_bytes = full->size();
  auto at_cap = WithOptions(options)->Execute(q);
  ASSERT_TRUE(at_cap.ok()) << at_cap.status();
  EXPECT_EQ(*at_cap, *full);
  options.max_response_bytes = full->size() - 1;
  auto past_cap = WithOptions(options)->Execute(q);
  EXPECT_EQ(past_cap.status().code(), absl::StatusCode::kResourceExhausted)
      << "a body of " << full->size() << " bytes passed a cap of "
      << options.max_response_bytes;

  v1::QueryDefinition c;
  v1::RootField* page = AddRoot(&c, "page", "v_many");
  page->set_first(3);
  page->set_include_total_count(true);
  auto connection = repository_->Execute(c);
  ASSERT_TRUE(connection.ok()) << connection.status();
  options.max_response_bytes = connection->size() - 1;
  past_cap = WithOptions(options)->Execute(c);
  EXPECT_EQ(past_cap.status().code(), absl::StatusCode::kResourceExhausted)
      << "a body of " << connection->size() << " bytes passed a cap of "
      << options.max_response_bytes;
  options.max_response_bytes = connection->size() - 150;
  past_cap = WithOptions(options)->Execute(c);
  EXPECT_EQ(past_cap.status().code(), absl::StatusCode::kResourceExhausted)
      << "a body of " << connection->size() << " bytes passed a cap of "
      << options.max_response_bytes;
}

TEST_F(RepositoryTest, CapInAStreamEndsTheBodyWithAnError) {
  v1::QueryDefinition q;
  AddRoot(&q, "many", "v_many")->set_order_by_json(R"([{"id": "ASC"}])");
  AddRoot(&q, "later", "v_item");
  RepositoryOptions options;
  options.max_response_bytes = 2000;
  auto capped = WithOptions(options);
  PieceSink sink;
  absl::Status status = capped->ExecuteStreaming(q, {}, &sink, 256);
  EXPECT_TRUE(status.ok()) << status;
  ASSERT_GT(sink.pieces.size(), 1u);
  const std::string body = sink.Joined();
  auto json = where::ParseJson(body);
  ASSERT_TRUE(json.ok()) << json.status() << "\n" << body;
  EXPECT_TRUE(absl::StartsWith(body, R"({"data":{"many":[{"id":1,)")) << body;
  EXPECT_NE(body.find("max_response_bytes (2000 bytes)"), std::string::npos)
      << body;
  EXPECT_NE(body.find(R"("path":["many"])"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("path":["later"])"), std::string::npos) << body;
  // Bounded by the cap (plus the closing error entries and one piece).
  EXPECT_LT(body.size(), 2000u + 256u + 600u);
  // Before any byte left, the cap fails the call instead.
  PieceSink nothing_sent;
  status = capped->ExecuteStreaming(q, {}, &nothing_sent, 1 << 20);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(nothing_sent.pieces.empty());
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

// --- Call statistics (exec::CallStats) ---

TEST_F(RepositoryTest, StatsOfExecuteCountRowsBytesAndTime) {
  v1::QueryDefinition q;
  Select(AddRoot(&q, "many", "v_many"), {{"id", "id"}});
  AddRoot(&q, "n", "v_item")->set_operation(v1::RootField::COUNT);
  exec::CallStats stats;
  exec::RequestContext context;
  context.stats = &stats;
  const absl::Time before = absl::Now();
  auto body = repository_->Execute(q, context);
  const absl::Time after = absl::Now();
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(stats.rows, 301);  // 300 rows and the count
  EXPECT_EQ(stats.bytes, static_cast<int64_t>(body->size()));
  // Two parts of the call: its execution and its wait for a connection.
  EXPECT_GT(stats.execution, absl::ZeroDuration());
  EXPECT_LE(stats.execution + stats.acquire_wait, after - before);
  EXPECT_EQ(stats.sqlstate, "");
}

TEST_F(RepositoryTest, StatsOfAStreamCountTheBytesHandedOver) {
  v1::QueryDefinition q;
  Select(AddRoot(&q, "many", "v_many"), {{"id", "id"}, {"label", "label"}});
  exec::CallStats stats;
  exec::RequestContext context;
  context.stats = &stats;
  PieceSink sink;
  ASSERT_TRUE(repository_->ExecuteStreaming(q, context, &sink, 1024).ok());
  EXPECT_GT(sink.pieces.size(), 1u);
  EXPECT_EQ(stats.bytes, static_cast<int64_t>(sink.Joined().size()));
  EXPECT_EQ(stats.rows, 300);
  EXPECT_GT(stats.execution, absl::ZeroDuration());
}

TEST_F(RepositoryTest, StatsOfAValueAndOfAFailure) {
  v1::RootField root;
  root.set_response_key("n");
  root.set_view(schema_.name() + ".v_item");
  root.set_operation(v1::RootField::COUNT);
  exec::CallStats stats;
  exec::RequestContext context;
  context.stats = &stats;
  auto value = repository_->ExecuteValue(root, context);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(stats.bytes, static_cast<int64_t>(value->json.size()));
  EXPECT_EQ(stats.rows, 1);

  exec::CallStats failed;
  context.stats = &failed;
  auto rows = repository_->RunSql({"SELECT 1 / 0 AS x", {}}, true, context);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(failed.sqlstate, "22012");
  EXPECT_EQ(failed.bytes, 0);
  EXPECT_GT(failed.execution, absl::ZeroDuration());

  exec::CallStats ran;
  context.stats = &ran;
  rows = repository_->RunSql({"SELECT 'x' AS v", {}}, true, context);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(ran.bytes, static_cast<int64_t>(rows->size()));
  EXPECT_EQ(ran.rows, 1);
}

// --- Several queries in one batch (ExecuteMany) ---

// Queries that ExecuteMany runs together, each also run alone with Execute
// (the answer key): a list, an object, a missing object, a value root and
// a connection.
std::vector<v1::QueryDefinition> ManyQueries() {
  std::vector<v1::QueryDefinition> queries(4);
  v1::RootField* a = queries[0].add_roots();
  a->set_view("repository.v_item");
  a->set_response_key("items");
  a->set_is_list(true);
  a->set_where_json(R"({"qty": {"gte": 9}})");
  a->set_order_by_json(R"([{"qty": "DESC"}])");
  v1::RootField* b = queries[1].add_roots();
  b->set_view("repository.v_item");
  b->set_response_key("item");
  b->set_where_json(R"({"id": "00000000-0000-4000-8000-000000000001"})");
  v1::RootField* c = queries[2].add_roots();
  c->set_view("repository.v_item");
  c->set_response_key("missing");
  c->set_where_json(R"({"qty": 12345})");
  v1::RootField* d = queries[3].add_roots();
  d->set_view("repository.v_item");
  d->set_response_key("n");
  d->set_operation(v1::RootField::COUNT);
  v1::RootField* e = queries[3].add_roots();
  e->set_view("repository.v_many");
  e->set_response_key("page");
  e->set_is_list(true);
  e->set_first(2);
  e->set_include_total_count(true);
  return queries;
}

TEST_F(RepositoryTest, ExecuteManyGivesEachQueryTheBodyItHasAlone) {
  std::vector<v1::QueryDefinition> queries = ManyQueries();
  for (v1::QueryDefinition& q : queries) {
    for (v1::RootField& root : *q.mutable_roots()) {
      root.set_view(schema_.name() + root.view().substr(root.view().find('.')));
    }
  }
  std::vector<const v1::QueryDefinition*> query_of;
  std::vector<exec::CallStats> stats(queries.size());
  std::vector<exec::RequestContext> contexts(queries.size());
  std::vector<const exec::RequestContext*> context_of;
  for (size_t i = 0; i < queries.size(); ++i) {
    query_of.push_back(&queries[i]);
    contexts[i].tenant_id = "t1";  // settings shared by all
    contexts[i].stats = &stats[i];
    context_of.push_back(&contexts[i]);
  }
  std::vector<absl::StatusOr<std::string>> many =
      repository_->ExecuteMany(query_of, context_of);
  ASSERT_EQ(many.size(), queries.size());
  for (size_t i = 0; i < queries.size(); ++i) {
    exec::RequestContext alone;
    alone.tenant_id = "t1";
    auto body = repository_->Execute(queries[i], alone);
    ASSERT_TRUE(body.ok()) << body.status();
    ASSERT_TRUE(many[i].ok()) << i << ": " << many[i].status();
    EXPECT_EQ(*many[i], *body) << i;
    EXPECT_EQ(stats[i].bytes, static_cast<int64_t>(body->size())) << i;
    EXPECT_EQ(stats[i].shape.size(), 16u) << i;
  }
  EXPECT_EQ(stats[2].rows, 0);      // the missing object
  EXPECT_GT(stats[0].rows, 0);
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(RepositoryTest, ExecuteManyFailsAQueryThatCannotBePlannedAlone) {
  std::vector<v1::QueryDefinition> queries(3);
  for (size_t i = 0; i < queries.size(); ++i) {
    v1::RootField* root = queries[i].add_roots();
    root->set_view(schema_.name() + ".v_item");
    root->set_response_key("items");
    root->set_is_list(true);
    root->set_where_json(absl::StrCat(R"({"qty": {"gte": )", i + 8, "}}"));
    Select(root, {{"qty", "qty"}});
  }
  queries[1].mutable_roots(0)->set_where_json(R"({"nosuch": {"eq": 1}})");
  std::vector<const v1::QueryDefinition*> query_of = {&queries[0], &queries[1],
                                                      &queries[2]};
  exec::RequestContext context;
  std::vector<const exec::RequestContext*> context_of = {&context, &context,
                                                         &context};
  auto many = repository_->ExecuteMany(query_of, context_of);
  ASSERT_TRUE(many[0].ok()) << many[0].status();
  EXPECT_EQ(*many[0], *repository_->Execute(queries[0]));
  EXPECT_EQ(many[1].status(), repository_->Execute(queries[1]).status());
  EXPECT_EQ(many[1].status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(many[2].ok()) << many[2].status();
  EXPECT_EQ(*many[2], *repository_->Execute(queries[2]));

  // Different settings cannot share a transaction: each runs alone, with
  // its own.
  exec::RequestContext tenant_a;
  tenant_a.tenant_id = "a";
  exec::RequestContext tenant_b;
  tenant_b.tenant_id = "b";
  std::vector<const v1::QueryDefinition*> two = {&queries[0], &queries[2]};
  std::vector<const exec::RequestContext*> mixed = {&tenant_a, &tenant_b};
  auto separate = repository_->ExecuteMany(two, mixed);
  ASSERT_TRUE(separate[0].ok() && separate[1].ok());
  EXPECT_EQ(*separate[0], *many[0]);
  EXPECT_EQ(*separate[1], *many[2]);
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(RepositoryTest, ExecuteManyRerunsEachAloneWhenTheBatchFails) {
  // A view whose row 2 divides by zero when read: any statement reading it
  // fails on the server, which aborts the whole pipeline.
  {
    auto conn = pool_->Acquire(absl::Now() + absl::Seconds(10));
    ASSERT_TRUE(conn.ok()) << conn.status();
    PGresult* r = PQexec(
        (*conn)->raw(),
        absl::StrCat("CREATE VIEW \"", schema_.name(),
                     "\".v_boom AS SELECT g AS id, CASE WHEN g = 2 THEN "
                     "jsonb_build_object('id', 1 / (g - 2)) ELSE "
                     "jsonb_build_object('id', g) END AS data FROM "
                     "generate_series(1, 3) g")
            .c_str());
    ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
    PQclear(r);
  }
  auto registry = std::make_shared<where::Schema>(*registry_);
  const std::string boom = schema_.name() + ".v_boom";
  ASSERT_TRUE(registry
                  ->AddView(boom, "Boom", "data",
                            {{"id", "integer"}, {"data", "jsonb"}},
                            {{"id", "Int"}})
                  .ok());
  Repository repository(registry, operators_, backend_);
  std::vector<v1::QueryDefinition> queries(3);
  for (int i = 0; i < 3; ++i) {
    v1::RootField* root = queries[i].add_roots();
    root->set_view(boom);
    root->set_response_key("boom");
    root->set_where_json(absl::StrCat(R"({"id": {"eq": )", i + 1, "}}"));
  }
  std::vector<const v1::QueryDefinition*> query_of = {&queries[0], &queries[1],
                                                      &queries[2]};
  exec::RequestContext context;
  std::vector<const exec::RequestContext*> context_of = {&context, &context,
                                                         &context};
  auto many = repository.ExecuteMany(query_of, context_of);
  ASSERT_TRUE(many[0].ok()) << many[0].status();
  EXPECT_EQ(*many[0], R"({"data":{"boom":{"id":1}}})");
  EXPECT_EQ(many[1].status().code(), absl::StatusCode::kInvalidArgument)
      << many[1].status();  // 22012 division_by_zero
  ASSERT_TRUE(many[2].ok()) << many[2].status();
  EXPECT_EQ(*many[2], R"({"data":{"boom":{"id":3}}})");
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(RepositoryTest, StatsShapeIsSharedByCallsThatDifferOnlyInValues) {
  auto shape_of = [&](const std::string& where) {
    v1::QueryDefinition q;
    v1::RootField* root = AddRoot(&q, "many", "v_many");
    Select(root, {{"id", "id"}});
    root->set_where_json(where);
    exec::CallStats stats;
    exec::RequestContext context;
    context.stats = &stats;
    auto body = repository_->Execute(q, context);
    EXPECT_TRUE(body.ok()) << body.status();
    return stats.shape;
  };
  const std::string a = shape_of(R"({"id":{"eq":1}})");
  EXPECT_EQ(a.size(), 16u) << a;
  EXPECT_EQ(shape_of(R"({"id":{"eq":2}})"), a);  // another value: same shape
  EXPECT_NE(shape_of(R"({"id":{"gt":2}})"), a);  // another operator
  // Stable across processes (FNV-1a of the SQL, not a seeded hash).
  exec::ShapeHasher hasher;
  hasher.Add("SELECT 1");
  EXPECT_EQ(hasher.Hex(), "72d065e7c77e6217");  // FNV-1a of "SELECT 1" 0xff
}

// Execution leaves out the wait for a connection, which is its own figure.
TEST_F(RepositoryTest, StatsKeepTheAcquireWaitOutOfTheExecutionTime) {
  // How long the whole call takes on this machine, now, without a wait.
  const absl::Time alone_start = absl::Now();
  ASSERT_TRUE(repository_->RunSql({"SELECT 1 AS one", {}}, true, {}).ok());
  const absl::Duration alone = absl::Now() - alone_start;
  auto held1 = pool_->Acquire();
  auto held2 = pool_->Acquire();
  ASSERT_TRUE(held1.ok() && held2.ok());
  exec::CallStats stats;
  absl::StatusOr<std::string> rows;
  const absl::Time called = absl::Now();
  std::thread caller([&] {
    exec::RequestContext context;
    context.stats = &stats;
    rows = repository_->RunSql({"SELECT 1 AS one", {}}, true, context);
  });
  ASSERT_TRUE(testing::WaitFor([&] { return pool_->Stats().waiting == 1; }));
  const absl::Time seen_waiting = absl::Now();
  // Held until the caller has waited longer than a whole call takes without
  // waiting: an execution figure that counted the wait would show it.
  ASSERT_TRUE(
      testing::WaitFor([&] { return absl::Now() - seen_waiting > alone; }));
  const absl::Time released = absl::Now();
  *held1 = pool::PooledConnection();
  caller.join();
  const absl::Time returned = absl::Now();
  ASSERT_TRUE(rows.ok()) << rows.status();
  // The wait covers the time the caller was seen queued; the wait and the
  // execution are disjoint parts of the call.
  EXPECT_GE(stats.acquire_wait, released - seen_waiting);
  EXPECT_GT(stats.execution, absl::ZeroDuration());
  EXPECT_LE(stats.execution + stats.acquire_wait, returned - called);
}

// Mutations: a function of the mutation_response shape in a schema of the
// test's own.
class MutationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string& s = schema_.name();
    schema_.admin().Exec(
        "CREATE TYPE " + s + ".mutation_response AS (status text, message "
        "text, entity_id text, entity_type text, entity jsonb, updated_fields "
        "text[], cascade jsonb, metadata jsonb);"
        "CREATE TABLE " + s + ".tb_note (id int PRIMARY KEY, tenant text, "
        "body text);"
        "CREATE VIEW " + s + ".v_note AS SELECT id, jsonb_build_object('id', "
        "id, 'body', body, 'tenant', tenant) AS data FROM " + s + ".tb_note;"
        // add_note(tenant, input {"id", "body", "status"?}): inserts, then
        // returns "status" (default created); body "raise" raises.
        "CREATE FUNCTION " + s + ".add_note(input_tenant text, input_payload "
        "jsonb) RETURNS " + s + ".mutation_response LANGUAGE plpgsql AS $$ "
        "DECLARE v_data jsonb; BEGIN "
        "INSERT INTO " + s + ".tb_note VALUES ((input_payload->>'id')::int, "
        "input_tenant, input_payload->>'body'); "
        "IF input_payload->>'body' = 'raise' THEN "
        "  RAISE EXCEPTION 'add_note refused the body'; END IF; "
        "v_data := jsonb_build_object('id', (input_payload->>'id')::int, "
        "'body', input_payload->>'body', 'tenant', input_tenant, "
        "'seen_tenant', current_setting('app.tenant_id', true)); "
        "RETURN ROW(coalesce(input_payload->>'status', 'created'), 'note "
        "added', input_payload->>'id', 'Note', v_data, ARRAY['body'], NULL, "
        "jsonb_build_object('source_key', 1))::" + s + ".mutation_response; "
        "END $$;"
        "CREATE FUNCTION " + s + ".no_row(input_payload jsonb) RETURNS SETOF " +
        s + ".mutation_response LANGUAGE sql AS $$ SELECT NULL::" + s +
        ".mutation_response WHERE false $$;"
        "CREATE FUNCTION " + s + ".no_status(input_payload jsonb) RETURNS " +
        s + ".mutation_response LANGUAGE sql AS $$ SELECT ROW(NULL, 'm', "
        "NULL, NULL, NULL, NULL, NULL, NULL)::" + s + ".mutation_response $$");
    auto registry = std::make_shared<where::Schema>();
    ASSERT_TRUE(registry
                    ->AddView(s + ".v_note", "Note", "data",
                              {{"id", "integer"}, {"data", "jsonb"}},
                              {{"id", "Int"},
                               {"body", "String"},
                               {"tenant", "String"},
                               {"seen_tenant", "String"}})
                    .ok());
    auto pool = pool::Pool::Create(testing::TestPoolOptions(2));
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *pool;
    repository_ = std::make_unique<Repository>(
        registry, std::shared_ptr<const where::OperatorRegistry>(
                      where::MakeBuiltinOperatorRegistry()),
        std::make_shared<plugins::NativeBackend>(pool_));
    context_.tenant_id = "t1";
  }

  v1::MutationField AddNote(int id, const std::string& body,
                            const std::string& status = "") {
    v1::MutationField field;
    field.set_response_key("addNote");
    field.set_function(schema_.name() + ".add_note");
    field.set_input_json(absl::StrCat(
        R"({"id": )", id, R"(, "body": ")", body, "\"",
        status.empty() ? "" : absl::StrCat(R"(, "status": ")", status, "\""),
        "}"));
    field.add_context_arguments("tenant_id");
    field.set_success_type("AddNoteSuccess");
    field.set_error_type("AddNoteError");
    field.set_entity_field("note");
    field.set_entity_type("Note");
    field.set_has_selection(true);
    auto add = [](google::protobuf::RepeatedPtrField<v1::Selection>* to,
                  const char* name) {
      v1::Selection* s = to->Add();
      s->set_response_key(name);
      s->set_field_name(name);
      return s;
    };
    for (const char* name : {"__typename", "status", "message"}) {
      add(field.mutable_success_selection(), name);
    }
    v1::Selection* note = add(field.mutable_success_selection(), "note");
    for (const char* name : {"id", "body", "tenant", "seenTenant"}) {
      add(note->mutable_fields(), name);
    }
    for (const char* name : {"__typename", "code", "status", "metadata"}) {
      add(field.mutable_error_selection(), name);
    }
    return field;
  }

  // Committed notes, "id:body", as another session sees them.
  std::vector<std::string> Notes() {
    return schema_.admin().Column("SELECT id || ':' || body FROM " +
                                  schema_.name() + ".tb_note ORDER BY id");
  }

  testing::ScopedSchema schema_{"mutation"};
  std::shared_ptr<pool::Pool> pool_;
  std::unique_ptr<Repository> repository_;
  exec::RequestContext context_;
};

TEST_F(MutationTest, SuccessCommitsAndWritesTheSuccessType) {
  auto body = repository_->Mutate(AddNote(1, "hello"), context_);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body,
            R"({"data":{"addNote":{"__typename":"AddNoteSuccess",)"
            R"("status":"created","message":"note added","note":{"id":1,)"
            R"("body":"hello","tenant":"t1","seenTenant":"t1"}}}})");
  EXPECT_EQ(Notes(), (std::vector<std::string>{"1:hello"}));
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(MutationTest, StatsOfAMutationCountItsRowAndBody) {
  exec::CallStats stats;
  exec::RequestContext context = context_;
  context.stats = &stats;
  auto body = repository_->Mutate(AddNote(1, "hello"), context);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(stats.bytes, static_cast<int64_t>(body->size()));
  EXPECT_GE(stats.rows, 1);
  EXPECT_GT(stats.execution, absl::ZeroDuration());
  exec::CallStats failed;
  context.stats = &failed;
  EXPECT_FALSE(repository_->Mutate(AddNote(1, "again"), context).ok());
  EXPECT_EQ(failed.sqlstate, "23505");
}

TEST_F(MutationTest, ErrorStatusRollsBackAndWritesTheErrorType) {
  auto body =
      repository_->Mutate(AddNote(1, "hello", "conflict:dup"), context_);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body,
            R"({"data":{"addNote":{"__typename":"AddNoteError","code":409,)"
            R"("status":"conflict:dup","metadata":{"source_key":1}}}})");
  EXPECT_TRUE(Notes().empty());
  body = repository_->Mutate(AddNote(2, "x", "weird"), context_);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_NE(body->find(R"("code":500)"), std::string::npos) << *body;
  EXPECT_TRUE(Notes().empty());
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(MutationTest, RaisingFunctionRollsBackAndFails) {
  auto body = repository_->Mutate(AddNote(1, "raise"), context_);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(SqlStateOf(body.status()), "P0001");
  EXPECT_NE(body.status().message().find("add_note refused the body"),
            absl::string_view::npos)
      << body.status();
  EXPECT_TRUE(Notes().empty());
  EXPECT_EQ(pool_->Stats().in_use, 0);
  ASSERT_TRUE(repository_->Mutate(AddNote(2, "ok"), context_).ok());
  EXPECT_EQ(Notes(), (std::vector<std::string>{"2:ok"}));
}

TEST_F(MutationTest, MissingContextArgumentFailsBeforeSending) {
  auto body = repository_->Mutate(AddNote(1, "hello"), {});
  EXPECT_EQ(body.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Notes().empty());
}

TEST_F(MutationTest, NoRowOrNoStatusIsDataLoss) {
  v1::MutationField field;
  field.set_response_key("x");
  field.set_function(schema_.name() + ".no_row");
  field.set_input_json("{}");
  field.set_success_type("A");
  field.set_error_type("B");
  auto body = repository_->Mutate(field);
  EXPECT_EQ(body.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(std::string(body.status().message()),
            "mutation x: " + schema_.name() +
                ".no_row returned no row; rolled back");
  field.set_function(schema_.name() + ".no_status");
  body = repository_->Mutate(field);
  EXPECT_EQ(body.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(std::string(body.status().message()),
            "mutation x: " + schema_.name() +
                ".no_status returned no status; rolled back");
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(MutationTest, TransactionCommitsSeveralMutationsAtOnce) {
  auto scope =
      repository_->BeginTransaction(plugins::TransactionOptions(), context_);
  ASSERT_TRUE(scope.ok()) << scope.status();
  // Context arguments come from the transaction's context.
  auto first = scope->repository->Mutate(AddNote(1, "a"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_NE(first->find(R"("seenTenant":"t1")"), std::string::npos) << *first;
  // An error status undoes only its own mutation.
  auto refused = scope->repository->Mutate(AddNote(2, "b", "validation:x"));
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_NE(refused->find(R"("code":422)"), std::string::npos) << *refused;
  // A raising function too.
  EXPECT_FALSE(scope->repository->Mutate(AddNote(3, "raise")).ok());
  ASSERT_TRUE(scope->repository->Mutate(AddNote(4, "d")).ok());
  // Reads in the transaction see its writes; other sessions do not.
  v1::QueryDefinition q;
  v1::RootField* root = q.add_roots();
  root->set_response_key("n");
  root->set_view(schema_.name() + ".v_note");
  root->set_operation(v1::RootField::COUNT);
  auto count = scope->repository->Execute(q);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, R"({"data":{"n":2}})");
  EXPECT_TRUE(Notes().empty());
  // Calls in the transaction take no context variables of their own.
  EXPECT_EQ(scope->repository->Mutate(AddNote(5, "e"), context_).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(scope->transaction->Commit().ok());
  EXPECT_EQ(Notes(), (std::vector<std::string>{"1:a", "4:d"}));
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(MutationTest, TransactionRollbackUndoesEveryMutation) {
  {
    auto scope =
        repository_->BeginTransaction(plugins::TransactionOptions(), context_);
    ASSERT_TRUE(scope.ok()) << scope.status();
    ASSERT_TRUE(scope->repository->Mutate(AddNote(1, "a")).ok());
    ASSERT_TRUE(scope->repository->Mutate(AddNote(2, "b")).ok());
    ASSERT_TRUE(scope->transaction->Rollback().ok());
  }
  EXPECT_TRUE(Notes().empty());
  {
    // Dropped without an end: rolled back too.
    auto scope =
        repository_->BeginTransaction(plugins::TransactionOptions(), context_);
    ASSERT_TRUE(scope.ok()) << scope.status();
    ASSERT_TRUE(scope->repository->Mutate(AddNote(3, "c")).ok());
  }
  EXPECT_TRUE(Notes().empty());
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(MutationTest, FirstMutationRaisingLeavesTheTransactionUsable) {
  auto scope =
      repository_->BeginTransaction(plugins::TransactionOptions(), context_);
  ASSERT_TRUE(scope.ok()) << scope.status();
  EXPECT_FALSE(scope->repository->Mutate(AddNote(1, "raise")).ok());
  auto next = scope->repository->Mutate(AddNote(2, "b"));
  EXPECT_TRUE(next.ok()) << next.status();
  absl::Status commit = scope->transaction->Commit();
  EXPECT_TRUE(commit.ok()) << commit;
  EXPECT_EQ(Notes(), (std::vector<std::string>{"2:b"}));
}

// Mutations from several threads on one transaction run one after the
// other, so that each savepoint is released or rolled back before the next
// is set: none undoes or releases another's.
TEST_F(MutationTest, MutationsFromThreadsOnOneTransactionAreSerialized) {
  auto scope =
      repository_->BeginTransaction(plugins::TransactionOptions(), context_);
  ASSERT_TRUE(scope.ok()) << scope.status();
  constexpr int kThreads = 4, kEach = 10;
  std::vector<absl::Status> failures[kThreads];
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int id = t * 100 + i;
        // Every third one returns an error status: rolled back to its own
        // savepoint only.
        auto body = scope->repository->Mutate(
            AddNote(id, "n", i % 3 == 2 ? "failed:x" : ""));
        if (!body.ok()) failures[t].push_back(body.status());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(failures[t].empty()) << failures[t][0];
  }
  absl::Status commit = scope->transaction->Commit();
  ASSERT_TRUE(commit.ok()) << commit;
  std::vector<std::string> expected;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kEach; ++i) {
      if (i % 3 != 2) expected.push_back(absl::StrCat(t * 100 + i, ":n"));
    }
  }
  EXPECT_EQ(Notes(), expected);
  EXPECT_EQ(pool_->Stats().in_use, 0);
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
    auto pool = pool::Pool::Create(testing::TestPoolOptions(2));
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

  // One row of the test data as plain SQL reads it: an absent key and a
  // JSON null are both null (->>).
  struct RawRow {
    std::string id;  // canonical uuid text: orders as the uuid does
    std::optional<std::string> name;
    std::optional<int64_t> score;
    std::optional<std::string> day;  // ISO date: orders as the date does
  };

  std::vector<RawRow> RawRows() {
    const std::string sql =
        "SELECT id::text, data->>'name', data->>'score', data->>'day' FROM " +
        schema_.name() + ".tb_row";
    PGresult* r = PQexec(schema_.admin().raw(), sql.c_str());
    std::vector<RawRow> rows;
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
    auto cell = [r](int row, int column) -> std::optional<std::string> {
      if (PQgetisnull(r, row, column)) return std::nullopt;
      return std::string(PQgetvalue(r, row, column));
    };
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r);
         ++i) {
      RawRow row;
      row.id = *cell(i, 0);
      row.name = cell(i, 1);
      if (auto score = cell(i, 2)) row.score = std::stoll(*score);
      row.day = cell(i, 3);
      rows.push_back(std::move(row));
    }
    PQclear(r);
    return rows;
  }

  // The ids of the rows `keep_` keeps (the test's own reading of
  // where_json_), ordered by `order_by` as computed here from the values,
  // never by the code under test: ASC puts nulls last and DESC first
  // (PostgreSQL's default) unless the direction says otherwise; the id,
  // ascending, breaks ties when the orderBy does not name it (the
  // connection's keyset tiebreaker).
  std::vector<std::string> Expected(const std::string& order_by) {
    struct Key {
      std::string field;
      bool descending;
      bool nulls_first;
    };
    std::vector<Key> keys;
    bool has_id = false;
    if (!order_by.empty()) {
      auto parsed = where::ParseJson(order_by);
      EXPECT_TRUE(parsed.ok()) << order_by;
      if (!parsed.ok()) return {};
      for (const where::JsonValue& item : parsed->items()) {
        for (const auto& [field, direction] : item.members()) {
          const std::string& d = direction.text();
          const bool descending = absl::StartsWith(d, "DESC");
          const bool nulls_first =
              absl::EndsWith(d, "_NULLS_FIRST") || (d == "DESC");
          EXPECT_TRUE(d == "ASC" || d == "DESC" ||
                      absl::EndsWith(d, "_NULLS_FIRST") ||
                      absl::EndsWith(d, "_NULLS_LAST"))
              << d;
          keys.push_back({field, descending, nulls_first});
          has_id = has_id || field == "id";
        }
      }
    }
    if (!has_id) keys.push_back({"id", false, false});
    // A key's value, null or a string or number, in ascending order.
    auto compare = [](const RawRow& a, const RawRow& b,
                      const std::string& field, bool* a_null, bool* b_null) {
      auto three_way = [](const auto& x, const auto& y) {
        return x < y ? -1 : y < x ? 1 : 0;
      };
      if (field == "id") {
        *a_null = *b_null = false;
        return three_way(a.id, b.id);
      }
      if (field == "score") {
        *a_null = !a.score, *b_null = !b.score;
        return *a_null || *b_null ? 0 : three_way(*a.score, *b.score);
      }
      const std::optional<std::string>& x = field == "name" ? a.name : a.day;
      const std::optional<std::string>& y = field == "name" ? b.name : b.day;
      EXPECT_TRUE(field == "name" || field == "day") << field;
      *a_null = !x, *b_null = !y;
      return *a_null || *b_null ? 0 : three_way(*x, *y);
    };
    std::vector<RawRow> rows;
    for (RawRow& row : RawRows()) {
      if (keep_(row)) rows.push_back(std::move(row));
    }
    std::sort(rows.begin(), rows.end(), [&](const RawRow& a, const RawRow& b) {
      for (const Key& key : keys) {
        bool a_null, b_null;
        int c = compare(a, b, key.field, &a_null, &b_null);
        if (a_null && b_null) continue;
        if (a_null != b_null) return a_null == key.nulls_first;
        if (key.descending) c = -c;
        if (c != 0) return c < 0;
      }
      return false;
    });
    std::vector<std::string> ids;
    for (const RawRow& row : rows) ids.push_back(row.id);
    return ids;
  }

  // The ids of the whole list as the repository orders it without
  // pagination, with the id as the last key.
  std::vector<std::string> Listed(const std::string& order_by) {
    // The id breaks ties, as the connection's keyset does (each key at
    // most once in an orderBy).
    std::string with_id =
        order_by.empty() ? R"([{"id": "ASC"}])"
        : absl::StrContains(order_by, R"("id")")
            ? order_by
            : absl::StrCat(order_by.substr(0, order_by.size() - 1),
                           R"(, {"id": "ASC"}])");
    v1::QueryDefinition q;
    *q.add_roots() = Root(with_id);
    auto body = repository_->Execute(q);
    EXPECT_TRUE(body.ok()) << body.status();
    if (!body.ok()) return {};
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
    const std::vector<std::string> full = Expected(order_by);
    ASSERT_FALSE(full.empty());
    EXPECT_EQ(Listed(order_by), full);

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
  std::function<bool(const RawRow&)> keep_ = [](const RawRow&) { return true; };
};

TEST_F(PaginationTest, WalksEveryPageByIdAlone) { WalkBothWays("", 7); }

TEST_F(PaginationTest, WalksEveryPageOverNullableKeysBothDirections) {
  // The data holds what the orderings are about: null, absent and repeated
  // keys beside values.
  int null_names = 0, null_scores = 0;
  for (const RawRow& row : RawRows()) {
    null_names += !row.name;
    null_scores += !row.score;
  }
  const int absent_scores = std::stoi(
      schema_.admin().Column("SELECT count(*) FROM " + schema_.name() +
                             ".tb_row WHERE NOT data ? 'score'")[0]);
  EXPECT_GT(null_names, 0);
  EXPECT_LT(null_names, 40);
  EXPECT_GT(absent_scores, 0);
  EXPECT_GT(null_scores, absent_scores);  // JSON nulls too
  EXPECT_LT(null_scores, 40);
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
  keep_ = [](const RawRow& row) {
    return (row.score && *row.score >= 3) || !row.name;
  };
  ASSERT_LT(Expected("").size(), 40u);  // some rows are left out
  WalkBothWays(R"([{"name": "ASC"}, {"score": "DESC"}])", 4);
}

TEST_F(PaginationTest, PagesBetweenTwoCursorsAndReportsTotalCount) {
  const std::string order = R"([{"score": "DESC"}, {"name": "ASC"}])";
  v1::RootField all = Root(order);
  all.set_first(40);
  Page full = Fetch(all);
  ASSERT_EQ(full.ids.size(), 40u);
  EXPECT_EQ(full.ids, Expected(order));
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
  // (The cursor is signed: the message goes on about alteration.)
  EXPECT_TRUE(absl::StartsWith(body.status().message(),
                               "invalid cursor at after: the cursor belongs to "
                               "another view or orderBy"))
      << body.status();
}

}  // namespace
}  // namespace fraiseql
