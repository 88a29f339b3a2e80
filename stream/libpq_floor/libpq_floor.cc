// The raw libpq floor of ci/bench: connects, prepares one statement, then
// runs it --repeat times, fetching every row's bytes (text format) and
// touching them, building nothing. Its time is the least any client can
// spend on the query over one connection; ci/bench.py sets the native path
// beside it. Prints one JSON object on stdout:
//
//   {"mode":"whole","rows":R,"bytes":B,"median_ms":M,"min_ms":m,
//    "runs_ms":[...],"checksum":C}
//
// `bytes` is the sum of the first column's lengths of one run.
//
// With --serve it runs once per line read on stdin instead (after the
// warm-up), printing one line per run, {"ms":M,"rows":R,"bytes":B}, until
// stdin ends: a caller can interleave its runs with other clients' so that
// no client alone profits from warm caches or an idle machine.
//
// Usage:
//   libpq_floor --sql TEXT [--param VALUE | --null-param]... [--url URL]
//               [--repeat N | --serve] [--warmup N] [--single-row]
//               [--pipeline]
//
//   --url         connection string (default: $FRAISEQL_DATABASE_URL)
//   --sql         the statement, with $1.. placeholders
//   --param V     the next parameter, as text; --null-param: the next is NULL
//   --repeat N    timed runs (default 10); --warmup N untimed runs first (1)
//   --serve       one timed run per line on stdin (see above)
//   --single-row  libpq single-row mode (one PGresult per row, as the native
//                 stream/ does) instead of one whole result
//   --pipeline    send in pipeline mode (Bind/Execute + Sync, as stream/
//                 does); implies the asynchronous calls
//
// Exit status 0 on success; 1 with a message on stderr (bound values are
// never printed); 2 on a usage error.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libpq-fe.h"

namespace {

constexpr char kStatement[] = "libpq_floor";

struct Options {
  std::string url;
  std::string sql;
  std::vector<std::optional<std::string>> params;
  int repeat = 10;
  int warmup = 1;
  bool single_row = false;
  bool pipeline = false;
  bool serve = false;
};

struct RunStats {
  int64_t rows = 0;
  int64_t bytes = 0;
  uint64_t checksum = 0;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;

[[noreturn]] void Fail(const std::string& what, const char* why) {
  std::string reason = why != nullptr ? why : "";
  while (!reason.empty() && reason.back() == '\n') reason.pop_back();
  std::fprintf(stderr, "libpq_floor: %s: %s\n", what.c_str(), reason.c_str());
  std::exit(1);
}

[[noreturn]] void Usage(const std::string& problem) {
  std::fprintf(stderr,
               "libpq_floor: %s\nusage: libpq_floor --sql TEXT [--param V | "
               "--null-param]... [--url URL] [--repeat N] [--warmup N] "
               "[--single-row] [--pipeline]\n",
               problem.c_str());
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options options;
  if (const char* url = std::getenv("FRAISEQL_DATABASE_URL")) {
    options.url = url;
  }
  bool have_sql = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(absl::StrCat(arg, " needs a value"));
      return argv[++i];
    };
    auto count = [&](int minimum) {
      const std::string text = value();
      int n = 0;
      if (!absl::SimpleAtoi(text, &n) || n < minimum) {
        Usage(absl::StrCat(arg, " must be an integer of at least ", minimum,
                           ", got '", text, "'"));
      }
      return n;
    };
    if (arg == "--url") {
      options.url = value();
    } else if (arg == "--sql") {
      options.sql = value();
      have_sql = true;
    } else if (arg == "--param") {
      options.params.emplace_back(value());
    } else if (arg == "--null-param") {
      options.params.emplace_back(std::nullopt);
    } else if (arg == "--repeat") {
      options.repeat = count(1);
    } else if (arg == "--warmup") {
      options.warmup = count(0);
    } else if (arg == "--single-row") {
      options.single_row = true;
    } else if (arg == "--pipeline") {
      options.pipeline = true;
    } else if (arg == "--serve") {
      options.serve = true;
    } else {
      Usage(absl::StrCat("unknown argument '", arg, "'"));
    }
  }
  if (!have_sql) Usage("--sql is required");
  if (options.url.empty()) {
    Usage("no server: pass --url or set FRAISEQL_DATABASE_URL");
  }
  return options;
}

// Every row's first column: its length summed, its first byte read.
void Touch(const PGresult* result, RunStats* stats) {
  const int rows = PQntuples(result);
  for (int r = 0; r < rows; ++r) {
    const int length = PQgetlength(result, r, 0);
    stats->bytes += length;
    if (length > 0) {
      stats->checksum +=
          static_cast<unsigned char>(PQgetvalue(result, r, 0)[0]);
    }
  }
  stats->rows += rows;
}

void WaitReadable(PGconn* conn) {
  if (!PQisBusy(conn)) return;
  while (true) {
    if (!PQconsumeInput(conn)) Fail("reading the result", PQerrorMessage(conn));
    if (!PQisBusy(conn)) return;
    pollfd fd{PQsocket(conn), POLLIN, 0};
    if (poll(&fd, 1, -1) < 0 && errno != EINTR) {
      Fail("waiting for the server", std::strerror(errno));
    }
  }
}

// Reads results up to the null that ends the query's (or, in pipeline mode,
// up to the Sync).
void ReadResults(PGconn* conn, const Options& options, RunStats* stats) {
  while (true) {
    WaitReadable(conn);
    Result result(PQgetResult(conn));
    if (result == nullptr) {
      if (!options.pipeline) return;
      continue;  // end of the query's results; the Sync's follows
    }
    switch (PQresultStatus(result.get())) {
      case PGRES_SINGLE_TUPLE:
      case PGRES_TUPLES_OK:
        Touch(result.get(), stats);
        break;
      case PGRES_PIPELINE_SYNC:
        return;
      default:
        Fail("the query failed", PQresultErrorMessage(result.get()));
    }
  }
}

RunStats RunOnce(PGconn* conn, const Options& options,
                 const std::vector<const char*>& values) {
  RunStats stats;
  const int n = static_cast<int>(values.size());
  if (!options.single_row && !options.pipeline) {
    Result result(PQexecPrepared(conn, kStatement, n, values.data(), nullptr,
                                 nullptr, /*resultFormat=*/0));
    if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
      Fail("the query failed", PQresultErrorMessage(result.get()));
    }
    Touch(result.get(), &stats);
    return stats;
  }
  if (options.pipeline && !PQenterPipelineMode(conn)) {
    Fail("cannot enter pipeline mode", PQerrorMessage(conn));
  }
  if (!PQsendQueryPrepared(conn, kStatement, n, values.data(), nullptr, nullptr,
                           /*resultFormat=*/0)) {
    Fail("cannot send the query", PQerrorMessage(conn));
  }
  if (options.pipeline && PQpipelineSync(conn) != 1) {
    Fail("cannot send the pipeline sync", PQerrorMessage(conn));
  }
  if (options.single_row && !PQsetSingleRowMode(conn)) {
    Fail("cannot switch to single-row mode", PQerrorMessage(conn));
  }
  ReadResults(conn, options, &stats);
  if (options.pipeline && !PQexitPipelineMode(conn)) {
    Fail("cannot leave pipeline mode", PQerrorMessage(conn));
  }
  return stats;
}

std::string Milliseconds(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", ms);
  return buf;
}

void Print(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
      std::fflush(stdout) != 0) {
    Fail("writing the result", std::strerror(errno));
  }
}

// One timed run; its wall time in milliseconds.
double TimedRun(PGconn* conn, const Options& options,
                const std::vector<const char*>& values, RunStats* stats) {
  const auto start = std::chrono::steady_clock::now();
  *stats = RunOnce(conn, options, values);
  const auto end = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(end - start).count();
}

// --serve: a run per line on stdin, a line of JSON per run.
void Serve(PGconn* conn, const Options& options,
           const std::vector<const char*>& values) {
  char line[256];
  while (std::fgets(line, sizeof line, stdin) != nullptr) {
    RunStats stats;
    const double ms = TimedRun(conn, options, values, &stats);
    Print(absl::StrCat("{\"ms\":", Milliseconds(ms), ",\"rows\":", stats.rows,
                       ",\"bytes\":", stats.bytes, "}\n"));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseArgs(argc, argv);
  Conn conn(PQconnectdb(options.url.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    Fail("cannot connect", PQerrorMessage(conn.get()));
  }
  {
    Result prepared(PQprepare(conn.get(), kStatement, options.sql.c_str(),
                              static_cast<int>(options.params.size()),
                              nullptr));
    if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
      Fail("cannot prepare the statement",
           PQresultErrorMessage(prepared.get()));
    }
  }
  std::vector<const char*> values;
  for (const std::optional<std::string>& p : options.params) {
    values.push_back(p.has_value() ? p->c_str() : nullptr);
  }

  for (int i = 0; i < options.warmup; ++i) RunOnce(conn.get(), options, values);
  if (options.serve) {
    Serve(conn.get(), options, values);
    return 0;
  }
  std::vector<double> runs_ms;
  RunStats last;
  uint64_t checksum = 0;
  for (int i = 0; i < options.repeat; ++i) {
    runs_ms.push_back(TimedRun(conn.get(), options, values, &last));
    checksum += last.checksum;
  }

  std::vector<double> sorted = runs_ms;
  std::sort(sorted.begin(), sorted.end());
  const size_t mid = sorted.size() / 2;
  const double median = sorted.size() % 2 == 1
                            ? sorted[mid]
                            : (sorted[mid - 1] + sorted[mid]) / 2;
  const char* mode =
      options.single_row
          ? (options.pipeline ? "pipeline-single-row" : "single-row")
          : (options.pipeline ? "pipeline" : "whole");
  std::vector<std::string> runs_text;
  for (double ms : runs_ms) runs_text.push_back(Milliseconds(ms));
  const std::string json = absl::StrCat(
      "{\"mode\":\"", mode, "\",\"rows\":", last.rows,
      ",\"bytes\":", last.bytes, ",\"median_ms\":", Milliseconds(median),
      ",\"min_ms\":", Milliseconds(sorted.front()), ",\"runs_ms\":[",
      absl::StrJoin(runs_text, ","), "],\"checksum\":", checksum, "}\n");
  Print(json);
  return 0;
}
