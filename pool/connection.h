// pool/: one PostgreSQL connection, opened through libpqxx with the session
// settings pinned, and exposing its libpq handle for the streaming executor
// (single-row mode is not reachable through libpqxx 6's public API).
#ifndef FRAISEQL_POOL_CONNECTION_H_
#define FRAISEQL_POOL_CONNECTION_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libpq-fe.h"

namespace pqxx {
class connection_base;
}

namespace fraiseql::pool {

struct ConnectionOptions {
  // A libpq connection URL or keyword/value string; empty: libpq's defaults
  // and PG* environment variables.
  std::string conninfo;
  std::string application_name = "fraiseql-native";
  absl::Duration connect_timeout = absl::Seconds(10);
  // Server-side statement_timeout set at connect (`-c statement_timeout=`
  // beside the pinned settings); zero keeps the server's default.
  absl::Duration statement_timeout = absl::ZeroDuration();
  // Server settings (name, value) set at connect (`-c name=value` after the
  // pinned ones), e.g. {"plan_cache_mode", "force_generic_plan"}. Names are
  // PostgreSQL setting names (letters, digits, `_`, `.`), and never one of
  // the pinned settings; values may hold any character but NUL.
  std::vector<std::pair<std::string, std::string>> session_settings;
};

// The session settings every connection gets, so that results never depend
// on server defaults: TimeZone=UTC, DateStyle=ISO, IntervalStyle=postgres,
// extra_float_digits=1, standard_conforming_strings=on, client_encoding=UTF8.
inline constexpr const char kPinnedSessionOptions[] =
    "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres "
    "-c extra_float_digits=1 -c standard_conforming_strings=on";

// What a stage above the pool keeps about one connection's server session
// (the native backend's prepared statements, stream/statement_cache.h).
// Kept on the connection and destroyed with it, so it can never describe
// another session; the pool itself never looks inside.
class SessionState {
 public:
  virtual ~SessionState() = default;
};

// Owns one open connection. Not thread-safe: one user at a time (the pool
// hands it to one caller). Destroying it closes the connection.
class Connection {
 public:
  // Connects, blocking up to `connect_timeout`. Unavailable (with the
  // server's or libpq's reason) when the server cannot be reached or refuses
  // the login; InvalidArgument for a malformed conninfo.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const ConnectionOptions& options);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The libpq handle; valid for the life of this object. Callers must leave
  // it idle (no result pending, no transaction open) when they are done.
  PGconn* raw() const { return raw_; }

  // A cheap round trip (an empty query) to prove the backend is alive.
  // Unavailable when the server closed the connection or reports an error,
  // DeadlineExceeded when no answer came by `deadline` (the connection must
  // then be discarded: the query may still be in flight). Blocks the caller.
  absl::Status Ping(absl::Time deadline);

  // A non-blocking check without a round trip: reads whatever the server
  // sent to this idle connection (a terminated backend's FATAL message and
  // end of stream) and reports false when the connection is closed.
  bool PollAlive();

  // When the connection was opened (for the pool's max_lifetime).
  absl::Time opened_at() const { return opened_at_; }

  // False once the connection is broken or left in a state that must not be
  // reused (inside a transaction, a command still running).
  bool IsReusable() const;

  // The session state its user keeps with this connection; null until set.
  // One slot, for the one stage that runs statements on pooled connections
  // (the native backend); set_session_state replaces (and destroys) what
  // was there. The state lives until the connection is closed: a broken
  // connection is discarded by the pool, and its state with it.
  SessionState* session_state() const { return session_state_.get(); }
  void set_session_state(std::unique_ptr<SessionState> state) {
    session_state_ = std::move(state);
  }

 private:
  class PqxxConnection;
  explicit Connection(std::unique_ptr<PqxxConnection> connection);

  // libpq's notice receiver: notes a FATAL (or PANIC) message received
  // while idle, which a backend sends before it closes the session
  // (terminated, shut down, idle_session_timeout), then passes the notice
  // on to the receiver it replaced.
  static void ReceiveNotice(void* self, const PGresult* notice);

  std::unique_ptr<PqxxConnection> connection_;
  PGconn* raw_ = nullptr;
  PQnoticeReceiver previous_receiver_ = nullptr;
  bool closing_ = false;  // a FATAL message arrived: the session is ending
  absl::Time opened_at_ = absl::Now();
  std::unique_ptr<SessionState> session_state_;
};

// The `options` connection parameter sent at connect: the conninfo's own
// `options` (or PGOPTIONS) first, then the pinned session settings (so they
// win), statement_timeout when `options` sets one, and the session settings.
std::string SessionOptionsFor(const ConnectionOptions& options);

// InvalidArgument naming the setting when a session setting has a bad name,
// names a pinned setting or holds a NUL character.
absl::Status ValidateSessionSettings(
    const std::vector<std::pair<std::string, std::string>>& settings);

// Checks a conninfo string or URL without connecting. InvalidArgument with
// libpq's reason when it cannot be parsed.
absl::Status ValidateConninfo(const std::string& conninfo);

}  // namespace fraiseql::pool

#endif  // FRAISEQL_POOL_CONNECTION_H_
