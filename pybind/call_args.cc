#include "pybind/call_args.h"

#include <cmath>

#include "pybind/errors.h"

namespace py = pybind11;

namespace fraiseql::pybind {

absl::Duration SecondsOrInfinite(double seconds) {
  return std::isinf(seconds) && seconds > 0 ? absl::InfiniteDuration()
                                            : absl::Seconds(seconds);
}

double ToPythonSeconds(absl::Duration duration) {
  return duration == absl::InfiniteDuration() ? HUGE_VAL
                                              : absl::ToDoubleSeconds(duration);
}

std::string JsonArgument(const py::object& value, const char* name,
                         const PythonJsonLimits& limits) {
  if (value.is_none()) return std::string();
  if (py::isinstance<py::str>(value)) {
    return ValueOrRaise(PythonJsonText(value, name, limits.max_bytes));
  }
  return ValueOrRaise(PythonToJson(value, name, limits));
}

absl::Duration TimeoutOrRaise(double seconds) {
  if (!(seconds > 0) || !(seconds <= kMaxTimeoutSeconds)) {
    Raise(absl::InvalidArgumentError(
        "invalid timeout: expected seconds > 0 and at most 2147483.647 (the "
        "server's statement_timeout maximum)"));
  }
  return absl::Seconds(seconds);
}

bool IsUtf8(const std::string& text) {
  PyObject* decoded = PyUnicode_DecodeUTF8(
      text.data(), static_cast<Py_ssize_t>(text.size()), "strict");
  if (decoded == nullptr) {
    PyErr_Clear();
    return false;
  }
  Py_DECREF(decoded);
  return true;
}

exec::RequestContext MakeContext(const py::object& context,
                                 std::optional<double> timeout) {
  exec::RequestContext request;
  if (timeout.has_value()) {
    const absl::Duration d = TimeoutOrRaise(*timeout);
    request.deadline = absl::Now() + d;
    // Whole milliseconds, rounded up: a statement_timeout of 0 would turn
    // the server's timeout off.
    request.statement_timeout = absl::Ceil(d, absl::Milliseconds(1));
  }
  if (context.is_none()) return request;
  if (!py::isinstance<py::dict>(context)) {
    throw py::type_error(
        "context must be a dict, e.g. {'tenant_id': ..., 'user_id': ..., "
        "'app.locale': ...}");
  }
  for (auto& [key, value] :
       ValueOrRaise(PythonContext(context, kContextLimits))) {
    if (key == "tenant_id") {
      request.tenant_id = std::move(value);
    } else if (key == "user_id") {
      request.user_id = std::move(value);
    } else if (key == "role") {
      request.role = std::move(value);
    } else {
      request.variables[key] = std::move(value);
    }
  }
  RaiseIfError(exec::ValidateRequestContext(request));
  return request;
}

}  // namespace fraiseql::pybind
