#include "response/response_writer.h"

#include <string>

#include "gtest/gtest.h"
#include "response/projector.h"
#include "response/selection.h"

namespace fraiseql::response {
namespace {

SelectionSet UserSelection() {
  SelectionSet selection;
  selection.type_name = "User";
  FieldSelection id;
  id.response_key = "id";
  id.source_key = "id";
  FieldSelection name;
  name.response_key = "name";
  name.source_key = "full_name";
  selection.fields = {id, name};
  return selection;
}

class ResponseWriterTest : public ::testing::Test {
 protected:
  const Projector users_{UserSelection()};
  std::string body_;
  ResponseWriter writer_{&body_};
};

TEST_F(ResponseWriterTest, WritesListWhenRootFieldIsList) {
  writer_.BeginList("users");
  ASSERT_TRUE(
      writer_.AppendListItem(users_, R"({"id": 1, "full_name": "Ann"})").ok());
  ASSERT_TRUE(writer_.AppendListItem(users_, R"({"id": 2})").ok());
  writer_.EndList();
  writer_.Finish();
  EXPECT_EQ(
      body_,
      R"({"data":{"users":[{"id":1,"name":"Ann"},{"id":2,"name":null}]}})");
}

TEST_F(ResponseWriterTest, WritesEmptyListWhenNoRows) {
  writer_.BeginList("users");
  writer_.EndList();
  writer_.Finish();
  EXPECT_EQ(body_, R"({"data":{"users":[]}})");
}

TEST_F(ResponseWriterTest, WritesObjectWhenRootFieldIsSingle) {
  ASSERT_TRUE(
      writer_.WriteObject("user", users_, R"({"full_name": "Ann", "id": 1})")
          .ok());
  writer_.Finish();
  EXPECT_EQ(body_, R"({"data":{"user":{"id":1,"name":"Ann"}}})");
}

TEST_F(ResponseWriterTest, WritesNullWhenSingleObjectHasNoRow) {
  writer_.WriteNull("user");
  writer_.Finish();
  EXPECT_EQ(body_, R"({"data":{"user":null}})");
}

TEST_F(ResponseWriterTest, WritesEveryRootInOrderWhenSeveralFields) {
  ASSERT_TRUE(writer_.WriteObject("me", users_, R"({"id": 1})").ok());
  writer_.BeginList("users");
  ASSERT_TRUE(writer_.AppendListItem(users_, R"({"id": 2})").ok());
  writer_.EndList();
  writer_.WriteNull("post");
  writer_.BeginList("admins");
  writer_.EndList();
  writer_.Finish();
  EXPECT_EQ(body_,
            R"({"data":{"me":{"id":1,"name":null},)"
            R"("users":[{"id":2,"name":null}],"post":null,"admins":[]}})");
}

TEST_F(ResponseWriterTest, WritesEmptyDataWhenNoFields) {
  writer_.Finish();
  EXPECT_EQ(body_, R"({"data":{}})");
}

TEST_F(ResponseWriterTest, DiscardsPartialListWhenFieldFails) {
  ASSERT_TRUE(writer_.WriteObject("me", users_, R"({"id": 1})").ok());
  writer_.BeginList("users");
  ASSERT_TRUE(writer_.AppendListItem(users_, R"({"id": 2})").ok());
  const absl::Status status = writer_.AppendListItem(users_, R"({"id": )");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  writer_.FailField("users", status.message());
  writer_.EndList();  // harmless after FailField
  writer_.WriteNull("post");
  writer_.Finish();
  EXPECT_EQ(body_,
            R"({"data":{"me":{"id":1,"name":null},"users":null,"post":null},)"
            R"("errors":[{"message":"row is not valid JSON: unexpected end )"
            R"(of input at byte 7","path":["users"]}]})");
}

TEST_F(ResponseWriterTest, WritesNullAndErrorWhenSingleObjectRowIsInvalid) {
  const absl::Status status = writer_.WriteObject("user", users_, "[1]");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  writer_.FailField("user", status.message());
  writer_.Finish();
  EXPECT_EQ(body_, R"({"data":{"user":null},"errors":[{"message":)"
                   R"("row is not a JSON object: found an array at byte 0",)"
                   R"("path":["user"]}]})");
}

TEST_F(ResponseWriterTest, DiscardsJustWrittenFieldWhenItFailsLater) {
  writer_.BeginList("users");
  ASSERT_TRUE(writer_.AppendListItem(users_, R"({"id": 2})").ok());
  writer_.EndList();
  writer_.FailField("users", "result larger than 10 MiB");
  writer_.Finish();
  EXPECT_EQ(body_, R"({"data":{"users":null},"errors":[{"message":)"
                   R"("result larger than 10 MiB","path":["users"]}]})");
}

TEST_F(ResponseWriterTest, WritesNullFieldWhenFailedBeforeItStarted) {
  writer_.WriteNull("me");
  writer_.FailField("users", "connection lost");
  writer_.FailField("posts", "timeout");
  writer_.Finish();
  EXPECT_EQ(body_, R"({"data":{"me":null,"users":null,"posts":null},"errors":[)"
                   R"({"message":"connection lost","path":["users"]},)"
                   R"({"message":"timeout","path":["posts"]}]})");
}

TEST_F(ResponseWriterTest, EscapesMessageAndKeyWhenTheyNeedIt) {
  writer_.FailField("we\"ird", "bad \"row\"\n\tat \\ \x01 é \xff");
  writer_.Finish();
  EXPECT_EQ(body_,
            R"({"data":{"we\"ird":null},"errors":[{"message":)"
            R"("bad \"row\"\n\tat \\ \u0001 é �","path":["we\"ird"]}]})");
}

TEST_F(ResponseWriterTest, KeepsListOpenWhenOneItemIsRejected) {
  writer_.BeginList("users");
  ASSERT_TRUE(writer_.AppendListItem(users_, R"({"id": 1})").ok());
  EXPECT_FALSE(writer_.AppendListItem(users_, "{").ok());
  ASSERT_TRUE(writer_.AppendListItem(users_, R"({"id": 3})").ok());
  writer_.EndList();
  writer_.Finish();
  EXPECT_EQ(
      body_,
      R"({"data":{"users":[{"id":1,"name":null},{"id":3,"name":null}]}})");
}

TEST_F(ResponseWriterTest, RejectsItemWhenNoListIsOpen) {
  EXPECT_EQ(writer_.AppendListItem(users_, R"({"id": 1})").code(),
            absl::StatusCode::kFailedPrecondition);
  writer_.BeginList("users");
  writer_.FailField("users", "x");
  EXPECT_EQ(writer_.AppendListItem(users_, R"({"id": 1})").code(),
            absl::StatusCode::kFailedPrecondition);
  writer_.Finish();
  EXPECT_EQ(body_, R"({"data":{"users":null},"errors":[{"message":"x",)"
                   R"("path":["users"]}]})");
}

TEST_F(ResponseWriterTest, ClosesOpenListWhenFinishing) {
  writer_.BeginList("users");
  writer_.Finish();
  writer_.Finish();
  EXPECT_EQ(body_, R"({"data":{"users":[]}})");
}

TEST(ResponseWriter, AppendsAfterExistingBytesWhenOutIsNotEmpty) {
  std::string body = "HTTP body: ";
  ResponseWriter writer(&body);
  writer.WriteNull("a");
  writer.FailField("a", "m");
  writer.Finish();
  EXPECT_EQ(body, R"(HTTP body: {"data":{"a":null},"errors":[{"message":"m",)"
                  R"("path":["a"]}]})");
}

}  // namespace
}  // namespace fraiseql::response
