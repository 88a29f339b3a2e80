// libFuzzer target over cursor decoding (planner::DecodeCursor), the one
// place a client's `after`/`before` text is read.
//
// Input: one byte of options, then the rest R.
//   byte & 7          the number of key values the ordering expects (0..7)
//   (byte >> 3) & 3   what R is:
//     0  the cursor text itself (random text: length, alphabet, padding)
//     1  bytes whose base64url text is the cursor (reaches the JSON reader)
//     2  a forged cursor: base64url of R's first 16 bytes as the tag, then
//        `[` the rest `]` (the shape of a real one, under a guessed tag)
//     3  the key values JSON for EncodeCursor; when it encodes scalars
//        (strings of valid UTF-8, as jsonb's are), decoding the cursor with
//        its number of values must give the same values back
//
// Besides "never crashes", every input is checked for:
//   - errors: only InvalidArgument, "invalid cursor at after: <why>", and
//     the cursor text never appears in the message (checked for texts that
//     cannot be part of a fixed message: 6 bytes or more, with an upper-case
//     letter, '_', '-', '"', a control or a non-ASCII byte);
//   - a decoded cursor has exactly the number of values asked for;
//   - a cursor EncodeCursor did not make never decodes (cursors are signed:
//     modes 0 to 2 would have to guess a 128-bit tag).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "planner/cursor.h"
#include "where/json_value.h"

namespace {

using fraiseql::planner::DecodeCursor;
using fraiseql::planner::EncodeCursor;
using fraiseql::where::JsonValue;

[[noreturn]] void Violated(const char* what, absl::string_view cursor,
                           const std::string& detail) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\ncursor: %s\n%s\n", what,
               absl::CHexEscape(cursor).c_str(), detail.c_str());
  std::abort();
}

// RFC 3629 UTF-8 (no surrogates, no overlong forms, at most U+10FFFF).
bool ValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = s[i];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      uint8_t b = s[i + k];
      if ((b & 0xC0) != 0x80) return false;
      cp = cp << 6 | (b & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

bool UnlikeProse(absl::string_view text) {
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || c == '_' || c == '-' || c == '"' ||
        c < 0x20 || c >= 0x7f) {
      return true;
    }
  }
  return false;
}

std::string Json(const std::vector<JsonValue>& values) {
  std::string out;
  for (const JsonValue& v : values) out += v.ToJson() + ",";
  return out;
}

// Decodes `cursor` expecting `count` values and checks the contract.
absl::StatusOr<std::vector<JsonValue>> CheckedDecode(
    absl::string_view cursor, absl::string_view fingerprint, size_t count) {
  auto decoded = DecodeCursor(cursor, fingerprint, count, "after");
  if (!decoded.ok()) {
    const absl::Status& s = decoded.status();
    if (s.code() != absl::StatusCode::kInvalidArgument ||
        !absl::StartsWith(s.message(), "invalid cursor at after: ")) {
      Violated("error is not InvalidArgument 'invalid cursor at after: ...'",
               cursor, s.ToString());
    }
    // Only texts that cannot occur in a fixed message: long enough, and
    // with a character the fixed messages (lower-case English) do not use.
    if (cursor.size() >= 6 && UnlikeProse(cursor) &&
        absl::StrContains(s.message(), cursor)) {
      Violated("the message quotes the cursor", cursor, s.ToString());
    }
    return decoded;
  }
  if (decoded->size() != count) {
    Violated("decoded another number of values than asked", cursor,
             Json(*decoded));
  }
  return decoded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t count = data[0] & 7;
  const int mode = (data[0] >> 3) & 3;
  absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const std::string fingerprint = fraiseql::planner::CursorFingerprint(
      "fuzz secret", "fuzz.v_item", "data->'age' DESC");

  std::string cursor;
  switch (mode) {
    case 0:
      cursor = std::string(rest);
      break;
    case 1:
      absl::WebSafeBase64Escape(rest, &cursor);
      break;
    case 2: {
      const size_t tag = std::min(rest.size(), fraiseql::planner::kCursorTagBytes);
      absl::WebSafeBase64Escape(
          absl::StrCat(rest.substr(0, tag), "[", rest.substr(tag), "]"),
          &cursor);
      break;
    }
    case 3: {
      auto encoded = EncodeCursor(fingerprint, rest);
      if (!encoded.ok()) return 0;
      auto keys = fraiseql::where::ParseJson(rest, 4);
      if (!keys.ok() || !keys->is_array()) {
        Violated("EncodeCursor accepted what is not a JSON array", rest, "");
      }
      // Key values come from the server's jsonb: scalars. (A nested array
      // at the depth limit encodes but cannot decode; never a real key.)
      // Nor lone surrogates: where::ParseJson decodes "\udc00" into bytes
      // that are not UTF-8, which the decoder then rejects; jsonb refuses
      // such escapes, so a server key never has them (reported apart).
      for (const JsonValue& v : keys->items()) {
        if (v.is_array() || v.is_object()) return 0;
        if (v.is_string() && !ValidUtf8(v.text())) return 0;
      }
      size_t n = keys->items().size();
      if (encoded->size() > fraiseql::planner::kMaxCursorBytes) return 0;
      auto decoded = CheckedDecode(*encoded, fingerprint, n);
      if (!decoded.ok()) {
        Violated("a cursor EncodeCursor made does not decode", *encoded,
                 decoded.status().ToString());
      }
      if (Json(*decoded) != Json(keys->items())) {
        Violated("the decoded values differ from the encoded ones", *encoded,
                 Json(*decoded) + " vs " + Json(keys->items()));
      }
      return 0;
    }
  }
  if (CheckedDecode(cursor, fingerprint, count).ok()) {
    Violated("a cursor not made by EncodeCursor decoded (a forgery)", cursor,
             "");
  }
  return 0;
}
