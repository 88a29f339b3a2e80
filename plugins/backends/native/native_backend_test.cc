#include "plugins/backends/native/native_backend.h"

#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/pg_status.h"
#include "gtest/gtest.h"
#include "tests/postgres_fixture.h"

namespace fraiseql::plugins {
namespace {

class Collect : public exec::RowSink {
 public:
  absl::Status OnChunk(const exec::RowChunk& chunk) override {
    for (auto row : chunk.rows) rows.emplace_back(row);
    return absl::OkStatus();
  }
  std::vector<std::string> rows;
};

std::shared_ptr<pool::Pool> MakePool(int max_size) {
  pool::PoolOptions options = testing::TestPoolOptions(max_size);
  options.acquire_timeout = testing::kHungTestDeadline;
  auto pool = pool::Pool::Create(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return *pool;
}

TEST(NativeBackend, RunsPlanWithTypedParameters) {
  auto pool = MakePool(1);
  NativeBackend backend(pool, {/*chunk_rows=*/2});
  EXPECT_EQ(backend.name(), "backend.native");
  // '9' < '10' as text but not as numbers: the cast in the SQL decides.
  exec::Plan plan{
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
            "query failed: relation (value withheld) does not exist "
            "(SQLSTATE 42P01)");
  // The only connection is back and usable.
  ASSERT_TRUE(backend.Execute({"SELECT 'ok'", {}}, &sink).ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"ok"}));
  EXPECT_EQ(pool->Stats().size, 1);
}

// --- Call statistics (exec::CallStats) ---

TEST(NativeBackend, StatsRecordRowsAndNoSqlStateOnSuccess) {
  auto pool = MakePool(1);
  NativeBackend backend(pool, {/*chunk_rows=*/2});
  exec::CallStats stats;
  exec::RequestContext context;
  context.stats = &stats;
  Collect sink;
  const absl::Time before = absl::Now();
  ASSERT_TRUE(backend
                  .Execute({"SELECT g::text FROM generate_series(1, 5) g", {}},
                           context, &sink)
                  .ok());
  const absl::Time after = absl::Now();
  EXPECT_EQ(stats.rows, 5);
  EXPECT_EQ(stats.sqlstate, "");
  // The acquire is a part of the call.
  EXPECT_GE(stats.acquire_wait, absl::ZeroDuration());
  EXPECT_LE(stats.acquire_wait, after - before);
  // Added to, so that one CallStats covers every statement of a call.
  const exec::Plan two{"SELECT 'a' UNION ALL SELECT 'b'", {}};
  const exec::Statement statements[] = {{&two, &sink}, {&two, &sink}};
  ASSERT_TRUE(backend.ExecuteBatch(statements, context).ok());
  EXPECT_EQ(stats.rows, 9);
}

TEST(NativeBackend, StatsRecordTheSqlStateOfAServerError) {
  auto pool = MakePool(1);
  NativeBackend backend(pool);
  exec::CallStats stats;
  exec::RequestContext context;
  context.stats = &stats;
  Collect sink;
  EXPECT_FALSE(
      backend.Execute({"SELECT (1 / 0)::text", {}}, context, &sink).ok());
  EXPECT_EQ(stats.sqlstate, "22012");
  EXPECT_EQ(stats.rows, 0);
}

TEST(NativeBackend, StatsRecordTheWaitForAPoolConnection) {
  auto pool = MakePool(1);
  NativeBackend backend(pool);
  auto held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  exec::CallStats stats;
  absl::Status status;
  const absl::Time called = absl::Now();
  std::thread caller([&] {
    exec::RequestContext context;
    context.stats = &stats;
    Collect sink;
    status = backend.Execute({"SELECT 'x'", {}}, context, &sink);
  });
  // Once the caller waits, it waits at least as long as the connection is
  // held from then on, and no longer than the whole call.
  ASSERT_TRUE(testing::WaitFor([&] { return pool->Stats().waiting == 1; }));
  const absl::Time seen_waiting = absl::Now();
  // A round trip on the held connection while the caller waits.
  PGresult* r = PQexec((*held)->raw(), "SELECT 1");
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  const absl::Time released = absl::Now();
  *held = pool::PooledConnection();
  caller.join();
  const absl::Time returned = absl::Now();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_GE(stats.acquire_wait, released - seen_waiting);
  EXPECT_GT(stats.acquire_wait, absl::ZeroDuration());
  EXPECT_LE(stats.acquire_wait, returned - called);
  EXPECT_EQ(stats.rows, 1);
}

TEST(NativeBackend, StatsRecordAPoolTimeoutAsWaitWithoutSqlState) {
  pool::PoolOptions options = testing::TestPoolOptions(1);
  options.acquire_timeout = absl::Milliseconds(100);
  auto pool = pool::Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  NativeBackend backend(*pool);
  auto held = (*pool)->Acquire(absl::Now() + testing::kHungTestDeadline);
  ASSERT_TRUE(held.ok());
  exec::CallStats stats;
  exec::RequestContext context;
  context.stats = &stats;
  Collect sink;
  const absl::Time before = absl::Now();
  absl::Status status = backend.Execute({"SELECT 'x'", {}}, context, &sink);
  const absl::Time after = absl::Now();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_EQ((*pool)->Stats().timeouts, 1);  // the pool's wait ran out
  // Recorded although the call failed: the wait, within the call.
  EXPECT_GT(stats.acquire_wait, absl::ZeroDuration());
  EXPECT_LE(stats.acquire_wait, after - before);
  EXPECT_EQ(stats.sqlstate, "");
  EXPECT_EQ(stats.rows, 0);
  // The pool is healthy after it.
  *held = pool::PooledConnection();
  Collect after_sink;
  EXPECT_TRUE(backend.Execute({"SELECT 'ok'", {}}, &after_sink).ok());
  EXPECT_EQ(after_sink.rows, (std::vector<std::string>{"ok"}));
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
  exec::RequestContext context;
  const std::string pid = One(backend, "SELECT pg_backend_pid()::text");
  context.deadline = absl::Now() + absl::Milliseconds(300);
  Collect sink;
  absl::Status status =
      backend.Execute({"SELECT pg_sleep(10)::text", {}}, context, &sink);
  const absl::Time returned = absl::Now();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_GE(returned, context.deadline);  // not before it
  // Cancelled on the server, not left sleeping on a connection back in the
  // pool (max_size 1: the same backend).
  EXPECT_EQ(testing::AdminConnection().Column(
                "SELECT state FROM pg_stat_activity WHERE pid = " + pid),
            std::vector<std::string>{"idle"});
  EXPECT_EQ(pool->Stats().in_use, 0);
  EXPECT_EQ(One(backend, "SELECT 'ok'"), "ok");
  EXPECT_EQ(pool->Stats().in_use, 0);
}

TEST(NativeBackend, StatementTimeoutIsDeadlineExceeded) {
  auto pool = MakePool(1);
  NativeBackendOptions options;
  options.statement_timeout = absl::ZeroDuration();  // no default
  NativeBackend backend(pool, options);
  exec::RequestContext context;
  context.statement_timeout = absl::Milliseconds(200);
  Collect sink;
  absl::Status status =
      backend.Execute({"SELECT pg_sleep(10)::text", {}}, context, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  // The call's timeout ended with it.
  EXPECT_EQ(One(backend, "SHOW statement_timeout"), "0");
}

TEST(NativeBackend, DefaultStatementTimeoutHoldsForCallsWithoutOne) {
  auto pool = MakePool(1);
  // 30 s unless configured; zero disables it.
  EXPECT_EQ(NativeBackendOptions().statement_timeout, absl::Seconds(30));
  NativeBackend by_default(pool);
  EXPECT_EQ(One(by_default, "SHOW statement_timeout"), "30s");
  NativeBackendOptions options;
  options.statement_timeout = absl::Milliseconds(200);
  NativeBackend backend(pool, options);
  EXPECT_EQ(One(backend, "SHOW statement_timeout"), "200ms");
  Collect sink;
  absl::Status status =
      backend.Execute({"SELECT pg_sleep(10)::text", {}}, &sink);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_TRUE(status.GetPayload(exec::kQueryTimeoutPayloadUrl).has_value());
  // A call's own timeout wins over the default.
  exec::RequestContext context;
  context.statement_timeout = absl::Seconds(5);
  Collect own;
  ASSERT_TRUE(
      backend.Execute({"SHOW statement_timeout", {}}, context, &own).ok());
  EXPECT_EQ(own.rows, (std::vector<std::string>{"5s"}));
  options.statement_timeout = absl::ZeroDuration();
  NativeBackend disabled(pool, options);
  EXPECT_EQ(One(disabled, "SHOW statement_timeout"), "0");
  EXPECT_EQ(pool->Stats().in_use, 0);
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
  exec::RequestContext alice;
  alice.tenant_id = "alice";
  Collect first;
  ASSERT_TRUE(backend.Execute({sql, {}}, alice, &first).ok());
  EXPECT_EQ(first.rows, (std::vector<std::string>{"alice/" + pid}));
  // The next user, without context, on the same backend process.
  const std::string seen = One(backend, sql);
  EXPECT_TRUE(seen == "/" + pid || seen == "<unset>/" + pid) << seen;
  exec::RequestContext bob;
  bob.tenant_id = "bob";
  Collect second;
  ASSERT_TRUE(backend.Execute({sql, {}}, bob, &second).ok());
  EXPECT_EQ(second.rows, (std::vector<std::string>{"bob/" + pid}));
}

TEST(NativeBackend, ErrorInsideTheContextTransactionLeavesConnectionIdle) {
  auto pool = MakePool(1);
  NativeBackend backend(pool);
  exec::RequestContext context;
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
  ASSERT_EQ(backend.prepared_statements_per_connection(), 256u);
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

TEST(NativeBackend,
     KeepsPreparedStatementsOnTheConnectionAtTheConfiguredCapacity) {
  auto pool = MakePool(1);
  NativeBackendOptions options;
  options.prepared_statements_per_connection = 2;
  options.statement_timeout = absl::ZeroDuration();  // no settings statement
  NativeBackend backend(pool, options);
  EXPECT_EQ(backend.prepared_statements_per_connection(), 2u);
  for (std::string letter : {"a", "b", "c"}) {
    EXPECT_EQ(One(backend, "SELECT '" + letter + "'"), letter);
  }
  // The one connection holds them, the least recently used evicted.
  {
    auto connection = pool->Acquire(absl::Now() + absl::Seconds(2));
    ASSERT_TRUE(connection.ok()) << connection.status();
    stream::StatementCache* cache =
        NativeBackend::StatementCacheOf(*connection->get());
    ASSERT_NE(cache, nullptr);
    EXPECT_EQ(cache->capacity(), 2u);
    EXPECT_EQ(cache->size(), 2u);
    EXPECT_EQ(cache->Find("SELECT 'a'"), std::nullopt);
    EXPECT_NE(cache->Find("SELECT 'c'"), std::nullopt);
  }
  // A connection that breaks is discarded with its statements: the next
  // one starts with none.
  exec::RequestContext context;
  Collect sink;
  const std::string pid = One(backend, "SELECT pg_backend_pid()::text");
  EXPECT_FALSE(
      backend
          .Execute({"SELECT pg_terminate_backend(pg_backend_pid())::text", {}},
                   context, &sink)
          .ok());
  testing::AdminConnection().WaitUntilGone({pid});
  EXPECT_EQ(One(backend, "SELECT 'd'"), "d");
  auto connection = pool->Acquire(absl::Now() + absl::Seconds(2));
  ASSERT_TRUE(connection.ok()) << connection.status();
  EXPECT_NE(absl::StrCat(PQbackendPID((*connection)->raw())), pid);
  stream::StatementCache* cache =
      NativeBackend::StatementCacheOf(*connection->get());
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->size(), 1u);
}

TEST(NativeBackend, PgBouncerModePreparesNothing) {
  auto pool = MakePool(1);
  NativeBackendOptions options;
  options.pgbouncer = true;
  NativeBackend backend(pool, options);
  EXPECT_EQ(backend.prepared_statements_per_connection(), 0u);
  exec::RequestContext context;
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


// Batches and transactions.

TEST(NativeBackend, ExecuteBatchStreamsEachStatementInOneTransaction) {
  auto pool = MakePool(1);
  NativeBackend backend(pool);
  const exec::Plan txid{"SELECT txid_current()::text", {}};
  const exec::Plan values{"SELECT g::text FROM generate_series(1, 3) g", {}};
  Collect a, b, c;
  const exec::Statement statements[] = {
      {&txid, &a}, {&values, &b}, {&txid, &c}};
  absl::Status status =
      backend.ExecuteBatch(statements, exec::RequestContext());
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(c.rows, a.rows);
  EXPECT_EQ(b.rows, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(pool->Stats().in_use, 0);
}

// A table of its own per test; `Count` reads it from another connection.
class NativeTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    table_ = schema_.name() + ".t";
    schema_.admin().Exec("CREATE TABLE " + table_ + " (v text)");
    pool_ = MakePool(1);
    backend_ = std::make_unique<NativeBackend>(pool_);
  }

  exec::Plan Insert(const std::string& value) {
    return {"INSERT INTO " + table_ + " VALUES ($1::text) RETURNING v",
            {{value, "", false}}};
  }

  // The values committed, as another session sees them.
  std::vector<std::string> Committed() {
    return schema_.admin().Column("SELECT v FROM " + table_ + " ORDER BY v");
  }

  static std::unique_ptr<Transaction> Begin(
      Backend& backend, const exec::RequestContext& context = {},
      const TransactionOptions& options = {}) {
    auto transaction = backend.Begin(options, context);
    EXPECT_TRUE(transaction.ok()) << transaction.status();
    return transaction.ok() ? *std::move(transaction) : nullptr;
  }

  // The one value `sql` returns inside `backend`.
  static std::string Value(Backend& backend, const std::string& sql) {
    Collect sink;
    absl::Status status = backend.Execute({sql, {}}, &sink);
    EXPECT_TRUE(status.ok()) << status;
    return sink.rows.empty() ? "<none>" : sink.rows[0];
  }

  testing::ScopedSchema schema_{"native_tx"};
  std::string table_;
  std::shared_ptr<pool::Pool> pool_;
  std::unique_ptr<NativeBackend> backend_;
};

TEST_F(NativeTransactionTest, CommitMakesWritesVisibleAndReturnsTheConnection) {
  auto tx = Begin(*backend_);
  ASSERT_NE(tx, nullptr);
  EXPECT_EQ(tx->name(), "backend.native");
  EXPECT_TRUE(tx->open());
  EXPECT_EQ(pool_->Stats().in_use, 1);
  Collect sink;
  ASSERT_TRUE(tx->Execute(Insert("a"), &sink).ok());
  ASSERT_TRUE(tx->Execute(Insert("b"), &sink).ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{"a", "b"}));
  // Its own statements see the writes; another session does not, yet.
  EXPECT_EQ(Value(*tx, "SELECT count(*)::text FROM " + table_), "2");
  EXPECT_TRUE(Committed().empty());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_FALSE(tx->open());
  EXPECT_EQ(Committed(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(pool_->Stats().in_use, 0);
  // Ended: nothing more.
  EXPECT_EQ(tx->Commit().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(tx->Rollback().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(tx->Execute(Insert("c"), &sink).code(),
            absl::StatusCode::kFailedPrecondition);
  // The connection is clean for the next user (max_size 1: the same one).
  EXPECT_EQ(One(*backend_, "SELECT 'ok'"), "ok");
  EXPECT_EQ(pool_->Stats().closed, 0);
}

TEST_F(NativeTransactionTest, RollbackUndoesWritesAndReturnsTheConnection) {
  auto tx = Begin(*backend_);
  ASSERT_NE(tx, nullptr);
  Collect sink;
  ASSERT_TRUE(tx->Execute(Insert("a"), &sink).ok());
  ASSERT_TRUE(tx->Rollback().ok());
  EXPECT_FALSE(tx->open());
  EXPECT_TRUE(Committed().empty());
  EXPECT_EQ(pool_->Stats().in_use, 0);
  EXPECT_EQ(One(*backend_, "SELECT count(*)::text FROM " + table_), "0");
  EXPECT_EQ(pool_->Stats().closed, 0);
}

TEST_F(NativeTransactionTest, DestructionRollsBackAndReturnsTheConnection) {
  {
    auto tx = Begin(*backend_);
    ASSERT_NE(tx, nullptr);
    Collect sink;
    ASSERT_TRUE(tx->Execute(Insert("a"), &sink).ok());
    EXPECT_EQ(pool_->Stats().in_use, 1);
  }
  EXPECT_TRUE(Committed().empty());
  EXPECT_EQ(pool_->Stats().in_use, 0);
  EXPECT_EQ(One(*backend_, "SELECT count(*)::text FROM " + table_), "0");
}

TEST_F(NativeTransactionTest, NothingBegunCommitsAndRollsBackAsNoOps) {
  auto committed = Begin(*backend_);
  ASSERT_NE(committed, nullptr);
  EXPECT_TRUE(committed->Commit().ok());
  EXPECT_FALSE(committed->open());
  EXPECT_EQ(pool_->Stats().in_use, 0);
  auto rolled_back = Begin(*backend_);
  ASSERT_NE(rolled_back, nullptr);
  EXPECT_TRUE(rolled_back->Rollback().ok());
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(NativeTransactionTest, StatementsReadOneSnapshotUnderRepeatableRead) {
  TransactionOptions options;
  options.isolation = TransactionOptions::Isolation::kRepeatableRead;
  auto tx = Begin(*backend_, {}, options);
  ASSERT_NE(tx, nullptr);
  EXPECT_EQ(Value(*tx, "SELECT count(*)::text FROM " + table_), "0");
  schema_.admin().Exec("INSERT INTO " + table_ + " VALUES ('other')");
  EXPECT_EQ(Value(*tx, "SELECT count(*)::text FROM " + table_), "0");
  EXPECT_EQ(Value(*tx, "SELECT current_setting('transaction_isolation')"),
            "repeatable read");
  ASSERT_TRUE(tx->Commit().ok());
}

TEST_F(NativeTransactionTest, BeginsWithTheRequestedIsolationAndAccessMode) {
  TransactionOptions options;
  options.isolation = TransactionOptions::Isolation::kSerializable;
  options.read_only = true;
  auto tx = Begin(*backend_, {}, options);
  ASSERT_NE(tx, nullptr);
  EXPECT_EQ(Value(*tx, "SELECT current_setting('transaction_isolation') || '/' "
                       "|| current_setting('transaction_read_only')"),
            "serializable/on");
  Collect sink;
  absl::Status write = tx->Execute(Insert("a"), &sink);
  EXPECT_FALSE(write.ok());
  EXPECT_EQ(SqlStateOf(write), "25006") << write;
  ASSERT_TRUE(tx->Rollback().ok());
  EXPECT_TRUE(Committed().empty());
}

TEST_F(NativeTransactionTest, AfterAFailedStatementOnlyRollbackWorks) {
  auto tx = Begin(*backend_);
  ASSERT_NE(tx, nullptr);
  Collect sink;
  ASSERT_TRUE(tx->Execute(Insert("a"), &sink).ok());
  absl::Status failed = tx->Execute({"SELECT (1 / 0)::text", {}}, &sink);
  EXPECT_EQ(failed.code(), absl::StatusCode::kInvalidArgument) << failed;
  EXPECT_TRUE(tx->open());
  EXPECT_EQ(tx->Execute(Insert("b"), &sink).code(),
            absl::StatusCode::kFailedPrecondition);
  const exec::Plan c = Insert("c");
  const exec::Statement batch[] = {{&c, &sink}};
  EXPECT_EQ(tx->ExecuteBatch(batch, exec::RequestContext()).code(),
            absl::StatusCode::kFailedPrecondition);
  auto nested = tx->Begin(TransactionOptions(), exec::RequestContext());
  EXPECT_EQ(nested.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(tx->Commit().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(tx->open());
  EXPECT_TRUE(Committed().empty());
  EXPECT_EQ(pool_->Stats().in_use, 0);
  EXPECT_EQ(One(*backend_, "SELECT 'ok'"), "ok");
}

TEST_F(NativeTransactionTest, RollbackAfterAFailedStatementIsOk) {
  auto tx = Begin(*backend_);
  ASSERT_NE(tx, nullptr);
  Collect sink;
  ASSERT_TRUE(tx->Execute(Insert("a"), &sink).ok());
  EXPECT_FALSE(tx->Execute({"SELECT (1 / 0)::text", {}}, &sink).ok());
  EXPECT_TRUE(tx->Rollback().ok());
  EXPECT_TRUE(Committed().empty());
  EXPECT_EQ(pool_->Stats().in_use, 0);
  EXPECT_EQ(One(*backend_, "SELECT 'ok'"), "ok");
}

TEST_F(NativeTransactionTest, FailedFirstStatementLeavesTheTransactionFailed) {
  {
    auto tx = Begin(*backend_);
    ASSERT_NE(tx, nullptr);
    Collect sink;
    absl::Status failed =
        tx->Execute({"SELECT * FROM no_such_table_xyz", {}}, &sink);
    EXPECT_EQ(failed.code(), absl::StatusCode::kNotFound) << failed;
    EXPECT_EQ(tx->Execute(Insert("a"), &sink).code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(tx->Rollback().ok());
    EXPECT_FALSE(tx->open());
  }
  {
    auto tx = Begin(*backend_);
    ASSERT_NE(tx, nullptr);
    Collect sink;
    EXPECT_FALSE(tx->Execute({"SELECT (1 / 0)::text", {}}, &sink).ok());
    EXPECT_EQ(tx->Commit().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_FALSE(tx->open());
  }
  EXPECT_TRUE(Committed().empty());
  EXPECT_EQ(pool_->Stats().in_use, 0);
  EXPECT_EQ(One(*backend_, "SELECT 'ok'"), "ok");
}

TEST_F(NativeTransactionTest, ContextHoldsForEveryStatementAndEndsWithIt) {
  exec::RequestContext context;
  context.tenant_id = "tenant-1";
  context.variables["app.role_name"] = "auditor";
  auto tx = Begin(*backend_, context);
  ASSERT_NE(tx, nullptr);
  const std::string sql =
      "SELECT current_setting('app.tenant_id') || '/' || "
      "current_setting('app.role_name')";
  EXPECT_EQ(Value(*tx, sql), "tenant-1/auditor");
  EXPECT_EQ(Value(*tx, sql), "tenant-1/auditor");
  auto nested = tx->Begin(TransactionOptions(), exec::RequestContext());
  ASSERT_TRUE(nested.ok()) << nested.status();
  EXPECT_EQ(Value(**nested, sql), "tenant-1/auditor");
  ASSERT_TRUE((*nested)->Commit().ok());
  EXPECT_EQ(Value(*tx, sql), "tenant-1/auditor");
  ASSERT_TRUE(tx->Commit().ok());
  // The same connection (max_size 1), without the settings.
  EXPECT_EQ(One(*backend_,
                "SELECT coalesce(current_setting('app.tenant_id', true), '') "
                "|| '/' || coalesce(current_setting('app.role_name', true), '')"),
            "/");
}

TEST_F(NativeTransactionTest, StatementsCannotSetContextOfTheirOwn) {
  auto tx = Begin(*backend_);
  ASSERT_NE(tx, nullptr);
  exec::RequestContext context;
  context.tenant_id = "t";
  Collect sink;
  EXPECT_EQ(tx->Execute(Insert("a"), context, &sink).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tx->Begin(TransactionOptions(), context).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing was sent: the transaction goes on.
  ASSERT_TRUE(tx->Execute(Insert("b"), &sink).ok());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(Committed(), (std::vector<std::string>{"b"}));
}

// A role of the transaction holds for every statement of it, savepoints
// included, and the connection is back to its own user after.
TEST_F(NativeTransactionTest, RoleHoldsForEveryStatementAndEndsWithIt) {
  const std::string role = schema_.name() + "_tx_role";
  schema_.admin().Exec("DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role +
                       " NOLOGIN; GRANT " + role + " TO CURRENT_USER");
  const std::string own = One(*backend_, "SELECT current_user::text");
  {
    exec::RequestContext context;
    context.role = role;
    context.variables["jwt.claims.sub"] = "user-3";
    auto tx = Begin(*backend_, context);
    ASSERT_NE(tx, nullptr);
    const std::string sql =
        "SELECT current_user || '/' || current_setting('jwt.claims.sub')";
    EXPECT_EQ(Value(*tx, sql), role + "/user-3");
    auto nested = tx->Begin(TransactionOptions(), exec::RequestContext());
    ASSERT_TRUE(nested.ok()) << nested.status();
    EXPECT_EQ(Value(**nested, sql), role + "/user-3");
    ASSERT_TRUE((*nested)->Commit().ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_EQ(One(*backend_, "SELECT current_user::text"), own);
  schema_.admin().Exec("DROP ROLE " + role);
}

// A statement's role would be silently lost (the transaction's settings
// were fixed at Begin): refused, on the first statement too.
TEST_F(NativeTransactionTest, StatementsCannotSetARoleOfTheirOwn) {
  auto tx = Begin(*backend_);
  ASSERT_NE(tx, nullptr);
  exec::RequestContext context;
  context.role = "postgres";
  Collect sink;
  EXPECT_EQ(tx->Execute(Insert("a"), context, &sink).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tx->Begin(TransactionOptions(), context).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(tx->Execute(Insert("b"), &sink).ok());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(Committed(), (std::vector<std::string>{"b"}));
}

TEST_F(NativeTransactionTest, BeginRejectsAnInvalidRole) {
  exec::RequestContext context;
  context.role = "";
  auto tx = backend_->Begin(TransactionOptions(), context);
  EXPECT_EQ(tx.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(NativeTransactionTest, StatsOfATransactionsStatementsCountTheirRows) {
  exec::CallStats begin_stats;
  exec::RequestContext begin;
  begin.stats = &begin_stats;
  const absl::Time before = absl::Now();
  auto tx = Begin(*backend_, begin);
  const absl::Time after = absl::Now();
  ASSERT_NE(tx, nullptr);
  // Begin took the connection (opened it: the pool starts empty), within
  // the call; the statements then wait for nothing.
  EXPECT_GT(begin_stats.acquire_wait, absl::ZeroDuration());
  EXPECT_LE(begin_stats.acquire_wait, after - before);
  exec::CallStats stats;
  exec::RequestContext call;
  call.stats = &stats;
  Collect sink;
  ASSERT_TRUE(tx->Execute(Insert("a"), call, &sink).ok());
  ASSERT_TRUE(
      tx->Execute({"SELECT v FROM " + table_ + " UNION ALL SELECT 'b'", {}},
                  call, &sink)
          .ok());
  EXPECT_EQ(stats.rows, 3);
  EXPECT_EQ(stats.acquire_wait, absl::ZeroDuration());
  EXPECT_FALSE(tx->Execute({"SELECT (1 / 0)::text", {}}, call, &sink).ok());
  EXPECT_EQ(stats.sqlstate, "22012");
  ASSERT_TRUE(tx->Rollback().ok());
}

TEST_F(NativeTransactionTest, BeginRejectsABadVariableName) {
  exec::RequestContext context;
  context.variables["app.Bad-Name"] = "v";
  auto tx = backend_->Begin(TransactionOptions(), context);
  EXPECT_EQ(tx.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(NativeTransactionTest, SavepointRollbackUndoesOnlyItsStatements) {
  auto tx = Begin(*backend_);
  ASSERT_NE(tx, nullptr);
  Collect sink;
  ASSERT_TRUE(tx->Execute(Insert("a"), &sink).ok());
  auto nested = tx->Begin(TransactionOptions(), exec::RequestContext());
  ASSERT_TRUE(nested.ok()) << nested.status();
  Transaction& sp = **nested;
  EXPECT_TRUE(sp.open());
  ASSERT_TRUE(sp.Execute(Insert("b"), &sink).ok());
  EXPECT_EQ(Value(sp, "SELECT string_agg(v, ',' ORDER BY v) FROM " + table_),
            "a,b");
  ASSERT_TRUE(sp.Rollback().ok());
  EXPECT_FALSE(sp.open());
  EXPECT_EQ(sp.Execute(Insert("x"), &sink).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(tx->Execute(Insert("c"), &sink).ok());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(Committed(), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(NativeTransactionTest, SavepointRollbackClearsAnAbortSoTheOuterCommits) {
  auto tx = Begin(*backend_);
  ASSERT_NE(tx, nullptr);
  Collect sink;
  ASSERT_TRUE(tx->Execute(Insert("a"), &sink).ok());
  auto nested = tx->Begin(TransactionOptions(), exec::RequestContext());
  ASSERT_TRUE(nested.ok()) << nested.status();
  Transaction& sp = **nested;
  ASSERT_TRUE(sp.Execute(Insert("b"), &sink).ok());
  absl::Status failed = sp.Execute({"SELECT (1 / 0)::text", {}}, &sink);
  EXPECT_EQ(failed.code(), absl::StatusCode::kInvalidArgument) << failed;
  // Aborted, for the savepoint and its parent alike, until rolled back.
  EXPECT_EQ(sp.Execute(Insert("x"), &sink).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(tx->Execute(Insert("y"), &sink).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(sp.Rollback().ok());
  ASSERT_TRUE(tx->Execute(Insert("c"), &sink).ok());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(Committed(), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(NativeTransactionTest, SavepointCommitKeepsItsStatements) {
  auto tx = Begin(*backend_);
  ASSERT_NE(tx, nullptr);
  Collect sink;
  ASSERT_TRUE(tx->Execute(Insert("a"), &sink).ok());
  {
    auto nested = tx->Begin(TransactionOptions(), exec::RequestContext());
    ASSERT_TRUE(nested.ok()) << nested.status();
    ASSERT_TRUE((*nested)->Execute(Insert("b"), &sink).ok());
    ASSERT_TRUE((*nested)->Commit().ok());
    EXPECT_EQ((*nested)->Commit().code(), absl::StatusCode::kFailedPrecondition);
  }
  {
    // Destroyed open: rolled back to its savepoint.
    auto nested = tx->Begin(TransactionOptions(), exec::RequestContext());
    ASSERT_TRUE(nested.ok()) << nested.status();
    ASSERT_TRUE((*nested)->Execute(Insert("z"), &sink).ok());
  }
  ASSERT_TRUE(tx->Execute(Insert("c"), &sink).ok());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(Committed(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(NativeTransactionTest, SavepointsNest) {
  auto tx = Begin(*backend_);
  ASSERT_NE(tx, nullptr);
  Collect sink;
  ASSERT_TRUE(tx->Execute(Insert("a"), &sink).ok());
  auto outer = tx->Begin(TransactionOptions(), exec::RequestContext());
  ASSERT_TRUE(outer.ok()) << outer.status();
  ASSERT_TRUE((*outer)->Execute(Insert("b"), &sink).ok());
  auto inner = (*outer)->Begin(TransactionOptions(), exec::RequestContext());
  ASSERT_TRUE(inner.ok()) << inner.status();
  ASSERT_TRUE((*inner)->Execute(Insert("c"), &sink).ok());
  ASSERT_TRUE((*inner)->Rollback().ok());
  ASSERT_TRUE((*outer)->Commit().ok());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(Committed(), (std::vector<std::string>{"a", "b"}));
}

// A RELEASE that cannot be sent (its deadline already passed) must not
// leave the savepoint's writes in the outer transaction behind the error:
// it is rolled back to instead, under a bound of its own.
TEST_F(NativeTransactionTest, SavepointCommitPastItsDeadlineKeepsNothing) {
  auto tx = Begin(*backend_);
  ASSERT_NE(tx, nullptr);
  Collect sink;
  ASSERT_TRUE(tx->Execute(Insert("a"), &sink).ok());
  auto nested = tx->Begin(TransactionOptions(), exec::RequestContext());
  ASSERT_TRUE(nested.ok()) << nested.status();
  ASSERT_TRUE((*nested)->Execute(Insert("b"), &sink).ok());
  absl::Status released = (*nested)->Commit(absl::Now() - absl::Seconds(1));
  EXPECT_EQ(released.code(), absl::StatusCode::kDeadlineExceeded) << released;
  EXPECT_FALSE((*nested)->open());
  // The outer transaction goes on without b.
  ASSERT_TRUE(tx->Execute(Insert("c"), &sink).ok());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ(Committed(), (std::vector<std::string>{"a", "c"}));
}

// When a savepoint can be neither released nor rolled back, its writes are
// still in the outer transaction: that one may then only roll back.
TEST_F(NativeTransactionTest, SavepointThatCannotRollBackPoisonsTheOuter) {
  auto tx = Begin(*backend_);
  ASSERT_NE(tx, nullptr);
  Collect sink;
  ASSERT_TRUE(tx->Execute(Insert("a"), &sink).ok());
  auto nested = tx->Begin(TransactionOptions(), exec::RequestContext());
  ASSERT_TRUE(nested.ok()) << nested.status();
  ASSERT_TRUE((*nested)->Execute(Insert("b"), &sink).ok());
  EXPECT_EQ((*nested)->Rollback(absl::Now() - absl::Seconds(1)).code(),
            absl::StatusCode::kDeadlineExceeded);
  absl::Status next = tx->Execute(Insert("c"), &sink);
  EXPECT_EQ(next.code(), absl::StatusCode::kFailedPrecondition) << next;
  absl::Status committed = tx->Commit();
  EXPECT_EQ(committed.code(), absl::StatusCode::kFailedPrecondition)
      << committed;
  EXPECT_FALSE(tx->open());
  EXPECT_TRUE(Committed().empty());
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

// A savepoint opened before the outer transaction ran anything: its first
// batch carries BEGIN, so its failure must not take the outer transaction
// with it (the header: Rollback "also clears an abort the savepoint's
// statements caused, so the parent goes on").
TEST_F(NativeTransactionTest,
       SavepointFailingAsTheFirstStatementLeavesTheOuterUsable) {
  exec::RequestContext context;
  context.tenant_id = "tenant-1";
  auto tx = Begin(*backend_, context);
  ASSERT_NE(tx, nullptr);
  auto nested = tx->Begin(TransactionOptions(), exec::RequestContext());
  ASSERT_TRUE(nested.ok()) << nested.status();
  Collect sink;
  EXPECT_FALSE((*nested)->Execute({"SELECT (1 / 0)::text", {}}, &sink).ok());
  EXPECT_TRUE((*nested)->Rollback().ok());
  absl::Status next = tx->Execute(Insert("a"), &sink);
  EXPECT_TRUE(next.ok()) << next;
  EXPECT_EQ(Value(*tx, "SELECT current_setting('app.tenant_id', true)"),
            "tenant-1");
  EXPECT_TRUE(tx->Commit().ok());
  EXPECT_EQ(Committed(), (std::vector<std::string>{"a"}));
}

TEST(BeginSql, SpellsIsolationAndAccessMode) {
  using Isolation = TransactionOptions::Isolation;
  TransactionOptions options;
  EXPECT_EQ(BeginSql(options), "BEGIN ISOLATION LEVEL READ COMMITTED");
  options.isolation = Isolation::kRepeatableRead;
  EXPECT_EQ(BeginSql(options), "BEGIN ISOLATION LEVEL REPEATABLE READ");
  options.isolation = Isolation::kSerializable;
  EXPECT_EQ(BeginSql(options), "BEGIN ISOLATION LEVEL SERIALIZABLE");
  options.read_only = true;
  EXPECT_EQ(BeginSql(options), "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY");
  options.isolation = Isolation::kReadCommitted;
  EXPECT_EQ(BeginSql(options), "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY");
}

}  // namespace
}  // namespace fraiseql::plugins
