#include "planner/cursor.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace fraiseql::planner {
namespace {

TEST(CursorFingerprint, IsStableAndDependsOnViewAndOrdering) {
  // Fixed across processes and releases: cursors outlive restarts.
  EXPECT_EQ(CursorFingerprint("sample.v_user", "t.\"id\" ASC"), "aa7388a0");
  EXPECT_NE(CursorFingerprint("sample.v_post", "t.\"id\" ASC"), "aa7388a0");
  EXPECT_NE(CursorFingerprint("sample.v_user", "t.\"id\" DESC"), "aa7388a0");
}

TEST(Cursor, RoundTripsKeyValuesCompactly) {
  auto cursor = EncodeCursor("aa7388a0", R"([37, "Zoë \"q\"", null, 1.50])");
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  std::string json;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(*cursor, &json));
  EXPECT_EQ(json, R"(["aa7388a0",37,"Zoë \"q\"",null,1.50])");
  EXPECT_EQ(cursor->find_first_of("+/="), std::string::npos) << *cursor;
  auto values = DecodeCursor(*cursor, "aa7388a0", 4, "after");
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->size(), 4u);
  EXPECT_EQ((*values)[0].text(), "37");
  EXPECT_EQ((*values)[1].text(), "Zoë \"q\"");
  EXPECT_TRUE((*values)[2].is_null());
  EXPECT_EQ((*values)[3].text(), "1.50");
}

TEST(Cursor, RejectsWhatIsNotACursorWithoutQuotingIt) {
  auto error = [](absl::string_view cursor, size_t keys = 1) {
    auto decoded = DecodeCursor(cursor, "aa7388a0", keys, "before");
    EXPECT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(decoded.status().message());
  };
  std::string b64;
  absl::WebSafeBase64Escape(R"(["aa7388a0",1])", &b64);
  EXPECT_EQ(error(b64, 2),
            "invalid cursor at before: the cursor belongs to another view or "
            "orderBy");
  absl::WebSafeBase64Escape(R"(["ffffffff",1])", &b64);
  EXPECT_EQ(error(b64),
            "invalid cursor at before: the cursor belongs to another view or "
            "orderBy");
  absl::WebSafeBase64Escape(R"({"a":1})", &b64);
  EXPECT_EQ(error(b64), "invalid cursor at before: not a cursor (malformed content)");
  absl::WebSafeBase64Escape(R"([1,2])", &b64);
  EXPECT_EQ(error(b64), "invalid cursor at before: not a cursor (malformed content)");
  EXPECT_EQ(error("' OR 1=1 --"),
            "invalid cursor at before: not a cursor (expected base64url text)");
  EXPECT_EQ(error("QUJD="),  // padding is never produced
            "invalid cursor at before: not a cursor (expected base64url text)");
  EXPECT_EQ(error("QUJDR"),  // 4n+1 characters
            "invalid cursor at before: not a cursor (expected base64url text)");
  EXPECT_EQ(error(std::string(5000, 'A')),
            "invalid cursor at before: longer than 4096 bytes");
}

TEST(Cursor, EncodeRejectsAKeyColumnThatIsNotAnArray) {
  EXPECT_FALSE(EncodeCursor("aa7388a0", "{}").ok());
  EXPECT_FALSE(EncodeCursor("aa7388a0", "null").ok());
}

}  // namespace
}  // namespace fraiseql::planner
