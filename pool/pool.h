// pool/: the first stage. Hands out PostgreSQL connections with a size limit
// and an acquire deadline, and discards any connection that comes back
// broken or dirty, so a failed request never poisons the next one.
//
// Threading: every public method is thread-safe. Acquire blocks the calling
// thread (never an event-loop thread) until a connection is free, a new one
// is opened, or the acquire timeout passes. Connections are opened on the
// calling thread, outside the pool's lock. A PooledConnection must be used
// by one thread at a time and returned (destroyed) by its holder.
#ifndef FRAISEQL_POOL_POOL_H_
#define FRAISEQL_POOL_POOL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pool/connection.h"

namespace fraiseql::pool {

struct PoolOptions {
  ConnectionOptions connection;
  int min_size = 0;  // opened at creation
  int max_size = 10;
  absl::Duration acquire_timeout = absl::Seconds(10);
};

struct PoolStats {
  int64_t size = 0;     // open connections (idle + in use)
  int64_t idle = 0;
  int64_t in_use = 0;
  int64_t waiting = 0;  // callers blocked in Acquire
  int64_t acquired_total = 0;
  int64_t timeouts = 0;
  int64_t errors = 0;   // failed connection attempts
  int64_t opened = 0;
  int64_t closed = 0;
};

class Pool;

// A connection on loan from the pool (move-only RAII). Returned on
// destruction: reused when it is clean, closed otherwise.
class PooledConnection {
 public:
  PooledConnection() = default;
  PooledConnection(PooledConnection&& other) noexcept;
  PooledConnection& operator=(PooledConnection&& other) noexcept;
  ~PooledConnection();

  Connection* get() const { return connection_.get(); }
  Connection* operator->() const { return connection_.get(); }

  // Closes the connection instead of reusing it (after a protocol error).
  void Discard() { discard_ = true; }

 private:
  friend class Pool;
  PooledConnection(std::shared_ptr<Pool> pool,
                   std::unique_ptr<Connection> connection)
      : pool_(std::move(pool)), connection_(std::move(connection)) {}
  void Release();

  std::shared_ptr<Pool> pool_;
  std::unique_ptr<Connection> connection_;
  bool discard_ = false;
};

class Pool : public std::enable_shared_from_this<Pool> {
 public:
  // Validates the options (InvalidArgument: max_size < 1, min_size outside
  // [0, max_size], a non-positive timeout, a malformed URL) and opens
  // `min_size` connections (Unavailable when the server cannot be reached).
  static absl::StatusOr<std::shared_ptr<Pool>> Create(PoolOptions options);

  // Takes an idle connection, or opens one while below max_size, or waits.
  // DeadlineExceeded after acquire_timeout (the message names the pool size
  // and the wait); Unavailable when a new connection cannot be opened.
  absl::StatusOr<PooledConnection> Acquire();

  PoolStats Stats() const;
  const PoolOptions& options() const { return options_; }

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

 private:
  friend class PooledConnection;
  explicit Pool(PoolOptions options) : options_(std::move(options)) {}
  void Return(std::unique_ptr<Connection> connection, bool discard);

  const PoolOptions options_;
  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  int64_t size_ ABSL_GUARDED_BY(mu_) = 0;     // open + being opened
  int64_t in_use_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t waiting_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t acquired_total_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t timeouts_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t opened_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t closed_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fraiseql::pool

#endif  // FRAISEQL_POOL_POOL_H_
