#include "planner/selection_text.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fraiseql::planner {
namespace {

// Renders a parsed tree compactly: key(=field when aliased){children}.
std::string Render(const std::vector<v1::Selection>& fields) {
  std::string out;
  for (const v1::Selection& s : fields) {
    if (!out.empty()) out += " ";
    out += s.response_key();
    if (s.field_name() != s.response_key()) {
      absl::StrAppend(&out, "=", s.field_name());
    }
    if (s.fields_size() > 0) {
      std::vector<v1::Selection> sub(s.fields().begin(), s.fields().end());
      absl::StrAppend(&out, "{", Render(sub), "}");
    }
  }
  return out;
}

std::string Parse(absl::string_view text) {
  auto parsed = ParseSelectionText(text);
  if (!parsed.ok()) return absl::StrCat("error: ", parsed.status().message());
  return Render(*parsed);
}

TEST(ParseSelectionText, ReadsFieldsAliasesAndNesting) {
  EXPECT_EQ(Parse("id firstName address { cityName }"),
            "id firstName address{cityName}");
  EXPECT_EQ(Parse("{ id, name: firstName, home: address { city: cityName "
                  "__typename } }"),
            "id name=firstName home=address{city=cityName __typename}");
  EXPECT_EQ(Parse("a: id b: id"), "a=id b=id");
  EXPECT_EQ(Parse("id # the key\n author { posts { title } }"),
            "id author{posts{title}}");
}

TEST(ParseSelectionText, ReportsWhereAndWhat) {
  EXPECT_EQ(Parse(""), "error: invalid selection at line 1, column 1: "
                       "expected at least one field, found the end");
  EXPECT_EQ(Parse("id address {"),
            "error: invalid selection at line 1, column 13: expected '}', "
            "found the end");
  EXPECT_EQ(Parse("id\naddress { }"),
            "error: invalid selection at line 2, column 11: expected a field "
            "inside '{ }', found '}'");
  EXPECT_EQ(Parse("id 9lives"),
            "error: invalid selection at line 1, column 4: expected a field "
            "name, found '9'");
  EXPECT_EQ(Parse("users(first: 2) { id }"),
            "error: arguments are not supported in selections, at line 1, "
            "column 6");
  EXPECT_EQ(Parse("id @include(if: true)"),
            "error: directives are not supported in selections, at line 1, "
            "column 4");
  EXPECT_EQ(Parse("...UserFields"),
            "error: fragments are not supported in selections, at line 1, "
            "column 1");
  EXPECT_EQ(Parse("{ id } }"),
            "error: invalid selection at line 1, column 8: expected end of "
            "selection, found '}'");
}

TEST(ParseSelectionText, LimitsNesting) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "a { ";
  deep += "b";
  for (int i = 0; i < 40; ++i) deep += " }";
  EXPECT_EQ(Parse(deep),
            "error: invalid selection at line 1, column 131: more than 32 "
            "levels of nesting (limit max_selection_depth)");
}

std::string Repeat(absl::string_view token, int n) {
  std::string out;
  out.reserve(token.size() * n);
  for (int i = 0; i < n; ++i) out.append(token.data(), token.size());
  return out;
}

TEST(ParseSelectionText, LimitsBytesBeforeReadingAnything) {
  // 5 million `id` tokens (10 MB) used to be read whole, in seconds.
  EXPECT_EQ(Parse(Repeat("id ", 5'000'000)),
            "error: invalid selection: more than 65536 bytes (limit "
            "max_selection_bytes)");
  EXPECT_EQ(Parse(Repeat(" ", 65536) + "id"),
            "error: invalid selection: more than 65536 bytes (limit "
            "max_selection_bytes)");
  EXPECT_EQ(Parse(Repeat(" ", 65534) + "id"), "id");
}

TEST(ParseSelectionText, LimitsFieldsAtEveryLevel) {
  EXPECT_EQ(Parse(Repeat("id ", 1000)).size(), 1000 * 3 - 1);
  EXPECT_EQ(Parse(Repeat("id ", 1001)),
            "error: invalid selection: more than 1000 fields (limit "
            "max_selection_fields)");
  // Nested fields and __typename count too.
  EXPECT_EQ(Parse(absl::StrCat("a { ", Repeat("__typename ", 1000), "}")),
            "error: invalid selection: more than 1000 fields (limit "
            "max_selection_fields)");
}

TEST(ParseSelectionText, LimitsAliases) {
  std::string aliased;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&aliased, "a", i, ": id ");
  EXPECT_TRUE(ParseSelectionText(aliased).ok());
  EXPECT_EQ(Parse(absl::StrCat(aliased, "b: id")),
            "error: invalid selection: more than 100 aliases (limit "
            "max_selection_aliases)");
}

TEST(ParseSelectionText, TakesOtherLimits) {
  SelectionLimits limits;
  limits.max_selection_bytes = 10;
  limits.max_selection_fields = 2;
  limits.max_selection_aliases = 0;
  limits.max_selection_depth = 1;
  auto message = [&](absl::string_view text) {
    return std::string(ParseSelectionText(text, limits).status().message());
  };
  EXPECT_EQ(message("a b c"),
            "invalid selection: more than 2 fields (limit "
            "max_selection_fields)");
  EXPECT_EQ(message("a: b"),
            "invalid selection: more than 0 aliases (limit "
            "max_selection_aliases)");
  EXPECT_EQ(message("a { b { c } }"),
            "invalid selection: more than 10 bytes (limit "
            "max_selection_bytes)");
  EXPECT_EQ(message("a{b{c}}"),
            "invalid selection at line 1, column 4: more than 1 levels of "
            "nesting (limit max_selection_depth)");
  EXPECT_TRUE(ParseSelectionText("a { b }", limits).ok());
}

}  // namespace
}  // namespace fraiseql::planner
