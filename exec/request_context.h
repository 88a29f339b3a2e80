// exec/: what a caller asks of one request beyond its statements: the
// tenant, user and other setting variables the statements may read (for
// example in row-level security policies), the role they run as, a
// server-side statement_timeout, a client deadline and a cancel flag.
// StreamQuery applies it to every statement it runs (see chunked_query.h and
// settings_statement.h for the SQL).
#ifndef FRAISEQL_EXEC_REQUEST_CONTEXT_H_
#define FRAISEQL_EXEC_REQUEST_CONTEXT_H_

#include <atomic>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "exec/call_stats.h"

namespace fraiseql::exec {

// Payload key (value "query") on the DeadlineExceeded statuses of a query's
// own deadline or statement_timeout, so that they can be told apart from the
// pool's acquire timeout, which has the same code.
inline constexpr absl::string_view kQueryTimeoutPayloadUrl =
    "fraiseql.dev/query-timeout";

struct RequestContext {
  // Set as app.tenant_id and app.user_id when present.
  std::optional<std::string> tenant_id;
  std::optional<std::string> user_id;
  // Further variables, by full name: "app.<name>", "fraiseql.<name>" or
  // "jwt.claims.<name>", where <name> is one or more dot-separated parts
  // each matching [a-z_][a-z0-9_]* (IsValidVariableName;
  // ValidateRequestContext checks). Set with set_config(name, value, true),
  // i.e. SET LOCAL: visible to the request's statements through
  // current_setting(name, true), gone when its transaction ends. Values are
  // bound as parameters, never spliced into SQL text.
  std::map<std::string, std::string> variables;
  // The role the request's statements run as: SET LOCAL ROLE, sent as
  // set_config('role', <role>, true) with the name bound, after the
  // variables; the session's own role is back when the request's
  // transaction ends. Any name of 1..63 bytes without a NUL byte
  // (ValidateRequestContext); the server checks that it exists
  // (InvalidArgument, SQLSTATE 22023) and that the session's user may take
  // it (PermissionDenied, SQLSTATE 42501).
  std::optional<std::string> role;
  // Server-side statement_timeout for the request's statements (set with
  // set_config(..., true), i.e. SET LOCAL); zero or less: the stream's
  // default (StreamOptions::default_statement_timeout and the pool's).
  // Clamped to 1..2147483647 ms; infinite is 2147483647 ms.
  absl::Duration statement_timeout = absl::ZeroDuration();
  // Client-side deadline: past it the running statement is cancelled on the
  // server and the call returns DeadlineExceeded.
  absl::Time deadline = absl::InfiniteFuture();
  // When non-null and set to true (from any thread), the running statement is
  // cancelled on the server and the call returns Cancelled. Checked at least
  // every 50 ms while waiting for the server. Must outlive the call.
  const std::atomic<bool>* cancelled = nullptr;
  // When non-null, the call records what it cost here (see CallStats for
  // who fills what). Must outlive the call; one call at a time.
  CallStats* stats = nullptr;

  // Whether the context sets anything on the server for its statements:
  // a variable (tenant_id, user_id, variables) or a role. A statement inside
  // a transaction may not: the transaction's settings were fixed when it
  // began.
  bool HasSettings() const {
    return tenant_id.has_value() || user_id.has_value() || !variables.empty() ||
           role.has_value();
  }

  // Whether the statements need a transaction of their own: any setting
  // (HasSettings) or a statement_timeout. The deadline and the cancel flag
  // need none.
  bool NeedsTransaction() const {
    return HasSettings() || statement_timeout > absl::ZeroDuration();
  }
};

// The longest role name the server keeps (NAMEDATALEN - 1 bytes).
inline constexpr size_t kMaxRoleNameBytes = 63;

// InvalidArgument naming the first variable whose name IsValidVariableName
// refuses (the message says which names are allowed; "role" is pointed to
// the role field), that repeats app.tenant_id / app.user_id when those are
// also given as fields, or whose name or value contains a NUL byte (libpq
// would cut the text there: "acme\0evil" would be set as 'acme'); or for a
// role that is empty, longer than kMaxRoleNameBytes or holds a NUL byte.
// Values and the role are never quoted in the message.
absl::Status ValidateRequestContext(const RequestContext& context);

// Whether two requests' statements may share one transaction: the same
// tenant, user, variables, role and statement_timeout (their deadlines,
// cancel flags and stats may differ).
bool SameSettings(const RequestContext& a, const RequestContext& b);

// Whether `name` is a valid variable name: "app.", "fraiseql." or
// "jwt.claims.", then one or more dot-separated parts, each matching
// [a-z_][a-z0-9_]*.
bool IsValidVariableName(absl::string_view name);

}  // namespace fraiseql::exec

#endif  // FRAISEQL_EXEC_REQUEST_CONTEXT_H_
