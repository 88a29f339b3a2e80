#include "stream/chunked_query.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pool/pool.h"
#include "tests/postgres_fixture.h"

namespace fraiseql::stream {
namespace {

class CollectingSink : public RowSink {
 public:
  absl::Status OnChunk(const RowChunk& chunk) override {
    chunk_sizes.push_back(chunk.rows.size());
    for (absl::string_view row : chunk.rows) rows.emplace_back(row);
    if (fail_after >= 0 && static_cast<int>(rows.size()) >= fail_after) {
      return absl::CancelledError("consumer gave up");
    }
    return absl::OkStatus();
  }
  std::vector<std::string> rows;
  std::vector<size_t> chunk_sizes;
  int fail_after = -1;
};

class StreamQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool::ConnectionOptions options;
    options.conninfo = testing::DatabaseUrl();
    auto conn = pool::Connection::Open(options);
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = *std::move(conn);
  }
  std::unique_ptr<pool::Connection> conn_;
};

TEST_F(StreamQueryTest, DeliversRowsInChunksOfTheConfiguredSize) {
  planner::Plan plan{
      "SELECT json_build_object('n', g)::text FROM generate_series(1, $1::int) g",
      {{"10", "", false}}};
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), plan, {/*chunk_rows=*/4}, &sink);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 10);
  EXPECT_EQ(result->chunks, 3);
  EXPECT_EQ(sink.chunk_sizes, (std::vector<size_t>{4, 4, 2}));
  EXPECT_EQ(sink.rows.front(), R"({"n" : 1})");
  EXPECT_EQ(sink.rows.back(), R"({"n" : 10})");
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(StreamQueryTest, DeliversEveryColumnWhenSeveral) {
  planner::Plan plan{
      "SELECT g::text, (g * 10)::text, CASE WHEN g = 2 THEN NULL ELSE 'c' END "
      "FROM generate_series(1, 3) g",
      {}};
  class Cells : public RowSink {
   public:
    absl::Status OnChunk(const RowChunk& chunk) override {
      for (size_t r = 0; r < chunk.rows.size(); ++r) {
        std::string row;
        for (int c = 0; c < chunk.columns; ++c) {
          absl::StrAppend(&row, c == 0 ? "" : "|", chunk.cell(r, c));
        }
        rows.push_back(row);
      }
      return absl::OkStatus();
    }
    std::vector<std::string> rows;
  } sink;
  auto result = StreamQuery(conn_->raw(), plan, {/*chunk_rows=*/2}, &sink);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(sink.rows,
            (std::vector<std::string>{"1|10|c", "2|20|null", "3|30|c"}));
}

TEST_F(StreamQueryTest, OneColumnCarriesNoExtraCells) {
  planner::Plan plan{"SELECT g::text FROM generate_series(1, 3) g", {}};
  class Check : public RowSink {
   public:
    absl::Status OnChunk(const RowChunk& chunk) override {
      EXPECT_EQ(chunk.columns, 1);
      EXPECT_TRUE(chunk.more.empty());
      return absl::OkStatus();
    }
  } sink;
  ASSERT_TRUE(StreamQuery(conn_->raw(), plan, {}, &sink).ok());
}

TEST_F(StreamQueryTest, EmptyResultCallsNoSink) {
  planner::Plan plan{"SELECT '{}'::text WHERE false", {}};
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), plan, {}, &sink);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->rows, 0);
  EXPECT_TRUE(sink.chunk_sizes.empty());
}

TEST_F(StreamQueryTest, SqlNullArrivesAsJsonNull) {
  planner::Plan plan{"SELECT NULL::text", {}};
  CollectingSink sink;
  ASSERT_TRUE(StreamQuery(conn_->raw(), plan, {}, &sink).ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"null"}));
}

TEST_F(StreamQueryTest, NullParameterIsSqlNull) {
  planner::Plan plan{"SELECT coalesce($1::text, 'was null')", {{"", "", true}}};
  CollectingSink sink;
  ASSERT_TRUE(StreamQuery(conn_->raw(), plan, {}, &sink).ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"was null"}));
}

TEST_F(StreamQueryTest, ServerErrorKeepsSqlStateAndLeavesConnectionIdle) {
  planner::Plan plan{"SELECT (1 / (3 - g))::text FROM generate_series(1, 5) g",
                     {}};
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), plan, {}, &sink);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(result.status().message()),
            "query failed: division by zero (SQLSTATE 22012)");
  EXPECT_TRUE(conn_->IsReusable());
  planner::Plan again{"SELECT 'ok'", {}};
  CollectingSink sink2;
  ASSERT_TRUE(StreamQuery(conn_->raw(), again, {}, &sink2).ok());
  EXPECT_EQ(sink2.rows, (std::vector<std::string>{"ok"}));
}

TEST_F(StreamQueryTest, SinkFailureCancelsAndLeavesConnectionIdle) {
  planner::Plan plan{
      "SELECT g::text FROM generate_series(1, 10000000) g", {}};
  CollectingSink sink;
  sink.fail_after = 5;
  auto result = StreamQuery(conn_->raw(), plan, {/*chunk_rows=*/5}, &sink);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(sink.rows.size(), 5u);
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(StreamQueryTest, LostConnectionIsUnavailable) {
  testing::AdminConnection admin;
  PGresult* r = PQexec(conn_->raw(), "SELECT pg_backend_pid()");
  std::string pid = PQgetvalue(r, 0, 0);
  PQclear(r);
  admin.Exec(absl::StrCat("SELECT pg_terminate_backend(", pid, ")"));
  planner::Plan plan{"SELECT 'x'", {}};
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), plan, {}, &sink);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable)
      << result.status();
  EXPECT_FALSE(conn_->IsReusable());
}

}  // namespace
}  // namespace fraiseql::stream
