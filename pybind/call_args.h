// pybind/: the arguments every call shares: timeouts, the request context
// and JSON arguments, converted and checked in one place.
#ifndef FRAISEQL_PYBIND_CALL_ARGS_H_
#define FRAISEQL_PYBIND_CALL_ARGS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "exec/request_context.h"
#include "pybind/python_json.h"
#include "pybind11/pybind11.h"

namespace fraiseql::pybind {

// The largest statement_timeout the server takes: INT_MAX milliseconds
// (about 24.8 days). Timeouts are checked against it so that they never
// reach the server out of range.
inline constexpr double kMaxTimeoutSeconds = 2147483.647;

// Seconds from Python; float('inf') means "never" (InfiniteDuration).
absl::Duration SecondsOrInfinite(double seconds);
// The other way, for defaults taken from the C++ options.
double ToPythonSeconds(absl::Duration duration);

// A JSON argument (where, order_by, input): None is "", a str is JSON text
// (bounded in bytes here, parsed by the planner), anything else is
// converted within `limits`. Over a limit, or a value without a JSON form:
// InvalidInputError naming the argument's path and the limit.
std::string JsonArgument(const pybind11::object& value, const char* name,
                         const PythonJsonLimits& limits);

// A call's `timeout=` (also Transaction.commit/rollback): finite, > 0 and
// at most kMaxTimeoutSeconds, else InvalidInputError.
absl::Duration TimeoutOrRaise(double seconds);

// Whether `text` is valid UTF-8 (for names that pybind may have taken from
// bytes).
bool IsUtf8(const std::string& text);

// The request context of one call: `context` maps "tenant_id", "user_id",
// "role" and setting names ("app.<name>", ...) to str, int, bool, Decimal
// or UUID values (see PythonContext for the limits); `timeout` (seconds) is
// both the client deadline and the server's statement_timeout.
exec::RequestContext MakeContext(const pybind11::object& context,
                                 std::optional<double> timeout);

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_CALL_ARGS_H_
