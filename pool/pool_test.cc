#include "pool/pool.h"

#include <poll.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/postgres_fixture.h"

namespace fraiseql::pool {
namespace {

// A generous acquire timeout: only a hung test meets it. The test of the
// timeout itself sets a short one.
PoolOptions Options(int max_size = 2) {
  PoolOptions options = testing::TestPoolOptions(max_size);
  options.acquire_timeout = testing::kHungTestDeadline;
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
  PoolOptions options = Options(/*max_size=*/1);
  options.acquire_timeout = absl::Milliseconds(300);
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok());
  auto held = (*pool)->Acquire();
  ASSERT_TRUE(held.ok());
  auto second = (*pool)->Acquire();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(std::string(second.status().message()),
            "timed out after 300ms waiting for a connection: all 1 "
            "connections of the pool (max_size=1) are in use, 0 other callers "
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
  const Connection* lent = held->get();
  bool saw_waiter = false;
  std::thread releaser([&] {
    // Released only once the caller below is queued: it must have waited.
    saw_waiter =
        testing::WaitFor([&] { return (*pool)->Stats().waiting == 1; });
    *held = PooledConnection();
  });
  auto waited = (*pool)->Acquire();  // the generous acquire_timeout
  releaser.join();
  EXPECT_TRUE(saw_waiter) << "the caller never queued";
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_EQ(waited->get(), lent);  // the released connection, handed over
  PoolStats stats = (*pool)->Stats();
  EXPECT_EQ(stats.waiting, 0);
  EXPECT_EQ(stats.timeouts, 0);
  EXPECT_EQ(stats.opened, 1);
  EXPECT_EQ(stats.acquired_total, 2);
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
  admin.TerminateBackend(pid);
  // The idle connection is dead: the acquire notices it, or the first query
  // on it fails and it is discarded; either way the next one is fresh.
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

using testing::WaitFor;

using testing::RunId;

// A pool whose backends can be found by application_name, with a fast
// maintenance loop.
PoolOptions Tagged(const std::string& tag, int max_size = 2) {
  PoolOptions options = Options(max_size);
  options.connection.application_name =
      absl::StrCat("fql-pool-", tag, "-", RunId());
  options.maintenance_interval = absl::Milliseconds(20);
  return options;
}

// Terminates the pool's backends and waits until they are gone from
// pg_stat_activity. Returns how many there were.
int TerminateBackends(const PoolOptions& options) {
  testing::AdminConnection admin;
  std::vector<std::string> pids = admin.Column(
      "SELECT pid::text FROM pg_stat_activity WHERE application_name = '" +
      options.connection.application_name + "'");
  admin.TerminateBackends(pids);
  return static_cast<int>(pids.size());
}

TEST(Pool, HandsConnectionsToWaitersInArrivalOrder) {
  auto pool = Pool::Create(Tagged("fifo", /*max_size=*/1));
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto held = (*pool)->Acquire();
  ASSERT_TRUE(held.ok());
  constexpr int kWaiters = 6;
  absl::Mutex mu;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&, i] {
      auto conn = (*pool)->Acquire();
      absl::MutexLock lock(&mu);
      order.push_back(conn.ok() ? i : -1);
    });
    // The next one arrives only once this one is queued.
    ASSERT_TRUE(WaitFor([&] { return (*pool)->Stats().waiting == i + 1; }));
  }
  *held = PooledConnection();
  for (std::thread& t : threads) t.join();
  std::vector<int> expected;
  for (int i = 0; i < kWaiters; ++i) expected.push_back(i);
  EXPECT_EQ(order, expected);
  EXPECT_EQ((*pool)->Stats().timeouts, 0);
  EXPECT_EQ((*pool)->Stats().opened, 1);
}

TEST(Pool, RejectsCallersBeyondTheWaitQueueBound) {
  PoolOptions options = Tagged("bounded", /*max_size=*/1);
  options.max_waiters = 1;
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok());
  auto held = (*pool)->Acquire();
  ASSERT_TRUE(held.ok());
  absl::Status waited_status;
  std::thread waiter([&] { waited_status = (*pool)->Acquire().status(); });
  ASSERT_TRUE(WaitFor([&] { return (*pool)->Stats().waiting == 1; }));
  // At once, without queueing: queued, it would wait for `held`, which
  // this thread holds, until its deadline and fail with DeadlineExceeded.
  auto rejected = (*pool)->Acquire();
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(std::string(rejected.status().message()),
            "connection wait queue is full: 1 callers already waiting "
            "(max_waiters=1) for the 1 connections of the pool (max_size=1)");
  EXPECT_EQ((*pool)->Stats().rejected, 1);
  EXPECT_EQ((*pool)->Stats().waiting, 1);  // only the first waiter
  EXPECT_EQ((*pool)->Stats().timeouts, 0);
  *held = PooledConnection();
  waiter.join();
  EXPECT_TRUE(waited_status.ok()) << waited_status;

  // max_waiters=0: never wait.
  options.max_waiters = 0;
  auto no_wait = Pool::Create(options);
  ASSERT_TRUE(no_wait.ok());
  auto only = (*no_wait)->Acquire();
  ASSERT_TRUE(only.ok());
  EXPECT_EQ((*no_wait)->Acquire().status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(Pool, AcquireWithAPastDeadlineFailsAtOnceWhenExhausted) {
  auto pool = Pool::Create(Tagged("deadline", /*max_size=*/1));
  ASSERT_TRUE(pool.ok());
  auto held = (*pool)->Acquire();
  ASSERT_TRUE(held.ok());
  auto late = (*pool)->Acquire(absl::Now() - absl::Seconds(1));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  PoolStats stats = (*pool)->Stats();
  EXPECT_EQ(stats.timeouts, 1);
  EXPECT_EQ(stats.waiting, 0);
  // Nothing was lost on the way: the held connection serves the next one.
  *held = PooledConnection();
  auto next = (*pool)->Acquire();
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(Query((*next)->raw(), "SELECT 1"), "1");
  EXPECT_EQ((*pool)->Stats().opened, 1);
}

TEST(Pool, ClosesIdleConnectionsDownToMinSize) {
  PoolOptions options = Tagged("idle", /*max_size=*/3);
  options.min_size = 1;
  options.idle_timeout = absl::Milliseconds(100);
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok());
  {
    std::vector<PooledConnection> held;
    for (int i = 0; i < 3; ++i) {
      auto conn = (*pool)->Acquire();
      ASSERT_TRUE(conn.ok()) << conn.status();
      held.push_back(*std::move(conn));
    }
    EXPECT_EQ((*pool)->Stats().size, 3);
  }
  EXPECT_TRUE(WaitFor([&] {
    PoolStats s = (*pool)->Stats();
    return s.size == 1 && s.idle == 1;
  })) << (*pool)->Stats().size;
  EXPECT_EQ((*pool)->Stats().retired, 2);
  EXPECT_EQ((*pool)->Stats().closed, 2);
}

TEST(Pool, RefillsToMinSizeInTheBackground) {
  PoolOptions options = Tagged("refill", /*max_size=*/3);
  options.min_size = 2;
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ((*pool)->Stats().idle, 2);
  for (int i = 0; i < 2; ++i) {
    auto conn = (*pool)->Acquire();
    ASSERT_TRUE(conn.ok());
    conn->Discard();
  }
  EXPECT_TRUE(WaitFor([&] {
    PoolStats s = (*pool)->Stats();
    return s.size == 2 && s.idle == 2;
  }));
  EXPECT_EQ((*pool)->Stats().opened, 4);
}

TEST(Pool, RetiresConnectionsPastMaxLifetime) {
  PoolOptions options = Tagged("lifetime", /*max_size=*/2);
  options.min_size = 1;
  options.max_lifetime = absl::Milliseconds(300);
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok());
  std::string first_pid;
  {
    auto conn = (*pool)->Acquire();
    ASSERT_TRUE(conn.ok());
    first_pid = Query((*conn)->raw(), "SELECT pg_backend_pid()");
  }
  // While idle: the maintenance loop retires it and refills min_size.
  ASSERT_TRUE(WaitFor([&] {
    PoolStats s = (*pool)->Stats();
    return s.retired >= 1 && s.idle == 1;
  }));
  std::string second_pid;
  {
    auto conn = (*pool)->Acquire();
    ASSERT_TRUE(conn.ok());
    second_pid = Query((*conn)->raw(), "SELECT pg_backend_pid()");
    EXPECT_NE(second_pid, first_pid);
    // Held past its lifetime: retired when it comes back.
    absl::Time opened_at = (*conn)->opened_at();
    ASSERT_TRUE(WaitFor([&] {
      return absl::Now() - opened_at > options.max_lifetime;
    }));
    int64_t retired = (*pool)->Stats().retired;
    *conn = PooledConnection();
    EXPECT_EQ((*pool)->Stats().retired, retired + 1);
  }
}

TEST(Pool, HealthCheckReplacesAConnectionTerminatedWhileIdle) {
  PoolOptions options = Tagged("health", /*max_size=*/2);
  options.health_check_after_idle = absl::ZeroDuration();  // every time
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok());
  std::string pid;
  {
    auto conn = (*pool)->Acquire();
    ASSERT_TRUE(conn.ok());
    pid = Query((*conn)->raw(), "SELECT pg_backend_pid()");
  }
  ASSERT_EQ(TerminateBackends(options), 1);
  auto conn = (*pool)->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status();
  // The very first query works: the dead connection never surfaced.
  EXPECT_EQ(Query((*conn)->raw(), "SELECT 1"), "1");
  EXPECT_NE(Query((*conn)->raw(), "SELECT pg_backend_pid()"), pid);
  PoolStats stats = (*pool)->Stats();
  EXPECT_EQ(stats.health_check_failures, 1);
  EXPECT_EQ(stats.size, 1);
}

TEST(Pool, NoticesATerminatedBackendWithoutARoundTrip) {
  PoolOptions options = Tagged("poll", /*max_size=*/2);
  options.health_check_after_idle = absl::InfiniteDuration();  // never ping
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok());
  // A backend leaves pg_stat_activity after it sent its FATAL message and
  // before its process closes the socket (TerminateBackends waits for the
  // former only). The check without a round trip must tell the connection
  // is dead from the message alone: taken in that window, it once passed,
  // and the first query failed. Ten times, as the end of stream wins the
  // race now and then.
  for (int i = 0; i < 10; ++i) {
    {
      auto conn = (*pool)->Acquire();
      ASSERT_TRUE(conn.ok()) << conn.status();
      EXPECT_EQ(Query((*conn)->raw(), "SELECT 1"), "1") << "round " << i;
    }
    ASSERT_EQ(TerminateBackends(options), 1);
  }
  auto conn = (*pool)->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(Query((*conn)->raw(), "SELECT 1"), "1");
  EXPECT_EQ((*pool)->Stats().health_check_failures, 10);
}

TEST(Pool, RecoversWhenEveryBackendIsTerminatedWhileIdle) {
  // Like a server restart between requests.
  PoolOptions options = Tagged("restart", /*max_size=*/3);
  options.min_size = 3;
  options.health_check_after_idle = absl::ZeroDuration();
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok());
  ASSERT_EQ(TerminateBackends(options), 3);
  std::vector<PooledConnection> held;
  for (int i = 0; i < 3; ++i) {
    auto conn = (*pool)->Acquire();
    ASSERT_TRUE(conn.ok()) << conn.status();
    EXPECT_EQ(Query((*conn)->raw(), "SELECT 1"), "1");
    held.push_back(*std::move(conn));
  }
  PoolStats stats = (*pool)->Stats();
  EXPECT_EQ(stats.health_check_failures, 3);
  EXPECT_EQ(stats.size, 3);
  EXPECT_EQ(stats.in_use, 3);
  EXPECT_EQ(stats.errors, 0);
}

// A caller with a very short timeout must not make the pool close a healthy
// idle connection: the ping has its own bound, and a caller whose deadline
// passes during it times out while the connection goes back to the pool.
TEST(Pool, ShortCallerDeadlineDoesNotFailTheHealthCheck) {
  PoolOptions options = Tagged("short", /*max_size=*/1);
  options.health_check_after_idle = absl::ZeroDuration();  // always ping
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok());
  std::string pid;
  {
    auto conn = (*pool)->Acquire();
    ASSERT_TRUE(conn.ok());
    pid = Query((*conn)->raw(), "SELECT pg_backend_pid()");
  }
  // Far too short for a round trip.
  auto late = (*pool)->Acquire(absl::Now() + absl::Microseconds(1));
  if (late.ok()) {
    // Only when the ping beat the deadline: the same healthy connection.
    EXPECT_EQ(Query((*late)->raw(), "SELECT pg_backend_pid()"), pid);
    *late = PooledConnection();
  } else {
    EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded)
        << late.status();
  }
  PoolStats stats = (*pool)->Stats();
  EXPECT_EQ(stats.health_check_failures, 0);
  EXPECT_EQ(stats.closed, 0);
  EXPECT_EQ(stats.opened, 1);
  EXPECT_EQ(stats.idle, 1);
  EXPECT_EQ(stats.in_use, 0);
  auto conn = (*pool)->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(Query((*conn)->raw(), "SELECT pg_backend_pid()"), pid);
}

TEST(Pool, RejectsEachInvalidOptionByName) {
  const std::map<std::string, std::function<void(PoolOptions&)>> cases = {
      {"invalid pool option acquire_timeout=0: expected > 0",
       [](PoolOptions& o) { o.acquire_timeout = absl::ZeroDuration(); }},
      {"invalid pool option connect_timeout=-1s: expected > 0",
       [](PoolOptions& o) { o.connection.connect_timeout = absl::Seconds(-1); }},
      {"invalid pool option idle_timeout=0: expected > 0",
       [](PoolOptions& o) { o.idle_timeout = absl::ZeroDuration(); }},
      {"invalid pool option max_lifetime=-5ms: expected > 0",
       [](PoolOptions& o) { o.max_lifetime = absl::Milliseconds(-5); }},
      {"invalid pool option maintenance_interval=inf: expected a finite "
       "duration",
       [](PoolOptions& o) { o.maintenance_interval = absl::InfiniteDuration(); }},
      {"invalid pool option health_check_after_idle=-1s: expected >= 0 (0: "
       "check every time)",
       [](PoolOptions& o) { o.health_check_after_idle = absl::Seconds(-1); }},
      {"invalid pool option statement_timeout=-1s: expected >= 0 (0: the "
       "server's default)",
       [](PoolOptions& o) { o.connection.statement_timeout = absl::Seconds(-1); }},
      {"invalid pool option reconnect_backoff_max=50ms: expected >= "
       "reconnect_backoff_base (100ms)",
       [](PoolOptions& o) { o.reconnect_backoff_max = absl::Milliseconds(50); }},
      {"invalid pool option reconnect_jitter=1.5: expected 0 to 1",
       [](PoolOptions& o) { o.reconnect_jitter = 1.5; }},
      {"invalid pool option max_waiters=-1: expected >= 0",
       [](PoolOptions& o) { o.max_waiters = -1; }},
      {"invalid pool option application_name='a\\nb': expected printable "
       "ASCII (the server replaces anything else with '?')",
       [](PoolOptions& o) { o.connection.application_name = "a\nb"; }},
  };
  for (const auto& [message, mutate] : cases) {
    PoolOptions options = Options();
    mutate(options);
    auto pool = Pool::Create(options);
    EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument)
        << message;
    EXPECT_EQ(std::string(pool.status().message()), message);
  }
}

TEST(Pool, AppliesStatementTimeoutAndApplicationName) {
  PoolOptions options = Tagged("settings");
  options.connection.statement_timeout = absl::Milliseconds(1500);
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok());
  auto conn = (*pool)->Acquire();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(Query((*conn)->raw(), "SHOW statement_timeout"), "1500ms");
  EXPECT_EQ(Query((*conn)->raw(), "SHOW application_name"),
            options.connection.application_name);
  EXPECT_EQ(Query((*conn)->raw(), "SHOW TimeZone"), "UTC");  // still pinned
}

TEST(Pool, KeepsTheUrlsOwnOptionsBesideThePinnedOnes) {
  PoolOptions options = Options();
  std::string url = testing::DatabaseUrl();
  absl::StrAppend(&url, url.find('?') == std::string::npos ? "?" : "&",
                  "options=-c%20work_mem%3D7MB%20-c%20TimeZone%3DEurope/Paris");
  options.connection.conninfo = url;
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto conn = (*pool)->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(Query((*conn)->raw(), "SHOW work_mem"), "7MB");
  EXPECT_EQ(Query((*conn)->raw(), "SHOW TimeZone"), "UTC");  // pinned wins
}

TEST(Pool, AppliesSessionSettingsAtConnect) {
  PoolOptions options = Options();
  options.connection.session_settings = {
      {"plan_cache_mode", "force_generic_plan"},
      {"fraiseql.spaces", "two words\\ and a backslash"},
      {"fraiseql.note", "a,b"}};
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto conn = (*pool)->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(Query((*conn)->raw(), "SHOW plan_cache_mode"),
            "force_generic_plan");
  EXPECT_EQ(Query((*conn)->raw(), "SHOW fraiseql.spaces"),
            "two words\\ and a backslash");
  EXPECT_EQ(Query((*conn)->raw(), "SHOW fraiseql.note"), "a,b");
  EXPECT_EQ(Query((*conn)->raw(), "SHOW TimeZone"), "UTC");
}

TEST(Pool, RejectsSessionSettingsThatWouldUnpinOrAreMalformed) {
  const std::pair<std::string, std::string> cases[] = {
      {"TimeZone", "Europe/Paris"},
      {"plan cache mode", "auto"},
      {"", "x"},
      {"work_mem", std::string("a\0b", 3)},
  };
  for (const auto& [name, value] : cases) {
    PoolOptions options = Options();
    options.connection.session_settings = {{name, value}};
    auto pool = Pool::Create(options);
    EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_TRUE(absl::StrContains(pool.status().message(),
                                  "invalid pool option settings"))
        << pool.status();
  }
}

// Sets environment variables for one scope and restores them after.
class ScopedEnv {
 public:
  void Set(const char* name, const std::string& value) {
    const char* old = std::getenv(name);
    saved_.emplace_back(name, old != nullptr ? std::optional<std::string>(old)
                                             : std::nullopt);
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) {
        setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        unsetenv(it->first.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

std::map<std::string, std::string> ParseConninfo(const std::string& url) {
  std::map<std::string, std::string> values;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), nullptr);
  for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr;
       ++o) {
    if (o->val != nullptr && *o->val != '\0') values[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return values;
}

TEST(Pool, FallsBackToPgEnvironmentVariablesWithAnEmptyConninfo) {
  std::map<std::string, std::string> url = ParseConninfo(testing::DatabaseUrl());
  ScopedEnv env;
  const std::pair<const char*, const char*> names[] = {
      {"host", "PGHOST"}, {"port", "PGPORT"}, {"user", "PGUSER"},
      {"dbname", "PGDATABASE"}, {"password", "PGPASSWORD"}};
  for (const auto& [keyword, variable] : names) {
    if (url.count(keyword) != 0) env.Set(variable, url[keyword]);
  }
  PoolOptions options = Options();
  options.connection.conninfo = "";
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto conn = (*pool)->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(Query((*conn)->raw(), "SELECT current_database()"), url["dbname"]);
}

TEST(Pool, AcceptsLibpqKeywordConninfo) {
  std::string keywords;
  for (const auto& [key, value] : ParseConninfo(testing::DatabaseUrl())) {
    absl::StrAppend(&keywords, key, "='", value, "' ");
  }
  PoolOptions options = Options();
  options.connection.conninfo = keywords;
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto conn = (*pool)->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(Query((*conn)->raw(), "SELECT 1"), "1");
}

TEST(Pool, FromEnvironmentReadsFraiseqlDatabaseUrl) {
  ScopedEnv env;
  env.Set("FRAISEQL_DATABASE_URL", "postgresql://someone@somewhere:1/db");
  EXPECT_EQ(PoolOptions::FromEnvironment().connection.conninfo,
            "postgresql://someone@somewhere:1/db");
  EXPECT_EQ(PoolOptions::FromEnvironment().max_size, PoolOptions().max_size);
  unsetenv("FRAISEQL_DATABASE_URL");
  EXPECT_EQ(PoolOptions::FromEnvironment().connection.conninfo, "");
}

TEST(Pool, ShutsDownCleanlyWithConnectionsStillOut) {
  // The last reference is the PooledConnection, dropped on another thread
  // while the maintenance loop runs; repeat to catch ordering races.
  for (int i = 0; i < 20; ++i) {
    PoolOptions options = Tagged("shutdown");
    options.min_size = 1;
    options.maintenance_interval = absl::Milliseconds(1);
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok());
    auto conn = (*pool)->Acquire();
    ASSERT_TRUE(conn.ok());
    pool->reset();  // only the connection keeps the pool alive now
    std::thread releaser([c = *std::move(conn)]() mutable {
      c = PooledConnection();
    });
    releaser.join();
  }
  testing::AdminConnection admin;
  EXPECT_TRUE(WaitFor([&] {
    return admin.Column("SELECT count(*) FROM pg_stat_activity WHERE "
                        "application_name = 'fql-pool-shutdown-" + RunId() +
                        "'")[0] == "0";
  }));
}

}  // namespace
}  // namespace fraiseql::pool
