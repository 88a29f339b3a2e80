#include "stream/chunked_query.h"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/pg_status.h"
#include "stream/settings_statement.h"

namespace fraiseql::stream {
namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// How long cleanup (draining after a cancel, ROLLBACK) may take before the
// connection is given up on and left for the pool to discard.
constexpr absl::Duration kCleanupBound = absl::Seconds(5);
// How often a cancel flag is looked at while waiting for the server.
constexpr absl::Duration kCancelSlice = absl::Milliseconds(50);

// The commands that bring a session back to its startup state, first in
// every batch that owns its transaction (see chunked_query.h).
constexpr const char* kResetSession[] = {
    "RESET ALL",
    "RESET SESSION AUTHORIZATION",
    "RESET ROLE",
};

absl::Status ConnectionError(PGconn* conn, absl::string_view what) {
  // libpq's message may carry the server's last error, quoting input.
  std::string why =
      WithholdQuotedText(PgMessageOneLine(PQerrorMessage(conn)));
  if (PQstatus(conn) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        what, ": the connection to the server was lost: ", why));
  }
  return absl::UnavailableError(absl::StrCat(what, ": ", why));
}

// Only the primary message: the detail and hint quote input more often.
// StatusFromSqlState withholds whatever the message quotes, in every
// SQLSTATE class (base/pg_status.h, WithholdQuotedText).
absl::Status ServerError(const PGresult* result) {
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const absl::string_view state = sqlstate != nullptr ? sqlstate : "XX000";
  return StatusFromSqlState(
      state, "query failed",
      primary != nullptr ? primary : PQresultErrorMessage(result));
}

absl::Status QueryTimeout(std::string message) {
  absl::Status status = absl::DeadlineExceededError(std::move(message));
  status.SetPayload(exec::kQueryTimeoutPayloadUrl, absl::Cord("query"));
  return status;
}

void SendCancel(PGconn* conn) {
  if (PGcancel* cancel = PQgetCancel(conn)) {
    char buf[256];
    PQcancel(cancel, buf, sizeof buf);
    PQfreeCancel(cancel);
  }
}

enum class Wait { kReady, kDeadline, kCancelled, kBroken, kWouldBlock };

// Waits until PQgetResult can return without blocking: polls the socket
// with the time left (in slices when there is a cancel flag to look at).
// When `may_block` is false it returns kWouldBlock instead of polling, the
// first time it would have to.
Wait WaitForResult(PGconn* conn, absl::Time deadline,
                   const std::atomic<bool>* cancelled, bool may_block) {
  while (true) {
    // Checked before anything else: a server that keeps rows coming must
    // not keep a cancelled or late call streaming.
    if (cancelled != nullptr && cancelled->load(std::memory_order_relaxed)) {
      return Wait::kCancelled;
    }
    const bool bounded = deadline != absl::InfiniteFuture();
    const absl::Time now = bounded ? absl::Now() : absl::InfinitePast();
    if (bounded && now >= deadline) return Wait::kDeadline;
    // A result already buffered needs no read. PQconsumeInput on every row
    // would compact libpq's input buffer each time: quadratic on big
    // results (10k rows took 800 ms instead of 80).
    if (!PQisBusy(conn)) return Wait::kReady;
    if (!PQconsumeInput(conn)) return Wait::kBroken;
    if (!PQisBusy(conn)) return Wait::kReady;
    if (!may_block) return Wait::kWouldBlock;
    absl::Duration slice = bounded ? deadline - now : absl::InfiniteDuration();
    if (cancelled != nullptr) slice = std::min(slice, kCancelSlice);
    int timeout_ms = -1;
    if (slice != absl::InfiniteDuration()) {
      timeout_ms = static_cast<int>(std::min<int64_t>(
          INT_MAX, absl::ToInt64Milliseconds(absl::Ceil(
                       slice, absl::Milliseconds(1)))));
    }
    pollfd fd{PQsocket(conn), POLLIN, 0};
    if (fd.fd < 0) return Wait::kBroken;
    if (poll(&fd, 1, timeout_ms) < 0 && errno != EINTR) return Wait::kBroken;
  }
}

// What one sent command is, so its results are read in order.
enum class Step { kBegin, kSetConfig, kPrepare, kQuery, kCommit, kOther };

struct SentStep {
  Step step;
  size_t statement = 0;  // kPrepare, kQuery: index into the batch
};

// A Parse sent in this pipeline: recorded in the statement cache once the
// server confirms it.
struct PendingPrepare {
  std::string sql;
  std::string name;
};

// Why we stopped waiting normally.
enum class Interrupt { kNone, kDeadline, kCancelled, kSink, kBroken };

class Run {
 public:
  Run(PGconn* conn, absl::Span<const exec::Statement> statements,
      const StreamOptions& options, const BatchOptions& batch,
      const exec::RequestContext& context)
      : conn_(conn),
        statements_(statements),
        options_(options),
        batch_(batch),
        context_(context) {}

  absl::StatusOr<StreamResult> Go();

  // The statement_timeout the request's statements run under (see
  // StreamOptions); zero: the session's own, nothing sent.
  absl::Duration EffectiveStatementTimeout() const;

  // The call failed only because a statement believed prepared on this
  // connection was not (SQLSTATE 26000) before any row: safe to run again
  // unprepared.
  bool StaleStatement() const {
    return executed_by_name_ && stats_.rows == 0 &&
           interrupt_ == Interrupt::kNone && !failure_.ok() &&
           SqlStateOf(failure_) == "26000";
  }

 private:
  // Sends the request's pipeline; false when libpq refused a command.
  bool Send();
  bool SendCommand(const char* sql, Step step);
  bool SendReset();
  bool SendSettings();
  // InvalidArgument when a parameter holds a NUL byte (libpq would cut the
  // text there); checked before anything is sent.
  absl::Status CheckParams() const;
  bool SendStatement(size_t index);
  // Reads the results of `steps_` and the Sync; false when it gave up.
  bool ReadAll();
  void ReadSteps();
  // Reads one step's results up to its terminating null.
  void ReadStep(const SentStep& step);
  // The name `sql` runs by on this connection when statements are
  // prepared, sending its Parse first when it is new here (a kPrepare
  // step); stays nullopt without a statement cache (PgBouncer). False:
  // libpq refused to send.
  bool NameFor(const std::string& sql, int param_count, size_t index,
               std::optional<std::string>* name);
  // Waits for a result under the current deadline; on a deadline or cancel,
  // cancels on the server and switches to the cleanup bound. False when
  // the connection broke or cleanup took too long (give up reading).
  bool WaitOrInterrupt();
  void Interrupted(Interrupt why);
  void RecordFailure(absl::Status status) {
    if (failure_.ok()) failure_ = std::move(status);
  }
  absl::Status Flush();
  // After the main pipeline: ROLLBACK when a transaction is left open, and
  // DEALLOCATE of evicted statements; one more round trip, only when needed.
  void Cleanup(const std::vector<std::string>& evicted);
  absl::Status FinalStatus();

  PGconn* conn_;
  absl::Span<const exec::Statement> statements_;
  const StreamOptions& options_;
  const BatchOptions& batch_;
  const exec::RequestContext& context_;

  std::vector<SentStep> steps_;
  std::vector<PendingPrepare> prepares_;  // by kPrepare step, in order
  size_t prepares_read_ = 0;
  bool executed_by_name_ = false;
  absl::Time start_ = absl::InfinitePast();  // when Go began
  absl::Time deadline_ = absl::InfiniteFuture();
  absl::Duration budget_ = absl::InfiniteDuration();
  const std::atomic<bool>* cancelled_ = nullptr;
  Interrupt interrupt_ = Interrupt::kNone;
  bool gave_up_ = false;
  // The main pipeline was read to its Sync, and no row was dropped on the
  // way: the work completed even if a deadline or cancel came too late.
  bool completed_ = false;
  int64_t dropped_rows_ = 0;
  absl::Status failure_;       // first server or protocol error
  absl::Status sink_failure_;  // the sink's own status

  // Chunking.
  size_t chunk_rows_ = 1;
  StreamResult stats_;
  std::vector<Result> held_;  // keeps the chunk's rows alive until handed on
  exec::RowChunk chunk_;
  exec::RowSink* sink_ = nullptr;  // the statement being read; null: discard
};

absl::Status Run::Flush() {
  if (chunk_.rows.empty()) return absl::OkStatus();
  absl::Status status =
      sink_ != nullptr ? sink_->OnChunk(chunk_) : absl::OkStatus();
  ++stats_.chunks;
  chunk_.rows.clear();
  chunk_.more.clear();
  held_.clear();
  return status;
}

void Run::Interrupted(Interrupt why) {
  if (interrupt_ == Interrupt::kNone) interrupt_ = why;
  if (why == Interrupt::kBroken) {
    gave_up_ = true;
    return;
  }
  SendCancel(conn_);
  // The rest is cleanup: bounded, and no longer cancellable.
  deadline_ = absl::Now() + kCleanupBound;
  cancelled_ = nullptr;
}

bool Run::WaitOrInterrupt() {
  while (!gave_up_) {
    // Rows held while the server has sent nothing more are handed on before
    // waiting: the sink works while the server does, and the rows left for
    // the end of the result are only those of its last packets. (After an
    // error or interrupt, held rows are never handed on, as before.)
    const bool holding =
        !chunk_.rows.empty() && failure_.ok() && interrupt_ == Interrupt::kNone;
    switch (WaitForResult(conn_, deadline_, cancelled_,
                          /*may_block=*/!holding)) {
      case Wait::kReady:
        return true;
      case Wait::kWouldBlock:
        sink_failure_ = Flush();
        if (!sink_failure_.ok()) Interrupted(Interrupt::kSink);
        break;
      case Wait::kBroken:
        Interrupted(Interrupt::kBroken);
        return false;
      case Wait::kDeadline:
        if (interrupt_ != Interrupt::kNone) {  // cleanup ran out of time
          gave_up_ = true;
          return false;
        }
        Interrupted(Interrupt::kDeadline);
        break;
      case Wait::kCancelled:
        Interrupted(Interrupt::kCancelled);
        break;
    }
  }
  return false;
}

void Run::ReadStep(const SentStep& sent) {
  const Step step = sent.step;
  if (step == Step::kQuery) {
    sink_ = statements_[sent.statement].sink;
    chunk_.columns = 1;
  }
  if (step == Step::kQuery && !PQsetSingleRowMode(conn_)) {
    RecordFailure(
        absl::InternalError("cannot switch the query to single-row mode"));
  }
  auto cell = [](const PGresult* r, int column) {
    return PQgetisnull(r, 0, column)
               ? absl::string_view("null")
               : absl::string_view(
                     PQgetvalue(r, 0, column),
                     static_cast<size_t>(PQgetlength(r, 0, column)));
  };
  while (WaitOrInterrupt()) {
    PGresult* raw = PQgetResult(conn_);
    if (raw == nullptr) return;  // this step's results are done
    Result result(raw);
    const ExecStatusType status = PQresultStatus(raw);
    const bool stopped = !failure_.ok() || interrupt_ != Interrupt::kNone;
    switch (status) {
      case PGRES_SINGLE_TUPLE:
        if (stopped || step != Step::kQuery) {  // draining
          ++dropped_rows_;
          break;
        }
        chunk_.rows.push_back(cell(raw, 0));
        if (int columns = PQnfields(raw); columns > 1) {
          chunk_.columns = columns;
          for (int c = 1; c < columns; ++c) chunk_.more.push_back(cell(raw, c));
        }
        held_.push_back(std::move(result));
        ++stats_.rows;
        if (chunk_.rows.size() >= chunk_rows_) {
          sink_failure_ = Flush();
          if (!sink_failure_.ok()) Interrupted(Interrupt::kSink);
        }
        break;
      case PGRES_TUPLES_OK:
        if (step == Step::kQuery && !stopped) {
          // End of the rows (or a zero-row result in single-row mode).
          sink_failure_ = Flush();
          if (!sink_failure_.ok()) Interrupted(Interrupt::kSink);
        }
        break;
      case PGRES_COMMAND_OK:
        if (step == Step::kPrepare && options_.statements != nullptr) {
          const PendingPrepare& prepared = prepares_[prepares_read_];
          options_.statements->Insert(prepared.sql, prepared.name);
        }
        break;
      case PGRES_PIPELINE_ABORTED:
        break;  // an earlier command failed; its error is recorded
      case PGRES_FATAL_ERROR:
      case PGRES_NONFATAL_ERROR:
      case PGRES_BAD_RESPONSE:
        RecordFailure(ServerError(raw));
        break;
      default:
        RecordFailure(absl::InternalError(absl::StrCat(
            "unexpected result status ", PQresStatus(status))));
    }
  }
}

void Run::ReadSteps() {
  for (const SentStep& step : steps_) {
    if (gave_up_) return;
    ReadStep(step);
    if (step.step == Step::kPrepare) ++prepares_read_;
  }
}

bool Run::ReadAll() {
  ReadSteps();
  // The Sync's own result; no null follows it.
  while (!gave_up_ && WaitOrInterrupt()) {
    Result result(PQgetResult(conn_));
    if (result != nullptr &&
        PQresultStatus(result.get()) == PGRES_PIPELINE_SYNC) {
      return true;
    }
  }
  return false;
}

bool Run::SendCommand(const char* sql, Step step) {
  if (!PQsendQueryParams(conn_, sql, 0, nullptr, nullptr, nullptr, nullptr,
                         0)) {
    return false;
  }
  steps_.push_back({step});
  return true;
}

bool Run::SendReset() {
  for (const char* sql : kResetSession) {
    if (!SendCommand(sql, Step::kOther)) return false;
  }
  return true;
}

absl::Duration Run::EffectiveStatementTimeout() const {
  const absl::Duration zero = absl::ZeroDuration();
  if (context_.statement_timeout > zero) return context_.statement_timeout;
  const absl::Duration by_default = options_.default_statement_timeout;
  const absl::Duration pool = options_.session_statement_timeout;
  if (by_default > zero && pool > zero) return std::min(by_default, pool);
  if (by_default > zero) return by_default;
  return pool > zero ? pool : zero;
}

absl::Status Run::CheckParams() const {
  for (size_t s = 0; s < statements_.size(); ++s) {
    const std::vector<exec::Param>& params = statements_[s].plan->params;
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].is_null ||
          params[i].text.find('\0') == std::string::npos) {
        continue;
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid parameter $", i + 1,
          statements_.size() > 1
              ? absl::StrCat(" of statement ", s + 1, " of the batch")
              : std::string(),
          ": text contains a NUL byte"));
    }
  }
  return absl::OkStatus();
}

bool Run::SendSettings() {
  const std::optional<exec::Plan> settings =
      SettingsStatement(context_, EffectiveStatementTimeout());
  if (!settings.has_value()) return true;
  std::vector<const char*> bound;
  bound.reserve(settings->params.size());
  for (const exec::Param& p : settings->params) bound.push_back(p.text.c_str());
  // Prepared like the statements (one shape per number of settings): the
  // server then skips parsing and planning it on every request.
  // Only in a batch of its own (kAuto), which runs again unprepared if the
  // name turns out to be gone (PgBouncer without pgbouncer=true); a
  // transaction's first batch (kBegin) cannot be run again.
  std::optional<std::string> name;
  const int count = static_cast<int>(bound.size());
  if (batch_.transaction == TransactionControl::kAuto &&
      !NameFor(settings->sql, count, /*index=*/0, &name)) {
    return false;
  }
  const int sent =
      name.has_value()
          ? PQsendQueryPrepared(conn_, name->c_str(), count, bound.data(),
                                nullptr, nullptr, 0)
          : PQsendQueryParams(conn_, settings->sql.c_str(), count, nullptr,
                              bound.data(), nullptr, nullptr, 0);
  if (!sent) return false;
  if (name.has_value()) executed_by_name_ = true;
  steps_.push_back({Step::kSetConfig});
  return true;
}

bool Run::NameFor(const std::string& sql, int param_count, size_t index,
                  std::optional<std::string>* name) {
  if (options_.statements == nullptr || options_.statements->disabled()) {
    return true;
  }
  *name = options_.statements->Find(sql);
  if (!name->has_value()) {
    // The same shape twice in one batch is parsed once.
    for (const PendingPrepare& pending : prepares_) {
      if (pending.sql == sql) *name = pending.name;
    }
  }
  if (name->has_value()) return true;
  PendingPrepare pending{sql, StatementCache::NewName()};
  if (!PQsendPrepare(conn_, pending.name.c_str(), sql.c_str(), param_count,
                     nullptr)) {
    return false;
  }
  steps_.push_back({Step::kPrepare, index});
  *name = pending.name;
  prepares_.push_back(std::move(pending));
  return true;
}

bool Run::SendStatement(size_t index) {
  const exec::Statement& statement = statements_[index];
  const exec::Plan& plan = *statement.plan;
  std::vector<const char*> values;
  values.reserve(plan.params.size());
  for (const exec::Param& p : plan.params) {
    values.push_back(p.is_null ? nullptr : p.text.c_str());
  }
  std::optional<std::string> name;
  if (statement.prepare &&
      !NameFor(plan.sql, static_cast<int>(values.size()), index, &name)) {
    return false;
  }
  const int sent =
      name.has_value()
          ? PQsendQueryPrepared(conn_, name->c_str(),
                                static_cast<int>(values.size()), values.data(),
                                nullptr, nullptr, /*resultFormat=*/0)
          : PQsendQueryParams(conn_, plan.sql.c_str(),
                              static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr,
                              /*resultFormat=*/0);
  if (!sent) return false;
  if (name.has_value()) executed_by_name_ = true;
  steps_.push_back({Step::kQuery, index});
  return true;
}

bool Run::Send() {
  bool commit = false;
  if (batch_.transaction != TransactionControl::kInside && !SendReset()) {
    return false;
  }
  switch (batch_.transaction) {
    case TransactionControl::kAuto:
      if (statements_.size() > 1) {
        // One snapshot for every statement (a page and its totalCount,
        // the root fields of one request).
        if (!SendCommand("BEGIN ISOLATION LEVEL REPEATABLE READ",
                         Step::kBegin)) {
          return false;
        }
        commit = true;
      } else if (context_.NeedsTransaction()) {
        if (!SendCommand("BEGIN", Step::kBegin)) return false;
        commit = true;
      }
      // Without BEGIN only the statement_timeout can be left to send:
      // set_config(..., true) then holds for the pipeline's implicit
      // transaction, up to the Sync.
      if (!SendSettings()) return false;
      break;
    case TransactionControl::kBegin:
      if (!SendCommand(batch_.begin_sql.c_str(), Step::kBegin) ||
          !SendSettings()) {
        return false;
      }
      break;
    case TransactionControl::kInside:
      break;
  }
  for (size_t i = 0; i < statements_.size(); ++i) {
    if (!SendStatement(i)) return false;
  }
  if (commit && !SendCommand("COMMIT", Step::kCommit)) return false;
  return PQpipelineSync(conn_) == 1;
}

void Run::Cleanup(const std::vector<std::string>& evicted) {
  // kInside leaves the caller's transaction to the caller; kBegin keeps it
  // open only when everything succeeded.
  const bool failed = !failure_.ok() || interrupt_ != Interrupt::kNone;
  const bool rollback =
      PQtransactionStatus(conn_) != PQTRANS_IDLE &&
      (batch_.transaction == TransactionControl::kAuto ||
       (batch_.transaction == TransactionControl::kBegin && failed &&
        !(batch_.keep_open_on_error &&
          PQtransactionStatus(conn_) == PQTRANS_INERROR)));
  // A failed batch rolled its own RESET back with its transaction, and the
  // previous caller's session state with it: reset again, so that a
  // connection goes back to the pool in its startup state whatever
  // happened. (The state is never visible to a later batch's statements,
  // which reset first; but defaults such as default_transaction_read_only
  // apply when that batch's transaction starts, before its RESET.)
  const bool reset =
      failed && batch_.transaction != TransactionControl::kInside &&
      (rollback || PQtransactionStatus(conn_) == PQTRANS_IDLE);
  if (gave_up_ || (!rollback && !reset && evicted.empty())) return;
  steps_.clear();
  if (rollback) {
    if (!PQsendQueryParams(conn_, "ROLLBACK", 0, nullptr, nullptr, nullptr,
                           nullptr, 0)) {
      return;
    }
    steps_.push_back({Step::kOther});
  }
  if (reset && !SendReset()) return;
  for (const std::string& name : evicted) {
    // Names are ours ("fql_<n>"): safe to quote as identifiers.
    std::string sql = absl::StrCat("DEALLOCATE \"", name, "\"");
    if (!PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr,
                           nullptr, 0)) {
      return;
    }
    steps_.push_back({Step::kOther});
  }
  if (PQpipelineSync(conn_) != 1) return;
  // Errors here (a statement already gone) change nothing for the caller.
  absl::Status kept = failure_;
  if (interrupt_ == Interrupt::kNone) deadline_ = absl::Now() + kCleanupBound;
  cancelled_ = nullptr;
  ReadAll();
  failure_ = kept;
}

absl::Status Run::FinalStatus() {
  if (PQstatus(conn_) != CONNECTION_OK || interrupt_ == Interrupt::kBroken) {
    return ConnectionError(conn_, "query failed");
  }
  if ((interrupt_ == Interrupt::kDeadline ||
       interrupt_ == Interrupt::kCancelled) &&
      completed_) {
    // Every result arrived before the cancel took effect: the statements
    // ran (a COMMIT committed), so say what happened, not that time ran
    // out.
    if (failure_.ok()) return absl::OkStatus();
    if (SqlStateOf(failure_) != "57014") return failure_;
  }
  switch (interrupt_) {
    case Interrupt::kSink:
      return sink_failure_;
    case Interrupt::kDeadline:
      return QueryTimeout(absl::StrCat(
          "query exceeded its deadline of ", absl::FormatDuration(budget_),
          "; cancelled on the server"));
    case Interrupt::kCancelled:
      return absl::CancelledError(
          "query cancelled by the caller; cancelled on the server");
    default:
      break;
  }
  // Whichever timeout applied: the one sent, else the session's. A 57014
  // is also what pg_cancel_backend gives: it is our timeout only when at
  // least that long has passed here (the server counts from a later
  // start), and the server does not say it was a user request (English
  // messages; the time alone decides for others).
  const absl::Duration timeout = EffectiveStatementTimeout();
  if (!failure_.ok() && SqlStateOf(failure_) == "57014" &&
      timeout > absl::ZeroDuration() && absl::Now() - start_ >= timeout &&
      !absl::StrContains(failure_.message(), "due to user request")) {
    absl::Status status = QueryTimeout(absl::StrCat(
        "query exceeded statement_timeout of ", absl::FormatDuration(timeout),
        " on the server (SQLSTATE 57014)"));
    status.SetPayload(kSqlStatePayloadUrl, absl::Cord("57014"));
    return status;
  }
  return failure_;
}

absl::StatusOr<StreamResult> Run::Go() {
  if (absl::Status valid = exec::ValidateRequestContext(context_);
      !valid.ok()) {
    return valid;
  }
  if (batch_.transaction == TransactionControl::kInside &&
      context_.NeedsTransaction()) {
    return absl::InvalidArgumentError(
        "a statement inside a transaction cannot set context variables, a "
        "role or a statement_timeout; they are set once, when the "
        "transaction begins");
  }
  for (const exec::Statement& statement : statements_) {
    if (statement.plan == nullptr) {
      return absl::InvalidArgumentError("a statement of the batch has no plan");
    }
  }
  if (absl::Status params = CheckParams(); !params.ok()) return params;
  const absl::Time start = absl::Now();
  start_ = start;
  deadline_ = context_.deadline;
  // For the message: the time this statement was given, to the millisecond.
  budget_ = absl::Ceil(deadline_ - start, absl::Milliseconds(1));
  cancelled_ = context_.cancelled;
  if (deadline_ <= start) {
    return QueryTimeout("query exceeded its deadline before it was sent");
  }
  if (cancelled_ != nullptr && cancelled_->load()) {
    return absl::CancelledError("query cancelled by the caller before it was sent");
  }
  chunk_rows_ = options_.chunk_rows > 0 ? options_.chunk_rows : 1;
  held_.reserve(chunk_rows_);
  chunk_.rows.reserve(chunk_rows_);

  if (!PQenterPipelineMode(conn_)) {
    return ConnectionError(conn_, "cannot start the query pipeline");
  }
  // Evicted statements are deallocated after a batch that ends its own
  // transaction (kAuto). In a caller's transaction a DEALLOCATE that fails
  // would abort it behind the caller's back: they wait.
  const std::vector<std::string> evicted =
      options_.statements != nullptr &&
              batch_.transaction == TransactionControl::kAuto
          ? options_.statements->TakeEvicted()
          : std::vector<std::string>();
  if (!Send()) {
    absl::Status status = ConnectionError(conn_, "cannot send the query");
    // Whatever was queued before the failure still has to be read.
    if (PQpipelineSync(conn_) == 1) {
      failure_ = status;
      ReadAll();
      Cleanup(evicted);
    }
    PQexitPipelineMode(conn_);
    return status;
  }
  completed_ = ReadAll() && dropped_rows_ == 0;
  if (StaleStatement()) {
    // A statement we thought prepared is gone: most likely PgBouncer in
    // transaction pooling mode (another server session per transaction).
    // Stop preparing on this connection; StreamQuery runs the call again.
    options_.statements->Disable();
  }
  Cleanup(evicted);
  if (!gave_up_) PQexitPipelineMode(conn_);
  absl::Status status = FinalStatus();
  if (!status.ok()) return status;
  return stats_;
}

}  // namespace

absl::StatusOr<StreamResult> StreamBatch(
    PGconn* conn, absl::Span<const exec::Statement> statements,
    const StreamOptions& options, const BatchOptions& batch,
    const exec::RequestContext& context) {
  Run run(conn, statements, options, batch, context);
  absl::StatusOr<StreamResult> result = run.Go();
  // Inside the caller's transaction nothing can be run again: the
  // transaction is aborted.
  if (result.ok() || !run.StaleStatement() ||
      batch.transaction == TransactionControl::kInside ||
      PQstatus(conn) != CONNECTION_OK ||
      PQtransactionStatus(conn) != PQTRANS_IDLE) {
    return result;
  }
  StreamOptions unprepared = options;
  unprepared.statements = nullptr;
  return Run(conn, statements, unprepared, batch, context).Go();
}

absl::StatusOr<StreamResult> StreamQuery(PGconn* conn, const exec::Plan& plan,
                                         const StreamOptions& options,
                                         const exec::RequestContext& context,
                                         exec::RowSink* sink) {
  const exec::Statement statement{&plan, sink};
  return StreamBatch(conn, absl::MakeConstSpan(&statement, 1), options,
                     BatchOptions(), context);
}

}  // namespace fraiseql::stream
