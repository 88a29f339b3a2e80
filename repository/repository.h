// repository/: runs a whole query definition through the pipeline
// (planner -> backend -> stream -> response) and returns the GraphQL
// response body. This is what the Python module's Repository wraps.
#ifndef FRAISEQL_REPOSITORY_REPOSITORY_H_
#define FRAISEQL_REPOSITORY_REPOSITORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "planner/planner.h"
#include "plugins/backend.h"
#include "proto/query.pb.h"
#include "stream/request_context.h"
#include "response/response_writer.h"
#include "response/selection.h"
#include "where/operator.h"
#include "where/schema.h"

namespace fraiseql {

// The value of a value operation (count, exists, sum, avg, min, max,
// distinct): compact JSON text (a number, true/false, a string, null, or a
// list of those), and how to read its numbers.
struct Value {
  std::string json;
  // Numbers are decimals even when integral (Float and Decimal fields,
  // avg); otherwise integral numbers are integers (count, Int fields).
  bool decimal_numbers = false;
};

// Thread-safe; the schema, operators and backend are shared with their other
// users. Holds one Planner for its lifetime, so plans are cached by shape
// across calls (planner/planner.h).
class Repository {
 public:
  Repository(std::shared_ptr<const where::Schema> schema,
             std::shared_ptr<const where::OperatorRegistry> operators,
             std::shared_ptr<plugins::Backend> backend,
             response::ProjectionOptions projection = {},
             planner::PlannerOptions planner_options = {})
      : schema_(std::move(schema)),
        operators_(std::move(operators)),
        backend_(std::move(backend)),
        projection_(projection),
        planner_(*schema_, *operators_, where::FilterLimits(),
                 planner_options) {}

  // Plans every root field first (so bad input fails before any SQL is
  // sent), then runs them in order and writes one body
  // {"data":{<root>:...,...}}: a list, an object (or null), a connection
  // {"edges":[{"cursor":...,"node":{...}}],"pageInfo":{...}[,"totalCount":n]}
  // or a value (count, exists, sum, ..., a list of distinct values).
  // A row that is not valid JSON makes its root field null with an entry in
  // "errors". Errors: the planner's (InvalidArgument, NotFound) and the
  // backend's (see plugins/backend.h).
  //
  // Connections follow Relay: paging forward (`first`), hasNextPage says
  // whether rows follow the page and hasPreviousPage is false; paging
  // backward (`last`), hasPreviousPage says whether rows precede it and
  // hasNextPage is false (as graphql-relay-js does; the opposite flag would
  // cost another statement). totalCount runs as a second statement after
  // the page (count(*) over the filter), so it is not read in the same
  // snapshot as the page.
  //
  // `context` applies to every statement the call runs (each in its own
  // transaction when it has variables or a statement_timeout; see
  // stream/request_context.h); its deadline bounds the whole call. Further
  // errors: InvalidArgument for a bad context variable name,
  // DeadlineExceeded (with stream::kQueryTimeoutPayloadUrl) when the
  // deadline or statement_timeout passes, Cancelled on the cancel flag.
  absl::StatusOr<std::string> Execute(
      const v1::QueryDefinition& query,
      const stream::RequestContext& context = {}) const;

  // Runs one root field of a value operation (operation other than FIND)
  // and returns its value. Errors as Execute, plus InvalidArgument for a
  // FIND root, and DataLoss when the server's value is not valid JSON.
  absl::StatusOr<Value> ExecuteValue(
      const v1::RootField& root,
      const stream::RequestContext& context = {}) const;

  // The statement one root field would run, without running it (for
  // debugging, and for running the same SQL through another driver).
  absl::StatusOr<planner::Plan> Explain(const v1::RootField& root) const;

  planner::CacheStats plan_cache_stats() const {
    return planner_.cache_stats();
  }

 private:
  // Runs one planned root field into `writer`. A bad row fails the field
  // (FailField), not the call; other errors are returned.
  absl::Status WriteRoot(const planner::RootPlan& plan,
                         const stream::RequestContext& context,
                         response::ResponseWriter* writer) const;
  // Runs a kValue/kValueList statement: the value as compact JSON.
  // `row_error` receives a row that is not valid JSON.
  absl::StatusOr<std::string> RunValue(const planner::Plan& plan, bool list,
                                       const stream::RequestContext& context,
                                       absl::Status* row_error) const;

  std::shared_ptr<const where::Schema> schema_;
  std::shared_ptr<const where::OperatorRegistry> operators_;
  std::shared_ptr<plugins::Backend> backend_;
  response::ProjectionOptions projection_;
  planner::Planner planner_;
};

}  // namespace fraiseql

#endif  // FRAISEQL_REPOSITORY_REPOSITORY_H_
