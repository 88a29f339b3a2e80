#include "where/operator.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "where/operator_plugin.h"

namespace fraiseql::where {
namespace {

std::shared_ptr<const Operator> WithGraphQLType(std::string graphql_type) {
  OperatorInfo info;
  info.key = "where.test.typed";
  info.name = "typed";
  info.kinds = {FieldKind::kString};
  info.graphql_type = std::move(graphql_type);
  return MakeOperator(std::move(info),
                      [](const Operand&, const JsonValue&, absl::string_view,
                         ParamList*) -> absl::StatusOr<std::string> {
                        return std::string("TRUE");
                      });
}

TEST(OperatorRegistry, EveryBuiltinOperatorHasAGraphQLType) {
  OperatorRegistry registry;
  ASSERT_TRUE(RegisterLinkedPlugins(&registry).ok());
  ASSERT_FALSE(registry.List().empty());
  for (const Operator* op : registry.List()) {
    EXPECT_FALSE(op->info().graphql_type.empty()) << op->info().key;
  }
}

TEST(OperatorRegistry, GraphQLTypesOfSomeBuiltinsAreTheirValues) {
  OperatorRegistry registry;
  ASSERT_TRUE(RegisterLinkedPlugins(&registry).ok());
  struct Case {
    const char* name;
    FieldKind kind;
    const char* graphql_type;
  };
  const Case cases[] = {
      {"eq", FieldKind::kInt, "$field"},
      {"in", FieldKind::kUuid, "[$field!]"},
      {"isnull", FieldKind::kObject, "Boolean"},
      {"startsWith", FieldKind::kEmail, "String"},
      {"inRange", FieldKind::kIpAddress, "IpRangeInput"},
      {"containsDate", FieldKind::kDateRange, "Date"},
      {"depthGt", FieldKind::kLTree, "Int"},
      {"hasAnyKeys", FieldKind::kJson, "[String!]"},
      {"contains", FieldKind::kJson, "JSON"},
      {"contains", FieldKind::kList, "[$element!]"},
      {"anyEq", FieldKind::kList, "$element"},
      {"rankGt", FieldKind::kFullText, "RankThresholdInput"},
      {"cosineDistance", FieldKind::kVector, "VectorDistanceInput"},
      {"hammingDistance", FieldKind::kVector, "BitVectorDistanceInput"},
      {"distanceWithin", FieldKind::kCoordinate, "DistanceWithinInput"},
  };
  // The families are plugins (plugins/where/<family>/): a family left out
  // of the build is skipped, but the comparison family is always linked.
  int checked = 0;
  for (const Case& c : cases) {
    if (!registry.Knows(c.name)) continue;
    const Operator* op = registry.Find(c.name, c.kind);
    ASSERT_NE(op, nullptr) << c.name;
    EXPECT_EQ(op->info().graphql_type, c.graphql_type) << c.name;
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

TEST(OperatorRegistry, AcceptsGraphQLTypeExpressions) {
  for (const char* type : {"", "String", "$field", "$element!", "[$field!]",
                           "[[Int!]]!", "JSON", "My_Input2"}) {
    OperatorRegistry registry;
    EXPECT_TRUE(registry.Register(WithGraphQLType(type)).ok()) << type;
  }
}

TEST(OperatorRegistry, RefusesAGraphQLTypeThatIsNoTypeExpression) {
  for (const char* type :
       {"$value", "[String", "String]", "String!!", "[String!", "String Int",
        "2x", "$", "[]", "{from: String}"}) {
    OperatorRegistry registry;
    absl::Status status = registry.Register(WithGraphQLType(type));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << type;
    EXPECT_EQ(std::string(status.message()),
              std::string("invalid graphql_type '") + type +
                  "' for operator where.test.typed: expected a GraphQL input "
                  "type like String, [$field!] or $element")
        << type;
  }
}

TEST(LinkedPlugins, AreInRankOrderWhateverTheLinkOrder) {
  const std::vector<LinkedPlugin>& plugins = LinkedPlugins();
  ASSERT_GE(plugins.size(), 2u);
  EXPECT_EQ(plugins.front().name, "comparison");
  EXPECT_EQ(plugins.front().rank, 10);
  for (size_t i = 1; i < plugins.size(); ++i) {
    EXPECT_LE(plugins[i - 1].rank, plugins[i].rank) << plugins[i].name;
  }
  // A plugin without a rank (the example) comes after the families.
  EXPECT_EQ(plugins.back().name, "case_insensitive");
  EXPECT_EQ(plugins.back().rank, kDefaultPluginRank);
}

}  // namespace
}  // namespace fraiseql::where
