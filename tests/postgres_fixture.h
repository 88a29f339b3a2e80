// tests/: shared fixture for C++ tests that need the real PostgreSQL server
// started by `ci/postgres start`. The URL comes from FRAISEQL_DATABASE_URL
// (ci/test exports it); each test gets its own schema so runs never collide.
#ifndef FRAISEQL_TESTS_POSTGRES_FIXTURE_H_
#define FRAISEQL_TESTS_POSTGRES_FIXTURE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "libpq-fe.h"
#include "pool/connection.h"
#include "pool/pool.h"

namespace fraiseql::testing {

// How long a test waits for a condition before it counts as hung: only a
// hung test meets it, never a slow or loaded machine.
inline constexpr absl::Duration kHungTestDeadline = absl::Seconds(60);

// Polls `condition` every millisecond until it holds (true) or `timeout`
// passes (false): the wait for state that another thread or the server
// changes, in place of a fixed sleep.
bool WaitFor(const std::function<bool()>& condition,
             absl::Duration timeout = kHungTestDeadline);

// Unique to this test process, even among runs in Bazel sandboxes whose
// processes share a pid (PID namespaces): "<pid>_<start time hash>". Part of
// the names of what tests create on the shared server.
const std::string& RunId();

// The server URL. Fails the calling test (fatally) when the variable is
// unset: a database test that silently skips cannot catch anything.
std::string DatabaseUrl();

// Pool options for the test server: DatabaseUrl(), at most `max_size`
// connections; callers adjust the rest.
pool::PoolOptions TestPoolOptions(int max_size);

// One pooled-kind connection (pool::Connection) to the test server, outside
// any pool: for the tests of what runs on a connection. Null after a failed
// gtest assertion (the test stops there).
std::unique_ptr<pool::Connection> OpenTestConnection();

// A libpq connection for setting up and checking data (not the code under
// test). Aborts the test on failure.
class AdminConnection {
 public:
  AdminConnection();
  ~AdminConnection();
  AdminConnection(const AdminConnection&) = delete;
  AdminConnection& operator=(const AdminConnection&) = delete;

  // Runs SQL (several statements allowed); fails the test on error.
  void Exec(const std::string& sql);
  // Runs a query and returns the first column of every row.
  std::vector<std::string> Column(const std::string& sql);
  // Waits until no backend of `pids` is left in pg_stat_activity (a
  // terminated backend leaves it only once its process has exited); fails
  // the test when one is still there after kHungTestDeadline.
  void WaitUntilGone(const std::vector<std::string>& pids);
  // Terminates the backends `pids` (pg_terminate_backend) and waits until
  // they are gone, so that the next step never races their exit.
  void TerminateBackends(const std::vector<std::string>& pids);
  void TerminateBackend(const std::string& pid) { TerminateBackends({pid}); }
  PGconn* raw() const { return conn_; }

 private:
  PGconn* conn_ = nullptr;
};

// Creates a fresh schema named `fql_test_<name>_<RunId()>` and drops it
// (with everything in it) on destruction.
class ScopedSchema {
 public:
  explicit ScopedSchema(const std::string& name);
  ~ScopedSchema();
  const std::string& name() const { return name_; }
  AdminConnection& admin() { return admin_; }

 private:
  AdminConnection admin_;
  std::string name_;
};

}  // namespace fraiseql::testing

#endif  // FRAISEQL_TESTS_POSTGRES_FIXTURE_H_
