// pool/: the first stage. Hands out PostgreSQL connections with a size limit,
// a deadline per acquire and a bounded first-come first-served wait queue;
// discards any connection that comes back broken or dirty, so a failed
// request never poisons the next one; and keeps itself healthy in the
// background (refill to min_size, idle and lifetime retirement, reconnect
// backoff).
//
// Threading contract (modelled on Boost.MySQL's connection_pool):
//
// - Every public method of Pool is thread-safe. Shared state is guarded by
//   one absl::Mutex; no libpq call ever runs while it is held.
// - Acquire blocks the calling thread (never call it on an event-loop thread)
//   until a connection is handed over, the deadline passes, or the queue is
//   full. Connections it opens, health checks and closes of discarded
//   connections run on the calling thread, outside the lock.
// - Executors the pool owns:
//     * the maintenance thread runs a boost::asio::io_context whose only work
//       is a steady_timer (every `maintenance_interval`). Its handler only
//       takes the lock and decides what to do; it never calls libpq.
//     * a boost::asio::thread_pool of one thread runs the blocking work the
//       maintenance loop decides on: opening connections up to min_size
//       (with reconnect backoff) and closing retired ones.
//   These threads hold no reference (shared_ptr) to the Pool, so the last
//   reference can never be dropped on them; they only use the pool through
//   `this`, which the destructor keeps valid until it has joined them.
// - Destroying the Pool (when its last shared_ptr goes, including the ones
//   held by PooledConnections) stops the timer, joins the maintenance thread,
//   lets the worker finish its current task (an open in progress may take up
//   to connect_timeout; queued opens are skipped, queued closes run) and
//   closes the idle connections.
// - Cancellation: a caller that stops waiting (deadline) leaves the queue;
//   nothing it was promised is lost (a connection handed to it as it timed
//   out goes to the next waiter or back to idle). There is no other
//   cancellation of Acquire.
// - A PooledConnection must be used by one thread at a time and returned
//   (destroyed) by its holder; it keeps the Pool alive.
#ifndef FRAISEQL_POOL_POOL_H_
#define FRAISEQL_POOL_POOL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/thread_pool.hpp"
#include "pool/connection.h"

namespace fraiseql::pool {

struct PoolOptions {
  // conninfo (URL, libpq keywords, or empty for libpq's PG* environment
  // variables), application_name, connect_timeout, statement_timeout.
  ConnectionOptions connection;
  int min_size = 0;  // opened at creation, kept by the maintenance loop
  int max_size = 10;
  // Default deadline of Acquire().
  absl::Duration acquire_timeout = absl::Seconds(10);
  // Idle connections above min_size are closed after this long unused.
  // absl::InfiniteDuration() keeps them.
  absl::Duration idle_timeout = absl::Minutes(10);
  // Connections older than this are closed when they come back or while
  // idle (and reopened up to min_size). absl::InfiniteDuration(): never.
  absl::Duration max_lifetime = absl::Hours(1);
  // Every idle connection taken is first checked without a round trip
  // (a non-blocking read notices a backend the server closed). One idle for
  // longer than this is also pinged (an empty query), bounded by
  // connect_timeout and not by the caller's deadline. A dead one is
  // discarded and another is taken or opened, so the caller never sees it.
  // A caller whose deadline passes during the ping gets DeadlineExceeded
  // and the (healthy) connection goes back to the pool.
  // Zero: always ping; absl::InfiniteDuration(): never ping.
  absl::Duration health_check_after_idle = absl::Seconds(1);
  // After n consecutive failed connects, the maintenance loop waits
  // min(base * 2^(n-1), max) +- jitter (a fraction in [0, 1]) before its
  // next attempt. Acquire still tries at once when it needs a connection.
  absl::Duration reconnect_backoff_base = absl::Milliseconds(100);
  absl::Duration reconnect_backoff_max = absl::Seconds(10);
  double reconnect_jitter = 0.2;
  // Callers allowed to wait in Acquire; one more fails at once with
  // ResourceExhausted. 0: never wait when no connection is free.
  int max_waiters = 1000;
  // Period of the maintenance loop (tests shorten it).
  absl::Duration maintenance_interval = absl::Seconds(1);

  // Defaults, with `connection.conninfo` from FRAISEQL_DATABASE_URL when it is
  // set (else empty: libpq then reads PGHOST, PGPORT, PGUSER, PGDATABASE...).
  static PoolOptions FromEnvironment();
};

struct PoolStats {
  int64_t size = 0;     // open connections (idle + in use + being opened)
  int64_t idle = 0;
  int64_t in_use = 0;
  int64_t waiting = 0;  // callers queued in Acquire
  int64_t acquired_total = 0;
  int64_t timeouts = 0;  // Acquire deadlines passed
  int64_t errors = 0;    // failed connection attempts
  int64_t opened = 0;
  int64_t closed = 0;    // all closes, whatever the reason
  int64_t rejected = 0;  // Acquire refused: wait queue full (max_waiters)
  int64_t health_check_failures = 0;
  int64_t retired = 0;   // closed for idle_timeout or max_lifetime
  // The last failed connection attempt's error; empty once a connect
  // succeeds again.
  std::string last_error;
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
  // Validates the options (InvalidArgument naming the option and its value:
  // max_size < 1, min_size outside [0, max_size], a non-positive timeout or
  // interval, negative max_waiters, a jitter outside [0, 1], backoff max
  // below base, a non-printable application_name, a malformed conninfo),
  // opens `min_size` connections (Unavailable when the server cannot be
  // reached) and starts the maintenance loop.
  static absl::StatusOr<std::shared_ptr<Pool>> Create(PoolOptions options);

  // Takes an idle connection (pinged first when it was idle longer than
  // health_check_after_idle), or opens one while below max_size, or joins
  // the FIFO wait queue until one is handed over. Deadline: now +
  // acquire_timeout, or `deadline`. Errors: DeadlineExceeded when the
  // deadline passes (the message names the pool size, the wait and the last
  // connect error if any), waiting or during an idle connection's health
  // check (which is not cut short: it may end up to connect_timeout late); ResourceExhausted when max_waiters callers are
  // already waiting; Unavailable when a new connection cannot be opened
  // (opening is bounded by connect_timeout, not by the acquire deadline).
  absl::StatusOr<PooledConnection> Acquire();
  absl::StatusOr<PooledConnection> Acquire(absl::Time deadline);

  PoolStats Stats() const;
  const PoolOptions& options() const { return options_; }

  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

 private:
  friend class PooledConnection;
  struct Idle {
    std::unique_ptr<Connection> connection;
    absl::Time since;
  };
  // One caller in the wait queue; lives on its stack.
  struct Waiter {
    absl::CondVar ready;
    bool granted = false;                    // a connection or a slot
    std::unique_ptr<Connection> connection;  // null: open one in the slot
  };

  explicit Pool(PoolOptions options);
  absl::StatusOr<PooledConnection> AcquireUntil(absl::Time start,
                                                absl::Time deadline);
  void Return(std::unique_ptr<Connection> connection, bool discard);
  // Gives a free connection to the first waiter, else makes it idle.
  void OfferLocked(std::unique_ptr<Connection> connection)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A slot was freed (a connection closed): the first waiter may open one.
  void ReleaseSlotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordConnectLocked(const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Expired(const Connection& connection, absl::Time now) const;

  void StartMaintenance();
  void ScheduleTick();
  void Maintain();           // on the maintenance thread, no libpq
  void RefillOne();          // on the worker thread

  const PoolOptions options_;
  mutable absl::Mutex mu_;
  std::deque<Idle> idle_ ABSL_GUARDED_BY(mu_);  // front: most recently used
  std::deque<Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
  int64_t size_ ABSL_GUARDED_BY(mu_) = 0;  // open + being opened
  int64_t in_use_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t acquired_total_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t timeouts_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t opened_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t closed_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t health_check_failures_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t retired_ ABSL_GUARDED_BY(mu_) = 0;
  int connect_failures_ ABSL_GUARDED_BY(mu_) = 0;  // consecutive
  absl::Status last_connect_error_ ABSL_GUARDED_BY(mu_);
  absl::Time next_refill_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);

  // Maintenance: the timer's io_context and its thread; the worker for
  // blocking libpq work. Declared last: stopped first in ~Pool.
  boost::asio::io_context io_;
  boost::asio::steady_timer timer_;
  std::thread maintenance_thread_;
  boost::asio::thread_pool worker_;
};

}  // namespace fraiseql::pool

#endif  // FRAISEQL_POOL_POOL_H_
