// Part of the response stage: the allocation-free core of CamelCase, used by
// the projector to rename keys while it writes them.
#ifndef FRAISEQL_RESPONSE_INTERNAL_CAMEL_CASE_CORE_H_
#define FRAISEQL_RESPONSE_INTERNAL_CAMEL_CASE_CORE_H_

#include "absl/strings/string_view.h"

namespace fraiseql::response::internal {

// Writes CamelCase(name) to `dest` and returns the end of what was written.
// `dest` needs room for name.size() bytes: every piece whose first character
// may grow when upper-cased (by at most one byte) follows a dropped '_'.
char* WriteCamelCase(absl::string_view name, char* dest);

}  // namespace fraiseql::response::internal

#endif  // FRAISEQL_RESPONSE_INTERNAL_CAMEL_CASE_CORE_H_
