#include "response/internal/json_text.h"

#include <string>

#include "gtest/gtest.h"
#include "response/internal/output_buffer.h"

namespace fraiseql::response::internal {
namespace {

// Copies the single value in `text`; returns the canonical form, or the
// error message.
std::string Copy(absl::string_view text) {
  JsonScanner scanner(text);
  std::string out;
  const char* end;
  {
    OutputBuffer buffer(&out, 0);
    end = scanner.CopyValue(scanner.SkipWhitespace(scanner.begin()), &buffer);
  }
  if (end == nullptr) return std::string(scanner.status().message());
  EXPECT_EQ(scanner.SkipWhitespace(end), scanner.end()) << text;
  return out;
}

TEST(JsonScanner, CopiesValueCompactWhenValueIsValid) {
  EXPECT_EQ(Copy(R"( { "a" : [ 1 , 2.5e-3 , true , null ] , "b" : { } } )"),
            R"({"a":[1,2.5e-3,true,null],"b":{}})");
  EXPECT_EQ(Copy("[]"), "[]");
  EXPECT_EQ(Copy("[ ]"), "[]");
  EXPECT_EQ(Copy("-0.5E+7"), "-0.5E+7");
  EXPECT_EQ(Copy(R"("x")"), R"("x")");
}

TEST(JsonScanner, FindsEveryStopWhenSpecialByteSitsAtAnyPosition) {
  // Crosses the 16-byte vector loop and the byte-wise tail at every offset.
  for (size_t length = 0; length < 40; ++length) {
    for (size_t at = 0; at < length; ++at) {
      std::string content(length, 'a');
      content[at] = '\\';
      content.insert(at + 1, "n");
      EXPECT_EQ(Copy("\"" + content + "\""), "\"" + content + "\"");

      std::string with_control(length, 'b');
      with_control[at] = '\x1f';
      EXPECT_EQ(Copy("\"" + with_control + "\""),
                "row is not valid JSON: unescaped control character in a "
                "string at byte " +
                    std::to_string(at + 1));

      std::string with_utf8(length, 'c');
      with_utf8.replace(at, 1, "\xc3\xa9");
      EXPECT_EQ(Copy("\"" + with_utf8 + "\""), "\"" + with_utf8 + "\"");
      with_utf8[at + 1] = 'x';  // broken continuation byte
      EXPECT_EQ(Copy("\"" + with_utf8 + "\""),
                "row is not valid JSON: invalid UTF-8 in a string at byte " +
                    std::to_string(at + 1));
    }
    EXPECT_EQ(Copy("\"" + std::string(length, 'd')),
              "row is not valid JSON: unterminated string at byte 0");
  }
}

TEST(JsonScanner, AcceptsEveryUtf8LengthWhenWellFormed) {
  EXPECT_EQ(Copy("\"\x7f \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf "
                 "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\""),
            "\"\x7f \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf "
            "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\"");
}

TEST(JsonScanner, RejectsIllFormedUtf8WhenAnyByteIsWrong) {
  for (const char* bad :
       {"\x80", "\xc1\xbf", "\xe0\x9f\xbf", "\xed\xbf\xbf", "\xf0\x8f\xbf\xbf",
        "\xf5\x80\x80\x80", "\xe2\x82", "\xf0\x90\x80"}) {
    EXPECT_EQ(Copy(std::string("\"ab") + bad + "\""),
              "row is not valid JSON: invalid UTF-8 in a string at byte 3")
        << bad;
  }
}

TEST(JsonScanner, CamelCasesKeysOnlyWhenAskedTo) {
  JsonScanner scanner(R"({"a_b": {"c_d": ["e_f"]}})");
  std::string out;
  {
    OutputBuffer buffer(&out, 0);
    ASSERT_NE(scanner.CopyValueCamelCaseKeys(scanner.begin(), &buffer),
              nullptr);
  }
  EXPECT_EQ(out, R"({"aB":{"cD":["e_f"]}})");
}

TEST(AppendJsonString, EscapesAndReplacesWhenBytesNeedIt) {
  std::string out;
  AppendJsonString(std::string("a\"\\/\b\f\n\r\t\x01\x7f é \xff\0", 17), &out);
  EXPECT_EQ(out,
            "\"a\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\x7f é \xef\xbf\xbd\\u0000\"");
}

TEST(OutputBuffer, KeepsOnlyWrittenBytesWhenDestroyed) {
  std::string out = "abc";
  {
    OutputBuffer buffer(&out, 2);
    buffer.Append(std::string(1000, 'x'));
    buffer.Push('y');
    buffer.Truncate(buffer.start() + 2);
  }
  EXPECT_EQ(out, "abcxx");
}

}  // namespace
}  // namespace fraiseql::response::internal
