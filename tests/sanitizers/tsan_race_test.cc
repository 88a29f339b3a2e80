// Intentional data races (see BUILD.bazel): under --config=tsan every test
// here must be reported. Not part of //... .
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace {

// Plain unguarded writes from two threads.
TEST(Race, UnguardedWrites) {
  int value = 0;
  std::thread a([&] { value += 1; });
  std::thread b([&] { value += 2; });
  a.join();
  b.join();
  EXPECT_GT(value, 0);
}

// One side takes the absl::Mutex, the other does not: the shim's lock and
// unlock annotations must not order the unguarded write.
TEST(Race, OneSideUnguarded) {
  absl::Mutex mu;
  int value = 0;
  std::thread a([&] {
    absl::MutexLock lock(&mu);
    value += 1;
  });
  std::thread b([&] { value += 2; });
  a.join();
  b.join();
  EXPECT_GT(value, 0);
}

// Each side holds a different mutex: no common lock, a race.
TEST(Race, DifferentMutexes) {
  absl::Mutex mu1, mu2;
  int value = 0;
  std::thread a([&] {
    absl::MutexLock lock(&mu1);
    value += 1;
  });
  std::thread b([&] {
    absl::MutexLock lock(&mu2);
    value += 2;
  });
  a.join();
  b.join();
  EXPECT_GT(value, 0);
}

// Writers under a reader lock race with each other.
TEST(Race, WritesUnderReaderLock) {
  absl::Mutex mu;
  int value = 0;
  std::thread a([&] {
    absl::ReaderMutexLock lock(&mu);
    value += 1;
  });
  std::thread b([&] {
    absl::ReaderMutexLock lock(&mu);
    value += 2;
  });
  a.join();
  b.join();
  EXPECT_GT(value, 0);
}

}  // namespace
