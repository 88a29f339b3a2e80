#include "stream/chunked_query.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/pg_status.h"

namespace fraiseql::stream {
namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

absl::Status ConnectionError(PGconn* conn, absl::string_view what) {
  std::string why = PQerrorMessage(conn);
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) {
    why.pop_back();
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        what, ": the connection to the server was lost: ", why));
  }
  return absl::UnavailableError(absl::StrCat(what, ": ", why));
}

absl::Status ServerError(const PGresult* result) {
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  return StatusFromSqlState(sqlstate != nullptr ? sqlstate : "XX000",
                            "query failed",
                            primary != nullptr ? primary
                                               : PQresultErrorMessage(result));
}

// Reads and drops whatever results are left so the connection is idle.
void Drain(PGconn* conn) {
  while (PGresult* r = PQgetResult(conn)) PQclear(r);
}

void Cancel(PGconn* conn) {
  if (PGcancel* cancel = PQgetCancel(conn)) {
    char buf[256];
    PQcancel(cancel, buf, sizeof buf);
    PQfreeCancel(cancel);
  }
  Drain(conn);
}

}  // namespace

absl::StatusOr<StreamResult> StreamQuery(PGconn* conn,
                                         const planner::Plan& plan,
                                         const StreamOptions& options,
                                         RowSink* sink) {
  std::vector<const char*> values;
  values.reserve(plan.params.size());
  for (const where::Param& p : plan.params) {
    values.push_back(p.is_null ? nullptr : p.text.c_str());
  }
  if (!PQsendQueryParams(conn, plan.sql.c_str(),
                         static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, /*resultFormat=*/0)) {
    return ConnectionError(conn, "cannot send the query");
  }
  if (!PQsetSingleRowMode(conn)) {
    Drain(conn);
    return absl::InternalError("cannot switch the query to single-row mode");
  }

  const size_t chunk_rows = options.chunk_rows > 0 ? options.chunk_rows : 1;
  StreamResult stats;
  std::vector<Result> held;  // keeps the chunk's rows alive until handed on
  held.reserve(chunk_rows);
  RowChunk chunk;
  chunk.rows.reserve(chunk_rows);
  auto flush = [&]() -> absl::Status {
    if (chunk.rows.empty()) return absl::OkStatus();
    absl::Status status = sink->OnChunk(chunk);
    ++stats.chunks;
    chunk.rows.clear();
    chunk.more.clear();
    held.clear();
    return status;
  };

  auto cell = [](const PGresult* r, int column) {
    return PQgetisnull(r, 0, column)
               ? absl::string_view("null")
               : absl::string_view(PQgetvalue(r, 0, column),
                                   static_cast<size_t>(PQgetlength(r, 0, column)));
  };
  absl::Status failure;
  while (PGresult* raw = PQgetResult(conn)) {
    Result result(raw);
    ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_SINGLE_TUPLE) {
      if (!failure.ok()) continue;  // draining after a failure
      chunk.rows.push_back(cell(raw, 0));
      if (int columns = PQnfields(raw); columns > 1) {
        chunk.columns = columns;
        for (int c = 1; c < columns; ++c) chunk.more.push_back(cell(raw, c));
      }
      held.push_back(std::move(result));
      ++stats.rows;
      if (chunk.rows.size() >= chunk_rows) {
        failure = flush();
        if (!failure.ok()) {
          Cancel(conn);
          return failure;
        }
      }
    } else if (status == PGRES_TUPLES_OK) {
      // End of the rows (zero-row result in single-row mode).
      if (failure.ok()) failure = flush();
    } else if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR ||
               status == PGRES_BAD_RESPONSE) {
      if (failure.ok()) failure = ServerError(raw);
    } else {
      if (failure.ok()) {
        failure = absl::InternalError(absl::StrCat(
            "unexpected result status ", PQresStatus(status)));
      }
    }
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    return ConnectionError(conn, "query failed");
  }
  if (!failure.ok()) return failure;
  return stats;
}

}  // namespace fraiseql::stream
