// A response body handed over piece by piece to a consumer thread, on a
// real server: the pieces add up to the buffered body, Cancel stops the
// producer and its statement, errors come out of Next.
#include "repository/body_stream.h"

#include <atomic>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "plugins/backends/native/native_backend.h"
#include "tests/postgres_fixture.h"

namespace fraiseql {
namespace {

class BodyStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string& s = schema_.name();
    schema_.admin().Exec(
        "CREATE VIEW " + s + ".v_rows AS SELECT g AS id, jsonb_build_object("
        "'id', g, 'label', 'row number ' || g) AS data FROM "
        "generate_series(1, 500) g;"
        // Endless for a test: only a cancel ends it early. The series is
        // in the target list so that rows stream (in FROM it would be
        // materialised before the first row).
        "CREATE VIEW " + s + ".v_endless AS SELECT g AS id, "
        "jsonb_build_object('id', g, 'label', 'fql_endless_marker') AS data "
        "FROM (SELECT generate_series(1, 100000000) AS g) AS series;"
        "CREATE VIEW " + s + ".v_fails AS SELECT g AS id, jsonb_build_object("
        "'id', g, 'label', (1 / (300 - g))::text) AS data FROM "
        "generate_series(1, 400) g;"
        "CREATE VIEW " + s + ".v_tenant AS SELECT 1 AS id, jsonb_build_object("
        "'id', 1, 'label', current_setting('app.tenant_id', true)) AS data;"
        "CREATE VIEW " + s + ".v_slow AS SELECT 1 AS id, jsonb_build_object("
        "'id', 1, 'label', pg_sleep(30)::text) AS data");
    auto registry = std::make_shared<where::Schema>();
    for (const char* view :
         {".v_rows", ".v_endless", ".v_fails", ".v_tenant", ".v_slow"}) {
      ASSERT_TRUE(registry
                      ->AddView(s + view, "Row", "data",
                                {{"id", "integer"}, {"data", "jsonb"}},
                                {{"id", "Int"}, {"label", "String"}})
                      .ok());
    }
    auto pool = pool::Pool::Create(testing::TestPoolOptions(2));
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *pool;
    repository_ = std::make_unique<Repository>(
        registry, std::shared_ptr<const where::OperatorRegistry>(
                      where::MakeBuiltinOperatorRegistry()),
        std::make_shared<plugins::NativeBackend>(pool_));
  }

  v1::QueryDefinition Query(const std::string& view, const std::string& key) {
    v1::QueryDefinition q;
    v1::RootField* root = q.add_roots();
    root->set_response_key(key);
    root->set_view(schema_.name() + "." + view);
    root->set_is_list(true);
    // No orderBy: a sort would read every row before the first is sent.
    return q;
  }

  // Takes every piece; the final status (OK after the last piece).
  static absl::Status Drain(BodyStream& stream,
                            std::vector<std::string>* pieces) {
    while (true) {
      auto next = stream.Next();
      if (!next.ok()) return next.status();
      if (!next->has_value()) return absl::OkStatus();
      pieces->push_back(**next);
    }
  }

  // Statements of this test's endless view still running on the server
  // (not another test process's: the schema name holds the pid).
  int RunningEndless() {
    auto n = schema_.admin().Column(absl::StrCat(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND "
        "query LIKE '%",
        schema_.name(), "%v_endless%' AND pid <> pg_backend_pid()"));
    return n.empty() ? -1 : std::stoi(n[0]);
  }

  testing::ScopedSchema schema_{"body_stream"};
  std::shared_ptr<pool::Pool> pool_;
  std::unique_ptr<Repository> repository_;
};

TEST_F(BodyStreamTest, PiecesJoinToTheBufferedBody) {
  v1::QueryDefinition q = Query("v_rows", "rows");
  v1::RootField* count = q.add_roots();
  count->set_response_key("n");
  count->set_view(schema_.name() + ".v_rows");
  count->set_operation(v1::RootField::COUNT);
  auto body = repository_->Execute(q);
  ASSERT_TRUE(body.ok()) << body.status();

  BodyStreamOptions options;
  options.chunk_bytes = 300;
  options.max_pending = 1;
  auto stream = BodyStream::Start(repository_.get(), q, {}, options);
  std::vector<std::string> pieces;
  absl::Status status = Drain(*stream, &pieces);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(absl::StrJoin(pieces, ""), *body);
  EXPECT_GT(pieces.size(), body->size() / 600);
  // The end stays the end.
  auto again = stream->Next();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->has_value());
  stream.reset();
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(BodyStreamTest, DefaultOptionsGiveTheWholeSmallBodyInOnePiece) {
  v1::QueryDefinition q = Query("v_rows", "rows");
  auto body = repository_->Execute(q);
  ASSERT_TRUE(body.ok()) << body.status();
  ASSERT_LT(body->size(), BodyStreamOptions().chunk_bytes);
  auto stream = BodyStream::Start(repository_.get(), q, {});
  std::vector<std::string> pieces;
  ASSERT_TRUE(Drain(*stream, &pieces).ok());
  EXPECT_EQ(pieces, (std::vector<std::string>{*body}));
}

TEST_F(BodyStreamTest, CancelMidwayStopsTheProducerAndItsStatement) {
  BodyStreamOptions options;
  options.chunk_bytes = 256;
  options.max_pending = 1;
  auto stream = BodyStream::Start(repository_.get(),
                                  Query("v_endless", "rows"), {}, options);
  auto first = stream->Next();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->substr(0, 17), R"({"data":{"rows":[)");
  // The producer waits on the full queue; its statement runs on.
  EXPECT_EQ(RunningEndless(), 1);
  stream->Cancel();
  auto next = stream->Next();
  EXPECT_EQ(next.status().code(), absl::StatusCode::kCancelled)
      << (next.ok() ? "a piece" : next.status().ToString());
  EXPECT_EQ(stream->Next().status().code(), absl::StatusCode::kCancelled);
  // Returns (the producer was blocked on the full queue; a hang here is
  // the failure), and the statement is no longer running.
  stream.reset();
  EXPECT_EQ(RunningEndless(), 0);
  EXPECT_EQ(pool_->Stats().in_use, 0);
  // The pool is healthy.
  auto body = repository_->Execute(Query("v_tenant", "t"));
  ASSERT_TRUE(body.ok()) << body.status();
}

TEST_F(BodyStreamTest, DestroyingAnUnreadStreamCancelsIt) {
  BodyStreamOptions options;
  options.chunk_bytes = 256;
  options.max_pending = 1;
  auto stream = BodyStream::Start(repository_.get(),
                                  Query("v_endless", "rows"), {}, options);
  stream.reset();
  EXPECT_EQ(RunningEndless(), 0);
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(BodyStreamTest, CancelFromAnotherThreadEndsAWaitingConsumer) {
  BodyStreamOptions options;
  options.chunk_bytes = 256;
  options.max_pending = 1;
  auto stream = BodyStream::Start(repository_.get(),
                                  Query("v_endless", "rows"), {}, options);
  auto first = stream->Next();
  ASSERT_TRUE(first.ok()) << first.status();
  std::thread canceller([&stream] { stream->Cancel(); });
  absl::Status status;
  for (int guard = 0; guard < 1000000 && status.ok(); ++guard) {
    auto next = stream->Next();
    if (!next.ok()) status = next.status();
    else ASSERT_TRUE(next->has_value()) << "the endless stream ended";
  }
  canceller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  stream.reset();
  EXPECT_EQ(RunningEndless(), 0);
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(BodyStreamTest, PlannerErrorComesOutOfNext) {
  auto stream =
      BodyStream::Start(repository_.get(), Query("v_nowhere", "rows"), {});
  auto next = stream->Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kNotFound)
      << next.status();
  EXPECT_NE(next.status().message().find("v_nowhere"), absl::string_view::npos)
      << next.status();
}

TEST_F(BodyStreamTest, ServerErrorComesOutOfNextAfterThePiecesBeforeIt) {
  BodyStreamOptions options;
  options.chunk_bytes = 256;
  auto stream =
      BodyStream::Start(repository_.get(), Query("v_fails", "rows"), {},
                        options);
  std::vector<std::string> pieces;
  absl::Status status = Drain(*stream, &pieces);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(std::string(status.message()),
            "query failed: division by zero (SQLSTATE 22012)");
  // Rows before the failing one were streamed; the body is incomplete.
  ASSERT_FALSE(pieces.empty());
  EXPECT_EQ(pieces[0].substr(0, 17), R"({"data":{"rows":[)");
  EXPECT_EQ(absl::StrJoin(pieces, "").find("}}"), std::string::npos);
  stream.reset();
  EXPECT_EQ(pool_->Stats().in_use, 0);
}

TEST_F(BodyStreamTest, ContextReachesTheStatements) {
  exec::RequestContext context;
  context.tenant_id = "tenant-7";
  auto stream =
      BodyStream::Start(repository_.get(), Query("v_tenant", "t"), context);
  std::vector<std::string> pieces;
  ASSERT_TRUE(Drain(*stream, &pieces).ok());
  EXPECT_EQ(absl::StrJoin(pieces, ""),
            R"({"data":{"t":[{"id":1,"label":"tenant-7"}]}})");
}

TEST_F(BodyStreamTest, DeadlineComesOutOfNext) {
  exec::RequestContext context;
  context.deadline = absl::Now() + absl::Milliseconds(300);
  auto stream =
      BodyStream::Start(repository_.get(), Query("v_slow", "t"), context);
  auto next = stream->Next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kDeadlineExceeded)
      << next.status();
  EXPECT_TRUE(
      next.status().GetPayload(exec::kQueryTimeoutPayloadUrl).has_value());
}

TEST_F(BodyStreamTest, ChunkOverTheMaximumIsInvalidArgumentFromNext) {
  for (size_t chunk_bytes :
       {kMaxChunkBytes + 1, std::numeric_limits<size_t>::max()}) {
    BodyStreamOptions options;
    options.chunk_bytes = chunk_bytes;
    auto stream = BodyStream::Start(repository_.get(), Query("v_rows", "rows"),
                                    {}, options);
    auto next = stream->Next();
    ASSERT_FALSE(next.ok());
    EXPECT_EQ(next.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(next.status().message()),
              "chunk_bytes is too large (limit 67108864 bytes)");
  }
  EXPECT_EQ(pool_->Stats().in_use, 0);
  // The largest allowed works.
  BodyStreamOptions options;
  options.chunk_bytes = kMaxChunkBytes;
  auto stream = BodyStream::Start(repository_.get(), Query("v_rows", "rows"),
                                  {}, options);
  std::vector<std::string> pieces;
  absl::Status status = Drain(*stream, &pieces);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(pieces.size(), 1u);
}

// A backend that throws, as code under the producer thread might: the
// exception must end the stream with an error, not the process.
class ThrowingBackend : public plugins::Backend {
 public:
  explicit ThrowingBackend(bool bad_alloc) : bad_alloc_(bad_alloc) {}
  absl::string_view name() const override { return "backend.throwing"; }
  using Backend::Execute;
  absl::Status Execute(const planner::Plan&, const exec::RequestContext&,
                       exec::RowSink*) override {
    if (bad_alloc_) throw std::bad_alloc();
    throw std::runtime_error("boom");
  }

 private:
  bool bad_alloc_;
};

TEST_F(BodyStreamTest, AnExceptionOnTheProducerThreadComesOutOfNext) {
  auto registry = std::make_shared<where::Schema>();
  ASSERT_TRUE(registry
                  ->AddView("s.v", "Row", "data",
                            {{"id", "integer"}, {"data", "jsonb"}},
                            {{"id", "Int"}})
                  .ok());
  for (bool bad_alloc : {true, false}) {
    Repository repository(registry,
                          std::shared_ptr<const where::OperatorRegistry>(
                              where::MakeBuiltinOperatorRegistry()),
                          std::make_shared<ThrowingBackend>(bad_alloc));
    v1::QueryDefinition q;
    v1::RootField* root = q.add_roots();
    root->set_response_key("r");
    root->set_view("s.v");
    root->set_is_list(true);
    auto stream = BodyStream::Start(&repository, q, {});
    auto next = stream->Next();
    ASSERT_FALSE(next.ok());
    EXPECT_EQ(next.status().code(), bad_alloc
                                        ? absl::StatusCode::kResourceExhausted
                                        : absl::StatusCode::kInternal)
        << next.status();
  }
}

}  // namespace
}  // namespace fraiseql
