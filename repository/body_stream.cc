#include "repository/body_stream.h"

#include <exception>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fraiseql {

class BodyStream::QueueSink : public BodySink {
 public:
  explicit QueueSink(BodyStream* stream) : stream_(stream) {}

  absl::Status OnBytes(absl::string_view bytes) override {
    BodyStream& s = *stream_;
    absl::MutexLock lock(&s.mu_);
    // Backpressure: wait while the consumer is behind.
    auto room = [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu_) {
      return s.pieces_.size() < s.options_.max_pending ||
             s.cancelled_.load(std::memory_order_relaxed);
    };
    s.mu_.Await(absl::Condition(&room));
    if (s.cancelled_.load()) {
      return absl::CancelledError("the body stream was closed by its consumer");
    }
    s.pieces_.emplace_back(bytes.data(), bytes.size());
    return absl::OkStatus();
  }

 private:
  BodyStream* stream_;
};

std::unique_ptr<BodyStream> BodyStream::Start(const Repository* repository,
                                              v1::QueryDefinition query,
                                              exec::RequestContext context,
                                              BodyStreamOptions options) {
  if (options.max_pending == 0) options.max_pending = 1;
  std::unique_ptr<BodyStream> stream(new BodyStream(options));
  if (options.chunk_bytes > kMaxChunkBytes) {
    stream->Finish(absl::InvalidArgumentError(absl::StrCat(
        "chunk_bytes is too large (limit ", kMaxChunkBytes, " bytes)")));
    return stream;
  }
  context.cancelled = &stream->cancelled_;
  stream->producer_ =
      std::thread(&BodyStream::Produce, stream.get(), repository,
                  std::move(query), std::move(context));
  return stream;
}

void BodyStream::Produce(const Repository* repository,
                         v1::QueryDefinition query,
                         exec::RequestContext context) {
  // An exception must not leave the thread (std::terminate would end the
  // process): it ends the stream with an error instead.
  absl::Status status;
  try {
    QueueSink sink(this);
    status = repository->ExecuteStreaming(query, context, &sink,
                                          options_.chunk_bytes);
  } catch (const std::bad_alloc&) {
    status = absl::ResourceExhaustedError(
        "out of memory while streaming the response body");
  } catch (const std::exception& e) {
    status = absl::InternalError(
        absl::StrCat("the response body stream failed: ", e.what()));
  } catch (...) {
    status = absl::InternalError("the response body stream failed");
  }
  Finish(std::move(status));
}

void BodyStream::Finish(absl::Status status) {
  absl::MutexLock lock(&mu_);
  done_ = true;
  final_ = std::move(status);
}

absl::StatusOr<std::optional<std::string>> BodyStream::Next() {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !pieces_.empty() || done_;
  };
  mu_.Await(absl::Condition(&ready));
  if (cancelled_.load()) {
    return absl::CancelledError("the body stream was cancelled");
  }
  if (!pieces_.empty()) {
    std::string piece = std::move(pieces_.front());
    pieces_.pop_front();
    return std::optional<std::string>(std::move(piece));
  }
  if (!final_.ok()) return final_;
  return std::optional<std::string>();
}

void BodyStream::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_.store(true);
  pieces_.clear();
}

BodyStream::~BodyStream() {
  Cancel();
  if (producer_.joinable()) producer_.join();
}

}  // namespace fraiseql
