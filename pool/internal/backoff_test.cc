#include "pool/internal/backoff.h"

#include "gtest/gtest.h"

namespace fraiseql::pool::internal {
namespace {

const absl::Duration kBase = absl::Milliseconds(100);
const absl::Duration kMax = absl::Seconds(2);

TEST(ReconnectDelay, IsZeroWithoutFailures) {
  EXPECT_EQ(ReconnectDelay(kBase, kMax, 0.2, 0, 0.5), absl::ZeroDuration());
}

TEST(ReconnectDelay, DoublesPerFailureUpToTheMaximum) {
  EXPECT_EQ(ReconnectDelay(kBase, kMax, 0.0, 1, 0.9), absl::Milliseconds(100));
  EXPECT_EQ(ReconnectDelay(kBase, kMax, 0.0, 2, 0.9), absl::Milliseconds(200));
  EXPECT_EQ(ReconnectDelay(kBase, kMax, 0.0, 5, 0.9), absl::Milliseconds(1600));
  EXPECT_EQ(ReconnectDelay(kBase, kMax, 0.0, 6, 0.9), kMax);
  EXPECT_EQ(ReconnectDelay(kBase, kMax, 0.0, 1000, 0.9), kMax);
}

TEST(ReconnectDelay, JitterSpreadsAroundTheDelay) {
  // unit 0 -> -20%, 0.5 -> exact, 1 -> +20%.
  EXPECT_EQ(ReconnectDelay(kBase, kMax, 0.2, 2, 0.0), absl::Milliseconds(160));
  EXPECT_EQ(ReconnectDelay(kBase, kMax, 0.2, 2, 0.5), absl::Milliseconds(200));
  EXPECT_EQ(ReconnectDelay(kBase, kMax, 0.2, 2, 1.0), absl::Milliseconds(240));
  EXPECT_GE(ReconnectDelay(kBase, kMax, 1.0, 3, 0.0), absl::ZeroDuration());
}

}  // namespace
}  // namespace fraiseql::pool::internal
