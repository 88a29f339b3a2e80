// pybind/: the module's operator registry: built-ins and linked C++ plugins,
// plus operators registered from Python at start-up. Repositories take a
// snapshot when they are created.
#ifndef FRAISEQL_PYBIND_OPERATOR_BINDINGS_H_
#define FRAISEQL_PYBIND_OPERATOR_BINDINGS_H_

#include <memory>

#include "pybind11/pybind11.h"
#include "where/operator.h"

namespace fraiseql::pybind {

// The registry as it is now (later registrations do not affect it).
std::shared_ptr<const where::OperatorRegistry> OperatorRegistrySnapshot();

// Defines fraiseql_native.operators() and register_operator(...).
void DefineOperatorBindings(pybind11::module_& m);

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_OPERATOR_BINDINGS_H_
