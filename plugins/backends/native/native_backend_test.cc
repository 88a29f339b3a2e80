#include "plugins/backends/native/native_backend.h"

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

}  // namespace
}  // namespace fraiseql::plugins
