#include "repository/repository.h"

#include <optional>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "planner/cursor.h"
#include "planner/planner.h"
#include "response/projector.h"
#include "response/response_writer.h"

namespace fraiseql {
namespace {

using planner::ResultShape;

// Projects each streamed row into the response as it arrives. A row that
// cannot be projected stops the stream; its status is reported as the
// field's GraphQL error rather than as a failure of the whole call.
class ProjectingSink : public stream::RowSink {
 public:
  ProjectingSink(const response::Projector& projector,
                 response::ResponseWriter* writer, bool is_list,
                 absl::string_view key)
      : projector_(projector), writer_(writer), is_list_(is_list), key_(key) {}

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

  int64_t rows() const { return rows_; }
  const absl::Status& row_error() const { return row_error_; }

 private:
  const response::Projector& projector_;
  response::ResponseWriter* writer_;
  bool is_list_;
  absl::string_view key_;
  int64_t rows_ = 0;
  absl::Status row_error_;
};

// Writes the rows of a connection page as edges, each with the cursor made
// from its key column. The row past the page size only tells that there is
// another page.
class EdgeSink : public stream::RowSink {
 public:
  EdgeSink(const response::Projector& projector,
           response::ResponseWriter* writer,
           const planner::ConnectionPlan& connection)
      : projector_(projector), writer_(writer), connection_(connection) {}

  absl::Status OnChunk(const stream::RowChunk& chunk) override {
    if (chunk.columns < 2) {
      row_error_ = absl::InternalError(
          "the page statement returned no cursor column");
      return row_error_;
    }
    for (size_t r = 0; r < chunk.rows.size(); ++r) {
      if (connection_.page_size.has_value() && rows_ >= *connection_.page_size) {
        more_ = true;
        continue;
      }
      absl::StatusOr<std::string> cursor = planner::EncodeCursor(
          connection_.cursor_fingerprint, chunk.cell(r, 1));
      absl::Status status =
          cursor.ok() ? writer_->AppendEdge(projector_, *cursor, chunk.rows[r])
                      : cursor.status();
      if (!status.ok()) {
        row_error_ = status;
        return status;
      }
      ++rows_;
    }
    return absl::OkStatus();
  }

  bool more() const { return more_; }
  const absl::Status& row_error() const { return row_error_; }

 private:
  const response::Projector& projector_;
  response::ResponseWriter* writer_;
  const planner::ConnectionPlan& connection_;
  int64_t rows_ = 0;
  bool more_ = false;
  absl::Status row_error_;
};

// Collects a value statement's result as compact JSON: the one row's value,
// or a list of every row's value.
class ValueSink : public stream::RowSink {
 public:
  explicit ValueSink(bool list) : list_(list) {
    if (list_) json_.push_back('[');
  }

  absl::Status OnChunk(const stream::RowChunk& chunk) override {
    for (absl::string_view row : chunk.rows) {
      if (!list_) json_.clear();
      if (list_ && rows_ > 0) json_.push_back(',');
      absl::Status status = response::AppendCanonicalJson(row, &json_);
      if (!status.ok()) {
        row_error_ = status;
        return status;
      }
      ++rows_;
    }
    return absl::OkStatus();
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

 private:
  bool list_;
  std::string json_;
  int64_t rows_ = 0;
  absl::Status row_error_;
};

}  // namespace

absl::StatusOr<std::string> Repository::RunValue(
    const planner::Plan& plan, bool list,
    const stream::RequestContext& context, absl::Status* row_error) const {
  ValueSink sink(list);
  absl::Status status = backend_->Execute(plan, context, &sink);
  if (!sink.row_error().ok()) {
    *row_error = sink.row_error();
    return std::string();
  }
  RETURN_IF_ERROR(status);
  return sink.Take();
}

absl::Status Repository::WriteRoot(const planner::RootPlan& plan,
                                   const stream::RequestContext& context,
                                   response::ResponseWriter* writer) const {
  const std::string& key = plan.response_key;
  auto fail_row = [&](const absl::Status& row_error) {
    writer->FailField(key, absl::StrCat("invalid row from ", backend_->name(),
                                        ": ", row_error.message()));
    return absl::OkStatus();
  };
  switch (plan.shape) {
    case ResultShape::kValue:
    case ResultShape::kValueList: {
      absl::Status row_error;
      ASSIGN_OR_RETURN(std::string json,
                       RunValue(plan.plan,
                                plan.shape == ResultShape::kValueList,
                                context, &row_error));
      if (!row_error.ok()) return fail_row(row_error);
      return writer->WriteValue(key, json);
    }
    case ResultShape::kConnection: {
      response::Projector projector(*plan.selection, projection_);
      EdgeSink sink(projector, writer, plan.connection);
      writer->BeginConnection(key, plan.connection.backward);
      absl::Status status = backend_->Execute(plan.plan, context, &sink);
      if (!sink.row_error().ok()) return fail_row(sink.row_error());
      RETURN_IF_ERROR(status);
      std::optional<int64_t> total;
      if (plan.connection.total_count.has_value()) {
        absl::Status row_error;
        ASSIGN_OR_RETURN(
            std::string count,
            RunValue(*plan.connection.total_count, false, context,
                     &row_error));
        int64_t n;
        if (!row_error.ok() || !absl::SimpleAtoi(count, &n)) {
          return absl::DataLossError(
              "the totalCount statement returned no number");
        }
        total = n;
      }
      response::PageInfo info;
      (plan.connection.backward ? info.has_previous_page
                                : info.has_next_page) = sink.more();
      writer->EndConnection(info, total);
      return absl::OkStatus();
    }
    case ResultShape::kList:
    case ResultShape::kObject: {
      const bool is_list = plan.shape == ResultShape::kList;
      response::Projector projector(*plan.selection, projection_);
      ProjectingSink sink(projector, writer, is_list, key);
      if (is_list) writer->BeginList(key);
      absl::Status status = backend_->Execute(plan.plan, context, &sink);
      if (!sink.row_error().ok()) return fail_row(sink.row_error());
      RETURN_IF_ERROR(status);
      if (is_list) {
        writer->EndList();
      } else if (sink.rows() == 0) {
        writer->WriteNull(key);
      }
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown result shape");
}

absl::StatusOr<std::string> Repository::Execute(
    const v1::QueryDefinition& query,
    const stream::RequestContext& context) const {
  if (query.roots_size() == 0) {
    return absl::InvalidArgumentError("the query has no root field");
  }
  RETURN_IF_ERROR(stream::ValidateRequestContext(context));
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
    ASSIGN_OR_RETURN(planner::RootPlan plan, planner_.PlanRoot(root));
    plans.push_back(std::move(plan));
  }

  std::string body;
  response::ResponseWriter writer(&body);
  for (const planner::RootPlan& plan : plans) {
    RETURN_IF_ERROR(WriteRoot(plan, context, &writer));
  }
  writer.Finish();
  return body;
}

absl::StatusOr<Value> Repository::ExecuteValue(
    const v1::RootField& root, const stream::RequestContext& context) const {
  RETURN_IF_ERROR(stream::ValidateRequestContext(context));
  ASSIGN_OR_RETURN(planner::RootPlan plan, planner_.PlanRoot(root));
  if (plan.shape != ResultShape::kValue &&
      plan.shape != ResultShape::kValueList) {
    return absl::InvalidArgumentError(
        "ExecuteValue takes a value operation (count, exists, sum, avg, min, "
        "max, distinct), not find");
  }
  absl::Status row_error;
  Value value;
  value.decimal_numbers = plan.decimal_numbers;
  ASSIGN_OR_RETURN(value.json,
                   RunValue(plan.plan, plan.shape == ResultShape::kValueList,
                            context, &row_error));
  if (!row_error.ok()) {
    return absl::DataLossError(absl::StrCat("invalid value from ",
                                            backend_->name(), ": ",
                                            row_error.message()));
  }
  return value;
}

absl::StatusOr<planner::Plan> Repository::Explain(
    const v1::RootField& root) const {
  ASSIGN_OR_RETURN(planner::RootPlan plan, planner_.PlanRoot(root));
  return std::move(plan.plan);
}

}  // namespace fraiseql
