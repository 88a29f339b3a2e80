// Shared by every stage: early-return helpers for absl::Status and
// absl::StatusOr<T>. Abseil 20220623 (Debian 12) ships no status macros.
#ifndef FRAISEQL_BASE_STATUS_MACROS_H_
#define FRAISEQL_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FQL_STATUS_CONCAT_INNER_(a, b) a##b
#define FQL_STATUS_CONCAT_(a, b) FQL_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status fql_status_ = (expr);             \
    if (!fql_status_.ok()) return fql_status_;       \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, MakeX());` evaluates an absl::StatusOr<T>,
// returns its status when it is not OK, otherwise moves the value into `lhs`.
#define ASSIGN_OR_RETURN(lhs, expr)                                         \
  FQL_ASSIGN_OR_RETURN_IMPL_(FQL_STATUS_CONCAT_(fql_statusor_, __LINE__),   \
                             lhs, expr)

#define FQL_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // FRAISEQL_BASE_STATUS_MACROS_H_
