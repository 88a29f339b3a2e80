#include "pool/pool.h"

#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/postgres_fixture.h"

namespace fraiseql::pool {
namespace {

PoolOptions Options(int max_size = 2) {
  PoolOptions options;
  options.connection.conninfo = testing::DatabaseUrl();
  options.max_size = max_size;
  options.acquire_timeout = absl::Milliseconds(300);
  return options;
}

std::string Query(PGconn* conn, const char* sql) {
  PGresult* r = PQexec(conn, sql);
  std::string value = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0
                          ? PQgetvalue(r, 0, 0)
                          : std::string("<error>");
  PQclear(r);
  return value;
}

TEST(Pool, RejectsInvalidOptionsAtCreation) {
  PoolOptions options = Options();
  options.max_size = 0;
  EXPECT_EQ(std::string(Pool::Create(options).status().message()),
            "invalid pool option max_size=0: expected at least 1");
  options = Options();
  options.min_size = 5;
  EXPECT_EQ(std::string(Pool::Create(options).status().message()),
            "invalid pool option min_size=5: expected 0 to max_size (2)");
  options = Options();
  options.connection.conninfo = "postgresql://host/db?no_such_option=1";
  auto pool = Pool::Create(options);
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(pool.status().message(),
                               "invalid connection string: "))
      << pool.status();
}

TEST(Pool, PinsSessionSettingsOnEveryConnection) {
  auto pool = Pool::Create(Options());
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto conn = (*pool)->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(Query((*conn)->raw(), "SHOW TimeZone"), "UTC");
  EXPECT_EQ(Query((*conn)->raw(), "SHOW DateStyle"), "ISO, YMD");
  EXPECT_EQ(Query((*conn)->raw(), "SHOW extra_float_digits"), "1");
  EXPECT_EQ(Query((*conn)->raw(), "SHOW application_name"), "fraiseql-native");
  EXPECT_EQ(Query((*conn)->raw(), "SHOW client_encoding"), "UTF8");
}

TEST(Pool, ReusesConnectionsAndCountsThem) {
  auto pool = Pool::Create(Options());
  ASSERT_TRUE(pool.ok());
  std::string first_pid;
  {
    auto conn = (*pool)->Acquire();
    ASSERT_TRUE(conn.ok());
    first_pid = Query((*conn)->raw(), "SELECT pg_backend_pid()");
    PoolStats stats = (*pool)->Stats();
    EXPECT_EQ(stats.in_use, 1);
    EXPECT_EQ(stats.size, 1);
  }
  auto conn = (*pool)->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(Query((*conn)->raw(), "SELECT pg_backend_pid()"), first_pid);
  PoolStats stats = (*pool)->Stats();
  EXPECT_EQ(stats.opened, 1);
  EXPECT_EQ(stats.acquired_total, 2);
}

TEST(Pool, TimesOutWhenExhaustedAndRecovers) {
  auto pool = Pool::Create(Options(/*max_size=*/1));
  ASSERT_TRUE(pool.ok());
  auto held = (*pool)->Acquire();
  ASSERT_TRUE(held.ok());
  auto second = (*pool)->Acquire();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(std::string(second.status().message()),
            "timed out after 300ms waiting for a connection: all 1 "
            "connections of the pool (max_size=1) are in use, 1 callers "
            "waiting");
  EXPECT_EQ((*pool)->Stats().timeouts, 1);
  *held = PooledConnection();  // give it back
  auto third = (*pool)->Acquire();
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST(Pool, WaiterGetsConnectionReleasedByAnotherThread) {
  auto pool = Pool::Create(Options(/*max_size=*/1));
  ASSERT_TRUE(pool.ok());
  auto held = (*pool)->Acquire();
  ASSERT_TRUE(held.ok());
  std::thread releaser([&held] {
    absl::SleepFor(absl::Milliseconds(50));
    *held = PooledConnection();
  });
  auto waited = (*pool)->Acquire();
  releaser.join();
  EXPECT_TRUE(waited.ok()) << waited.status();
}

TEST(Pool, DiscardsConnectionsLeftInsideATransaction) {
  auto pool = Pool::Create(Options());
  ASSERT_TRUE(pool.ok());
  {
    auto conn = (*pool)->Acquire();
    ASSERT_TRUE(conn.ok());
    PQclear(PQexec((*conn)->raw(), "BEGIN"));
  }
  PoolStats stats = (*pool)->Stats();
  EXPECT_EQ(stats.closed, 1);
  EXPECT_EQ(stats.idle, 0);
  auto conn = (*pool)->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(PQtransactionStatus((*conn)->raw()), PQTRANS_IDLE);
}

TEST(Pool, DropsConnectionWhoseBackendWasTerminated) {
  auto pool = Pool::Create(Options());
  ASSERT_TRUE(pool.ok());
  std::string pid;
  {
    auto conn = (*pool)->Acquire();
    ASSERT_TRUE(conn.ok());
    pid = Query((*conn)->raw(), "SELECT pg_backend_pid()");
  }
  testing::AdminConnection admin;
  admin.Exec("SELECT pg_terminate_backend(" + pid + ")");
  // The idle connection is dead; the first query on it fails and the
  // connection is then discarded, the next acquire gets a fresh one.
  {
    auto conn = (*pool)->Acquire();
    ASSERT_TRUE(conn.ok());
    Query((*conn)->raw(), "SELECT 1");
  }
  auto conn = (*pool)->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(Query((*conn)->raw(), "SELECT 1"), "1");
  EXPECT_NE(Query((*conn)->raw(), "SELECT pg_backend_pid()"), pid);
}

TEST(Pool, UnreachableServerIsUnavailableAndCounted) {
  PoolOptions options = Options();
  options.connection.conninfo = "postgresql://postgres@127.0.0.1:1/none";
  options.connection.connect_timeout = absl::Seconds(2);
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok());  // min_size 0: nothing opened yet
  auto conn = (*pool)->Acquire();
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StartsWith(conn.status().message(),
                               "cannot connect to PostgreSQL: "))
      << conn.status();
  PoolStats stats = (*pool)->Stats();
  EXPECT_EQ(stats.errors, 1);
  EXPECT_EQ(stats.size, 0);
  options.min_size = 1;
  EXPECT_EQ(Pool::Create(options).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace fraiseql::pool
