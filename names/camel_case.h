// Part of the response stage, shared with the schema side: the one camelCase
// function. Schema field names and response keys are both derived with it,
// so a key emitted by the projector always matches the name in the schema.
#ifndef FRAISEQL_NAMES_CAMEL_CASE_H_
#define FRAISEQL_NAMES_CAMEL_CASE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace fraiseql::names {

// Converts a snake_case name to camelCase: splits on '_', keeps the leading
// underscores, drops the other underscores, upper-cases the first character
// of every piece after the first and leaves everything else unchanged:
//
//   user_name -> userName        _private -> _private
//   address_line_1 -> addressLine1   user__name -> userName
//   user_name_ -> userName       USER_ID -> USERID
//   user_émail -> userÉmail      userName -> userName
//
// `name` is UTF-8. Upper-casing uses a fixed table of Unicode 14.0's simple
// upper-case mappings (every script), never the process locale; characters
// without a one-character upper case (ß, digits, CJK) stay as they are, and
// bytes that are not valid UTF-8 are copied unchanged. The result is never
// longer than `name`. Pure function; thread-safe.
std::string CamelCase(absl::string_view name);

}  // namespace fraiseql::names

#endif  // FRAISEQL_NAMES_CAMEL_CASE_H_
