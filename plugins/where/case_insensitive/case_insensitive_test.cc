#include "gtest/gtest.h"
#include "where/filter.h"
#include "where/operator.h"
#include "where/operator_plugin.h"

namespace fraiseql {
namespace {

TEST(CaseInsensitivePlugin, IsLinkedIntoEveryBuiltinRegistry) {
  bool linked = false;
  for (const auto& plugin : where::LinkedPlugins()) {
    linked |= plugin.name == "case_insensitive";
  }
  EXPECT_TRUE(linked);
  auto registry = where::MakeBuiltinOperatorRegistry();
  const where::Operator* op =
      registry->Find("ieq", where::FieldKind::kEmail);
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->info().key, "where.example.ieq");
  EXPECT_EQ(op->info().graphql_type, "String");
  EXPECT_EQ(registry->Find("i_eq", where::FieldKind::kString), op);
  EXPECT_EQ(registry->Find("ieq", where::FieldKind::kInt), nullptr);
}

TEST(CaseInsensitivePlugin, RendersWithABoundParameter) {
  where::Schema schema;
  ASSERT_TRUE(schema.AddView("app.v", "T", "data", {}, {{"email", "Email"}}).ok());
  auto registry = where::MakeBuiltinOperatorRegistry();
  where::ParamList params;
  auto sql = where::CompileWhereJson(*schema.FindView("app.v"), schema,
                                     *registry,
                                     R"({"email": {"iEq": "A'B@X.COM"}})", "t",
                                     &params);
  ASSERT_TRUE(sql.ok()) << sql.status();
  EXPECT_EQ(*sql, "lower(t.\"data\"->>'email') = lower($1::text)");
  ASSERT_EQ(params.params().size(), 1u);
  EXPECT_EQ(params.params()[0].text, "A'B@X.COM");
  auto bad = where::CompileWhereJson(*schema.FindView("app.v"), schema,
                                     *registry, R"({"email": {"ieq": 3}})",
                                     "t", &params);
  EXPECT_EQ(std::string(bad.status().message()),
            "invalid value at where.email.ieq: expected a String, got a "
            "number");
}

TEST(CaseInsensitivePlugin, RegisteringTwiceIsAnError) {
  auto registry = where::MakeBuiltinOperatorRegistry();
  absl::Status again = where::RegisterLinkedPlugins(registry.get());
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(std::string(again.message()),
            "plugin case_insensitive: operator where.example.ieq is "
            "registered already");
}

}  // namespace
}  // namespace fraiseql
