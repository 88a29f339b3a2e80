// Correct uses of every absl::Mutex/CondVar/Notification function that
// tests/sanitizers/tsan_absl_shim.cc annotates, from several threads. Under
// --config=tsan a report here is a false positive of the shim (or a shim
// that does not interpose): the test then fails. Ordinary test elsewhere.
#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace {

constexpr int kThreads = 4;
constexpr int kRounds = 200;

template <typename Body>
void RunThreads(Body body) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
  for (auto& th : threads) th.join();
}

TEST(TsanAbslMutex, LockAndUnlock) {
  absl::Mutex mu;
  long sum = 0;
  RunThreads([&](int) {
    for (int i = 0; i < kRounds; ++i) {
      absl::MutexLock lock(&mu);
      ++sum;
    }
  });
  EXPECT_EQ(sum, kThreads * kRounds);
}

TEST(TsanAbslMutex, ReadersAndWriters) {
  absl::Mutex mu;
  long value = 0;
  long seen = 0;
  absl::Mutex seen_mu;
  RunThreads([&](int t) {
    for (int i = 0; i < kRounds; ++i) {
      if (t % 2 == 0) {
        absl::WriterMutexLock lock(&mu);
        ++value;
      } else {
        long v;
        {
          absl::ReaderMutexLock lock(&mu);
          v = value;
        }
        absl::MutexLock lock(&seen_mu);
        seen = std::max(seen, v);
      }
    }
  });
  EXPECT_EQ(value, kThreads / 2 * kRounds);
  EXPECT_LE(seen, value);
}

TEST(TsanAbslMutex, TryLockAndReaderTryLock) {
  absl::Mutex mu;
  long value = 0;
  RunThreads([&](int t) {
    for (int i = 0; i < kRounds; ++i) {
      if (t % 2 == 0) {
        while (!mu.TryLock()) {
        }
        ++value;
        mu.Unlock();
      } else if (mu.ReaderTryLock()) {
        long v = value;
        (void)v;
        mu.ReaderUnlock();
      }
    }
  });
  EXPECT_EQ(value, kThreads / 2 * kRounds);
}

TEST(TsanAbslMutex, LockWhenAndAwait) {
  absl::Mutex mu;
  int turn = 0;  // threads take turns in order 0, 1, 2, 3, 0, ...
  uint64_t log = 0;  // wraps: only the order matters
  RunThreads([&](int t) {
    for (int i = 0; i < 50; ++i) {
      auto my_turn = [&] { return turn % kThreads == t; };
      if (i % 3 == 0) {
        mu.LockWhen(absl::Condition(&my_turn));
      } else if (i % 3 == 1) {
        mu.Lock();
        mu.Await(absl::Condition(&my_turn));
      } else {
        mu.Lock();
        while (!mu.AwaitWithTimeout(absl::Condition(&my_turn),
                                    absl::Milliseconds(5))) {
        }
      }
      log = log * 7 + t;
      ++turn;
      mu.Unlock();
    }
  });
  EXPECT_EQ(turn, kThreads * 50);
}

TEST(TsanAbslMutex, ReaderLockWhenAndReaderAwait) {
  absl::Mutex mu;
  bool ready = false;
  int payload = 0;
  std::thread writer([&] {
    absl::MutexLock lock(&mu);
    payload = 42;
    ready = true;
  });
  RunThreads([&](int) {
    auto is_ready = [&] { return ready; };
    mu.ReaderLockWhen(absl::Condition(&is_ready));
    EXPECT_EQ(payload, 42);
    mu.ReaderUnlock();
    mu.ReaderLock();
    mu.Await(absl::Condition(&is_ready));
    EXPECT_EQ(payload, 42);
    mu.ReaderUnlock();
    EXPECT_TRUE(mu.ReaderLockWhenWithDeadline(
        absl::Condition(&is_ready), absl::Now() + absl::Seconds(60)));
    mu.ReaderUnlock();
  });
  writer.join();
}

TEST(TsanAbslMutex, CondVarWaitAndSignal) {
  absl::Mutex mu;
  absl::CondVar cv;
  int items = 0;
  long consumed = 0;
  std::thread producer([&] {
    for (int i = 0; i < kRounds; ++i) {
      absl::MutexLock lock(&mu);
      ++items;
      cv.Signal();
    }
  });
  std::thread consumer([&] {
    for (int i = 0; i < kRounds; ++i) {
      absl::MutexLock lock(&mu);
      while (items == 0) {
        if (i % 2 == 0) {
          cv.Wait(&mu);
        } else {
          cv.WaitWithDeadline(&mu, absl::Now() + absl::Milliseconds(5));
        }
      }
      --items;
      ++consumed;
    }
  });
  producer.join();
  consumer.join();
  EXPECT_EQ(consumed, kRounds);
}

TEST(TsanAbslMutex, NotificationPublishesData) {
  for (int i = 0; i < 20; ++i) {
    absl::Notification done;
    int payload = 0;
    std::thread writer([&] {
      payload = i + 1;
      done.Notify();
    });
    if (i % 2 == 0) {
      done.WaitForNotification();
    } else {
      while (!done.HasBeenNotified()) {
      }
    }
    EXPECT_EQ(payload, i + 1);
    writer.join();
  }
}

}  // namespace
