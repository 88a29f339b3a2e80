// pybind/: absl::Status to Python exceptions, in one place. The module's
// exception classes are created at import (module.cc) and kept here; every
// binding file raises through Raise, so a status code means the same class
// everywhere.
#ifndef FRAISEQL_PYBIND_ERRORS_H_
#define FRAISEQL_PYBIND_ERRORS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pybind11/pybind11.h"

namespace fraiseql::pybind {

struct Exceptions {
  PyObject* error = nullptr;          // fraiseql_native.Error
  PyObject* invalid_input = nullptr;  // InvalidInputError(Error, ValueError)
  PyObject* unavailable =
      nullptr;  // DatabaseUnavailableError(Error, ConnectionError)
  PyObject* timeout = nullptr;        // PoolTimeoutError(Error, TimeoutError)
  PyObject* exhausted = nullptr;      // PoolExhaustedError(Error)
  PyObject* query_timeout = nullptr;  // QueryTimeoutError(Error, TimeoutError)
  PyObject* cancelled = nullptr;      // QueryCancelledError(Error)
  PyObject* database = nullptr;       // DatabaseError(Error)
  PyObject* too_large = nullptr;      // ResponseTooLargeError(Error)
  PyObject* transaction = nullptr;    // TransactionError(Error)
};

// The module's classes (null before the module is initialized).
Exceptions& ModuleExceptions();

// Raises the Python exception for `status` (not OK): InvalidArgument,
// NotFound, AlreadyExists and OutOfRange are InvalidInputError (a server's
// error with a SQLSTATE stays DatabaseError), Unavailable
// DatabaseUnavailableError, DeadlineExceeded QueryTimeoutError (with the
// query-timeout payload) or PoolTimeoutError, Cancelled QueryCancelledError,
// ResourceExhausted ResponseTooLargeError or PoolExhaustedError,
// FailedPrecondition TransactionError, anything else DatabaseError. The
// exception carries `code` (the status code's name) and `sqlstate`.
[[noreturn]] void Raise(const absl::Status& status);

void RaiseIfError(const absl::Status& status);

template <typename T>
T ValueOrRaise(absl::StatusOr<T> value) {
  if (!value.ok()) Raise(value.status());
  return *std::move(value);
}

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_ERRORS_H_
