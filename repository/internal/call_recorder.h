// repository/internal/: the repository's part of a call's statistics
// (exec::CallStats): execution time, bytes and the statements' shape.
#ifndef FRAISEQL_REPOSITORY_INTERNAL_CALL_RECORDER_H_
#define FRAISEQL_REPOSITORY_INTERNAL_CALL_RECORDER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "exec/call_stats.h"
#include "planner/planner.h"
#include "repository/repository.h"

namespace fraiseql::repository_internal {

// Sets the Repository's part of a call's stats (exec::CallStats: execution
// and bytes) when the call ends, however it ends. The backend adds the
// acquire wait as the call runs; execution is the rest of the call's time.
class CallRecorder {
 public:
  explicit CallRecorder(exec::CallStats* stats)
      : stats_(stats),
        start_(absl::Now()),
        wait_before_(stats != nullptr ? stats->acquire_wait
                                      : absl::ZeroDuration()) {}
  CallRecorder(const CallRecorder&) = delete;
  CallRecorder& operator=(const CallRecorder&) = delete;
  ~CallRecorder() {
    if (stats_ == nullptr) return;
    const absl::Duration waited = stats_->acquire_wait - wait_before_;
    stats_->execution =
        std::max(absl::ZeroDuration(), absl::Now() - start_ - waited);
  }

  void set_bytes(size_t bytes) {
    if (stats_ != nullptr) stats_->bytes = static_cast<int64_t>(bytes);
  }

  void set_shape(const std::vector<const std::string*>& sqls) {
    if (stats_ == nullptr) return;
    exec::ShapeHasher hasher;
    for (const std::string* sql : sqls) hasher.Add(*sql);
    stats_->shape = hasher.Hex();
  }
  void set_shape(const std::vector<planner::RootPlan>& plans) {
    std::vector<const std::string*> sqls;
    for (const planner::RootPlan& plan : plans) sqls.push_back(&plan.plan.sql);
    set_shape(sqls);
  }

 private:
  exec::CallStats* stats_;
  absl::Time start_;
  absl::Duration wait_before_;
};

// Counts the bytes a streamed body hands to its consumer.
class CountingBodySink : public BodySink {
 public:
  explicit CountingBodySink(BodySink* inner) : inner_(inner) {}
  absl::Status OnBytes(absl::string_view bytes) override {
    bytes_ += bytes.size();
    return inner_->OnBytes(bytes);
  }
  size_t bytes() const { return bytes_; }

 private:
  BodySink* inner_;
  size_t bytes_ = 0;
};

}  // namespace fraiseql::repository_internal

#endif  // FRAISEQL_REPOSITORY_INTERNAL_CALL_RECORDER_H_
