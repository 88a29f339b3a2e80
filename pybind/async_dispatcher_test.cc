#include "pybind/async_dispatcher.h"

#include <poll.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace fraiseql::pybind {
namespace {

// Waits (generously) until `n` completions were drained, by polling the fd
// as an event loop would.
std::vector<uint64_t> DrainN(AsyncDispatcher& d, size_t n) {
  std::vector<uint64_t> ids;
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (ids.size() < n && absl::Now() < give_up) {
    pollfd p{d.fd(), POLLIN, 0};
    poll(&p, 1, 100);
    for (uint64_t id : d.Drain()) ids.push_back(id);
  }
  return ids;
}

// Submits a job that holds a slot of `d` (kind `slot`) until `release` is
// notified, so that the calls submitted next have to wait.
std::shared_ptr<AsyncDispatcher::Call> HoldSlot(
    AsyncDispatcher& d, absl::Notification& release,
    SlotUse slot = SlotUse::kAcquire) {
  return d.Submit(
      [&release](JobEnv&) {
        release.WaitForNotificationWithTimeout(absl::Seconds(30));
      },
      slot, absl::InfiniteFuture());
}

TEST(AsyncDispatcherTest, RefusesZeroSlots) {
  EXPECT_EQ(AsyncDispatcher::Create(0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AsyncDispatcherTest, NoMoreJobsRunThanSlotsAndTheRestWaitInTheQueue) {
  auto d = *AsyncDispatcher::Create(2);
  absl::Notification release;
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::vector<std::shared_ptr<AsyncDispatcher::Call>> calls;
  for (int i = 0; i < 6; ++i) {
    calls.push_back(d->Submit(
        [&](JobEnv&) {
          const int now = ++inside;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          release.WaitForNotificationWithTimeout(absl::Seconds(30));
          --inside;
        },
        SlotUse::kAcquire, absl::InfiniteFuture()));
  }
  // Wait until both slots are taken and four calls queue.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (d->Stats().running < 2 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(d->Stats().running, 2);
  EXPECT_EQ(d->Stats().queued, 4);
  EXPECT_EQ(d->Stats().free_slots, 0);
  release.Notify();
  std::vector<uint64_t> done = DrainN(*d, 6);
  EXPECT_EQ(done.size(), 6u);
  EXPECT_EQ(most.load(), 2);
  for (const auto& call : calls) EXPECT_TRUE(call->ran());
  EXPECT_EQ(d->Stats().free_slots, 2);
}

TEST(AsyncDispatcherTest, CancelledWhileQueuedCompletesWithoutRunning) {
  auto d = *AsyncDispatcher::Create(1);
  absl::Notification release;
  auto blocker = HoldSlot(*d, release);
  bool ran = false;
  auto queued = d->Submit([&](JobEnv&) { ran = true; }, SlotUse::kAcquire,
                          absl::InfiniteFuture());
  d->Cancel(queued);
  std::vector<uint64_t> first = DrainN(*d, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0], queued->id());
  EXPECT_FALSE(queued->ran());
  EXPECT_EQ(queued->status().code(), absl::StatusCode::kCancelled);
  release.Notify();
  EXPECT_EQ(DrainN(*d, 1).size(), 1u);
  EXPECT_FALSE(ran);
}

TEST(AsyncDispatcherTest, CancelRaisesTheFlagOfARunningJob) {
  auto d = *AsyncDispatcher::Create(1);
  std::atomic<bool> started{false};
  auto call = d->Submit(
      [&](JobEnv& env) {
        started = true;
        const absl::Time give_up = absl::Now() + absl::Seconds(30);
        while (!env.cancelled->load() && absl::Now() < give_up) {
          absl::SleepFor(absl::Milliseconds(1));
        }
      },
      SlotUse::kAcquire, absl::InfiniteFuture());
  while (!started) absl::SleepFor(absl::Milliseconds(1));
  d->Cancel(call);
  EXPECT_EQ(DrainN(*d, 1).size(), 1u);
  EXPECT_TRUE(call->ran());
}

TEST(AsyncDispatcherTest, QueueDeadlinePassesWithoutASlot) {
  auto d = *AsyncDispatcher::Create(1);
  absl::Notification release;
  HoldSlot(*d, release);
  auto late = d->Submit([](JobEnv&) {}, SlotUse::kAcquire,
                        absl::Now() + absl::Milliseconds(50));
  std::vector<uint64_t> done = DrainN(*d, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], late->id());
  EXPECT_EQ(late->status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(d->Stats().queue_timeouts, 1);
  release.Notify();
}

TEST(AsyncDispatcherTest, KeptSlotBlocksNewCallsButNotPinnedOnes) {
  auto d = *AsyncDispatcher::Create(1);
  auto begin = d->Submit([](JobEnv& env) { env.keep_slot = true; },
                         SlotUse::kAcquire, absl::InfiniteFuture());
  ASSERT_EQ(DrainN(*d, 1).size(), 1u);
  EXPECT_EQ(d->Stats().free_slots, 0);
  auto other =
      d->Submit([](JobEnv&) {}, SlotUse::kAcquire, absl::InfiniteFuture());
  auto pinned =
      d->Submit([](JobEnv&) {}, SlotUse::kPinned, absl::InfiniteFuture());
  std::vector<uint64_t> done = DrainN(*d, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], pinned->id());
  EXPECT_FALSE(other->ran());
  d->ReleaseSlot();
  done = DrainN(*d, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], other->id());
}

TEST(AsyncDispatcherTest, DestructionCancelsQueuedAndRunningCalls) {
  auto d = *AsyncDispatcher::Create(1);
  std::atomic<bool> started{false};
  auto running = d->Submit(
      [&](JobEnv& env) {
        started = true;
        while (!env.cancelled->load()) absl::SleepFor(absl::Milliseconds(1));
      },
      SlotUse::kAcquire, absl::InfiniteFuture());
  auto queued =
      d->Submit([](JobEnv&) {}, SlotUse::kAcquire, absl::InfiniteFuture());
  while (!started) absl::SleepFor(absl::Milliseconds(1));
  d.reset();  // would hang if the running job's flag were not raised
  EXPECT_TRUE(running->ran());
  EXPECT_FALSE(queued->ran());
  EXPECT_EQ(queued->status().code(), absl::StatusCode::kCancelled);
}

// Many rounds of submit-then-wait and of bursts, so that submissions meet
// the spinning worker at every point of its spin: a lost wake-up would
// leave a call never run (the generous bound only fails a hung run).
TEST(AsyncDispatcherTest, NoWakeUpIsLostBetweenSpinAndSleep) {
  auto d = *AsyncDispatcher::Create(2);
  std::atomic<int> ran{0};
  for (int round = 0; round < 3000; ++round) {
    const int burst = round % 5 == 0 ? 7 : 1;
    for (int i = 0; i < burst; ++i) {
      d->Submit([&](JobEnv&) { ++ran; }, SlotUse::kAcquire,
                absl::InfiniteFuture());
    }
    ASSERT_EQ(DrainN(*d, burst).size(), static_cast<size_t>(burst))
        << "round " << round;
  }
  EXPECT_EQ(d->Stats().free_slots, 2);
}

TEST(AsyncDispatcherTest, PinnedCallsCanBeCancelledAndExpireInTheQueue) {
  auto d = *AsyncDispatcher::Create(1);
  absl::Notification release;
  // A pinned job occupies the only worker.
  HoldSlot(*d, release, SlotUse::kPinned);
  bool ran = false;
  auto cancelled = d->Submit([&](JobEnv&) { ran = true; }, SlotUse::kPinned,
                             absl::InfiniteFuture());
  auto expiring = d->Submit([&](JobEnv&) { ran = true; }, SlotUse::kPinned,
                            absl::Now() + absl::Milliseconds(20));
  d->Cancel(cancelled);
  std::vector<uint64_t> done = DrainN(*d, 2);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(cancelled->status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(expiring->status().code(), absl::StatusCode::kDeadlineExceeded);
  release.Notify();
  EXPECT_EQ(DrainN(*d, 1).size(), 1u);
  EXPECT_FALSE(ran);
}

TEST(AsyncDispatcherTest, WaitDoneReturnsOnceTheCallCompleted) {
  auto d = *AsyncDispatcher::Create(1);
  absl::Notification release;
  std::atomic<bool> finished{false};
  auto call = d->Submit(
      [&](JobEnv&) {
        release.WaitForNotificationWithTimeout(absl::Seconds(30));
        finished = true;
      },
      SlotUse::kAcquire, absl::InfiniteFuture());
  EXPECT_FALSE(call->done());  // it cannot end before the release
  // The job is released only once this thread is about to wait, so a
  // WaitDone that returned at once would find it unfinished.
  std::atomic<bool> waiting{false};
  std::thread releaser([&] {
    while (!waiting) absl::SleepFor(absl::Milliseconds(1));
    release.Notify();
  });
  waiting = true;
  call->WaitDone();
  EXPECT_TRUE(finished.load());
  EXPECT_TRUE(call->done());
  releaser.join();
}

// A member that records the group it ran in.
class FakeMember : public BatchMember {
 public:
  FakeMember(int kind, std::vector<std::vector<int>>* groups, int id,
             int64_t weight = 1)
      : kind_(kind), groups_(groups), id_(id), weight_(weight) {}
  int64_t weight() const override { return weight_; }
  bool Compatible(const BatchMember& other) const override {
    return static_cast<const FakeMember&>(other).kind_ == kind_;
  }
  void RunGroup(const std::vector<BatchMember*>& others,
                const std::vector<const std::atomic<bool>*>& flags,
                JobEnv& env) override {
    std::vector<int> ids = {id_};
    for (BatchMember* o : others)
      ids.push_back(static_cast<FakeMember*>(o)->id_);
    EXPECT_EQ(flags.size(), ids.size());
    EXPECT_NE(env.cancelled, flags[0]);  // the group's own flag
    groups_->push_back(ids);
  }
  int kind_;
  std::vector<std::vector<int>>* groups_;
  int id_;
  int64_t weight_;
};

TEST(AsyncDispatcherTest, WaitingCompatibleCallsRunAsOneGroup) {
  auto d = *AsyncDispatcher::Create(1);
  absl::Notification release;
  HoldSlot(*d, release);
  std::vector<std::vector<int>> groups;
  std::vector<int> alone;
  // Ten calls of kind 0 and two of kind 1 wait behind the first.
  for (int i = 0; i < 12; ++i) {
    const int kind = i == 3 || i == 7 ? 1 : 0;
    d->Submit([&alone, i](JobEnv&) { alone.push_back(i); }, SlotUse::kAcquire,
              absl::InfiniteFuture(),
              std::make_shared<FakeMember>(kind, &groups, i));
  }
  release.Notify();
  ASSERT_EQ(DrainN(*d, 13).size(), 13u);
  EXPECT_TRUE(alone.empty());  // every one ran in a group
  // FIFO: the first call leads; kMaxBatch (8) per group; kinds apart.
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0], (std::vector<int>{0, 1, 2, 4, 5, 6, 8, 9}));
  EXPECT_EQ(groups[1], (std::vector<int>{3, 7}));
  EXPECT_EQ(groups[2], (std::vector<int>{10, 11}));
  EXPECT_EQ(d->Stats().batches, 3);
  EXPECT_EQ(d->Stats().batched_calls, 12);
  EXPECT_EQ(d->Stats().free_slots, 1);
}

TEST(AsyncDispatcherTest, AGroupHoldsAtMostItsWeightBudget) {
  auto d = *AsyncDispatcher::Create(1);
  absl::Notification release;
  HoldSlot(*d, release);
  std::vector<std::vector<int>> groups;
  // Weights 40, 40, 30, 20, 60, 40: a group takes members, in order, while
  // their sum stays within kMaxBatchWeight (100), skipping the heavier.
  const int64_t weights[] = {40, 40, 30, 20, 60, 40};
  for (int i = 0; i < 6; ++i) {
    d->Submit([](JobEnv&) {}, SlotUse::kAcquire, absl::InfiniteFuture(),
              std::make_shared<FakeMember>(0, &groups, i, weights[i]));
  }
  release.Notify();
  ASSERT_EQ(DrainN(*d, 7).size(), 7u);
  static_assert(AsyncDispatcher::kMaxBatchWeight == 100);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0], (std::vector<int>{0, 1, 3}));  // 40 + 40 + 20
  EXPECT_EQ(groups[1], (std::vector<int>{2, 4}));     // 30 + 60; 5 alone
}

// A member that waits for its group's cancel flag.
class WaitingMember : public BatchMember {
 public:
  bool Compatible(const BatchMember&) const override { return true; }
  void RunGroup(const std::vector<BatchMember*>&,
                const std::vector<const std::atomic<bool>*>&,
                JobEnv& env) override {
    started.Notify();
    while (!env.cancelled->load()) absl::SleepFor(absl::Milliseconds(1));
  }
  absl::Notification started;
};

TEST(AsyncDispatcherTest, DestructionAndCancelReachARunningGroup) {
  for (bool by_destruction : {false, true}) {
    auto d = *AsyncDispatcher::Create(1);
    absl::Notification release;
    HoldSlot(*d, release);
    auto leader_member = std::make_shared<WaitingMember>();
    auto leader = d->Submit([](JobEnv&) {}, SlotUse::kAcquire,
                            absl::InfiniteFuture(), leader_member);
    auto member =
        d->Submit([](JobEnv&) {}, SlotUse::kAcquire, absl::InfiniteFuture(),
                  std::make_shared<WaitingMember>());
    release.Notify();
    leader_member->started.WaitForNotification();
    if (by_destruction) {
      d.reset();  // would hang if the group's flag were not raised
    } else {
      d->Cancel(member);  // a member's cancel stops the group's statements
      EXPECT_EQ(DrainN(*d, 3).size(), 3u);
    }
    EXPECT_TRUE(leader->ran());
    EXPECT_TRUE(member->ran());
  }
}

TEST(AsyncDispatcherTest, ACallThatDoesNotWaitRunsAlone) {
  auto d = *AsyncDispatcher::Create(2);
  std::vector<std::vector<int>> groups;
  bool ran_alone = false;
  d->Submit([&](JobEnv&) { ran_alone = true; }, SlotUse::kAcquire,
            absl::InfiniteFuture(),
            std::make_shared<FakeMember>(0, &groups, 0));
  ASSERT_EQ(DrainN(*d, 1).size(), 1u);
  EXPECT_TRUE(ran_alone);
  EXPECT_TRUE(groups.empty());
}

}  // namespace
}  // namespace fraiseql::pybind
