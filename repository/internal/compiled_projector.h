// repository/internal/: the Projector the repository compiles each root's
// selection into, kept by the planner with the root's cached template
// (planner::PlannerOptions::compile_selection).
#ifndef FRAISEQL_REPOSITORY_INTERNAL_COMPILED_PROJECTOR_H_
#define FRAISEQL_REPOSITORY_INTERNAL_COMPILED_PROJECTOR_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <vector>

#include "exec/selection.h"
#include "planner/planner.h"
#include "repository/repository.h"
#include "response/projector.h"
#include "response/selection.h"

namespace fraiseql::repository_internal {

// The Projector a root's selection is compiled into when the planner builds
// its template (PlannerOptionsOf), so that a cached plan carries it compiled
// once per shape. The projector is immutable: rows of one shape are
// projected concurrently. Beside it, the size of the last body this shape
// was part of, to size the next one ahead (BodySizeHint).
class CompiledProjector : public planner::CompiledSelection {
 public:
  CompiledProjector(const exec::SelectionSet& selection,
                    const response::ProjectionOptions& options)
      : projector_(selection, options) {}
  const response::Projector& projector() const { return projector_; }

  size_t last_body_bytes() const {
    return last_body_bytes_.load(std::memory_order_relaxed);
  }
  void set_last_body_bytes(size_t bytes) const {
    last_body_bytes_.store(bytes, std::memory_order_relaxed);
  }

 private:
  response::Projector projector_;
  mutable std::atomic<size_t> last_body_bytes_{0};
};

// The bytes to reserve for a body of `plans`: the largest last body any of
// their shapes was part of, plus a little; 0 when none is known (a shape's
// first body, or value roots only). A large body then does not grow by
// doubling (each step a fresh allocation, faulted in, and a copy).
size_t BodySizeHint(const std::vector<planner::RootPlan>& plans);

// Remembers `bytes` as the last body size of each of `plans`' shapes.
void RecordBodySize(const std::vector<planner::RootPlan>& plans, size_t bytes);

// The projector of a list, object or connection root; null for the value
// shapes. Every plan of the repository's planner comes compiled by
// CompiledProjector.
const response::Projector* ProjectorOf(const planner::RootPlan& plan);

// The planner has each root's Projector compiled with the repository's
// projection options when it builds the root's template.
planner::PlannerOptions PlannerOptionsOf(const RepositoryOptions& options);

}  // namespace fraiseql::repository_internal

#endif  // FRAISEQL_REPOSITORY_INTERNAL_COMPILED_PROJECTOR_H_
