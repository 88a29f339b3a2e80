// pybind/: backends by name from Python. register_backend() adds a Python
// backend (an object with execute/begin, see the README's "Writing a
// backend plugin") to the module's registry, next to the C++ ones
// (`native`); Repository(..., backend=NAME) makes its backend from there.
#ifndef FRAISEQL_PYBIND_BACKEND_BINDINGS_H_
#define FRAISEQL_PYBIND_BACKEND_BINDINGS_H_

#include "plugins/backend_registry.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"

namespace fraiseql::pybind {

// The module's registry: the C++ built-ins (plugins/backends/) on first
// use, then whatever Python registers. Thread-safe.
plugins::BackendRegistry& ModuleBackendRegistry();

// Adds register_backend(), backends() and backend_known_differences().
void DefineBackendBindings(pybind11::module_& m);

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_BACKEND_BINDINGS_H_
