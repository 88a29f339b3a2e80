#include "plugins/backends/native/native_backend.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/pg_status.h"
#include "base/status_macros.h"

namespace fraiseql::plugins {
namespace {

// How long cleanup may take when the caller's deadline cannot be used (it
// may be what just failed): rolling a savepoint back after a failed RELEASE.
constexpr absl::Duration kCleanupBound = absl::Seconds(5);

// The context of one statement inside a transaction: the transaction's
// settings for its first batch (BEGIN travels with it), none after; the
// call's own deadline and cancel flag. A call's statement_timeout is not
// set again inside the transaction: its deadline (cancelled on the server
// when it passes) stands for it.
exec::RequestContext CallContext(const exec::RequestContext& transaction,
                                 const exec::RequestContext& call, bool first) {
  exec::RequestContext context = first ? transaction : exec::RequestContext();
  context.deadline = std::min(call.deadline, transaction.deadline);
  context.cancelled = call.cancelled;
  return context;
}

// Adds what one StreamBatch call cost to the caller's stats, if any.
void RecordBatch(const exec::RequestContext& context,
                 const absl::StatusOr<stream::StreamResult>& result) {
  if (context.stats == nullptr) return;
  if (result.ok()) {
    context.stats->rows += result->rows;
  } else if (std::optional<std::string> sqlstate = SqlStateOf(result.status());
             sqlstate.has_value()) {
    context.stats->sqlstate = *std::move(sqlstate);
  }
}

absl::Status Aborted() {
  return absl::FailedPreconditionError(
      "the transaction was aborted by an earlier error; roll it back");
}

absl::Status Ended() {
  return absl::FailedPreconditionError("the transaction has already ended");
}

absl::Status Poisoned() {
  return absl::FailedPreconditionError(
      "a nested transaction of this transaction could not be ended (neither "
      "released nor rolled back to its savepoint); roll the transaction back");
}

absl::Status Busy() {
  return absl::FailedPreconditionError(
      "the transaction is busy with another statement (a stream not yet "
      "read to its end or closed?); finish or close it first");
}

}  // namespace

// One transaction on one pooled connection. BEGIN (with the context's
// settings) is sent with the first batch; savepoints nest inside it.
class NativeTransaction : public Transaction {
 public:
  NativeTransaction(NativeBackend* backend, pool::PooledConnection connection,
                    std::string begin_sql, exec::RequestContext context)
      : backend_(backend),
        connection_(std::move(connection)),
        begin_sql_(std::move(begin_sql)),
        context_(std::move(context)) {
    // The transaction's deadline bounds only the acquire; statements take
    // the deadline of their own call.
    context_.deadline = absl::InfiniteFuture();
    context_.cancelled = nullptr;
  }

  ~NativeTransaction() override {
    // Ends it and gives the connection back (a no-op when ended). Nothing
    // can be running: the caller owns the only reference.
    absl::MutexLock lock(&mu_);
    if (state_ != State::kDone) {
      absl::Status ignored =
          EndLocked("ROLLBACK", absl::Now() + absl::Seconds(5));
      (void)ignored;
    }
  }

  absl::string_view name() const override { return "backend.native"; }

  // Every entry point takes the lock without waiting: a call that finds a
  // statement running (a stream of this transaction still open, on this
  // thread or another) fails instead of waiting for it, which could be
  // forever.
  absl::Status ExecuteBatch(absl::Span<const exec::Statement> statements,
                            const exec::RequestContext& context) override {
    if (!mu_.TryLock()) return Busy();
    absl::Status status = RunLocked(statements, context);
    mu_.Unlock();
    return status;
  }

  absl::StatusOr<std::unique_ptr<Transaction>> Begin(
      const TransactionOptions& options,
      const exec::RequestContext& context) override;

  absl::Status Commit(absl::Time deadline) override {
    if (!mu_.TryLock()) return Busy();
    absl::Status status = CommitLocked(deadline);
    mu_.Unlock();
    return status;
  }

  absl::Status Rollback(absl::Time deadline) override {
    if (!mu_.TryLock()) return Busy();
    absl::Status status =
        state_ == State::kDone ? Ended() : EndLocked("ROLLBACK", deadline);
    mu_.Unlock();
    return status;
  }

  bool open() const override {
    // Busy means a statement is running: open.
    if (!mu_.ReaderTryLock()) return true;
    const bool open = state_ != State::kDone;
    mu_.ReaderUnlock();
    return open;
  }

  // For savepoints: whether a statement failed since the last recovery.
  bool aborted() const {
    if (!mu_.ReaderTryLock()) return false;
    const bool aborted = state_ == State::kAborted;
    mu_.ReaderUnlock();
    return aborted;
  }

  // For savepoints: runs trusted control statements (SAVEPOINT, RELEASE,
  // ROLLBACK TO) and, when `then` is given, statements after them, in one
  // round trip. `recovers`: the batch ends an aborted state (ROLLBACK TO).
  // *reached: whether the batch may have reached the server, so that a
  // SAVEPOINT in it may exist. Everything that stops a batch before it is
  // sent is checked here first, so this is exact except for a deadline or
  // cancel that comes in the moment before sending: then it says reached,
  // the safe side (a ROLLBACK TO a savepoint that does not exist aborts the
  // transaction; the opposite mistake would leave a savepoint's writes in
  // place behind a reported failure).
  absl::Status RunControl(const std::vector<std::string>& control,
                          absl::Span<const exec::Statement> then,
                          const exec::RequestContext& context, bool recovers,
                          bool* reached = nullptr) {
    if (reached != nullptr) *reached = false;
    if (!mu_.TryLock()) return Busy();
    absl::Status status =
        RunControlLocked(control, then, context, recovers, reached);
    mu_.Unlock();
    return status;
  }

  // A savepoint could not be ended: its writes may still be in this
  // transaction, so it may only roll back now (Commit rolls back and fails).
  void Poison() { poisoned_.store(true); }

 private:
  absl::Status RunControlLocked(const std::vector<std::string>& control,
                                absl::Span<const exec::Statement> then,
                                const exec::RequestContext& context,
                                bool recovers, bool* reached)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (recovers && state_ == State::kAborted) state_ = State::kOpen;
    // Not sent: RunLocked and StreamBatch would refuse these before sending.
    if (state_ != State::kOpen && state_ != State::kNotBegun) {
      return RunLocked({}, context);
    }
    if (poisoned_.load()) return Poisoned();
    if (context.HasSettings()) return RunLocked({}, context);
    if (context.deadline <= absl::Now()) {
      absl::Status status = absl::DeadlineExceededError(
          "query exceeded its deadline before it was sent");
      status.SetPayload(exec::kQueryTimeoutPayloadUrl, absl::Cord("query"));
      return status;
    }
    if (context.cancelled != nullptr && context.cancelled->load()) {
      return absl::CancelledError(
          "query cancelled by the caller before it was sent");
    }
    std::vector<exec::Plan> plans(control.size());
    std::vector<exec::Statement> statements;
    for (size_t i = 0; i < control.size(); ++i) {
      plans[i].sql = control[i];
      statements.push_back({&plans[i], nullptr, /*prepare=*/false});
    }
    statements.insert(statements.end(), then.begin(), then.end());
    const bool first = state_ == State::kNotBegun;
    absl::Status status = RunLocked(statements, context);
    // A first batch that leaves nothing begun on the server (BEGIN failed)
    // set no savepoint.
    if (reached != nullptr) *reached = !(first && state_ == State::kNotBegun);
    return status;
  }

  absl::Status CommitLocked(absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (state_ == State::kDone) return Ended();
    if (poisoned_.load()) {
      absl::Status rolled_back = EndLocked("ROLLBACK", deadline);
      (void)rolled_back;
      return absl::FailedPreconditionError(
          "a nested transaction of this transaction could not be ended, so "
          "the transaction has been rolled back; nothing was committed");
    }
    if (state_ == State::kAborted || state_ == State::kFailed) {
      absl::Status rolled_back = EndLocked("ROLLBACK", deadline);
      (void)rolled_back;
      return absl::FailedPreconditionError(
          "the transaction was aborted by an earlier error and has been rolled "
          "back; nothing was committed");
    }
    // The server answers COMMIT of an aborted transaction with ROLLBACK:
    // never report that as committed.
    if (PQtransactionStatus(connection_->raw()) == PQTRANS_INERROR) {
      absl::Status rolled_back = EndLocked("ROLLBACK", deadline);
      (void)rolled_back;
      return absl::FailedPreconditionError(
          "the transaction was aborted on the server and has been rolled "
          "back; nothing was committed");
    }
    return EndLocked("COMMIT", deadline);
  }

  // kFailed: aborted, and already rolled back by the server or StreamBatch
  // (a failed first batch, a lost connection); the connection is released.
  enum class State { kNotBegun, kOpen, kAborted, kFailed, kDone };

  absl::Status RunLocked(absl::Span<const exec::Statement> statements,
                         const exec::RequestContext& context)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (state_ == State::kDone) return Ended();
    if (state_ == State::kAborted || state_ == State::kFailed) return Aborted();
    if (poisoned_.load()) return Poisoned();
    if (context.HasSettings()) {
      return absl::InvalidArgumentError(
          "a statement inside a transaction cannot set context variables or "
          "a role; pass them when the transaction begins");
    }
    const bool first = state_ == State::kNotBegun;
    stream::BatchOptions batch;
    batch.transaction = first ? stream::TransactionControl::kBegin
                              : stream::TransactionControl::kInside;
    batch.begin_sql = begin_sql_;
    // A failure after BEGIN aborts the transaction but keeps it, so that a
    // savepoint set in this batch can be rolled back to.
    batch.keep_open_on_error = true;
    absl::StatusOr<stream::StreamResult> result =
        stream::StreamBatch(connection_->raw(), statements,
                            backend_->OptionsFor(*connection_.get()), batch,
                            CallContext(context_, context, first));
    RecordBatch(context, result);
    // The state follows the server's, not the status: a call that failed
    // before anything was sent leaves the transaction as it was.
    PGconn* conn = connection_->raw();
    const PGTransactionStatusType status = PQtransactionStatus(conn);
    const bool settled = PQstatus(conn) == CONNECTION_OK &&
                         PQpipelineStatus(conn) == PQ_PIPELINE_OFF;
    if (settled && status == PQTRANS_INTRANS) {
      state_ = State::kOpen;
    } else if (settled && status == PQTRANS_INERROR) {
      state_ = State::kAborted;
    } else if (settled && status == PQTRANS_IDLE && first) {
      // Nothing open on the server (nothing sent, or BEGIN failed): the
      // next statement begins again.
    } else {
      // Lost, left mid-pipeline, or ended under us: the connection goes
      // (discarded, being unusable) and the transaction with it.
      state_ = State::kFailed;
      Release();
    }
    if (!result.ok() || state_ == State::kOpen || state_ == State::kNotBegun) {
      return result.status();
    }
    return absl::InternalError("the transaction ended on the server unexpectedly");
  }

  absl::Status EndLocked(const char* sql, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (state_ == State::kNotBegun || state_ == State::kFailed) {
      state_ = State::kDone;
      Release();
      return absl::OkStatus();
    }
    exec::Plan plan;
    plan.sql = sql;
    const exec::Statement statement{&plan, nullptr, /*prepare=*/false};
    stream::BatchOptions batch;
    batch.transaction = stream::TransactionControl::kInside;
    exec::RequestContext context;
    context.deadline = deadline;
    absl::StatusOr<stream::StreamResult> result = stream::StreamBatch(
        connection_->raw(), absl::MakeConstSpan(&statement, 1),
        backend_->OptionsFor(*connection_.get()), batch, context);
    state_ = State::kDone;
    Release();
    return result.status();
  }

  void Release() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (connection_.get() == nullptr) return;
    backend_->Settle(connection_);
    connection_ = pool::PooledConnection();
  }

  NativeBackend* backend_;
  mutable absl::Mutex mu_;
  pool::PooledConnection connection_ ABSL_GUARDED_BY(mu_);
  const std::string begin_sql_;
  exec::RequestContext context_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kNotBegun;
  int savepoints_ ABSL_GUARDED_BY(mu_) = 0;
  // Set by a savepoint that could not be ended (see Poison); atomic, since
  // the savepoint sets it whether or not it could take the lock.
  std::atomic<bool> poisoned_{false};

  friend class SavepointTransaction;
};

// A nested transaction: a savepoint of its parent, set with its first
// batch. Commit releases it; Rollback rolls back to it, which also clears
// an abort the savepoint's statements caused, so the parent goes on.
class SavepointTransaction : public Transaction {
 public:
  SavepointTransaction(NativeTransaction* parent, std::string savepoint)
      : parent_(parent), savepoint_(std::move(savepoint)) {}

  ~SavepointTransaction() override {
    if (state_ != State::kDone) {
      absl::Status ignored = Rollback(absl::Now() + absl::Seconds(5));
      (void)ignored;
    }
  }

  absl::string_view name() const override { return "backend.native"; }

  absl::Status ExecuteBatch(absl::Span<const exec::Statement> statements,
                            const exec::RequestContext& context) override {
    if (state_ == State::kDone) return Ended();
    std::vector<std::string> control;
    if (state_ == State::kNotBegun) {
      control.push_back(absl::StrCat("SAVEPOINT ", savepoint_));
    }
    bool reached = false;
    absl::Status status = parent_->RunControl(control, statements, context,
                                              /*recovers=*/false, &reached);
    // Begun only once the SAVEPOINT reached the server: rolling back to
    // one that does not exist would abort the parent.
    if (state_ == State::kNotBegun && reached) state_ = State::kOpen;
    return status;
  }

  absl::StatusOr<std::unique_ptr<Transaction>> Begin(
      const TransactionOptions& options,
      const exec::RequestContext& context) override {
    return parent_->Begin(options, context);
  }

  // Either releases the savepoint (OK: its work stays in the parent) or
  // rolls back to it (an error: none of its work stays); when neither can
  // be done the parent is poisoned, so that it cannot commit the work.
  absl::Status Commit(absl::Time deadline) override {
    if (state_ == State::kDone) return Ended();
    if (state_ == State::kNotBegun) {
      state_ = State::kDone;
      return absl::OkStatus();
    }
    if (parent_->aborted()) {
      // As a transaction does: an aborted savepoint is rolled back, not
      // released, and the parent goes on.
      absl::Status rolled_back = Rollback(deadline);
      if (!rolled_back.ok()) return rolled_back;
      return absl::FailedPreconditionError(
          "the nested transaction was aborted by an earlier error and has "
          "been rolled back to its savepoint; nothing of it was kept");
    }
    exec::RequestContext context;
    context.deadline = deadline;
    absl::Status released = parent_->RunControl(
        {absl::StrCat("RELEASE SAVEPOINT ", savepoint_)}, {}, context,
        /*recovers=*/false);
    if (released.ok()) {
      state_ = State::kDone;
      return absl::OkStatus();
    }
    // Not released (e.g. the deadline passed before RELEASE was sent): the
    // failure reported must not leave the savepoint's writes behind. Rolling
    // back is cleanup, with a bound of its own.
    absl::Status rolled_back = Rollback(absl::Now() + kCleanupBound);
    (void)rolled_back;  // on failure Rollback poisoned the parent
    return released;
  }

  absl::Status Rollback(absl::Time deadline) override {
    if (state_ == State::kDone) return Ended();
    const bool begun = state_ == State::kOpen;
    state_ = State::kDone;
    if (!begun) return absl::OkStatus();
    exec::RequestContext context;
    context.deadline = deadline;
    absl::Status status = parent_->RunControl(
        {absl::StrCat("ROLLBACK TO SAVEPOINT ", savepoint_),
         absl::StrCat("RELEASE SAVEPOINT ", savepoint_)},
        {}, context, /*recovers=*/true);
    // The savepoint's writes may still be in the parent: it must not
    // commit them.
    if (!status.ok()) parent_->Poison();
    return status;
  }

  bool open() const override { return state_ != State::kDone; }

 private:
  enum class State { kNotBegun, kOpen, kDone };
  NativeTransaction* parent_;
  const std::string savepoint_;
  State state_ = State::kNotBegun;
};

absl::StatusOr<std::unique_ptr<Transaction>> NativeTransaction::Begin(
    const TransactionOptions& options, const exec::RequestContext& context) {
  if (context.HasSettings()) {
    return absl::InvalidArgumentError(
        "a nested transaction cannot set context variables or a role; they "
        "belong to the outer transaction");
  }
  if (options.isolation != TransactionOptions().isolation ||
      options.read_only) {
    return absl::InvalidArgumentError(
        "a nested transaction (a savepoint) has its parent's isolation and "
        "access mode; give those to the outer transaction");
  }
  if (!mu_.TryLock()) return Busy();
  absl::Status usable = state_ == State::kDone ? Ended()
                        : state_ == State::kAborted || state_ == State::kFailed
                            ? Aborted()
                        : poisoned_.load() ? Poisoned()
                                           : absl::OkStatus();
  std::string savepoint = absl::StrCat("fraiseql_sp_", ++savepoints_);
  mu_.Unlock();
  RETURN_IF_ERROR(usable);
  return std::unique_ptr<Transaction>(
      new SavepointTransaction(this, std::move(savepoint)));
}

NativeBackend::NativeBackend(std::shared_ptr<pool::Pool> pool,
                             NativeBackendOptions options)
    : pool_(std::move(pool)) {
  options_.chunk_rows = options.chunk_rows;
  options_.session_statement_timeout =
      pool_->options().connection.statement_timeout;
  options_.default_statement_timeout = options.statement_timeout;
  // A cache of size 0 would prepare every call and never deallocate.
  if (options.prepared_statements && !options.pgbouncer) {
    statements_per_connection_ = options.prepared_statements_per_connection;
  }
}

namespace {

// The prepared statements a connection keeps, in its session slot: they
// describe its server session, so they go when the connection goes.
struct PreparedStatements : pool::SessionState {
  explicit PreparedStatements(size_t capacity) : cache(capacity) {}
  stream::StatementCache cache;
};

}  // namespace

stream::StatementCache* NativeBackend::StatementCacheOf(
    const pool::Connection& connection) {
  auto* prepared =
      dynamic_cast<PreparedStatements*>(connection.session_state());
  return prepared == nullptr ? nullptr : &prepared->cache;
}

stream::StreamOptions NativeBackend::OptionsFor(
    pool::Connection& connection) const {
  stream::StreamOptions options = options_;
  if (statements_per_connection_ == 0) return options;
  if (connection.session_state() == nullptr) {
    connection.set_session_state(
        std::make_unique<PreparedStatements>(statements_per_connection_));
  }
  // Another kind of state there (not ours to replace): nothing prepared.
  options.statements = StatementCacheOf(connection);
  return options;
}

absl::StatusOr<pool::PooledConnection> NativeBackend::Acquire(
    const exec::RequestContext& context) {
  const absl::Time start = absl::Now();
  absl::Time deadline =
      std::min(context.deadline, start + pool_->options().acquire_timeout);
  absl::StatusOr<pool::PooledConnection> connection = pool_->Acquire(deadline);
  if (context.stats != nullptr) {
    context.stats->acquire_wait += absl::Now() - start;
    if (!connection.ok()) {
      if (std::optional<std::string> sqlstate = SqlStateOf(connection.status());
          sqlstate.has_value()) {
        context.stats->sqlstate = *std::move(sqlstate);
      }
    }
  }
  return connection;
}

void NativeBackend::Settle(pool::PooledConnection& connection) {
  if (!connection->IsReusable()) {
    connection.Discard();
  }
}

absl::Status NativeBackend::Execute(const exec::Plan& plan,
                                    const exec::RequestContext& context,
                                    exec::RowSink* sink) {
  const exec::Statement statement{&plan, sink};
  return ExecuteBatch(absl::MakeConstSpan(&statement, 1), context);
}

absl::Status NativeBackend::ExecuteBatch(
    absl::Span<const exec::Statement> statements,
    const exec::RequestContext& context) {
  absl::StatusOr<pool::PooledConnection> connection = Acquire(context);
  if (!connection.ok()) return connection.status();
  absl::StatusOr<stream::StreamResult> result = stream::StreamBatch(
      (*connection)->raw(), statements, OptionsFor(*connection->get()),
      stream::BatchOptions(), context);
  RecordBatch(context, result);
  Settle(*connection);
  return result.status();
}

absl::StatusOr<std::unique_ptr<Transaction>> NativeBackend::Begin(
    const TransactionOptions& options, const exec::RequestContext& context) {
  RETURN_IF_ERROR(exec::ValidateRequestContext(context));
  ASSIGN_OR_RETURN(pool::PooledConnection connection, Acquire(context));
  return std::unique_ptr<Transaction>(new NativeTransaction(
      this, std::move(connection), BeginSql(options), context));
}

namespace {

absl::Status BadOption(absl::string_view key, absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid backend option '", key, "' for native: expected ", expected));
}

absl::StatusOr<NativeBackendOptions> ParseNativeOptions(
    const std::map<std::string, std::string>& options) {
  NativeBackendOptions parsed;
  for (const auto& [key, value] : options) {
    if (key == "chunk_rows") {
      if (!absl::SimpleAtoi(value, &parsed.chunk_rows) ||
          parsed.chunk_rows < 1) {
        return BadOption(key, "an integer of at least 1");
      }
    } else if (key == "prepared_statements" || key == "pgbouncer") {
      bool flag = false;
      if (value == "true") {
        flag = true;
      } else if (value != "false") {
        return BadOption(key, "true or false");
      }
      (key == "pgbouncer" ? parsed.pgbouncer : parsed.prepared_statements) =
          flag;
    } else if (key == "prepared_statements_per_connection") {
      if (!absl::SimpleAtoi(value,
                            &parsed.prepared_statements_per_connection) ||
          parsed.prepared_statements_per_connection < 1) {
        return BadOption(key, "an integer of at least 1");
      }
    } else {
      // Option keys come from the caller's configuration; a known prefix of
      // printable text is enough to find the typo.
      return absl::InvalidArgumentError(
          "unknown backend option for native; expected chunk_rows, "
          "prepared_statements, prepared_statements_per_connection or "
          "pgbouncer");
    }
  }
  return parsed;
}

}  // namespace

absl::Status RegisterNativeBackend(BackendRegistry* registry) {
  return registry->Register(
      "native",
      [](const BackendConfig& config)
          -> absl::StatusOr<std::shared_ptr<Backend>> {
        ASSIGN_OR_RETURN(NativeBackendOptions options,
                         ParseNativeOptions(config.options));
        options.statement_timeout = config.statement_timeout;
        return std::make_shared<NativeBackend>(config.pool, options);
      });
}

}  // namespace fraiseql::plugins
