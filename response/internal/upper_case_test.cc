#include "response/internal/upper_case.h"

#include "gtest/gtest.h"

namespace fraiseql::response::internal {
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

TEST(SimpleUpperCase, ReturnsInputWhenNoSingleUpperCase) {
  EXPECT_EQ(SimpleUpperCase(U'A'), U'A');
  EXPECT_EQ(SimpleUpperCase(U'1'), U'1');
  EXPECT_EQ(SimpleUpperCase(U'_'), U'_');
  EXPECT_EQ(SimpleUpperCase(U'ß'), U'ß');
  EXPECT_EQ(SimpleUpperCase(U'ŉ'), U'ŉ');
  EXPECT_EQ(SimpleUpperCase(U'É'), U'É');
  EXPECT_EQ(SimpleUpperCase(U'日'), U'日');
  EXPECT_EQ(SimpleUpperCase(U'😀'), U'😀');
}

}  // namespace
}  // namespace fraiseql::response::internal
