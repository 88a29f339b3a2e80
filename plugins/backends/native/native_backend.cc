#include "plugins/backends/native/native_backend.h"


namespace fraiseql::plugins {

NativeBackend::NativeBackend(std::shared_ptr<pool::Pool> pool,
                             NativeBackendOptions options)
    : pool_(std::move(pool)) {
  options_.chunk_rows = options.chunk_rows;
  if (options.prepared_statements && !options.pgbouncer) {
    statements_ = std::make_unique<stream::StatementCache>(
        options.prepared_statements_per_connection);
    options_.statements = statements_.get();
  }
}

absl::Status NativeBackend::Execute(const planner::Plan& plan,
                                    const stream::RequestContext& context,
                                    stream::RowSink* sink) {
  // The pool has no per-call deadline yet: its own acquire_timeout bounds
  // the wait, and a deadline that passed meanwhile is reported here.
  absl::StatusOr<pool::PooledConnection> connection = pool_->Acquire();
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
