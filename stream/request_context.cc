#include "stream/request_context.h"

#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"

namespace fraiseql::stream {

bool IsValidVariableName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, "app.") || name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

absl::Status ValidateRequestContext(const RequestContext& context) {
  for (const auto& [name, value] : context.variables) {
    if (!IsValidVariableName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid context variable '", name,
          "': expected app.<name> with <name> of a-z, 0-9 and _, not "
          "starting with a digit"));
    }
    if ((name == "app.tenant_id" && context.tenant_id.has_value()) ||
        (name == "app.user_id" && context.user_id.has_value())) {
      return absl::InvalidArgumentError(
          absl::StrCat("context variable '", name, "' is given twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace fraiseql::stream
