// repository/: a response body as a sequence of pieces for a consumer on
// another thread (a streaming HTTP server, a Python iterator). Runs
// Repository::ExecuteStreaming on a thread of its own and hands the pieces
// over through a small bounded queue.
#ifndef FRAISEQL_REPOSITORY_BODY_STREAM_H_
#define FRAISEQL_REPOSITORY_BODY_STREAM_H_

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "exec/request_context.h"
#include "proto/query.pb.h"
#include "repository/repository.h"

namespace fraiseql {

struct BodyStreamOptions {
  // Bytes per piece (about: a piece ends after the chunk of rows that
  // filled it). At most kMaxChunkBytes (64 MiB, repository/repository.h):
  // a bigger one makes the stream fail with InvalidArgument (from Next).
  size_t chunk_bytes = 64 * 1024;
  // Pieces produced but not yet taken before the producer waits: memory is
  // bounded by about (max_pending + 1) * chunk_bytes plus one chunk of rows,
  // and a slow consumer slows the reads from the server (backpressure).
  size_t max_pending = 2;
};

// Threading: Start spawns the producer thread; Next and Cancel may be
// called from any one consumer thread (Cancel also from others). The
// repository must outlive the stream. Destroying the stream cancels it and
// waits for the producer (which never needs the consumer's locks, nor the
// Python GIL unless a Python operator plugin renders a filter).
class BodyStream {
 public:
  // `context.cancelled` is replaced by the stream's own flag (set by
  // Cancel); its deadline and settings apply as given. Options out of
  // bounds start no producer: the first Next returns InvalidArgument.
  // Nothing thrown on the producer thread escapes it (std::bad_alloc is
  // ResourceExhausted, another exception Internal, both from Next).
  static std::unique_ptr<BodyStream> Start(const Repository* repository,
                                           v1::QueryDefinition query,
                                           exec::RequestContext context,
                                           BodyStreamOptions options = {});
  ~BodyStream();
  BodyStream(const BodyStream&) = delete;
  BodyStream& operator=(const BodyStream&) = delete;

  // Waits for the next piece: the piece; nullopt after the last one; the
  // call's error (see Repository::ExecuteStreaming) once the pieces before
  // it were taken. After Cancel: Cancelled.
  absl::StatusOr<std::optional<std::string>> Next();

  // Stops the producer: its statement is cancelled on the server, pieces
  // not yet taken are dropped.
  void Cancel();

 private:
  class QueueSink;
  BodyStream(BodyStreamOptions options) : options_(options) {}
  void Produce(const Repository* repository, v1::QueryDefinition query,
               exec::RequestContext context);
  void Finish(absl::Status status);

  const BodyStreamOptions options_;
  std::atomic<bool> cancelled_{false};
  absl::Mutex mu_;
  std::deque<std::string> pieces_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status final_ ABSL_GUARDED_BY(mu_);
  std::thread producer_;
};

}  // namespace fraiseql

#endif  // FRAISEQL_REPOSITORY_BODY_STREAM_H_
