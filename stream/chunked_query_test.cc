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

class CollectingSink : public exec::RowSink {
 public:
  absl::Status OnChunk(const exec::RowChunk& chunk) override {
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
    conn_ = testing::OpenTestConnection();
    ASSERT_NE(conn_, nullptr);
  }
  std::string Pid() const { return absl::StrCat(PQbackendPID(conn_->raw())); }
  // What the connection's backend is doing, as another session sees it
  // ("idle", "active", ...).
  std::string ServerState() {
    return testing::AdminConnection()
        .Column("SELECT state FROM pg_stat_activity WHERE pid = " + Pid())
        .at(0);
  }
  std::unique_ptr<pool::Connection> conn_;
};

TEST_F(StreamQueryTest, DeliversRowsInChunksOfTheConfiguredSize) {
  exec::Plan plan{
      "SELECT json_build_object('n', g)::text FROM generate_series(1, $1::int) "
      "g",
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

// Rows already read are handed on before the client waits for more: the
// server sends 40 rows of 1 KiB (its 8 KiB output buffer flushes on the
// way), then waits on an advisory lock the test holds. With a chunk of 256
// rows, the sink must see the rows that arrived while the server still
// waits; it releases the lock itself, so a sink that got nothing until the
// end would leave the query waiting until its statement_timeout.
TEST_F(StreamQueryTest, HandsOnHeldRowsBeforeWaitingForTheServer) {
  testing::AdminConnection admin;
  const std::string key = absl::StrCat(PQbackendPID(admin.raw()));
  admin.Exec("SELECT pg_advisory_lock(" + key + ")");
  exec::Plan plan{
      "SELECT repeat('x', 1024) FROM generate_series(1, 40) "
      "UNION ALL SELECT pg_advisory_lock($1::bigint)::text",
      {{key, "", false}}};
  class ReleasingSink : public exec::RowSink {
   public:
    explicit ReleasingSink(testing::AdminConnection* admin,
                           const std::string& key)
        : admin_(*admin), key_(key) {}
    absl::Status OnChunk(const exec::RowChunk& chunk) override {
      if (chunks.empty()) {
        admin_.Exec("SELECT pg_advisory_unlock(" + key_ + ")");
      }
      chunks.push_back(chunk.rows.size());
      rows += chunk.rows.size();
      return absl::OkStatus();
    }
    std::vector<size_t> chunks;
    size_t rows = 0;

   private:
    testing::AdminConnection& admin_;
    std::string key_;
  } sink(&admin, key);
  StreamOptions options;
  options.default_statement_timeout = absl::Seconds(10);
  auto result = StreamQuery(conn_->raw(), plan, options, &sink);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(sink.rows, 41u);
  ASSERT_GE(sink.chunks.size(), 2u);
  EXPECT_LT(sink.chunks.front(), 41u);
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(StreamQueryTest, DeliversEveryColumnWhenSeveral) {
  exec::Plan plan{
      "SELECT g::text, (g * 10)::text, CASE WHEN g = 2 THEN NULL ELSE 'c' END "
      "FROM generate_series(1, 3) g",
      {}};
  class Cells : public exec::RowSink {
   public:
    absl::Status OnChunk(const exec::RowChunk& chunk) override {
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
  exec::Plan plan{"SELECT g::text FROM generate_series(1, 3) g", {}};
  class Check : public exec::RowSink {
   public:
    absl::Status OnChunk(const exec::RowChunk& chunk) override {
      EXPECT_EQ(chunk.columns, 1);
      EXPECT_TRUE(chunk.more.empty());
      rows += chunk.rows.size();
      return absl::OkStatus();
    }
    size_t rows = 0;
  } sink;
  ASSERT_TRUE(StreamQuery(conn_->raw(), plan, {}, &sink).ok());
  EXPECT_EQ(sink.rows, 3u);  // the checks above did run
}

TEST_F(StreamQueryTest, EmptyResultCallsNoSink) {
  exec::Plan plan{"SELECT '{}'::text WHERE false", {}};
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), plan, {}, &sink);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->rows, 0);
  EXPECT_TRUE(sink.chunk_sizes.empty());
}

TEST_F(StreamQueryTest, SqlNullArrivesAsJsonNull) {
  exec::Plan plan{"SELECT NULL::text", {}};
  CollectingSink sink;
  ASSERT_TRUE(StreamQuery(conn_->raw(), plan, {}, &sink).ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"null"}));
}

TEST_F(StreamQueryTest, NullParameterIsSqlNull) {
  exec::Plan plan{"SELECT coalesce($1::text, 'was null')", {{"", "", true}}};
  CollectingSink sink;
  ASSERT_TRUE(StreamQuery(conn_->raw(), plan, {}, &sink).ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"was null"}));
}

TEST_F(StreamQueryTest, ServerErrorKeepsSqlStateAndLeavesConnectionIdle) {
  exec::Plan plan{"SELECT (1 / (3 - g))::text FROM generate_series(1, 5) g",
                  {}};
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), plan, {}, &sink);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(result.status().message()),
            "query failed: division by zero (SQLSTATE 22012)");
  EXPECT_TRUE(conn_->IsReusable());
  exec::Plan again{"SELECT 'ok'", {}};
  CollectingSink sink2;
  ASSERT_TRUE(StreamQuery(conn_->raw(), again, {}, &sink2).ok());
  EXPECT_EQ(sink2.rows, (std::vector<std::string>{"ok"}));
}

TEST_F(StreamQueryTest, SinkFailureCancelsAndLeavesConnectionIdle) {
  exec::Plan plan{"SELECT g::text FROM generate_series(1, 10000000) g", {}};
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
  admin.TerminateBackend(Pid());
  exec::Plan plan{"SELECT 'x'", {}};
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
  exec::RequestContext context;
  context.deadline = absl::Now() + absl::Milliseconds(300);
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), {"SELECT pg_sleep(10)::text", {}},
                            {}, context, &sink);
  const absl::Time returned = absl::Now();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StartsWith(result.status().message(),
                               "query exceeded its deadline of "))
      << result.status();  // 300ms less the time before the call (ceil)
  EXPECT_TRUE(absl::EndsWith(result.status().message(),
                             "ms; cancelled on the server"));
  EXPECT_TRUE(
      result.status().GetPayload(exec::kQueryTimeoutPayloadUrl).has_value());
  // Not before the deadline, and not by leaving the sleep running: the
  // server ended it before the call returned.
  EXPECT_GE(returned, context.deadline);
  EXPECT_EQ(ServerState(), "idle");
  EXPECT_TRUE(conn_->IsReusable());
  EXPECT_EQ(Rows(conn_->raw(), "SELECT 'ok'"), (std::vector<std::string>{"ok"}));
}

TEST_F(StreamQueryTest, DeadlineInsideTheTransactionRollsBack) {
  exec::RequestContext context;
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
  exec::RequestContext context;
  context.cancelled = &cancelled;
  const std::string pid = Pid();
  bool saw_it_run = false;
  std::thread canceller([&] {
    // Raised once the sleep runs on the server (or a hung test gave up).
    testing::AdminConnection admin;
    saw_it_run = testing::WaitFor([&] {
      return admin.Column(
                 "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid +
                 " AND state = 'active' AND query LIKE "
                 "'%pg_sleep(10)%'") == std::vector<std::string>{"1"};
    });
    cancelled = true;
  });
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), {"SELECT pg_sleep(10)::text", {}},
                            {}, context, &sink);
  canceller.join();
  EXPECT_TRUE(saw_it_run);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled)
      << result.status();
  EXPECT_EQ(ServerState(), "idle");  // ended on the server, not left running
  EXPECT_TRUE(conn_->IsReusable());
  EXPECT_EQ(Rows(conn_->raw(), "SELECT 'ok'"), (std::vector<std::string>{"ok"}));
}

TEST_F(StreamQueryTest, StatementTimeoutIsDeadlineExceeded) {
  exec::RequestContext context;
  context.statement_timeout = absl::Milliseconds(200);
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), {"SELECT pg_sleep(10)::text", {}}, {},
                            context, &sink);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(std::string(result.status().message()),
            "query exceeded statement_timeout of 200ms on the server "
            "(SQLSTATE 57014)");
  EXPECT_EQ(SqlStateOf(result.status()), "57014");
  EXPECT_TRUE(
      result.status().GetPayload(exec::kQueryTimeoutPayloadUrl).has_value());
  EXPECT_TRUE(conn_->IsReusable());
  // SET LOCAL: the timeout is gone with the transaction (asked outside
  // StreamQuery, which would send the default statement_timeout).
  PGresult* r = PQexec(conn_->raw(), "SHOW statement_timeout");
  EXPECT_EQ(std::string(PQgetvalue(r, 0, 0)), "0");
  PQclear(r);
}

TEST_F(StreamQueryTest, ContextIsVisibleToTheQueryAndResetAfterIt) {
  exec::RequestContext context;
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
  exec::RequestContext context;
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
  exec::RequestContext context;
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
                           "app.a-b", "app.a..b", "pg.x", "jwt.sub", "role"}) {
    exec::RequestContext context;
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
  // No statement_timeout to send: only the statements under test use the
  // cache (the settings statement's own preparing is tested below).
  options.default_statement_timeout = absl::ZeroDuration();
  const std::string sql = "SELECT ($1::int * 2)::text";
  for (int i = 1; i <= 3; ++i) {
    CollectingSink sink;
    exec::RequestContext context;
    if (i == 2) context.tenant_id = "t";  // prepared inside a transaction too
    auto result = StreamQuery(conn_->raw(), {sql, {{absl::StrCat(i), "", false}}},
                              options, context, &sink);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(sink.rows, (std::vector<std::string>{absl::StrCat(i * 2)}));
  }
  // The statement, and the settings statement of the call with a tenant.
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT count(*)::text FROM pg_prepared_statements "
                 "WHERE statement = 'SELECT ($1::int * 2)::text'"),
            (std::vector<std::string>{"1"}));
  EXPECT_EQ(
      Rows(conn_->raw(), "SELECT count(*)::text FROM pg_prepared_statements"),
      (std::vector<std::string>{"2"}));
}

TEST_F(StreamQueryTest, PreparedStatementSurvivesAFailedTransaction) {
  StatementCache cache;
  StreamOptions options;
  options.statements = &cache;
  // No statement_timeout to send: only the statements under test use the
  // cache (the settings statement's own preparing is tested below).
  options.default_statement_timeout = absl::ZeroDuration();
  exec::RequestContext context;
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
  // The statement and the settings statement, each once.
  EXPECT_EQ(
      Rows(conn_->raw(), "SELECT count(*)::text FROM pg_prepared_statements"),
      (std::vector<std::string>{"2"}));
}

TEST_F(StreamQueryTest, EvictedStatementsAreDeallocated) {
  StatementCache cache(/*capacity=*/1);
  StreamOptions options;
  options.statements = &cache;
  // No statement_timeout to send: only the statements under test use the
  // cache (the settings statement's own preparing is tested below).
  options.default_statement_timeout = absl::ZeroDuration();
  for (const char* sql : {"SELECT 'a'", "SELECT 'b'", "SELECT 'c'",
                          "SELECT 'd'"}) {
    CollectingSink sink;
    ASSERT_TRUE(StreamQuery(conn_->raw(), {sql, {}}, options, {}, &sink).ok());
  }
  EXPECT_EQ(cache.size(), 1u);
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
  // No statement_timeout to send: only the statements under test use the
  // cache (the settings statement's own preparing is tested below).
  options.default_statement_timeout = absl::ZeroDuration();
  const std::string sql = "SELECT ($1::int * 3)::text";
  CollectingSink first;
  ASSERT_TRUE(StreamQuery(conn_->raw(), {sql, {{"1", "", false}}}, options, {},
                          &first)
                  .ok());
  Rows(conn_->raw(), "DEALLOCATE ALL");
  for (int i = 2; i <= 3; ++i) {
    CollectingSink sink;
    exec::RequestContext context;
    context.tenant_id = "t";
    auto result = StreamQuery(conn_->raw(), {sql, {{absl::StrCat(i), "", false}}},
                              options, context, &sink);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(sink.rows, (std::vector<std::string>{absl::StrCat(i * 3)}));
  }
  EXPECT_TRUE(cache.disabled());
  // (The settings statement parsed in the batch that found the statement
  // gone may stay; nothing is prepared after that.)
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT count(*)::text FROM pg_prepared_statements "
                 "WHERE statement NOT LIKE 'SELECT set_config(%'"),
            (std::vector<std::string>{"0"}));
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(StreamQueryTest, SettingsStatementIsPreparedOnceAndReused) {
  StatementCache cache;
  StreamOptions options;
  options.statements = &cache;  // the default statement_timeout is sent
  for (int i = 1; i <= 3; ++i) {
    CollectingSink sink;
    exec::RequestContext context;
    context.tenant_id = absl::StrCat("tenant-", i);
    auto result = StreamQuery(conn_->raw(),
                              {"SELECT current_setting('app.tenant_id')", {}},
                              options, context, &sink);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(sink.rows,
              (std::vector<std::string>{absl::StrCat("tenant-", i)}));
  }
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT count(*)::text FROM pg_prepared_statements "
                 "WHERE statement LIKE 'SELECT set_config(%'"),
            (std::vector<std::string>{"1"}));
}

// Batches (StreamBatch): several statements in one round trip, each with
// its own sink, and who owns the transaction they run in.

// Records every row of every statement in arrival order, tagged with the
// statement's label, so order across sinks is checked too.
class TaggedSink : public exec::RowSink {
 public:
  TaggedSink(std::string tag, std::vector<std::string>* log)
      : tag_(std::move(tag)), log_(log) {}
  absl::Status OnChunk(const exec::RowChunk& chunk) override {
    for (absl::string_view row : chunk.rows) {
      rows.emplace_back(row);
      log_->push_back(absl::StrCat(tag_, ":", row));
    }
    return absl::OkStatus();
  }
  std::vector<std::string> rows;

 private:
  std::string tag_;
  std::vector<std::string>* log_;
};

TEST_F(StreamQueryTest, BatchDeliversEachStatementsRowsToItsOwnSinkInOrder) {
  std::vector<std::string> log;
  TaggedSink a("a", &log), b("b", &log), c("c", &log);
  const exec::Plan first{"SELECT g::text FROM generate_series(1, $1::int) g",
                         {{"3", "", false}}};
  const exec::Plan second{"SELECT 'x' || g FROM generate_series(1, 2) g", {}};
  const exec::Plan third{"SELECT $1::text", {{"last", "", false}}};
  const exec::Statement statements[] = {
      {&first, &a}, {&second, &b}, {&third, &c}};
  auto result = StreamBatch(conn_->raw(), statements, {/*chunk_rows=*/2},
                            BatchOptions(), exec::RequestContext());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 6);
  EXPECT_EQ(a.rows, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(b.rows, (std::vector<std::string>{"x1", "x2"}));
  EXPECT_EQ(c.rows, (std::vector<std::string>{"last"}));
  EXPECT_EQ(log, (std::vector<std::string>{"a:1", "a:2", "a:3", "b:x1", "b:x2",
                                           "c:last"}));
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_IDLE);
  EXPECT_EQ(PQpipelineStatus(conn_->raw()), PQ_PIPELINE_OFF);
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(StreamQueryTest, BatchStatementWithoutSinkDiscardsItsRows) {
  std::vector<std::string> log;
  TaggedSink c("c", &log);
  const exec::Plan first{"SELECT g::text FROM generate_series(1, 5) g", {}};
  const exec::Plan second{"SELECT 'kept'", {}};
  const exec::Statement statements[] = {{&first, nullptr}, {&second, &c}};
  auto result = StreamBatch(conn_->raw(), statements, {}, BatchOptions(),
                            exec::RequestContext());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(log, (std::vector<std::string>{"c:kept"}));
}

TEST_F(StreamQueryTest, FailingStatementEndsTheBatchAndLeavesConnectionIdle) {
  std::vector<std::string> log;
  TaggedSink a("a", &log), b("b", &log), c("c", &log);
  const exec::Plan first{"SELECT 'one'", {}};
  const exec::Plan second{
      "SELECT (1 / (2 - g))::text FROM generate_series(1, 3) g", {}};
  const exec::Plan third{"SELECT 'three'", {}};
  const exec::Statement statements[] = {
      {&first, &a}, {&second, &b}, {&third, &c}};
  auto result = StreamBatch(conn_->raw(), statements, {}, BatchOptions(),
                            exec::RequestContext());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(result.status().message()),
            "query failed: division by zero (SQLSTATE 22012)");
  EXPECT_EQ(SqlStateOf(result.status()), "22012");
  EXPECT_EQ(a.rows, (std::vector<std::string>{"one"}));
  EXPECT_TRUE(c.rows.empty());
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_IDLE);
  EXPECT_EQ(PQpipelineStatus(conn_->raw()), PQ_PIPELINE_OFF);
  EXPECT_TRUE(conn_->IsReusable());
  EXPECT_EQ(Rows(conn_->raw(), "SELECT 'ok'"), (std::vector<std::string>{"ok"}));
}

TEST_F(StreamQueryTest, FailingStatementUndoesTheBatchsEarlierWrites) {
  testing::ScopedSchema schema("stream_batch_undo");
  const std::string table = schema.name() + ".t";
  schema.admin().Exec("CREATE TABLE " + table + " (v int)");
  const exec::Plan insert{
      "INSERT INTO " + table + " VALUES (1) RETURNING v::text", {}};
  const exec::Plan fail{"SELECT (1 / 0)::text", {}};
  const exec::Statement statements[] = {{&insert, nullptr}, {&fail, nullptr}};
  auto result = StreamBatch(conn_->raw(), statements, {}, BatchOptions(),
                            exec::RequestContext());
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(schema.admin().Column("SELECT count(*) FROM " + table),
            (std::vector<std::string>{"0"}));
}

TEST_F(StreamQueryTest, SeveralStatementsRunInOneRepeatableReadTransaction) {
  std::vector<std::string> log;
  TaggedSink a("a", &log), b("b", &log), c("c", &log);
  const exec::Plan txid{"SELECT txid_current()::text", {}};
  const exec::Plan isolation{"SELECT current_setting('transaction_isolation')",
                             {}};
  const exec::Statement statements[] = {
      {&txid, &a}, {&isolation, &b}, {&txid, &c}};
  auto result = StreamBatch(conn_->raw(), statements, {}, BatchOptions(),
                            exec::RequestContext());
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(c.rows, a.rows);
  EXPECT_EQ(b.rows, (std::vector<std::string>{"repeatable read"}));
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_IDLE);
  // Two batches are two transactions.
  CollectingSink again;
  ASSERT_TRUE(StreamQuery(conn_->raw(), txid, {}, &again).ok());
  EXPECT_NE(again.rows, a.rows);
}

// SAVEPOINT needs a transaction block (BEGIN): it fails in the implicit
// transaction of a pipeline, so it tells whether a statement was wrapped in
// BEGIN ... COMMIT. (VACUUM used to tell, but the request's prologue
// (RESET ALL, ...) now precedes every statement in the pipeline, and VACUUM
// refuses to run in a pipeline at all.)
TEST_F(StreamQueryTest, SingleStatementWithoutContextOpensNoTransaction) {
  const exec::Plan savepoint{"SAVEPOINT probe", {}};
  const exec::Statement statement{&savepoint, nullptr, /*prepare=*/false};
  StreamOptions options;  // the default statement_timeout needs no BEGIN
  auto alone = StreamBatch(conn_->raw(), absl::MakeConstSpan(&statement, 1),
                           options, BatchOptions(), exec::RequestContext());
  ASSERT_FALSE(alone.ok());
  EXPECT_EQ(SqlStateOf(alone.status()), "25P01") << alone.status();
  // Control: with context variables it runs in a transaction, and succeeds.
  exec::RequestContext context;
  context.tenant_id = "t";
  auto wrapped = StreamBatch(conn_->raw(), absl::MakeConstSpan(&statement, 1),
                             options, BatchOptions(), context);
  EXPECT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_IDLE);
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(StreamQueryTest, BeginLeavesTheTransactionOpenWithItsSettings) {
  testing::ScopedSchema schema("stream_begin");
  const std::string table = schema.name() + ".t";
  schema.admin().Exec("CREATE TABLE " + table + " (v text)");
  exec::RequestContext context;
  context.tenant_id = "tenant-9";
  BatchOptions begin;
  begin.transaction = TransactionControl::kBegin;
  begin.begin_sql = "BEGIN ISOLATION LEVEL SERIALIZABLE";
  const exec::Plan insert{
      "INSERT INTO " + table +
          " VALUES (current_setting('app.tenant_id')) RETURNING v",
      {}};
  const exec::Plan isolation{"SELECT current_setting('transaction_isolation')",
                             {}};
  std::vector<std::string> log;
  TaggedSink a("a", &log), b("b", &log);
  const exec::Statement statements[] = {{&insert, &a}, {&isolation, &b}};
  auto result = StreamBatch(conn_->raw(), statements, {}, begin, context);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(a.rows, (std::vector<std::string>{"tenant-9"}));
  EXPECT_EQ(b.rows, (std::vector<std::string>{"serializable"}));
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_INTRANS);
  // Not committed: another session sees nothing yet.
  EXPECT_EQ(schema.admin().Column("SELECT count(*) FROM " + table),
            (std::vector<std::string>{"0"}));

  // The next batch runs inside, still sees the settings, and commits.
  BatchOptions inside;
  inside.transaction = TransactionControl::kInside;
  const exec::Plan tenant{"SELECT current_setting('app.tenant_id')", {}};
  const exec::Plan commit{"COMMIT", {}};
  TaggedSink c("c", &log);
  const exec::Statement more[] = {{&tenant, &c}, {&commit, nullptr, false}};
  result = StreamBatch(conn_->raw(), more, {}, inside, exec::RequestContext());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(c.rows, (std::vector<std::string>{"tenant-9"}));
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_IDLE);
  EXPECT_EQ(schema.admin().Column("SELECT v FROM " + table),
            (std::vector<std::string>{"tenant-9"}));
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT coalesce(current_setting('app.tenant_id', true), '')"),
            (std::vector<std::string>{""}));
}

TEST_F(StreamQueryTest, BeginRollsBackOnFailure) {
  testing::ScopedSchema schema("stream_begin_fail");
  const std::string table = schema.name() + ".t";
  schema.admin().Exec("CREATE TABLE " + table + " (v int)");
  BatchOptions begin;
  begin.transaction = TransactionControl::kBegin;
  exec::RequestContext context;
  context.tenant_id = "t";
  const exec::Plan insert{"INSERT INTO " + table + " VALUES (1)", {}};
  const exec::Plan fail{"SELECT (1 / 0)::text", {}};
  const exec::Statement statements[] = {{&insert, nullptr}, {&fail, nullptr}};
  auto result = StreamBatch(conn_->raw(), statements, {}, begin, context);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(SqlStateOf(result.status()), "22012");
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_IDLE);
  EXPECT_TRUE(conn_->IsReusable());
  EXPECT_EQ(Rows(conn_->raw(), "SELECT count(*)::text FROM " + table),
            (std::vector<std::string>{"0"}));
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT coalesce(current_setting('app.tenant_id', true), '')"),
            (std::vector<std::string>{""}));
}

TEST_F(StreamQueryTest, InsideRefusesContextSettingsAndSendsNothing) {
  BatchOptions begin;
  begin.transaction = TransactionControl::kBegin;
  const exec::Plan one{"SELECT '1'", {}};
  const exec::Statement first[] = {{&one, nullptr}};
  ASSERT_TRUE(
      StreamBatch(conn_->raw(), first, {}, begin, exec::RequestContext()).ok());
  ASSERT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_INTRANS);

  BatchOptions inside;
  inside.transaction = TransactionControl::kInside;
  // A statement that would fail if it were sent: the transaction would
  // then be aborted.
  const exec::Plan fail{"SELECT (1 / 0)::text", {}};
  const exec::Statement statements[] = {{&fail, nullptr}};
  exec::RequestContext with_tenant;
  with_tenant.tenant_id = "t";
  exec::RequestContext with_variable;
  with_variable.variables["app.role"] = "r";
  exec::RequestContext with_timeout;
  with_timeout.statement_timeout = absl::Seconds(1);
  for (const exec::RequestContext* context :
       {&with_tenant, &with_variable, &with_timeout}) {
    auto result = StreamBatch(conn_->raw(), statements, {}, inside, *context);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << result.status();
    EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_INTRANS);
  }
  // The caller's transaction goes on.
  CollectingSink sink;
  const exec::Plan two{"SELECT '2'", {}};
  const exec::Statement next[] = {{&two, &sink}};
  ASSERT_TRUE(
      StreamBatch(conn_->raw(), next, {}, inside, exec::RequestContext()).ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"2"}));
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_INTRANS);
  Rows(conn_->raw(), "ROLLBACK");
}

TEST_F(StreamQueryTest, InsideLeavesTheTransactionAbortedOnFailure) {
  BatchOptions begin;
  begin.transaction = TransactionControl::kBegin;
  const exec::Plan one{"SELECT '1'", {}};
  const exec::Statement first[] = {{&one, nullptr}};
  ASSERT_TRUE(
      StreamBatch(conn_->raw(), first, {}, begin, exec::RequestContext()).ok());
  BatchOptions inside;
  inside.transaction = TransactionControl::kInside;
  const exec::Plan fail{"SELECT (1 / 0)::text", {}};
  CollectingSink after;
  const exec::Plan later{"SELECT 'later'", {}};
  const exec::Statement statements[] = {{&fail, nullptr}, {&later, &after}};
  auto result =
      StreamBatch(conn_->raw(), statements, {}, inside, exec::RequestContext());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(SqlStateOf(result.status()), "22012");
  EXPECT_TRUE(after.rows.empty());
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_INERROR);
  // Left for the caller to roll back.
  const exec::Plan rollback{"ROLLBACK", {}};
  const exec::Statement end[] = {{&rollback, nullptr, false}};
  ASSERT_TRUE(
      StreamBatch(conn_->raw(), end, {}, inside, exec::RequestContext()).ok());
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_IDLE);
  EXPECT_EQ(Rows(conn_->raw(), "SELECT 'ok'"), (std::vector<std::string>{"ok"}));
}

TEST_F(StreamQueryTest, SameStatementTwiceInOneBatchIsParsedOnce) {
  StatementCache cache;
  StreamOptions options;
  options.statements = &cache;
  // No statement_timeout to send: only the statements under test use the
  // cache (the settings statement's own preparing is tested below).
  options.default_statement_timeout = absl::ZeroDuration();
  const std::string sql = "SELECT ($1::int * 7)::text";
  const exec::Plan two{sql, {{"2", "", false}}};
  const exec::Plan three{sql, {{"3", "", false}}};
  std::vector<std::string> log;
  TaggedSink a("a", &log), b("b", &log);
  const exec::Statement statements[] = {{&two, &a}, {&three, &b}};
  auto result = StreamBatch(conn_->raw(), statements, options, BatchOptions(),
                            exec::RequestContext());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(log, (std::vector<std::string>{"a:14", "b:21"}));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT count(*)::text FROM pg_prepared_statements "
                 "WHERE statement = 'SELECT ($1::int * 7)::text'"),
            (std::vector<std::string>{"1"}));
  // Run by name the next time.
  result = StreamBatch(conn_->raw(), statements, options, BatchOptions(),
                       exec::RequestContext());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(log.size(), 4u);
  EXPECT_EQ(log[3], "b:21");
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT count(*)::text FROM pg_prepared_statements"),
            (std::vector<std::string>{"1"}));
}

TEST_F(StreamQueryTest, StatementNotPreparedWhenItAsksNot) {
  StatementCache cache;
  StreamOptions options;
  options.statements = &cache;
  // No statement_timeout to send: only the statements under test use the
  // cache (the settings statement's own preparing is tested below).
  options.default_statement_timeout = absl::ZeroDuration();
  const exec::Plan plan{"SELECT 'unprepared'", {}};
  CollectingSink sink;
  const exec::Statement statements[] = {{&plan, &sink, /*prepare=*/false}};
  ASSERT_TRUE(StreamBatch(conn_->raw(), statements, options, BatchOptions(),
                          exec::RequestContext())
                  .ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"unprepared"}));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(Rows(conn_->raw(),
                 "SELECT count(*)::text FROM pg_prepared_statements"),
            (std::vector<std::string>{"0"}));
}

TEST_F(StreamQueryTest, SinkFailureInTheFirstStatementSkipsTheRest) {
  CollectingSink a;
  a.fail_after = 2;
  std::vector<std::string> log;
  TaggedSink b("b", &log);
  const exec::Plan big{"SELECT g::text FROM generate_series(1, 10000000) g",
                       {}};
  const exec::Plan small{"SELECT 'b'", {}};
  const exec::Statement statements[] = {{&big, &a}, {&small, &b}};
  auto result = StreamBatch(conn_->raw(), statements, {/*chunk_rows=*/2},
                            BatchOptions(), exec::RequestContext());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(std::string(result.status().message()), "consumer gave up");
  EXPECT_EQ(a.rows.size(), 2u);
  EXPECT_TRUE(b.rows.empty());
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_IDLE);
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(StreamQueryTest, BatchStatementWithoutPlanIsInvalidArgument) {
  const exec::Statement statements[] = {{nullptr, nullptr}};
  auto result = StreamBatch(conn_->raw(), statements, {}, BatchOptions(),
                            exec::RequestContext());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(conn_->IsReusable());
}

// An evicted name the session no longer has (PgBouncer, DISCARD ALL) must
// not be deallocated inside a caller's transaction: the failing DEALLOCATE
// would abort it behind the caller's back, and the server answers a later
// COMMIT with ROLLBACK. It is deallocated after the next kAuto batch.
TEST_F(StreamQueryTest, EvictedStatementsWaitForABatchThatOwnsItsTransaction) {
  testing::ScopedSchema schema("dealloc_in_tx");
  const std::string table = schema.name() + ".t";
  schema.admin().Exec("CREATE TABLE " + table + " (v text)");
  StatementCache cache(/*capacity=*/1);
  StreamOptions options;
  options.statements = &cache;
  // No statement_timeout to send: only the statements under test use the
  // cache (the settings statement's own preparing is tested below).
  options.default_statement_timeout = absl::ZeroDuration();
  for (const char* sql : {"SELECT 'a'", "SELECT 'b'"}) {
    CollectingSink sink;
    ASSERT_TRUE(StreamQuery(conn_->raw(), {sql, {}}, options, {}, &sink).ok());
  }
  // 'a' was evicted and waits for DEALLOCATE; the session forgets it.
  CollectingSink discard;
  ASSERT_TRUE(StreamQuery(conn_->raw(), {"DEALLOCATE ALL", {}},
                          StreamOptions(), {}, &discard)
                  .ok());
  BatchOptions begin;
  begin.transaction = TransactionControl::kBegin;
  begin.keep_open_on_error = true;
  const exec::Plan insert{"INSERT INTO " + table + " VALUES ('x') RETURNING v",
                          {}};
  CollectingSink rows;
  const exec::Statement statements[] = {{&insert, &rows}};
  auto result = StreamBatch(conn_->raw(), statements, options, begin,
                            exec::RequestContext());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(rows.rows, (std::vector<std::string>{"x"}));
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_INTRANS);
  BatchOptions inside;
  inside.transaction = TransactionControl::kInside;
  const exec::Plan commit{"COMMIT", {}};
  const exec::Statement end[] = {{&commit, nullptr, /*prepare=*/false}};
  ASSERT_TRUE(
      StreamBatch(conn_->raw(), end, options, inside, exec::RequestContext())
          .ok());
  EXPECT_EQ(schema.admin().Column("SELECT count(*) FROM " + table),
            (std::vector<std::string>{"1"}));
  // The next batch of its own sends the DEALLOCATE; its failure (the name
  // is gone) changes nothing for that batch.
  CollectingSink after;
  EXPECT_TRUE(StreamQuery(conn_->raw(), {"SELECT 'c'", {}}, options, {}, &after)
                  .ok());
  EXPECT_EQ(after.rows, (std::vector<std::string>{"c"}));
  EXPECT_TRUE(conn_->IsReusable());
}

// --- Issue 9: NUL bytes, session state, timeouts ---

// libpq sends a text parameter up to its first NUL: "acme\0evil" would run
// as 'acme'. Such a batch is refused before anything is sent.
TEST_F(StreamQueryTest, NulInAParameterIsRefusedBeforeAnythingIsSent) {
  testing::ScopedSchema schema("stream_nul");
  const std::string table = schema.name() + ".t";
  schema.admin().Exec("CREATE TABLE " + table + " (v text)");
  const exec::Plan insert{"INSERT INTO " + table + " VALUES ($1)",
                          {{"first", "", false}}};
  const exec::Plan select{"SELECT $1::text || $2::text || $3::text",
                          {{"a", "", false},
                           {"", "", true},
                           {std::string("acme\0evil", 9), "", false}}};
  CollectingSink sink;
  const exec::Statement statements[] = {{&insert, nullptr}, {&select, &sink}};
  auto result = StreamBatch(conn_->raw(), statements, {}, BatchOptions(),
                            exec::RequestContext());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(result.status().message()),
            "invalid parameter $3 of statement 2 of the batch: text contains "
            "a NUL byte");
  EXPECT_TRUE(sink.rows.empty());
  EXPECT_EQ(schema.admin().Column("SELECT count(*) FROM " + table),
            (std::vector<std::string>{"0"}));
  // One statement: no batch position in the message.
  auto alone = StreamQuery(conn_->raw(), select, {}, &sink);
  EXPECT_EQ(std::string(alone.status().message()),
            "invalid parameter $3: text contains a NUL byte");
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(StreamQueryTest, NulInAContextValueOrNameIsRefused) {
  const std::string evil("acme\0evil", 9);
  std::vector<std::pair<exec::RequestContext, std::string>> cases;
  {
    exec::RequestContext c;
    c.tenant_id = evil;
    cases.push_back({c, "invalid context value app.tenant_id: contains a NUL byte"});
  }
  {
    exec::RequestContext c;
    c.user_id = evil;
    cases.push_back({c, "invalid context value app.user_id: contains a NUL byte"});
  }
  {
    exec::RequestContext c;
    c.variables["app.locale"] = evil;
    cases.push_back({c, "invalid context value app.locale: contains a NUL byte"});
  }
  {
    exec::RequestContext c;
    c.variables[std::string("app.a\0b", 7)] = "v";
    cases.push_back({c, "invalid context variable name: contains a NUL byte"});
  }
  for (const auto& [context, message] : cases) {
    EXPECT_EQ(std::string(exec::ValidateRequestContext(context).message()),
              message);
    CollectingSink sink;
    auto result = StreamQuery(
        conn_->raw(),
        {"SELECT coalesce(current_setting('app.tenant_id', true), '')", {}}, {},
        context, &sink);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << message;
    EXPECT_EQ(std::string(result.status().message()), message);
    EXPECT_TRUE(sink.rows.empty());
  }
  EXPECT_TRUE(conn_->IsReusable());
}

// What one call sets at session level (set_config(..., false), SET ROLE,
// SET search_path, SET TimeZone) never reaches the next call: every batch
// that owns its transaction starts with RESET ALL, RESET SESSION
// AUTHORIZATION and RESET ROLE.
TEST_F(StreamQueryTest, SessionStateOfOneCallDoesNotReachTheNext) {
  testing::ScopedSchema schema("stream_session");
  const std::string role = schema.name() + "_role";
  schema.admin().Exec("DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role +
                      "; GRANT " + role + " TO CURRENT_USER");
  const std::string probe =
      "SELECT concat_ws('|', coalesce(current_setting('app.tenant_id', true), "
      "''), current_user, current_setting('search_path'), "
      "current_setting('TimeZone'), current_setting('statement_timeout'))";
  const std::string clean = Rows(conn_->raw(), probe).at(0);
  const exec::Plan poison{
      "SELECT concat_ws(',', set_config('app.tenant_id', 'A', false), "
      "set_config('role', '" +
          role +
          "', false), "
          "set_config('search_path', 'pg_catalog', false), "
          "set_config('TimeZone', 'Asia/Tokyo', false), "
          "set_config('statement_timeout', '12345ms', false))",
      {}};
  for (bool with_context : {false, true}) {
    exec::RequestContext context;
    if (with_context) context.user_id = "u";
    CollectingSink sink;
    ASSERT_TRUE(StreamQuery(conn_->raw(), poison, {}, context, &sink).ok());
    EXPECT_EQ(Rows(conn_->raw(), probe), (std::vector<std::string>{clean}))
        << "with context: " << with_context;
    CollectingSink probed;
    ASSERT_TRUE(StreamQuery(conn_->raw(), {probe, {}}, {}, context, &probed).ok());
    EXPECT_EQ(probed.rows, (std::vector<std::string>{clean}));
  }
  schema.admin().Exec("DROP ROLE " + role);
}

// A call that fails rolls its own RESET back with its transaction: the
// failure cleanup resets the session again, so what the previous caller
// left (here default_transaction_read_only, which the failing call's own
// transaction already started with) is gone for the one after.
TEST_F(StreamQueryTest, AFailedCallStillLeavesTheSessionReset) {
  testing::ScopedSchema schema("stream_session_fail");
  const std::string table = schema.name() + ".t";
  schema.admin().Exec("CREATE TABLE " + table + " (v int)");
  CollectingSink sink;
  ASSERT_TRUE(StreamQuery(conn_->raw(),
                          {"SELECT set_config('default_transaction_read_only', "
                           "'on', false)",
                           {}},
                          {}, &sink)
                  .ok());
  const exec::Plan insert{"INSERT INTO " + table + " VALUES (1)", {}};
  auto failed = StreamQuery(conn_->raw(), insert, {}, &sink);
  EXPECT_EQ(SqlStateOf(failed.status()), "25006") << failed.status();
  // Checked outside StreamQuery, whose prologue would hide a leftover.
  PGresult* r = PQexec(conn_->raw(), "SHOW default_transaction_read_only");
  EXPECT_EQ(std::string(PQgetvalue(r, 0, 0)), "off");
  PQclear(r);
  EXPECT_TRUE(StreamQuery(conn_->raw(), insert, {}, &sink).ok());
  EXPECT_TRUE(conn_->IsReusable());
}

// The default statement_timeout applies to a call with none of its own, in
// the pipeline's implicit transaction (no BEGIN), and is gone after it.
TEST_F(StreamQueryTest, DefaultStatementTimeoutAppliesWithoutATransaction) {
  StreamOptions options;
  options.default_statement_timeout = absl::Milliseconds(200);
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), {"SELECT pg_sleep(10)::text", {}},
                            options, &sink);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(std::string(result.status().message()),
            "query exceeded statement_timeout of 200ms on the server "
            "(SQLSTATE 57014)");
  EXPECT_TRUE(
      result.status().GetPayload(exec::kQueryTimeoutPayloadUrl).has_value());
  // Local to the request: seen by its statements, gone after its Sync.
  const exec::Plan show{"SELECT current_setting('statement_timeout')", {}};
  CollectingSink seen;
  ASSERT_TRUE(StreamQuery(conn_->raw(), show, options, &seen).ok());
  EXPECT_EQ(seen.rows, (std::vector<std::string>{"200ms"}));
  PGresult* r = PQexec(conn_->raw(), "SHOW statement_timeout");
  EXPECT_EQ(std::string(PQgetvalue(r, 0, 0)), "0");
  PQclear(r);
  EXPECT_EQ(PQtransactionStatus(conn_->raw()), PQTRANS_IDLE);
}

std::string EffectiveTimeout(PGconn* conn, absl::Duration call,
                             absl::Duration default_timeout,
                             absl::Duration pool) {
  StreamOptions options;
  options.default_statement_timeout = default_timeout;
  options.session_statement_timeout = pool;
  exec::RequestContext context;
  context.statement_timeout = call;
  CollectingSink sink;
  auto result = StreamQuery(
      conn, {"SELECT current_setting('statement_timeout')", {}}, options,
      context, &sink);
  EXPECT_TRUE(result.ok()) << result.status();
  return sink.rows.empty() ? "<none>" : sink.rows[0];
}

// The call's own timeout, else the smaller nonzero of the default and the
// pool's, always sent in the request (PgBouncer drops the pool's startup
// options); none of them: the session's.
TEST_F(StreamQueryTest, EffectiveStatementTimeoutFollowsTheDocumentedRule) {
  const absl::Duration zero = absl::ZeroDuration();
  PGconn* c = conn_->raw();
  EXPECT_EQ(EffectiveTimeout(c, absl::Seconds(60), absl::Seconds(30),
                             absl::Seconds(5)),
            "1min");
  EXPECT_EQ(EffectiveTimeout(c, zero, absl::Seconds(30), absl::Seconds(5)),
            "5s");
  EXPECT_EQ(EffectiveTimeout(c, zero, absl::Seconds(3), absl::Seconds(5)),
            "3s");
  EXPECT_EQ(EffectiveTimeout(c, zero, zero, absl::Seconds(5)), "5s");
  EXPECT_EQ(EffectiveTimeout(c, zero, absl::Seconds(30), zero), "30s");
  EXPECT_EQ(EffectiveTimeout(c, zero, zero, zero), "0");
  EXPECT_EQ(StreamOptions().default_statement_timeout, absl::Seconds(30));
}

// The pool's statement_timeout, sent per request, fires even on a session
// that does not carry it (as behind PgBouncer), and is reported as ours.
TEST_F(StreamQueryTest, PoolStatementTimeoutAppliesPerRequest) {
  StreamOptions options;
  options.default_statement_timeout = absl::ZeroDuration();
  options.session_statement_timeout = absl::Milliseconds(150);
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), {"SELECT pg_sleep(10)::text", {}},
                            options, &sink);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded)
      << result.status();
  EXPECT_EQ(std::string(result.status().message()),
            "query exceeded statement_timeout of 150ms on the server "
            "(SQLSTATE 57014)");
}

// A 57014 from pg_cancel_backend is not our timeout, although a default
// statement_timeout now always applies.
TEST_F(StreamQueryTest, ServerSideCancelIsCancelledNotATimeout) {
  PGresult* r = PQexec(conn_->raw(), "SELECT pg_backend_pid()");
  const std::string pid = PQgetvalue(r, 0, 0);
  PQclear(r);
  std::atomic<bool> done{false};
  std::thread canceller([&] {
    testing::AdminConnection admin;
    // Until the sleep runs (then it is cancelled) or the call ended.
    while (!done && admin.Column("SELECT count(*) FROM pg_stat_activity "
                                 "WHERE pid = " + pid +
                                 " AND query LIKE '%pg_sleep%' AND state = "
                                 "'active'") != std::vector<std::string>{"1"}) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    admin.Column("SELECT pg_cancel_backend(" + pid + ")::text");
  });
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), {"SELECT pg_sleep(20)::text", {}},
                            StreamOptions(), &sink);
  done = true;
  canceller.join();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled)
      << result.status();
  EXPECT_FALSE(
      result.status().GetPayload(exec::kQueryTimeoutPayloadUrl).has_value());
  EXPECT_TRUE(conn_->IsReusable());
}

// statement_timeout takes 1..2147483647 ms: longer (or infinite) timeouts
// are clamped, never a server error; an infinite deadline is no deadline.
TEST_F(StreamQueryTest, HugeOrInfiniteTimeoutsAreClamped) {
  for (absl::Duration timeout :
       {absl::Hours(24 * 30), absl::Hours(24 * 365 * 1000),
        absl::InfiniteDuration()}) {
    exec::RequestContext context;
    context.statement_timeout = timeout;
    context.deadline = absl::Now() + timeout;  // InfiniteFuture when infinite
    CollectingSink sink;
    auto result = StreamQuery(
        conn_->raw(), {"SELECT current_setting('statement_timeout')", {}}, {},
        context, &sink);
    ASSERT_TRUE(result.ok()) << absl::FormatDuration(timeout) << ": "
                             << result.status();
    EXPECT_EQ(sink.rows, (std::vector<std::string>{"2147483647ms"}));
  }
  exec::RequestContext tiny;
  tiny.statement_timeout = absl::Microseconds(10);
  CollectingSink sink;
  ASSERT_TRUE(StreamQuery(conn_->raw(),
                          {"SELECT current_setting('statement_timeout')", {}},
                          {}, tiny, &sink)
                  .ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"1ms"}));
  StreamOptions options;
  options.default_statement_timeout = absl::InfiniteDuration();
  sink.rows.clear();
  ASSERT_TRUE(StreamQuery(conn_->raw(),
                          {"SELECT current_setting('statement_timeout')", {}},
                          options, &sink)
                  .ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"2147483647ms"}));
}

// Server messages of any class lose whatever they quote: the user's input.
TEST_F(StreamQueryTest, ServerMessagesWithholdEveryQuotedSpan) {
  // The server does not escape quotes inside what it quotes: the input
  // below yields `"Secret/Zone & "x" ("`, so quotes cannot be paired.
  const std::string secret = "Secret/Zone & \"x\" (";
  struct Case {
    std::string sql;
    std::string value;
    std::string message;
  };
  const Case cases[] = {
      {"SELECT (now() AT TIME ZONE $1::text)::text", secret,
       "query failed: time zone (value withheld) not recognized (SQLSTATE "
       "22023)"},
      {"SELECT to_tsquery('simple', $1::text)::text", secret,
       "query failed: syntax error in tsquery (value withheld) (SQLSTATE "
       "42601)"},
      {"SELECT $1::uuid::text", secret,
       "query failed: invalid input syntax for type uuid (value withheld) "
       "(SQLSTATE 22P02)"},
      {"SELECT ('{}'::jsonb @? $1::jsonpath)::text", "$ ! Secret",
       "query failed: syntax error at or near (value withheld) of jsonpath "
       "input (SQLSTATE 42601)"},
      {"SELECT current_setting($1::text)", "Secret.x\"y",
       "query failed: unrecognized configuration parameter (value withheld) "
       "(SQLSTATE 42704)"},
  };
  for (const Case& c : cases) {
    CollectingSink sink;
    auto result =
        StreamQuery(conn_->raw(), {c.sql, {{c.value, "", false}}}, {}, &sink);
    ASSERT_FALSE(result.ok()) << c.sql;
    EXPECT_EQ(std::string(result.status().message()), c.message) << c.sql;
    EXPECT_FALSE(absl::StrContains(result.status().message(), "Secret"));
    EXPECT_FALSE(absl::StrContains(result.status().message(), "!"));
  }
}

// --- Issue 11: setting names beyond app.*, and the role ---

TEST_F(StreamQueryTest, VariablesOfEveryAllowedPrefixAreVisibleAndResetAfter) {
  exec::RequestContext context;
  context.variables["app.a.b"] = "1";
  context.variables["fraiseql.user_role"] = "2";
  context.variables["jwt.claims.sub"] = "o'reilly\"; --";
  const std::string probe =
      "SELECT concat_ws('|', current_setting('app.a.b', true), "
      "current_setting('fraiseql.user_role', true), "
      "current_setting('jwt.claims.sub', true))";
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(), {probe, {}}, {}, context, &sink);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"1|2|o'reilly\"; --"}));
  EXPECT_EQ(Rows(conn_->raw(), probe), (std::vector<std::string>{"||"}));
}

// A role made by the test, granted to the test's user so that it may SET
// ROLE to it, dropped at the end.
class RoleTest : public StreamQueryTest {
 protected:
  void SetUp() override {
    StreamQueryTest::SetUp();
    role_ = schema_.name() + "_reader";
    schema_.admin().Exec("DROP ROLE IF EXISTS " + role_ + "; CREATE ROLE " +
                         role_ + " NOLOGIN; GRANT " + role_ +
                         " TO CURRENT_USER");
    // Only the session's own user may read it.
    schema_.admin().Exec("CREATE TABLE " + schema_.name() +
                         ".secret (v text); INSERT INTO " + schema_.name() +
                         ".secret VALUES ('s')");
    own_ = Rows(conn_->raw(), "SELECT current_user::text").at(0);
  }
  void TearDown() override {
    schema_.admin().Exec("DROP TABLE " + schema_.name() + ".secret");
    schema_.admin().Exec("DROP ROLE " + role_);
  }
  // current_user as the session sees it between calls (not through
  // StreamQuery, whose prologue would reset a leftover role).
  std::string SessionUser() {
    PGresult* r = PQexec(conn_->raw(), "SELECT current_user");
    std::string user = PQgetvalue(r, 0, 0);
    PQclear(r);
    return user;
  }

  testing::ScopedSchema schema_{"stream_role"};
  std::string role_;
  std::string own_;
};

TEST_F(RoleTest, RoleIsTheCurrentUserOfTheStatementAndEndsWithIt) {
  exec::RequestContext context;
  context.role = role_;
  context.tenant_id = "t1";
  CollectingSink sink;
  auto result = StreamQuery(
      conn_->raw(),
      {"SELECT current_user || '|' || current_setting('app.tenant_id')", {}},
      {}, context, &sink);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(sink.rows, (std::vector<std::string>{role_ + "|t1"}));
  EXPECT_NE(role_, own_);
  // SET LOCAL: back to the connection's own role after the call.
  EXPECT_EQ(SessionUser(), own_);
  EXPECT_EQ(Rows(conn_->raw(), "SELECT current_user::text"),
            (std::vector<std::string>{own_}));
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(RoleTest, RolesPrivilegesApplyToTheStatement) {
  exec::RequestContext context;
  context.role = role_;
  CollectingSink sink;
  auto result = StreamQuery(conn_->raw(),
                            {"SELECT v FROM " + schema_.name() + ".secret", {}},
                            {}, context, &sink);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied)
      << result.status();
  EXPECT_EQ(SqlStateOf(result.status()), "42501");
  EXPECT_TRUE(sink.rows.empty());
  EXPECT_EQ(SessionUser(), own_);
  EXPECT_TRUE(conn_->IsReusable());
  // The connection's own user still reads it.
  EXPECT_EQ(Rows(conn_->raw(), "SELECT v FROM " + schema_.name() + ".secret"),
            (std::vector<std::string>{"s"}));
}

TEST_F(RoleTest, UnknownRoleIsInvalidArgumentWithItsNameWithheld) {
  exec::RequestContext context;
  context.role = "no_such_role_" + schema_.name();
  CollectingSink sink;
  auto result =
      StreamQuery(conn_->raw(), {"SELECT 'ran'", {}}, {}, context, &sink);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
      << result.status();
  EXPECT_EQ(SqlStateOf(result.status()), "22023");
  EXPECT_FALSE(absl::StrContains(result.status().message(), "no_such_role"))
      << result.status();
  EXPECT_TRUE(sink.rows.empty());
  EXPECT_EQ(SessionUser(), own_);
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(RoleTest, RoleHoldsForTheWholeBegunTransaction) {
  BatchOptions begin;
  begin.transaction = TransactionControl::kBegin;
  exec::RequestContext context;
  context.role = role_;
  const exec::Plan who{"SELECT current_user::text", {}};
  CollectingSink first;
  const exec::Statement statements[] = {{&who, &first}};
  ASSERT_TRUE(StreamBatch(conn_->raw(), statements, {}, begin, context).ok());
  EXPECT_EQ(first.rows, (std::vector<std::string>{role_}));
  BatchOptions inside;
  inside.transaction = TransactionControl::kInside;
  // Inside, the role cannot be given again.
  CollectingSink refused;
  const exec::Statement again[] = {{&who, &refused}};
  EXPECT_EQ(
      StreamBatch(conn_->raw(), again, {}, inside, context).status().code(),
      absl::StatusCode::kInvalidArgument);
  CollectingSink second;
  const exec::Plan commit{"COMMIT", {}};
  const exec::Statement more[] = {{&who, &second}, {&commit, nullptr, false}};
  ASSERT_TRUE(
      StreamBatch(conn_->raw(), more, {}, inside, exec::RequestContext()).ok());
  EXPECT_EQ(second.rows, (std::vector<std::string>{role_}));
  EXPECT_EQ(SessionUser(), own_);
}

TEST_F(StreamQueryTest, InvalidRoleIsRefusedBeforeAnythingIsSent) {
  for (const std::string& role :
       {std::string(), std::string(64, 'r'), std::string("a\0b", 3)}) {
    exec::RequestContext context;
    context.role = role;
    CollectingSink sink;
    auto result =
        StreamQuery(conn_->raw(), {"SELECT 'ran'", {}}, {}, context, &sink);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(
        absl::StartsWith(result.status().message(), "invalid context role: "))
        << result.status();
    EXPECT_TRUE(sink.rows.empty());
  }
  EXPECT_TRUE(conn_->IsReusable());
}

}  // namespace
}  // namespace fraiseql::stream
