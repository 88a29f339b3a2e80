// plugins/: the executor stage's interface. A backend runs planned
// statements (exec/plan.h: SQL text and typed parameters) under a request
// context and streams their rows to sinks. It depends on nothing but
// exec/, so a backend plugin needs neither planner/ nor libpq nor Protobuf.
// Backends are plugins, registered by name (plugins/backend_registry.h):
// `native` (libpq, in this process, plugins/backends/native/) and
// `legacy-psycopg` (the Python path being replaced, for parity runs,
// plugins/backends/legacy_psycopg/), plus any a user registers from C++
// or Python.
#ifndef FRAISEQL_PLUGINS_BACKEND_H_
#define FRAISEQL_PLUGINS_BACKEND_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "exec/plan.h"
#include "exec/request_context.h"
#include "exec/row_sink.h"

namespace fraiseql::plugins {

class Transaction;

// How a transaction begins (BEGIN ISOLATION LEVEL ... [READ ONLY]).
struct TransactionOptions {
  enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };
  Isolation isolation = Isolation::kReadCommitted;
  bool read_only = false;
};

// The BEGIN statement for `options`.
std::string BeginSql(const TransactionOptions& options);

class Backend {
 public:
  virtual ~Backend() = default;

  // Dotted registry key, e.g. "backend.native".
  virtual absl::string_view name() const = 0;

  // Runs `plan` under `context` (its variables visible to the statement
  // and to no other, its statement_timeout, deadline and cancel flag; see
  // exec/request_context.h) and hands every row to `sink`, in order.
  // Errors: the server's, mapped from its SQLSTATE (base/pg_status.h);
  // InvalidArgument for a context ValidateRequestContext refuses;
  // DeadlineExceeded with kQueryTimeoutPayloadUrl when the deadline or the
  // statement_timeout passes; Cancelled when the cancel flag is set;
  // Unavailable when the server cannot be reached; a sink's status when it
  // stops the stream. A backend with a pool adds the pool's
  // (DeadlineExceeded without kQueryTimeoutPayloadUrl when no connection is
  // free in time). The native backend's exact behaviour is
  // stream::StreamBatch's (stream/chunked_query.h).
  // Thread-safe: concurrent calls use separate connections.
  virtual absl::Status Execute(const exec::Plan& plan,
                               const exec::RequestContext& context,
                               exec::RowSink* sink) = 0;

  // Without context.
  absl::Status Execute(const exec::Plan& plan, exec::RowSink* sink) {
    return Execute(plan, exec::RequestContext(), sink);
  }

  // Runs several statements as one unit, in order, each streaming to its
  // own sink, all reading one snapshot (the native backend sends them in
  // one round trip). The first failure ends the
  // batch. This default runs them one by one through Execute, for backends
  // that cannot do better.
  virtual absl::Status ExecuteBatch(
      absl::Span<const exec::Statement> statements,
      const exec::RequestContext& context) {
    for (const exec::Statement& statement : statements) {
      exec::RowSink* sink = statement.sink;
      DiscardSink discard;
      absl::Status status =
          Execute(*statement.plan, context, sink != nullptr ? sink : &discard);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  // Opens a transaction on one connection of this backend. `context`'s
  // variables and statement_timeout hold for the whole transaction; its
  // deadline bounds the wait for a connection. Nothing is sent before the
  // first statement (BEGIN travels with it). Errors: the pool's.
  // Unimplemented when the backend has no transactions.
  virtual absl::StatusOr<std::unique_ptr<Transaction>> Begin(
      const TransactionOptions& options, const exec::RequestContext& context) {
    return absl::UnimplementedError(
        absl::StrCat(name(), " does not support transactions"));
  }

 private:
  class DiscardSink : public exec::RowSink {
   public:
    absl::Status OnChunk(const exec::RowChunk&) override {
      return absl::OkStatus();
    }
  };
};

// An open transaction: itself a Backend whose statements all run in it, on
// one connection, so a Repository can run on it unchanged. Begin on a
// transaction opens a nested one (a savepoint).
//
// Statements take no context variables of their own (InvalidArgument):
// those were fixed by Begin. A call's statement_timeout is not set again
// (the transaction's holds); its deadline and cancel flag apply per call.
// After a statement fails the transaction is aborted: later statements and
// Commit fail with FailedPrecondition until Rollback. A nested transaction
// (Begin on a transaction) is a savepoint: it takes no options of its own
// (InvalidArgument), and its Rollback clears an abort its own statements
// caused.
//
// Not for concurrent use: a call made while another statement of the
// transaction is running (e.g. a stream not yet read to its end) fails with
// FailedPrecondition rather than waiting. Destroying an open transaction
// rolls it back. A transaction must not outlive the backend it came from,
// nor a nested one its parent.
class Transaction : public Backend {
 public:
  // One statement: a batch of one.
  using Backend::Execute;
  absl::Status Execute(const exec::Plan& plan,
                       const exec::RequestContext& context,
                       exec::RowSink* sink) final {
    const exec::Statement statement{&plan, sink};
    return ExecuteBatch(absl::MakeConstSpan(&statement, 1), context);
  }
  // Every statement of a transaction runs through here.
  absl::Status ExecuteBatch(absl::Span<const exec::Statement> statements,
                            const exec::RequestContext& context) override = 0;

  // Makes the transaction's work permanent and ends it. Errors: the
  // server's (a serialization failure is Aborted, SQLSTATE 40001);
  // FailedPrecondition when it was aborted by an earlier error (it is then
  // rolled back) or already ended. Nothing begun: OK, nothing sent.
  virtual absl::Status Commit(absl::Time deadline = absl::InfiniteFuture()) = 0;
  // Undoes the transaction's work and ends it. FailedPrecondition when it
  // already ended.
  virtual absl::Status Rollback(absl::Time deadline = absl::InfiniteFuture()) = 0;
  // Neither committed nor rolled back yet.
  virtual bool open() const = 0;
};

}  // namespace fraiseql::plugins

#endif  // FRAISEQL_PLUGINS_BACKEND_H_
