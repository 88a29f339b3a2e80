#include "where/json_value.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace fraiseql::where {
namespace {

TEST(ParseJson, KeepsNumberLiteralsExactly) {
  auto v = ParseJson(R"({"a": 12345678901234567890.10, "b": 1e300, "c": -0})");
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_EQ(v->members().size(), 3u);
  EXPECT_TRUE(v->members()[0].second.is_number());
  EXPECT_EQ(v->members()[0].second.text(), "12345678901234567890.10");
  EXPECT_EQ(v->members()[1].second.text(), "1e300");
  EXPECT_EQ(v->members()[2].second.text(), "-0");
}

TEST(ParseJson, TellsNumbersFromStrings) {
  auto v = ParseJson(R"(["5", 5, true, null])");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->items()[0].is_string());
  EXPECT_TRUE(v->items()[1].is_number());
  EXPECT_TRUE(v->items()[2].is_bool());
  EXPECT_TRUE(v->items()[3].is_null());
}

TEST(ParseJson, DecodesEscapesAndKeepsNul) {
  auto v = ParseJson(R"("a\u0000b\ud83d\ude00\"")");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->text(), std::string("a\0b\xF0\x9F\x98\x80\"", 8));
}

TEST(ParseJson, RejectsMalformedInputWithOffset) {
  EXPECT_EQ(std::string(ParseJson("{\"a\": tru}").status().message()),
            "invalid JSON at byte 9: Invalid value.");
  EXPECT_EQ(std::string(ParseJson("[1] [2]").status().message()),
            "invalid JSON at byte 4: unexpected text after the value");
  EXPECT_EQ(std::string(ParseJson("\"\xff\"").status().message()),
            "invalid JSON at byte 1: Invalid encoding in string.");
}

TEST(ParseJson, ReportsNumbersOutOfDoubleRange) {
  // RapidJSON 1.1 refuses exponents past double range even when it keeps
  // numbers as text; the error must say so rather than pass a wrong value.
  EXPECT_EQ(std::string(ParseJson("1e400").status().message()),
            "invalid JSON at byte 0: Number too big to be stored in double.");
}

TEST(ParseJson, RejectsTooDeepInput) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto v = ParseJson(deep, 64);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(std::string(v.status().message()),
            "invalid JSON at byte 65: nesting deeper than 64 levels");
}

TEST(ParseJson, ParsesAnObjectWithManyDistinctKeys) {
  // Duplicate keys are found with a hash set: 100,000 keys used to cost
  // 5e9 string comparisons.
  std::string json = "{";
  for (int i = 0; i < 100000; ++i) {
    if (i > 0) json += ",";
    json += "\"k" + std::to_string(i) + "\":" + std::to_string(i);
  }
  json += "}";
  auto v = ParseJson(json);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->members().size(), 100000u);
  EXPECT_EQ(v->members()[99999].first, "k99999");
  EXPECT_EQ(v->members()[99999].second.text(), "99999");
}

TEST(ParseJson, RejectsDuplicateKeysAtEveryLevel) {
  EXPECT_EQ(std::string(ParseJson(R"({"a":1,"b":2,"a":3})").status().message()),
            "invalid JSON at byte 16: duplicate key 'a'");
  EXPECT_EQ(
      std::string(ParseJson(R"({"a":{"x":1,"x":2},"b":{"x":1}})").status().message()),
      "invalid JSON at byte 15: duplicate key 'x'");
  // The same key in sibling objects and in a parent is no duplicate.
  EXPECT_TRUE(ParseJson(R"({"x":{"x":1},"y":[{"x":1},{"x":2}]})").ok());
  // Keys are printed without control characters.
  EXPECT_EQ(std::string(ParseJson("{\"\\n\":1,\"\\n\":2}").status().message()),
            "invalid JSON at byte 12: duplicate key '\\x0a'");
}

TEST(JsonValue, WritesCompactJson) {
  auto v = ParseJson(R"({ "b" : [1.50, "x\n"], "a" : {} })");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->ToJson(), R"({"b":[1.50,"x\n"],"a":{}})");
}

}  // namespace
TEST(ParseJson, RejectsUnpairedSurrogateEscapes) {
  // An unpaired surrogate escape decodes to CESU-8 bytes the server
  // refuses. A paired one is a character.
  for (const char* text : {R"({"a": "x\udcffy"})", R"({"a\udc00": 1})",
                           R"(["\udcff"])", R"(["\udfff"])"}) {
    absl::StatusOr<JsonValue> v = ParseJson(text);
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_TRUE(absl::StartsWith(v.status().message(), "invalid JSON at byte "))
        << v.status();
  }
  absl::StatusOr<JsonValue> pair = ParseJson(R"(["\ud83d\ude00", "\u00e9"])");
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ(pair->items()[0].text(), "\xF0\x9F\x98\x80");
}

}  // namespace fraiseql::where
