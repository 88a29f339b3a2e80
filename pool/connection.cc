#include "pool/connection.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "base/pg_status.h"
#include "pqxx/connection"
#include "pqxx/except"

namespace fraiseql::pool {
namespace {

// Connects with PQconnectdbParams so that the user's URL is expanded and our
// own keywords (application name, pinned settings) still apply, and keeps
// the handle for the streaming executor. libpqxx 6 offers no public access
// to it; this policy is the documented extension point.
class KeepHandlePolicy : public pqxx::connectionpolicy {
 public:
  explicit KeepHandlePolicy(const ConnectionOptions& options)
      : pqxx::connectionpolicy(options.conninfo), options_(options) {}

  handle do_startconnect(handle orig) override {
    if (orig != nullptr) return orig;
    std::string timeout = absl::StrCat(
        std::max<int64_t>(1, absl::ToInt64Seconds(options_.connect_timeout)));
    std::string session_options = SessionOptionsFor(options_);
    std::vector<const char*> keys = {"dbname", "application_name",
                                     "connect_timeout", "client_encoding",
                                     "options", nullptr};
    std::vector<const char*> values = {
        options_.conninfo.empty() ? nullptr : options_.conninfo.c_str(),
        options_.application_name.c_str(), timeout.c_str(), "UTF8",
        session_options.c_str(), nullptr};
    PGconn* conn = PQconnectdbParams(keys.data(), values.data(),
                                     /*expand_dbname=*/1);
    if (conn == nullptr) throw std::bad_alloc();
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string why = PgMessageOneLine(PQerrorMessage(conn));
      PQfinish(conn);
      throw pqxx::broken_connection(why);
    }
    handle_ = conn;
    return conn;
  }

  handle do_disconnect(handle orig) noexcept override {
    handle_ = nullptr;
    return pqxx::connectionpolicy::do_disconnect(orig);
  }

  PGconn* handle_value() const { return handle_; }

 private:
  ConnectionOptions options_;
  PGconn* handle_ = nullptr;
};

}  // namespace

namespace {

// The `options` the user gave: in the conninfo, else in PGOPTIONS (libpq's
// fallback, which our own `options` keyword would otherwise replace).
std::string UserOptions(const std::string& conninfo) {
  std::string value;
  if (!conninfo.empty()) {
    PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), nullptr);
    for (PQconninfoOption* o = parsed; o != nullptr && o->keyword != nullptr;
         ++o) {
      if (std::string_view(o->keyword) == "options" && o->val != nullptr) {
        value = o->val;
      }
    }
    PQconninfoFree(parsed);
  }
  if (value.empty()) {
    const char* env = std::getenv("PGOPTIONS");
    if (env != nullptr) value = env;
  }
  return value;
}

// A value as one word of the options string: spaces and backslashes are
// escaped with a backslash (PostgreSQL's rule for `options`).
std::string OptionWord(absl::string_view text) {
  std::string word;
  for (char c : text) {
    if (c == ' ' || c == '\\' || c == '\t' || c == '\n' || c == '\r') {
      word.push_back('\\');
    }
    word.push_back(c);
  }
  return word;
}

constexpr absl::string_view kPinnedNames[] = {"timezone",
                                              "datestyle",
                                              "intervalstyle",
                                              "extra_float_digits",
                                              "standard_conforming_strings",
                                              "client_encoding"};

}  // namespace

absl::Status ValidateSessionSettings(
    const std::vector<std::pair<std::string, std::string>>& settings) {
  for (const auto& [name, value] : settings) {
    bool valid_name = !name.empty() && name.size() <= 63;
    for (char c : name) {
      valid_name &= absl::ascii_isalnum(c) || c == '_' || c == '.';
    }
    if (!valid_name) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid pool option settings: '", absl::CHexEscape(name),
          "' is not a setting name (letters, digits, '_' and '.')"));
    }
    for (absl::string_view pinned : kPinnedNames) {
      if (absl::EqualsIgnoreCase(name, pinned)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid pool option settings: ", name,
            " is pinned by the pool (results must not depend on it)"));
      }
    }
    if (value.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid pool option settings: the value of ", name,
                       " holds a NUL character"));
    }
  }
  return absl::OkStatus();
}

std::string SessionOptionsFor(const ConnectionOptions& options) {
  std::string value = UserOptions(options.conninfo);
  if (!value.empty()) value.push_back(' ');
  absl::StrAppend(&value, kPinnedSessionOptions);
  if (options.statement_timeout > absl::ZeroDuration()) {
    absl::StrAppend(&value, " -c statement_timeout=",
                    std::max<int64_t>(1, absl::ToInt64Milliseconds(
                                             options.statement_timeout)));
  }
  for (const auto& [name, setting] : options.session_settings) {
    absl::StrAppend(&value, " -c ", name, "=", OptionWord(setting));
  }
  return value;
}

class Connection::PqxxConnection : public pqxx::connection_base {
 public:
  explicit PqxxConnection(const ConnectionOptions& options)
      : pqxx::connection_base(policy_), policy_(options) {
    init();
    // A reconnect behind our back would invalidate the raw handle.
    inhibit_reactivation(true);
  }
  ~PqxxConnection() noexcept { close(); }

  PGconn* handle() const { return policy_.handle_value(); }

 private:
  KeepHandlePolicy policy_;
};

absl::Status ValidateConninfo(const std::string& conninfo) {
  if (conninfo.empty()) return absl::OkStatus();
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string why =
        PgMessageOneLine(error != nullptr ? error : "out of memory");
    PQfreemem(error);
    return absl::InvalidArgumentError(
        absl::StrCat("invalid connection string: ", why));
  }
  PQconninfoFree(options);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(
    const ConnectionOptions& options) {
  if (absl::Status valid = ValidateConninfo(options.conninfo); !valid.ok()) {
    return valid;
  }
  try {
    auto connection = std::make_unique<PqxxConnection>(options);
    return std::unique_ptr<Connection>(new Connection(std::move(connection)));
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("cannot connect to PostgreSQL: ", e.what()));
  }
}

Connection::Connection(std::unique_ptr<PqxxConnection> connection)
    : connection_(std::move(connection)), raw_(connection_->handle()) {
  if (raw_ != nullptr) {
    previous_receiver_ = PQsetNoticeReceiver(raw_, &ReceiveNotice, this);
  }
}

void Connection::ReceiveNotice(void* self, const PGresult* notice) {
  auto* connection = static_cast<Connection*>(self);
  const char* severity =
      PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity != nullptr && (std::strcmp(severity, "FATAL") == 0 ||
                              std::strcmp(severity, "PANIC") == 0)) {
    connection->closing_ = true;
  }
  // libpq's default receiver, which hands the text to libpqxx's notice
  // processor (libpqxx 6 sets a processor, not a receiver); it reads the
  // hooks from the notice and takes no argument.
  if (connection->previous_receiver_ != nullptr) {
    connection->previous_receiver_(nullptr, notice);
  }
}

Connection::~Connection() = default;


bool Connection::PollAlive() {
  if (raw_ == nullptr || PQstatus(raw_) != CONNECTION_OK) return false;
  // Data on an idle connection: let libpq read and parse it. A terminated
  // backend sends its FATAL message (noted by ReceiveNotice), then end of
  // stream, which may not have arrived yet: the message alone tells the
  // session is over. Read while the socket stays readable (bounded).
  for (int i = 0; i < 8 && !closing_; ++i) {
    pollfd fd = {PQsocket(raw_), POLLIN, 0};
    int ready = poll(&fd, 1, 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    if (PQconsumeInput(raw_) == 0) return false;
    PQisBusy(raw_);  // parses what arrived (a notice while idle)
    if (PQstatus(raw_) != CONNECTION_OK) return false;
  }
  return !closing_ && PQstatus(raw_) == CONNECTION_OK;
}

absl::Status Connection::Ping(absl::Time deadline) {
  if (raw_ == nullptr || PQstatus(raw_) != CONNECTION_OK) {
    return absl::UnavailableError("health check failed: connection is closed");
  }
  if (PQsendQuery(raw_, "") == 0) {
    return absl::UnavailableError(
        absl::StrCat("health check failed: ", PgMessageOneLine(PQerrorMessage(raw_))));
  }
  // Wait with poll() rather than PQexec: a server that stopped answering
  // (network partition) must not hold the caller past the deadline.
  absl::Status status = absl::OkStatus();
  while (true) {
    while (PQisBusy(raw_) != 0) {
      int64_t wait_ms = std::max<int64_t>(
          0, absl::ToInt64Milliseconds(deadline - absl::Now()));
      pollfd fd = {PQsocket(raw_), POLLIN, 0};
      int ready = poll(&fd, 1, static_cast<int>(std::min<int64_t>(
                                   wait_ms, 1 << 30)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        return absl::DeadlineExceededError(
            "health check failed: no answer from the server in time");
      }
      if (ready < 0 || PQconsumeInput(raw_) == 0) {
        return absl::UnavailableError(absl::StrCat(
            "health check failed: ", PgMessageOneLine(PQerrorMessage(raw_))));
      }
    }
    PGresult* result = PQgetResult(raw_);
    if (result == nullptr) break;
    ExecStatusType kind = PQresultStatus(result);
    if (status.ok() && kind != PGRES_EMPTY_QUERY && kind != PGRES_COMMAND_OK) {
      status = absl::UnavailableError(absl::StrCat(
          "health check failed: ", PgMessageOneLine(PQresultErrorMessage(result))));
    }
    PQclear(result);
  }
  if (status.ok() && !IsReusable()) {
    status = absl::UnavailableError(
        absl::StrCat("health check failed: ", PgMessageOneLine(PQerrorMessage(raw_))));
  }
  return status;
}

bool Connection::IsReusable() const {
  return raw_ != nullptr && PQstatus(raw_) == CONNECTION_OK &&
         PQtransactionStatus(raw_) == PQTRANS_IDLE && !PQisBusy(raw_) &&
         PQpipelineStatus(raw_) == PQ_PIPELINE_OFF;
}

}  // namespace fraiseql::pool
