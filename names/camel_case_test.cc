#include "names/camel_case.h"

#include <clocale>

#include "gtest/gtest.h"

namespace fraiseql::names {
namespace {

TEST(CamelCase, UpperCasesEachLaterPieceWhenSplitOnUnderscores) {
  EXPECT_EQ(CamelCase("user_name"), "userName");
  EXPECT_EQ(CamelCase("address_line_1"), "addressLine1");
  EXPECT_EQ(CamelCase("user_123_id"), "user123Id");
  EXPECT_EQ(CamelCase("auth_2fa_enabled"), "auth2faEnabled");
  EXPECT_EQ(CamelCase("a_b_c_d"), "aBCD");
}

TEST(CamelCase, KeepsLeadingUnderscoresWhenNamePrivate) {
  EXPECT_EQ(CamelCase("_private"), "_private");
  EXPECT_EQ(CamelCase("__typename"), "__typename");
  EXPECT_EQ(CamelCase("_user_name"), "_userName");
  EXPECT_EQ(CamelCase("_"), "_");
  EXPECT_EQ(CamelCase("___"), "___");
}

TEST(CamelCase, DropsRepeatedAndTrailingUnderscores) {
  EXPECT_EQ(CamelCase("user__name"), "userName");
  EXPECT_EQ(CamelCase("user_name_"), "userName");
  EXPECT_EQ(CamelCase("user___name__"), "userName");
}

TEST(CamelCase, LeavesTheRestUnchangedWhenAlreadyCasedOrUpper) {
  EXPECT_EQ(CamelCase("USER_ID"), "USERID");
  EXPECT_EQ(CamelCase("userName"), "userName");
  EXPECT_EQ(CamelCase("user_Name"), "userName");
  EXPECT_EQ(CamelCase("id"), "id");
  EXPECT_EQ(CamelCase(""), "");
}

TEST(CamelCase, UpperCasesUnicodeWhenPieceStartsWithNonAscii) {
  EXPECT_EQ(CamelCase("user_émail"), "userÉmail");
  EXPECT_EQ(CamelCase("prix_ÿ"), "prixŸ");              // U+00FF -> U+0178
  EXPECT_EQ(CamelCase("nom_ł"), "nomŁ");                // Latin Extended-A
  EXPECT_EQ(CamelCase("όνομα_χρήστη"), "όνομαΧρήστη");  // Greek
  EXPECT_EQ(CamelCase("имя_пользователя"), "имяПользователя");  // Cyrillic
  EXPECT_EQ(CamelCase("a_ß"), "aß");  // no one-character upper case
  EXPECT_EQ(CamelCase("a_日本"), "a日本");
}

TEST(CamelCase, IgnoresTheProcessLocaleWhenUpperCasing) {
  const char* previous = std::setlocale(LC_ALL, nullptr);
  const std::string saved = previous == nullptr ? "C" : previous;
  std::setlocale(LC_ALL, "C");
  EXPECT_EQ(CamelCase("user_émail"), "userÉmail");
  EXPECT_EQ(CamelCase("a_i"), "aI");  // never Turkish dotted İ
  std::setlocale(LC_ALL, saved.c_str());
}

TEST(CamelCase, CopiesBytesWhenNotUtf8) {
  EXPECT_EQ(CamelCase("a_\xff"
                      "b"),
            "a\xff"
            "b");
  EXPECT_EQ(CamelCase("a_\xc3"), "a\xc3");  // truncated sequence
}

}  // namespace
}  // namespace fraiseql::names
