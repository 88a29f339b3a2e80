// plugins/: the executor stage's interface. A backend runs a planned
// statement and streams its rows to a sink. Two implementations are meant to
// exist side by side: `backend.native` (libpq, in this process) and
// `backend.legacy_psycopg` (the Python path being replaced, for parity runs).
#ifndef FRAISEQL_PLUGINS_BACKEND_H_
#define FRAISEQL_PLUGINS_BACKEND_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "planner/planner.h"
#include "stream/request_context.h"
#include "stream/row_sink.h"

namespace fraiseql::plugins {

class Backend {
 public:
  virtual ~Backend() = default;

  // Dotted registry key, e.g. "backend.native".
  virtual absl::string_view name() const = 0;

  // Runs `plan` under `context` (its variables visible to the statement
  // and to no other, its statement_timeout, deadline and cancel flag; see
  // stream/request_context.h) and hands every row to `sink`, in order.
  // Errors as in stream::StreamQuery, plus the pool's (DeadlineExceeded
  // without kQueryTimeoutPayloadUrl when no connection is free in time,
  // Unavailable when none can be opened).
  // Thread-safe: concurrent calls use separate connections.
  virtual absl::Status Execute(const planner::Plan& plan,
                               const stream::RequestContext& context,
                               stream::RowSink* sink) = 0;

  // Without context.
  absl::Status Execute(const planner::Plan& plan, stream::RowSink* sink) {
    return Execute(plan, stream::RequestContext(), sink);
  }
};

}  // namespace fraiseql::plugins

#endif  // FRAISEQL_PLUGINS_BACKEND_H_
