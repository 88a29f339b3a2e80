// repository/: runs a whole query definition through the pipeline
// (planner -> backend -> stream -> response) and returns the GraphQL
// response body. This is what the Python module's Repository wraps.
#ifndef FRAISEQL_REPOSITORY_REPOSITORY_H_
#define FRAISEQL_REPOSITORY_REPOSITORY_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "exec/request_context.h"
#include "planner/planner.h"
#include "plugins/backend.h"
#include "proto/query.pb.h"
#include "response/response_writer.h"
#include "response/selection.h"
#include "where/operator.h"
#include "where/schema.h"

namespace fraiseql {

// The value of a value operation (count, exists, sum, avg, min, max,
// distinct): compact JSON text (a number, true/false, a string, null, or a
// list of those), and how to read its numbers.
struct Value {
  std::string json;
  // Numbers are decimals even when integral (Float and Decimal fields,
  // avg); otherwise integral numbers are integers (count, Int fields).
  bool decimal_numbers = false;
};

// Payload key on the ResourceExhausted status of a body past
// RepositoryOptions::max_response_bytes (value "response").
inline constexpr absl::string_view kResponseTooLargePayloadUrl =
    "fraiseql.dev/response-too-large";

struct RepositoryOptions {
  response::ProjectionOptions projection;
  planner::PlannerOptions planner;
  // A response body may not grow past this many bytes; 0: no cap. Past it
  // the statements are cancelled and the call fails with ResourceExhausted
  // (a streamed body that already sent bytes ends with the error in its
  // "errors" instead).
  // Also bounds a value call (ExecuteValue: count, sum, ..., distinct): the
  // JSON text of its value, counted as rows arrive, so a distinct over a
  // big column fails early instead of loading every value.
  size_t max_response_bytes = 0;
  // Root fields one request (Execute, ExecuteStreaming) may have; checked
  // before anything is planned. More: InvalidArgument naming the limit.
  // 0: no limit.
  size_t max_root_fields = 64;
};

// The pieces a landed body (Repository::Execute with a destination) is
// moved to its destination in: small enough to stay in the CPU's cache
// between being written and being moved.
inline constexpr size_t kLandingPieceBytes = size_t{256} << 10;

// The largest piece ExecuteStreaming hands over at a time (chunk_bytes):
// 64 MiB. A bigger chunk_bytes is InvalidArgument.
inline constexpr size_t kMaxChunkBytes = size_t{64} << 20;

// Receives a streamed response body, piece by piece, in order. A non-OK
// status stops the call (its statements are cancelled) and is returned.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual absl::Status OnBytes(absl::string_view bytes) = 0;
};

namespace repository_internal {
class CallRecorder;
}  // namespace repository_internal

// Call statistics: when a call's context has `stats` (exec::CallStats),
// every call below sets its execution time and the bytes it returned,
// however it ends; the backend adds the acquire wait and rows and the
// SQLSTATE of a failure (the native backend does; see
// plugins/backends/native/native_backend.h).
//
// Thread-safe; the schema, operators and backends are shared with their other
// users. Holds one Planner for its lifetime, so plans are cached by shape
// across calls (planner/planner.h); repositories made by InTransaction share
// it.
class Repository {
 public:
  // Reads go to `backend`; mutations and transactions to `writer` (null:
  // `backend` as well), e.g. a standby pool for reads and the primary's
  // for writes.
  Repository(std::shared_ptr<const where::Schema> schema,
             std::shared_ptr<const where::OperatorRegistry> operators,
             std::shared_ptr<plugins::Backend> backend,
             RepositoryOptions options = {},
             std::shared_ptr<plugins::Backend> writer = nullptr);

  // Plans every root field first (so bad input fails before any SQL is
  // sent), then sends all their statements in one batch
  // (plugins::Backend::ExecuteBatch: one round trip and one snapshot with
  // the native backend) and writes one body {"data":{<root>:...,...}}, in
  // request order: a list, an object (or null), a connection
  // {"edges":[{"cursor":...,"node":{...}}],"pageInfo":{...}[,"totalCount":n]}
  // or a value (count, exists, sum, ..., a list of distinct values).
  // A row that is not valid JSON makes its root field null with an entry in
  // "errors"; the other roots are unaffected. Errors: the planner's
  // (InvalidArgument, NotFound) and the backend's (see plugins/backend.h);
  // ResourceExhausted past max_response_bytes.
  //
  // Connections follow Relay: paging forward (`first`), hasNextPage says
  // whether rows follow the page and hasPreviousPage is false; paging
  // backward (`last`), hasPreviousPage says whether rows precede it and
  // hasNextPage is false (as graphql-relay-js does; the opposite flag would
  // cost another statement). totalCount is a second statement of the same
  // batch, so it reads the same snapshot as the page.
  //
  // `context` applies to every statement of the call (see
  // stream/request_context.h); its deadline bounds the whole call. Further
  // errors: InvalidArgument for a bad context variable name,
  // DeadlineExceeded (with exec::kQueryTimeoutPayloadUrl) when the
  // deadline or statement_timeout passes, Cancelled on the cancel flag.
  //
  // With a `destination` (empty), the body lands there as it is written,
  // in pieces of about kLandingPieceBytes, and the returned string is
  // empty: a caller that owns the final buffer (the Python module's bytes
  // object) never holds or copies the whole body twice. A field that fails
  // is cut from the destination again (Destination::Truncate); when the
  // call fails, the destination holds part of a body, to be discarded.
  absl::StatusOr<std::string> Execute(
      const v1::QueryDefinition& query,
      const exec::RequestContext& context = {},
      response::Destination* destination = nullptr) const;

  // The plans of every root of `query`, as Execute makes them first (its
  // planning errors), for a caller that needs them before the call runs:
  // ExecutePlanned then runs them without planning again (so a Python
  // operator renders once), and BodySizeHint sizes the body's buffer.
  absl::StatusOr<std::vector<planner::RootPlan>> Plan(
      const v1::QueryDefinition& query) const {
    return PlanAll(query);
  }

  // Execute, for plans made by this repository's Plan.
  absl::StatusOr<std::string> ExecutePlanned(
      const std::vector<planner::RootPlan>& plans,
      const exec::RequestContext& context = {},
      response::Destination* destination = nullptr) const;

  // The bytes to have ready for the body of `plans`: the size of the last
  // body of the same plan shapes and a little more (an eighth and 4 KiB);
  // 0 when none is known.
  static size_t BodySizeHint(const std::vector<planner::RootPlan>& plans);

  // Execute for several independent queries whose contexts carry the same
  // settings (variables, role, statement_timeout): their statements go to
  // the server in one batch (one round trip, one snapshot) and each query
  // gets its own body or error, as Execute would give it. `contexts[i]` is
  // query i's (its stats are filled as Execute fills them, execution and
  // acquire wait being the batch's); the batch runs until the earliest
  // deadline and is cancelled by `*any_cancelled` (null: never). When the
  // batch fails as a whole (a server error in one statement aborts the
  // pipeline; a deadline; a cancel), or the contexts differ, or this
  // repository runs in a transaction, each query runs on its own instead,
  // so every outcome is the one it would have had alone. A query that
  // fails to plan fails alone. `destinations`, when given, has one per
  // query (null: none): query i's body lands in destinations[i] as with
  // Execute's.
  std::vector<absl::StatusOr<std::string>> ExecuteMany(
      absl::Span<const v1::QueryDefinition* const> queries,
      absl::Span<const exec::RequestContext* const> contexts,
      const std::atomic<bool>* any_cancelled = nullptr,
      absl::Span<response::Destination* const> destinations = {}) const;

  // Execute, with the body handed to `sink` in pieces of about
  // `chunk_bytes` as rows arrive, so memory stays bounded by the chunk
  // sizes, not the result. The sink runs on the calling thread; while it
  // works no rows are read (backpressure down to the server's socket).
  // Errors as Execute, plus InvalidArgument for a chunk_bytes over
  // kMaxChunkBytes; when they come after bytes were handed over, the
  // body handed over so far is incomplete (except for the size cap, see
  // RepositoryOptions).
  absl::Status ExecuteStreaming(const v1::QueryDefinition& query,
                                const exec::RequestContext& context,
                                BodySink* sink,
                                size_t chunk_bytes = 64 * 1024) const;

  // Runs one root field of a value operation (operation other than FIND)
  // and returns its value. Errors as Execute, plus InvalidArgument for a
  // FIND root, DataLoss when the server's value is not valid JSON, and
  // ResourceExhausted (with kResponseTooLargePayloadUrl) when the value's
  // JSON text passes max_response_bytes (its statement is cancelled).
  absl::StatusOr<Value> ExecuteValue(
      const v1::RootField& root,
      const exec::RequestContext& context = {}) const;

  // Calls the mutation's function in a transaction of the writer backend
  // (a savepoint when this repository runs in a transaction) carrying
  // `context`, and returns {"data":{<key>:{...}}}: the outcome written with
  // the success type's selection when the returned status is a success
  // (the transaction commits), else with the error type's, with its code
  // (the transaction rolls back: nothing half-written). See
  // planner/mutation.h. Errors: the planner's; the server's (the function
  // raised: rolled back); DataLoss when the function returned no row or
  // no status.
  //
  // What is reported is what stays: an error means none of the function's
  // writes remain (in a transaction: rolled back to its savepoint, or the
  // transaction can only roll back any more); a body means they were
  // committed (released into the transaction). Once the function has
  // returned, ending its transaction or savepoint is cleanup with a bound
  // of its own, not the call's deadline, which may be what just passed.
  //
  // On a transaction's repository, calls from several threads run one after
  // the other (each waits, up to its deadline, for the one before to end:
  // DeadlineExceeded with exec::kQueryTimeoutPayloadUrl), so that each
  // one's savepoint nests correctly.
  absl::StatusOr<std::string> Mutate(
      const v1::MutationField& mutation,
      const exec::RequestContext& context = {}) const;

  // Runs the caller's raw SQL: one statement with placeholders $1..$n and
  // its n parameters (`plan.params`, bound as text; their sql_type is not
  // used: casts belong in the SQL, e.g. $1::int), on the writer backend
  // under `context`, so that on a transaction's repository it runs in (and
  // sees the writes of) the transaction. The statement is not prepared on
  // the connection.
  //
  // `fetch`: the statement's rows as a compact JSON array of objects, one
  // per row, column name -> value in column order (to_json of the row: a
  // SQL NULL is null, numbers stay numbers, timestamps ISO 8601 text, json
  // nested), "[]" when none. The statement is run as
  //   WITH fraiseql_rows AS (<sql>) SELECT to_json(fraiseql_rows.*)::text
  //   FROM fraiseql_rows
  // so it must be a query a WITH can hold: SELECT, VALUES, TABLE, or
  // INSERT/UPDATE/DELETE ... RETURNING (a statement that itself starts
  // with a data-modifying WITH is refused by the server: 0A000). Trailing
  // semicolons and comments are dropped first.
  // Not `fetch`: the SQL runs as given (DDL, DML, anything one statement of
  // the extended protocol may be) and its rows, if any, are discarded;
  // returns "[]".
  //
  // Errors: InvalidArgument for an empty SQL text ("RunSql needs one SQL
  // statement; ..."), one holding several statements ("RunSql runs one
  // SQL statement; ..."), a count of parameters other than the highest
  // $n (all checked before anything is sent), or a bad context; the
  // server's, mapped from its SQLSTATE (kept as payload, base/pg_status.h);
  // ResourceExhausted (with kResponseTooLargePayloadUrl) when the JSON
  // passes max_response_bytes (the statement is cancelled); the backend's
  // (see plugins/backend.h). A failed statement outside a transaction
  // leaves nothing behind (its implicit transaction rolled back, the
  // connection back in the pool or discarded).
  absl::StatusOr<std::string> RunSql(
      const exec::Plan& plan, bool fetch,
      const exec::RequestContext& context = {}) const;

  // Opens a transaction on the writer backend (plugins::Backend::Begin)
  // and returns it with a repository whose every call runs in it. The
  // repository shares this one's planner; the scope must not outlive this
  // repository (its backend), and calls on it take no context variables
  // (they were given here). Its Mutate, Execute and ExecuteValue calls are
  // serialized (see Mutate); a stream (ExecuteStreaming) is not: while one
  // is open, other calls fail at once with the transaction's
  // FailedPrecondition ("busy") rather than wait for its consumer.
  struct TransactionScope {
    std::shared_ptr<plugins::Transaction> transaction;
    std::unique_ptr<Repository> repository;
  };
  absl::StatusOr<TransactionScope> BeginTransaction(
      const plugins::TransactionOptions& options,
      const exec::RequestContext& context = {}) const;

  // The statement one root field would run, without running it (for
  // debugging, and for running the same SQL through another driver).
  absl::StatusOr<planner::Plan> Explain(const v1::RootField& root) const;

  planner::CacheStats plan_cache_stats() const {
    return planner_->cache_stats();
  }

 private:
  class CallGate;
  // Holds the transaction repository's gate for one call; none elsewhere.
  absl::Status EnterGate(const exec::RequestContext& context,
                         bool* entered) const;
  void LeaveGate(bool entered) const;

  Repository(const Repository& parent,
             std::shared_ptr<plugins::Backend> backend);

  absl::StatusOr<std::vector<planner::RootPlan>> PlanAll(
      const v1::QueryDefinition& query) const;
  // Execute once planned: the transaction gate, the run, the stats.
  absl::StatusOr<std::string> RunPlanned(
      const std::vector<planner::RootPlan>& plans,
      const exec::RequestContext& context, response::Destination* destination,
      repository_internal::CallRecorder& record) const;
  // Writes the body of `plans` after *body (or to `sink`, or landed in
  // `destination`); returns its size.
  absl::StatusOr<size_t> Run(
      const std::vector<planner::RootPlan>& plans,
      const exec::RequestContext& context, std::string* body, BodySink* sink,
      size_t chunk_bytes, response::Destination* destination = nullptr) const;

  std::shared_ptr<const where::Schema> schema_;
  std::shared_ptr<const where::OperatorRegistry> operators_;
  std::shared_ptr<plugins::Backend> backend_;
  std::shared_ptr<plugins::Backend> writer_;
  RepositoryOptions options_;
  std::shared_ptr<planner::Planner> planner_;
  // In a transaction's repository: the context the transaction began with
  // (context arguments of mutations are read from it).
  exec::RequestContext transaction_context_;
  // In a transaction's repository: serializes its calls (see Mutate).
  std::shared_ptr<CallGate> gate_;
};

}  // namespace fraiseql

#endif  // FRAISEQL_REPOSITORY_REPOSITORY_H_
