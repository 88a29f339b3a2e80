#include "plugins/backends/native/native_backend.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/postgres_fixture.h"

namespace fraiseql::plugins {
namespace {

class Collect : public stream::RowSink {
 public:
  absl::Status OnChunk(const stream::RowChunk& chunk) override {
    for (auto row : chunk.rows) rows.emplace_back(row);
    return absl::OkStatus();
  }
  std::vector<std::string> rows;
};

std::shared_ptr<pool::Pool> MakePool(int max_size) {
  pool::PoolOptions options;
  options.connection.conninfo = testing::DatabaseUrl();
  options.max_size = max_size;
  options.acquire_timeout = absl::Seconds(2);
  auto pool = pool::Pool::Create(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return *pool;
}

TEST(NativeBackend, RunsPlanWithTypedParameters) {
  auto pool = MakePool(1);
  NativeBackend backend(pool, {/*chunk_rows=*/2});
  EXPECT_EQ(backend.name(), "backend.native");
  // '9' < '10' as text but not as numbers: the cast in the SQL decides.
  planner::Plan plan{
      "SELECT v::text FROM (VALUES (9), (10), (11)) AS t(v) "
      "WHERE v::numeric > $1::numeric ORDER BY v",
      {{"9", "numeric", false}}};
  Collect sink;
  ASSERT_TRUE(backend.Execute(plan, &sink).ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"10", "11"}));
  EXPECT_EQ(pool->Stats().in_use, 0);
}

TEST(NativeBackend, FailedQueryLeavesPoolHealthy) {
  auto pool = MakePool(1);
  NativeBackend backend(pool);
  Collect sink;
  absl::Status status =
      backend.Execute({"SELECT * FROM no_such_table_xyz", {}}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(status.message()),
            "query failed: relation \"no_such_table_xyz\" does not exist "
            "(SQLSTATE 42P01)");
  // The only connection is back and usable.
  ASSERT_TRUE(backend.Execute({"SELECT 'ok'", {}}, &sink).ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"ok"}));
  EXPECT_EQ(pool->Stats().size, 1);
}

// The one value `sql` returns, run through `backend` without context.
std::string One(NativeBackend& backend, const std::string& sql) {
  Collect sink;
  absl::Status status = backend.Execute({sql, {}}, &sink);
  EXPECT_TRUE(status.ok()) << status;
  return sink.rows.empty() ? "<none>" : sink.rows[0];
}

TEST(NativeBackend, DeadlineCancelsAndLeavesPoolHealthy) {
  auto pool = MakePool(1);
  NativeBackend backend(pool);
  stream::RequestContext context;
  context.deadline = absl::Now() + absl::Milliseconds(300);
  Collect sink;
  const absl::Time start = absl::Now();
  absl::Status status =
      backend.Execute({"SELECT pg_sleep(10)::text", {}}, context, &sink);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_EQ(pool->Stats().in_use, 0);
  EXPECT_EQ(One(backend, "SELECT 'ok'"), "ok");
  EXPECT_EQ(pool->Stats().in_use, 0);
}

TEST(NativeBackend, StatementTimeoutIsDeadlineExceeded) {
  auto pool = MakePool(1);
  NativeBackend backend(pool);
  stream::RequestContext context;
  context.statement_timeout = absl::Milliseconds(200);
  Collect sink;
  absl::Status status =
      backend.Execute({"SELECT pg_sleep(10)::text", {}}, context, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_EQ(One(backend, "SHOW statement_timeout"), "0");
}

// Two users of one connection (max_size=1 forces it): the first user's
// tenant is visible to its statement and to no later one.
TEST(NativeBackend, ContextNeverLeaksBetweenTwoUsersOfOneConnection) {
  auto pool = MakePool(1);
  NativeBackend backend(pool);
  const std::string pid = One(backend, "SELECT pg_backend_pid()::text");
  const std::string sql =
      "SELECT coalesce(current_setting('app.tenant_id', true), '<unset>') || "
      "'/' || pg_backend_pid()";
  stream::RequestContext alice;
  alice.tenant_id = "alice";
  Collect first;
  ASSERT_TRUE(backend.Execute({sql, {}}, alice, &first).ok());
  EXPECT_EQ(first.rows, (std::vector<std::string>{"alice/" + pid}));
  // The next user, without context, on the same backend process.
  const std::string seen = One(backend, sql);
  EXPECT_TRUE(seen == "/" + pid || seen == "<unset>/" + pid) << seen;
  stream::RequestContext bob;
  bob.tenant_id = "bob";
  Collect second;
  ASSERT_TRUE(backend.Execute({sql, {}}, bob, &second).ok());
  EXPECT_EQ(second.rows, (std::vector<std::string>{"bob/" + pid}));
}

TEST(NativeBackend, ErrorInsideTheContextTransactionLeavesConnectionIdle) {
  auto pool = MakePool(1);
  NativeBackend backend(pool);
  stream::RequestContext context;
  context.tenant_id = "t";
  Collect sink;
  absl::Status status =
      backend.Execute({"SELECT * FROM no_such_table_xyz", {}}, context, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(One(backend, "SELECT 'ok'"), "ok");
  EXPECT_EQ(pool->Stats().size, 1);
  EXPECT_EQ(pool->Stats().closed, 0);
}

TEST(NativeBackend, PreparesEachShapeOncePerConnection) {
  auto pool = MakePool(1);
  NativeBackend backend(pool);
  ASSERT_NE(backend.statement_cache(), nullptr);
  const std::string sql = "SELECT ($1::int + 1)::text";
  for (int i = 0; i < 3; ++i) {
    Collect sink;
    ASSERT_TRUE(
        backend.Execute({sql, {{absl::StrCat(i), "int", false}}}, &sink).ok());
    EXPECT_EQ(sink.rows, (std::vector<std::string>{absl::StrCat(i + 1)}));
  }
  // The check itself is a prepared statement too.
  EXPECT_EQ(One(backend,
                "SELECT string_agg(statement, ',' ORDER BY statement) FROM "
                "pg_prepared_statements WHERE statement LIKE 'SELECT ($1%'"),
            sql);
}

TEST(NativeBackend, PgBouncerModePreparesNothing) {
  auto pool = MakePool(1);
  NativeBackendOptions options;
  options.pgbouncer = true;
  NativeBackend backend(pool, options);
  EXPECT_EQ(backend.statement_cache(), nullptr);
  stream::RequestContext context;
  context.tenant_id = "t";
  Collect sink;
  ASSERT_TRUE(backend
                  .Execute({"SELECT current_setting('app.tenant_id')", {}},
                           context, &sink)
                  .ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"t"}));
  EXPECT_EQ(One(backend, "SELECT count(*)::text FROM pg_prepared_statements"),
            "0");
}

}  // namespace
}  // namespace fraiseql::plugins
