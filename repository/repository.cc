#include "repository/repository.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "planner/planner.h"
#include "response/projector.h"
#include "response/response_writer.h"

namespace fraiseql {
namespace {

// Projects each streamed row into the response as it arrives. A row that
// cannot be projected stops the stream; its status is reported as the
// field's GraphQL error rather than as a failure of the whole call.
class ProjectingSink : public stream::RowSink {
 public:
  ProjectingSink(const response::Projector& projector,
                 response::ResponseWriter* writer, bool is_list)
      : projector_(projector), writer_(writer), is_list_(is_list) {}

  absl::Status OnChunk(const stream::RowChunk& chunk) override {
    for (absl::string_view row : chunk.rows) {
      absl::Status status =
          is_list_ ? writer_->AppendListItem(projector_, row)
                   : writer_->WriteObject(key_, projector_, row);
      if (!status.ok()) {
        row_error_ = status;
        return status;
      }
      ++rows_;
    }
    return absl::OkStatus();
  }

  void set_key(absl::string_view key) { key_ = std::string(key); }
  int64_t rows() const { return rows_; }
  const absl::Status& row_error() const { return row_error_; }

 private:
  const response::Projector& projector_;
  response::ResponseWriter* writer_;
  bool is_list_;
  std::string key_;
  int64_t rows_ = 0;
  absl::Status row_error_;
};

}  // namespace

absl::StatusOr<std::string> Repository::Execute(
    const v1::QueryDefinition& query) const {
  if (query.roots_size() == 0) {
    return absl::InvalidArgumentError("the query has no root field");
  }
  planner::Planner planner(*schema_, *operators_);
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
    ASSIGN_OR_RETURN(planner::RootPlan plan, planner.PlanRoot(root));
    plans.push_back(std::move(plan));
  }

  std::string body;
  response::ResponseWriter writer(&body);
  for (const planner::RootPlan& plan : plans) {
    response::Projector projector(plan.selection, projection_);
    ProjectingSink sink(projector, &writer, plan.is_list);
    sink.set_key(plan.response_key);
    if (plan.is_list) writer.BeginList(plan.response_key);
    absl::Status status = backend_->Execute(plan.plan, &sink);
    if (!sink.row_error().ok()) {
      writer.FailField(plan.response_key,
                       absl::StrCat("invalid row from ", backend_->name(), ": ",
                                    sink.row_error().message()));
      continue;
    }
    RETURN_IF_ERROR(status);
    if (plan.is_list) {
      writer.EndList();
    } else if (sink.rows() == 0) {
      writer.WriteNull(plan.response_key);
    }
  }
  writer.Finish();
  return body;
}

absl::StatusOr<planner::Plan> Repository::Explain(
    const v1::RootField& root) const {
  planner::Planner planner(*schema_, *operators_);
  ASSIGN_OR_RETURN(planner::RootPlan plan, planner.PlanRoot(root));
  return std::move(plan.plan);
}

}  // namespace fraiseql
