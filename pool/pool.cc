#include "pool/pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "boost/asio/post.hpp"
#include "pool/internal/backoff.h"

namespace fraiseql::pool {
namespace {

absl::Status InvalidOption(absl::string_view name, absl::string_view value,
                           absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid pool option ", name, "=", value, ": expected ", expected));
}

std::string Format(absl::Duration d) { return absl::FormatDuration(d); }

absl::Status Validate(const PoolOptions& o) {
  if (o.max_size < 1) {
    return InvalidOption("max_size", absl::StrCat(o.max_size), "at least 1");
  }
  if (o.min_size < 0 || o.min_size > o.max_size) {
    return InvalidOption("min_size", absl::StrCat(o.min_size),
                         absl::StrCat("0 to max_size (", o.max_size, ")"));
  }
  const std::pair<const char*, absl::Duration> positive[] = {
      {"acquire_timeout", o.acquire_timeout},
      {"connect_timeout", o.connection.connect_timeout},
      {"idle_timeout", o.idle_timeout},
      {"max_lifetime", o.max_lifetime},
      {"reconnect_backoff_base", o.reconnect_backoff_base},
      {"maintenance_interval", o.maintenance_interval},
  };
  for (const auto& [name, value] : positive) {
    if (value <= absl::ZeroDuration()) {
      return InvalidOption(name, Format(value), "> 0");
    }
  }
  if (o.maintenance_interval == absl::InfiniteDuration()) {
    return InvalidOption("maintenance_interval", Format(o.maintenance_interval),
                         "a finite duration");
  }
  if (o.health_check_after_idle < absl::ZeroDuration()) {
    return InvalidOption("health_check_after_idle",
                         Format(o.health_check_after_idle),
                         ">= 0 (0: check every time)");
  }
  if (o.connection.statement_timeout < absl::ZeroDuration()) {
    return InvalidOption("statement_timeout",
                         Format(o.connection.statement_timeout),
                         ">= 0 (0: the server's default)");
  }
  if (o.reconnect_backoff_max < o.reconnect_backoff_base) {
    return InvalidOption(
        "reconnect_backoff_max", Format(o.reconnect_backoff_max),
        absl::StrCat(">= reconnect_backoff_base (",
                     Format(o.reconnect_backoff_base), ")"));
  }
  if (!(o.reconnect_jitter >= 0.0 && o.reconnect_jitter <= 1.0)) {
    return InvalidOption("reconnect_jitter", absl::StrCat(o.reconnect_jitter),
                         "0 to 1");
  }
  if (o.max_waiters < 0) {
    return InvalidOption("max_waiters", absl::StrCat(o.max_waiters), ">= 0");
  }
  for (char c : o.connection.application_name) {
    if (c < 0x20 || c > 0x7e) {
      return InvalidOption(
          "application_name",
          absl::StrCat("'", absl::CHexEscape(o.connection.application_name),
                       "'"),
          "printable ASCII (the server replaces anything else with '?')");
    }
  }
  if (absl::Status valid =
          ValidateSessionSettings(o.connection.session_settings);
      !valid.ok()) {
    return valid;
  }
  return ValidateConninfo(o.connection.conninfo);
}

}  // namespace

PoolOptions PoolOptions::FromEnvironment() {
  PoolOptions options;
  if (const char* url = std::getenv("FRAISEQL_DATABASE_URL")) {
    options.connection.conninfo = url;
  }
  return options;
}

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

Pool::Pool(PoolOptions options)
    : options_(std::move(options)),
      random_(std::random_device{}()),
      timer_(io_),
      worker_(1) {}

Pool::~Pool() {
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
  }
  // The timer thread holds no reference to the pool, so this destructor
  // never runs on it: joining cannot deadlock.
  io_.stop();
  if (maintenance_thread_.joinable()) maintenance_thread_.join();
  // Queued refills see shutting_down_ and skip; queued closes run.
  worker_.join();
  // idle_ is destroyed with the members: the idle connections close here.
}

absl::StatusOr<std::shared_ptr<Pool>> Pool::Create(PoolOptions options) {
  if (absl::Status valid = Validate(options); !valid.ok()) return valid;
  std::shared_ptr<Pool> pool(new Pool(std::move(options)));
  for (int i = 0; i < pool->options_.min_size; ++i) {
    absl::StatusOr<std::unique_ptr<Connection>> connection =
        Connection::Open(pool->options_.connection);
    if (!connection.ok()) return connection.status();
    absl::MutexLock lock(&pool->mu_);
    pool->idle_.push_front(Idle{*std::move(connection), absl::Now()});
    ++pool->size_;
    ++pool->opened_;
  }
  pool->StartMaintenance();
  return pool;
}

absl::StatusOr<PooledConnection> Pool::Acquire() {
  absl::Time start = absl::Now();
  return AcquireUntil(start, start + options_.acquire_timeout);
}

absl::StatusOr<PooledConnection> Pool::Acquire(absl::Time deadline) {
  return AcquireUntil(absl::Now(), deadline);
}

absl::StatusOr<PooledConnection> Pool::AcquireUntil(absl::Time start,
                                                    absl::Time deadline) {
  // On leaving the locked section we own one slot of size_: either
  // `connection` (to check) or, when it is null, the right to open one.
  std::unique_ptr<Connection> connection;
  absl::Time idle_since = absl::InfiniteFuture();  // never idle: no check
  {
    absl::MutexLock lock(&mu_);
    // Waiters exist only while nothing is idle and the pool is full, so a
    // newcomer can never overtake them.
    if (!idle_.empty()) {
      connection = std::move(idle_.front().connection);
      idle_since = idle_.front().since;
      idle_.pop_front();
    } else if (size_ < options_.max_size) {
      ++size_;
    } else if (static_cast<int64_t>(waiters_.size()) >=
               options_.max_waiters) {
      ++rejected_;
      return absl::ResourceExhaustedError(absl::StrFormat(
          "connection wait queue is full: %d callers already waiting "
          "(max_waiters=%d) for the %d connections of the pool "
          "(max_size=%d)",
          waiters_.size(), options_.max_waiters, size_, options_.max_size));
    } else {
      Waiter waiter;
      waiters_.push_back(&waiter);
      while (!waiter.granted) {
        bool timed_out = waiter.ready.WaitWithDeadline(&mu_, deadline);
        if (timed_out && !waiter.granted) {
          int64_t waiting = static_cast<int64_t>(waiters_.size());
          waiters_.erase(
              std::find(waiters_.begin(), waiters_.end(), &waiter));
          ++timeouts_;
          std::string message = absl::StrFormat(
              "timed out after %s waiting for a connection: all %d "
              "connections of the pool (max_size=%d) are in use, %d other "
              "callers waiting",
              // The wait ends a hair before the deadline: show whole ms.
              absl::FormatDuration(
                  absl::Ceil(deadline - start, absl::Milliseconds(1))),
              size_, options_.max_size, waiting - 1);
          if (!last_connect_error_.ok()) {
            absl::StrAppend(&message, "; last connection error: ",
                            last_connect_error_.message());
          }
          return absl::DeadlineExceededError(message);
        }
      }
      connection = std::move(waiter.connection);
    }
  }

  // A connection that sat idle may have died (server restart, terminated
  // backend) or aged out: replace it before the caller ever sees it.
  while (connection != nullptr) {
    absl::Time now = absl::Now();
    bool retire = Expired(*connection, now);
    bool dead = false;
    bool pinged = false;
    if (!retire) {
      dead = !connection->IsReusable() || !connection->PollAlive();
      if (!dead && now - idle_since >= options_.health_check_after_idle) {
        // Bounded by connect_timeout, never by the caller's deadline: a
        // ping cut short leaves its query in flight, and a healthy
        // connection would be closed because one caller was in a hurry.
        dead = !connection->Ping(now + options_.connection.connect_timeout)
                    .ok();
        pinged = true;
      }
    }
    if (!retire && !dead) {
      const absl::Time after = absl::Now();
      if (pinged && after >= deadline) {
        // The caller's time ran out during the ping: the connection is
        // healthy (just checked) and goes back to the pool.
        absl::MutexLock lock(&mu_);
        ++timeouts_;
        OfferLocked(std::move(connection));
        return absl::DeadlineExceededError(absl::StrFormat(
            "timed out after %s waiting for a connection: the deadline "
            "passed during the health check of an idle connection "
            "(health_check_after_idle=%s)",
            absl::FormatDuration(
                absl::Ceil(deadline - start, absl::Milliseconds(1))),
            absl::FormatDuration(options_.health_check_after_idle)));
      }
      break;
    }
    connection.reset();  // closes outside the lock
    absl::MutexLock lock(&mu_);
    ++closed_;
    if (retire) ++retired_;
    if (dead) ++health_check_failures_;
    if (!idle_.empty()) {
      // Trade our slot for the next idle connection's.
      connection = std::move(idle_.front().connection);
      idle_since = idle_.front().since;
      idle_.pop_front();
      ReleaseSlotLocked();
    }
  }

  if (connection == nullptr) {
    absl::StatusOr<std::unique_ptr<Connection>> opened =
        Connection::Open(options_.connection);
    absl::MutexLock lock(&mu_);
    RecordConnectLocked(opened.status());
    if (!opened.ok()) {
      ReleaseSlotLocked();
      return opened.status();
    }
    ++opened_;
    connection = *std::move(opened);
  }
  absl::MutexLock lock(&mu_);
  ++in_use_;
  ++acquired_total_;
  return PooledConnection(shared_from_this(), std::move(connection));
}

void Pool::Return(std::unique_ptr<Connection> connection, bool discard) {
  bool reuse = !discard && connection->IsReusable();
  bool retire = reuse && Expired(*connection, absl::Now());
  if (reuse && !retire) {
    absl::MutexLock lock(&mu_);
    --in_use_;
    OfferLocked(std::move(connection));
    return;
  }
  connection.reset();  // closes outside the lock
  absl::MutexLock lock(&mu_);
  --in_use_;
  ++closed_;
  if (retire) ++retired_;
  ReleaseSlotLocked();
}

void Pool::OfferLocked(std::unique_ptr<Connection> connection) {
  if (!waiters_.empty()) {
    Waiter* waiter = waiters_.front();
    waiters_.pop_front();
    waiter->connection = std::move(connection);
    waiter->granted = true;
    waiter->ready.Signal();
    return;
  }
  // Most recently used first: keeps the warmest connections busy and lets
  // the coldest ones reach idle_timeout.
  idle_.push_front(Idle{std::move(connection), absl::Now()});
}

void Pool::ReleaseSlotLocked() {
  --size_;
  if (!waiters_.empty() && !shutting_down_) {
    Waiter* waiter = waiters_.front();
    waiters_.pop_front();
    ++size_;  // the waiter opens a connection in this slot
    waiter->granted = true;
    waiter->ready.Signal();
  }
}

void Pool::RecordConnectLocked(const absl::Status& status) {
  if (status.ok()) {
    connect_failures_ = 0;
    last_connect_error_ = absl::OkStatus();
    next_refill_ = absl::InfinitePast();
    return;
  }
  ++errors_;
  ++connect_failures_;
  last_connect_error_ = status;
  double unit = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
  next_refill_ =
      absl::Now() + internal::ReconnectDelay(options_.reconnect_backoff_base,
                                             options_.reconnect_backoff_max,
                                             options_.reconnect_jitter,
                                             connect_failures_, unit);
}

bool Pool::Expired(const Connection& connection, absl::Time now) const {
  return now - connection.opened_at() >= options_.max_lifetime;
}

void Pool::StartMaintenance() {
  ScheduleTick();
  maintenance_thread_ = std::thread([this] { io_.run(); });
}

void Pool::ScheduleTick() {
  timer_.expires_after(std::chrono::nanoseconds(
      absl::ToInt64Nanoseconds(options_.maintenance_interval)));
  // `this`, not a shared_ptr: see ~Pool.
  timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;  // cancelled: the pool is going away
    Maintain();
    ScheduleTick();
  });
}

void Pool::Maintain() {
  auto to_close = std::make_shared<std::vector<std::unique_ptr<Connection>>>();
  int to_open = 0;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;
    absl::Time now = absl::Now();
    for (auto it = idle_.begin(); it != idle_.end();) {
      if (Expired(*it->connection, now)) {
        to_close->push_back(std::move(it->connection));
        it = idle_.erase(it);
        ReleaseSlotLocked();
      } else {
        ++it;
      }
    }
    // The back of idle_ has been unused longest.
    while (!idle_.empty() && size_ > options_.min_size &&
           now - idle_.back().since >= options_.idle_timeout) {
      to_close->push_back(std::move(idle_.back().connection));
      idle_.pop_back();
      ReleaseSlotLocked();
    }
    closed_ += static_cast<int64_t>(to_close->size());
    retired_ += static_cast<int64_t>(to_close->size());
    if (size_ < options_.min_size && now >= next_refill_) {
      to_open = static_cast<int>(options_.min_size - size_);
      size_ += to_open;  // reserved now, so Acquire cannot overshoot max
    }
  }
  // Closing sends a Terminate message and opening blocks for a round trip
  // or up to connect_timeout: neither may delay the timers.
  if (!to_close->empty()) {
    boost::asio::post(worker_, [to_close] { to_close->clear(); });
  }
  for (int i = 0; i < to_open; ++i) {
    boost::asio::post(worker_, [this] { RefillOne(); });
  }
}

void Pool::RefillOne() {
  {
    absl::MutexLock lock(&mu_);
    // Shutting down, or an earlier refill of this round just failed: give
    // the slot back and let the backoff decide the next attempt.
    if (shutting_down_ || absl::Now() < next_refill_) {
      ReleaseSlotLocked();
      return;
    }
  }
  absl::StatusOr<std::unique_ptr<Connection>> opened =
      Connection::Open(options_.connection);
  absl::MutexLock lock(&mu_);
  RecordConnectLocked(opened.status());
  if (!opened.ok()) {
    ReleaseSlotLocked();
    return;
  }
  ++opened_;
  OfferLocked(*std::move(opened));
}

PoolStats Pool::Stats() const {
  absl::MutexLock lock(&mu_);
  PoolStats stats;
  stats.size = size_;
  stats.idle = static_cast<int64_t>(idle_.size());
  stats.in_use = in_use_;
  stats.waiting = static_cast<int64_t>(waiters_.size());
  stats.acquired_total = acquired_total_;
  stats.timeouts = timeouts_;
  stats.errors = errors_;
  stats.opened = opened_;
  stats.closed = closed_;
  stats.rejected = rejected_;
  stats.health_check_failures = health_check_failures_;
  stats.retired = retired_;
  if (!last_connect_error_.ok()) {
    stats.last_error = std::string(last_connect_error_.message());
  }
  return stats;
}

}  // namespace fraiseql::pool
