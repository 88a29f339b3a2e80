#include "repository/internal/compiled_projector.h"

#include <memory>

namespace fraiseql::repository_internal {

const response::Projector* ProjectorOf(const planner::RootPlan& plan) {
  if (plan.compiled == nullptr) return nullptr;
  return &static_cast<const CompiledProjector&>(*plan.compiled).projector();
}

size_t BodySizeHint(const std::vector<planner::RootPlan>& plans) {
  size_t last = 0;
  for (const planner::RootPlan& plan : plans) {
    if (plan.compiled == nullptr) continue;
    last = std::max(last, static_cast<const CompiledProjector&>(*plan.compiled)
                              .last_body_bytes());
  }
  // Room for a body a little larger than the last (the same shape with
  // other values); a larger one still grows as a string does.
  return last == 0 ? 0 : last + last / 8 + 4096;
}

void RecordBodySize(const std::vector<planner::RootPlan>& plans, size_t bytes) {
  for (const planner::RootPlan& plan : plans) {
    if (plan.compiled == nullptr) continue;
    static_cast<const CompiledProjector&>(*plan.compiled)
        .set_last_body_bytes(bytes);
  }
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
