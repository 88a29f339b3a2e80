#include "stream/chunked_query.h"

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/pg_status.h"
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

// The first column of every row of `sql`, run through StreamQuery without
// context or prepared statements.
std::vector<std::string> Rows(PGconn* conn, const std::string& sql) {
  CollectingSink sink;
  auto result = StreamQuery(conn, {sql, {}}, {}, &sink);
  EXPECT_TRUE(result.ok()) << result.status();
  return sink.rows;
}

TEST_F(StreamQueryTest, DeadlineCancelsTheQueryOnTheServer) {
  RequestContext context;
  context.deadline = absl::Now() + absl::Milliseconds(300);
  CollectingSink sink;
  const absl::Time start = absl::Now();
  auto result = StreamQuery(conn_->raw(), {"SELECT pg_sleep(10)::text", {}},
                            {}, context, &sink);
  const absl::Duration elapsed = absl::Now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StartsWith(result.status().message(),
                               "query exceeded its deadline of "))
      << result.status();  // 300ms less the time before the call (ceil)
  EXPECT_TRUE(absl::EndsWith(result.status().message(),
                             "ms; cancelled on the server"));
  EXPECT_TRUE(result.status().GetPayload(kQueryTimeoutPayloadUrl).has_value());
  EXPECT_GE(elapsed, absl::Milliseconds(250));
  EXPECT_LT(elapsed, absl::Seconds(5));
  EXPECT_TRUE(conn_->IsReusable());
  EXPECT_EQ(Rows(conn_->raw(), "SELECT 'ok'"), (std::vector<std::string>{"ok"}));
}

TEST_F(StreamQueryTest, DeadlineInsideTheTransactionRollsBack) {
  RequestContext context;
  context.tenant_id = "t1";
  context.deadline = absl::Now() + absl::Milliseconds(200);
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), {"SELECT pg_sleep(10)::text", {}},
                            {}, context, &sink);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_IDLE);
  EXPECT_EQ(PQpipelineStatus(conn_->raw()), PQ_PIPELINE_OFF);
  EXPECT_TRUE(conn_->IsReusable());
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT coalesce(current_setting('app.tenant_id', true), '')"),
            (std::vector<std::string>{""}));
}

TEST_F(StreamQueryTest, CancelFlagCancelsTheQueryOnTheServer) {
  std::atomic<bool> cancelled{false};
  RequestContext context;
  context.cancelled = &cancelled;
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(200));
    cancelled = true;
  });
  CollectingSink sink;
  const absl::Time start = absl::Now();
  auto result = StreamQuery(conn_->raw(), {"SELECT pg_sleep(10)::text", {}},
                            {}, context, &sink);
  canceller.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled)
      << result.status();
  EXPECT_TRUE(conn_->IsReusable());
  EXPECT_EQ(Rows(conn_->raw(), "SELECT 'ok'"), (std::vector<std::string>{"ok"}));
}

TEST_F(StreamQueryTest, StatementTimeoutIsDeadlineExceeded) {
  RequestContext context;
  context.statement_timeout = absl::Milliseconds(200);
  CollectingSink sink;
  const absl::Time start = absl::Now();
  auto result = StreamQuery(conn_->raw(), {"SELECT pg_sleep(10)::text", {}},
                            {}, context, &sink);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(std::string(result.status().message()),
            "query exceeded statement_timeout of 200ms on the server "
            "(SQLSTATE 57014)");
  EXPECT_EQ(SqlStateOf(result.status()), "57014");
  EXPECT_TRUE(result.status().GetPayload(kQueryTimeoutPayloadUrl).has_value());
  EXPECT_TRUE(conn_->IsReusable());
  // SET LOCAL: the timeout is gone with the transaction.
  EXPECT_EQ(Rows(conn_->raw(), "SHOW statement_timeout"),
            (std::vector<std::string>{"0"}));
}

TEST_F(StreamQueryTest, ContextIsVisibleToTheQueryAndResetAfterIt) {
  RequestContext context;
  context.tenant_id = "tenant-1";
  context.user_id = "user-7";
  context.variables["app.role_name"] = "o'reilly; DROP TABLE x";
  CollectingSink sink;
  auto result = StreamQuery(
      conn_->raw(),
      {"SELECT concat_ws('|', current_setting('app.tenant_id', true), "
       "current_setting('app.user_id', true), "
       "current_setting('app.role_name', true), $1::text)",
       {{"p", "", false}}},
      {}, context, &sink);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(sink.rows, (std::vector<std::string>{
                           "tenant-1|user-7|o'reilly; DROP TABLE x|p"}));
  EXPECT_TRUE(conn_->IsReusable());
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT coalesce(current_setting('app.tenant_id', true), '') "
                 "|| '|' || coalesce(current_setting('app.role_name', true), '')"),
            (std::vector<std::string>{"|"}));
}

TEST_F(StreamQueryTest, ErrorInThePipelineRollsBackAndLeavesConnectionIdle) {
  RequestContext context;
  context.tenant_id = "t1";
  CollectingSink sink;
  auto result = StreamQuery(
      conn_->raw(),
      {"SELECT (1 / (3 - g))::text FROM generate_series(1, 5) g", {}}, {},
      context, &sink);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(std::string(result.status().message()),
            "query failed: division by zero (SQLSTATE 22012)");
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_IDLE);
  EXPECT_EQ(PQpipelineStatus(conn_->raw()), PQ_PIPELINE_OFF);
  EXPECT_TRUE(conn_->IsReusable());
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT coalesce(current_setting('app.tenant_id', true), '')"),
            (std::vector<std::string>{""}));
}

TEST_F(StreamQueryTest, SinkFailureInsideTheTransactionRollsBack) {
  RequestContext context;
  context.tenant_id = "t1";
  CollectingSink sink;
  sink.fail_after = 5;
  auto result = StreamQuery(
      conn_->raw(), {"SELECT g::text FROM generate_series(1, 10000000) g", {}},
      {/*chunk_rows=*/5}, context, &sink);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(std::string(result.status().message()), "consumer gave up");
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(StreamQueryTest, InvalidVariableNameSendsNothing) {
  for (const char* name : {"tenant_id", "app.", "app.Tenant", "app.1x",
                           "app.a-b", "app.a.b", "pg.x"}) {
    RequestContext context;
    context.variables[name] = "v";
    CollectingSink sink;
    auto result =
        StreamQuery(conn_->raw(), {"SELECT 'x'", {}}, {}, context, &sink);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << name;
    EXPECT_TRUE(sink.rows.empty());
  }
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(StreamQueryTest, PreparedStatementIsPreparedOnceAndReused) {
  StatementCache cache;
  StreamOptions options;
  options.statements = &cache;
  const std::string sql = "SELECT ($1::int * 2)::text";
  for (int i = 1; i <= 3; ++i) {
    CollectingSink sink;
    RequestContext context;
    if (i == 2) context.tenant_id = "t";  // prepared inside a transaction too
    auto result = StreamQuery(conn_->raw(), {sql, {{absl::StrCat(i), "", false}}},
                              options, context, &sink);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(sink.rows, (std::vector<std::string>{absl::StrCat(i * 2)}));
  }
  EXPECT_EQ(cache.Size(conn_->raw()), 1u);
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT count(*)::text FROM pg_prepared_statements "
                 "WHERE statement = 'SELECT ($1::int * 2)::text'"),
            (std::vector<std::string>{"1"}));
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT count(*)::text FROM pg_prepared_statements"),
            (std::vector<std::string>{"1"}));
}

TEST_F(StreamQueryTest, PreparedStatementSurvivesAFailedTransaction) {
  StatementCache cache;
  StreamOptions options;
  options.statements = &cache;
  RequestContext context;
  context.tenant_id = "t";
  const std::string sql = "SELECT (10 / $1::int)::text";
  CollectingSink bad;
  EXPECT_FALSE(StreamQuery(conn_->raw(), {sql, {{"0", "", false}}}, options,
                           context, &bad)
                   .ok());
  CollectingSink good;
  auto result = StreamQuery(conn_->raw(), {sql, {{"5", "", false}}}, options,
                            context, &good);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(good.rows, (std::vector<std::string>{"2"}));
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT count(*)::text FROM pg_prepared_statements"),
            (std::vector<std::string>{"1"}));
}

TEST_F(StreamQueryTest, EvictedStatementsAreDeallocated) {
  StatementCache cache(/*per_connection=*/1);
  StreamOptions options;
  options.statements = &cache;
  for (const char* sql : {"SELECT 'a'", "SELECT 'b'", "SELECT 'c'",
                          "SELECT 'd'"}) {
    CollectingSink sink;
    ASSERT_TRUE(StreamQuery(conn_->raw(), {sql, {}}, options, {}, &sink).ok());
  }
  EXPECT_EQ(cache.Size(conn_->raw()), 1u);
  // The last statement and the one evicted by it (deallocated by the next
  // call on this connection).
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT string_agg(statement, ',' ORDER BY statement) "
                 "FROM pg_prepared_statements"),
            (std::vector<std::string>{"SELECT 'c',SELECT 'd'"}));
  EXPECT_TRUE(absl::StartsWith(StatementCache::NewName(), "fql_"));
}

// As behind PgBouncer in transaction pooling mode: the statement prepared
// earlier is gone from the session that serves the next call.
TEST_F(StreamQueryTest, VanishedStatementRunsUnpreparedAndStopsPreparing) {
  StatementCache cache;
  StreamOptions options;
  options.statements = &cache;
  const std::string sql = "SELECT ($1::int * 3)::text";
  CollectingSink first;
  ASSERT_TRUE(StreamQuery(conn_->raw(), {sql, {{"1", "", false}}}, options, {},
                          &first)
                  .ok());
  Rows(conn_->raw(), "DEALLOCATE ALL");
  for (int i = 2; i <= 3; ++i) {
    CollectingSink sink;
    RequestContext context;
    context.tenant_id = "t";
    auto result = StreamQuery(conn_->raw(), {sql, {{absl::StrCat(i), "", false}}},
                              options, context, &sink);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(sink.rows, (std::vector<std::string>{absl::StrCat(i * 3)}));
  }
  EXPECT_TRUE(cache.Disabled(conn_->raw()));
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT count(*)::text FROM pg_prepared_statements"),
            (std::vector<std::string>{"0"}));
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(StreamQueryTest, ReconnectedHandleStartsWithNoStatements) {
  StatementCache cache;
  StreamOptions options;
  options.statements = &cache;
  CollectingSink sink;
  ASSERT_TRUE(
      StreamQuery(conn_->raw(), {"SELECT 'a'", {}}, options, {}, &sink).ok());
  EXPECT_EQ(cache.Size(conn_->raw()), 1u);
  cache.Forget(conn_->raw());
  EXPECT_EQ(cache.Size(conn_->raw()), 0u);
}

}  // namespace
}  // namespace fraiseql::stream
