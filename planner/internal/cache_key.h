// planner/internal/: the key of the plan cache (see Planner in planner.h).
#ifndef FRAISEQL_PLANNER_INTERNAL_CACHE_KEY_H_
#define FRAISEQL_PLANNER_INTERNAL_CACHE_KEY_H_

#include <string>

#include "absl/strings/string_view.h"
#include "proto/query.pb.h"

namespace fraiseql::planner::internal {

// Everything the template depends on (see planner.h), unambiguously
// (length-prefixed). `condition` is the compiled `where` SQL.
std::string CacheKey(const v1::RootField& root, absl::string_view condition);

}  // namespace fraiseql::planner::internal

#endif  // FRAISEQL_PLANNER_INTERNAL_CACHE_KEY_H_
