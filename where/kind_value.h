// where/: how each field kind is typed in SQL and how an input value of that
// kind is checked and bound. Shared by every operator so that a kind compares
// the same way everywhere (numbers as numeric, dates as date, ...).
#ifndef FRAISEQL_WHERE_KIND_VALUE_H_
#define FRAISEQL_WHERE_KIND_VALUE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "where/json_value.h"
#include "where/params.h"
#include "where/schema.h"

namespace fraiseql::where {

// The PostgreSQL type a kind compares as: numeric, boolean, uuid, date,
// timestamptz, inet, cidr, macaddr, ltree, daterange, jsonb, or text.
absl::string_view SqlTypeForKind(FieldKind kind);

// The SQL of a JSONB-held value typed for its kind, from the JSONB value
// expression (`t."data"->'age'`): text kinds take `->>`, JSON and lists stay
// jsonb, the others are cast: `(t."data"->>'age')::numeric`.
std::string TypedJsonbValueSql(FieldKind kind, absl::string_view parent_sql,
                               absl::string_view key);

// Checks one input value against a kind and returns it as a parameter. JSON
// and list kinds take any JSON value; the others take a scalar in the
// kind's format (Int: an integer number; Decimal: a number or numeric
// string; UUID: 8-4-4-4-12 hex; Date: YYYY-MM-DD; DateTime: ISO 8601;
// IpAddress: IPv4/IPv6 ...). InvalidArgument naming `path`, the kind and
// the JSON type received otherwise ("invalid value at where.age.gte:
// expected an Int (a whole number), got a string"; "... got a number that
// does not fit" when the JSON type is right but not the form).
absl::StatusOr<Param> BindValue(FieldKind kind, const JsonValue& value,
                                absl::string_view path);

// As BindValue, then bound as `value_type` (a TypedField's value_type,
// where/typed_field.h) instead of the kind's type: `bigint` for an Int
// compared with an integer column, `uuid` for an ID with a uuid column.
// InvalidArgument naming `path` also when the value fits the kind but not
// that type (an ID that is no UUID; an Int beyond bigint). An empty
// `value_type` means the kind's type.
absl::StatusOr<Param> BindValueAs(FieldKind kind, absl::string_view value_type,
                                  const JsonValue& value,
                                  absl::string_view path);

// Checks a list input (every item as by BindValue, none null, at most
// `max_items`) and returns it as one array parameter of the kind's type
// (`numeric[]`, `text[]`, ...), so the SQL is the same whatever the length.
absl::StatusOr<Param> BindList(FieldKind kind, const JsonValue& value,
                               absl::string_view path, int max_items);

// The same, every item checked and bound as by BindValueAs: `bigint[]`.
absl::StatusOr<Param> BindListAs(FieldKind kind, absl::string_view value_type,
                                 const JsonValue& value,
                                 absl::string_view path, int max_items);

// OK when jsonb can store `value`: no NUL in any string or object key.
// InvalidArgument naming the path of the first one otherwise.
absl::Status CheckJsonStorable(const JsonValue& value, const std::string& path);

// What a value of `kind` must be, for messages: the kind's name and the
// form of its values, "an Int (a whole number)", "a UUID (8-4-4-4-12
// hexadecimal digits)".
std::string KindExpectation(FieldKind kind);

// InvalidArgument "invalid value at <path>: expected <expected>, got <JSON
// type>" (`got a string`, `got a list`). The value itself is never shown: it
// is a bound value, possibly a secret, and the caller's own input.
absl::Status ExpectedError(absl::string_view path, absl::string_view expected,
                           const JsonValue& got);

}  // namespace fraiseql::where

#endif  // FRAISEQL_WHERE_KIND_VALUE_H_
