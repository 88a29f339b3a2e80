#include "plugins/backends/native/native_backend.h"

#include <algorithm>


namespace fraiseql::plugins {

NativeBackend::NativeBackend(std::shared_ptr<pool::Pool> pool,
                             NativeBackendOptions options)
    : pool_(std::move(pool)) {
  options_.chunk_rows = options.chunk_rows;
  options_.session_statement_timeout =
      pool_->options().connection.statement_timeout;
  // A cache of size 0 would prepare every call and never deallocate.
  if (options.prepared_statements && !options.pgbouncer &&
      options.prepared_statements_per_connection > 0) {
    statements_ = std::make_unique<stream::StatementCache>(
        options.prepared_statements_per_connection);
    options_.statements = statements_.get();
  }
}

absl::Status NativeBackend::Execute(const planner::Plan& plan,
                                    const stream::RequestContext& context,
                                    stream::RowSink* sink) {
  // The wait for a connection counts against the call's deadline too, and
  // never exceeds the pool's own acquire_timeout.
  absl::Time acquire_deadline =
      std::min(context.deadline,
               absl::Now() + pool_->options().acquire_timeout);
  absl::StatusOr<pool::PooledConnection> connection =
      pool_->Acquire(acquire_deadline);
  if (!connection.ok()) return connection.status();
  absl::StatusOr<stream::StreamResult> result = stream::StreamQuery(
      (*connection)->raw(), plan, options_, context, sink);
  if (!(*connection)->IsReusable()) {
    if (statements_ != nullptr) statements_->Forget((*connection)->raw());
    connection->Discard();
  }
  return result.status();
}

}  // namespace fraiseql::plugins
