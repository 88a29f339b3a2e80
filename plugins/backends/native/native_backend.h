// plugins/backends/native: the `backend.native` executor. Borrows a
// connection from the pool and streams the statement's rows with libpq
// single-row mode, in chunks, applying the request context and preparing
// statements per connection (stream/chunked_query.h).
#ifndef FRAISEQL_PLUGINS_BACKENDS_NATIVE_NATIVE_BACKEND_H_
#define FRAISEQL_PLUGINS_BACKENDS_NATIVE_NATIVE_BACKEND_H_

#include <cstddef>
#include <memory>

#include "plugins/backend.h"
#include "plugins/backend_registry.h"
#include "pool/pool.h"
#include "stream/chunked_query.h"
#include "stream/statement_cache.h"

namespace fraiseql::plugins {

struct NativeBackendOptions {
  int chunk_rows = 256;
  // Prepare each statement shape once per connection and run it by name.
  bool prepared_statements = true;
  // Statements kept prepared per connection (least recently used evicted).
  size_t prepared_statements_per_connection = 256;
  // PgBouncer in transaction-pooling mode in front of the server: no
  // session state at all (no prepared statements; the request context is
  // per transaction anyway). Overrides prepared_statements.
  bool pgbouncer = false;
  // The statement_timeout of a call whose context gives none (FraiseQL's
  // query_timeout): users choose the regular expressions, LIKE patterns and
  // jsonpath they send, so by default nothing runs on the server longer
  // than this. Zero disables it. Sent with every request (not in the
  // connection's startup options), so it holds behind PgBouncer too; a
  // smaller pool statement_timeout wins (stream::StreamOptions).
  absl::Duration statement_timeout = absl::Seconds(30);
};

// Thread-safe; each Execute borrows its own connection. A connection that
// comes back broken or mid-transaction is closed by the pool, so a failed
// call leaves the pool healthy.
//
// Call statistics (exec::RequestContext::stats): every acquire adds its
// wait to acquire_wait (Execute, ExecuteBatch, Begin); every batch that
// succeeds adds its rows (a transaction's statements too); a failure that
// carries a SQLSTATE (base/pg_status.h) sets sqlstate.
class NativeBackend : public Backend {
 public:
  NativeBackend(std::shared_ptr<pool::Pool> pool,
                NativeBackendOptions options = {});

  absl::string_view name() const override { return "backend.native"; }
  using Backend::Execute;
  absl::Status Execute(const exec::Plan& plan,
                       const exec::RequestContext& context,
                       exec::RowSink* sink) override;
  // One round trip on one connection (stream::StreamBatch).
  absl::Status ExecuteBatch(absl::Span<const exec::Statement> statements,
                            const exec::RequestContext& context) override;
  // The transaction holds its connection until it ends (or is destroyed);
  // it must not outlive the backend.
  absl::StatusOr<std::unique_ptr<Transaction>> Begin(
      const TransactionOptions& options,
      const exec::RequestContext& context) override;

  // Statements kept prepared per connection; 0 when the backend prepares
  // none (prepared_statements off, or pgbouncer).
  size_t prepared_statements_per_connection() const {
    return statements_per_connection_;
  }

  // The prepared statements `connection` holds for this kind of backend (its
  // pool::SessionState); null before its first prepared call, or when
  // another kind of state is kept there.
  static stream::StatementCache* StatementCacheOf(
      const pool::Connection& connection);

 private:
  friend class NativeTransaction;
  // Borrows a connection: the wait counts against the context's deadline
  // and never exceeds the pool's acquire_timeout.
  absl::StatusOr<pool::PooledConnection> Acquire(
      const exec::RequestContext& context);
  // Discards a connection that came back unusable.
  void Settle(pool::PooledConnection& connection);

  // The options of a call on `connection`: options_ with the statement
  // cache that connection keeps (made on its first call), or none when
  // statements are not prepared.
  stream::StreamOptions OptionsFor(pool::Connection& connection) const;

  std::shared_ptr<pool::Pool> pool_;
  size_t statements_per_connection_ = 0;
  stream::StreamOptions options_;  // no statement cache: see OptionsFor
};

// Registers `native`: a NativeBackend on BackendConfig::pool with its
// statement_timeout. Options (text): chunk_rows (>= 1), prepared_statements
// and pgbouncer ("true" or "false"), prepared_statements_per_connection
// (>= 1); another key or value is InvalidArgument naming the key. Errors:
// the registry's.
absl::Status RegisterNativeBackend(BackendRegistry* registry);

}  // namespace fraiseql::plugins

#endif  // FRAISEQL_PLUGINS_BACKENDS_NATIVE_NATIVE_BACKEND_H_
