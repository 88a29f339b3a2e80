// pybind/: the repository classes of the module (see repository_bindings.cc).
#ifndef FRAISEQL_PYBIND_REPOSITORY_BINDINGS_H_
#define FRAISEQL_PYBIND_REPOSITORY_BINDINGS_H_

#include "pybind11/pybind11.h"

namespace fraiseql::pybind {

void DefineRepository(pybind11::module_& m);

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_REPOSITORY_BINDINGS_H_
