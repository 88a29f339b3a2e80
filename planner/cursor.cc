#include "planner/cursor.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace fraiseql::planner {
namespace {

constexpr size_t kSecretBytes = 32;
constexpr absl::string_view kFingerprintLabel("fraiseql.cursor.v1\0", 19);

absl::Status InvalidCursor(absl::string_view argument, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid cursor at ", argument, ": ", why));
}

bool IsBase64Url(absl::string_view text) {
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  // 4n+1 characters cannot come from whole bytes.
  return text.size() % 4 != 1;
}

// HMAC-SHA256 of `data` under `key`: 32 bytes.
std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // HMAC only fails on allocation failure or a missing digest; an empty
  // result then matches no tag (and fingerprints stay distinct only if it
  // never happens, so it is checked where the secret is made).
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           out, &size) == nullptr) {
    return std::string();
  }
  return std::string(reinterpret_cast<const char*>(out), size);
}

}  // namespace

absl::StatusOr<std::string> ProcessCursorSecret() {
  // Made once: function-local statics are initialised thread-safely.
  static const absl::StatusOr<std::string>* const secret = [] {
    std::string bytes(kSecretBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()),
                   static_cast<int>(bytes.size())) != 1 ||
        HmacSha256(bytes, "check").size() != 32) {
      return new absl::StatusOr<std::string>(absl::InternalError(
          "cannot make a cursor secret: OpenSSL's random generator or "
          "HMAC-SHA256 failed; pass PlannerOptions::cursor_secret"));
    }
    return new absl::StatusOr<std::string>(std::move(bytes));
  }();
  return *secret;
}

std::string CursorFingerprint(absl::string_view secret,
                              absl::string_view view_name,
                              absl::string_view order_by_sql) {
  // The view name never holds a NUL (it is a SQL identifier), so NUL ends
  // it unambiguously.
  return HmacSha256(secret, absl::StrCat(kFingerprintLabel, view_name,
                                         absl::string_view("\0", 1),
                                         order_by_sql));
}

absl::StatusOr<std::string> EncodeCursor(absl::string_view fingerprint,
                                         absl::string_view key_values_json) {
  absl::StatusOr<where::JsonValue> keys = where::ParseJson(key_values_json, 4);
  if (!keys.ok() || !keys->is_array()) {
    return absl::InvalidArgumentError(
        "the cursor column of the page statement is not a JSON array");
  }
  std::string values = keys->ToJson();
  std::string tag = HmacSha256(fingerprint, values);
  if (tag.size() < kCursorTagBytes) {
    return absl::InternalError("cannot sign a cursor: HMAC-SHA256 failed");
  }
  std::string cursor;
  absl::WebSafeBase64Escape(
      absl::StrCat(absl::string_view(tag).substr(0, kCursorTagBytes), values),
      &cursor);
  return cursor;
}

absl::StatusOr<std::vector<where::JsonValue>> DecodeCursor(
    absl::string_view cursor, absl::string_view fingerprint, size_t key_count,
    absl::string_view argument) {
  if (cursor.size() > kMaxCursorBytes) {
    return InvalidCursor(argument, absl::StrCat("longer than ",
                                                kMaxCursorBytes, " bytes"));
  }
  std::string bytes;
  if (cursor.empty() || !IsBase64Url(cursor) ||
      !absl::WebSafeBase64Unescape(cursor, &bytes)) {
    return InvalidCursor(argument, "not a cursor (expected base64url text)");
  }
  // A tag and at least `[]`.
  if (bytes.size() < kCursorTagBytes + 2) {
    return InvalidCursor(argument, "not a cursor (malformed content)");
  }
  absl::string_view tag = absl::string_view(bytes).substr(0, kCursorTagBytes);
  absl::string_view values = absl::string_view(bytes).substr(kCursorTagBytes);
  std::string expected = HmacSha256(fingerprint, values);
  if (expected.size() < kCursorTagBytes ||
      CRYPTO_memcmp(expected.data(), tag.data(), kCursorTagBytes) != 0) {
    return InvalidCursor(argument,
                         "the cursor belongs to another view or orderBy, or "
                         "was altered");
  }
  // Signed by us: from here on a failure is a cursor of another shape.
  absl::StatusOr<where::JsonValue> parsed = where::ParseJson(values, 4);
  if (!parsed.ok() || !parsed->is_array()) {
    return InvalidCursor(argument, "not a cursor (malformed content)");
  }
  if (parsed->items().size() != key_count) {
    return InvalidCursor(argument,
                         "the cursor belongs to another view or orderBy, or "
                         "was altered");
  }
  return parsed->items();
}

}  // namespace fraiseql::planner
