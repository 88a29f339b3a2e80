// Tests of the filter compiler that are not golden cases (those are in
// where/testdata/*.golden and plugins/where/<family>/*.golden, run by
// tests/filter_golden_main.cc): shapes, limits.
#include "where/filter.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/filter_golden.h"

namespace fraiseql::where {
namespace {

TEST(CompileWhere, SameShapeGivesSameSql) {
  Schema schema = testing::GoldenSchema();
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
  Schema schema = testing::GoldenSchema();
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
  Schema schema = testing::GoldenSchema();
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
