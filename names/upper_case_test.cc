#include "names/upper_case.h"

#include "gtest/gtest.h"

namespace fraiseql::names::internal {
namespace {

TEST(SimpleUpperCase, MapsLowerCaseLettersWhenInCoveredBlocks) {
  EXPECT_EQ(SimpleUpperCase(U'a'), U'A');
  EXPECT_EQ(SimpleUpperCase(U'z'), U'Z');
  EXPECT_EQ(SimpleUpperCase(U'é'), U'É');
  EXPECT_EQ(SimpleUpperCase(U'ÿ'), U'Ÿ');
  EXPECT_EQ(SimpleUpperCase(U'µ'), U'Μ');  // micro sign -> Greek capital mu
  EXPECT_EQ(SimpleUpperCase(U'ā'), U'Ā');
  EXPECT_EQ(SimpleUpperCase(U'ı'), U'I');
  EXPECT_EQ(SimpleUpperCase(U'ſ'), U'S');
  EXPECT_EQ(SimpleUpperCase(U'ǆ'), U'Ǆ');
  EXPECT_EQ(SimpleUpperCase(U'α'), U'Α');
  EXPECT_EQ(SimpleUpperCase(U'ς'), U'Σ');
  EXPECT_EQ(SimpleUpperCase(U'ώ'), U'Ώ');
  EXPECT_EQ(SimpleUpperCase(U'я'), U'Я');
  EXPECT_EQ(SimpleUpperCase(U'ё'), U'Ё');
  EXPECT_EQ(SimpleUpperCase(U'ա'), U'Ա');  // Armenian
  EXPECT_EQ(SimpleUpperCase(U'ế'), U'Ế');  // Latin Extended Additional
}

TEST(SimpleUpperCase, MapsLowerCaseLettersWhenOutsideEuropeanBlocks) {
  EXPECT_EQ(SimpleUpperCase(U'ἀ'), U'Ἀ');    // Greek Extended
  EXPECT_EQ(SimpleUpperCase(U'ᾀ'), U'ᾈ');    // simple mapping (full: "ἈΙ")
  EXPECT_EQ(SimpleUpperCase(U'ａ'), U'Ａ');  // fullwidth
  EXPECT_EQ(SimpleUpperCase(U'ა'), U'Ა');  // Georgian
  EXPECT_EQ(SimpleUpperCase(U'ꭰ'), U'Ꭰ');  // Cherokee
  EXPECT_EQ(SimpleUpperCase(U'ⰰ'), U'Ⰰ');    // Glagolitic
  EXPECT_EQ(SimpleUpperCase(U'ⅰ'), U'Ⅰ');    // Roman numeral
  EXPECT_EQ(SimpleUpperCase(U'ⓐ'), U'Ⓐ');    // circled
  EXPECT_EQ(SimpleUpperCase(U'ꜣ'), U'Ꜣ');    // Latin Extended-D
  EXPECT_EQ(SimpleUpperCase(U'𐐨'), U'𐐀');    // Deseret, beyond the BMP
  EXPECT_EQ(SimpleUpperCase(U'𞤢'), U'𞤀');  // Adlam, the last block
}

TEST(SimpleUpperCase, ReturnsInputWhenNoSingleUpperCase) {
  EXPECT_EQ(SimpleUpperCase(U'A'), U'A');
  EXPECT_EQ(SimpleUpperCase(U'1'), U'1');
  EXPECT_EQ(SimpleUpperCase(U'_'), U'_');
  EXPECT_EQ(SimpleUpperCase(U'ß'), U'ß');
  EXPECT_EQ(SimpleUpperCase(U'ŉ'), U'ŉ');
  EXPECT_EQ(SimpleUpperCase(U'É'), U'É');
  EXPECT_EQ(SimpleUpperCase(U'日'), U'日');
  EXPECT_EQ(SimpleUpperCase(U'😀'), U'😀');
  EXPECT_EQ(SimpleUpperCase(U'Ἀ'), U'Ἀ');
  EXPECT_EQ(SimpleUpperCase(U'𐐀'), U'𐐀');
  EXPECT_EQ(SimpleUpperCase(0x10FFFF), char32_t{0x10FFFF});
}

// WriteCamelCase (and the projector's in-place renaming) rely on this: an
// upper-cased character is at most one UTF-8 byte longer, and is never a
// character JSON would need to escape.
TEST(SimpleUpperCase, GrowsAtMostOneByteWhenEncodedForEveryCodePoint) {
  const auto encoded_length = [](char32_t c) {
    return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  };
  int mapped = 0;
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const char32_t upper = SimpleUpperCase(c);
    if (upper == c) continue;
    ++mapped;
    ASSERT_LE(encoded_length(upper), encoded_length(c) + 1) << c;
    ASSERT_TRUE(upper >= 0x20 && upper != '"' && upper != '\\' &&
                upper <= 0x10FFFF && (upper < 0xD800 || upper > 0xDFFF))
        << c;
    ASSERT_EQ(SimpleUpperCase(upper), upper) << c;  // upper case is final
  }
  EXPECT_EQ(mapped, 26 + 1424);  // ASCII, then the table
}

}  // namespace
}  // namespace fraiseql::names::internal
