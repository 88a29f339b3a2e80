#include "planner/cursor.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace fraiseql::planner {
namespace {

constexpr absl::string_view kSecret = "a secret shared by every process";

std::string Key() {
  return CursorFingerprint(kSecret, "sample.v_user", "t.\"id\" ASC");
}

TEST(CursorFingerprint, IsKeyedAndDependsOnSecretViewAndOrdering) {
  std::string key = Key();
  EXPECT_EQ(key.size(), 32u);
  // The same secret gives the same key in every process: cursors outlive
  // restarts and pass between processes that share the secret.
  EXPECT_EQ(CursorFingerprint(kSecret, "sample.v_user", "t.\"id\" ASC"), key);
  EXPECT_NE(CursorFingerprint(kSecret, "sample.v_post", "t.\"id\" ASC"), key);
  EXPECT_NE(CursorFingerprint(kSecret, "sample.v_user", "t.\"id\" DESC"), key);
  EXPECT_NE(CursorFingerprint("another secret", "sample.v_user", "t.\"id\" ASC"),
            key);
  // The view and the ordering cannot run into each other.
  EXPECT_NE(CursorFingerprint(kSecret, "a", "bc"),
            CursorFingerprint(kSecret, "ab", "c"));
}

TEST(ProcessCursorSecret, IsRandomAndMadeOnce) {
  absl::StatusOr<std::string> secret = ProcessCursorSecret();
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->size(), 32u);
  EXPECT_EQ(*ProcessCursorSecret(), *secret);
  EXPECT_NE(*secret, std::string(32, '\0'));
}

TEST(Cursor, RoundTripsKeyValuesCompactly) {
  auto cursor = EncodeCursor(Key(), R"([37, "Zoë \"q\"", null, 1.50])");
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  std::string bytes;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(*cursor, &bytes));
  // A 16-byte tag, then the values as compact JSON.
  ASSERT_GT(bytes.size(), 16u);
  EXPECT_EQ(bytes.substr(16), R"([37,"Zoë \"q\"",null,1.50])");
  EXPECT_EQ(cursor->find_first_of("+/="), std::string::npos) << *cursor;
  auto values = DecodeCursor(*cursor, Key(), 4, "after");
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->size(), 4u);
  EXPECT_EQ((*values)[0].text(), "37");
  EXPECT_EQ((*values)[1].text(), "Zoë \"q\"");
  EXPECT_TRUE((*values)[2].is_null());
  EXPECT_EQ((*values)[3].text(), "1.50");
}

std::string Error(absl::string_view cursor, size_t keys = 1,
                  const std::string& key = Key()) {
  auto decoded = DecodeCursor(cursor, key, keys, "before");
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(decoded.status().message());
}

constexpr absl::string_view kForeign =
    "invalid cursor at before: the cursor belongs to another view or "
    "orderBy, or was altered";

TEST(Cursor, RejectsAnAlteredCursor) {
  auto cursor = EncodeCursor(Key(), R"([37,"00000000-0000-4000-8000-000000000001"])");
  ASSERT_TRUE(cursor.ok());
  ASSERT_TRUE(DecodeCursor(*cursor, Key(), 2, "before").ok());
  std::string bytes;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(*cursor, &bytes));
  // Any byte changed, in the tag or in the values, is caught.
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string altered = bytes;
    altered[i] ^= 0x01;
    std::string text;
    absl::WebSafeBase64Escape(altered, &text);
    EXPECT_EQ(Error(text, 2), kForeign) << "byte " << i;
  }
  // Values rewritten by hand, even with a tag copied from a real cursor.
  std::string forged = bytes.substr(0, 16) + R"([38,"00000000-0000-4000-8000-000000000001"])";
  std::string text;
  absl::WebSafeBase64Escape(forged, &text);
  EXPECT_EQ(Error(text, 2), kForeign);
}

TEST(Cursor, RejectsACursorOfAnotherOrderingOrSecret) {
  auto cursor = EncodeCursor(Key(), R"(["00000000-0000-4000-8000-000000000001"])");
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(Error(*cursor, 1,
                  CursorFingerprint(kSecret, "sample.v_user", "t.\"id\" DESC")),
            kForeign);
  EXPECT_EQ(Error(*cursor, 1,
                  CursorFingerprint("other", "sample.v_user", "t.\"id\" ASC")),
            kForeign);
  // The old unsigned form: base64url of [fingerprint, values...].
  std::string old;
  absl::WebSafeBase64Escape(
      R"(["aa7388a0","00000000-0000-4000-8000-000000000001"])", &old);
  EXPECT_EQ(Error(old), kForeign);
  // Signed, but holding another number of values: a foreign cursor too.
  EXPECT_EQ(Error(*cursor, 2), kForeign);
}

TEST(Cursor, RejectsWhatIsNotACursorWithoutQuotingIt) {
  std::string b64;
  absl::WebSafeBase64Escape(R"({"a":1})", &b64);
  EXPECT_EQ(Error(b64), "invalid cursor at before: not a cursor (malformed content)");
  EXPECT_EQ(Error("' OR 1=1 --"),
            "invalid cursor at before: not a cursor (expected base64url text)");
  EXPECT_EQ(Error("QUJD="),  // padding is never produced
            "invalid cursor at before: not a cursor (expected base64url text)");
  EXPECT_EQ(Error("QUJDR"),  // 4n+1 characters
            "invalid cursor at before: not a cursor (expected base64url text)");
  EXPECT_EQ(Error(""),
            "invalid cursor at before: not a cursor (expected base64url text)");
  EXPECT_EQ(Error(std::string(5000, 'A')),
            "invalid cursor at before: longer than 4096 bytes");
}

TEST(Cursor, EncodeRejectsAKeyColumnThatIsNotAnArray) {
  EXPECT_FALSE(EncodeCursor(Key(), "{}").ok());
  EXPECT_FALSE(EncodeCursor(Key(), "null").ok());
}

}  // namespace
}  // namespace fraiseql::planner
