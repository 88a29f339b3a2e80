// where/ + planner/: the only places where names become SQL text. Identifiers
// are validated and double-quoted; JSON keys become escaped string literals.
// User values never pass through here: they are always bound parameters.
#ifndef FRAISEQL_WHERE_SQL_IDENTIFIER_H_
#define FRAISEQL_WHERE_SQL_IDENTIFIER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fraiseql::where {

// OK for a name PostgreSQL accepts as an identifier once quoted and that we
// allow: 1 to 63 bytes, no NUL, no double quote, no control characters.
absl::Status ValidateIdentifier(absl::string_view name);

// OK for `name` or `schema.name`, each part a valid identifier.
absl::Status ValidateQualifiedName(absl::string_view name);

// "name" with embedded double quotes doubled.
std::string QuoteIdentifier(absl::string_view name);

// "schema"."name" for a (possibly) qualified name.
std::string QuoteQualifiedName(absl::string_view name);

// 'text' with single quotes doubled, for JSON keys (standard_conforming_strings
// is pinned on by the pool, so backslashes need no escaping). `text` must not
// contain NUL (the schema registry rejects such keys).
std::string QuoteLiteral(absl::string_view text);

}  // namespace fraiseql::where

#endif  // FRAISEQL_WHERE_SQL_IDENTIFIER_H_
