// repository/internal/: the root fields of one body written from their
// statements' rows, in request order: lists, objects and connections
// projected row by row, values collected as JSON.
#ifndef FRAISEQL_REPOSITORY_INTERNAL_ROOT_SINK_H_
#define FRAISEQL_REPOSITORY_INTERNAL_ROOT_SINK_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "exec/plan.h"
#include "exec/row_sink.h"
#include "planner/cursor.h"
#include "planner/planner.h"
#include "repository/internal/body.h"
#include "repository/internal/compiled_projector.h"
#include "response/projector.h"
#include "response/response_writer.h"

namespace fraiseql::repository_internal {

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
      : list_(list),
        body_(body),
        sequencer_(sequencer),
        index_(index),
        key_(key),
        cap_(cap) {
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
    if (plan.shape == planner::ResultShape::kValue ||
        plan.shape == planner::ResultShape::kValueList) {
      value_.emplace(plan.shape == planner::ResultShape::kValueList, body,
                     sequencer, index, plan.response_key);
    }
    if (plan.shape == planner::ResultShape::kConnection &&
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
    if (plan_.shape == planner::ResultShape::kList)
      writer.BeginList(plan_.response_key);
    if (plan_.shape == planner::ResultShape::kConnection) {
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
      case planner::ResultShape::kList:
        writer.EndList();
        break;
      case planner::ResultShape::kObject:
        if (rows_ == 0) writer.WriteNull(key);
        break;
      case planner::ResultShape::kValue:
      case planner::ResultShape::kValueList:
        if (absl::Status s = writer.WriteValue(key, value_->Take()); !s.ok()) {
          writer.FailField(key, s.message());
        }
        break;
      case planner::ResultShape::kConnection: {
        std::optional<int64_t> total;
        if (total_.has_value()) {
          int64_t n;
          if (!total_->row_error().ok() ||
              !absl::SimpleAtoi(total_->Take(), &n)) {
            writer.FailField(key,
                             "the totalCount statement returned no number");
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
        case planner::ResultShape::kList:
          status = writer.AppendListItem(*projector_, chunk.rows[r]);
          break;
        case planner::ResultShape::kObject:
          if (rows_ > 0) continue;  // the first row is the object
          status = writer.WriteObject(plan_.response_key, *projector_,
                                      chunk.rows[r]);
          break;
        case planner::ResultShape::kConnection:
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
      return absl::InternalError(
          "the page statement returned no cursor column");
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

}  // namespace fraiseql::repository_internal

#endif  // FRAISEQL_REPOSITORY_INTERNAL_ROOT_SINK_H_
