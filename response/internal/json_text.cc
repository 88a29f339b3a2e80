#include "response/internal/json_text.h"

#include <cstdint>
#include <cstring>

#include "absl/base/attributes.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "names/camel_case_core.h"
#include "names/utf8.h"

namespace fraiseql::response::internal {

using names::internal::DecodeUtf8;
using names::internal::EncodeUtf8;
using names::internal::WriteCamelCase;

namespace {

constexpr const char* kUnexpectedEnd = "unexpected end of input";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the four hex digits after "\u" at p[2..5]; -1 if malformed.
int32_t ReadHex4(const char* p, const char* end) {
  if (end - p < 6) return -1;
  int32_t value = 0;
  for (int i = 2; i < 6; ++i) {
    const int digit = HexDigit(p[i]);
    if (digit < 0) return -1;
    value = value << 4 | digit;
  }
  return value;
}

// Parses the escape sequence at `p` (a backslash). Returns its length in
// bytes (2, 6 or 12) and the code point it denotes, or 0 and an error.
size_t ParseEscape(const char* p, const char* end, char32_t* code_point,
                   const char** error) {
  if (end - p < 2) {
    *error = kUnexpectedEnd;
    return 0;
  }
  // The two-character escapes, and the characters they stand for.
  static constexpr absl::string_view kEscapes = "\"\\/bfnrt";
  static constexpr char kMeanings[] = "\"\\/\b\f\n\r\t";
  const size_t which = kEscapes.find(p[1]);
  if (which != absl::string_view::npos) {
    *code_point = static_cast<unsigned char>(kMeanings[which]);
    return 2;
  }
  if (p[1] != 'u') {
    *error = "invalid escape sequence in a string";
    return 0;
  }
  const int32_t unit = ReadHex4(p, end);
  if (unit < 0) {
    *error = "invalid \\u escape in a string";
    return 0;
  }
  if (unit >= 0xDC00 && unit <= 0xDFFF) {
    *error = "unpaired low surrogate in a \\u escape";
    return 0;
  }
  if (unit < 0xD800 || unit > 0xDBFF) {
    *code_point = static_cast<char32_t>(unit);
    return 6;
  }
  // A high surrogate must be followed by an escaped low surrogate.
  const int32_t low = (end - p >= 12 && p[6] == '\\' && p[7] == 'u')
                          ? ReadHex4(p + 6, end)
                          : -1;
  if (low < 0xDC00 || low > 0xDFFF) {
    *error = "unpaired high surrogate in a \\u escape";
    return 0;
  }
  *code_point = 0x10000 + ((static_cast<char32_t>(unit) - 0xD800) << 10) +
                (static_cast<char32_t>(low) - 0xDC00);
  return 12;
}

// Writes `code_point` as it appears inside a canonical JSON string; returns
// the byte count (dest needs room for 6).
size_t WriteStringCharacter(char32_t code_point, char* dest) {
  // The characters with a two-character escape, and their escape letters.
  static constexpr char kEscaped[] = "\"\\\b\f\n\r\t";
  static constexpr char kLetters[] = "\"\\bfnrt";
  static constexpr char kHex[] = "0123456789abcdef";
  if (code_point >= 0x80) return EncodeUtf8(code_point, dest);
  const char c = static_cast<char>(code_point);
  if (c != '\0') {
    if (const char* at = std::strchr(kEscaped, c)) {
      dest[0] = '\\';
      dest[1] = kLetters[at - kEscaped];
      return 2;
    }
  }
  if (code_point < 0x20) {
    std::memcpy(dest, "\\u00", 4);
    dest[4] = kHex[code_point >> 4];
    dest[5] = kHex[code_point & 0xF];
    return 6;
  }
  dest[0] = c;
  return 1;
}

// Returns the first byte in [p, end) that is '"', '\\' or a control
// character (< 0x20), or `end`. Sets *non_ascii when a byte >= 0x80 was
// passed, so that only such strings pay for UTF-8 validation.
const char* FindStringSpecial(const char* p, const char* end, bool* non_ascii) {
  unsigned high_bits = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i last_control = _mm_set1_epi8(0x1F);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, last_control), v);
    const __m128i special = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
        control);
    const unsigned high = static_cast<unsigned>(_mm_movemask_epi8(v));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(special));
    if (mask != 0) {
      // Only the bytes before the stop belong to the string.
      high_bits |= high & ((mask & (0u - mask)) - 1);
      *non_ascii |= high_bits != 0;
      return p + __builtin_ctz(mask);
    }
    high_bits |= high;
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    const uint8_t c = static_cast<uint8_t>(*p);
    if (c == '"' || c == '\\' || c < 0x20) break;
    high_bits |= c & 0x80;
  }
  *non_ascii |= high_bits != 0;
  return p;
}

// Returns the first byte of an ill-formed UTF-8 sequence in [p, end), or
// nullptr when the range is valid.
const char* FindInvalidUtf8(const char* p, const char* end) {
  while (p < end) {
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    if (static_cast<uint8_t>(*p) < 0x80) {
      ++p;
      continue;
    }
    char32_t code_point;
    const size_t length = DecodeUtf8(p, end, &code_point);
    if (length == 0) return p;
    p += length;
  }
  return nullptr;
}

}  // namespace

const char* JsonScanner::Fail(const char* at, const char* what) {
  if (error_ == nullptr) {
    error_ = what;
    error_at_ = at;
  }
  return nullptr;
}

absl::Status JsonScanner::status() const {
  if (error_ == nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "row is not valid JSON: ", error_, " at byte ", error_at_ - begin_));
}

const char* JsonScanner::SkipStringSlow(const char* p, bool* has_escapes) {
  const char* const content = p + 1;
  const char* q = content;
  bool escapes = false;
  bool non_ascii = false;
  for (;;) {
    q = FindStringSpecial(q, end_, &non_ascii);
    if (ABSL_PREDICT_FALSE(q == end_)) return Fail(p, "unterminated string");
    if (ABSL_PREDICT_TRUE(*q == '"')) break;
    if (*q != '\\') {
      return Fail(q, "unescaped control character in a string");
    }
    char32_t code_point;
    const char* error = nullptr;
    const size_t length = ParseEscape(q, end_, &code_point, &error);
    if (length == 0) return Fail(q, error);
    q += length;
    escapes = true;
  }
  if (non_ascii) {
    // Escapes are ASCII, so checking the raw content checks the text.
    const char* bad = FindInvalidUtf8(content, q);
    if (bad != nullptr) return Fail(bad, "invalid UTF-8 in a string");
  }
  *has_escapes = escapes;
  return q + 1;
}

const char* JsonScanner::SkipNumber(const char* p) {
  const auto is_digit = [this](const char* q) {
    return q < end_ && *q >= '0' && *q <= '9';
  };
  const char* q = p;
  if (*q == '-') ++q;
  if (q < end_ && *q == '0') {
    ++q;
  } else if (is_digit(q)) {
    while (is_digit(q)) ++q;
  } else {
    return Fail(p, "invalid number");
  }
  if (q < end_ && *q == '.') {
    ++q;
    if (!is_digit(q)) return Fail(p, "invalid number");
    while (is_digit(q)) ++q;
  }
  if (q < end_ && (*q == 'e' || *q == 'E')) {
    ++q;
    if (q < end_ && (*q == '+' || *q == '-')) ++q;
    if (!is_digit(q)) return Fail(p, "invalid number");
    while (is_digit(q)) ++q;
  }
  return q;
}

const char* JsonScanner::SkipLiteral(const char* p) {
  const absl::string_view word = *p == 't'   ? absl::string_view("true")
                                 : *p == 'f' ? absl::string_view("false")
                                             : absl::string_view("null");
  if (static_cast<size_t>(end_ - p) < word.size() ||
      std::memcmp(p, word.data(), word.size()) != 0) {
    return Fail(p, "invalid literal");
  }
  return p + word.size();
}

const char* JsonScanner::CopyKeyCamelCase(const char* p, OutputBuffer* out) {
  bool has_escapes = false;
  const char* end = SkipString(p, &has_escapes);
  if (end == nullptr) return nullptr;
  const absl::string_view content(p + 1, static_cast<size_t>(end - p - 2));
  if (!has_escapes) {
    if (std::memchr(content.data(), '_', content.size()) == nullptr) {
      out->Append(p, static_cast<size_t>(end - p));
      return end;
    }
    // CamelCase never grows a name and never produces '"', '\\' or control
    // characters, so the renamed raw content needs no escaping.
    char* const start = out->Reserve(content.size() + 2);
    char* dest = start;
    *dest++ = '"';
    dest = WriteCamelCase(content, dest);
    *dest++ = '"';
    out->Advance(static_cast<size_t>(dest - start));
    return end;
  }
  std::string decoded;
  DecodeValidatedString(p, end, &decoded);
  std::string renamed(decoded.size(), '\0');
  renamed.resize(static_cast<size_t>(WriteCamelCase(decoded, &renamed[0]) -
                                     renamed.data()));
  std::string quoted;
  AppendJsonString(renamed, &quoted);
  out->Append(quoted);
  return end;
}

template <bool kWrite, bool kCamelCaseKeys>
const char* JsonScanner::ScanValue(const char* p, OutputBuffer* out) {
  // Open containers, innermost last (true = object). An explicit stack
  // rather than recursion: input nesting depth must not reach the C++ stack.
  absl::InlinedVector<bool, 16> open;
  enum class Expect { kValue, kKey, kAfterValue };
  Expect expect = Expect::kValue;
  for (;;) {
    switch (expect) {
      case Expect::kValue: {
        if (ABSL_PREDICT_FALSE(p == end_)) return Fail(p, kUnexpectedEnd);
        const char c = *p;
        if (c == '"') {
          bool has_escapes = false;
          const char* end = SkipString(p, &has_escapes);
          if (end == nullptr) return nullptr;
          if (kWrite) CopyValidatedString(p, end, has_escapes, out);
          p = end;
          expect = Expect::kAfterValue;
        } else if ((c >= '0' && c <= '9') || c == '-') {
          const char* end = SkipNumber(p);
          if (end == nullptr) return nullptr;
          if (kWrite) out->Append(p, static_cast<size_t>(end - p));
          p = end;
          expect = Expect::kAfterValue;
        } else if (c == '{' || c == '[') {
          const char close = c == '{' ? '}' : ']';
          if (kWrite) out->Push(c);
          p = SkipWhitespace(p + 1);
          if (p < end_ && *p == close) {
            if (kWrite) out->Push(close);
            ++p;
            expect = Expect::kAfterValue;
          } else {
            open.push_back(c == '{');
            expect = c == '{' ? Expect::kKey : Expect::kValue;
          }
        } else if (c == 't' || c == 'f' || c == 'n') {
          const char* end = SkipLiteral(p);
          if (end == nullptr) return nullptr;
          if (kWrite) out->Append(p, static_cast<size_t>(end - p));
          p = end;
          expect = Expect::kAfterValue;
        } else {
          return Fail(p, "expected a value");
        }
        break;
      }
      case Expect::kKey: {
        if (p == end_) return Fail(p, kUnexpectedEnd);
        if (*p != '"') return Fail(p, "expected '\"' to start an object key");
        if (kCamelCaseKeys) {
          p = CopyKeyCamelCase(p, out);
        } else {
          bool has_escapes = false;
          const char* end = SkipString(p, &has_escapes);
          if (kWrite && end != nullptr) {
            CopyValidatedString(p, end, has_escapes, out);
          }
          p = end;
        }
        if (p == nullptr) return nullptr;
        p = SkipWhitespace(p);
        if (p == end_ || *p != ':') {
          return Fail(p, "expected ':' after an object key");
        }
        if (kWrite) out->Push(':');
        p = SkipWhitespace(p + 1);
        expect = Expect::kValue;
        break;
      }
      case Expect::kAfterValue: {
        if (open.empty()) return p;
        p = SkipWhitespace(p);
        if (p == end_) return Fail(p, kUnexpectedEnd);
        const bool in_object = open.back();
        if (*p == ',') {
          if (kWrite) out->Push(',');
          p = SkipWhitespace(p + 1);
          expect = in_object ? Expect::kKey : Expect::kValue;
        } else if (*p == (in_object ? '}' : ']')) {
          if (kWrite) out->Push(*p);
          ++p;
          open.pop_back();
        } else {
          return Fail(p, in_object
                             ? "expected ',' or '}' after an object member"
                             : "expected ',' or ']' after an array element");
        }
        break;
      }
    }
  }
}

const char* JsonScanner::SkipValue(const char* p) {
  return ScanValue<false, false>(p, nullptr);
}

const char* JsonScanner::CopyValue(const char* p, OutputBuffer* out) {
  return ScanValue<true, false>(p, out);
}

const char* JsonScanner::CopyValueCamelCaseKeys(const char* p,
                                                OutputBuffer* out) {
  return ScanValue<true, true>(p, out);
}

void CopyValidatedString(const char* begin, const char* end, bool has_escapes,
                         OutputBuffer* out) {
  if (!has_escapes) {
    out->Append(begin, static_cast<size_t>(end - begin));
    return;
  }
  const char* const close = end - 1;
  const char* run = begin;  // copied lazily, up to the next escape
  const char* p = begin + 1;
  for (;;) {
    const char* backslash = static_cast<const char*>(
        std::memchr(p, '\\', static_cast<size_t>(close - p)));
    if (backslash == nullptr) break;
    out->Append(run, static_cast<size_t>(backslash - run));
    char32_t code_point = 0;
    const char* error = nullptr;
    p = backslash + ParseEscape(backslash, end, &code_point, &error);
    out->Advance(WriteStringCharacter(code_point, out->Reserve(6)));
    run = p;
  }
  out->Append(run, static_cast<size_t>(end - run));
}

void DecodeValidatedString(const char* begin, const char* end,
                           std::string* out) {
  const char* const close = end - 1;
  const char* p = begin + 1;
  for (;;) {
    const char* backslash = static_cast<const char*>(
        std::memchr(p, '\\', static_cast<size_t>(close - p)));
    if (backslash == nullptr) break;
    out->append(p, static_cast<size_t>(backslash - p));
    char32_t code_point = 0;
    const char* error = nullptr;
    p = backslash + ParseEscape(backslash, end, &code_point, &error);
    char utf8[4];
    out->append(utf8, EncodeUtf8(code_point, utf8));
  }
  out->append(p, static_cast<size_t>(close - p));
}

void AppendJsonString(absl::string_view bytes, std::string* out) {
  out->push_back('"');
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  while (p < end) {
    char32_t code_point;
    size_t length = DecodeUtf8(p, end, &code_point);
    if (length > 1) {  // well-formed non-ASCII stays raw
      out->append(p, length);
      p += length;
      continue;
    }
    if (length == 0) {  // not UTF-8: one replacement character per byte
      code_point = 0xFFFD;
      length = 1;
    }
    char buffer[6];
    out->append(buffer, WriteStringCharacter(code_point, buffer));
    p += length;
  }
  out->push_back('"');
}

}  // namespace fraiseql::response::internal
