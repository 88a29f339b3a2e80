// pybind/: runs the module's blocking calls for an event loop. A call waits
// in a queue (no thread held) until it may take one of `slots` (one per pool
// connection it may use), then runs on one of `slots` worker threads, and
// its completion is announced on an eventfd that the event loop watches
// (asyncio's add_reader), so the loop collects finished calls in batches
// without any thread touching Python state.
//
// Why slots: a call that runs holds a pool connection; with no more calls
// running than the pool has connections, no worker ever waits inside the
// pool's Acquire, and every waiting call costs a queue entry, not a thread.
// A transaction or a stream keeps the slot its first call took until it
// ends (SlotHold); its later calls run on it (SlotUse::kPinned) and never
// wait behind calls that need a new slot, so a transaction cannot be
// starved by the calls queued behind it.
//
// Threading: every method is thread-safe. Jobs run on the workers without
// the GIL; they must capture no Python object. Destroying the dispatcher
// cancels what is queued (Cancelled), raises the cancel flag of what runs,
// and joins the workers: never destroy it on one of its own workers.
#ifndef FRAISEQL_PYBIND_ASYNC_DISPATCHER_H_
#define FRAISEQL_PYBIND_ASYNC_DISPATCHER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fraiseql::exec {
struct CallStats;
}  // namespace fraiseql::exec

namespace fraiseql::pybind {

enum class SlotUse {
  kAcquire,  // takes a free slot while it runs (or keeps it, see JobEnv)
  kPinned,   // runs on a slot its holder already has
};

// What a running job sees.
struct JobEnv {
  // Raised by Cancel() and by the dispatcher's destruction; give it to
  // exec::RequestContext::cancelled.
  const std::atomic<bool>* cancelled = nullptr;
  // A kAcquire job sets this to keep its slot when it ends (a transaction
  // or stream that now holds a connection); the holder gives it back with
  // AsyncDispatcher::ReleaseSlot (see SlotHold).
  bool keep_slot = false;
  // Where the job records what the call cost (for the per-call hook), or
  // null; give it to exec::RequestContext::stats.
  exec::CallStats* stats = nullptr;
};

// A call that may run together with others of its kind: a worker that
// takes one from the queue also takes up to kMaxBatch - 1 compatible ones
// waiting near the front, and runs them all on one slot (one connection,
// one round trip). Only calls that wait are grouped, so a call never waits
// longer for being batchable.
class BatchMember {
 public:
  virtual ~BatchMember() = default;
  // Where the member records what it cost (for the per-call hook), or null.
  exec::CallStats* stats = nullptr;
  // Whether `other` may run in one group with this one.
  virtual bool Compatible(const BatchMember& other) const = 0;
  // The work this call adds to a group (a query: the rows it may return).
  // A group's members run one after another, so each waits for the
  // others' work: a group holds at most AsyncDispatcher::kMaxBatchWeight.
  virtual int64_t weight() const { return 1; }
  // Runs this call and `others`, setting each one's result. `flags[i]` is
  // member i's own cancel flag (this one first); `env.cancelled` is raised
  // when any member is cancelled.
  virtual void RunGroup(const std::vector<BatchMember*>& others,
                        const std::vector<const std::atomic<bool>*>& flags,
                        JobEnv& env) = 0;
};

struct DispatcherStats {
  int64_t slots = 0;
  int64_t free_slots = 0;  // slots neither running a job nor held
  int64_t queued = 0;      // calls waiting for a slot or a worker
  int64_t running = 0;
  int64_t completed_total = 0;
  int64_t queue_timeouts = 0;  // calls whose deadline passed in the queue
  int64_t cancelled_queued = 0;
  int64_t batches = 0;        // groups of two or more calls run as one
  int64_t batched_calls = 0;  // calls that ran in those groups
};

class AsyncDispatcher {
 public:
  // One call, shared by the dispatcher and its submitter.
  class Call {
   public:
    uint64_t id() const { return id_; }
    // Whether the job ran (its own results tell how it went). When false,
    // status() says why it did not: Cancelled, or DeadlineExceeded when its
    // queue deadline passed.
    bool ran() const {
      absl::MutexLock lock(&mu_);
      return ran_;
    }
    absl::Status status() const {
      absl::MutexLock lock(&mu_);
      return status_;
    }
    // Whether it has completed (ran, or will never run).
    bool done() const {
      absl::MutexLock lock(&mu_);
      return done_;
    }
    // Blocks until it has completed.
    void WaitDone() const {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&done_));
    }

   private:
    friend class AsyncDispatcher;
    enum class State { kQueued, kRunning, kDone };
    uint64_t id_ = 0;
    SlotUse slot_ = SlotUse::kAcquire;
    absl::Time deadline_ = absl::InfiniteFuture();
    std::function<void(JobEnv&)> run_;
    std::shared_ptr<BatchMember> batch_;  // null: runs alone
    // While it runs in a group: the group's cancel flag, which a cancel of
    // this call raises too. Guarded by the dispatcher's mutex.
    std::atomic<bool>* group_cancelled_ = nullptr;
    std::atomic<bool> cancelled_{false};
    mutable absl::Mutex mu_;
    bool ran_ ABSL_GUARDED_BY(mu_) = false;
    bool done_ ABSL_GUARDED_BY(mu_) = false;
    absl::Status status_ ABSL_GUARDED_BY(mu_);
    // Guarded by the dispatcher's mutex.
    State state_ = State::kQueued;
  };

  // `slots` >= 1 (InvalidArgument otherwise, from Create).
  static absl::StatusOr<std::unique_ptr<AsyncDispatcher>> Create(int slots);
  ~AsyncDispatcher();
  AsyncDispatcher(const AsyncDispatcher&) = delete;
  AsyncDispatcher& operator=(const AsyncDispatcher&) = delete;

  // Readable (level-triggered) while completions wait for Drain().
  int fd() const { return event_fd_; }

  // Queues `run`. A call still queued at `deadline` completes without
  // running (DeadlineExceeded naming the wait); a running call is bounded by
  // its own deadline, not this one. After shutdown: completes at once as
  // Cancelled.
  std::shared_ptr<Call> Submit(std::function<void(JobEnv&)> run, SlotUse slot,
                               absl::Time deadline,
                               std::shared_ptr<BatchMember> batch = nullptr);

  // Calls one group may hold, and how far into the queue a worker looks
  // for them.
  static constexpr size_t kMaxBatch = 8;
  static constexpr size_t kBatchScan = 32;
  // The most weight (BatchMember::weight) one group may hold; a member
  // that would pass it is left for a later group.
  static constexpr int64_t kMaxBatchWeight = 100;

  // A queued call completes at once as Cancelled, without running; a running
  // one has its cancel flag raised (its job ends as its code decides,
  // usually Cancelled after cancelling its statement on the server); a done
  // one is left as it is.
  void Cancel(const std::shared_ptr<Call>& call);

  // The ids of the calls completed since the last Drain, in completion
  // order; clears the eventfd first, so a completion that races with this
  // call is either returned or signalled again.
  std::vector<uint64_t> Drain();

  // Gives back a slot a job kept (JobEnv::keep_slot).
  void ReleaseSlot();

  DispatcherStats Stats() const;
  int slots() const { return slots_; }

 private:
  AsyncDispatcher(int slots, int event_fd);
  void WorkerLoop();
  void ExpiryLoop();
  bool RunnableLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes a worker for one new runnable job (or lets the spinning one take
  // it).
  void WakeWorkerLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Compatible kAcquire calls waiting near the front of the queue, taken
  // out of it and marked running in `leader`'s group, whose cancel flag is
  // `group_cancelled`.
  std::vector<std::shared_ptr<Call>> TakeGroupLocked(
      Call* leader, std::atomic<bool>* group_cancelled)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The next job a worker may run, or null.
  std::shared_ptr<Call> TakeRunnableLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CompleteLocked(const std::shared_ptr<Call>& call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Completes a queued call without running it; returns its job for the
  // caller to destroy once the lock is released.
  std::function<void(JobEnv&)> FinishWithoutRunningLocked(
      const std::shared_ptr<Call>& call, absl::Status status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int slots_;
  const int event_fd_;
  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  int free_slots_ ABSL_GUARDED_BY(mu_);
  absl::CondVar work_cv_;  // a job may have become runnable
  // The workers' nice value (the event loop's thread keeps 0).
  static constexpr int kWorkerNice = 10;
  // How long an idle worker spins before it sleeps (one at a time).
  static constexpr absl::Duration kSpin = absl::Microseconds(50);
  bool spinning_ ABSL_GUARDED_BY(mu_) = false;
  bool spin_claimed_ ABSL_GUARDED_BY(mu_) = false;  // a job is on its way
  std::atomic<int64_t> submitted_{0};               // bumped by every wake-up
  absl::CondVar expiry_cv_;  // the soonest queue deadline may have changed
  // Queued calls that are not tombstones, per queue.
  int64_t acquire_live_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t pinned_live_ ABSL_GUARDED_BY(mu_) = 0;
  // FIFO per kind; a cancelled or expired call stays as a tombstone
  // (state kDone) and is skipped when reached, so Cancel costs O(1).
  std::deque<std::shared_ptr<Call>> acquire_queue_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Call>> pinned_queue_ ABSL_GUARDED_BY(mu_);
  // Queued calls with a finite deadline, soonest first.
  std::map<std::pair<absl::Time, uint64_t>, std::shared_ptr<Call>> deadlines_
      ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> completed_ ABSL_GUARDED_BY(mu_);
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t running_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t completed_total_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t queue_timeouts_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t cancelled_queued_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t batches_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t batched_calls_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  // Running calls, so that shutdown can raise their cancel flags.
  std::map<uint64_t, std::shared_ptr<Call>> running_calls_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
  std::thread expiry_;
};

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_ASYNC_DISPATCHER_H_
