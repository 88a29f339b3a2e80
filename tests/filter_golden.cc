#include "tests/filter_golden.h"

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/golden_file.h"
#include "where/filter.h"
#include "where/operator.h"

namespace fraiseql::testing {

where::Schema GoldenSchema() {
  where::Schema schema;
  EXPECT_TRUE(
      schema.AddObjectType("Coordinates", {{"lat", "Float"}, {"lng", "Float"}})
          .ok());
  EXPECT_TRUE(schema
                  .AddObjectType("Address", {{"street", "String"},
                                             {"city_name", "String"},
                                             {"postal_code", "String"},
                                             {"country_code", "String"},
                                             {"coordinates", "Coordinate"},
                                             {"geo", "Coordinates"}})
                  .ok());
  EXPECT_TRUE(schema
                  .AddObjectType("Author", {{"id", "UUID"},
                                            {"first_name", "String"},
                                            {"last_name", "String"}})
                  .ok());
  where::ViewSpec view;
  view.name = "app.v_user";
  view.type_name = "User";
  view.columns = {{"id", "uuid"},          {"tenant_id", "uuid"},
                  {"author_id", "uuid"},   {"search_tsv", "tsvector"},
                  {"embedding", "vector"}, {"data", "jsonb"}};
  view.fields = {{"id", "UUID"},
                 {"tenant_id", "UUID"},
                 {"first_name", "String"},
                 {"email", "Email"},
                 {"hostname", "Hostname"},
                 {"external_id", "ID"},
                 {"age", "Int"},
                 {"balance", "Decimal"},
                 {"score", "Float"},
                 {"is_active", "Boolean"},
                 {"birth_date", "Date"},
                 {"created_at", "DateTime"},
                 {"ip_address", "IpAddress"},
                 {"network", "CIDR"},
                 {"mac_address", "MacAddress"},
                 {"org_path", "LTree"},
                 {"availability", "DateRange"},
                 {"preferences", "JSON"},
                 {"tags", "[String]"},
                 {"scores", "[Int]"},
                 {"friends", "[Author]"},
                 {"address", "Address"},
                 {"port", "Port"},
                 {"location", "Coordinate"},
                 {"search_tsv", "FullText"},
                 {"embedding", "Vector"},
                 {"author", "Author"},
                 {"last_name", "String"},
                 {"nickname", "String"}};
  view.foreign_keys = {{"author", "author_id"}};
  absl::Status status = schema.AddView(view);
  EXPECT_TRUE(status.ok()) << status;
  // Real columns of many declared types, no JSONB column: how a column's
  // declared type decides between a bare column and a cast
  // (where/typed_field.h).
  where::ViewSpec typed;
  typed.name = "app.v_typed";
  typed.type_name = "Typed";
  typed.jsonb_column = "";
  typed.columns = {{"id", "integer"},
                   {"rank", "int2"},
                   {"code", "character varying(20)"},
                   {"ref", "uuid"},
                   {"legacy_id", "INT8"},
                   {"slug", "text"},
                   {"price", "real"},
                   {"weight", "double precision"},
                   {"amount", "numeric(10,2)"},
                   {"seen_at", "timestamp(3) without time zone"},
                   {"logged_at", "timestamptz"},
                   {"born_on", "date"},
                   {"tags", "text[]"},
                   {"scores", "_int4"},
                   {"label", ""},
                   {"note", "citext"},
                   {"flag", "bool"},
                   {"net", "cidr"},
                   {"initials", "char(3)"},
                   {"meta", "json"}};
  typed.fields = {
      {"id", "Int"},           {"rank", "Int"},           {"code", "String"},
      {"ref", "ID"},           {"legacy_id", "ID"},       {"slug", "ID"},
      {"price", "Float"},      {"weight", "Decimal"},     {"amount", "Decimal"},
      {"seen_at", "DateTime"}, {"logged_at", "DateTime"}, {"born_on", "Date"},
      {"tags", "[String]"},    {"scores", "[Int]"},       {"label", "String"},
      {"note", "String"},      {"flag", "Boolean"},       {"net", "IpAddress"},
      {"initials", "String"},  {"meta", "JSON"}};
  status = schema.AddView(typed);
  EXPECT_TRUE(status.ok()) << status;
  // The sample's posts and comments (tests/fixtures/sample_registry.py),
  // so that their cases can also run on the sample data.
  where::ViewSpec post;
  post.name = "app.v_post";
  post.type_name = "Post";
  post.columns = {{"id", "uuid"},
                  {"tenant_id", "uuid"},
                  {"author_id", "uuid"},
                  {"search_tsv", "tsvector"},
                  {"data", "jsonb"}};
  post.fields = {{"id", "UUID"},
                 {"tenant_id", "UUID"},
                 {"title", "String"},
                 {"body", "String"},
                 {"author", "Author"},
                 {"tags", "[String]"},
                 {"published_at", "DateTime"},
                 {"view_count", "Int"},
                 {"rating", "Decimal"},
                 {"is_published", "Boolean"},
                 {"search_tsv", "FullText"}};
  post.foreign_keys = {{"author", "author_id"}};
  status = schema.AddView(post);
  EXPECT_TRUE(status.ok()) << status;
  where::ViewSpec comment;
  comment.name = "app.v_comment";
  comment.type_name = "Comment";
  comment.columns = {{"id", "uuid"},
                     {"tenant_id", "uuid"},
                     {"post_id", "uuid"},
                     {"author_id", "uuid"},
                     {"data", "jsonb"}};
  comment.fields = {{"id", "UUID"},      {"tenant_id", "UUID"},
                    {"post_id", "UUID"}, {"author", "Author"},
                    {"body", "String"},  {"created_at", "DateTime"},
                    {"upvotes", "Int"}};
  comment.foreign_keys = {{"author", "author_id"}};
  status = schema.AddView(comment);
  EXPECT_TRUE(status.ok()) << status;
  where::ViewSpec limited;
  limited.name = "app.v_limited";
  limited.type_name = "Limited";
  limited.fields = {{"age", "Int"}, {"name", "String"}};
  limited.allowed_operators = {"eq", "where.compare.in"};
  status = schema.AddView(limited);
  EXPECT_TRUE(status.ok()) << status;
  return schema;
}

std::vector<FilterCase> LoadFilterCases(const std::string& path) {
  std::vector<FilterCase> cases;
  for (const GoldenBlock& block : ReadGoldenFile(path)) {
    FilterCase c;
    c.file = path;
    c.line = block.line;
    c.name = block.name;
    bool has_where = false;
    for (const auto& [key, value] : block.fields) {
      if (key == "view") {
        c.view = value;
      } else if (key == "where") {
        c.where = value;
        has_where = true;
      } else if (key == "sql") {
        c.sql = value;
      } else if (key == "params") {
        c.params = value;
      } else if (key == "error") {
        c.error = value;
      } else if (key == "rows") {
        c.rows = value;
      } else {
        c.problem = absl::StrCat("unknown key: ", key);
      }
    }
    if (c.problem.empty() && !has_where) c.problem = "no where: line";
    cases.push_back(std::move(c));
  }
  return cases;
}

FilterOutcome CompileFilterCase(const where::Schema& schema,
                                const FilterCase& c) {
  static const where::OperatorRegistry* operators =
      where::MakeBuiltinOperatorRegistry().release();
  FilterOutcome outcome;
  const where::ViewDef* view = schema.FindView(c.view);
  if (view == nullptr) {
    outcome.problem = absl::StrCat("the golden schema has no view ", c.view);
    return outcome;
  }
  where::ParamList params;
  absl::StatusOr<std::string> sql =
      where::CompileWhereJson(*view, schema, *operators, c.where, "t", &params);
  if (!sql.ok()) {
    if (sql.status().code() != absl::StatusCode::kInvalidArgument) {
      outcome.problem =
          absl::StrCat("not an input error: ", sql.status().ToString());
    } else {
      outcome.error = std::string(sql.status().message());
    }
    return outcome;
  }
  outcome.sql = sql->empty() ? "<none>" : *sql;
  outcome.params = FormatGoldenParams(params.params());
  return outcome;
}

void CheckFilterCase(const where::Schema& schema, const FilterCase& c) {
  SCOPED_TRACE(absl::StrCat(c.file, ":", c.line, ": ", c.name));
  ASSERT_EQ(c.problem, "");
  ASSERT_TRUE(c.error.empty() != c.sql.empty())
      << "a case needs exactly one of sql: and error:";
  FilterOutcome got = CompileFilterCase(schema, c);
  ASSERT_EQ(got.problem, "");
  if (!c.error.empty()) {
    EXPECT_TRUE(got.sql.empty()) << "expected an error, got SQL: " << got.sql;
    EXPECT_EQ(got.error, c.error);
    return;
  }
  EXPECT_EQ(got.error, "");
  EXPECT_EQ(got.sql, c.sql);
  EXPECT_EQ(got.params, c.params.empty() ? "[]" : c.params);
}

}  // namespace fraiseql::testing
