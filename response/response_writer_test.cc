#include "response/response_writer.h"

#include <string>

#include "gtest/gtest.h"
#include "response/projector.h"
#include "response/selection.h"
#include "tests/string_destination.h"

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

TEST_F(ResponseWriterTest, WritesValuesCompactWhenRootFieldIsAValue) {
  ASSERT_TRUE(writer_.WriteValue("userCount", "300").ok());
  ASSERT_TRUE(writer_.WriteValue("any", "true").ok());
  ASSERT_TRUE(writer_.WriteValue("total", "12345678901234567.89").ok());
  ASSERT_TRUE(writer_.WriteValue("none", "null").ok());
  ASSERT_TRUE(writer_
                  .WriteValue("cities", R"([ "Berlin", "S\u00e3o Paulo",)"
                                        R"( {"a" : [1, 2.50]}, null ])")
                  .ok());
  writer_.Finish();
  EXPECT_EQ(body_,
            R"({"data":{"userCount":300,"any":true,)"
            R"("total":12345678901234567.89,"none":null,)"
            R"("cities":["Berlin","São Paulo",{"a":[1,2.50]},null]}})");
}

TEST_F(ResponseWriterTest, WritesNothingWhenValueIsNotJson) {
  ASSERT_TRUE(writer_.WriteValue("a", "1").ok());
  absl::Status status = writer_.WriteValue("b", "[1,");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(writer_.WriteValue("c", "1 2").code(),
            absl::StatusCode::kInvalidArgument);
  writer_.Finish();
  EXPECT_EQ(body_, R"({"data":{"a":1}})");
}

TEST(AppendCanonicalJson, LeavesOutUnchangedWhenInvalid) {
  std::string out = "x";
  EXPECT_FALSE(AppendCanonicalJson("", &out).ok());
  EXPECT_FALSE(AppendCanonicalJson("{\"a\":}", &out).ok());
  EXPECT_EQ(out, "x");
  ASSERT_TRUE(AppendCanonicalJson(" \"a\\/b\" ", &out).ok());
  EXPECT_EQ(out, "x\"a/b\"");
}

TEST_F(ResponseWriterTest, WritesConnectionWhenPagingForward) {
  writer_.BeginConnection("users", /*reversed=*/false);
  ASSERT_TRUE(writer_.AppendEdge(users_, "c1", R"({"id": 1})").ok());
  ASSERT_TRUE(writer_.AppendEdge(users_, "c2", R"({"id": 2})").ok());
  writer_.EndConnection({/*has_next_page=*/true, /*has_previous_page=*/false},
                        300);
  writer_.Finish();
  EXPECT_EQ(body_,
            R"({"data":{"users":{"edges":[)"
            R"({"cursor":"c1","node":{"id":1,"name":null}},)"
            R"({"cursor":"c2","node":{"id":2,"name":null}}],)"
            R"("pageInfo":{"hasNextPage":true,"hasPreviousPage":false,)"
            R"("startCursor":"c1","endCursor":"c2"},"totalCount":300}}})");
}

TEST_F(ResponseWriterTest, ReversesEdgesWhenPagingBackward) {
  writer_.BeginConnection("users", /*reversed=*/true);
  ASSERT_TRUE(writer_.AppendEdge(users_, "c3", R"({"id": 3})").ok());
  ASSERT_TRUE(writer_.AppendEdge(users_, "c2", R"({"id": 2})").ok());
  EXPECT_FALSE(writer_.AppendEdge(users_, "cx", "[").ok());  // not written
  ASSERT_TRUE(writer_.AppendEdge(users_, "c1", R"({"id": 1})").ok());
  writer_.EndConnection({false, true});
  writer_.WriteNull("next");
  writer_.Finish();
  EXPECT_EQ(body_,
            R"({"data":{"users":{"edges":[)"
            R"({"cursor":"c1","node":{"id":1,"name":null}},)"
            R"({"cursor":"c2","node":{"id":2,"name":null}},)"
            R"({"cursor":"c3","node":{"id":3,"name":null}}],)"
            R"("pageInfo":{"hasNextPage":false,"hasPreviousPage":true,)"
            R"("startCursor":"c1","endCursor":"c3"}},"next":null}})");
}

TEST_F(ResponseWriterTest, WritesNullCursorsWhenConnectionIsEmpty) {
  writer_.BeginConnection("users", /*reversed=*/true);
  writer_.EndConnection({}, 0);
  writer_.BeginConnection("more", /*reversed=*/false);
  writer_.Finish();  // closes the open connection
  EXPECT_EQ(body_,
            R"({"data":{"users":{"edges":[],"pageInfo":{"hasNextPage":false,)"
            R"("hasPreviousPage":false,"startCursor":null,"endCursor":null},)"
            R"("totalCount":0},"more":{"edges":[],"pageInfo":{)"
            R"("hasNextPage":false,"hasPreviousPage":false,)"
            R"("startCursor":null,"endCursor":null}}}})");
}

TEST_F(ResponseWriterTest, DiscardsConnectionWhenFieldFails) {
  EXPECT_EQ(writer_.AppendEdge(users_, "c", R"({"id": 1})").code(),
            absl::StatusCode::kFailedPrecondition);
  writer_.BeginConnection("users", /*reversed=*/false);
  ASSERT_TRUE(writer_.AppendEdge(users_, "c\"1", R"({"id": 1})").ok());
  writer_.FailField("users", "bad row");
  writer_.EndConnection({true, true});  // harmless after FailField
  writer_.Finish();
  EXPECT_EQ(body_, R"({"data":{"users":null},"errors":[{"message":)"
                   R"("bad row","path":["users"]}]})");
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

// Writes the same body twice, once whole and once landed after every call
// (`script` calls `land` between the calls it makes): the landed bytes,
// followed by what is left in the writer's string, must equal the whole
// body.
template <typename Script>
void ExpectLandedEqualsWhole(Script script, absl::string_view expected) {
  std::string whole;
  {
    ResponseWriter writer(&whole);
    script(writer, [] {});
  }
  EXPECT_EQ(whole, expected);
  std::string rest;
  testing::StringDestination destination;
  {
    ResponseWriter writer(&rest);
    writer.LandIn(&destination);
    script(writer, [&] { writer.Land(); });
    writer.Land();
  }
  EXPECT_EQ(rest, "");
  EXPECT_EQ(destination.bytes(), expected);
  EXPECT_GT(destination.pieces(), 1);
}

TEST(ResponseWriterLanding, DiscardsLandedPartOfAFieldWhenItFails) {
  const Projector users{UserSelection()};
  ExpectLandedEqualsWhole(
      [&](ResponseWriter& w, auto land) {
        ASSERT_TRUE(w.WriteObject("me", users, R"({"id": 1})").ok());
        land();
        w.BeginList("users");
        for (int i = 0; i < 3; ++i) {
          ASSERT_TRUE(w.AppendListItem(users, R"({"id": 2})").ok());
          land();
        }
        w.FailField("users", "bad row");
        land();
        w.WriteNull("post");
        w.Finish();
      },
      R"({"data":{"me":{"id":1,"name":null},"users":null,"post":null},)"
      R"("errors":[{"message":"bad row","path":["users"]}]})");
}

TEST(ResponseWriterLanding, DiscardsLandedFieldWhenItFailsAfterItEnded) {
  const Projector users{UserSelection()};
  ExpectLandedEqualsWhole(
      [&](ResponseWriter& w, auto land) {
        land();
        w.BeginList("users");
        ASSERT_TRUE(w.AppendListItem(users, R"({"id": 2})").ok());
        w.EndList();
        land();
        w.FailField("users", "too large");
        w.Finish();
      },
      R"({"data":{"users":null},"errors":[{"message":"too large",)"
      R"("path":["users"]}]})");
}

TEST(ResponseWriterLanding, KeepsReversedEdgesUntilTheConnectionEnds) {
  const Projector users{UserSelection()};
  ExpectLandedEqualsWhole(
      [&](ResponseWriter& w, auto land) {
        ASSERT_TRUE(w.WriteObject("me", users, R"({"id": 9})").ok());
        land();
        w.BeginConnection("users", /*reversed=*/true);
        ASSERT_TRUE(w.AppendEdge(users, "c2", R"({"id": 2})").ok());
        land();
        ASSERT_TRUE(w.AppendEdge(users, "c1", R"({"id": 1})").ok());
        land();
        w.EndConnection({false, true});
        land();
        w.Finish();
      },
      R"({"data":{"me":{"id":9,"name":null},"users":{"edges":[)"
      R"({"cursor":"c1","node":{"id":1,"name":null}},)"
      R"({"cursor":"c2","node":{"id":2,"name":null}}],)"
      R"("pageInfo":{"hasNextPage":false,"hasPreviousPage":true,)"
      R"("startCursor":"c1","endCursor":"c2"}}}})");
}

TEST(ResponseWriterLanding, CountsLandedBytesInTheBodySize) {
  std::string rest = "prefix:";
  testing::StringDestination destination;
  ResponseWriter writer(&rest);
  writer.LandIn(&destination);
  writer.WriteNull("a");
  writer.Land();
  writer.WriteNull("b");
  writer.Finish();
  const std::string expected = R"(prefix:{"data":{"a":null,"b":null}})";
  EXPECT_EQ(writer.bytes_written(), expected.size());
  writer.Land();
  EXPECT_EQ(destination.bytes(), expected);
}

}  // namespace
}  // namespace fraiseql::response
