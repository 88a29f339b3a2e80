// pybind/: converts Python filter and ordering input (dicts, lists, str, int,
// float, bool, None, Decimal, UUID, date/datetime) into the JSON text the
// planner reads, keeping integers and Decimals exact.
#ifndef FRAISEQL_PYBIND_PYTHON_JSON_H_
#define FRAISEQL_PYBIND_PYTHON_JSON_H_

#include <string>

#include "pybind11/pybind11.h"

namespace fraiseql::pybind {

// Resolves the Python types the conversion recognises. Call once, from the
// module's init, before AppendPythonJson.
void InitPythonJson();

// Appends the JSON of `value` to `out`. Throws pybind11::type_error naming
// the path (`where.age.gt`) for values that have no JSON form (NaN, a set,
// a non-string dict key, ...). `str` input at the top level is taken as JSON
// text by the caller, not here.
void AppendPythonJson(pybind11::handle value, const std::string& path,
                      std::string* out);

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_PYTHON_JSON_H_
