#include "tests/postgres_fixture.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace fraiseql::testing {

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

const std::string& RunId() {
  static const std::string* id = new std::string(
      absl::StrCat(getpid(), "_", absl::ToUnixNanos(absl::Now()) % 1000000007));
  return *id;
}

std::string DatabaseUrl() {
  const char* url = std::getenv("FRAISEQL_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "FRAISEQL_DATABASE_URL is not set: start the test server "
                     "with `ci/postgres start` and export its URL, or run "
                     "ci/test";
    std::abort();
  }
  return url;
}

pool::PoolOptions TestPoolOptions(int max_size) {
  pool::PoolOptions options;
  options.connection.conninfo = DatabaseUrl();
  options.max_size = max_size;
  return options;
}

std::unique_ptr<pool::Connection> OpenTestConnection() {
  pool::ConnectionOptions options;
  options.conninfo = DatabaseUrl();
  auto conn = pool::Connection::Open(options);
  EXPECT_TRUE(conn.ok()) << conn.status();
  return conn.ok() ? *std::move(conn) : nullptr;
}

AdminConnection::AdminConnection() {
  conn_ = PQconnectdb(DatabaseUrl().c_str());
  if (PQstatus(conn_) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot connect to the test server: "
                  << PQerrorMessage(conn_);
    std::abort();
  }
  PGresult* r = PQexec(conn_, "SET client_min_messages = warning");
  PQclear(r);
}

AdminConnection::~AdminConnection() { PQfinish(conn_); }

void AdminConnection::Exec(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  ExecStatusType status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    ADD_FAILURE() << "setup SQL failed: " << PQresultErrorMessage(r)
                  << "\nSQL: " << sql;
  }
  PQclear(r);
}

std::vector<std::string> AdminConnection::Column(const std::string& sql) {
  std::vector<std::string> values;
  PGresult* r = PQexec(conn_, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    ADD_FAILURE() << "query failed: " << PQresultErrorMessage(r)
                  << "\nSQL: " << sql;
  } else {
    for (int i = 0; i < PQntuples(r); ++i) {
      values.push_back(PQgetisnull(r, i, 0) ? "<NULL>" : PQgetvalue(r, i, 0));
    }
  }
  PQclear(r);
  return values;
}

void AdminConnection::WaitUntilGone(const std::vector<std::string>& pids) {
  if (pids.empty()) return;
  const std::string sql =
      absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE pid IN (",
                   absl::StrJoin(pids, ", "), ")");
  auto gone = [&] { return Column(sql) == std::vector<std::string>{"0"}; };
  EXPECT_TRUE(WaitFor(gone))
      << "backends " << absl::StrJoin(pids, ", ")
      << " still in pg_stat_activity after " << kHungTestDeadline;
}

void AdminConnection::TerminateBackends(const std::vector<std::string>& pids) {
  for (const std::string& pid : pids) {
    EXPECT_EQ(Column(absl::StrCat("SELECT pg_terminate_backend(", pid, ")")),
              std::vector<std::string>{"t"})
        << "no backend " << pid << " to terminate";
  }
  WaitUntilGone(pids);
}

ScopedSchema::ScopedSchema(const std::string& name)
    : name_(absl::StrCat("fql_test_", name, "_", RunId())) {
  admin_.Exec(absl::StrCat("DROP SCHEMA IF EXISTS ", name_,
                           " CASCADE; CREATE SCHEMA ", name_));
}

ScopedSchema::~ScopedSchema() {
  admin_.Exec(absl::StrCat("DROP SCHEMA IF EXISTS ", name_, " CASCADE"));
}

}  // namespace fraiseql::testing
