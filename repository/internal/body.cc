#include "repository/internal/body.h"

#include "absl/strings/cord.h"

namespace fraiseql::repository_internal {

absl::Status TooLargeError(size_t cap, absl::string_view key,
                           absl::string_view where) {
  absl::Status status = absl::ResourceExhaustedError(absl::StrCat(
      "the response exceeds max_response_bytes (", cap,
      " bytes) at root field '", key, "' ", where,
      "; narrow the filter, page with first/after or limit, or raise "
      "max_response_bytes"));
  status.SetPayload(kResponseTooLargePayloadUrl, absl::Cord("response"));
  return status;
}

}  // namespace fraiseql::repository_internal
