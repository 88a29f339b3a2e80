#include "exec/request_context.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fraiseql::exec {

namespace {

// The prefixes a request may set: ours and the application's (app.,
// fraiseql.) and PostgREST's spelling of JWT claims (jwt.claims.). Never a
// server setting (search_path, role, session_authorization, ...): those
// would change what the statements mean, not what they read.
constexpr absl::string_view kVariablePrefixes[] = {"app.", "fraiseql.",
                                                   "jwt.claims."};

// [a-z_][a-z0-9_]*, non-empty.
bool IsValidPart(absl::string_view part) {
  if (part.empty()) return false;
  for (size_t i = 0; i < part.size(); ++i) {
    const char c = part[i];
    const bool ok =
        (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool IsValidVariableName(absl::string_view name) {
  for (absl::string_view prefix : kVariablePrefixes) {
    absl::string_view rest = name;
    if (!absl::ConsumePrefix(&rest, prefix)) continue;
    for (absl::string_view part : absl::StrSplit(rest, '.')) {
      if (!IsValidPart(part)) return false;
    }
    return true;
  }
  return false;
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
    if (name == "role") {
      return absl::InvalidArgumentError(
          "invalid context variable 'role': the role is not a variable; give "
          "it as the context's role");
    }
    if (!IsValidVariableName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid context variable '", absl::CHexEscape(name),
          "': expected app.<name>, fraiseql.<name> or jwt.claims.<name>, each "
          "dot-separated part of a-z, 0-9 and _, not starting with a digit"));
    }
    if ((name == "app.tenant_id" && context.tenant_id.has_value()) ||
        (name == "app.user_id" && context.user_id.has_value())) {
      return absl::InvalidArgumentError(
          absl::StrCat("context variable '", name, "' is given twice"));
    }
    if (absl::Status s = CheckNoNul(name, value); !s.ok()) return s;
  }
  if (context.role.has_value()) {
    const std::string& role = *context.role;
    if (role.empty()) {
      return absl::InvalidArgumentError("invalid context role: empty");
    }
    if (role.size() > kMaxRoleNameBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid context role: ", role.size(),
                       " bytes long (at most ", kMaxRoleNameBytes, ")"));
    }
    if (absl::StrContains(role, '\0')) {
      return absl::InvalidArgumentError(
          "invalid context role: contains a NUL byte");
    }
  }
  return absl::OkStatus();
}

bool SameSettings(const RequestContext& a, const RequestContext& b) {
  return a.tenant_id == b.tenant_id && a.user_id == b.user_id &&
         a.variables == b.variables && a.role == b.role &&
         a.statement_timeout == b.statement_timeout;
}

}  // namespace fraiseql::exec
