#include "where/json_value.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/error/en.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace fraiseql::where {
namespace {

// SAX handler that builds JsonValues on an explicit stack.
class Builder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Builder> {
 public:
  explicit Builder(int max_depth) : max_depth_(max_depth) {}

  bool Null() { return Add(JsonValue::Null()); }
  bool Bool(bool b) { return Add(JsonValue::Bool(b)); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return Add(JsonValue::Number(std::string(s, n)));
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (!Storable(absl::string_view(s, n), "a string")) return false;
    return Add(JsonValue::String(std::string(s, n)));
  }
  bool StartObject() { return Open(); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (!Storable(absl::string_view(s, n), "a key")) return false;
    Frame& frame = frames_.back();
    // One hash lookup per key: the check stays linear in the object's size.
    // The set holds its own copies, since the strings of `keys` move (small
    // strings with their bytes) whenever the vector grows.
    if (!frame.seen.emplace(s, n).second) {
      error_ = absl::StrCat("duplicate key '",
                            PrintableKey(absl::string_view(s, n)), "'");
      return false;
    }
    frame.keys.emplace_back(s, n);
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    Frame frame = std::move(frames_.back());
    frames_.pop_back();
    std::vector<std::pair<std::string, JsonValue>> members;
    members.reserve(frame.values.size());
    for (size_t i = 0; i < frame.values.size(); ++i) {
      members.emplace_back(std::move(frame.keys[i]), std::move(frame.values[i]));
    }
    return Add(JsonValue::Object(std::move(members)));
  }
  bool StartArray() { return Open(); }
  bool EndArray(rapidjson::SizeType) {
    Frame frame = std::move(frames_.back());
    frames_.pop_back();
    return Add(JsonValue::Array(std::move(frame.values)));
  }

  JsonValue TakeResult() { return std::move(result_); }
  const std::string& error() const { return error_; }

 private:
  struct Frame {
    std::vector<std::string> keys;
    absl::flat_hash_set<std::string> seen;  // the keys so far (objects)
    std::vector<JsonValue> values;
  };

  // PostgreSQL text and jsonb hold no surrogate code points. An unpaired
  // \udc00..\udfff escape is decoded by the reader as CESU-8 bytes
  // (ED B0..BF xx) that the server would refuse with an error quoting
  // them: refused here, with the offset. (NUL, also unstorable, is kept:
  // the filter compiler names it with its input path.)
  bool Storable(absl::string_view text, absl::string_view what) {
    for (size_t i = 0; i + 1 < text.size(); ++i) {
      if (static_cast<unsigned char>(text[i]) == 0xED &&
          (static_cast<unsigned char>(text[i + 1]) & 0xE0) == 0xA0) {
        error_ = absl::StrCat(what, " holds an unpaired UTF-16 surrogate "
                              "escape (\\ud800..\\udfff)");
        return false;
      }
    }
    return true;
  }

  bool Open() {
    if (static_cast<int>(frames_.size()) >= max_depth_) {
      error_ = absl::StrCat("nesting deeper than ", max_depth_, " levels");
      return false;
    }
    frames_.emplace_back();
    return true;
  }

  bool Add(JsonValue value) {
    if (frames_.empty()) {
      result_ = std::move(value);
    } else {
      frames_.back().values.push_back(std::move(value));
    }
    return true;
  }

  int max_depth_;
  std::vector<Frame> frames_;
  JsonValue result_ = JsonValue::Null();
  std::string error_;
};

void WriteJson(const JsonValue& v, rapidjson::Writer<rapidjson::StringBuffer>* w) {
  switch (v.type()) {
    case JsonValue::Type::kNull:
      w->Null();
      break;
    case JsonValue::Type::kBool:
      w->Bool(v.bool_value());
      break;
    case JsonValue::Type::kNumber:
      w->RawValue(v.text().data(), v.text().size(), rapidjson::kNumberType);
      break;
    case JsonValue::Type::kString:
      w->String(v.text().data(), static_cast<rapidjson::SizeType>(v.text().size()));
      break;
    case JsonValue::Type::kArray:
      w->StartArray();
      for (const JsonValue& item : v.items()) WriteJson(item, w);
      w->EndArray();
      break;
    case JsonValue::Type::kObject:
      w->StartObject();
      for (const auto& [key, value] : v.members()) {
        w->Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
        WriteJson(value, w);
      }
      w->EndObject();
      break;
  }
}

}  // namespace

JsonValue JsonValue::Bool(bool b) {
  JsonValue v(Type::kBool);
  v.bool_ = b;
  return v;
}

JsonValue JsonValue::Number(std::string literal) {
  JsonValue v(Type::kNumber);
  v.text_ = std::move(literal);
  return v;
}

JsonValue JsonValue::String(std::string text) {
  JsonValue v(Type::kString);
  v.text_ = std::move(text);
  return v;
}

JsonValue JsonValue::Array(std::vector<JsonValue> items) {
  JsonValue v(Type::kArray);
  v.items_ = std::move(items);
  return v;
}

JsonValue JsonValue::Object(
    std::vector<std::pair<std::string, JsonValue>> members) {
  JsonValue v(Type::kObject);
  v.members_ = std::move(members);
  return v;
}

std::string JsonValue::ToJson() const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  WriteJson(*this, &writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::string_view JsonValue::TypeDescription() const {
  switch (type_) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "a boolean";
    case Type::kNumber:
      return "a number";
    case Type::kString:
      return "a string";
    case Type::kArray:
      return "a list";
    case Type::kObject:
      return "an object";
  }
  return "a value";
}

std::string PrintableKey(absl::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(u, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<JsonValue> ParseJson(absl::string_view text, int max_depth) {
  Builder builder(max_depth);
  rapidjson::MemoryStream stream(text.data(), text.size());
  rapidjson::Reader reader;
  constexpr unsigned kFlags = rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseValidateEncodingFlag |
                              rapidjson::kParseStopWhenDoneFlag;
  rapidjson::ParseResult result = reader.Parse<kFlags>(stream, builder);
  if (!result) {
    std::string why = builder.error().empty()
                          ? rapidjson::GetParseError_En(result.Code())
                          : builder.error();
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON at byte ", result.Offset(), ": ", why));
  }
  // kParseStopWhenDoneFlag lets us reject trailing garbage ourselves, so that
  // NUL bytes inside the buffer are not silently taken as its end.
  size_t end = stream.Tell();
  while (end < text.size() && (text[end] == ' ' || text[end] == '\n' ||
                               text[end] == '\t' || text[end] == '\r')) {
    ++end;
  }
  if (end != text.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid JSON at byte ", end, ": unexpected text after the value"));
  }
  return builder.TakeResult();
}

}  // namespace fraiseql::where
