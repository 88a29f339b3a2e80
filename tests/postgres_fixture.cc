#include "tests/postgres_fixture.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fraiseql::testing {

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

ScopedSchema::ScopedSchema(const std::string& name)
    : name_(absl::StrCat("fql_test_", name, "_", getpid())) {
  admin_.Exec(absl::StrCat("DROP SCHEMA IF EXISTS ", name_,
                           " CASCADE; CREATE SCHEMA ", name_));
}

ScopedSchema::~ScopedSchema() {
  admin_.Exec(absl::StrCat("DROP SCHEMA IF EXISTS ", name_, " CASCADE"));
}

}  // namespace fraiseql::testing
