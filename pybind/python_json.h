// pybind/: the one conversion of caller-supplied Python values at the module
// boundary. Filter, ordering and mutation input (dicts, lists, str, int,
// float, bool, None, Decimal, UUID, date/datetime/time) become the JSON text
// the planner reads, keeping integers and Decimals exact; request context
// values become the text the server's set_config receives. Every input is
// bounded (depth, element count, bytes) before it is walked deeper, cycles
// are detected, and every error is an InvalidArgument status naming the
// argument, the input path and the limit, never a value.
#ifndef FRAISEQL_PYBIND_PYTHON_JSON_H_
#define FRAISEQL_PYBIND_PYTHON_JSON_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pybind11/pybind11.h"

namespace fraiseql::pybind {

// Bounds of one conversion to JSON. The walk stops at the first limit
// passed: memory and time stay linear in the limits, whatever the input.
struct PythonJsonLimits {
  // Containers (dict, list, tuple) nested inside each other.
  int max_depth = 64;
  // Values in total (containers, their items, scalars); a container's length
  // is checked before any of its items is read.
  size_t max_elements = 10000;
  // Bytes of the JSON produced (also of a str given as JSON text).
  size_t max_bytes = 64 * 1024;
};

// `where` and `order_by` of a query (the filter's own text limit is 64 KiB:
// where::FilterLimits::max_input_bytes).
inline constexpr PythonJsonLimits kQueryArgumentLimits{64, 10000, 64 * 1024};
// A mutation's `input`.
inline constexpr PythonJsonLimits kMutationInputLimits{64, 100000, 1 << 20};

// Bounds of a request context.
struct PythonContextLimits {
  size_t max_keys = 64;
  size_t max_key_bytes = 128;
  size_t max_value_bytes = 4096;
};
inline constexpr PythonContextLimits kContextLimits{};

// Resolves the Python types the conversion recognises. Call once, from the
// module's init, under the GIL, before any other function here.
void InitPythonJson();

// The JSON text of `value`. `name` is the argument ("where"), which is also
// the root of the input path. InvalidArgument
// "invalid <name> at <path>: <what>" for a value without a JSON form (a
// set, NaN or infinity, a non-str key, a str with a lone surrogate, an int
// of more than 4096 bits), a dict or list that contains itself, or a limit
// passed ("nesting deeper than 64 levels", "more than N values
// (max_elements)", "larger than N bytes (max_bytes)"). The path is cut
// with "..." past about 160 bytes. Needs the GIL; Python exceptions raised
// by the value's own methods (a failing __str__ of a UUID subclass)
// propagate as pybind11::error_already_set.
absl::StatusOr<std::string> PythonToJson(pybind11::handle value,
                                         absl::string_view name,
                                         const PythonJsonLimits& limits);

// The UTF-8 of a str given as JSON text, at most `max_bytes` long;
// InvalidArgument "invalid <name>: ..." otherwise (or for a lone
// surrogate).
absl::StatusOr<std::string> PythonJsonText(pybind11::handle text,
                                           absl::string_view name,
                                           size_t max_bytes);

// The UTF-8 of a str; InvalidArgument "invalid <path>: a str that is not
// valid Unicode (a lone surrogate)" or "...: larger than N bytes".
absl::StatusOr<std::string> PythonStrUtf8(pybind11::handle text,
                                          absl::string_view path,
                                          size_t max_bytes);

// The (key, value text) pairs of a context dict, in its order. Keys are
// str; values str, int, bool, Decimal (finite) or UUID, as text (what str()
// gives; ints in decimal digits). InvalidArgument "invalid context: ..."
// for too many keys or a bad key (not str, a lone surrogate, too long, a
// control character), "invalid context at context.<key>: ..." for a value
// of another type, one too long or one containing a NUL byte (libpq would
// cut the value there). Key names themselves are checked later
// (exec::ValidateRequestContext). `context` must be a dict.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
PythonContext(pybind11::handle context, const PythonContextLimits& limits);

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_PYTHON_JSON_H_
