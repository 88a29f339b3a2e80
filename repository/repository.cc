#include "repository/repository.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/status_macros.h"
#include "planner/planner.h"
#include "repository/internal/body.h"
#include "repository/internal/call_recorder.h"
#include "repository/internal/compiled_projector.h"
#include "repository/internal/root_sink.h"

namespace fraiseql {

using planner::ResultShape;
using repository_internal::Body;
using repository_internal::CallRecorder;
using repository_internal::CountingBodySink;
using repository_internal::PlannerOptionsOf;
using repository_internal::RecordBodySize;
using repository_internal::RootSink;
using repository_internal::Sequencer;
using repository_internal::ValueCollector;

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

absl::StatusOr<size_t> Repository::Run(
    const std::vector<planner::RootPlan>& plans,
    const exec::RequestContext& context, std::string* out, BodySink* sink,
    size_t chunk_bytes, response::Destination* destination) const {
  // A whole body (not streamed in pieces) is sized ahead from the last one
  // of the same shapes; a landed one by its destination.
  const size_t start = out->size();
  if (sink == nullptr && destination == nullptr) {
    out->reserve(start + repository_internal::BodySizeHint(plans));
  }
  Body body(out, sink, chunk_bytes, options_.max_response_bytes, destination);
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
  const size_t size = body.writer().bytes_written() - start;
  if (sink == nullptr) RecordBodySize(plans, size);
  RETURN_IF_ERROR(body.Flush());
  return size;
}

absl::StatusOr<std::string> Repository::Execute(
    const v1::QueryDefinition& query, const exec::RequestContext& context,
    response::Destination* destination) const {
  CallRecorder record(context.stats);
  RETURN_IF_ERROR(exec::ValidateRequestContext(context));
  ASSIGN_OR_RETURN(std::vector<planner::RootPlan> plans, PlanAll(query));
  return RunPlanned(plans, context, destination, record);
}

absl::StatusOr<std::string> Repository::ExecutePlanned(
    const std::vector<planner::RootPlan>& plans,
    const exec::RequestContext& context,
    response::Destination* destination) const {
  CallRecorder record(context.stats);
  RETURN_IF_ERROR(exec::ValidateRequestContext(context));
  return RunPlanned(plans, context, destination, record);
}

absl::StatusOr<std::string> Repository::RunPlanned(
    const std::vector<planner::RootPlan>& plans,
    const exec::RequestContext& context, response::Destination* destination,
    CallRecorder& record) const {
  record.set_shape(plans);
  bool entered;
  RETURN_IF_ERROR(EnterGate(context, &entered));
  absl::Cleanup leave = [&] { LeaveGate(entered); };
  std::string body;
  if (destination != nullptr) body.reserve(kLandingPieceBytes + 4096);
  ASSIGN_OR_RETURN(const size_t size,
                   Run(plans, context, &body, nullptr, 0, destination));
  record.set_bytes(size);
  return body;
}

size_t Repository::BodySizeHint(const std::vector<planner::RootPlan>& plans) {
  return repository_internal::BodySizeHint(plans);
}

std::vector<absl::StatusOr<std::string>> Repository::ExecuteMany(
    absl::Span<const v1::QueryDefinition* const> queries,
    absl::Span<const exec::RequestContext* const> contexts,
    const std::atomic<bool>* any_cancelled,
    absl::Span<response::Destination* const> destinations) const {
  const size_t n = queries.size();
  std::vector<absl::StatusOr<std::string>> results(
      n, absl::InternalError("not run"));
  if (contexts.size() != n || n == 0 ||
      !(destinations.empty() || destinations.size() == n)) {
    results.assign(n, absl::InvalidArgumentError(
                          "ExecuteMany takes one context (and destination, "
                          "if any) per query"));
    return results;
  }
  const auto destination_of = [&](size_t i) {
    return destinations.empty() ? nullptr : destinations[i];
  };
  const exec::RequestContext& first = *contexts[0];
  const auto run_alone = [&](size_t i) {
    response::Destination* destination = destination_of(i);
    // After a failed batch, it may hold part of the body.
    if (destination != nullptr) destination->Truncate(0);
    results[i] = Execute(*queries[i], *contexts[i], destination);
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
    response::Destination* destination = destination_of(planned[k]);
    part.out.reserve(destination != nullptr
                         ? kLandingPieceBytes + 4096
                         : repository_internal::BodySizeHint(own));
    part.body = std::make_unique<Body>(
        &part.out, nullptr, 0, options_.max_response_bytes, destination);
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
    if (finished[k].ok()) {
      RecordBodySize(plans[planned[k]], part.body->writer().bytes_written());
      finished[k] = part.body->Flush();
    }
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
      stats->bytes =
          finished[k].ok() ? parts[k].body->writer().bytes_written() : 0;
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
      Run(plans, context, &body, &counted, std::max<size_t>(1, chunk_bytes))
          .status();
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
