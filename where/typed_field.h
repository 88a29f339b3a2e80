// where/ + planner/: how one field's value is read in SQL, and which type the
// values compared with it are bound as. The filter compiler (where/filter.cc)
// and the planner (orderBy, keyset cursors, aggregates) both ask here, so a
// field compares the same way in WHERE, ORDER BY and cursor conditions.
//
// A field held in the JSONB document is cast to its kind's SQL type
// (`(t."data"->>'age')::numeric`) and compared with values of that type.
//
// A field backed by a real column is compared as the bare column whenever its
// declared type serves the kind, and the VALUE takes a type of the column's
// b-tree operator family, so an index on the column can serve the filter, the
// ordering and the keyset condition (a cast on the column would hide it from
// every index):
//
//   kind                    column type (declared)          values bound as
//   Int, Port               smallint, integer, bigint       bigint
//                           numeric / real / double prec.   the column's type
//   Float, Decimal          numeric / real / double prec.   the column's type
//   String, Email, Hostname text, varchar                   the column's type
//   ID                      text, varchar                   the column's type
//                           uuid                            uuid (checked)
//                           smallint, integer, bigint       bigint (checked)
//   DateTime                timestamptz, timestamp          timestamptz
//   IpAddress               inet, cidr                      inet
//   any kind                the kind's own SQL type         that type
//
// Integer columns take bigint values: PostgreSQL's integer operator family
// compares int2/int4 with int8 inside one index, and a value beyond an
// integer column's range then compares instead of failing. A timestamp
// column compared with a timestamptz value reads the column in the session's
// time zone, as a cast of the column would, with the index still usable.
// Typmods are ignored for values (a varchar(20) column takes varchar values:
// casting a value to varchar(20) would truncate it and match a prefix).
//
// Any other column type, and a column whose type is not declared (empty) or
// is spelled in a way not recognised here (a domain, a quoted name, an
// extension type other than ltree), is read cast to the kind's SQL type,
// `t."age"::numeric`: correct, but no index on the column can serve it.
// Array columns (`text[]`) behind a List or JSON field are read as
// `to_jsonb(t."tags")`, so every List operator works on them.
#ifndef FRAISEQL_WHERE_TYPED_FIELD_H_
#define FRAISEQL_WHERE_TYPED_FIELD_H_

#include <string>

#include "absl/strings/string_view.h"
#include "where/schema.h"

namespace fraiseql::where {

// A declared PostgreSQL type in one canonical spelling, without typmods:
// "int4", "integer" and "INT" give "integer"; "character varying(20)" gives
// "varchar"; "timestamp(3) with time zone" gives "timestamptz";
// "pg_catalog.text" gives "text"; "_text" and "text[]" give "text[]".
// Empty for an empty declaration and for any type not listed in this file
// (domains, quoted or schema-qualified names other than pg_catalog's, ...).
// The canonical names are the only type names ever written into SQL from a
// declaration, so a declaration can never inject SQL text.
std::string CanonicalColumnType(absl::string_view declared);

struct TypedField {
  // The value typed for comparisons: `t."age"` (a bare column whose type
  // serves the kind), `t."age"::numeric` (one whose type does not, or is not
  // declared), `(t."data"->>'age')::numeric` (a JSONB key).
  std::string sql;
  // The SQL type values compared with `sql` are bound as (see the table
  // above): `bigint` for an Int on an integer column, otherwise the kind's
  // SQL type (SqlTypeForKind).
  std::string value_type;
  // The value as the kind's SQL type, for results that must not depend on
  // the column's type (sum, avg, min, max, distinct): `sql` when
  // value_type is the kind's type, else `t."age"::numeric`.
  std::string kind_sql;
};

// Reads `field` of `view`. At the root of the view (`at_root`) a field with
// a column reads `<row_alias>."<column>"`; otherwise, and for fields without
// a column, the key `field.key` of the JSONB object `jsonb_sql`.
TypedField TypeField(const ViewDef& view, const FieldDef& field,
                     absl::string_view row_alias, absl::string_view jsonb_sql,
                     bool at_root);

}  // namespace fraiseql::where

#endif  // FRAISEQL_WHERE_TYPED_FIELD_H_
