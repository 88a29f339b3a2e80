// pool/internal: the reconnect delay of the pool's maintenance loop after
// failed connection attempts (exponential, capped, with jitter). A pure
// function so that it can be tested without a server or a clock.
#ifndef FRAISEQL_POOL_INTERNAL_BACKOFF_H_
#define FRAISEQL_POOL_INTERNAL_BACKOFF_H_

#include <algorithm>

#include "absl/time/time.h"

namespace fraiseql::pool::internal {

// The wait before the next attempt after `failures` consecutive failures
// (0: none, no wait): min(base * 2^(failures-1), max) scaled by
// (1 + jitter * (2 * unit - 1)), where `unit` is uniform in [0, 1) and
// `jitter` in [0, 1]. Never negative.
inline absl::Duration ReconnectDelay(absl::Duration base, absl::Duration max,
                                     double jitter, int failures,
                                     double unit) {
  if (failures <= 0) return absl::ZeroDuration();
  absl::Duration delay = base;
  for (int i = 1; i < failures && delay < max; ++i) delay *= 2;
  delay = std::min(delay, max);
  double scale = 1.0 + jitter * (2.0 * unit - 1.0);
  return std::max(absl::ZeroDuration(), delay * scale);
}

}  // namespace fraiseql::pool::internal

#endif  // FRAISEQL_POOL_INTERNAL_BACKOFF_H_
