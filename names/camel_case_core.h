// Part of the response stage: the allocation-free core of CamelCase, used by
// the projector to rename keys while it writes them.
#ifndef FRAISEQL_NAMES_CAMEL_CASE_CORE_H_
#define FRAISEQL_NAMES_CAMEL_CASE_CORE_H_

#include "absl/strings/string_view.h"

namespace fraiseql::names::internal {

// Writes CamelCase(name) to `dest` and returns the end of what was written.
// `dest` needs room for name.size() bytes: every piece whose first character
// may grow when upper-cased (by at most one byte) follows a dropped '_'.
char* WriteCamelCase(absl::string_view name, char* dest);

}  // namespace fraiseql::names::internal

#endif  // FRAISEQL_NAMES_CAMEL_CASE_CORE_H_
