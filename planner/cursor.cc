#include "planner/cursor.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fraiseql::planner {
namespace {

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

}  // namespace

std::string CursorFingerprint(absl::string_view view_name,
                              absl::string_view order_by_sql) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a, 64 bits
  auto mix = [&hash](absl::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
  };
  mix(view_name);
  mix(absl::string_view("\0", 1));
  mix(order_by_sql);
  return absl::StrFormat("%08x", static_cast<uint32_t>(hash ^ (hash >> 32)));
}

absl::StatusOr<std::string> EncodeCursor(absl::string_view fingerprint,
                                         absl::string_view key_values_json) {
  absl::StatusOr<where::JsonValue> keys = where::ParseJson(key_values_json, 4);
  if (!keys.ok() || !keys->is_array()) {
    return absl::InvalidArgumentError(
        "the cursor column of the page statement is not a JSON array");
  }
  std::vector<where::JsonValue> items;
  items.reserve(keys->items().size() + 1);
  items.push_back(where::JsonValue::String(std::string(fingerprint)));
  items.insert(items.end(), keys->items().begin(), keys->items().end());
  std::string cursor;
  absl::WebSafeBase64Escape(where::JsonValue::Array(std::move(items)).ToJson(),
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
  std::string json;
  if (cursor.empty() || !IsBase64Url(cursor) ||
      !absl::WebSafeBase64Unescape(cursor, &json)) {
    return InvalidCursor(argument, "not a cursor (expected base64url text)");
  }
  absl::StatusOr<where::JsonValue> parsed = where::ParseJson(json, 4);
  if (!parsed.ok() || !parsed->is_array() || parsed->items().empty() ||
      !parsed->items()[0].is_string()) {
    return InvalidCursor(argument, "not a cursor (malformed content)");
  }
  const std::vector<where::JsonValue>& items = parsed->items();
  if (items[0].text() != fingerprint || items.size() != key_count + 1) {
    return InvalidCursor(argument,
                         "the cursor belongs to another view or orderBy");
  }
  return std::vector<where::JsonValue>(items.begin() + 1, items.end());
}

}  // namespace fraiseql::planner
