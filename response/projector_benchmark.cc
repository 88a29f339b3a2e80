// Throughput of the projector on PostgreSQL-shaped rows (jsonb::text output:
// keys sorted by length, a space after ':' and ','). Reports input bytes per
// second. Run with: bazel run -c opt //response:projector_benchmark
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "response/projector.h"
#include "response/response_writer.h"
#include "response/selection.h"

namespace fraiseql::response {
namespace {

constexpr int kRows = 10000;

// A user row of about 500 bytes: strings with and without non-ASCII text,
// numbers, a nested address, a tags list, JSON preferences.
std::string UserRow(int i) {
  static const char* const kFirstNames[] = {"Ann",  "Zoë",  "Łukasz", "Ελένη",
                                            "Анна", "José", "Mei",    "Olúwa"};
  static const char* const kCities[] = {"Oslo",   "Kraków",    "Αθήνα",
                                        "Москва", "São Paulo", "東京"};
  const char* first = kFirstNames[i % 8];
  const char* city = kCities[i % 6];
  return absl::StrCat(
      R"({"id": ")", 10000000 + i, R"(-4f1c-9a7e-3b2d5c8e9f01", "age": )",
      20 + i % 60, R"(, "bio": "Engineer in )", city,
      R"(, likes \"quoted\" text and emoji 😀", "tags": ["admin", "beta", )"
      R"("user-)",
      i % 97, R"("], "email": "user)", i,
      R"(@example.com", "score": 98.625, "balance": 1234.50, "address": )"
      R"({"geo": {"lat": 59.9139, "lng": 10.7522}, "city": ")",
      city, R"(", "street": "Karl Johans gate )", i % 300,
      R"(", "country": "NO", "postal_code": "0154"}, "is_active": true, )"
      R"("last_name": "Nordmann-)",
      i % 13,
      R"(", "created_at": )"
      R"("2024-03-15T10:22:33.123456+00:00", "first_name": ")",
      first,
      R"(", "preferences": {"theme": "dark", "locale": "nb_NO", )"
      R"("newsletter": false}})");
}

std::vector<std::string> UserRows() {
  std::vector<std::string> rows;
  rows.reserve(kRows);
  for (int i = 0; i < kRows; ++i) rows.push_back(UserRow(i));
  return rows;
}

FieldSelection Field(FieldSelection::Kind kind, std::string response_key,
                     std::string source_key) {
  FieldSelection field;
  field.kind = kind;
  field.response_key = std::move(response_key);
  field.source_key = std::move(source_key);
  return field;
}

// { id email firstName lastName isActive balance createdAt bio tags
//   address { street city postalCode country } }
SelectionSet UserSelection() {
  using Kind = FieldSelection::Kind;
  SelectionSet selection;
  selection.type_name = "User";
  FieldSelection address = Field(Kind::kObject, "address", "address");
  address.type_name = "Address";
  address.fields = {Field(Kind::kScalar, "street", "street"),
                    Field(Kind::kScalar, "city", "city"),
                    Field(Kind::kScalar, "postalCode", "postal_code"),
                    Field(Kind::kScalar, "country", "country")};
  selection.fields = {Field(Kind::kScalar, "id", "id"),
                      Field(Kind::kScalar, "email", "email"),
                      Field(Kind::kScalar, "firstName", "first_name"),
                      Field(Kind::kScalar, "lastName", "last_name"),
                      Field(Kind::kScalar, "isActive", "is_active"),
                      Field(Kind::kScalar, "balance", "balance"),
                      Field(Kind::kScalar, "createdAt", "created_at"),
                      Field(Kind::kScalar, "bio", "bio"),
                      Field(Kind::kScalar, "tags", "tags"),
                      std::move(address)};
  return selection;
}

size_t TotalBytes(const std::vector<std::string>& rows) {
  size_t total = 0;
  for (const std::string& row : rows) total += row.size();
  return total;
}

void RunProjector(benchmark::State& state, const Projector& projector) {
  const std::vector<std::string> rows = UserRows();
  std::string out;
  out.reserve(TotalBytes(rows) * 2);
  for (auto _ : state) {
    out.clear();
    for (const std::string& row : rows) {
      if (!projector.AppendRow(row, &out).ok()) {
        state.SkipWithError("row rejected");
        return;
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(TotalBytes(rows)));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kRows);
  state.counters["row_bytes"] = static_cast<double>(TotalBytes(rows)) / kRows;
  state.counters["out_bytes"] = static_cast<double>(out.size()) / kRows;
}

void BM_ProjectTenFields(benchmark::State& state) {
  RunProjector(state, Projector(UserSelection()));
}
// The first benchmark of the process warms the CPU and caches for the rest.
BENCHMARK(BM_ProjectTenFields)->MinWarmUpTime(0.5);

void BM_ProjectTenFieldsAlwaysTypename(benchmark::State& state) {
  ProjectionOptions options;
  options.always_typename = true;
  RunProjector(state, Projector(UserSelection(), options));
}
BENCHMARK(BM_ProjectTenFieldsAlwaysTypename);

void BM_ProjectSelectAll(benchmark::State& state) {
  SelectionSet selection;
  selection.type_name = "User";
  selection.select_all = true;
  RunProjector(state, Projector(selection));
}
BENCHMARK(BM_ProjectSelectAll);

// Compiling a Projector: paid once per plan shape (the repository compiles
// it when the planner builds a template, PlannerOptions::compile_selection),
// and what every call would pay without the plan cache.
void BM_CompileTenFields(benchmark::State& state) {
  const SelectionSet selection = UserSelection();
  for (auto _ : state) {
    Projector projector(selection);
    benchmark::DoNotOptimize(projector);
  }
}
BENCHMARK(BM_CompileTenFields);

// The whole body through ResponseWriter, as the stream stage builds it.
void BM_WriteResponseBody(benchmark::State& state) {
  const std::vector<std::string> rows = UserRows();
  const Projector projector(UserSelection());
  std::string body;
  body.reserve(TotalBytes(rows) * 2);
  for (auto _ : state) {
    body.clear();
    ResponseWriter writer(&body);
    writer.BeginList("users");
    for (const std::string& row : rows) {
      if (!writer.AppendListItem(projector, row).ok()) {
        state.SkipWithError("row rejected");
        return;
      }
    }
    writer.EndList();
    writer.Finish();
    benchmark::DoNotOptimize(body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(TotalBytes(rows)));
}
BENCHMARK(BM_WriteResponseBody);

}  // namespace
}  // namespace fraiseql::response
