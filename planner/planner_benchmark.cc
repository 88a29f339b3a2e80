// Planning cost with and without the shape cache: a root field with a
// 20-condition nested filter (AND/OR/NOT, nested object fields, in/nin
// lists, strings, numbers, decimals, dates, instants, UUIDs, booleans), an
// orderBy and a selection, planned cold (cache off: every part built) and
// cached by shape (the filter is still compiled and its values bound on every
// call; the statement text, orderBy and selection come from the cache; the
// Projector a repository compiles the selection into is measured in
// response/projector_benchmark.cc, BM_CompileTenFields).
// Run with: bazel run //planner:planner_benchmark
#include <string>

#include "benchmark/benchmark.h"
#include "planner/cursor.h"
#include "planner/planner.h"
#include "planner/selection_text.h"

namespace fraiseql::planner {
namespace {

constexpr char kFilter[] = R"({
  "AND": [
    {"age": {"gte": 18, "lt": 65}},
    {"OR": [
      {"address": {"cityName": {"in": ["Berlin", "Paris", "Oslo", "Kraków"]}}},
      {"address": {"postalCode": {"startsWith": "10"},
                   "countryCode": {"eq": "DE"}}}
    ]},
    {"NOT": {"email": {"endsWith": "@example.org"}}}
  ],
  "balance": {"gt": "100.50", "lte": 99999.99},
  "score": {"neq": 3.5},
  "isActive": true,
  "birthDate": {"gte": "1980-01-01", "lt": "2000-12-31"},
  "createdAt": {"lt": "2024-06-01T00:00:00+02:00"},
  "tenantId": {"eq": "11111111-1111-1111-1111-111111111111"},
  "id": {"nin": ["00000000-0000-4000-8000-000000000001",
                 "00000000-0000-4000-8000-000000000002"]},
  "firstName": {"icontains": "an"},
  "email": {"contains": "user"},
  "nickname": {"isnull": false},
  "OR": [{"lastName": {"in": ["Smith", "Müller", "O'Neil"]}},
         {"age": {"in": [20, 30, 40, 50]}}]
})";

class Fixture {
 public:
  Fixture() {
    (void)schema_.AddObjectType("Address", {{"street", "String"},
                                            {"city_name", "String"},
                                            {"postal_code", "String"},
                                            {"country_code", "String"}});
    where::ViewSpec view;
    view.name = "sample.v_user";
    view.type_name = "User";
    view.columns = {{"id", "uuid"}, {"tenant_id", "uuid"}, {"data", "jsonb"}};
    view.fields = {{"id", "UUID"},         {"tenant_id", "UUID"},
                   {"first_name", "String"}, {"last_name", "String"},
                   {"email", "Email"},     {"age", "Int"},
                   {"balance", "Decimal"}, {"score", "Float"},
                   {"is_active", "Boolean"}, {"birth_date", "Date"},
                   {"created_at", "DateTime"}, {"address", "Address"},
                   {"nickname", "String"}};
    if (!schema_.AddView(view).ok()) std::abort();
    root_.set_view("sample.v_user");
    root_.set_response_key("users");
    root_.set_is_list(true);
    root_.set_where_json(kFilter);
    root_.set_order_by_json(R"([{"age": "DESC"}, {"address": {"cityName": "ASC"}}])");
    root_.set_limit(50);
    root_.set_offset(100);
    auto selection = ParseSelectionText(
        "id firstName lastName email age balance isActive birthDate "
        "home: address { cityName postalCode __typename } __typename");
    if (!selection.ok()) std::abort();
    root_.set_has_selection(true);
    for (auto& s : *selection) *root_.add_selection() = s;
  }

  const where::Schema& schema() const { return schema_; }
  const where::OperatorRegistry& operators() const { return *operators_; }
  const v1::RootField& root() const { return root_; }
  // The same root paginated: first/after with a cursor from a real plan.
  v1::RootField PageRoot() const {
    v1::RootField page = root_;
    page.clear_limit();
    page.clear_offset();
    page.set_first(50);
    page.set_include_total_count(true);
    return page;
  }

 private:
  where::Schema schema_;
  std::unique_ptr<where::OperatorRegistry> operators_ =
      where::MakeBuiltinOperatorRegistry();
  v1::RootField root_;
};

const Fixture& TheFixture() {
  static const Fixture* fixture = new Fixture();
  return *fixture;
}

void PlanLoop(benchmark::State& state, const v1::RootField& root,
              size_t cache_capacity) {
  const Fixture& f = TheFixture();
  Planner planner(f.schema(), f.operators(), {}, PlannerOptions{cache_capacity});
  auto first = planner.PlanRoot(root);
  if (!first.ok()) {
    state.SkipWithError(std::string(first.status().message()).c_str());
    return;
  }
  state.counters["params"] = static_cast<double>(first->plan.params.size());
  state.counters["sql_bytes"] = static_cast<double>(first->plan.sql.size());
  for (auto _ : state) {
    auto plan = planner.PlanRoot(root);
    benchmark::DoNotOptimize(plan);
  }
  state.counters["hits"] = static_cast<double>(planner.cache_stats().hits);
}

void BM_Plan20ConditionsCold(benchmark::State& state) {
  PlanLoop(state, TheFixture().root(), 0);
}
BENCHMARK(BM_Plan20ConditionsCold);

void BM_Plan20ConditionsCached(benchmark::State& state) {
  PlanLoop(state, TheFixture().root(), 1024);
}
BENCHMARK(BM_Plan20ConditionsCached);

void BM_PlanPage20ConditionsCold(benchmark::State& state) {
  PlanLoop(state, TheFixture().PageRoot(), 0);
}
BENCHMARK(BM_PlanPage20ConditionsCold);

void BM_PlanPage20ConditionsCached(benchmark::State& state) {
  PlanLoop(state, TheFixture().PageRoot(), 1024);
}
BENCHMARK(BM_PlanPage20ConditionsCached);

// The filter compile alone (what a cache hit still does), for reference.
void BM_CompileWhereOnly(benchmark::State& state) {
  const Fixture& f = TheFixture();
  const where::ViewDef* view = f.schema().FindView("sample.v_user");
  for (auto _ : state) {
    where::ParamList params;
    auto sql = where::CompileWhereJson(*view, f.schema(), f.operators(),
                                       kFilter, "t", &params);
    benchmark::DoNotOptimize(sql);
  }
}
BENCHMARK(BM_CompileWhereOnly);

// Signing one row's cursor (an HMAC-SHA256 over its key values): paid by the
// repository for every row of a connection page.
void BM_EncodeCursor(benchmark::State& state) {
  std::string key = CursorFingerprint("benchmark secret", "sample.v_user",
                                      "t.\"id\" ASC");
  for (auto _ : state) {
    auto cursor = EncodeCursor(
        key, R"([37, "2024-01-01T10:00:00+00:00", "6d757539-96d9-75eb-1276-517c418566c7"])");
    benchmark::DoNotOptimize(cursor);
  }
}
BENCHMARK(BM_EncodeCursor);

// Checking an `after` cursor: paid once per request that pages on.
void BM_DecodeCursor(benchmark::State& state) {
  std::string key = CursorFingerprint("benchmark secret", "sample.v_user",
                                      "t.\"id\" ASC");
  std::string cursor = *EncodeCursor(
      key, R"([37, "2024-01-01T10:00:00+00:00", "6d757539-96d9-75eb-1276-517c418566c7"])");
  for (auto _ : state) {
    auto values = DecodeCursor(cursor, key, 3, "after");
    benchmark::DoNotOptimize(values);
  }
}
BENCHMARK(BM_DecodeCursor);

}  // namespace
}  // namespace fraiseql::planner
