#include "base/pg_status.h"

#include "base/status_macros.h"
#include "gtest/gtest.h"

namespace fraiseql {
namespace {

TEST(StatusCodeForSqlState, FollowsAbseilRetryMeaning) {
  EXPECT_EQ(StatusCodeForSqlState("08006"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqlState("57P01"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqlState("40001"), absl::StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForSqlState("40P01"), absl::StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForSqlState("57014"), absl::StatusCode::kCancelled);
  EXPECT_EQ(StatusCodeForSqlState("23505"), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusCodeForSqlState("23503"),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusCodeForSqlState("22P02"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeForSqlState("42601"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeForSqlState("42501"),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusCodeForSqlState("28P01"), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(StatusCodeForSqlState("53300"),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusCodeForSqlState("42P01"), absl::StatusCode::kNotFound);
  EXPECT_EQ(StatusCodeForSqlState("42704"), absl::StatusCode::kNotFound);
  EXPECT_EQ(StatusCodeForSqlState("XX000"), absl::StatusCode::kInternal);
  EXPECT_EQ(StatusCodeForSqlState(""), absl::StatusCode::kInternal);
}

TEST(StatusFromSqlState, KeepsSqlStateAsPayloadAndTrimsMessage) {
  absl::Status status =
      StatusFromSqlState("42P01", "running find on users",
                         "relation \"nope\" does not exist\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(),
            "running find on users: relation (value withheld) does not exist "
            "(SQLSTATE 42P01)");
  EXPECT_EQ(SqlStateOf(status), "42P01");
  EXPECT_EQ(SqlStateOf(absl::InternalError("x")), std::nullopt);
}

TEST(StatusFromSqlState, NamesTheMissingExtension) {
  EXPECT_EQ(std::string(StatusFromSqlState(
                            "42704", "query failed",
                            "type \"ltree\" does not exist")
                            .message()),
            "query failed: type (value withheld) does not exist (SQLSTATE "
            "42704); "
            "this filter needs the ltree extension: CREATE EXTENSION ltree");
  EXPECT_EQ(std::string(StatusFromSqlState(
                            "42883", "query failed",
                            "function ll_to_earth(double precision, double "
                            "precision) does not exist")
                            .message()),
            "query failed: function ll_to_earth(double precision, double "
            "precision) does not exist (SQLSTATE 42883); this filter needs "
            "the earthdistance extension: CREATE EXTENSION earthdistance "
            "(after cube)");
  EXPECT_EQ(std::string(StatusFromSqlState("42704", "query failed",
                                           "type \"vector\" does not exist")
                            .message()),
            "query failed: type (value withheld) does not exist (SQLSTATE "
            "42704); "
            "this filter needs the vector (pgvector) extension: CREATE "
            "EXTENSION vector");
  // Other missing objects get no hint.
  EXPECT_EQ(std::string(StatusFromSqlState("42704", "q", "type \"foo\" does "
                                           "not exist").message()),
            "q: type (value withheld) does not exist (SQLSTATE 42704)");
}

TEST(StatusFromSqlState, WithholdsTheInputsBytes) {
  EXPECT_EQ(std::string(StatusFromSqlState(
                            "22021", "q",
                            "invalid byte sequence for encoding \"UTF8\": 0xff")
                            .message()),
            "q: invalid byte sequence for encoding (value withheld) (SQLSTATE "
            "22021)");
  EXPECT_EQ(std::string(StatusFromSqlState(
                            "22P05", "q",
                            "character with byte sequence 0xe2 0x82 0xac in "
                            "encoding \"UTF8\" has no equivalent in encoding "
                            "\"LATIN1\"")
                            .message()),
            "q: character with byte sequence (value withheld) (SQLSTATE "
            "22P05)");
  EXPECT_EQ(std::string(StatusFromSqlState(
                            "22P05", "q", "unsupported Unicode escape sequence")
                            .message()),
            "q: unsupported Unicode escape sequence (SQLSTATE 22P05)");
}

TEST(WithholdQuotedText, CutsEveryQuotedSpanWhereverItIs) {
  // Quotes inside the value are not escaped by the server: pairing them
  // would leave `x` outside.
  EXPECT_EQ(WithholdQuotedText("time zone \"a & \"x\" (\" not recognized"),
            "time zone (value withheld) not recognized");
  EXPECT_EQ(WithholdQuotedText("syntax error in tsquery: \"a & \"x\" (\""),
            "syntax error in tsquery (value withheld)");
  EXPECT_EQ(WithholdQuotedText("syntax error at or near \"!\" of jsonpath input"),
            "syntax error at or near (value withheld) of jsonpath input");
  EXPECT_EQ(WithholdQuotedText("column \"a\" of relation \"b\" is secret"),
            "column (value withheld) is secret");
  EXPECT_EQ(WithholdQuotedText("unterminated \"rest of it"),
            "unterminated (value withheld)");
  EXPECT_EQ(WithholdQuotedText("division by zero"), "division by zero");
  EXPECT_EQ(WithholdQuotedText(""), "");
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusMacros, ReturnEarlyOnError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(2).ok());
  EXPECT_FALSE(CheckEven(3).ok());
}

}  // namespace
}  // namespace fraiseql
