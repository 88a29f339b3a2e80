#include "where/sql_identifier.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace fraiseql::where {

absl::Status ValidateIdentifier(absl::string_view name) {
  if (name.empty() || name.size() > 63) {
    return absl::InvalidArgumentError(absl::StrCat(
        "identifier '", name, "' must be 1 to 63 bytes long"));
  }
  for (char c : name) {
    if (c == '"' || static_cast<unsigned char>(c) < 0x20) {
      return absl::InvalidArgumentError(
          absl::StrCat("identifier '", absl::CHexEscape(name),
                       "' contains a double quote or control character"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateQualifiedName(absl::string_view name) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '.');
  if (parts.size() > 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", name, "' has more than two parts; expected name or schema.name"));
  }
  for (absl::string_view part : parts) {
    if (absl::Status ok = ValidateIdentifier(part); !ok.ok()) return ok;
  }
  return absl::OkStatus();
}

std::string QuoteIdentifier(absl::string_view name) {
  return absl::StrCat("\"", absl::StrReplaceAll(name, {{"\"", "\"\""}}), "\"");
}

std::string QuoteQualifiedName(absl::string_view name) {
  return absl::StrJoin(absl::StrSplit(name, '.'), ".",
                       [](std::string* out, absl::string_view part) {
                         out->append(QuoteIdentifier(part));
                       });
}

std::string QuoteLiteral(absl::string_view text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "''"}}), "'");
}

}  // namespace fraiseql::where
