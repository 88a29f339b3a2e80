#include "pybind/pool_bindings.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "pybind/call_args.h"
#include "pybind/errors.h"
#include "pybind11/stl.h"

namespace py = pybind11;

namespace fraiseql::pybind {

PyPool::PyPool(pool::PoolOptions options) {
  absl::StatusOr<std::shared_ptr<pool::Pool>> created;
  {
    py::gil_scoped_release release;
    created = pool::Pool::Create(std::move(options));
  }
  pool_ = ValueOrRaise(std::move(created));
}

PyPool::~PyPool() {
  py::gil_scoped_release release;
  pool_.reset();
}

py::dict PyPool::Stats() const {
  pool::PoolStats s = pool_->Stats();
  py::dict d;
  d["size"] = s.size;
  d["idle"] = s.idle;
  d["in_use"] = s.in_use;
  d["waiting"] = s.waiting;
  d["acquired_total"] = s.acquired_total;
  d["timeouts"] = s.timeouts;
  d["errors"] = s.errors;
  d["opened"] = s.opened;
  d["closed"] = s.closed;
  d["rejected"] = s.rejected;
  d["health_check_failures"] = s.health_check_failures;
  d["retired"] = s.retired;
  d["last_error"] = s.last_error;
  d["max_size"] = pool_->options().max_size;
  return d;
}

namespace {

// Pool(...)'s keyword arguments onto the C++ options; the defaults of
// those arguments are read from pool::PoolOptions (see DefinePool), so the
// two cannot disagree.
pool::PoolOptions PoolOptionsFromArguments(
    std::optional<std::string> url, int min_size, int max_size,
    double acquire_timeout, double connect_timeout,
    const std::string& application_name, double idle_timeout,
    double max_lifetime, double health_check_after_idle,
    double reconnect_backoff_base, double reconnect_backoff_max,
    double reconnect_jitter, int max_waiters, double statement_timeout,
    double maintenance_interval,
    const std::map<std::string, std::string>& settings) {
  pool::PoolOptions options = pool::PoolOptions::FromEnvironment();
  options.connection.session_settings.assign(settings.begin(), settings.end());
  if (url.has_value()) options.connection.conninfo = *url;
  options.connection.application_name = application_name;
  options.connection.connect_timeout = absl::Seconds(connect_timeout);
  // Negative values are the pool's to refuse; NaN, infinity and values
  // past the server's maximum never reach the startup options.
  if (!(statement_timeout <= kMaxTimeoutSeconds)) {
    Raise(absl::InvalidArgumentError(
        "invalid pool option statement_timeout: expected at most "
        "2147483.647 seconds (the server's maximum)"));
  }
  options.connection.statement_timeout =
      absl::Ceil(absl::Seconds(statement_timeout), absl::Milliseconds(1));
  options.min_size = min_size;
  options.max_size = max_size;
  options.acquire_timeout = absl::Seconds(acquire_timeout);
  options.idle_timeout = SecondsOrInfinite(idle_timeout);
  options.max_lifetime = SecondsOrInfinite(max_lifetime);
  options.health_check_after_idle = SecondsOrInfinite(health_check_after_idle);
  options.reconnect_backoff_base = absl::Seconds(reconnect_backoff_base);
  options.reconnect_backoff_max = absl::Seconds(reconnect_backoff_max);
  options.reconnect_jitter = reconnect_jitter;
  options.max_waiters = max_waiters;
  options.maintenance_interval = absl::Seconds(maintenance_interval);
  return options;
}

}  // namespace

void DefinePool(py::module_& m) {
  const pool::PoolOptions defaults;
  py::class_<PyPool>(m, "Pool",
                     "A pool of PostgreSQL connections. `url` defaults to "
                     "$FRAISEQL_DATABASE_URL, then libpq's PG* variables.")
      .def(py::init(
               [](std::optional<std::string> url, int min_size, int max_size,
                  double acquire_timeout, double connect_timeout,
                  const std::string& application_name, double idle_timeout,
                  double max_lifetime, double health_check_after_idle,
                  double reconnect_backoff_base, double reconnect_backoff_max,
                  double reconnect_jitter, int max_waiters,
                  double statement_timeout, double maintenance_interval,
                  const std::map<std::string, std::string>& settings) {
                 return std::make_unique<PyPool>(PoolOptionsFromArguments(
                     url, min_size, max_size, acquire_timeout, connect_timeout,
                     application_name, idle_timeout, max_lifetime,
                     health_check_after_idle, reconnect_backoff_base,
                     reconnect_backoff_max, reconnect_jitter, max_waiters,
                     statement_timeout, maintenance_interval, settings));
               }),
           py::arg("url") = py::none(),
           py::arg("min_size").noconvert() = defaults.min_size,
           py::arg("max_size").noconvert() = defaults.max_size,
           py::arg("acquire_timeout") =
               ToPythonSeconds(defaults.acquire_timeout),
           py::arg("connect_timeout") =
               ToPythonSeconds(defaults.connection.connect_timeout),
           py::arg("application_name") = defaults.connection.application_name,
           py::arg("idle_timeout") = ToPythonSeconds(defaults.idle_timeout),
           py::arg("max_lifetime") = ToPythonSeconds(defaults.max_lifetime),
           py::arg("health_check_after_idle") =
               ToPythonSeconds(defaults.health_check_after_idle),
           py::arg("reconnect_backoff_base") =
               ToPythonSeconds(defaults.reconnect_backoff_base),
           py::arg("reconnect_backoff_max") =
               ToPythonSeconds(defaults.reconnect_backoff_max),
           py::arg("reconnect_jitter") = defaults.reconnect_jitter,
           py::arg("max_waiters").noconvert() = defaults.max_waiters,
           py::arg("statement_timeout") =
               ToPythonSeconds(defaults.connection.statement_timeout),
           py::arg("maintenance_interval") =
               ToPythonSeconds(defaults.maintenance_interval),
           py::arg("settings") = std::map<std::string, std::string>(),
           "Durations are seconds (float('inf') disables idle_timeout, "
           "max_lifetime and health_check_after_idle). statement_timeout=0 "
           "keeps the server's. settings: server settings set on every "
           "connection at connect ({'plan_cache_mode': "
           "'force_generic_plan'}; not the pinned TimeZone, DateStyle, "
           "IntervalStyle, extra_float_digits, standard_conforming_strings, "
           "client_encoding). Callers beyond max_waiters fail at once with "
           "PoolExhaustedError. Invalid options raise InvalidInputError "
           "naming the option.")
      .def("stats", &PyPool::Stats,
           "Counters: size, idle, in_use, waiting, acquired_total, timeouts, "
           "errors, opened, closed, rejected, health_check_failures, "
           "retired, last_error (text), and max_size.");
}

}  // namespace fraiseql::pybind
