#include "stream/settings_statement.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace fraiseql::stream {
namespace {

// statement_timeout takes 1..INT_MAX milliseconds; 0 would turn it off.
int64_t TimeoutMillis(absl::Duration timeout) {
  return std::clamp<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1))), 1,
      INT_MAX);
}

exec::Param Text(std::string text) { return {std::move(text), "text", false}; }

}  // namespace

std::optional<exec::Plan> SettingsStatement(const exec::RequestContext& context,
                                            absl::Duration statement_timeout) {
  exec::Plan plan;
  auto add = [&plan](std::string name, std::string value) {
    absl::StrAppend(&plan.sql, plan.params.empty() ? "SELECT " : ", ",
                    "set_config($", plan.params.size() + 1, "::text, $",
                    plan.params.size() + 2, "::text, true)");
    plan.params.push_back(Text(std::move(name)));
    plan.params.push_back(Text(std::move(value)));
  };
  if (statement_timeout > absl::ZeroDuration()) {
    add("statement_timeout",
        absl::StrCat(TimeoutMillis(statement_timeout), "ms"));
  }
  if (context.tenant_id.has_value()) add("app.tenant_id", *context.tenant_id);
  if (context.user_id.has_value()) add("app.user_id", *context.user_id);
  for (const auto& [name, value] : context.variables) add(name, value);
  if (context.role.has_value()) {
    // The name 'role' is ours, not input: spelled out, so the statement
    // shows which setting changes the privileges.
    absl::StrAppend(&plan.sql, plan.params.empty() ? "SELECT " : ", ",
                    "set_config('role', $", plan.params.size() + 1,
                    "::text, true)");
    plan.params.push_back(Text(*context.role));
  }
  if (plan.params.empty()) return std::nullopt;
  return plan;
}

}  // namespace fraiseql::stream
