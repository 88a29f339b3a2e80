// Part of the response stage: the few UTF-8 primitives the JSON scanner and
// CamelCase share. Header-only so the scanner's hot loops can inline them.
#ifndef FRAISEQL_NAMES_UTF8_H_
#define FRAISEQL_NAMES_UTF8_H_

#include <cstddef>
#include <cstdint>

namespace fraiseql::names::internal {

// Decodes the well-formed UTF-8 sequence starting at `p` (p < end): stores
// the code point in `*code_point` and returns its length in bytes (1..4).
// Returns 0 for an ill-formed sequence: a stray continuation byte, a
// truncated sequence, an overlong form, a surrogate (U+D800..U+DFFF) or a
// value above U+10FFFF.
inline size_t DecodeUtf8(const char* p, const char* end, char32_t* code_point) {
  const auto byte = [p](size_t i) { return static_cast<uint8_t>(p[i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  }
  const size_t available = static_cast<size_t>(end - p);
  const auto continuation = [&](size_t i) {
    return i < available && (byte(i) & 0xC0) == 0x80;
  };
  if (lead >= 0xC2 && lead <= 0xDF) {
    if (!continuation(1)) return 0;
    *code_point = (char32_t{lead} & 0x1F) << 6 | (byte(1) & 0x3F);
    return 2;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    const char32_t cp = (char32_t{lead} & 0x0F) << 12 |
                        (char32_t{byte(1)} & 0x3F) << 6 | (byte(2) & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    *code_point = cp;
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    const char32_t cp = (char32_t{lead} & 0x07) << 18 |
                        (char32_t{byte(1)} & 0x3F) << 12 |
                        (char32_t{byte(2)} & 0x3F) << 6 | (byte(3) & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
    *code_point = cp;
    return 4;
  }
  return 0;
}

// Writes the UTF-8 encoding of `code_point` (a Unicode scalar value) to
// `dest`, which must have room for 4 bytes, and returns the byte count.
inline size_t EncodeUtf8(char32_t code_point, char* dest) {
  if (code_point < 0x80) {
    dest[0] = static_cast<char>(code_point);
    return 1;
  }
  if (code_point < 0x800) {
    dest[0] = static_cast<char>(0xC0 | (code_point >> 6));
    dest[1] = static_cast<char>(0x80 | (code_point & 0x3F));
    return 2;
  }
  if (code_point < 0x10000) {
    dest[0] = static_cast<char>(0xE0 | (code_point >> 12));
    dest[1] = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    dest[2] = static_cast<char>(0x80 | (code_point & 0x3F));
    return 3;
  }
  dest[0] = static_cast<char>(0xF0 | (code_point >> 18));
  dest[1] = static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
  dest[2] = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
  dest[3] = static_cast<char>(0x80 | (code_point & 0x3F));
  return 4;
}

}  // namespace fraiseql::names::internal

#endif  // FRAISEQL_NAMES_UTF8_H_
