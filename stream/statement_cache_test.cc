#include "stream/statement_cache.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "pool/connection.h"
#include "stream/chunked_query.h"
#include "tests/postgres_fixture.h"

namespace fraiseql::stream {
namespace {

TEST(StatementCache, MissesUntilInsertedThenHits) {
  StatementCache cache(2);
  EXPECT_EQ(cache.Find("SELECT 1"), std::nullopt);
  cache.Insert("SELECT 1", "fql_1");
  EXPECT_EQ(cache.Find("SELECT 1"), "fql_1");
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.capacity(), 2u);
  base::CacheStats stats = cache.Stats();
  EXPECT_EQ(stats.hits, 1);
  EXPECT_EQ(stats.misses, 1);
  EXPECT_TRUE(cache.TakeEvicted().empty());
}

TEST(StatementCache, EvictsLeastRecentlyUsedAndHandsItsNameOverOnce) {
  StatementCache cache(2);
  cache.Insert("SELECT 'a'", "fql_a");
  cache.Insert("SELECT 'b'", "fql_b");
  ASSERT_EQ(cache.Find("SELECT 'a'"), "fql_a");  // b is now the oldest
  cache.Insert("SELECT 'c'", "fql_c");
  EXPECT_EQ(cache.Find("SELECT 'b'"), std::nullopt);
  cache.Insert("SELECT 'd'", "fql_d");  // a is now the oldest (c, then d)
  EXPECT_EQ(cache.Find("SELECT 'a'"), std::nullopt);
  EXPECT_EQ(cache.Find("SELECT 'c'"), "fql_c");
  EXPECT_EQ(cache.Find("SELECT 'd'"), "fql_d");
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.Stats().evictions, 2);
  // In eviction order, and given to one caller only.
  EXPECT_EQ(cache.TakeEvicted(), (std::vector<std::string>{"fql_b", "fql_a"}));
  EXPECT_TRUE(cache.TakeEvicted().empty());
}

TEST(StatementCache, RetiresTheOldNameWhenSqlIsPreparedAgain) {
  StatementCache cache(2);
  cache.Insert("SELECT 1", "fql_1");
  cache.Insert("SELECT 1", "fql_2");
  EXPECT_EQ(cache.Find("SELECT 1"), "fql_2");
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.TakeEvicted(), (std::vector<std::string>{"fql_1"}));
}

TEST(StatementCache, RecordsNothingWhenCapacityIsZero) {
  StatementCache cache(0);
  cache.Insert("SELECT 1", "fql_1");
  EXPECT_EQ(cache.Find("SELECT 1"), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.TakeEvicted().empty());
}

TEST(StatementCache, ForgetsEverythingWhenDisabled) {
  StatementCache cache(1);
  cache.Insert("SELECT 1", "fql_1");
  cache.Insert("SELECT 2", "fql_2");  // evicts fql_1
  EXPECT_FALSE(cache.disabled());
  cache.Disable();
  EXPECT_TRUE(cache.disabled());
  EXPECT_EQ(cache.Find("SELECT 2"), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);
  // The session's statements are no longer known to be there.
  EXPECT_TRUE(cache.TakeEvicted().empty());
}

TEST(StatementCache, NamesAreUniqueAndOurs) {
  const std::string first = StatementCache::NewName();
  const std::string second = StatementCache::NewName();
  EXPECT_TRUE(absl::StartsWith(first, "fql_")) << first;
  EXPECT_NE(first, second);
}

// On the server: the statements StreamQuery prepares through the cache, and
// the DEALLOCATE of the evicted ones.
class StatementCacheOnServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conn_ = testing::OpenTestConnection();
    ASSERT_NE(conn_, nullptr);
    options_.statements = &cache_;
    // No statement_timeout: only the statements under test are prepared.
    options_.default_statement_timeout = absl::ZeroDuration();
  }

  class Discard : public exec::RowSink {
   public:
    absl::Status OnChunk(const exec::RowChunk&) override {
      return absl::OkStatus();
    }
  };

  void Run(const std::string& sql) {
    Discard sink;
    auto result = StreamQuery(conn_->raw(), {sql, {}}, options_, &sink);
    ASSERT_TRUE(result.ok()) << result.status();
  }

  // The names prepared on the session, sorted (read with a plain query, so
  // that the check prepares nothing itself).
  std::vector<std::string> PreparedNames() {
    PGresult* result = PQexec(
        conn_->raw(), "SELECT name FROM pg_prepared_statements ORDER BY name");
    EXPECT_EQ(PQresultStatus(result), PGRES_TUPLES_OK);
    std::vector<std::string> names;
    for (int i = 0; i < PQntuples(result); ++i) {
      names.push_back(PQgetvalue(result, i, 0));
    }
    PQclear(result);
    return names;
  }

  std::unique_ptr<pool::Connection> conn_;
  StatementCache cache_{/*capacity=*/2};
  StreamOptions options_;
};

TEST_F(StatementCacheOnServerTest, DeallocatesEvictedStatementsOnTheNextCall) {
  Run("SELECT 'a'");
  Run("SELECT 'b'");
  const std::optional<std::string> a = cache_.Find("SELECT 'a'");
  const std::optional<std::string> b = cache_.Find("SELECT 'b'");
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(PreparedNames(), (std::vector<std::string>{*a, *b}));
  // A hit prepares nothing new; 'a' is now the most recently used.
  Run("SELECT 'a'");
  EXPECT_EQ(PreparedNames(), (std::vector<std::string>{*a, *b}));
  // 'c' evicts 'b', which stays on the server until the next call.
  Run("SELECT 'c'");
  const std::optional<std::string> c = cache_.Find("SELECT 'c'");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(cache_.Find("SELECT 'b'"), std::nullopt);
  EXPECT_EQ(PreparedNames().size(), 3u);
  Run("SELECT 'a'");
  std::vector<std::string> expected = {*a, *c};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(PreparedNames(), expected);
  EXPECT_TRUE(conn_->IsReusable());
}

TEST_F(StatementCacheOnServerTest,
       StatementPreparedAgainAfterEvictionGetsANewName) {
  Run("SELECT 'a'");
  const std::optional<std::string> first = cache_.Find("SELECT 'a'");
  Run("SELECT 'b'");
  Run("SELECT 'c'");  // evicts 'a'
  Run("SELECT 'a'");  // deallocates 'a', prepares it again, evicts 'b'
  const std::optional<std::string> again = cache_.Find("SELECT 'a'");
  ASSERT_TRUE(first.has_value() && again.has_value());
  EXPECT_NE(*first, *again);
  Run("SELECT 'c'");  // deallocates 'b'
  EXPECT_EQ(PreparedNames().size(), 2u);
}

}  // namespace
}  // namespace fraiseql::stream
