#include "exec/request_context.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace fraiseql::exec {

bool IsValidVariableName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, "app.") || name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok =
        (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

namespace {

// libpq sends a text parameter up to its first NUL byte: "acme\0evil"
// would be set as 'acme'. Refused, never truncated.
absl::Status CheckNoNul(absl::string_view name, absl::string_view value) {
  if (!absl::StrContains(value, '\0')) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid context value ", name, ": contains a NUL byte"));
}

}  // namespace

absl::Status ValidateRequestContext(const RequestContext& context) {
  if (context.tenant_id.has_value()) {
    if (absl::Status s = CheckNoNul("app.tenant_id", *context.tenant_id);
        !s.ok()) {
      return s;
    }
  }
  if (context.user_id.has_value()) {
    if (absl::Status s = CheckNoNul("app.user_id", *context.user_id); !s.ok()) {
      return s;
    }
  }
  for (const auto& [name, value] : context.variables) {
    if (absl::StrContains(name, '\0')) {
      return absl::InvalidArgumentError(
          "invalid context variable name: contains a NUL byte");
    }
    if (!IsValidVariableName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid context variable '", absl::CHexEscape(name),
          "': expected app.<name> with <name> of a-z, 0-9 and _, not "
          "starting with a digit"));
    }
    if ((name == "app.tenant_id" && context.tenant_id.has_value()) ||
        (name == "app.user_id" && context.user_id.has_value())) {
      return absl::InvalidArgumentError(
          absl::StrCat("context variable '", name, "' is given twice"));
    }
    if (absl::Status s = CheckNoNul(name, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace fraiseql::exec
