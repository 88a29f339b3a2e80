// Golden, data-driven tests of the filter compiler: each block of a
// testdata/*.golden file is one `where` input and either the SQL and
// parameters it must compile to, or the exact error.
#include "where/filter.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/golden_file.h"

namespace fraiseql::where {
namespace {

// The schema every golden file is compiled against: one field of every kind.
Schema TestSchema() {
  Schema schema;
  EXPECT_TRUE(schema
                  .AddObjectType("Coordinates", {{"lat", "Float"}, {"lng", "Float"}})
                  .ok());
  EXPECT_TRUE(schema
                  .AddObjectType("Address", {{"street", "String"},
                                             {"city_name", "String"},
                                             {"postal_code", "String"},
                                             {"coordinates", "Coordinates"}})
                  .ok());
  EXPECT_TRUE(schema
                  .AddObjectType("Author", {{"id", "UUID"},
                                            {"first_name", "String"}})
                  .ok());
  ViewSpec view;
  view.name = "app.v_user";
  view.type_name = "User";
  view.columns = {{"id", "uuid"},         {"tenant_id", "uuid"},
                  {"author_id", "uuid"},  {"search_tsv", "tsvector"},
                  {"embedding", "vector"}, {"data", "jsonb"}};
  view.fields = {{"id", "UUID"},           {"tenant_id", "UUID"},
                 {"first_name", "String"}, {"email", "Email"},
                 {"hostname", "Hostname"}, {"external_id", "ID"},
                 {"age", "Int"},           {"balance", "Decimal"},
                 {"score", "Float"},       {"is_active", "Boolean"},
                 {"birth_date", "Date"},   {"created_at", "DateTime"},
                 {"ip_address", "IpAddress"}, {"network", "CIDR"},
                 {"mac_address", "MacAddress"},
                 {"org_path", "LTree"},    {"availability", "DateRange"},
                 {"preferences", "JSON"},  {"tags", "[String]"},
                 {"scores", "[Int]"},      {"friends", "[Author]"},
                 {"address", "Address"},   {"port", "Port"},
                 {"location", "Coordinate"}, {"search_tsv", "FullText"},
                 {"embedding", "Vector"},  {"author", "Author"}};
  view.foreign_keys = {{"author", "author_id"}};
  absl::Status status = schema.AddView(view);
  EXPECT_TRUE(status.ok()) << status;
  // Real columns of many declared types, no JSONB column: how a column's
  // declared type decides between a bare column and a cast
  // (where/typed_field.h).
  ViewSpec typed;
  typed.name = "app.v_typed";
  typed.type_name = "Typed";
  typed.jsonb_column = "";
  typed.columns = {{"id", "integer"},          {"rank", "int2"},
                   {"code", "character varying(20)"},
                   {"ref", "uuid"},            {"legacy_id", "INT8"},
                   {"slug", "text"},           {"price", "real"},
                   {"weight", "double precision"},
                   {"amount", "numeric(10,2)"},
                   {"seen_at", "timestamp(3) without time zone"},
                   {"logged_at", "timestamptz"}, {"born_on", "date"},
                   {"tags", "text[]"},         {"scores", "_int4"},
                   {"label", ""},              {"note", "citext"},
                   {"flag", "bool"},           {"net", "cidr"},
                   {"initials", "char(3)"},    {"meta", "json"}};
  typed.fields = {{"id", "Int"},         {"rank", "Int"},
                  {"code", "String"},    {"ref", "ID"},
                  {"legacy_id", "ID"},   {"slug", "ID"},
                  {"price", "Float"},    {"weight", "Decimal"},
                  {"amount", "Decimal"}, {"seen_at", "DateTime"},
                  {"logged_at", "DateTime"}, {"born_on", "Date"},
                  {"tags", "[String]"},  {"scores", "[Int]"},
                  {"label", "String"},   {"note", "String"},
                  {"flag", "Boolean"},   {"net", "IpAddress"},
                  {"initials", "String"}, {"meta", "JSON"}};
  status = schema.AddView(typed);
  EXPECT_TRUE(status.ok()) << status;
  ViewSpec limited;
  limited.name = "app.v_limited";
  limited.type_name = "Limited";
  limited.fields = {{"age", "Int"}, {"name", "String"}};
  limited.allowed_operators = {"eq", "where.compare.in"};
  status = schema.AddView(limited);
  EXPECT_TRUE(status.ok()) << status;
  return schema;
}

struct Case {
  std::string file;
  int line = 0;
  std::string name;
  std::string view = "app.v_user";
  std::string where;
  std::string sql;
  std::string params;
  std::string error;
};

std::vector<Case> LoadCases(const std::string& file) {
  std::vector<Case> cases;
  for (const testing::GoldenBlock& block :
       testing::ReadGoldenFile(absl::StrCat("where/testdata/", file))) {
    Case c{file, block.line, block.name};
    for (const auto& [key, value] : block.fields) {
      if (key == "view") {
        c.view = value;
      } else if (key == "where") {
        c.where = value;
      } else if (key == "sql") {
        c.sql = value;
      } else if (key == "params") {
        c.params = value;
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

void RunGoldenFile(const std::string& file) {
  Schema schema = TestSchema();
  std::unique_ptr<OperatorRegistry> operators = MakeBuiltinOperatorRegistry();
  std::vector<Case> cases = LoadCases(file);
  ASSERT_FALSE(cases.empty()) << file;
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.file, ":", c.line, ": ", c.name));
    const ViewDef* view = schema.FindView(c.view);
    ASSERT_NE(view, nullptr) << c.view;
    ASSERT_TRUE(c.error.empty() != c.sql.empty())
        << "a case needs exactly one of sql: and error:";
    ParamList params;
    absl::StatusOr<std::string> sql =
        CompileWhereJson(*view, schema, *operators, c.where, "t", &params);
    if (!c.error.empty()) {
      ASSERT_FALSE(sql.ok()) << "expected an error, got SQL: " << *sql;
      EXPECT_EQ(sql.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(std::string(sql.status().message()), c.error);
      continue;
    }
    ASSERT_TRUE(sql.ok()) << sql.status();
    EXPECT_EQ(*sql, c.sql == "<none>" ? "" : c.sql);
    EXPECT_EQ(testing::FormatGoldenParams(params.params()), c.params.empty() ? "[]" : c.params);
  }
}

TEST(CompileWhere, ComparisonGolden) { RunGoldenFile("comparison.golden"); }
TEST(CompileWhere, LogicGolden) { RunGoldenFile("logic.golden"); }
TEST(CompileWhere, ErrorsGolden) { RunGoldenFile("errors.golden"); }
TEST(CompileWhere, HostileGolden) { RunGoldenFile("hostile.golden"); }
TEST(CompileWhere, MembershipGolden) { RunGoldenFile("membership.golden"); }
TEST(CompileWhere, StringGolden) { RunGoldenFile("string.golden"); }
TEST(CompileWhere, NetworkGolden) { RunGoldenFile("network.golden"); }
TEST(CompileWhere, LTreeGolden) { RunGoldenFile("ltree.golden"); }
TEST(CompileWhere, DateRangeGolden) { RunGoldenFile("date_range.golden"); }
TEST(CompileWhere, JsonGolden) { RunGoldenFile("json.golden"); }
TEST(CompileWhere, ListGolden) { RunGoldenFile("list.golden"); }
TEST(CompileWhere, FullTextGolden) { RunGoldenFile("full_text.golden"); }
TEST(CompileWhere, VectorGolden) { RunGoldenFile("vector.golden"); }
TEST(CompileWhere, CoordinateGolden) { RunGoldenFile("coordinate.golden"); }
TEST(CompileWhere, ColumnsGolden) { RunGoldenFile("columns.golden"); }

TEST(CompileWhere, SameShapeGivesSameSql) {
  Schema schema = TestSchema();
  auto operators = MakeBuiltinOperatorRegistry();
  const ViewDef* view = schema.FindView("app.v_user");
  ParamList a, b;
  auto sql_a = CompileWhereJson(*view, schema, *operators,
                                R"({"age":{"gt":1},"firstName":"x"})", "t", &a);
  auto sql_b = CompileWhereJson(
      *view, schema, *operators,
      R"({"age":{"gt":99999},"firstName":"'; DROP TABLE x; --"})", "t", &b);
  ASSERT_TRUE(sql_a.ok() && sql_b.ok());
  EXPECT_EQ(*sql_a, *sql_b);
  EXPECT_NE(a.params(), b.params());
}

TEST(CompileWhere, EnforcesConditionLimit) {
  Schema schema = TestSchema();
  auto operators = MakeBuiltinOperatorRegistry();
  const ViewDef* view = schema.FindView("app.v_user");
  std::string where = R"({"OR":[)";
  for (int i = 0; i < 300; ++i) {
    absl::StrAppend(&where, i ? "," : "", R"({"age":)", i, "}");
  }
  where += "]}";
  ParamList params;
  auto sql = CompileWhereJson(*view, schema, *operators, where, "t", &params);
  ASSERT_FALSE(sql.ok());
  EXPECT_EQ(std::string(sql.status().message()),
            "filter has too many conditions at where.OR[256].age: at most 256 "
            "are allowed");
}

TEST(CompileWhere, EnforcesDepthAndSizeLimits) {
  Schema schema = TestSchema();
  auto operators = MakeBuiltinOperatorRegistry();
  const ViewDef* view = schema.FindView("app.v_user");
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += R"({"NOT":)";
  deep += R"({"age":1})";
  for (int i = 0; i < 20; ++i) deep += "}";
  ParamList params;
  auto sql = CompileWhereJson(*view, schema, *operators, deep, "t", &params);
  ASSERT_FALSE(sql.ok());
  EXPECT_TRUE(absl::StartsWith(sql.status().message(), "filter too deep at "))
      << sql.status();

  std::string big = absl::StrCat(R"({"firstName":")", std::string(70000, 'a'),
                                 R"("})");
  sql = CompileWhereJson(*view, schema, *operators, big, "t", &params);
  ASSERT_FALSE(sql.ok());
  EXPECT_EQ(std::string(sql.status().message()),
            "where input too large: 70016 bytes, at most 65536 allowed");
}

}  // namespace
}  // namespace fraiseql::where
