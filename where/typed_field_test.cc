// Declared column types in their canonical spelling, and how a field is read
// for each kind of declaration (where/testdata/columns.golden has the SQL of
// whole filters).
#include "where/typed_field.h"

#include "gtest/gtest.h"

namespace fraiseql::where {
namespace {

TEST(CanonicalColumnType, ReadsPostgresSpellings) {
  EXPECT_EQ(CanonicalColumnType("integer"), "integer");
  EXPECT_EQ(CanonicalColumnType(" INT4 "), "integer");
  EXPECT_EQ(CanonicalColumnType("int"), "integer");
  EXPECT_EQ(CanonicalColumnType("pg_catalog.int8"), "bigint");
  EXPECT_EQ(CanonicalColumnType("smallint"), "smallint");
  EXPECT_EQ(CanonicalColumnType("decimal(10, 2)"), "numeric");
  EXPECT_EQ(CanonicalColumnType("Double  Precision"), "double precision");
  EXPECT_EQ(CanonicalColumnType("float"), "double precision");
  EXPECT_EQ(CanonicalColumnType("float(24)"), "real");
  EXPECT_EQ(CanonicalColumnType("float(25)"), "double precision");
  EXPECT_EQ(CanonicalColumnType("character varying(20)"), "varchar");
  EXPECT_EQ(CanonicalColumnType("char(3)"), "bpchar");
  EXPECT_EQ(CanonicalColumnType("timestamp(3) with time zone"), "timestamptz");
  EXPECT_EQ(CanonicalColumnType("timestamp without time zone"), "timestamp");
  EXPECT_EQ(CanonicalColumnType("bool"), "boolean");
}

TEST(CanonicalColumnType, ReadsArrays) {
  EXPECT_EQ(CanonicalColumnType("text[]"), "text[]");
  EXPECT_EQ(CanonicalColumnType("varchar(10)[3]"), "varchar[]");
  EXPECT_EQ(CanonicalColumnType("integer[][]"), "integer[]");
  EXPECT_EQ(CanonicalColumnType("_int4"), "integer[]");
  EXPECT_EQ(CanonicalColumnType("_text"), "text[]");
}

TEST(CanonicalColumnType, IsEmptyForWhatItDoesNotKnow) {
  EXPECT_EQ(CanonicalColumnType(""), "");
  EXPECT_EQ(CanonicalColumnType("citext"), "");
  EXPECT_EQ(CanonicalColumnType("public.ltree"), "");
  EXPECT_EQ(CanonicalColumnType("\"Integer\""), "");
  EXPECT_EQ(CanonicalColumnType("my_domain"), "");
  EXPECT_EQ(CanonicalColumnType("_my_type"), "");
  EXPECT_EQ(CanonicalColumnType("text[x]"), "");
  EXPECT_EQ(CanonicalColumnType("numeric(10"), "");
  EXPECT_EQ(CanonicalColumnType("numeric(1)(2)"), "");
  // Nothing of a declaration but a known name reaches SQL.
  EXPECT_EQ(CanonicalColumnType("integer); DROP TABLE t; --"), "");
  EXPECT_EQ(CanonicalColumnType("int4(1); --)"), "");
}

class TypeFieldTest : public ::testing::Test {
 protected:
  TypedField Read(const std::string& declared, FieldKind kind) {
    view_.columns = {{"c", declared}};
    FieldDef field;
    field.key = field.column = "c";
    field.kind = kind;
    return TypeField(view_, field, "t", "t.\"data\"", /*at_root=*/true);
  }
  ViewDef view_;
};

TEST_F(TypeFieldTest, BareColumnWhenItsTypeServesTheKind) {
  TypedField f = Read("integer", FieldKind::kInt);
  EXPECT_EQ(f.sql, "t.\"c\"");
  EXPECT_EQ(f.value_type, "bigint");
  EXPECT_EQ(f.kind_sql, "t.\"c\"::numeric");

  f = Read("numeric(12,2)", FieldKind::kDecimal);
  EXPECT_EQ(f.sql, "t.\"c\"");
  EXPECT_EQ(f.value_type, "numeric");
  EXPECT_EQ(f.kind_sql, "t.\"c\"");

  f = Read("timestamp", FieldKind::kDateTime);
  EXPECT_EQ(f.sql, "t.\"c\"");
  EXPECT_EQ(f.value_type, "timestamptz");
  EXPECT_EQ(f.kind_sql, "t.\"c\"::timestamptz");

  f = Read("uuid", FieldKind::kId);
  EXPECT_EQ(f.sql, "t.\"c\"");
  EXPECT_EQ(f.value_type, "uuid");
  EXPECT_EQ(f.kind_sql, "t.\"c\"::text");

  f = Read("jsonb", FieldKind::kList);
  EXPECT_EQ(f.sql, "t.\"c\"");
  EXPECT_EQ(f.value_type, "jsonb");
}

TEST_F(TypeFieldTest, CastToTheKindOtherwise) {
  for (const char* declared : {"", "citext", "char(2)", "my_domain"}) {
    TypedField f = Read(declared, FieldKind::kString);
    EXPECT_EQ(f.sql, "t.\"c\"::text") << declared;
    EXPECT_EQ(f.value_type, "text") << declared;
    EXPECT_EQ(f.kind_sql, f.sql) << declared;
  }
  TypedField f = Read("integer", FieldKind::kFloat);  // 1.5 is no integer
  EXPECT_EQ(f.sql, "t.\"c\"::numeric");
  EXPECT_EQ(f.value_type, "numeric");
  f = Read("timestamptz", FieldKind::kDate);  // eq would mean midnight
  EXPECT_EQ(f.sql, "t.\"c\"::date");
  f = Read("json", FieldKind::kJson);
  EXPECT_EQ(f.sql, "t.\"c\"::jsonb");
  f = Read("text[]", FieldKind::kList);
  EXPECT_EQ(f.sql, "to_jsonb(t.\"c\")");
  EXPECT_EQ(f.value_type, "jsonb");
}

TEST_F(TypeFieldTest, JsonbKeysAndNestedFieldsIgnoreColumns) {
  view_.columns = {{"c", "integer"}};
  FieldDef field;
  field.key = field.column = "c";
  field.kind = FieldKind::kInt;
  TypedField nested = TypeField(view_, field, "t", "t.\"data\"->'o'", false);
  EXPECT_EQ(nested.sql, "(t.\"data\"->'o'->>'c')::numeric");
  EXPECT_EQ(nested.value_type, "numeric");
  field.column.clear();
  TypedField key = TypeField(view_, field, "t", "t.\"data\"", true);
  EXPECT_EQ(key.sql, "(t.\"data\"->>'c')::numeric");
}

}  // namespace
}  // namespace fraiseql::where
