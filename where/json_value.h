// where/ + planner/: the parsed form of filter and ordering input. Unlike a
// plain DOM it keeps number literals as their exact text (so 12345678901234567.89
// and 100.50 reach PostgreSQL unchanged) and knows a number from a string.
#ifndef FRAISEQL_WHERE_JSON_VALUE_H_
#define FRAISEQL_WHERE_JSON_VALUE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fraiseql::where {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  static JsonValue Null() { return JsonValue(Type::kNull); }
  static JsonValue Bool(bool b);
  static JsonValue Number(std::string literal);
  static JsonValue String(std::string text);
  static JsonValue Array(std::vector<JsonValue> items);
  static JsonValue Object(std::vector<std::pair<std::string, JsonValue>> members);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  bool bool_value() const { return bool_; }
  // The number literal exactly as written, or the decoded string.
  const std::string& text() const { return text_; }
  const std::vector<JsonValue>& items() const { return items_; }
  // Object members in input order (duplicates are rejected by the parser).
  const std::vector<std::pair<std::string, JsonValue>>& members() const {
    return members_;
  }

  // Compact JSON text of this value (numbers as written).
  std::string ToJson() const;

  // A short name of the type for error messages ("a string", "an object").
  absl::string_view TypeDescription() const;

 private:
  explicit JsonValue(Type type) : type_(type) {}

  Type type_;
  bool bool_ = false;
  std::string text_;
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

// A key of user input as it may appear in a path or an error message:
// control characters (and DEL) are written as \xNN so input cannot forge
// log lines; everything else is kept.
std::string PrintableKey(absl::string_view key);

// Parses JSON text. InvalidArgument naming the byte offset for malformed
// input, for nesting deeper than `max_depth`, and for duplicate object keys.
absl::StatusOr<JsonValue> ParseJson(absl::string_view text, int max_depth = 64);

}  // namespace fraiseql::where

#endif  // FRAISEQL_WHERE_JSON_VALUE_H_
