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
#include "response/selection.h"
#include "where/operator.h"
#include "where/schema.h"

namespace fraiseql {

// Immutable after construction and thread-safe; the schema, operators and
// backend are shared with their other users.
class Repository {
 public:
  Repository(std::shared_ptr<const where::Schema> schema,
             std::shared_ptr<const where::OperatorRegistry> operators,
             std::shared_ptr<plugins::Backend> backend,
             response::ProjectionOptions projection = {})
      : schema_(std::move(schema)),
        operators_(std::move(operators)),
        backend_(std::move(backend)),
        projection_(projection) {}

  // Plans every root field first (so bad input fails before any SQL is
  // sent), then runs them in order and writes one body
  // {"data":{<root>:...,...}}. A row that is not valid JSON makes its root
  // field null with an entry in "errors". Errors: the planner's
  // (InvalidArgument, NotFound) and the backend's (see plugins/backend.h).
  absl::StatusOr<std::string> Execute(const v1::QueryDefinition& query) const;

  // The statement one root field would run, without running it (for
  // debugging, and for running the same SQL through another driver).
  absl::StatusOr<planner::Plan> Explain(const v1::RootField& root) const;

 private:
  std::shared_ptr<const where::Schema> schema_;
  std::shared_ptr<const where::OperatorRegistry> operators_;
  std::shared_ptr<plugins::Backend> backend_;
  response::ProjectionOptions projection_;
};

}  // namespace fraiseql

#endif  // FRAISEQL_REPOSITORY_REPOSITORY_H_
