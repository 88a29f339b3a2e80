// plugins/backends/native: the `backend.native` executor. Borrows a
// connection from the pool and streams the statement's rows with libpq
// single-row mode, in chunks.
#ifndef FRAISEQL_PLUGINS_BACKENDS_NATIVE_NATIVE_BACKEND_H_
#define FRAISEQL_PLUGINS_BACKENDS_NATIVE_NATIVE_BACKEND_H_

#include <memory>

#include "plugins/backend.h"
#include "pool/pool.h"
#include "stream/chunked_query.h"

namespace fraiseql::plugins {

// Thread-safe; each Execute borrows its own connection. A connection that
// comes back broken or mid-transaction is closed by the pool, so a failed
// call leaves the pool healthy.
class NativeBackend : public Backend {
 public:
  NativeBackend(std::shared_ptr<pool::Pool> pool,
                stream::StreamOptions options = {})
      : pool_(std::move(pool)), options_(options) {}

  absl::string_view name() const override { return "backend.native"; }
  absl::Status Execute(const planner::Plan& plan,
                       stream::RowSink* sink) override;

 private:
  std::shared_ptr<pool::Pool> pool_;
  stream::StreamOptions options_;
};

}  // namespace fraiseql::plugins

#endif  // FRAISEQL_PLUGINS_BACKENDS_NATIVE_NATIVE_BACKEND_H_
