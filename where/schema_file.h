// where/: the schema registry read from a JSON file, so that a deployment (or
// a test, or the fuzzer) can declare its views and object types as data
// instead of as a sequence of Schema::AddObjectType / AddView calls.
//
// The format (every key but `name` and `type` of a view is optional):
//
//   {
//     "types": {                       // registered in file order: a type
//       "Address": {                   // may use the types declared above it
//         "city_name": "String",
//         "coordinates": "Coordinate"
//       }
//     },
//     "views": [
//       {
//         "name": "app.v_user",         // SQL name, possibly schema-qualified
//         "type": "User",               // the GraphQL type of the rows
//         "jsonb_column": "data",       // default "data"; null or "": none
//         "columns": {"id": "uuid", "data": "jsonb"},   // name -> PG type
//         "fields": {"id": "UUID", "age": "Int", "address": "Address",
//                    "tags": "[String]"},               // JSONB key -> kind
//         "foreign_keys": {"author": "author_id"},      // object field -> column
//         "operators": ["eq", "where.string.starts_with"],  // allow-list
//         "text_search_config": "english"
//       }
//     ]
//   }
//
// Kinds are spelled as for Schema (schema.h, FieldSpec). Members keep their
// file order (fields, columns), and a key the format does not know is an
// error, so a typo (`"foreign_key"`) never silently drops a declaration.
#ifndef FRAISEQL_WHERE_SCHEMA_FILE_H_
#define FRAISEQL_WHERE_SCHEMA_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "where/operator.h"
#include "where/schema.h"

namespace fraiseql::where {

struct LoadSchemaOptions {
  // When set, every entry of a view's "operators" allow-list must be the
  // canonical name or the key of an operator of this registry (an alias in
  // an allow-list would never match, see ViewDef::allowed_operators). When
  // null, entries are only checked to be names or dotted keys.
  const OperatorRegistry* operators = nullptr;
};

// Registers the object types and views declared by `json_text` with
// `schema` (which may already hold types the file refers to). All or
// nothing: on error `*schema` is unchanged.
//
// Every error message starts with the place in the file as a JSON path,
// then says what is wrong, e.g.
//   views[2].fields.age: unknown kind 'Integer' for field User.age; ...
//   views[0].colums: unknown key; expected one of name, type, ...
// Returns InvalidArgument for malformed JSON (naming the byte offset, line
// and column), a wrong shape, an unknown key, or a declaration Schema
// rejects; AlreadyExists (with the path) when a type or view of the file is
// registered already, or a field is declared twice.
absl::Status LoadSchemaJson(absl::string_view json_text, Schema* schema,
                            const LoadSchemaOptions& options = {});

// Reads `path` and loads it as by LoadSchemaJson; every message then starts
// with `path: `. NotFound when the file does not exist, PermissionDenied
// when it cannot be read, InvalidArgument when it is larger than 16 MiB.
absl::Status LoadSchemaFile(const std::string& path, Schema* schema,
                            const LoadSchemaOptions& options = {});

}  // namespace fraiseql::where

#endif  // FRAISEQL_WHERE_SCHEMA_FILE_H_
