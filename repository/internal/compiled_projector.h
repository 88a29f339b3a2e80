// repository/internal/: the Projector the repository compiles each root's
// selection into, kept by the planner with the root's cached template
// (planner::PlannerOptions::compile_selection).
#ifndef FRAISEQL_REPOSITORY_INTERNAL_COMPILED_PROJECTOR_H_
#define FRAISEQL_REPOSITORY_INTERNAL_COMPILED_PROJECTOR_H_

#include "exec/selection.h"
#include "planner/planner.h"
#include "repository/repository.h"
#include "response/projector.h"
#include "response/selection.h"

namespace fraiseql::repository_internal {

// The Projector a root's selection is compiled into when the planner builds
// its template (PlannerOptionsOf), so that a cached plan carries it compiled
// once per shape. Immutable: rows of one shape are projected concurrently.
class CompiledProjector : public planner::CompiledSelection {
 public:
  CompiledProjector(const exec::SelectionSet& selection,
                    const response::ProjectionOptions& options)
      : projector_(selection, options) {}
  const response::Projector& projector() const { return projector_; }

 private:
  response::Projector projector_;
};

// The projector of a list, object or connection root; null for the value
// shapes. Every plan of the repository's planner comes compiled by
// CompiledProjector.
const response::Projector* ProjectorOf(const planner::RootPlan& plan);

// The planner has each root's Projector compiled with the repository's
// projection options when it builds the root's template.
planner::PlannerOptions PlannerOptionsOf(const RepositoryOptions& options);

}  // namespace fraiseql::repository_internal

#endif  // FRAISEQL_REPOSITORY_INTERNAL_COMPILED_PROJECTOR_H_
