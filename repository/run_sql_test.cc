// Repository::RunSql on a real server: raw parameterised SQL, rows back as
// a JSON array of objects.
#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "base/pg_status.h"
#include "gtest/gtest.h"
#include "plugins/backends/native/native_backend.h"
#include "repository/repository.h"
#include "tests/postgres_fixture.h"

namespace fraiseql {
namespace {

// Counts the statements that reach a backend, then runs them on it.
class CountingBackend : public plugins::Backend {
 public:
  explicit CountingBackend(std::shared_ptr<plugins::Backend> inner)
      : inner_(std::move(inner)) {}
  absl::string_view name() const override { return inner_->name(); }
  using Backend::Execute;
  absl::Status Execute(const exec::Plan& plan,
                       const exec::RequestContext& context,
                       exec::RowSink* sink) override {
    ++calls;
    return inner_->Execute(plan, context, sink);
  }
  absl::Status ExecuteBatch(absl::Span<const exec::Statement> statements,
                            const exec::RequestContext& context) override {
    ++calls;
    return inner_->ExecuteBatch(statements, context);
  }
  absl::StatusOr<std::unique_ptr<plugins::Transaction>> Begin(
      const plugins::TransactionOptions& options,
      const exec::RequestContext& context) override {
    ++calls;
    return inner_->Begin(options, context);
  }
  std::atomic<int> calls{0};

 private:
  std::shared_ptr<plugins::Backend> inner_;
};

exec::Param Text(std::string text) { return {std::move(text), "", false}; }

class RunSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    table_ = schema_.name() + ".t";
    schema_.admin().Exec("CREATE TABLE " + table_ +
                         " (id int PRIMARY KEY, name text, score numeric)");
    auto pool = pool::Pool::Create(testing::TestPoolOptions(2));
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *pool;
    auto native = std::make_shared<plugins::NativeBackend>(pool_);
    reader_ = std::make_shared<CountingBackend>(native);
    writer_ = std::make_shared<CountingBackend>(native);
    repository_ = std::make_unique<Repository>(
        std::make_shared<where::Schema>(),
        std::shared_ptr<const where::OperatorRegistry>(
            where::MakeBuiltinOperatorRegistry()),
        reader_, RepositoryOptions(), writer_);
  }

  absl::StatusOr<std::string> Run(const std::string& sql,
                                  std::vector<exec::Param> params = {},
                                  bool fetch = true) {
    return repository_->RunSql({sql, std::move(params)}, fetch, {});
  }

  testing::ScopedSchema schema_{"run_sql"};
  std::string table_;
  std::shared_ptr<pool::Pool> pool_;
  std::shared_ptr<CountingBackend> reader_;
  std::shared_ptr<CountingBackend> writer_;
  std::unique_ptr<Repository> repository_;
};

TEST_F(RunSqlTest, AColumnNamedLikeTheWrapperIsStillAColumn) {
  auto rows = Run("SELECT 1 AS q, 2 AS fraiseql_rows");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, R"([{"q":1,"fraiseql_rows":2}])");
}

TEST_F(RunSqlTest, RowsComeBackAsAJsonArrayOfObjectsInColumnOrder) {
  auto rows =
      Run("SELECT g AS n, 'x' || g AS label, g * 1.5 AS half, "
          "g % 2 = 0 AS even FROM generate_series(1, $1::int) g",
          {Text("2")});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, R"([{"n":1,"label":"x1","half":1.5,"even":false},)"
                   R"({"n":2,"label":"x2","half":3.0,"even":true}])");
  // On the writer: a transaction repository's RunSql sees its writes.
  EXPECT_EQ(writer_->calls, 1);
  EXPECT_EQ(reader_->calls, 0);
}

TEST_F(RunSqlTest, NoRowsIsAnEmptyArray) {
  auto rows = Run("SELECT 1 AS one WHERE false");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, "[]");
}

TEST_F(RunSqlTest, NullsAreJsonNulls) {
  auto rows =
      Run("SELECT NULL::text AS a, $1::int AS b", {{"", "", /*is_null=*/true}});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, R"([{"a":null,"b":null}])");
}

TEST_F(RunSqlTest, ABoundValueWithQuotesStaysData) {
  const std::string evil = "o'reilly\"); DROP TABLE " + table_ + "; --";
  auto inserted =
      Run("INSERT INTO " + table_ + " VALUES (1, $1, NULL) RETURNING id, name",
          {Text(evil)});
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(*inserted, R"([{"id":1,"name":"o'reilly\"); DROP TABLE )" + table_ +
                           R"(; --"}])");
  EXPECT_EQ(schema_.admin().Column("SELECT name FROM " + table_),
            (std::vector<std::string>{evil}));
}

TEST_F(RunSqlTest, DmlWithReturningReturnsTheChangedRows) {
  ASSERT_TRUE(Run("INSERT INTO " + table_ +
                      " VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)",
                  {}, /*fetch=*/false)
                  .ok());
  auto updated = Run("UPDATE " + table_ +
                         " SET score = score * 10 WHERE id >= $1::int "
                         "RETURNING id, score",
                     {Text("2")});
  ASSERT_TRUE(updated.ok()) << updated.status();
  // Row order of RETURNING follows the scan; compare as a set.
  EXPECT_TRUE(*updated == R"([{"id":2,"score":20},{"id":3,"score":30}])" ||
              *updated == R"([{"id":3,"score":30},{"id":2,"score":20}])")
      << *updated;
  EXPECT_EQ(schema_.admin().Column("SELECT sum(score)::text FROM " + table_),
            (std::vector<std::string>{"51"}));
}

TEST_F(RunSqlTest, WithoutFetchDdlAndDmlRunAndReturnAnEmptyArray) {
  auto created = Run("CREATE TABLE " + schema_.name() + ".made (v text)", {},
                     /*fetch=*/false);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(*created, "[]");
  auto inserted =
      Run("INSERT INTO " + schema_.name() + ".made VALUES ($1) RETURNING v",
          {Text("kept")}, /*fetch=*/false);
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(*inserted, "[]");
  EXPECT_EQ(schema_.admin().Column("SELECT v FROM " + schema_.name() + ".made"),
            (std::vector<std::string>{"kept"}));
}

TEST_F(RunSqlTest, TrailingSemicolonAndCommentAreAccepted) {
  auto rows = Run("SELECT 1 AS one; -- the end");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, R"([{"one":1}])");
  auto line_comment = Run("SELECT 2 AS two -- no newline after");
  ASSERT_TRUE(line_comment.ok()) << line_comment.status();
  EXPECT_EQ(*line_comment, R"([{"two":2}])");
}

TEST_F(RunSqlTest, EmptySqlIsInvalidArgument) {
  for (const char* sql : {"", "  ", " ; ", "-- nothing"}) {
    for (bool fetch : {true, false}) {
      auto rows = Run(sql, {}, fetch);
      EXPECT_EQ(rows.status(),
                absl::InvalidArgumentError("RunSql needs one SQL statement; "
                                           "the SQL text is empty"))
          << sql;
    }
  }
  EXPECT_EQ(writer_->calls, 0);
}

TEST_F(RunSqlTest, SeveralStatementsAreInvalidArgumentAndNothingRuns) {
  for (bool fetch : {true, false}) {
    auto rows = Run(
        "INSERT INTO " + table_ + " VALUES (1, 'a', 1); DELETE FROM " + table_,
        {}, fetch);
    EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(rows.status().message()),
              "RunSql runs one SQL statement; the SQL text holds several "
              "(a ';' is followed by more); make one call per statement");
  }
  EXPECT_EQ(writer_->calls, 0);
  EXPECT_EQ(schema_.admin().Column("SELECT count(*) FROM " + table_),
            (std::vector<std::string>{"0"}));
}

TEST_F(RunSqlTest, PlaceholdersMustMatchTheParameters) {
  auto missing = Run("SELECT $1::int + $2::int AS s", {Text("1")});
  EXPECT_EQ(missing.status(),
            absl::InvalidArgumentError(
                "the SQL text uses parameters up to $2 but 1 was given"));
  auto extra = Run("SELECT 1 AS one", {Text("1")});
  EXPECT_EQ(extra.status(),
            absl::InvalidArgumentError(
                "the SQL text uses no parameter but 1 was given"));
  auto fewer = Run("SELECT $1::int AS v", {Text("1"), Text("2")});
  EXPECT_EQ(fewer.status(),
            absl::InvalidArgumentError(
                "the SQL text uses parameters up to $1 but 2 were given"));
  EXPECT_EQ(writer_->calls, 0);
}

TEST_F(RunSqlTest, ServerErrorsMapToTheirStatusWithTheSqlState) {
  ASSERT_TRUE(
      Run("INSERT INTO " + table_ + " VALUES (1, 'a', 1)", {}, false).ok());
  struct Case {
    std::string sql;
    absl::StatusCode code;
    std::string sqlstate;
  };
  const Case cases[] = {
      {"INSERT INTO " + table_ + " VALUES (1, 'dup', 1) RETURNING id",
       absl::StatusCode::kAlreadyExists, "23505"},
      {"SELECT 1 / 0 AS x", absl::StatusCode::kInvalidArgument, "22012"},
      {"SELECT * FROM " + schema_.name() + ".missing",
       absl::StatusCode::kNotFound, "42P01"},
      {"SELEC 1", absl::StatusCode::kInvalidArgument, "42601"},
  };
  for (const Case& c : cases) {
    auto rows = Run(c.sql);
    EXPECT_EQ(rows.status().code(), c.code) << c.sql << ": " << rows.status();
    EXPECT_EQ(SqlStateOf(rows.status()), c.sqlstate) << c.sql;
  }
}

TEST_F(RunSqlTest, AFailedStatementInAutocommitLeavesThePoolHealthy) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(Run("SELECT 1 / 0 AS x").ok());
    EXPECT_FALSE(Run("INSERT INTO " + table_ +
                         " VALUES (1, 'a', 1), "
                         "(1, 'b', 2)",
                     {}, false)
                     .ok());
  }
  EXPECT_EQ(pool_->Stats().in_use, 0);
  auto rows = Run("SELECT count(*) AS n FROM " + table_);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, R"([{"n":0}])");
  // Nothing was left open or aborted on either connection.
  auto a = Run("SELECT txid_current_if_assigned() IS NULL AS idle");
  auto b = Run("SELECT txid_current_if_assigned() IS NULL AS idle");
  EXPECT_EQ(*a, R"([{"idle":true}])");
  EXPECT_EQ(*b, R"([{"idle":true}])");
}

TEST_F(RunSqlTest, ContextSettingsAreVisibleToTheStatement) {
  exec::RequestContext context;
  context.tenant_id = "t9";
  context.variables["jwt.claims.sub"] = "u1";
  auto rows =
      repository_->RunSql({"SELECT current_setting('app.tenant_id') AS tenant, "
                           "current_setting('jwt.claims.sub') AS sub",
                           {}},
                          true, context);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, R"([{"tenant":"t9","sub":"u1"}])");
}

TEST_F(RunSqlTest, InATransactionItSeesAndJoinsTheTransactionsWrites) {
  auto scope = repository_->BeginTransaction(plugins::TransactionOptions());
  ASSERT_TRUE(scope.ok()) << scope.status();
  Repository& tx = *scope->repository;
  ASSERT_TRUE(tx.RunSql({"INSERT INTO " + table_ + " VALUES (7, $1, 1)",
                         {Text("in tx")}},
                        false, {})
                  .ok());
  auto seen = tx.RunSql({"SELECT name FROM " + table_, {}}, true, {});
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(*seen, R"([{"name":"in tx"}])");
  EXPECT_EQ(schema_.admin().Column("SELECT count(*) FROM " + table_),
            (std::vector<std::string>{"0"}));
  ASSERT_TRUE(scope->transaction->Rollback().ok());
  EXPECT_EQ(schema_.admin().Column("SELECT count(*) FROM " + table_),
            (std::vector<std::string>{"0"}));
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(RunSqlTest, RawStatementsAreNotPreparedOnTheConnection) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Run("SELECT $1::int AS v", {Text("1")}).ok());
  }
  auto prepared =
      Run("SELECT count(*) AS n FROM pg_prepared_statements WHERE statement "
          "LIKE '%AS v%'");
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(*prepared, R"([{"n":0}])");
}

TEST_F(RunSqlTest, ResultPastMaxResponseBytesIsResourceExhausted) {
  RepositoryOptions options;
  options.max_response_bytes = 1000;
  Repository capped(std::make_shared<where::Schema>(),
                    std::shared_ptr<const where::OperatorRegistry>(
                        where::MakeBuiltinOperatorRegistry()),
                    writer_, options);
  auto rows = capped.RunSql(
      {"SELECT g AS n FROM generate_series(1, 1000000) g", {}}, true, {});
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kResourceExhausted)
      << rows.status();
  EXPECT_TRUE(
      rows.status().GetPayload(kResponseTooLargePayloadUrl).has_value());
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

}  // namespace
}  // namespace fraiseql
