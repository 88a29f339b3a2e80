#include "response/response_writer.h"

#include "response/internal/json_text.h"

namespace fraiseql::response {

ResponseWriter::ResponseWriter(std::string* out) : out_(out) {
  out_->append("{\"data\":{");
}

void ResponseWriter::BeginField(absl::string_view response_key) {
  field_start_ = out_->size();
  field_key_.assign(response_key.data(), response_key.size());
  has_field_ = true;
  if (field_count_ > 0) out_->push_back(',');
  ++field_count_;
  internal::AppendJsonString(response_key, out_);
  out_->push_back(':');
}

void ResponseWriter::DiscardField() {
  out_->resize(field_start_);
  --field_count_;
  has_field_ = false;
  list_open_ = false;
}

void ResponseWriter::BeginList(absl::string_view response_key) {
  EndList();
  BeginField(response_key);
  out_->push_back('[');
  list_open_ = true;
  list_items_ = 0;
}

absl::Status ResponseWriter::AppendListItem(const Projector& projector,
                                            absl::string_view row_json) {
  if (!list_open_) {
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
  if (!list_open_) return;
  out_->push_back(']');
  list_open_ = false;
}

absl::Status ResponseWriter::WriteObject(absl::string_view response_key,
                                         const Projector& projector,
                                         absl::string_view row_json) {
  EndList();
  BeginField(response_key);
  absl::Status status = projector.AppendRow(row_json, out_);
  if (!status.ok()) DiscardField();
  return status;
}

void ResponseWriter::WriteNull(absl::string_view response_key) {
  EndList();
  BeginField(response_key);
  out_->append("null");
}

void ResponseWriter::FailField(absl::string_view response_key,
                               absl::string_view message) {
  if (has_field_ && field_key_ == response_key) {
    DiscardField();
  } else {
    EndList();
  }
  BeginField(response_key);
  out_->append("null");

  if (!errors_.empty()) errors_.push_back(',');
  errors_.append("{\"message\":");
  internal::AppendJsonString(message, &errors_);
  errors_.append(",\"path\":[");
  internal::AppendJsonString(response_key, &errors_);
  errors_.append("]}");
}

void ResponseWriter::Finish() {
  if (finished_) return;
  finished_ = true;
  EndList();
  out_->push_back('}');
  if (!errors_.empty()) {
    out_->append(",\"errors\":[");
    out_->append(errors_);
    out_->push_back(']');
  }
  out_->push_back('}');
}

}  // namespace fraiseql::response
