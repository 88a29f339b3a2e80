// Repository::RunSql: the caller's raw SQL, its rows as a JSON array.
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/pg_status.h"
#include "base/status_macros.h"
#include "repository/internal/call_recorder.h"
#include "repository/raw_sql.h"
#include "repository/repository.h"
#include "response/response_writer.h"

namespace fraiseql {
namespace {

using repository_internal::CallRecorder;

// Collects RunSql's rows (one JSON object each) into a compact JSON array,
// up to `cap` bytes (0: no cap).
class JsonArraySink : public exec::RowSink {
 public:
  explicit JsonArraySink(size_t cap) : cap_(cap) { json_.push_back('['); }

  absl::Status OnChunk(const exec::RowChunk& chunk) override {
    for (absl::string_view row : chunk.rows) {
      if (rows_ > 0) json_.push_back(',');
      if (absl::Status s = response::AppendCanonicalJson(row, &json_);
          !s.ok()) {
        return absl::DataLossError(
            absl::StrCat("invalid row from the database: ", s.message()));
      }
      ++rows_;
      if (cap_ > 0 && json_.size() + 1 > cap_) {
        absl::Status status = absl::ResourceExhaustedError(
            absl::StrCat("the result exceeds max_response_bytes (", cap_,
                         " bytes) after ", rows_,
                         " rows; select fewer rows or columns, or raise "
                         "max_response_bytes"));
        status.SetPayload(kResponseTooLargePayloadUrl, absl::Cord("response"));
        return status;
      }
    }
    return absl::OkStatus();
  }

  std::string Take() {
    json_.push_back(']');
    return std::move(json_);
  }

 private:
  size_t cap_;
  std::string json_;
  int64_t rows_ = 0;
};

// The server's answer to several statements in one extended-protocol
// message, should one get past ScanRawSql.
bool IsSeveralStatementsError(const absl::Status& status) {
  return SqlStateOf(status) == "42601" &&
         absl::StrContains(status.message(), "multiple commands");
}

absl::Status SeveralStatementsError() {
  return absl::InvalidArgumentError(
      "RunSql runs one SQL statement; the SQL text holds several (a ';' is "
      "followed by more); make one call per statement");
}

}  // namespace

absl::StatusOr<std::string> Repository::RunSql(
    const exec::Plan& plan, bool fetch,
    const exec::RequestContext& context) const {
  CallRecorder record(context.stats);
  RETURN_IF_ERROR(exec::ValidateRequestContext(context));
  const RawSqlFacts facts = ScanRawSql(plan.sql);
  if (facts.empty) {
    return absl::InvalidArgumentError(
        "RunSql needs one SQL statement; the SQL text is empty");
  }
  if (facts.several) return SeveralStatementsError();
  record.set_shape({&plan.sql});
  if (static_cast<size_t>(facts.max_placeholder) != plan.params.size()) {
    const size_t given = plan.params.size();
    return absl::InvalidArgumentError(absl::StrCat(
        "the SQL text uses ",
        facts.max_placeholder == 0
            ? std::string("no parameter")
            : absl::StrCat("parameters up to $", facts.max_placeholder),
        " but ", given, given == 1 ? " was" : " were", " given"));
  }
  exec::Plan run;
  if (fetch) {
    // to_json, not to_jsonb: jsonb reorders keys (shortest first), and
    // callers expect a row's columns in their order, as drivers give them.
    // The newline ends a -- comment the body may close with; `.*` makes
    // the whole row, even with a column of the CTE's name.
    run.sql = absl::StrCat("WITH fraiseql_rows AS (\n", facts.body,
                           "\n) SELECT to_json(fraiseql_rows.*)::text FROM "
                           "fraiseql_rows");
  } else {
    run.sql = plan.sql;
  }
  run.params = plan.params;
  JsonArraySink sink(options_.max_response_bytes);
  // Raw SQL has as many shapes as callers write: preparing each would crowd
  // the planner's statements out of the per-connection cache.
  const exec::Statement statement{&run, fetch ? &sink : nullptr,
                                  /*prepare=*/false};
  bool entered;
  RETURN_IF_ERROR(EnterGate(context, &entered));
  absl::Cleanup leave = [&] { LeaveGate(entered); };
  absl::Status status =
      writer_->ExecuteBatch(absl::MakeConstSpan(&statement, 1), context);
  if (IsSeveralStatementsError(status)) return SeveralStatementsError();
  RETURN_IF_ERROR(status);
  std::string json = fetch ? sink.Take() : std::string("[]");
  record.set_bytes(json.size());
  return json;
}

}  // namespace fraiseql
