#include "pybind/parity_bindings.h"

namespace fraiseql::pybind {

void DefineParity(pybind11::module_& m) {}

}  // namespace fraiseql::pybind
