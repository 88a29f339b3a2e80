#include "pool/pool.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fraiseql::pool {

PooledConnection::PooledConnection(PooledConnection&& other) noexcept
    : pool_(std::move(other.pool_)),
      connection_(std::move(other.connection_)),
      discard_(other.discard_) {}

PooledConnection& PooledConnection::operator=(
    PooledConnection&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::move(other.pool_);
    connection_ = std::move(other.connection_);
    discard_ = other.discard_;
  }
  return *this;
}

PooledConnection::~PooledConnection() { Release(); }

void PooledConnection::Release() {
  if (pool_ != nullptr && connection_ != nullptr) {
    pool_->Return(std::move(connection_), discard_);
  }
  pool_.reset();
  connection_.reset();
  discard_ = false;
}

absl::StatusOr<std::shared_ptr<Pool>> Pool::Create(PoolOptions options) {
  if (options.max_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid pool option max_size=", options.max_size,
        ": expected at least 1"));
  }
  if (options.min_size < 0 || options.min_size > options.max_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid pool option min_size=", options.min_size,
                     ": expected 0 to max_size (", options.max_size, ")"));
  }
  if (options.acquire_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid pool option acquire_timeout=",
        absl::FormatDuration(options.acquire_timeout), ": expected > 0"));
  }
  if (options.connection.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid pool option connect_timeout=",
        absl::FormatDuration(options.connection.connect_timeout),
        ": expected > 0"));
  }
  if (absl::Status valid = ValidateConninfo(options.connection.conninfo);
      !valid.ok()) {
    return valid;
  }
  std::shared_ptr<Pool> pool(new Pool(std::move(options)));
  for (int i = 0; i < pool->options_.min_size; ++i) {
    absl::StatusOr<std::unique_ptr<Connection>> connection =
        Connection::Open(pool->options_.connection);
    if (!connection.ok()) return connection.status();
    absl::MutexLock lock(&pool->mu_);
    pool->idle_.push_back(*std::move(connection));
    ++pool->size_;
    ++pool->opened_;
  }
  return pool;
}

absl::StatusOr<PooledConnection> Pool::Acquire() {
  absl::Time deadline = absl::Now() + options_.acquire_timeout;
  absl::MutexLock lock(&mu_);
  ++waiting_;
  while (true) {
    // Wait until a connection is idle or there is room to open one.
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || size_ < options_.max_size;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
      --waiting_;
      ++timeouts_;
      return absl::DeadlineExceededError(absl::StrFormat(
          "timed out after %s waiting for a connection: all %d connections "
          "of the pool (max_size=%d) are in use, %d callers waiting",
          absl::FormatDuration(options_.acquire_timeout), size_,
          options_.max_size, waiting_ + 1));
    }
    if (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.front());
      idle_.pop_front();
      if (!connection->IsReusable()) {
        // Broken while idle (server restart, terminated backend): drop it.
        --size_;
        ++closed_;
        mu_.Unlock();
        connection.reset();
        mu_.Lock();
        continue;
      }
      --waiting_;
      ++in_use_;
      ++acquired_total_;
      return PooledConnection(shared_from_this(), std::move(connection));
    }
    // Room to open one: reserve the slot, connect outside the lock.
    ++size_;
    --waiting_;
    mu_.Unlock();
    absl::StatusOr<std::unique_ptr<Connection>> connection =
        Connection::Open(options_.connection);
    mu_.Lock();
    if (!connection.ok()) {
      --size_;
      ++errors_;
      return connection.status();
    }
    ++opened_;
    ++in_use_;
    ++acquired_total_;
    return PooledConnection(shared_from_this(), *std::move(connection));
  }
}

void Pool::Return(std::unique_ptr<Connection> connection, bool discard) {
  bool reuse = !discard && connection->IsReusable();
  {
    absl::MutexLock lock(&mu_);
    --in_use_;
    if (reuse) {
      // Most recently used first: keeps the warmest connections busy.
      idle_.push_front(std::move(connection));
      return;
    }
    --size_;
    ++closed_;
  }
  connection.reset();  // closes outside the lock
}

PoolStats Pool::Stats() const {
  absl::MutexLock lock(&mu_);
  PoolStats stats;
  stats.size = size_;
  stats.idle = static_cast<int64_t>(idle_.size());
  stats.in_use = in_use_;
  stats.waiting = waiting_;
  stats.acquired_total = acquired_total_;
  stats.timeouts = timeouts_;
  stats.errors = errors_;
  stats.opened = opened_;
  stats.closed = closed_;
  return stats;
}

}  // namespace fraiseql::pool
