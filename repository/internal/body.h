// repository/internal/: a response body under construction: the writer
// (response/response_writer.h), the size cap (RepositoryOptions::
// max_response_bytes) and the pieces handed to a streaming consumer.
#ifndef FRAISEQL_REPOSITORY_INTERNAL_BODY_H_
#define FRAISEQL_REPOSITORY_INTERNAL_BODY_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "repository/repository.h"
#include "response/response_writer.h"

namespace fraiseql::repository_internal {

// ResourceExhausted past RepositoryOptions::max_response_bytes.
absl::Status TooLargeError(size_t cap, absl::string_view key,
                           absl::string_view where);

// The body under construction: the writer, the size cap, and the pieces
// handed to a streaming consumer or landed in a destination (every
// kLandingPieceBytes).
class Body {
 public:
  Body(std::string* out, BodySink* sink, size_t chunk_bytes, size_t cap,
       response::Destination* destination = nullptr)
      : writer_(out),
        out_(out),
        sink_(sink),
        destination_(destination),
        chunk_bytes_(destination != nullptr ? kLandingPieceBytes : chunk_bytes),
        cap_(cap) {
    if (destination_ != nullptr) writer_.LandIn(destination_);
  }

  response::ResponseWriter& writer() { return writer_; }

  // After rows of the root `key` were written: fails past the cap, and
  // hands a full piece to the consumer.
  absl::Status AfterRows(absl::string_view key, int64_t rows,
                         size_t pending_bytes = 0) {
    if (cap_ > 0 && writer_.bytes_written() + pending_bytes > cap_) {
      cap_hit_ = true;
      return TooLarge(key, absl::StrCat("after ", rows, " rows"));
    }
    if ((sink_ != nullptr || destination_ != nullptr) &&
        out_->size() >= chunk_bytes_) {
      return Flush();
    }
    return absl::OkStatus();
  }

  absl::Status TooLarge(absl::string_view key, absl::string_view where) const {
    return TooLargeError(cap_, key, where);
  }

  // Hands what is final to the consumer, or lands it.
  absl::Status Flush() {
    if (destination_ != nullptr) writer_.Land();
    if (sink_ == nullptr) return absl::OkStatus();
    piece_.clear();
    writer_.TakeBytes(&piece_);
    if (piece_.empty()) return absl::OkStatus();
    sent_ = true;
    return sink_->OnBytes(piece_);
  }

  // After the body is finished: ResourceExhausted when it is past the cap
  // and nothing has left yet (landed bytes have not left).
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
  response::Destination* destination_;
  size_t chunk_bytes_;
  size_t cap_;
  std::string piece_;
  bool cap_hit_ = false;
  bool sent_ = false;
};

}  // namespace fraiseql::repository_internal

#endif  // FRAISEQL_REPOSITORY_INTERNAL_BODY_H_
