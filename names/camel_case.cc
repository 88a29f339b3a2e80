#include "names/camel_case.h"

#include <cstdint>
#include <cstring>

#include "names/camel_case_core.h"
#include "names/upper_case.h"
#include "names/utf8.h"

namespace fraiseql::names {
namespace internal {

char* WriteCamelCase(absl::string_view name, char* dest) {
  const char* p = name.data();
  const char* const end = p + name.size();
  while (p < end && *p == '_') *dest++ = *p++;
  bool piece_start = false;  // the first piece keeps its case
  while (p < end) {
    const char c = *p;
    if (c == '_') {
      piece_start = true;
      ++p;
      continue;
    }
    if (!piece_start) {
      *dest++ = *p++;
      continue;
    }
    piece_start = false;
    if (static_cast<uint8_t>(c) < 0x80) {
      *dest++ = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
      ++p;
      continue;
    }
    char32_t code_point;
    const size_t length = DecodeUtf8(p, end, &code_point);
    if (length == 0) {  // not UTF-8: leave the byte alone
      *dest++ = *p++;
      continue;
    }
    const char32_t upper = SimpleUpperCase(code_point);
    if (upper == code_point) {
      std::memcpy(dest, p, length);
      dest += length;
    } else {
      dest += EncodeUtf8(upper, dest);
    }
    p += length;
  }
  return dest;
}

}  // namespace internal

std::string CamelCase(absl::string_view name) {
  std::string result(name.size(), '\0');
  char* end = internal::WriteCamelCase(name, &result[0]);
  result.resize(static_cast<size_t>(end - result.data()));
  return result;
}

}  // namespace fraiseql::names
