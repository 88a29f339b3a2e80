#include "where/schema_file.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fraiseql::where {
namespace {

// The sample views as tests/fixtures/sample_registry.py registers them
// through the API, to compare where/testdata/schema_example.json against.
Schema SampleSchemaThroughTheApi() {
  Schema schema;
  auto ok = [](const absl::Status& s) { EXPECT_TRUE(s.ok()) << s; };
  ok(schema.AddObjectType("Address", {{"street", "String"},
                                      {"city_name", "String"},
                                      {"postal_code", "String"},
                                      {"country_code", "String"},
                                      {"coordinates", "Coordinate"}}));
  ok(schema.AddObjectType("Author", {{"id", "UUID"},
                                     {"first_name", "String"},
                                     {"last_name", "String"}}));
  ok(schema.AddView(
      "sample.v_user", "User", "data",
      {{"id", "uuid"}, {"tenant_id", "uuid"}, {"data", "jsonb"}},
      {{"id", "UUID"},           {"tenant_id", "UUID"},
       {"first_name", "String"}, {"last_name", "String"},
       {"email", "Email"},       {"age", "Int"},
       {"balance", "Decimal"},   {"score", "Float"},
       {"is_active", "Boolean"}, {"birth_date", "Date"},
       {"created_at", "DateTime"}, {"address", "Address"},
       {"tags", "[String]"},     {"ip_address", "IpAddress"},
       {"mac_address", "MacAddress"}, {"org_path", "LTree"},
       {"availability", "DateRange"}, {"preferences", "JSON"},
       {"nickname", "String"}}));
  ViewSpec post;
  post.name = "sample.v_post";
  post.type_name = "Post";
  post.columns = {{"id", "uuid"},         {"tenant_id", "uuid"},
                  {"author_id", "uuid"},  {"search_tsv", "tsvector"},
                  {"data", "jsonb"}};
  post.fields = {{"id", "UUID"},           {"tenant_id", "UUID"},
                 {"title", "String"},      {"body", "String"},
                 {"author", "Author"},     {"tags", "[String]"},
                 {"published_at", "DateTime"}, {"view_count", "Int"},
                 {"rating", "Decimal"},    {"is_published", "Boolean"},
                 {"search_tsv", "FullText"}};
  post.foreign_keys = {{"author", "author_id"}};
  ok(schema.AddView(post));
  ViewSpec comment;
  comment.name = "sample.v_comment";
  comment.type_name = "Comment";
  comment.columns = {{"id", "uuid"},        {"tenant_id", "uuid"},
                     {"post_id", "uuid"},   {"author_id", "uuid"},
                     {"data", "jsonb"}};
  comment.fields = {{"id", "UUID"},        {"tenant_id", "UUID"},
                    {"post_id", "UUID"},   {"author", "Author"},
                    {"body", "String"},    {"created_at", "DateTime"},
                    {"upvotes", "Int"}};
  comment.foreign_keys = {{"author", "author_id"}};
  ok(schema.AddView(comment));
  return schema;
}

void ExpectSameType(const ObjectType& got, const ObjectType& want) {
  EXPECT_EQ(got.name(), want.name());
  ASSERT_EQ(got.fields().size(), want.fields().size()) << want.name();
  for (size_t i = 0; i < want.fields().size(); ++i) {
    const FieldDef& g = got.fields()[i];
    const FieldDef& w = want.fields()[i];
    SCOPED_TRACE(want.name() + "." + w.key);
    EXPECT_EQ(g.name, w.name);
    EXPECT_EQ(g.key, w.key);
    EXPECT_EQ(g.kind, w.kind);
    EXPECT_EQ(g.element_kind, w.element_kind);
    EXPECT_EQ(g.object_type, w.object_type);
    EXPECT_EQ(g.column, w.column);
    EXPECT_EQ(g.fk_column, w.fk_column);
  }
}

std::string Error(absl::string_view json, Schema* schema = nullptr,
                  const LoadSchemaOptions& options = {}) {
  Schema local;
  absl::Status s = LoadSchemaJson(json, schema ? schema : &local, options);
  EXPECT_FALSE(s.ok()) << json;
  return std::string(s.message());
}

TEST(SchemaFile, ExampleFileDescribesTheSampleViews) {
  Schema loaded;
  absl::Status s =
      LoadSchemaFile("where/testdata/schema_example.json", &loaded);
  ASSERT_TRUE(s.ok()) << s;
  Schema want = SampleSchemaThroughTheApi();
  EXPECT_EQ(loaded.ViewNames(), want.ViewNames());
  for (const char* type : {"Address", "Author"}) {
    ASSERT_NE(loaded.FindObjectType(type), nullptr) << type;
    ExpectSameType(*loaded.FindObjectType(type), *want.FindObjectType(type));
  }
  for (const std::string& name : want.ViewNames()) {
    SCOPED_TRACE(name);
    const ViewDef* got = loaded.FindView(name);
    const ViewDef* expected = want.FindView(name);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->jsonb_column, expected->jsonb_column);
    EXPECT_EQ(got->columns, expected->columns);
    EXPECT_EQ(got->allowed_operators, expected->allowed_operators);
    EXPECT_EQ(got->text_search_config, expected->text_search_config);
    ExpectSameType(got->type, expected->type);
  }
  EXPECT_EQ(loaded.FindView("sample.v_post")->type.FindField("author")->fk_column,
            "author_id");
}

TEST(SchemaFile, ReadsEveryViewSetting) {
  Schema schema;
  absl::Status s = LoadSchemaJson(R"({
    "types": {"Address": {"city_name": "String"},
              "Person": {"home": "Address", "homes": "[Address!]"}},
    "views": [{"name": "app.v_doc", "type": "Doc", "jsonb_column": "doc",
               "columns": {"id": "uuid", "owner_id": "uuid", "doc": "jsonb",
                           "tsv": "tsvector"},
               "fields": {"id": "ID", "owner": "Person", "tsv": "FullText",
                          "sizes": "[Int]"},
               "foreign_keys": {"owner": "owner_id"},
               "operators": ["eq", "where.string.starts_with"],
               "text_search_config": "pg_catalog.simple"},
              {"name": "v_row", "type": "Row", "jsonb_column": null,
               "columns": {"id": "uuid", "n": "integer"},
               "fields": {"id": "UUID", "n": "Int"}}]})",
                                  &schema);
  ASSERT_TRUE(s.ok()) << s;
  const ViewDef* doc = schema.FindView("app.v_doc");
  ASSERT_NE(doc, nullptr);
  EXPECT_EQ(doc->jsonb_column, "doc");
  std::vector<std::pair<std::string, std::string>> columns = {
      {"id", "uuid"}, {"owner_id", "uuid"}, {"doc", "jsonb"},
      {"tsv", "tsvector"}};
  EXPECT_EQ(doc->columns, columns);  // file order
  EXPECT_EQ(doc->type.fields()[0].key, "id");
  EXPECT_EQ(doc->type.fields()[3].key, "sizes");
  EXPECT_EQ(doc->type.FindField("owner")->fk_column, "owner_id");
  EXPECT_EQ(doc->type.FindField("tsv")->column, "tsv");
  EXPECT_EQ(doc->type.FindField("sizes")->element_kind, FieldKind::kInt);
  EXPECT_EQ(doc->allowed_operators,
            (std::vector<std::string>{"eq", "where.string.starts_with"}));
  EXPECT_EQ(doc->text_search_config, "pg_catalog.simple");
  const ObjectType* person = schema.FindObjectType("Person");
  ASSERT_NE(person, nullptr);
  EXPECT_EQ(person->FindField("homes")->object_type, "Address");
  const ViewDef* row = schema.FindView("v_row");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->jsonb_column, "");
  EXPECT_EQ(row->type.FindField("n")->column, "n");
}

TEST(SchemaFile, DefaultsMatchTheApi) {
  Schema schema;
  ASSERT_TRUE(LoadSchemaJson(R"({"views": [{"name": "v", "type": "T"}]})",
                             &schema)
                  .ok());
  EXPECT_EQ(schema.FindView("v")->jsonb_column, "data");
  EXPECT_EQ(schema.FindView("v")->text_search_config, "english");
  EXPECT_TRUE(LoadSchemaJson("{}", &schema).ok());
}

TEST(SchemaFile, ErrorsNameThePlaceInTheFile) {
  EXPECT_EQ(Error(R"({"views": [{"name": "a", "type": "A"},
                                {"name": "b", "type": "B"},
                                {"name": "c", "type": "C",
                                 "fields": {"name": "String", "age": "Integer"}}]})"),
            "views[2].fields.age: unknown kind 'Integer' for field C.age; "
            "expected a scalar kind (String, Int, Decimal, DateTime, ...), a "
            "registered object type, or a list of either in brackets");
  EXPECT_EQ(Error(R"({"types": {"Address": {"city": "Strin"}}})"),
            "types.Address.city: unknown kind 'Strin' for field Address.city; "
            "expected a scalar kind (String, Int, Decimal, DateTime, ...), a "
            "registered object type, or a list of either in brackets");
  EXPECT_EQ(Error(R"({"types": {"Bad Name": {}}})"),
            "types[\"Bad Name\"]: invalid type name 'Bad Name': expected a "
            "GraphQL name");
  EXPECT_EQ(Error(R"({"views": [{"name": "a.b.c", "type": "T"}]})"),
            "views[0].name: invalid view name: 'a.b.c' has more than two "
            "parts; expected name or schema.name");
  EXPECT_EQ(Error(R"({"views": [{"name": "v", "type": "1T"}]})"),
            "views[0].type: invalid type name '1T' for view v: expected a "
            "GraphQL name");
  EXPECT_EQ(Error(R"({"views": [{"name": "v", "type": "T",
                                 "columns": {"id": "uuid"}, "jsonb_column": "doc"}]})"),
            "views[0].jsonb_column: view v names JSONB column 'doc', which is "
            "not among its columns (id)");
  EXPECT_EQ(Error(R"({"views": [{"name": "v", "type": "T", "jsonb_column": "",
                                 "columns": {"id": "uuid"},
                                 "fields": {"id": "UUID", "name": "String"}}]})"),
            "views[0].fields.name: field T.name of view v is not a column, and "
            "the view has no JSONB column");
  EXPECT_EQ(Error(R"({"views": [{"name": "v", "type": "T",
                                 "fields": {"tsv": "FullText"}}]})"),
            "views[0].fields.tsv: FullText field T.tsv of view v must be a "
            "tsvector column of the view");
  EXPECT_EQ(Error(R"({"types": {"A": {"x": "Int"}},
                      "views": [{"name": "v", "type": "T",
                                 "columns": {"data": "jsonb"},
                                 "fields": {"a": "A", "n": "Int"},
                                 "foreign_keys": {"a": "a_id"}}]})"),
            "views[0].foreign_keys.a: foreign key 'a' of view v names column "
            "'a_id', which is not among its columns (data)");
  EXPECT_EQ(Error(R"({"views": [{"name": "v", "type": "T",
                                 "fields": {"n": "Int"},
                                 "foreign_keys": {"n": "n"}}]})"),
            "views[0].foreign_keys.n: foreign key 'n' of view v: expected an "
            "object field of type T");
  EXPECT_NE(Error(R"({"views": [{"name": "v", "type": "T",
                                 "text_search_config": "bad\"config"}]})")
                .find("views[0].text_search_config: invalid text search "
                      "configuration for view v"),
            std::string::npos);
}

TEST(SchemaFile, RejectsUnknownKeysAndWrongShapes) {
  EXPECT_EQ(Error(R"({"view": []})"),
            "view: unknown key; expected one of types, views");
  EXPECT_EQ(Error(R"({"views": [{"name": "v", "type": "T", "foreign_key": {}}]})"),
            "views[0].foreign_key: unknown key; expected one of name, type, "
            "jsonb_column, columns, fields, foreign_keys, operators, "
            "text_search_config");
  EXPECT_EQ(Error(R"({"views": [{"type": "T"}]})"),
            "views[0]: missing required key \"name\"");
  EXPECT_EQ(Error(R"({"views": {"name": "v"}})"),
            "views: expected a list of view objects, got an object");
  EXPECT_EQ(Error(R"({"views": [{"name": "v", "type": "T",
                                 "fields": {"age": 3}}]})"),
            "views[0].fields.age: expected a string (kinds), got a number");
  EXPECT_EQ(Error(R"({"views": [{"name": "v", "type": "T",
                                 "columns": ["id"]}]})"),
            "views[0].columns: expected an object of PostgreSQL types, got a "
            "list");
  EXPECT_EQ(Error(R"({"views": [{"name": 7, "type": "T"}]})"),
            "views[0].name: expected a string (the SQL view name), got a "
            "number");
  EXPECT_EQ(Error(R"({"views": [{"name": "v", "type": "T",
                                 "operators": ["eq", "no such"]}]})"),
            "views[0].operators[1]: invalid operator 'no such'; expected an "
            "operator name (startsWith) or key (where.string.starts_with)");
  EXPECT_EQ(Error("[]"),
            "(top level): expected an object {\"types\": ..., \"views\": "
            "[...]}, got a list");
}

TEST(SchemaFile, MalformedJsonNamesLineAndColumn) {
  EXPECT_EQ(Error("{\n  \"types\": {\n    \"A\": {\"x\": \"Int\",}\n  }\n}"),
            "line 3, column 22: invalid JSON at byte 36: Missing a name for "
            "object member.");
  EXPECT_EQ(Error(R"({"types": {"A": {"x": "Int", "x": "String"}}})")
                .substr(0, 14),
            "line 1, column");
}

TEST(SchemaFile, FindsTheBadMemberAmongMany) {
  std::string fields;
  std::string columns;
  for (int i = 0; i < 300; ++i) {
    absl::StrAppend(&fields, i ? ", " : "", "\"f", i, "\": \"",
                    i == 137 ? "Nope" : "Int", "\"");
    absl::StrAppend(&columns, i ? ", " : "", "\"c", i, "\": \"int\"");
  }
  EXPECT_EQ(Error(absl::StrCat(R"({"types": {"Big": {)", fields, "}}}"))
                .substr(0, 40),
            "types.Big.f137: unknown kind 'Nope' for ");
  EXPECT_EQ(Error(absl::StrCat(R"({"views": [{"name": "v", "type": "T", )",
                               R"("fields": {)", fields, "}}]}"))
                .substr(0, 41),
            "views[0].fields.f137: unknown kind 'Nope'");
  absl::StrAppend(&columns, ", \"bad\\\"column\": \"int\", \"data\": \"jsonb\"");
  EXPECT_EQ(Error(absl::StrCat(R"({"views": [{"name": "v", "type": "T", )",
                               R"("columns": {)", columns, "}}]}"))
                .substr(0, 47),
            "views[0].columns[\"bad\\\"column\"]: invalid column");
}

TEST(SchemaFile, TypesAreRegisteredInFileOrder) {
  EXPECT_EQ(Error(R"({"types": {"Person": {"home": "Address"},
                                "Address": {"city": "String"}}})"),
            "types.Person.home: unknown kind 'Address' for field Person.home; "
            "expected a scalar kind (String, Int, Decimal, DateTime, ...), a "
            "registered object type, or a list of either in brackets; types "
            "are registered in file order: declare Address above Person");
}

TEST(SchemaFile, DuplicatesAreAlreadyExistsWithThePath) {
  Schema schema;
  ASSERT_TRUE(schema.AddObjectType("Address", {{"city", "String"}}).ok());
  absl::Status s =
      LoadSchemaJson(R"({"types": {"Address": {"city": "String"}}})", &schema);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "types.Address: type Address is registered already");
  s = LoadSchemaJson(R"({"views": [{"name": "v", "type": "T"},
                                   {"name": "v", "type": "U"}]})",
                     &schema);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "views[1].name: view v is registered already");
  s = LoadSchemaJson(R"({"views": [{"name": "w", "type": "T",
                                    "fields": {"first_name": "String",
                                               "firstName": "Int"}}]})",
                     &schema);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message().substr(0, 26), "views[0].fields.firstName:");
}

TEST(SchemaFile, UsesTypesAlreadyInTheSchema) {
  Schema schema;
  ASSERT_TRUE(schema.AddObjectType("Address", {{"city", "String"}}).ok());
  absl::Status s = LoadSchemaJson(
      R"({"views": [{"name": "v", "type": "T", "fields": {"home": "Address"}}]})",
      &schema);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(schema.FindView("v")->type.FindField("home")->object_type,
            "Address");
}

TEST(SchemaFile, AllOrNothing) {
  Schema schema;
  ASSERT_TRUE(schema.AddObjectType("Kept", {{"a", "Int"}}).ok());
  absl::Status s = LoadSchemaJson(R"({"types": {"New": {"a": "Int"}},
      "views": [{"name": "ok", "type": "T"}, {"name": "bad", "type": "T",
                 "fields": {"x": "Nope"}}]})",
                                  &schema);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(schema.FindObjectType("Kept"), nullptr);
  EXPECT_EQ(schema.FindObjectType("New"), nullptr);
  EXPECT_EQ(schema.FindView("ok"), nullptr);
}

TEST(SchemaFile, ChecksAllowListsAgainstARegistry) {
  OperatorRegistry registry;
  OperatorInfo info;
  info.key = "where.string.starts_with";
  info.name = "startsWith";
  info.aliases = {"startswith", "starts_with"};
  info.kinds = {FieldKind::kString};
  ASSERT_TRUE(registry
                  .Register(MakeOperator(
                      info,
                      [](const Operand&, const JsonValue&, absl::string_view,
                         ParamList*) -> absl::StatusOr<std::string> {
                        return std::string("TRUE");
                      }))
                  .ok());
  LoadSchemaOptions options;
  options.operators = &registry;
  Schema schema;
  EXPECT_TRUE(LoadSchemaJson(R"({"views": [{"name": "v", "type": "T",
      "operators": ["startsWith", "where.string.starts_with"]}]})",
                             &schema, options)
                  .ok());
  EXPECT_EQ(Error(R"({"views": [{"name": "w", "type": "T",
                                 "operators": ["starts_with"]}]})",
                  nullptr, options),
            "views[0].operators[0]: 'starts_with' is an alias of startsWith "
            "(where.string.starts_with); an allow-list takes canonical names "
            "or keys");
  EXPECT_EQ(Error(R"({"views": [{"name": "w", "type": "T",
                                 "operators": ["startWith"]}]})",
                  nullptr, options),
            "views[0].operators[0]: unknown operator 'startWith'; did you mean "
            "startsWith?");
}

TEST(SchemaFile, FileErrorsNameTheFile) {
  Schema schema;
  absl::Status s = LoadSchemaFile("where/testdata/no_such_schema.json", &schema);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "where/testdata/no_such_schema.json: cannot open the schema file: "
            "No such file or directory");
}

}  // namespace
}  // namespace fraiseql::where
