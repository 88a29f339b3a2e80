#include "response/response_writer.h"

#include "absl/strings/str_cat.h"
#include "response/internal/json_text.h"
#include "response/internal/output_buffer.h"

namespace fraiseql::response {

absl::Status AppendCanonicalJson(absl::string_view json, std::string* out) {
  internal::JsonScanner scanner(json);
  internal::OutputBuffer buffer(out, json.size());
  const char* p = scanner.SkipWhitespace(scanner.begin());
  if (p == scanner.end()) {
    scanner.Fail(p, "unexpected end of input");
  } else {
    p = scanner.CopyValue(p, &buffer);
    if (p != nullptr && scanner.SkipWhitespace(p) != scanner.end()) {
      scanner.Fail(p, "unexpected characters after the value");
    }
  }
  if (scanner.failed()) {
    buffer.Truncate(buffer.start());
    return scanner.status();
  }
  return absl::OkStatus();
}

ResponseWriter::ResponseWriter(std::string* out) : out_(out) {
  out_->append("{\"data\":{");
}

void ResponseWriter::BeginField(absl::string_view response_key) {
  field_start_ = position();
  field_key_.assign(response_key.data(), response_key.size());
  has_field_ = true;
  if (field_count_ > 0) out_->push_back(',');
  ++field_count_;
  internal::AppendJsonString(response_key, out_);
  out_->push_back(':');
}

void ResponseWriter::DiscardField() {
  if (field_start_ < taken_) {
    // Part of the field was landed: the destination is cut back to where
    // the field started.
    destination_->Truncate(field_start_);
    out_->clear();
    taken_ = field_start_;
  } else {
    out_->resize(field_start_ - taken_);
  }
  --field_count_;
  has_field_ = false;
  open_ = Open::kNone;
}

void ResponseWriter::CloseOpen() {
  if (open_ == Open::kList) EndList();
  if (open_ == Open::kConnection) EndConnection(PageInfo());
}

void ResponseWriter::BeginList(absl::string_view response_key) {
  CloseOpen();
  BeginField(response_key);
  out_->push_back('[');
  open_ = Open::kList;
  list_items_ = 0;
}

absl::Status ResponseWriter::AppendListItem(const Projector& projector,
                                            absl::string_view row_json) {
  if (open_ != Open::kList) {
    return absl::FailedPreconditionError(
        "AppendListItem called with no open list");
  }
  const size_t before = out_->size();
  if (list_items_ > 0) out_->push_back(',');
  absl::Status status = projector.AppendRow(row_json, out_);
  if (!status.ok()) {
    out_->resize(before);
    return status;
  }
  ++list_items_;
  return absl::OkStatus();
}

void ResponseWriter::EndList() {
  if (open_ != Open::kList) return;
  out_->push_back(']');
  open_ = Open::kNone;
}

absl::Status ResponseWriter::WriteObject(absl::string_view response_key,
                                         const Projector& projector,
                                         absl::string_view row_json) {
  CloseOpen();
  BeginField(response_key);
  absl::Status status = projector.AppendRow(row_json, out_);
  if (!status.ok()) DiscardField();
  return status;
}

void ResponseWriter::WriteNull(absl::string_view response_key) {
  CloseOpen();
  BeginField(response_key);
  out_->append("null");
}

absl::Status ResponseWriter::WriteValue(absl::string_view response_key,
                                        absl::string_view json) {
  CloseOpen();
  BeginField(response_key);
  absl::Status status = AppendCanonicalJson(json, out_);
  if (!status.ok()) DiscardField();
  return status;
}

void ResponseWriter::BeginConnection(absl::string_view response_key,
                                     bool reversed) {
  CloseOpen();
  BeginField(response_key);
  out_->append("{\"edges\":[");
  open_ = Open::kConnection;
  list_items_ = 0;
  reversed_ = reversed;
  edges_start_ = position();
  edge_starts_.clear();
  first_cursor_.clear();
  last_cursor_.clear();
}

absl::Status ResponseWriter::AppendEdge(const Projector& projector,
                                        absl::string_view cursor,
                                        absl::string_view row_json) {
  if (open_ != Open::kConnection) {
    return absl::FailedPreconditionError(
        "AppendEdge called with no open connection");
  }
  const size_t before = out_->size();
  // Reversed edges are written without separators; EndConnection adds them.
  if (list_items_ > 0 && !reversed_) out_->push_back(',');
  const size_t start = position();
  out_->append("{\"cursor\":");
  internal::AppendJsonString(cursor, out_);
  out_->append(",\"node\":");
  absl::Status status = projector.AppendRow(row_json, out_);
  if (!status.ok()) {
    out_->resize(before);
    return status;
  }
  out_->push_back('}');
  if (reversed_) edge_starts_.push_back(start);
  if (list_items_ == 0) first_cursor_.assign(cursor.data(), cursor.size());
  last_cursor_.assign(cursor.data(), cursor.size());
  ++list_items_;
  return absl::OkStatus();
}

void ResponseWriter::EndConnection(const PageInfo& page_info,
                                   std::optional<int64_t> total_count) {
  if (open_ != Open::kConnection) return;
  if (reversed_ && edge_starts_.size() > 1) {
    std::string edges = out_->substr(edges_start_ - taken_);
    out_->resize(edges_start_ - taken_);
    for (size_t i = edge_starts_.size(); i-- > 0;) {
      size_t begin = edge_starts_[i] - edges_start_;
      size_t end = i + 1 < edge_starts_.size()
                       ? edge_starts_[i + 1] - edges_start_
                       : edges.size();
      out_->append(edges, begin, end - begin);
      if (i > 0) out_->push_back(',');
    }
  }
  const std::string& start = reversed_ ? last_cursor_ : first_cursor_;
  const std::string& end = reversed_ ? first_cursor_ : last_cursor_;
  out_->append("],\"pageInfo\":{\"hasNextPage\":");
  out_->append(page_info.has_next_page ? "true" : "false");
  out_->append(",\"hasPreviousPage\":");
  out_->append(page_info.has_previous_page ? "true" : "false");
  out_->append(",\"startCursor\":");
  if (list_items_ == 0) {
    out_->append("null,\"endCursor\":null}");
  } else {
    internal::AppendJsonString(start, out_);
    out_->append(",\"endCursor\":");
    internal::AppendJsonString(end, out_);
    out_->push_back('}');
  }
  if (total_count.has_value()) {
    absl::StrAppend(out_, ",\"totalCount\":", *total_count);
  }
  out_->push_back('}');
  open_ = Open::kNone;
  edge_starts_.clear();
}

void ResponseWriter::FailField(absl::string_view response_key,
                               absl::string_view message) {
  const bool current = has_field_ && field_key_ == response_key;
  if (current && field_start_ < taken_ && destination_ == nullptr) {
    // Part of the field already left: it keeps what was sent, closed.
    CloseOpen();
  } else {
    if (current) {
      DiscardField();
    } else {
      CloseOpen();
    }
    BeginField(response_key);
    out_->append("null");
  }

  if (!errors_.empty()) errors_.push_back(',');
  errors_.append("{\"message\":");
  internal::AppendJsonString(message, &errors_);
  errors_.append(",\"path\":[");
  internal::AppendJsonString(response_key, &errors_);
  errors_.append("]}");
}

size_t ResponseWriter::FinalBytes() const {
  // Reversed edges are reordered in place at the end: they stay.
  if (open_ == Open::kConnection && reversed_) return edges_start_ - taken_;
  return out_->size();
}

void ResponseWriter::TakeBytes(std::string* chunk) {
  const size_t keep_from = FinalBytes();
  if (keep_from == 0) return;
  if (keep_from == out_->size() && chunk->empty()) {
    chunk->swap(*out_);
  } else {
    chunk->append(*out_, 0, keep_from);
    out_->erase(0, keep_from);
  }
  taken_ += keep_from;
}

void ResponseWriter::Land() {
  const size_t keep_from = FinalBytes();
  if (keep_from == 0) return;
  destination_->Append(absl::string_view(out_->data(), keep_from));
  out_->erase(0, keep_from);
  taken_ += keep_from;
}

void ResponseWriter::Finish() {
  if (finished_) return;
  finished_ = true;
  CloseOpen();
  out_->push_back('}');
  if (!errors_.empty()) {
    out_->append(",\"errors\":[");
    out_->append(errors_);
    out_->push_back(']');
  }
  out_->push_back('}');
}

}  // namespace fraiseql::response
