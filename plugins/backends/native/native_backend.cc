#include "plugins/backends/native/native_backend.h"

namespace fraiseql::plugins {

absl::Status NativeBackend::Execute(const planner::Plan& plan,
                                    stream::RowSink* sink) {
  absl::StatusOr<pool::PooledConnection> connection = pool_->Acquire();
  if (!connection.ok()) return connection.status();
  absl::StatusOr<stream::StreamResult> result =
      stream::StreamQuery((*connection)->raw(), plan, options_, sink);
  return result.status();
}

}  // namespace fraiseql::plugins
