// Part of the response stage: the hand-written JSON scanner under the
// projector. It validates a row (RFC 8259 grammar, UTF-8 in strings, paired
// surrogates in \u escapes) in one forward pass without building a DOM, and
// re-emits values in the stage's canonical form: compact (no whitespace),
// numbers and literals copied as text, strings re-escaped (see
// CopyValidatedString).
#ifndef FRAISEQL_RESPONSE_INTERNAL_JSON_TEXT_H_
#define FRAISEQL_RESPONSE_INTERNAL_JSON_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "response/internal/output_buffer.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fraiseql::response::internal {

// Scans one JSON text. Every scanning method takes `p` at the first byte of a
// token (whitespace already skipped), returns one past the token's last
// byte, and on malformed input records the first error and returns nullptr.
// Open containers are tracked on an explicit stack (heap-allocated past 16
// levels), so deep input cannot overflow the call stack. Not thread-safe; one
// scanner per row.
class JsonScanner {
 public:
  explicit JsonScanner(absl::string_view text)
      : begin_(text.data()), end_(text.data() + text.size()) {}

  const char* begin() const { return begin_; }
  const char* end() const { return end_; }

  // Skips JSON whitespace (space, tab, line feed, carriage return).
  const char* SkipWhitespace(const char* p) const {
    while (p < end_ && IsWhitespace(*p)) ++p;
    return p;
  }

  // `p` at the opening quote. Sets *has_escapes when the string holds a
  // backslash escape (its raw bytes then differ from its value).
  const char* SkipString(const char* p, bool* has_escapes) {
#if defined(__SSE2__)
    // Inline fast path for the common case, a short ASCII string without
    // escapes (most keys, many values): its end is in the next 16 bytes.
    if (end_ - p > 16) {
      const __m128i v =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));
      const __m128i control =
          _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
      const __m128i special =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                       control);
      const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(special));
      const unsigned high = static_cast<unsigned>(_mm_movemask_epi8(v));
      if (mask != 0) {
        const unsigned stop = static_cast<unsigned>(__builtin_ctz(mask));
        if (p[1 + stop] == '"' && (high & ((1u << stop) - 1)) == 0) {
          *has_escapes = false;
          return p + 2 + stop;
        }
      }
    }
#endif
    return SkipStringSlow(p, has_escapes);
  }

  // `p` at '-' or a digit: validates a number (RFC 8259 grammar).
  const char* SkipNumber(const char* p);
  // `p` at 't', 'f' or 'n': validates true, false or null.
  const char* SkipLiteral(const char* p);
  // Validates any value.
  const char* SkipValue(const char* p);
  // Validates any value and appends it in canonical form.
  const char* CopyValue(const char* p, OutputBuffer* out);
  // As CopyValue, but every object key inside is passed through CamelCase.
  const char* CopyValueCamelCaseKeys(const char* p, OutputBuffer* out);
  // Validates an object key (`p` at its quote) and appends it camelCased.
  const char* CopyKeyCamelCase(const char* p, OutputBuffer* out);

  // Records an error at `at` (the first one wins) and returns nullptr.
  const char* Fail(const char* at, const char* what);
  // As Fail, for a token that was expected at `at` and is not there: when
  // the text ends at `at` the error is "unexpected end of input" instead of
  // `what`, so a truncated row reads the same whichever path stopped on it.
  const char* FailExpected(const char* at, const char* what) {
    return Fail(at, at == end_ ? "unexpected end of input" : what);
  }
  bool failed() const { return error_ != nullptr; }
  // InvalidArgument "row is not valid JSON: <what> at byte <offset>"; OK
  // when nothing failed.
  absl::Status status() const;

  static bool IsWhitespace(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
  }

 private:
  const char* SkipStringSlow(const char* p, bool* has_escapes);
  template <bool kWrite, bool kCamelCaseKeys>
  const char* ScanValue(const char* p, OutputBuffer* out);

  const char* begin_;
  const char* end_;
  const char* error_ = nullptr;
  const char* error_at_ = nullptr;
};

// The following take a string token already accepted by SkipString: `begin`
// at its opening quote, `end` one past its closing quote.

// Appends the token in canonical form: when it has no escapes, its bytes
// verbatim; otherwise every escape is decoded and re-encoded as '\"', '\\',
// '\b', '\f', '\n', '\r', '\t' or '\u00xx' (lower-case hex) for other control
// characters, and raw UTF-8 for everything else ('\/' becomes '/', surrogate
// pairs become one four-byte character).
void CopyValidatedString(const char* begin, const char* end, bool has_escapes,
                         OutputBuffer* out);

// Appends the decoded value of the token (UTF-8, escapes resolved) to *out.
void DecodeValidatedString(const char* begin, const char* end,
                           std::string* out);

// Appends `bytes` as a quoted JSON string in the same canonical form. Bytes
// that are not valid UTF-8 become U+FFFD, so the result is always valid JSON.
void AppendJsonString(absl::string_view bytes, std::string* out);

}  // namespace fraiseql::response::internal

#endif  // FRAISEQL_RESPONSE_INTERNAL_JSON_TEXT_H_
