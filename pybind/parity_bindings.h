// pybind/: the parity comparator's Python bindings (plugins/parity/).
#ifndef FRAISEQL_PYBIND_PARITY_BINDINGS_H_
#define FRAISEQL_PYBIND_PARITY_BINDINGS_H_

#include "pybind11/pybind11.h"

namespace fraiseql::pybind {

// Adds compare(), comparison_classifiers(), Comparison and Difference to `m`.
void DefineParity(pybind11::module_& m);

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_PARITY_BINDINGS_H_
