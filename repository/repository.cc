#include "repository/repository.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/pg_status.h"
#include "base/status_macros.h"
#include "exec/selection.h"
#include "planner/cursor.h"
#include "planner/mutation.h"
#include "planner/planner.h"
#include "repository/raw_sql.h"
#include "response/projector.h"
#include "response/response_writer.h"

namespace fraiseql {
namespace {

using planner::ResultShape;

// How long ending a mutation's transaction or savepoint may take, once its
// function has returned or failed: cleanup, with a bound of its own.
constexpr absl::Duration kCleanupBound = absl::Seconds(5);

// ResourceExhausted past RepositoryOptions::max_response_bytes.
absl::Status TooLargeError(size_t cap, absl::string_view key,
                           absl::string_view where) {
  absl::Status status = absl::ResourceExhaustedError(absl::StrCat(
      "the response exceeds max_response_bytes (", cap,
      " bytes) at root field '", key, "' ", where,
      "; narrow the filter, page with first/after or limit, or raise "
      "max_response_bytes"));
  status.SetPayload(kResponseTooLargePayloadUrl, absl::Cord("response"));
  return status;
}

// The body under construction: the writer, the size cap, and the pieces
// handed to a streaming consumer.
class Body {
 public:
  Body(std::string* out, BodySink* sink, size_t chunk_bytes, size_t cap)
      : writer_(out), out_(out), sink_(sink), chunk_bytes_(chunk_bytes),
        cap_(cap) {}

  response::ResponseWriter& writer() { return writer_; }

  // After rows of the root `key` were written: fails past the cap, and
  // hands a full piece to the consumer.
  absl::Status AfterRows(absl::string_view key, int64_t rows,
                         size_t pending_bytes = 0) {
    if (cap_ > 0 && writer_.bytes_written() + pending_bytes > cap_) {
      cap_hit_ = true;
      return TooLarge(key, absl::StrCat("after ", rows, " rows"));
    }
    if (sink_ != nullptr && out_->size() >= chunk_bytes_) return Flush();
    return absl::OkStatus();
  }

  absl::Status TooLarge(absl::string_view key, absl::string_view where) const {
    return TooLargeError(cap_, key, where);
  }

  absl::Status Flush() {
    if (sink_ == nullptr) return absl::OkStatus();
    piece_.clear();
    writer_.TakeBytes(&piece_);
    if (piece_.empty()) return absl::OkStatus();
    sent_ = true;
    return sink_->OnBytes(piece_);
  }

  // After the body is finished: ResourceExhausted when it is past the cap
  // and nothing has left yet.
  absl::Status CheckFinalSize(absl::string_view key) {
    if (cap_ == 0 || sent_ || writer_.bytes_written() <= cap_) {
      return absl::OkStatus();
    }
    cap_hit_ = true;
    return TooLarge(key, absl::StrCat("the whole body is ",
                                      writer_.bytes_written(), " bytes"));
  }

  bool cap_hit() const { return cap_hit_; }
  // Whether any bytes reached the consumer.
  bool sent() const { return sent_; }

 private:
  response::ResponseWriter writer_;
  std::string* out_;
  BodySink* sink_;
  size_t chunk_bytes_;
  size_t cap_;
  std::string piece_;
  bool cap_hit_ = false;
  bool sent_ = false;
};

// The Projector a root's selection is compiled into when the planner builds
// its template (PlannerOptionsOf), so that a cached plan carries it compiled
// once per shape. Immutable: rows of one shape are projected concurrently.
class CompiledProjector : public planner::CompiledSelection {
 public:
  CompiledProjector(const exec::SelectionSet& selection,
                    const response::ProjectionOptions& options)
      : projector_(selection, options) {}
  const response::Projector& projector() const { return projector_; }

 private:
  response::Projector projector_;
};

// The projector of a list, object or connection root; null for the value
// shapes. Every plan of the repository's planner comes compiled by
// CompiledProjector.
const response::Projector* ProjectorOf(const planner::RootPlan& plan) {
  if (plan.compiled == nullptr) return nullptr;
  return &static_cast<const CompiledProjector&>(*plan.compiled).projector();
}

class RootSink;

// Root fields are written in request order while their statements' rows
// arrive in the same order: a root is begun when its first rows (or the
// end of the batch) arrive, and every earlier root is finished then.
class Sequencer {
 public:
  void Add(RootSink* root) { roots_.push_back(root); }
  void Enter(size_t index);
  void FinishAll() { Enter(roots_.size()); }
  // The root being written; roots_.size() when none.
  size_t current() const { return current_ < 0 ? 0 : current_; }

 private:
  std::vector<RootSink*> roots_;
  ptrdiff_t current_ = -1;
};

// Collects a value statement's result as compact JSON: the one row's value,
// or a list of every row's value. Rows after an invalid one are ignored.
// Past `cap` bytes of JSON (0: none), or the body's cap when it writes into
// a body, it stops the statement with ResourceExhausted.
class ValueCollector : public exec::RowSink {
 public:
  ValueCollector(bool list, Body* body, Sequencer* sequencer, size_t index,
                 absl::string_view key, size_t cap = 0)
      : list_(list), body_(body), sequencer_(sequencer), index_(index),
        key_(key), cap_(cap) {
    if (list_) json_.push_back('[');
  }

  absl::Status OnChunk(const exec::RowChunk& chunk) override {
    if (sequencer_ != nullptr) sequencer_->Enter(index_);
    for (absl::string_view row : chunk.rows) {
      if (!row_error_.ok()) break;
      if (!list_) json_.clear();
      if (list_ && rows_ > 0) json_.push_back(',');
      const size_t before = json_.size();
      if (absl::Status s = response::AppendCanonicalJson(row, &json_);
          !s.ok()) {
        json_.resize(before);
        row_error_ = s;
        break;
      }
      ++rows_;
      // Per row, so that a chunk of big values cannot pass the cap far.
      if (cap_ > 0 && json_.size() + 1 > cap_) {
        return TooLargeError(cap_, key_,
                             absl::StrCat("after ", rows_, " values"));
      }
    }
    return body_ != nullptr ? body_->AfterRows(key_, rows_, json_.size())
                            : absl::OkStatus();
  }

  std::string Take() {
    if (list_) {
      json_.push_back(']');
    } else if (rows_ == 0) {
      json_ = "null";
    }
    return std::move(json_);
  }
  const absl::Status& row_error() const { return row_error_; }
  int64_t rows() const { return rows_; }

 private:
  bool list_;
  Body* body_;
  Sequencer* sequencer_;
  size_t index_;
  absl::string_view key_;
  size_t cap_;
  std::string json_;
  int64_t rows_ = 0;
  absl::Status row_error_;
};

// Writes one root field from its statement's rows. A row that cannot be
// written makes the field null with an error (FailField); the rest of its
// rows are ignored, so the other roots of the batch go on.
class RootSink : public exec::RowSink {
 public:
  RootSink(const planner::RootPlan& plan, Body* body, Sequencer* sequencer,
           size_t index)
      : plan_(plan),
        projector_(ProjectorOf(plan)),
        body_(body),
        sequencer_(sequencer),
        index_(index) {
    if (plan.shape == ResultShape::kValue ||
        plan.shape == ResultShape::kValueList) {
      value_.emplace(plan.shape == ResultShape::kValueList, body, sequencer,
                     index, plan.response_key);
    }
    if (plan.shape == ResultShape::kConnection &&
        plan.connection.total_count.has_value()) {
      total_.emplace(false, nullptr, sequencer, index, plan.response_key);
    }
  }

  // Rows this root's statements handed over.
  int64_t rows() const {
    return rows_ + (value_.has_value() ? value_->rows() : 0) +
           (total_.has_value() ? total_->rows() : 0);
  }

  // The statements of this root, in order.
  void AddStatements(std::vector<exec::Statement>* statements) {
    statements->push_back(
        {&plan_.plan,
         value_.has_value() ? static_cast<exec::RowSink*>(&*value_) : this});
    if (total_.has_value()) {
      statements->push_back({&*plan_.connection.total_count, &*total_});
    }
  }

  void Begin() {
    response::ResponseWriter& writer = body_->writer();
    if (plan_.shape == ResultShape::kList) writer.BeginList(plan_.response_key);
    if (plan_.shape == ResultShape::kConnection) {
      writer.BeginConnection(plan_.response_key, plan_.connection.backward);
    }
  }

  void Finish() {
    response::ResponseWriter& writer = body_->writer();
    const std::string& key = plan_.response_key;
    if (value_.has_value() && !value_->row_error().ok()) {
      row_error_ = value_->row_error();
    }
    if (!row_error_.ok()) {
      // The message a client sees names no backend, so that two backends
      // failing on the same row answer alike (parity).
      writer.FailField(key, absl::StrCat("invalid row from the database: ",
                                         row_error_.message()));
      return;
    }
    switch (plan_.shape) {
      case ResultShape::kList:
        writer.EndList();
        break;
      case ResultShape::kObject:
        if (rows_ == 0) writer.WriteNull(key);
        break;
      case ResultShape::kValue:
      case ResultShape::kValueList:
        if (absl::Status s = writer.WriteValue(key, value_->Take()); !s.ok()) {
          writer.FailField(key, s.message());
        }
        break;
      case ResultShape::kConnection: {
        std::optional<int64_t> total;
        if (total_.has_value()) {
          int64_t n;
          if (!total_->row_error().ok() ||
              !absl::SimpleAtoi(total_->Take(), &n)) {
            writer.FailField(key, "the totalCount statement returned no number");
            return;
          }
          total = n;
        }
        response::PageInfo info;
        (plan_.connection.backward ? info.has_previous_page
                                   : info.has_next_page) = more_;
        writer.EndConnection(info, total);
        break;
      }
    }
  }

  absl::Status OnChunk(const exec::RowChunk& chunk) override {
    sequencer_->Enter(index_);
    response::ResponseWriter& writer = body_->writer();
    for (size_t r = 0; r < chunk.rows.size() && row_error_.ok(); ++r) {
      absl::Status status;
      switch (plan_.shape) {
        case ResultShape::kList:
          status = writer.AppendListItem(*projector_, chunk.rows[r]);
          break;
        case ResultShape::kObject:
          if (rows_ > 0) continue;  // the first row is the object
          status = writer.WriteObject(plan_.response_key, *projector_,
                                      chunk.rows[r]);
          break;
        case ResultShape::kConnection:
          if (plan_.connection.page_size.has_value() &&
              rows_ >= *plan_.connection.page_size) {
            more_ = true;  // the row past the page: not an edge
            continue;
          }
          status = AppendEdge(chunk, r);
          break;
        default:
          status = absl::InternalError("a value root has no row sink");
      }
      if (!status.ok()) {
        row_error_ = status;
        break;
      }
      ++rows_;
      // Per row, so that a piece (and the cap) is about its size however
      // many rows a chunk holds.
      RETURN_IF_ERROR(body_->AfterRows(plan_.response_key, rows_));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status AppendEdge(const exec::RowChunk& chunk, size_t r) {
    if (chunk.columns < 2) {
      return absl::InternalError("the page statement returned no cursor column");
    }
    ASSIGN_OR_RETURN(std::string cursor,
                     planner::EncodeCursor(plan_.connection.cursor_fingerprint,
                                           chunk.cell(r, 1)));
    return body_->writer().AppendEdge(*projector_, cursor, chunk.rows[r]);
  }

  const planner::RootPlan& plan_;
  const response::Projector* projector_;
  Body* body_;
  Sequencer* sequencer_;
  size_t index_;
  std::optional<ValueCollector> value_;
  std::optional<ValueCollector> total_;
  int64_t rows_ = 0;
  bool more_ = false;
  absl::Status row_error_;
};

void Sequencer::Enter(size_t index) {
  while (current_ < static_cast<ptrdiff_t>(index)) {
    if (current_ >= 0 && current_ < static_cast<ptrdiff_t>(roots_.size())) {
      roots_[current_]->Finish();
    }
    ++current_;
    if (current_ < static_cast<ptrdiff_t>(roots_.size())) {
      roots_[current_]->Begin();
    }
  }
}

// Collects a mutation's one row: mutation_response as JSON, and its status.
class MutationSink : public exec::RowSink {
 public:
  absl::Status OnChunk(const exec::RowChunk& chunk) override {
    for (size_t r = 0; r < chunk.rows.size(); ++r) {
      if (rows_++ > 0) continue;
      row_.assign(chunk.rows[r].data(), chunk.rows[r].size());
      if (chunk.columns > 1 && chunk.cell(r, 1) != "null") {
        status_ = std::string(chunk.cell(r, 1));
      }
    }
    return absl::OkStatus();
  }
  int64_t rows_ = 0;
  std::string row_;
  std::optional<std::string> status_;
};

// The planner has each root's Projector compiled with the repository's
// projection options when it builds the root's template.
planner::PlannerOptions PlannerOptionsOf(const RepositoryOptions& options) {
  planner::PlannerOptions planner = options.planner;
  const response::ProjectionOptions projection = options.projection;
  planner.compile_selection = [projection](const exec::SelectionSet& selection)
      -> std::shared_ptr<const planner::CompiledSelection> {
    return std::make_shared<const CompiledProjector>(selection, projection);
  };
  return planner;
}

std::optional<std::string> ContextValue(const exec::RequestContext& context,
                                        absl::string_view name) {
  if (name == "tenant_id") return context.tenant_id;
  if (name == "user_id") return context.user_id;
  auto it = context.variables.find(std::string(name));
  if (it != context.variables.end()) return it->second;
  return std::nullopt;
}

// Collects RunSql's rows (one JSON object each) into a compact JSON array,
// up to `cap` bytes (0: no cap).
class JsonArraySink : public exec::RowSink {
 public:
  explicit JsonArraySink(size_t cap) : cap_(cap) { json_.push_back('['); }

  absl::Status OnChunk(const exec::RowChunk& chunk) override {
    for (absl::string_view row : chunk.rows) {
      if (rows_ > 0) json_.push_back(',');
      if (absl::Status s = response::AppendCanonicalJson(row, &json_);
          !s.ok()) {
        return absl::DataLossError(
            absl::StrCat("invalid row from the database: ", s.message()));
      }
      ++rows_;
      if (cap_ > 0 && json_.size() + 1 > cap_) {
        absl::Status status = absl::ResourceExhaustedError(
            absl::StrCat("the result exceeds max_response_bytes (", cap_,
                         " bytes) after ", rows_,
                         " rows; select fewer rows or columns, or raise "
                         "max_response_bytes"));
        status.SetPayload(kResponseTooLargePayloadUrl, absl::Cord("response"));
        return status;
      }
    }
    return absl::OkStatus();
  }

  std::string Take() {
    json_.push_back(']');
    return std::move(json_);
  }

 private:
  size_t cap_;
  std::string json_;
  int64_t rows_ = 0;
};

// Sets the Repository's part of a call's stats (exec::CallStats: execution
// and bytes) when the call ends, however it ends. The backend adds the
// acquire wait as the call runs; execution is the rest of the call's time.
class CallRecorder {
 public:
  explicit CallRecorder(exec::CallStats* stats)
      : stats_(stats),
        start_(absl::Now()),
        wait_before_(stats != nullptr ? stats->acquire_wait
                                      : absl::ZeroDuration()) {}
  CallRecorder(const CallRecorder&) = delete;
  CallRecorder& operator=(const CallRecorder&) = delete;
  ~CallRecorder() {
    if (stats_ == nullptr) return;
    const absl::Duration waited = stats_->acquire_wait - wait_before_;
    stats_->execution =
        std::max(absl::ZeroDuration(), absl::Now() - start_ - waited);
  }

  void set_bytes(size_t bytes) {
    if (stats_ != nullptr) stats_->bytes = static_cast<int64_t>(bytes);
  }

  void set_shape(const std::vector<const std::string*>& sqls) {
    if (stats_ == nullptr) return;
    exec::ShapeHasher hasher;
    for (const std::string* sql : sqls) hasher.Add(*sql);
    stats_->shape = hasher.Hex();
  }
  void set_shape(const std::vector<planner::RootPlan>& plans) {
    std::vector<const std::string*> sqls;
    for (const planner::RootPlan& plan : plans) sqls.push_back(&plan.plan.sql);
    set_shape(sqls);
  }

 private:
  exec::CallStats* stats_;
  absl::Time start_;
  absl::Duration wait_before_;
};

// Counts the bytes a streamed body hands to its consumer.
class CountingBodySink : public BodySink {
 public:
  explicit CountingBodySink(BodySink* inner) : inner_(inner) {}
  absl::Status OnBytes(absl::string_view bytes) override {
    bytes_ += bytes.size();
    return inner_->OnBytes(bytes);
  }
  size_t bytes() const { return bytes_; }

 private:
  BodySink* inner_;
  size_t bytes_ = 0;
};

// The server's answer to several statements in one extended-protocol
// message, should one get past ScanRawSql.
bool IsSeveralStatementsError(const absl::Status& status) {
  return SqlStateOf(status) == "42601" &&
         absl::StrContains(status.message(), "multiple commands");
}

absl::Status SeveralStatementsError() {
  return absl::InvalidArgumentError(
      "RunSql runs one SQL statement; the SQL text holds several (a ';' is "
      "followed by more); make one call per statement");
}

}  // namespace

Repository::Repository(std::shared_ptr<const where::Schema> schema,
                       std::shared_ptr<const where::OperatorRegistry> operators,
                       std::shared_ptr<plugins::Backend> backend,
                       RepositoryOptions options,
                       std::shared_ptr<plugins::Backend> writer)
    : schema_(std::move(schema)),
      operators_(std::move(operators)),
      backend_(std::move(backend)),
      writer_(writer != nullptr ? std::move(writer) : backend_),
      options_(options),
      planner_(std::make_shared<planner::Planner>(
          *schema_, *operators_, where::FilterLimits(),
          PlannerOptionsOf(options))) {}

Repository::Repository(const Repository& parent,
                       std::shared_ptr<plugins::Backend> backend)
    : schema_(parent.schema_),
      operators_(parent.operators_),
      backend_(backend),
      writer_(std::move(backend)),
      options_(parent.options_),
      planner_(parent.planner_) {}

// Serializes the calls of a transaction's repository: one at a time, the
// others wait up to their deadline.
class Repository::CallGate {
 public:
  absl::Status Enter(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithDeadline(absl::Condition(this, &CallGate::Free),
                               deadline)) {
      absl::Status status = absl::DeadlineExceededError(
          "query exceeded its deadline waiting for another call on the same "
          "transaction to end");
      status.SetPayload(exec::kQueryTimeoutPayloadUrl, absl::Cord("query"));
      return status;
    }
    busy_ = true;
    return absl::OkStatus();
  }
  void Leave() {
    absl::MutexLock lock(&mu_);
    busy_ = false;
  }

 private:
  bool Free() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !busy_; }
  absl::Mutex mu_;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
};

absl::Status Repository::EnterGate(const exec::RequestContext& context,
                                   bool* entered) const {
  *entered = false;
  if (gate_ == nullptr) return absl::OkStatus();
  RETURN_IF_ERROR(gate_->Enter(context.deadline));
  *entered = true;
  return absl::OkStatus();
}

void Repository::LeaveGate(bool entered) const {
  if (entered) gate_->Leave();
}

absl::StatusOr<std::vector<planner::RootPlan>> Repository::PlanAll(
    const v1::QueryDefinition& query) const {
  if (query.roots_size() == 0) {
    return absl::InvalidArgumentError("the query has no root field");
  }
  if (options_.max_root_fields > 0 &&
      static_cast<size_t>(query.roots_size()) > options_.max_root_fields) {
    return absl::InvalidArgumentError(absl::StrCat(
        "too many root fields: ", query.roots_size(),
        " (limit max_root_fields ", options_.max_root_fields, ")"));
  }
  std::vector<planner::RootPlan> plans;
  plans.reserve(query.roots_size());
  for (const v1::RootField& root : query.roots()) {
    for (const planner::RootPlan& earlier : plans) {
      if (earlier.response_key == root.response_key()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "two root fields answer to the key '", root.response_key(),
            "'; give one an alias"));
      }
    }
    ASSIGN_OR_RETURN(planner::RootPlan plan, planner_->PlanRoot(root));
    plans.push_back(std::move(plan));
  }
  return plans;
}

absl::Status Repository::Run(const std::vector<planner::RootPlan>& plans,
                             const exec::RequestContext& context,
                             std::string* out, BodySink* sink,
                             size_t chunk_bytes) const {
  Body body(out, sink, chunk_bytes, options_.max_response_bytes);
  Sequencer sequencer;
  std::vector<std::unique_ptr<RootSink>> roots;
  std::vector<exec::Statement> statements;
  for (size_t i = 0; i < plans.size(); ++i) {
    roots.push_back(std::make_unique<RootSink>(plans[i], &body, &sequencer, i));
    sequencer.Add(roots.back().get());
    roots.back()->AddStatements(&statements);
  }
  absl::Status status = backend_->ExecuteBatch(statements, context);
  if (!status.ok()) {
    if (!(body.cap_hit() && body.sent())) return status;
    // A streamed body that already left ends with the cap's error in it.
    response::ResponseWriter& writer = body.writer();
    const size_t failed = sequencer.current();
    writer.FailField(plans[failed].response_key, status.message());
    for (size_t i = failed + 1; i < plans.size(); ++i) {
      writer.FailField(plans[i].response_key,
                       "not run: the response reached max_response_bytes");
    }
  } else {
    sequencer.FinishAll();
  }
  body.writer().Finish();
  // The closing bytes count too; once pieces have left they cannot be
  // taken back, and the few closing bytes are let through.
  RETURN_IF_ERROR(body.CheckFinalSize(plans.back().response_key));
  return body.Flush();
}

absl::StatusOr<std::string> Repository::Execute(
    const v1::QueryDefinition& query,
    const exec::RequestContext& context) const {
  CallRecorder record(context.stats);
  RETURN_IF_ERROR(exec::ValidateRequestContext(context));
  ASSIGN_OR_RETURN(std::vector<planner::RootPlan> plans, PlanAll(query));
  record.set_shape(plans);
  bool entered;
  RETURN_IF_ERROR(EnterGate(context, &entered));
  absl::Cleanup leave = [&] { LeaveGate(entered); };
  std::string body;
  RETURN_IF_ERROR(Run(plans, context, &body, nullptr, 0));
  record.set_bytes(body.size());
  return body;
}

std::vector<absl::StatusOr<std::string>> Repository::ExecuteMany(
    absl::Span<const v1::QueryDefinition* const> queries,
    absl::Span<const exec::RequestContext* const> contexts,
    const std::atomic<bool>* any_cancelled) const {
  const size_t n = queries.size();
  std::vector<absl::StatusOr<std::string>> results(
      n, absl::InternalError("not run"));
  if (contexts.size() != n || n == 0) {
    results.assign(n, absl::InvalidArgumentError(
                          "ExecuteMany takes one context per query"));
    return results;
  }
  const exec::RequestContext& first = *contexts[0];
  const auto run_alone = [&](size_t i) {
    results[i] = Execute(*queries[i], *contexts[i]);
  };
  // Batched only outside transactions, with one set of settings.
  bool batch = gate_ == nullptr && n > 1;
  for (size_t i = 1; batch && i < n; ++i) {
    batch = exec::SameSettings(first, *contexts[i]);
  }
  if (batch) batch = exec::ValidateRequestContext(first).ok();
  std::vector<std::vector<planner::RootPlan>> plans(n);
  std::vector<size_t> planned;
  if (batch) {
    for (size_t i = 0; i < n; ++i) {
      absl::StatusOr<std::vector<planner::RootPlan>> p = PlanAll(*queries[i]);
      if (!p.ok()) {
        // Fails alone, as it would alone (with its stats recorded).
        run_alone(i);
        continue;
      }
      plans[i] = *std::move(p);
      planned.push_back(i);
    }
  }
  if (!batch) {
    for (size_t i = 0; i < n; ++i) run_alone(i);
    return results;
  }
  if (planned.size() < 2) {
    for (size_t i : planned) run_alone(i);
    return results;
  }

  // One batch: each query writes its own body, in its own order.
  struct Part {
    std::string out;
    std::unique_ptr<Body> body;
    Sequencer sequencer;
    std::vector<std::unique_ptr<RootSink>> roots;
  };
  std::vector<Part> parts(planned.size());
  std::vector<exec::Statement> statements;
  for (size_t k = 0; k < planned.size(); ++k) {
    Part& part = parts[k];
    const std::vector<planner::RootPlan>& own = plans[planned[k]];
    part.body = std::make_unique<Body>(&part.out, nullptr, 0,
                                       options_.max_response_bytes);
    for (size_t r = 0; r < own.size(); ++r) {
      part.roots.push_back(
          std::make_unique<RootSink>(own[r], part.body.get(), &part.sequencer,
                                     r));
      part.sequencer.Add(part.roots.back().get());
      part.roots.back()->AddStatements(&statements);
    }
  }
  exec::RequestContext shared = first;
  shared.cancelled = any_cancelled;
  exec::CallStats batch_stats;
  shared.stats = &batch_stats;
  for (size_t i : planned) {
    shared.deadline = std::min(shared.deadline, contexts[i]->deadline);
  }
  const absl::Time start = absl::Now();
  absl::Status status = backend_->ExecuteBatch(statements, shared);
  std::vector<absl::Status> finished(planned.size());
  for (size_t k = 0; status.ok() && k < planned.size(); ++k) {
    Part& part = parts[k];
    part.sequencer.FinishAll();
    part.body->writer().Finish();
    finished[k] = part.body->CheckFinalSize(plans[planned[k]].back().response_key);
    if (finished[k].ok()) finished[k] = part.body->Flush();
  }
  if (!status.ok()) {
    // The batch failed as a whole (one statement's error aborts the
    // pipeline; a deadline, a cancel): each query runs again on its own,
    // so that each gets the outcome it would have had alone.
    for (size_t i : planned) run_alone(i);
    return results;
  }
  const absl::Duration took = absl::Now() - start - batch_stats.acquire_wait;
  for (size_t k = 0; k < planned.size(); ++k) {
    const size_t i = planned[k];
    if (exec::CallStats* stats = contexts[i]->stats; stats != nullptr) {
      exec::ShapeHasher hasher;
      for (const planner::RootPlan& plan : plans[i]) hasher.Add(plan.plan.sql);
      stats->shape = hasher.Hex();
      stats->acquire_wait += batch_stats.acquire_wait;
      stats->execution = std::max(absl::ZeroDuration(), took);
      int64_t rows = 0;
      for (const auto& root : parts[k].roots) rows += root->rows();
      stats->rows += rows;
      stats->bytes = finished[k].ok() ? parts[k].out.size() : 0;
    }
    if (finished[k].ok()) {
      results[i] = std::move(parts[k].out);
    } else {
      results[i] = finished[k];
    }
  }
  return results;
}

absl::Status Repository::ExecuteStreaming(const v1::QueryDefinition& query,
                                          const exec::RequestContext& context,
                                          BodySink* sink,
                                          size_t chunk_bytes) const {
  if (sink == nullptr) {
    return absl::InvalidArgumentError("ExecuteStreaming needs a body sink");
  }
  if (chunk_bytes > kMaxChunkBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk_bytes is too large (limit ", kMaxChunkBytes, " bytes)"));
  }
  CallRecorder record(context.stats);
  RETURN_IF_ERROR(exec::ValidateRequestContext(context));
  ASSIGN_OR_RETURN(std::vector<planner::RootPlan> plans, PlanAll(query));
  record.set_shape(plans);
  std::string body;
  body.reserve(chunk_bytes + chunk_bytes / 4);
  CountingBodySink counted(sink);
  absl::Status status =
      Run(plans, context, &body, &counted, std::max<size_t>(1, chunk_bytes));
  record.set_bytes(counted.bytes());
  return status;
}

absl::StatusOr<Value> Repository::ExecuteValue(
    const v1::RootField& root, const exec::RequestContext& context) const {
  CallRecorder record(context.stats);
  RETURN_IF_ERROR(exec::ValidateRequestContext(context));
  ASSIGN_OR_RETURN(planner::RootPlan plan, planner_->PlanRoot(root));
  record.set_shape({&plan.plan.sql});
  if (plan.shape != ResultShape::kValue &&
      plan.shape != ResultShape::kValueList) {
    return absl::InvalidArgumentError(
        "ExecuteValue takes a value operation (count, exists, sum, avg, min, "
        "max, distinct), not find");
  }
  ValueCollector sink(plan.shape == ResultShape::kValueList, nullptr, nullptr,
                      0, plan.response_key, options_.max_response_bytes);
  bool entered;
  RETURN_IF_ERROR(EnterGate(context, &entered));
  absl::Cleanup leave = [&] { LeaveGate(entered); };
  RETURN_IF_ERROR(backend_->Execute(plan.plan, context, &sink));
  if (!sink.row_error().ok()) {
    return absl::DataLossError(absl::StrCat("invalid value from the database: ",
                                            sink.row_error().message()));
  }
  Value value;
  value.decimal_numbers = plan.decimal_numbers;
  value.json = sink.Take();
  record.set_bytes(value.json.size());
  return value;
}

absl::StatusOr<std::string> Repository::Mutate(
    const v1::MutationField& mutation,
    const exec::RequestContext& context) const {
  CallRecorder record(context.stats);
  RETURN_IF_ERROR(exec::ValidateRequestContext(context));
  ASSIGN_OR_RETURN(
      planner::MutationPlan plan,
      planner::PlanMutation(
          *schema_, mutation, [&](absl::string_view name) {
            std::optional<std::string> value = ContextValue(context, name);
            return value.has_value() ? value
                                     : ContextValue(transaction_context_, name);
          }));
  // The input, last, goes in the canonical form (planner/mutation.h).
  exec::Param& input = plan.plan.params.back();
  std::string canonical;
  if (absl::Status json = response::AppendCanonicalJson(input.text, &canonical);
      !json.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid input for mutation ", plan.response_key, ": ",
                     json.message()));
  }
  input.text = std::move(canonical);
  record.set_shape({&plan.plan.sql});

  // One mutation at a time on a transaction: each one's savepoint is set,
  // then released or rolled back, before the next one's is set.
  bool entered;
  RETURN_IF_ERROR(EnterGate(context, &entered));
  absl::Cleanup leave = [&] { LeaveGate(entered); };

  // The transaction carries the context; the call only its deadline and
  // cancel flag.
  ASSIGN_OR_RETURN(std::unique_ptr<plugins::Transaction> transaction,
                   writer_->Begin(plugins::TransactionOptions(), context));
  exec::RequestContext call;
  call.deadline = context.deadline;
  call.cancelled = context.cancelled;
  call.stats = context.stats;
  MutationSink sink;
  // Ending the transaction is cleanup: it gets a bound of its own, since
  // the call's deadline may be what just failed. A savepoint left in place
  // would keep the function's writes in the caller's transaction behind a
  // reported error (a savepoint that can be neither released nor rolled
  // back makes the caller's transaction roll back instead; see
  // plugins/backend.h).
  const auto rollback = [&transaction] {
    absl::Status ignored = transaction->Rollback(absl::Now() + kCleanupBound);
    (void)ignored;
  };
  if (absl::Status status = transaction->Execute(plan.plan, call, &sink);
      !status.ok()) {
    rollback();
    return status;
  }
  if (sink.rows_ == 0 || !sink.status_.has_value()) {
    rollback();
    return absl::DataLossError(absl::StrCat(
        "mutation ", plan.response_key, ": ", mutation.function(),
        sink.rows_ == 0 ? " returned no row" : " returned no status",
        "; rolled back"));
  }
  const planner::MutationOutcome outcome =
      planner::ClassifyMutationStatus(*sink.status_);
  // The function returned: its outcome is decided, and a deadline passing
  // now must not leave it half-reported.
  if (outcome.success) {
    RETURN_IF_ERROR(transaction->Commit(absl::Now() + kCleanupBound));
  } else {
    RETURN_IF_ERROR(transaction->Rollback(absl::Now() + kCleanupBound));
  }

  std::string row = std::move(sink.row_);
  if (!outcome.success) {
    // The error type's code, first among the row's keys.
    size_t brace = row.find('{');
    if (brace == std::string::npos) {
      return absl::DataLossError(absl::StrCat(
          "mutation ", plan.response_key, ": the row is not a JSON object"));
    }
    row.insert(brace + 1, absl::StrCat("\"code\":", outcome.code,
                                       row.size() > brace + 2 ? "," : ""));
  }
  std::string body;
  response::ResponseWriter writer(&body);
  response::Projector projector(outcome.success ? *plan.success : *plan.error,
                                options_.projection);
  if (absl::Status status = writer.WriteObject(plan.response_key, projector, row);
      !status.ok()) {
    writer.FailField(
        plan.response_key,
        absl::StrCat("invalid row from the database: ", status.message()));
  }
  writer.Finish();
  record.set_bytes(body.size());
  return body;
}

absl::StatusOr<std::string> Repository::RunSql(
    const exec::Plan& plan, bool fetch,
    const exec::RequestContext& context) const {
  CallRecorder record(context.stats);
  RETURN_IF_ERROR(exec::ValidateRequestContext(context));
  const RawSqlFacts facts = ScanRawSql(plan.sql);
  if (facts.empty) {
    return absl::InvalidArgumentError(
        "RunSql needs one SQL statement; the SQL text is empty");
  }
  if (facts.several) return SeveralStatementsError();
  record.set_shape({&plan.sql});
  if (static_cast<size_t>(facts.max_placeholder) != plan.params.size()) {
    const size_t given = plan.params.size();
    return absl::InvalidArgumentError(absl::StrCat(
        "the SQL text uses ",
        facts.max_placeholder == 0
            ? std::string("no parameter")
            : absl::StrCat("parameters up to $", facts.max_placeholder),
        " but ", given, given == 1 ? " was" : " were", " given"));
  }
  exec::Plan run;
  if (fetch) {
    // to_json, not to_jsonb: jsonb reorders keys (shortest first), and
    // callers expect a row's columns in their order, as drivers give them.
    // The newline ends a -- comment the body may close with; `.*` makes
    // the whole row, even with a column of the CTE's name.
    run.sql = absl::StrCat("WITH fraiseql_rows AS (\n", facts.body,
                           "\n) SELECT to_json(fraiseql_rows.*)::text FROM "
                           "fraiseql_rows");
  } else {
    run.sql = plan.sql;
  }
  run.params = plan.params;
  JsonArraySink sink(options_.max_response_bytes);
  // Raw SQL has as many shapes as callers write: preparing each would crowd
  // the planner's statements out of the per-connection cache.
  const exec::Statement statement{&run, fetch ? &sink : nullptr,
                                  /*prepare=*/false};
  bool entered;
  RETURN_IF_ERROR(EnterGate(context, &entered));
  absl::Cleanup leave = [&] { LeaveGate(entered); };
  absl::Status status =
      writer_->ExecuteBatch(absl::MakeConstSpan(&statement, 1), context);
  if (IsSeveralStatementsError(status)) return SeveralStatementsError();
  RETURN_IF_ERROR(status);
  std::string json = fetch ? sink.Take() : std::string("[]");
  record.set_bytes(json.size());
  return json;
}

absl::StatusOr<Repository::TransactionScope> Repository::BeginTransaction(
    const plugins::TransactionOptions& options,
    const exec::RequestContext& context) const {
  RETURN_IF_ERROR(exec::ValidateRequestContext(context));
  ASSIGN_OR_RETURN(std::unique_ptr<plugins::Transaction> transaction,
                   writer_->Begin(options, context));
  TransactionScope scope;
  scope.transaction = std::move(transaction);
  scope.repository = std::unique_ptr<Repository>(
      new Repository(*this, scope.transaction));
  scope.repository->transaction_context_ = context;
  // Kept for its settings only: the begin call's cancel flag and stats
  // belong to that call and may be gone before the transaction ends.
  scope.repository->transaction_context_.cancelled = nullptr;
  scope.repository->transaction_context_.stats = nullptr;
  scope.repository->gate_ = std::make_shared<CallGate>();
  return scope;
}

absl::StatusOr<planner::Plan> Repository::Explain(
    const v1::RootField& root) const {
  ASSIGN_OR_RETURN(planner::RootPlan plan, planner_->PlanRoot(root));
  return std::move(plan.plan);
}

}  // namespace fraiseql
