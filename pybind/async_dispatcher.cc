#include "pybind/async_dispatcher.h"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fraiseql::pybind {

absl::StatusOr<std::unique_ptr<AsyncDispatcher>> AsyncDispatcher::Create(
    int slots) {
  if (slots < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid concurrency=", slots,
                     ": expected at least 1 (calls that "
                     "may run at once, one pool connection each)"));
  }
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("eventfd failed: errno ", errno));
  }
  return std::unique_ptr<AsyncDispatcher>(new AsyncDispatcher(slots, fd));
}

AsyncDispatcher::AsyncDispatcher(int slots, int event_fd)
    : slots_(slots), event_fd_(event_fd), free_slots_(slots) {
  workers_.reserve(slots);
  for (int i = 0; i < slots; ++i)
    workers_.emplace_back([this] { WorkerLoop(); });
  expiry_ = std::thread([this] { ExpiryLoop(); });
}

AsyncDispatcher::~AsyncDispatcher() {
  std::vector<std::function<void(JobEnv&)>> dropped;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    for (auto& [id, call] : running_calls_) {
      call->cancelled_ = true;
      if (call->group_cancelled_ != nullptr) *call->group_cancelled_ = true;
    }
    for (auto* queue : {&acquire_queue_, &pinned_queue_}) {
      for (const std::shared_ptr<Call>& call : *queue) {
        if (call->state_ != Call::State::kQueued) continue;
        dropped.push_back(FinishWithoutRunningLocked(
            call, absl::CancelledError("the async repository was closed "
                                       "before the call could run")));
      }
      queue->clear();
    }
    work_cv_.SignalAll();
    expiry_cv_.Signal();
  }
  dropped.clear();
  for (std::thread& worker : workers_) worker.join();
  expiry_.join();
  close(event_fd_);
}

std::shared_ptr<AsyncDispatcher::Call> AsyncDispatcher::Submit(
    std::function<void(JobEnv&)> run, SlotUse slot, absl::Time deadline,
    std::shared_ptr<BatchMember> batch) {
  auto call = std::make_shared<Call>();
  call->slot_ = slot;
  call->deadline_ = deadline;
  call->run_ = std::move(run);
  if (slot == SlotUse::kAcquire) call->batch_ = std::move(batch);
  std::function<void(JobEnv&)> dropped;
  {
    absl::MutexLock lock(&mu_);
    call->id_ = next_id_++;
    if (shutting_down_) {
      call->state_ = Call::State::kDone;
      {
        absl::MutexLock call_lock(&call->mu_);
        call->status_ = absl::CancelledError("the async repository is closed");
      }
      CompleteLocked(call);
      dropped = std::move(call->run_);
    } else {
      ++queued_;
      if (slot == SlotUse::kAcquire) {
        acquire_queue_.push_back(call);
        ++acquire_live_;
      } else {
        pinned_queue_.push_back(call);
        ++pinned_live_;
      }
      if (deadline != absl::InfiniteFuture()) {
        const bool soonest =
            deadlines_.empty() || deadline < deadlines_.begin()->first.first;
        deadlines_.emplace(std::make_pair(deadline, call->id_), call);
        if (soonest) expiry_cv_.Signal();
      }
      WakeWorkerLocked();
    }
  }
  return call;
}

void AsyncDispatcher::Cancel(const std::shared_ptr<Call>& call) {
  // The job's captures are destroyed after the lock is released: they may
  // hold what gives a slot back.
  std::function<void(JobEnv&)> dropped;
  absl::MutexLock lock(&mu_);
  switch (call->state_) {
    case Call::State::kQueued:
      ++cancelled_queued_;
      dropped = FinishWithoutRunningLocked(
          call, absl::CancelledError("cancelled before it ran"));
      break;
    case Call::State::kRunning:
      call->cancelled_ = true;
      // In a group: the group's statements share one round trip, so its
      // flag cancels them all; each member then runs again on its own (see
      // BatchMember), and only this one stays cancelled.
      if (call->group_cancelled_ != nullptr) *call->group_cancelled_ = true;
      break;
    case Call::State::kDone:
      break;
  }
}

std::vector<uint64_t> AsyncDispatcher::Drain() {
  // Clear the event first: a completion after this read signals again.
  uint64_t count;
  [[maybe_unused]] ssize_t n = read(event_fd_, &count, sizeof(count));
  std::vector<uint64_t> done;
  absl::MutexLock lock(&mu_);
  done.swap(completed_);
  return done;
}

void AsyncDispatcher::ReleaseSlot() {
  absl::MutexLock lock(&mu_);
  ++free_slots_;
  WakeWorkerLocked();
}

void AsyncDispatcher::WakeWorkerLocked() {
  submitted_.fetch_add(1, std::memory_order_release);
  // A spinning worker takes the first new job itself; any more wake a
  // sleeping one.
  if (spinning_ && !spin_claimed_) {
    spin_claimed_ = true;
    return;
  }
  work_cv_.Signal();
}

DispatcherStats AsyncDispatcher::Stats() const {
  absl::MutexLock lock(&mu_);
  DispatcherStats s;
  s.slots = slots_;
  s.free_slots = free_slots_;
  s.queued = queued_;
  s.running = running_;
  s.completed_total = completed_total_;
  s.queue_timeouts = queue_timeouts_;
  s.cancelled_queued = cancelled_queued_;
  s.batches = batches_;
  s.batched_calls = batched_calls_;
  return s;
}

bool AsyncDispatcher::RunnableLocked() const {
  return pinned_live_ > 0 || (acquire_live_ > 0 && free_slots_ > 0);
}

std::shared_ptr<AsyncDispatcher::Call> AsyncDispatcher::TakeRunnableLocked() {
  auto take = [](std::deque<std::shared_ptr<Call>>* queue) {
    while (!queue->empty()) {
      std::shared_ptr<Call> call = std::move(queue->front());
      queue->pop_front();
      if (call->state_ == Call::State::kQueued) return call;
    }
    return std::shared_ptr<Call>();
  };
  std::shared_ptr<Call> call;
  if (pinned_live_ > 0) {
    call = take(&pinned_queue_);
    --pinned_live_;
  } else if (acquire_live_ > 0 && free_slots_ > 0) {
    call = take(&acquire_queue_);
    --acquire_live_;
    --free_slots_;
  }
  if (call == nullptr) return call;
  --queued_;
  ++running_;
  call->state_ = Call::State::kRunning;
  if (call->deadline_ != absl::InfiniteFuture()) {
    deadlines_.erase(std::make_pair(call->deadline_, call->id_));
  }
  running_calls_.emplace(call->id_, call);
  return call;
}

std::vector<std::shared_ptr<AsyncDispatcher::Call>>
AsyncDispatcher::TakeGroupLocked(Call* leader,
                                 std::atomic<bool>* group_cancelled) {
  std::vector<std::shared_ptr<Call>> group;
  // Looks at the first kBatchScan entries as they were (taking one moves
  // the later ones forward, so `i` only advances past those left).
  size_t examined = 0;
  int64_t weight = leader->batch_->weight();
  for (size_t i = 0; i < acquire_queue_.size() && examined < kBatchScan &&
                     group.size() + 1 < kMaxBatch;
       ++examined) {
    const std::shared_ptr<Call>& candidate = acquire_queue_[i];
    if (candidate->state_ != Call::State::kQueued ||
        candidate->batch_ == nullptr ||
        !leader->batch_->Compatible(*candidate->batch_) ||
        candidate->batch_->weight() > kMaxBatchWeight - weight) {
      ++i;
      continue;
    }
    weight += candidate->batch_->weight();
    std::shared_ptr<Call> member = candidate;
    acquire_queue_.erase(acquire_queue_.begin() + static_cast<ptrdiff_t>(i));
    --acquire_live_;
    --queued_;
    ++running_;
    member->state_ = Call::State::kRunning;
    member->group_cancelled_ = group_cancelled;
    if (member->deadline_ != absl::InfiniteFuture()) {
      deadlines_.erase(std::make_pair(member->deadline_, member->id_));
    }
    running_calls_.emplace(member->id_, member);
    group.push_back(std::move(member));
  }
  if (!group.empty()) {
    leader->group_cancelled_ = group_cancelled;
    ++batches_;
    batched_calls_ += static_cast<int64_t>(group.size()) + 1;
  }
  return group;
}

void AsyncDispatcher::WorkerLoop() {
  // Workers yield the CPU to the event loop's thread: on a busy machine the
  // loop (which runs every request's Python) must not wait behind them for
  // its time slice, or every task's latency grows (a 1 ms ticker measured
  // 30 ms p99 with 200 tasks on 2 cores). Linux nice values are per thread.
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)),
              kWorkerNice);
  for (;;) {
    std::shared_ptr<Call> call;
    std::vector<std::shared_ptr<Call>> group;  // run with `call`, if any
    std::atomic<bool> group_cancelled{false};
    {
      absl::MutexLock lock(&mu_);
      while (!shutting_down_ && !RunnableLocked()) {
        if (spinning_) {
          work_cv_.Wait(&mu_);
          continue;
        }
        // One idle worker spins briefly before it sleeps: the next call of
        // a sequential caller then starts without a thread wake-up (tens
        // of microseconds on a virtual machine).
        spinning_ = true;
        spin_claimed_ = false;
        const int64_t seen = submitted_.load(std::memory_order_acquire);
        mu_.Unlock();
        const absl::Time until = absl::Now() + kSpin;
        while (submitted_.load(std::memory_order_acquire) == seen &&
               absl::Now() < until) {
        }
        mu_.Lock();
        spinning_ = false;
        if (!RunnableLocked() && !shutting_down_) work_cv_.Wait(&mu_);
      }
      if (shutting_down_) return;
      call = TakeRunnableLocked();
      if (call->batch_ != nullptr) {
        group = TakeGroupLocked(call.get(), &group_cancelled);
      }
    }
    JobEnv env;
    env.cancelled = &call->cancelled_;
    if (group.empty()) {
      call->run_(env);
    } else {
      std::vector<BatchMember*> others;
      std::vector<const std::atomic<bool>*> flags = {&call->cancelled_};
      for (const std::shared_ptr<Call>& member : group) {
        others.push_back(member->batch_.get());
        flags.push_back(&member->cancelled_);
      }
      env.cancelled = &group_cancelled;
      call->batch_->RunGroup(others, flags, env);
    }
    // The jobs' captures go here, without any lock held.
    call->run_ = nullptr;
    call->batch_ = nullptr;
    for (const std::shared_ptr<Call>& member : group) {
      member->run_ = nullptr;
      member->batch_ = nullptr;
    }
    group.push_back(call);
    for (const std::shared_ptr<Call>& member : group) {
      absl::MutexLock call_lock(&member->mu_);
      member->ran_ = true;
    }
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i + 1 < group.size(); ++i) {
      Call& member = *group[i];
      --running_;
      running_calls_.erase(member.id_);
      member.group_cancelled_ = nullptr;
      member.state_ = Call::State::kDone;
      CompleteLocked(group[i]);
    }
    group.clear();
    call->group_cancelled_ = nullptr;
    --running_;
    running_calls_.erase(call->id_);
    // The slot freed here lets at most one queued call run, and this worker
    // takes it at the top of its loop: no other worker needs waking.
    if (call->slot_ == SlotUse::kAcquire && !env.keep_slot) ++free_slots_;
    call->state_ = Call::State::kDone;
    CompleteLocked(call);
  }
}

void AsyncDispatcher::ExpiryLoop() {
  absl::MutexLock lock(&mu_);
  while (!shutting_down_) {
    if (deadlines_.empty()) {
      expiry_cv_.Wait(&mu_);
      continue;
    }
    const absl::Time next = deadlines_.begin()->first.first;
    if (absl::Now() < next) {
      expiry_cv_.WaitWithDeadline(&mu_, next);
      continue;
    }
    std::shared_ptr<Call> call = deadlines_.begin()->second;
    ++queue_timeouts_;
    std::function<void(JobEnv&)> dropped = FinishWithoutRunningLocked(
        call, absl::DeadlineExceededError(absl::StrCat(
                  "no connection became free for the call before its "
                  "deadline (",
                  slots_, " calls may run at once, ", queued_, " waiting)")));
    mu_.Unlock();
    dropped = nullptr;
    mu_.Lock();
  }
}

std::function<void(JobEnv&)> AsyncDispatcher::FinishWithoutRunningLocked(
    const std::shared_ptr<Call>& call, absl::Status status) {
  --queued_;
  if (call->slot_ == SlotUse::kAcquire) {
    --acquire_live_;
  } else {
    --pinned_live_;
  }
  if (call->deadline_ != absl::InfiniteFuture()) {
    deadlines_.erase(std::make_pair(call->deadline_, call->id_));
  }
  call->state_ = Call::State::kDone;
  {
    absl::MutexLock call_lock(&call->mu_);
    call->status_ = std::move(status);
  }
  CompleteLocked(call);
  return std::move(call->run_);
}

void AsyncDispatcher::CompleteLocked(const std::shared_ptr<Call>& call) {
  {
    absl::MutexLock call_lock(&call->mu_);
    call->done_ = true;
  }
  const bool was_empty = completed_.empty();
  completed_.push_back(call->id_);
  ++completed_total_;
  if (was_empty) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(event_fd_, &one, sizeof(one));
  }
}

}  // namespace fraiseql::pybind
