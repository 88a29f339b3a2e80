// Repository::Mutate: a mutation's function called in a transaction, and
// its outcome written with the selection of its success or error type.
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "planner/mutation.h"
#include "repository/internal/call_recorder.h"
#include "repository/repository.h"
#include "response/projector.h"
#include "response/response_writer.h"

namespace fraiseql {
namespace {

using repository_internal::CallRecorder;

// How long ending a mutation's transaction or savepoint may take, once its
// function has returned or failed: cleanup, with a bound of its own.
constexpr absl::Duration kCleanupBound = absl::Seconds(5);

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

std::optional<std::string> ContextValue(const exec::RequestContext& context,
                                        absl::string_view name) {
  if (name == "tenant_id") return context.tenant_id;
  if (name == "user_id") return context.user_id;
  auto it = context.variables.find(std::string(name));
  if (it != context.variables.end()) return it->second;
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::string> Repository::Mutate(
    const v1::MutationField& mutation,
    const exec::RequestContext& context) const {
  CallRecorder record(context.stats);
  RETURN_IF_ERROR(exec::ValidateRequestContext(context));
  ASSIGN_OR_RETURN(
      planner::MutationPlan plan,
      planner::PlanMutation(*schema_, mutation, [&](absl::string_view name) {
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
  if (absl::Status status =
          writer.WriteObject(plan.response_key, projector, row);
      !status.ok()) {
    writer.FailField(
        plan.response_key,
        absl::StrCat("invalid row from the database: ", status.message()));
  }
  writer.Finish();
  record.set_bytes(body.size());
  return body;
}

}  // namespace fraiseql
