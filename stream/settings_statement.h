// stream/: the one statement that applies a request's settings on the
// server: its effective statement_timeout, its variables and its role, each
// with set_config(name, value, true) (SET LOCAL), so that they hold for the
// request's transaction and end with it. StreamBatch sends it after BEGIN
// (chunked_query.h); stream/testdata/settings.golden holds its cases.
#ifndef FRAISEQL_STREAM_SETTINGS_STATEMENT_H_
#define FRAISEQL_STREAM_SETTINGS_STATEMENT_H_

#include <optional>

#include "absl/time/time.h"
#include "exec/plan.h"
#include "exec/request_context.h"

namespace fraiseql::stream {

// The settings of `context` with `statement_timeout` (the effective one,
// see StreamOptions; zero or less: none) as one statement:
//
//   SELECT set_config($1::text, $2::text, true), ...       name, value
//          set_config('role', $n::text, true)              the role, last
//
// in this order: statement_timeout (whole milliseconds rounded up, clamped
// to 1..2147483647, e.g. "1500ms"), app.tenant_id, app.user_id, the
// variables by name, the role (SET LOCAL ROLE, so the variables are set
// whatever the role may do). Every name and value is a bound text
// parameter. nullopt when there is nothing to set. `context` must have
// passed exec::ValidateRequestContext.
std::optional<exec::Plan> SettingsStatement(const exec::RequestContext& context,
                                            absl::Duration statement_timeout);

}  // namespace fraiseql::stream

#endif  // FRAISEQL_STREAM_SETTINGS_STATEMENT_H_
