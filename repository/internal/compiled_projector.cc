#include "repository/internal/compiled_projector.h"

#include <memory>

namespace fraiseql::repository_internal {

const response::Projector* ProjectorOf(const planner::RootPlan& plan) {
  if (plan.compiled == nullptr) return nullptr;
  return &static_cast<const CompiledProjector&>(*plan.compiled).projector();
}

planner::PlannerOptions PlannerOptionsOf(const RepositoryOptions& options) {
  planner::PlannerOptions planner = options.planner;
  const response::ProjectionOptions projection = options.projection;
  planner.compile_selection = [projection](const exec::SelectionSet& selection)
      -> std::shared_ptr<const planner::CompiledSelection> {
    return std::make_shared<const CompiledProjector>(selection, projection);
  };
  return planner;
}

}  // namespace fraiseql::repository_internal
