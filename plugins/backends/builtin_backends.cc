#include "plugins/backends/builtin_backends.h"

#include "base/status_macros.h"
#include "plugins/backends/native/native_backend.h"

namespace fraiseql::plugins {

absl::Status RegisterBuiltinBackends(BackendRegistry* registry) {
  RETURN_IF_ERROR(RegisterNativeBackend(registry));
  return absl::OkStatus();
}

}  // namespace fraiseql::plugins
