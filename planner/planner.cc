#include "planner/planner.h"

#include <cassert>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "planner/cursor.h"
#include "planner/internal/cache_key.h"
#include "planner/internal/fields.h"
#include "planner/internal/keyset.h"
#include "planner/internal/plan_template.h"

namespace fraiseql::planner {
namespace {

using internal::BindCursor;
using internal::CacheKey;
using internal::kRowAlias;

absl::Status NonNegative(absl::string_view what, int64_t value) {
  if (value >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid ", what, ": expected a non-negative number, got ", value));
}

}  // namespace

Planner::Planner(const where::Schema& schema,
                 const where::OperatorRegistry& operators,
                 where::FilterLimits limits, PlannerOptions options)
    : schema_(schema),
      operators_(operators),
      limits_(limits),
      compile_selection_(std::move(options.compile_selection)),
      selection_limits_(options.selection),
      order_by_limits_(options.order_by),
      cursor_secret_(
          options.cursor_secret.empty()
              ? ProcessCursorSecret()
              : absl::StatusOr<std::string>(std::move(options.cursor_secret))),
      cache_(
          std::make_unique<base::LruCache<Template>>(options.cache_capacity)) {}

Planner::~Planner() = default;

CacheStats Planner::cache_stats() const { return cache_->Stats(); }

absl::StatusOr<RootPlan> Planner::PlanRoot(const v1::RootField& root) const {
  const where::ViewDef* view = schema_.FindView(root.view());
  if (view == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "unknown view '", where::PrintableKey(root.view()), "'",
        schema_.SuggestViews(root.view())));
  }
  // An unknown operation must fail here, before it could share a cache key.
  if (!v1::RootField::Operation_IsValid(root.operation())) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown operation ", static_cast<int>(root.operation())));
  }
  // The values: compiled and checked on every call.
  where::ParamList params;
  ASSIGN_OR_RETURN(std::string condition,
                   where::CompileWhereJson(*view, schema_, operators_,
                                           root.where_json(), kRowAlias,
                                           &params, limits_));
  const size_t where_params = params.params().size();

  // The template: from the cache by shape, or built (and cached).
  std::shared_ptr<const Template> t;
  std::string key;
  if (cache_->capacity() > 0) {
    key = CacheKey(root, condition);
    t = cache_->Find(key);
  }
  if (t == nullptr) {
    ASSIGN_OR_RETURN(t, BuildTemplate(root, *view, condition, where_params));
    if (cache_->capacity() > 0) cache_->Insert(std::move(key), t);
  } else {
#ifndef NDEBUG
    absl::StatusOr<std::shared_ptr<const Template>> fresh =
        BuildTemplate(root, *view, condition, where_params);
    assert(fresh.ok() && (*fresh)->sql == t->sql &&
           (*fresh)->count_sql == t->count_sql &&
           "a cached template differs from a fresh one: the cache key misses "
           "an input");
#endif
  }

  // The values outside `where`, in the order the template numbered them.
  if (root.has_after()) {
    RETURN_IF_ERROR(BindCursor(root.after(), "after", t->cursor_keys,
                               t->fingerprint, &params));
  }
  if (root.has_before()) {
    RETURN_IF_ERROR(BindCursor(root.before(), "before", t->cursor_keys,
                               t->fingerprint, &params));
  }
  if (root.has_limit()) RETURN_IF_ERROR(NonNegative("limit", root.limit()));
  if (root.has_offset()) RETURN_IF_ERROR(NonNegative("offset", root.offset()));
  RootPlan plan;
  if (t->shape == ResultShape::kConnection) {
    if (root.has_first() || root.has_last()) {
      int64_t size = root.has_first() ? root.first() : root.last();
      RETURN_IF_ERROR(NonNegative(root.has_first() ? "first" : "last", size));
      plan.connection.page_size = size;
      // One row more tells whether another page follows.
      int64_t fetch =
          size < std::numeric_limits<int64_t>::max() ? size + 1 : size;
      params.Add({absl::StrCat(fetch), "bigint"});
    }
  } else {
    if (root.has_limit() && t->shape != ResultShape::kObject) {
      params.Add({absl::StrCat(root.limit()), "bigint"});
    }
    if (root.has_offset()) params.Add({absl::StrCat(root.offset()), "bigint"});
  }
  if (params.params().size() != t->param_count) {
    return absl::InternalError(absl::StrCat(
        "planner bug: ", params.params().size(), " parameters bound, the "
        "statement has ", t->param_count));
  }

  plan.response_key = root.response_key();
  plan.shape = t->shape;
  plan.plan.sql = t->sql;
  plan.plan.params = params.Take();
  plan.selection = t->selection;
  plan.compiled = t->compiled;
  plan.decimal_numbers = t->decimal_numbers;
  if (t->shape == ResultShape::kConnection) {
    plan.connection.backward = t->backward;
    plan.connection.cursor_fingerprint = t->fingerprint;
    if (!t->count_sql.empty()) {
      plan.connection.total_count = Plan{
          t->count_sql,
          std::vector<where::Param>(plan.plan.params.begin(),
                                    plan.plan.params.begin() + where_params)};
    }
  }
  return plan;
}

}  // namespace fraiseql::planner
