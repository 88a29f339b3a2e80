#include "pybind/errors.h"

#include <optional>
#include <string>

#include "base/pg_status.h"
#include "exec/request_context.h"
#include "repository/repository.h"

namespace py = pybind11;

namespace fraiseql::pybind {

Exceptions& ModuleExceptions() {
  static Exceptions exceptions;
  return exceptions;
}

[[noreturn]] void Raise(const absl::Status& status) {
  PyObject* type = ModuleExceptions().database;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
      type = SqlStateOf(status).has_value() ? ModuleExceptions().database
                                            : ModuleExceptions().invalid_input;
      break;
    case absl::StatusCode::kUnavailable:
      type = ModuleExceptions().unavailable;
      break;
    case absl::StatusCode::kDeadlineExceeded:
      // The pool's acquire timeout and a query's own deadline share the
      // code; the query's carries a payload.
      type = status.GetPayload(exec::kQueryTimeoutPayloadUrl).has_value()
                 ? ModuleExceptions().query_timeout
                 : ModuleExceptions().timeout;
      break;
    case absl::StatusCode::kCancelled:
      type = ModuleExceptions().cancelled;
      break;
    case absl::StatusCode::kResourceExhausted:
      // The pool's wait queue is full, or the body passed its cap; a server
      // 53xxx keeps DatabaseError.
      type = SqlStateOf(status).has_value() ? ModuleExceptions().database
             : status.GetPayload(kResponseTooLargePayloadUrl).has_value()
                 ? ModuleExceptions().too_large
                 : ModuleExceptions().exhausted;
      break;
    case absl::StatusCode::kFailedPrecondition:
      // A transaction used after it was aborted or ended; a server 23xxx
      // keeps DatabaseError.
      type = SqlStateOf(status).has_value() ? ModuleExceptions().database
                                            : ModuleExceptions().transaction;
      break;
    default:
      break;
  }
  // Messages may name input (a view, a field) given as bytes that are not
  // UTF-8: never fail on them while raising.
  py::object message = py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(
      status.message().data(), static_cast<Py_ssize_t>(status.message().size()),
      "replace"));
  if (!message) throw py::error_already_set();
  py::object exc = py::reinterpret_borrow<py::object>(type)(message);
  exc.attr("code") = std::string(absl::StatusCodeToString(status.code()));
  std::optional<std::string> sqlstate = SqlStateOf(status);
  exc.attr("sqlstate") =
      sqlstate.has_value() ? py::cast(*sqlstate) : py::none();
  PyErr_SetObject(type, exc.ptr());
  throw py::error_already_set();
}

void RaiseIfError(const absl::Status& status) {
  if (!status.ok()) Raise(status);
}

}  // namespace fraiseql::pybind
