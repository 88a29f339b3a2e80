// plugins/backends/: the C++ backends built into the module.
#ifndef FRAISEQL_PLUGINS_BACKENDS_BUILTIN_BACKENDS_H_
#define FRAISEQL_PLUGINS_BACKENDS_BUILTIN_BACKENDS_H_

#include "absl/status/status.h"
#include "plugins/backend_registry.h"

namespace fraiseql::plugins {

// Registers every C++ backend linked in (`native`). Errors: the registry's
// (AlreadyExists when called twice on one registry).
absl::Status RegisterBuiltinBackends(BackendRegistry* registry);

}  // namespace fraiseql::plugins

#endif  // FRAISEQL_PLUGINS_BACKENDS_BUILTIN_BACKENDS_H_
