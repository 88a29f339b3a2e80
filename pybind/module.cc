// pybind/: the `fraiseql_native` Python module. Declarations only: the work
// happens in the C++ stages; absl::Status becomes a Python exception in one
// place (errors.h). Each concept has its binding file: pool_bindings,
// schema_bindings, repository_bindings (with the asynchronous classes of
// async_bindings), operator_bindings, backend_bindings, parity_bindings.
#include <string>

#include "absl/strings/str_cat.h"
#include "names/camel_case.h"
#include "pybind/async_bindings.h"
#include "pybind/backend_bindings.h"
#include "pybind/errors.h"
#include "pybind/operator_bindings.h"
#include "pybind/parity_bindings.h"
#include "pybind/pool_bindings.h"
#include "pybind/python_json.h"
#include "pybind/repository_bindings.h"
#include "pybind/schema_bindings.h"
#include "pybind11/pybind11.h"

namespace py = pybind11;

namespace fraiseql::pybind {
namespace {

PyObject* NewException(py::module_& m, const char* name, PyObject* bases,
                       const char* doc) {
  std::string qualified = absl::StrCat("fraiseql_native.", name);
  PyObject* type =
      PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));
  return type;
}

}  // namespace
}  // namespace fraiseql::pybind

PYBIND11_MODULE(_native, m) {
  using namespace fraiseql::pybind;  // NOLINT
  m.doc() =
      "fraiseql-native: GraphQL queries over PostgreSQL JSONB views, from the "
      "query definition to response bytes in C++.";

  ModuleExceptions().error = NewException(
      m, "Error", PyExc_Exception,
      "Base class of every error raised by fraiseql_native. Attributes: "
      "code (the status code name), sqlstate (the server's SQLSTATE or None).");
  ModuleExceptions().invalid_input = NewException(
      m, "InvalidInputError",
      py::make_tuple(py::handle(ModuleExceptions().error),
                     py::handle(PyExc_ValueError))
          .release()
          .ptr(),
      "The query was rejected before any SQL was sent: unknown view or field, "
      "a value of the wrong kind, a malformed selection or filter.");
  ModuleExceptions().unavailable = NewException(
      m, "DatabaseUnavailableError",
      py::make_tuple(py::handle(ModuleExceptions().error),
                     py::handle(PyExc_ConnectionError))
          .release()
          .ptr(),
      "The database could not be reached or the connection was lost.");
  ModuleExceptions().timeout = NewException(
      m, "PoolTimeoutError",
      py::make_tuple(py::handle(ModuleExceptions().error),
                     py::handle(PyExc_TimeoutError))
          .release()
          .ptr(),
      "No connection became free before the pool's acquire timeout.");
  ModuleExceptions().exhausted = NewException(
      m, "PoolExhaustedError", ModuleExceptions().error,
      "The pool's wait queue is full (max_waiters): the call was refused at "
      "once instead of waiting.");
  ModuleExceptions().query_timeout = NewException(
      m, "QueryTimeoutError",
      py::make_tuple(py::handle(ModuleExceptions().error),
                     py::handle(PyExc_TimeoutError))
          .release()
          .ptr(),
      "A query ran past its `timeout`: the client deadline passed (the "
      "statement was cancelled on the server) or the server's "
      "statement_timeout fired. The connection was cleaned up or discarded; "
      "the pool stays usable.");
  ModuleExceptions().cancelled = NewException(
      m, "QueryCancelledError", ModuleExceptions().error,
      "The statement was cancelled on the server (by its caller, or by "
      "pg_cancel_backend): SQLSTATE 57014 without a timeout.");
  ModuleExceptions().database =
      NewException(m, "DatabaseError", ModuleExceptions().error,
                   "The server rejected the statement (see .sqlstate).");
  ModuleExceptions().too_large = NewException(
      m, "ResponseTooLargeError", ModuleExceptions().error,
      "The response body passed the repository's max_response_bytes: the "
      "query was cancelled on the server and nothing was returned. (A "
      "find_stream/execute_stream that already yielded pieces ends instead "
      "with valid JSON naming the cap in its \"errors\".)");
  ModuleExceptions().transaction = NewException(
      m, "TransactionError", ModuleExceptions().error,
      "A transaction was used after an earlier error aborted it (roll it "
      "back), or after it ended.");

  DefinePool(m);
  DefineSchema(m);
  DefineAsyncTypes(m);
  DefineRepository(m);
  InitPythonJson();
  DefineOperatorBindings(m);
  DefineParity(m);
  DefineBackendBindings(m);

  m.def(
      "camel_case",
      [](const std::string& name) { return fraiseql::names::CamelCase(name); },
      py::arg("name"), "The camelCase rule used for every GraphQL name.");
}
