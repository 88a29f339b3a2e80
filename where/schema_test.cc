#include "where/schema.h"

#include "gtest/gtest.h"

namespace fraiseql::where {
namespace {

TEST(Schema, ResolvesKindsTypesListsAndColumns) {
  Schema schema;
  ASSERT_TRUE(schema.AddObjectType("Address", {{"city_name", "String"}}).ok());
  absl::Status status = schema.AddView(
      "app.v_user", "User", "data", {{"id", "uuid"}, {"data", "jsonb"}},
      {{"id", "UUID"},
       {"first_name", "String"},
       {"address", "Address"},
       {"tags", "[String]"},
       {"homes", "[Address!]"}});
  ASSERT_TRUE(status.ok()) << status;
  const ViewDef* view = schema.FindView("app.v_user");
  ASSERT_NE(view, nullptr);
  const FieldDef* id = view->type.FindField("id");
  EXPECT_EQ(id->column, "id");
  EXPECT_EQ(id->kind, FieldKind::kUuid);
  const FieldDef* name = view->type.FindField("firstName");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name, view->type.FindField("first_name"));
  EXPECT_EQ(name->column, "");
  EXPECT_EQ(view->type.FindField("address")->kind, FieldKind::kObject);
  EXPECT_EQ(view->type.FindField("address")->object_type, "Address");
  EXPECT_EQ(view->type.FindField("tags")->kind, FieldKind::kList);
  EXPECT_EQ(view->type.FindField("tags")->element_kind, FieldKind::kString);
  EXPECT_EQ(view->type.FindField("homes")->element_kind, FieldKind::kObject);
  EXPECT_EQ(view->type.FindField("homes")->object_type, "Address");
}

TEST(Schema, ListsObjectTypeNamesSorted) {
  Schema schema;
  EXPECT_TRUE(schema.ObjectTypeNames().empty());
  ASSERT_TRUE(schema.AddObjectType("Zone", {{"name", "String"}}).ok());
  ASSERT_TRUE(schema.AddObjectType("Address", {{"city", "String"}}).ok());
  ASSERT_TRUE(schema.AddView("app.v", "User", "data", {}, {{"id", "ID"}}).ok());
  EXPECT_EQ(schema.ObjectTypeNames(),
            (std::vector<std::string>{"Address", "Zone"}));
}

TEST(Schema, RejectsBadRegistrationsWithClearErrors) {
  Schema schema;
  EXPECT_EQ(std::string(schema.AddObjectType("Bad Name", {}).message()),
            "invalid type name 'Bad Name': expected a GraphQL name");
  EXPECT_EQ(std::string(schema.AddView("v", "T", "data", {}, {{"age", "Integer"}}).message()),
            "unknown kind 'Integer' for field T.age; expected a scalar kind "
            "(String, Int, Decimal, DateTime, ...), a registered object type, "
            "or a list of either in brackets");
  EXPECT_EQ(std::string(schema.AddView("a.b.c", "T", "data", {}, {}).message()),
            "invalid view name: 'a.b.c' has more than two parts; expected name "
            "or schema.name");
  EXPECT_EQ(std::string(schema.AddView("v", "T", "doc", {{"id", "uuid"}}, {}).message()),
            "view v names JSONB column 'doc', which is not among its columns "
            "(id)");
  EXPECT_EQ(
      schema.AddView("v", "T", "", {{"id", "uuid"}}, {{"name", "String"}})
          .message(),
      "field T.name of view v is not a column, and the view has no JSONB "
      "column");
  ASSERT_TRUE(schema.AddView("v", "T", "data", {}, {{"a", "Int"}}).ok());
  EXPECT_EQ(schema.AddView("v", "T", "data", {}, {}).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(schema.AddView("w", "T", "data", {}, {{"a", "Int"}, {"a", "String"}})
                .code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(Schema, CopiesAreIndependentSnapshots) {
  Schema schema;
  ASSERT_TRUE(schema.AddView("v", "T", "data", {}, {{"a", "Int"}}).ok());
  Schema snapshot = schema;
  ASSERT_TRUE(schema.AddView("w", "T", "data", {}, {{"a", "Int"}}).ok());
  EXPECT_NE(snapshot.FindView("v"), nullptr);
  EXPECT_EQ(snapshot.FindView("w"), nullptr);
  EXPECT_NE(snapshot.FindView("v"), schema.FindView("v"));
}

TEST(SuggestNames, OffersAFewCloseNamesClosestFirst) {
  std::vector<std::string> fields = {"id", "firstName", "lastName", "age",
                                     "address", "createdAt"};
  EXPECT_EQ(SuggestNames("firstNmae", fields),
            (std::vector<std::string>{"firstName"}));
  EXPECT_EQ(SuggestNames("first_name", fields),
            (std::vector<std::string>{"firstName"}));
  // A transposition is one edit; lastName is three away.
  EXPECT_EQ(SuggestNames("fristName", fields),
            (std::vector<std::string>{"firstName"}));
  EXPECT_EQ(SuggestNames("ag", fields), (std::vector<std::string>{"age"}));
  EXPECT_EQ(SuggestNames("FIRSTNAME", fields)[0], "firstName");
  EXPECT_TRUE(SuggestNames("shoeSize", fields).empty());
  EXPECT_TRUE(SuggestNames(std::string(100000, 'x'), fields).empty());
  std::vector<std::string> many;
  for (int i = 0; i < 50; ++i) many.push_back("name" + std::to_string(i));
  EXPECT_EQ(SuggestNames("name", many).size(), 3u);
}

TEST(SuggestNames, MatchesViewsByTheirUnqualifiedName) {
  std::vector<std::string> views = {"app.v_post", "app.v_user", "crm.v_user",
                                    "public.v_plain"};
  // A schema prefix shared by every view makes no two names close.
  EXPECT_TRUE(SuggestNames("app.v_comment", views).empty());
  EXPECT_EQ(SuggestNames("v_user", views),
            (std::vector<std::string>{"app.v_user", "crm.v_user"}));
  EXPECT_EQ(SuggestNames("app.v_usr", views)[0], "app.v_user");
  EXPECT_TRUE(SuggestNames("billing.invoices", views).empty());
  EXPECT_EQ(DidYouMean("v_user", views),
            "; did you mean app.v_user or crm.v_user?");
  EXPECT_EQ(DidYouMean("app.v_pst", views), "; did you mean app.v_post?");
  EXPECT_EQ(DidYouMean("billing.invoices", views), "");
}

TEST(Schema, SuggestsViewsAndFieldsWithoutListingThemAll) {
  Schema schema;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(schema
                    .AddView("app.v_table" + std::to_string(i), "T", "data",
                             {}, {{"a", "Int"}})
                    .ok());
  }
  EXPECT_EQ(schema.SuggestViews("app.v_table7x"),
            "; did you mean app.v_table7, app.v_table70 or app.v_table71?");
  EXPECT_EQ(schema.SuggestViews("nothing.like.it"), "");
  const ViewDef* view = schema.FindView("app.v_table1");
  EXPECT_EQ(SuggestFields("b", view->type), "; did you mean a?");
}

}  // namespace
}  // namespace fraiseql::where
