// pybind/: the `fraiseql_native` Python module. Declarations only: the work
// happens in the C++ stages; absl::Status becomes a Python exception in one
// place (RaiseIfError). The GIL is released around every database call.
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/pg_status.h"
#include "exec/request_context.h"
#include "planner/selection_text.h"
#include "pool/pool.h"
#include "proto/query.pb.h"
#include "pybind/backend_bindings.h"
#include "pybind/errors.h"
#include "pybind/operator_bindings.h"
#include "pybind/parity_bindings.h"
#include "pybind/python_json.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"
#include "repository/body_stream.h"
#include "repository/repository.h"
#include "response/camel_case.h"
#include "where/operator.h"
#include "where/schema.h"
#include "where/schema_file.h"

namespace py = pybind11;

namespace fraiseql::pybind {
namespace {

absl::Duration Seconds(double seconds) { return absl::Seconds(seconds); }

// The largest statement_timeout the server takes: INT_MAX milliseconds
// (about 24.8 days). Timeouts are checked against it so that they never
// reach the server out of range.
constexpr double kMaxTimeoutSeconds = 2147483.647;

// The largest piece a streamed body may be asked for (find_stream's
// chunk_bytes): a piece is buffered whole, max_pending + 1 times.
constexpr int64_t kMaxChunkBytes = int64_t{64} << 20;

// Python-side schema: a Schema being filled; Repositories take snapshots.
class PySchema {
 public:
  void AddType(const std::string& name, const py::dict& fields) {
    RaiseIfError(schema_.AddObjectType(name, FieldSpecs(fields, name)));
  }

  void AddView(const std::string& name, const std::string& type_name,
               const py::dict& fields, const py::dict& columns,
               const std::string& jsonb_column, const py::dict& foreign_keys,
               std::optional<std::vector<std::string>> operators,
               const std::string& text_search_config) {
    where::ViewSpec spec;
    spec.name = name;
    spec.type_name = type_name;
    spec.jsonb_column = jsonb_column;
    spec.columns = Pairs(columns, "columns");
    spec.fields = FieldSpecs(fields, type_name);
    spec.foreign_keys = Pairs(foreign_keys, "foreign_keys");
    if (operators.has_value()) spec.allowed_operators = *operators;
    spec.text_search_config = text_search_config;
    RaiseIfError(schema_.AddView(spec));
  }

  void Load(const std::string& path) {
    RaiseIfError(where::LoadSchemaFile(path, &schema_));
  }

  void LoadJson(const std::string& text) {
    RaiseIfError(where::LoadSchemaJson(text, &schema_));
  }

  std::vector<std::string> Views() const { return schema_.ViewNames(); }
  const where::Schema& schema() const { return schema_; }

 private:
  static std::vector<std::pair<std::string, std::string>> Pairs(
      const py::dict& dict, const char* what) {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (auto item : dict) {
      if (!py::isinstance<py::str>(item.first) ||
          !py::isinstance<py::str>(item.second)) {
        throw py::type_error(
            absl::StrCat(what, " must map str to str"));
      }
      pairs.emplace_back(item.first.cast<std::string>(),
                         item.second.cast<std::string>());
    }
    return pairs;
  }

  static std::vector<where::FieldSpec> FieldSpecs(const py::dict& fields,
                                                  const std::string& owner) {
    std::vector<where::FieldSpec> specs;
    for (auto item : fields) {
      if (!py::isinstance<py::str>(item.first) ||
          !py::isinstance<py::str>(item.second)) {
        throw py::type_error(absl::StrCat(
            "fields of ", owner,
            " must map JSONB keys (str) to kinds (str), e.g. "
            "{'first_name': 'String', 'tags': '[String]'}"));
      }
      specs.push_back({item.first.cast<std::string>(),
                       item.second.cast<std::string>()});
    }
    return specs;
  }

  where::Schema schema_;
};

// Seconds from Python; float('inf') means "never" (InfiniteDuration).
absl::Duration SecondsOrInfinite(double seconds) {
  return std::isinf(seconds) && seconds > 0 ? absl::InfiniteDuration()
                                            : absl::Seconds(seconds);
}

// Keyword arguments of Pool(...), with their defaults.
struct PoolArgs {
  std::optional<std::string> url;
  int min_size = 0;
  int max_size = 10;
  double acquire_timeout = 10.0;
  double connect_timeout = 10.0;
  std::string application_name = "fraiseql-native";
  double idle_timeout = 600.0;
  double max_lifetime = 3600.0;
  double health_check_after_idle = 1.0;
  double reconnect_backoff_base = 0.1;
  double reconnect_backoff_max = 10.0;
  double reconnect_jitter = 0.2;
  int max_waiters = 1000;
  double statement_timeout = 0.0;
  double maintenance_interval = 1.0;
};

class PyPool {
 public:
  // Closing the pool joins its threads and closes connections: not under
  // the GIL.
  ~PyPool() {
    py::gil_scoped_release release;
    pool_.reset();
  }

  explicit PyPool(const PoolArgs& args) {
    pool::PoolOptions options = pool::PoolOptions::FromEnvironment();
    if (args.url.has_value()) options.connection.conninfo = *args.url;
    options.connection.application_name = args.application_name;
    options.connection.connect_timeout = Seconds(args.connect_timeout);
    // Negative values are the pool's to refuse; NaN, infinity and values
    // past the server's maximum never reach the startup options.
    if (!(args.statement_timeout <= kMaxTimeoutSeconds)) {
      Raise(absl::InvalidArgumentError(
          "invalid pool option statement_timeout: expected at most "
          "2147483.647 seconds (the server's maximum)"));
    }
    options.connection.statement_timeout =
        absl::Ceil(Seconds(args.statement_timeout), absl::Milliseconds(1));
    options.min_size = args.min_size;
    options.max_size = args.max_size;
    options.acquire_timeout = Seconds(args.acquire_timeout);
    options.idle_timeout = SecondsOrInfinite(args.idle_timeout);
    options.max_lifetime = SecondsOrInfinite(args.max_lifetime);
    options.health_check_after_idle =
        SecondsOrInfinite(args.health_check_after_idle);
    options.reconnect_backoff_base = Seconds(args.reconnect_backoff_base);
    options.reconnect_backoff_max = Seconds(args.reconnect_backoff_max);
    options.reconnect_jitter = args.reconnect_jitter;
    options.max_waiters = args.max_waiters;
    options.maintenance_interval = Seconds(args.maintenance_interval);
    absl::StatusOr<std::shared_ptr<pool::Pool>> created;
    {
      py::gil_scoped_release release;
      created = pool::Pool::Create(std::move(options));
    }
    pool_ = ValueOrRaise(std::move(created));
  }

  py::dict Stats() const {
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
    return d;
  }

  const std::shared_ptr<pool::Pool>& pool() const { return pool_; }

 private:
  std::shared_ptr<pool::Pool> pool_;
};

// A JSON argument (where, order_by, input): None is "", a str is JSON text
// (bounded in bytes here, parsed by the planner), anything else is
// converted within `limits`. Over a limit, or a value without a JSON form:
// InvalidInputError naming the argument's path and the limit.
std::string JsonArgument(const py::object& value, const char* name,
                         const PythonJsonLimits& limits) {
  if (value.is_none()) return std::string();
  if (py::isinstance<py::str>(value)) {
    return ValueOrRaise(PythonJsonText(value, name, limits.max_bytes));
  }
  return ValueOrRaise(PythonToJson(value, name, limits));
}

// A call's `timeout=` (also Transaction.commit/rollback): finite, > 0 and
// at most kMaxTimeoutSeconds, else InvalidInputError.
absl::Duration TimeoutOrRaise(double seconds) {
  if (!(seconds > 0) || !(seconds <= kMaxTimeoutSeconds)) {
    Raise(absl::InvalidArgumentError(
        "invalid timeout: expected seconds > 0 and at most 2147483.647 (the "
        "server's statement_timeout maximum)"));
  }
  return absl::Seconds(seconds);
}

// Whether `text` is valid UTF-8 (for names that pybind may have taken from
// bytes).
bool IsUtf8(const std::string& text) {
  PyObject* decoded = PyUnicode_DecodeUTF8(
      text.data(), static_cast<Py_ssize_t>(text.size()), "strict");
  if (decoded == nullptr) {
    PyErr_Clear();
    return false;
  }
  Py_DECREF(decoded);
  return true;
}

// The request context of one call: `context` maps "tenant_id", "user_id"
// and "app.<name>" to str, int, bool, Decimal or UUID values (see
// PythonContext for the limits); `timeout` (seconds) is both the client
// deadline and the server's statement_timeout.
exec::RequestContext MakeContext(const py::object& context,
                                 std::optional<double> timeout) {
  exec::RequestContext request;
  if (timeout.has_value()) {
    const absl::Duration d = TimeoutOrRaise(*timeout);
    request.deadline = absl::Now() + d;
    // Whole milliseconds, rounded up: a statement_timeout of 0 would turn
    // the server's timeout off.
    request.statement_timeout = absl::Ceil(d, absl::Milliseconds(1));
  }
  if (context.is_none()) return request;
  if (!py::isinstance<py::dict>(context)) {
    throw py::type_error(
        "context must be a dict, e.g. {'tenant_id': ..., 'user_id': ..., "
        "'app.locale': ...}");
  }
  for (auto& [key, value] : ValueOrRaise(PythonContext(context, kContextLimits))) {
    if (key == "tenant_id") {
      request.tenant_id = std::move(value);
    } else if (key == "user_id") {
      request.user_id = std::move(value);
    } else {
      request.variables[key] = std::move(value);
    }
  }
  RaiseIfError(exec::ValidateRequestContext(request));
  return request;
}

// Keyset pagination arguments of find(); any of them makes the result a
// connection.
struct Pagination {
  std::optional<int64_t> first;
  std::optional<std::string> after;
  std::optional<int64_t> last;
  std::optional<std::string> before;
  bool total_count = false;

  void Fill(v1::RootField* root) const {
    if (first.has_value()) root->set_first(*first);
    if (after.has_value()) root->set_after(*after);
    if (last.has_value()) root->set_last(*last);
    if (before.has_value()) root->set_before(*before);
    root->set_include_total_count(total_count);
  }
};

// A value operation's JSON as Python: numbers of Float and Decimal fields
// (and avg) as decimal.Decimal even when integral, other integral numbers as
// int, other numbers as Decimal; strings (dates, date-times, text) as str;
// true/false as bool; null as None; lists as list.
py::object ValueToPython(const fraiseql::Value& value) {
  py::object decimal = py::module_::import("decimal").attr("Decimal");
  py::dict kwargs;
  kwargs["parse_float"] = decimal;
  if (value.decimal_numbers) kwargs["parse_int"] = decimal;
  return py::module_::import("json").attr("loads")(value.json, **kwargs);
}

// Repository(cursor_secret=...): bytes or str (its UTF-8), 1 to
// kMaxCursorSecretBytes bytes; None: "" (the planner's random secret per
// process).
constexpr size_t kMaxCursorSecretBytes = 4096;

std::string CursorSecret(const py::object& secret) {
  if (secret.is_none()) return std::string();
  std::string bytes;
  if (py::isinstance<py::bytes>(secret)) {
    bytes = secret.cast<std::string>();
  } else if (py::isinstance<py::str>(secret)) {
    bytes = ValueOrRaise(
        PythonStrUtf8(secret, "cursor_secret", kMaxCursorSecretBytes));
  } else {
    Raise(absl::InvalidArgumentError(
        "invalid cursor_secret: expected bytes or str (or None for a random "
        "secret per process)"));
  }
  if (bytes.empty() || bytes.size() > kMaxCursorSecretBytes) {
    Raise(absl::InvalidArgumentError(absl::StrCat(
        "invalid cursor_secret: expected 1 to ", kMaxCursorSecretBytes,
        " bytes (32 random bytes recommended), or None for a random secret "
        "per process")));
  }
  return bytes;
}

class PyRepository {
 public:
  // The repository may hold the last reference to a pool (see ~PyPool).
  virtual ~PyRepository() {
    py::gil_scoped_release release;
    owned_.reset();
  }

  PyRepository(const PyPool& pool, const PySchema& schema, int chunk_rows,
               bool always_typename, int plan_cache_size,
               bool prepared_statements, bool pgbouncer,
               int64_t max_response_bytes, const PyPool* read_pool,
               double statement_timeout, const py::object& cursor_secret,
               int max_root_fields, const std::string& backend,
               const py::object& backend_options) {
    if (chunk_rows < 1) {
      throw py::value_error(absl::StrCat(
          "invalid chunk_rows=", chunk_rows, ": expected at least 1"));
    }
    if (plan_cache_size < 0) {
      throw py::value_error(absl::StrCat("invalid plan_cache_size=",
                                         plan_cache_size,
                                         ": expected 0 (off) or more"));
    }
    if (max_response_bytes < 0) {
      throw py::value_error(absl::StrCat("invalid max_response_bytes=",
                                         max_response_bytes,
                                         ": expected 0 (no cap) or more"));
    }
    if (max_root_fields < 0) {
      throw py::value_error(absl::StrCat("invalid max_root_fields=",
                                         max_root_fields,
                                         ": expected 0 (no limit) or more"));
    }
    if (!(statement_timeout >= 0) ||
        !(statement_timeout <= kMaxTimeoutSeconds)) {
      Raise(absl::InvalidArgumentError(
          "invalid statement_timeout: expected seconds from 0 (none) to "
          "2147483.647 (the server's maximum)"));
    }
    RepositoryOptions options;
    options.planner.cache_capacity = static_cast<size_t>(plan_cache_size);
    options.planner.cursor_secret = CursorSecret(cursor_secret);
    options.projection.always_typename = always_typename;
    options.max_response_bytes = static_cast<size_t>(max_response_bytes);
    options.max_root_fields = static_cast<size_t>(max_root_fields);
    // The backend, by name, from the module's registry. The native one
    // takes the Repository's own keyword arguments; backend_options add to
    // them (and are all a Python backend gets).
    plugins::BackendConfig config;
    config.statement_timeout =
        absl::Ceil(absl::Seconds(statement_timeout), absl::Milliseconds(1));
    if (backend == "native") {
      config.options["chunk_rows"] = absl::StrCat(chunk_rows);
      config.options["prepared_statements"] =
          prepared_statements ? "true" : "false";
      config.options["pgbouncer"] = pgbouncer ? "true" : "false";
    }
    if (!backend_options.is_none()) {
      for (const auto& [key, value] : backend_options.cast<py::dict>()) {
        config.options[py::str(key).cast<std::string>()] =
            py::isinstance<py::bool_>(value)
                ? (value.cast<bool>() ? "true" : "false")
                : py::str(value).cast<std::string>();
      }
    }
    config.pool = pool.pool();
    config.url = pool.pool()->options().connection.conninfo;
    auto writer = ValueOrRaise(ModuleBackendRegistry().Create(backend, config));
    std::shared_ptr<plugins::Backend> reader = writer;
    if (read_pool != nullptr) {
      config.pool = read_pool->pool();
      config.url = read_pool->pool()->options().connection.conninfo;
      reader = ValueOrRaise(ModuleBackendRegistry().Create(backend, config));
    }
    backend_ = backend;
    owned_ = std::make_unique<Repository>(
        std::make_shared<const where::Schema>(schema.schema()),
        OperatorRegistrySnapshot(), reader, options, writer);
    repository_ = owned_.get();
  }

  // The registered name of the backend the repository runs on.
  const std::string& backend() const { return backend_; }

  py::bytes Find(const std::string& view, std::optional<std::string> field,
                 const py::object& where, const py::object& order_by,
                 std::optional<int64_t> limit, std::optional<int64_t> offset,
                 const py::object& selection, bool is_list,
                 const Pagination& pagination,
                 const exec::RequestContext& context) {
    v1::QueryDefinition query;
    v1::RootField* root = query.add_roots();
    FillRoot(root, view, field, where, order_by, limit, offset, selection,
             is_list);
    pagination.Fill(root);
    return Run(query, context);
  }

  // count, exists, sum, avg, min, max, distinct: the value as a Python object
  // (see ValueToPython).
  py::object Value(const std::string& view, v1::RootField::Operation op,
                   const std::string& field, const py::object& where,
                   std::optional<int64_t> limit, std::optional<int64_t> offset,
                   const exec::RequestContext& context) {
    v1::RootField root;
    FillRoot(&root, view, std::nullopt, where, py::none(), limit, offset,
             py::none(), /*is_list=*/true);
    root.set_operation(op);
    root.set_aggregate_field(field);
    absl::StatusOr<fraiseql::Value> value;
    {
      py::gil_scoped_release release;
      value = repository_->ExecuteValue(root, context);
    }
    return ValueToPython(ValueOrRaise(std::move(value)));
  }

  py::tuple Explain(const std::string& view, const py::object& where,
                    const py::object& order_by, std::optional<int64_t> limit,
                    std::optional<int64_t> offset,
                    const Pagination& pagination) {
    v1::RootField root;
    FillRoot(&root, view, std::nullopt, where, order_by, limit, offset,
             py::none(), /*is_list=*/true);
    pagination.Fill(&root);
    planner::Plan plan = ValueOrRaise(repository_->Explain(root));
    py::list params;
    for (const where::Param& p : plan.params) {
      params.append(p.is_null ? py::object(py::none()) : py::str(p.text));
    }
    return py::make_tuple(plan.sql, params);
  }

  py::dict PlanCacheStats() const {
    planner::CacheStats s = repository_->plan_cache_stats();
    py::dict d;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    d["evictions"] = s.evictions;
    d["size"] = s.size;
    d["capacity"] = s.capacity;
    return d;
  }

  py::bytes Execute(const py::bytes& serialized,
                    const exec::RequestContext& context) {
    return Run(ParseQuery(serialized), context);
  }

  py::bytes Mutate(const std::string& function, const py::object& input,
                   std::optional<std::string> field,
                   const std::string& success_type,
                   const std::string& error_type,
                   const std::string& entity_field,
                   const std::string& entity_type,
                   const py::object& success_selection,
                   const py::object& error_selection,
                   const std::vector<std::string>& context_args,
                   const exec::RequestContext& context) {
    // Names may arrive as bytes (pybind takes them for std::string): never
    // send one that is not UTF-8 to the server.
    if (!IsUtf8(function)) {
      Raise(absl::InvalidArgumentError(
          "invalid function: not valid UTF-8"));
    }
    for (const std::string& name : context_args) {
      if (!IsUtf8(name)) {
        Raise(absl::InvalidArgumentError(
            "invalid context_args: a name that is not valid UTF-8"));
      }
    }
    v1::MutationField mutation;
    mutation.set_function(function);
    mutation.set_response_key(field.has_value() ? *field
                                                : DefaultKey(function));
    if (input.is_none()) {
      throw py::type_error("input must be a dict (or JSON text) of the input object");
    }
    mutation.set_input_json(
        JsonArgument(input, "input", kMutationInputLimits));
    for (const std::string& name : context_args) {
      mutation.add_context_arguments(name);
    }
    mutation.set_success_type(success_type);
    mutation.set_error_type(error_type);
    mutation.set_entity_field(entity_field);
    mutation.set_entity_type(entity_type);
    if (!success_selection.is_none() || !error_selection.is_none()) {
      mutation.set_has_selection(true);
      for (v1::Selection& s : ParseSelection(success_selection)) {
        *mutation.add_success_selection() = std::move(s);
      }
      for (v1::Selection& s : ParseSelection(error_selection)) {
        *mutation.add_error_selection() = std::move(s);
      }
    }
    absl::StatusOr<std::string> body;
    {
      py::gil_scoped_release release;
      body = repository_->Mutate(mutation, context);
    }
    return py::bytes(ValueOrRaise(std::move(body)));
  }

  absl::StatusOr<Repository::TransactionScope> Begin(
      const plugins::TransactionOptions& options,
      const exec::RequestContext& context) const {
    py::gil_scoped_release release;
    return repository_->BeginTransaction(options, context);
  }

  std::unique_ptr<BodyStream> Stream(const v1::QueryDefinition& query,
                                     const exec::RequestContext& context,
                                     int64_t chunk_bytes) const {
    if (chunk_bytes < 1 || chunk_bytes > kMaxChunkBytes) {
      Raise(absl::InvalidArgumentError(absl::StrCat(
          "invalid chunk_bytes: expected 1 to ", kMaxChunkBytes,
          " bytes (max_chunk_bytes)")));
    }
    BodyStreamOptions options;
    options.chunk_bytes = static_cast<size_t>(chunk_bytes);
    return BodyStream::Start(repository_, query, context, options);
  }

  std::unique_ptr<BodyStream> FindStream(
      const std::string& view, std::optional<std::string> field,
      const py::object& where, const py::object& order_by,
      std::optional<int64_t> limit, std::optional<int64_t> offset,
      const py::object& selection, const exec::RequestContext& context,
      int64_t chunk_bytes) const {
    v1::QueryDefinition query;
    FillRoot(query.add_roots(), view, field, where, order_by, limit, offset,
             selection, /*is_list=*/true);
    return Stream(query, context, chunk_bytes);
  }

  std::unique_ptr<BodyStream> ExecuteStream(const py::bytes& serialized,
                                            const exec::RequestContext& context,
                                            int64_t chunk_bytes) const {
    return Stream(ParseQuery(serialized), context, chunk_bytes);
  }

 protected:
  // A transaction's repository: owned by the transaction scope.
  PyRepository() = default;
  Repository* repository_ = nullptr;

 private:
  static v1::QueryDefinition ParseQuery(const py::bytes& serialized) {
    v1::QueryDefinition query;
    if (!query.ParseFromString(serialized.cast<std::string>())) {
      Raise(absl::InvalidArgumentError(
          "invalid query definition: not a serialized "
          "fraiseql.v1.QueryDefinition message"));
    }
    return query;
  }

  static std::vector<v1::Selection> ParseSelection(const py::object& selection) {
    if (selection.is_none()) return {};
    if (!py::isinstance<py::str>(selection)) {
      throw py::type_error(
          "selection must be GraphQL selection-set text, e.g. "
          "\"id firstName address { cityName }\"");
    }
    // Past the planner's byte limit the text is not even encoded; within
    // it, the planner checks the UTF-8 length.
    const size_t max_bytes = planner::SelectionLimits{}.max_selection_bytes;
    if (static_cast<size_t>(PyUnicode_GetLength(selection.ptr())) > max_bytes) {
      Raise(planner::SelectionLimitError(static_cast<int64_t>(max_bytes),
                                         "bytes", "max_selection_bytes"));
    }
    return ValueOrRaise(planner::ParseSelectionText(
        ValueOrRaise(PythonStrUtf8(selection, "selection", 4 * max_bytes))));
  }

  static void FillRoot(v1::RootField* root, const std::string& view,
                       std::optional<std::string> field,
                       const py::object& where, const py::object& order_by,
                       std::optional<int64_t> limit,
                       std::optional<int64_t> offset,
                       const py::object& selection, bool is_list) {
    root->set_view(view);
    root->set_response_key(field.has_value() ? *field : DefaultKey(view));
    root->set_is_list(is_list);
    root->set_where_json(JsonArgument(where, "where", kQueryArgumentLimits));
    root->set_order_by_json(
        JsonArgument(order_by, "order_by", kQueryArgumentLimits));
    if (limit.has_value()) root->set_limit(*limit);
    if (offset.has_value()) root->set_offset(*offset);
    if (!selection.is_none()) {
      root->set_has_selection(true);
      for (v1::Selection& s : ParseSelection(selection)) {
        *root->add_selection() = std::move(s);
      }
    }
  }

  static std::string DefaultKey(const std::string& view) {
    size_t dot = view.rfind('.');
    return dot == std::string::npos ? view : view.substr(dot + 1);
  }

  py::bytes Run(const v1::QueryDefinition& query,
                const exec::RequestContext& context) {
    absl::StatusOr<std::string> body;
    {
      py::gil_scoped_release release;
      body = repository_->Execute(query, context);
    }
    return py::bytes(ValueOrRaise(std::move(body)));
  }

  std::unique_ptr<Repository> owned_;

 protected:
  std::string backend_;
};

// A transaction, and the repository whose calls run in it. Keeps the
// Python Repository it came from alive (its backend holds the pool).
class PyTransaction : public PyRepository {
 public:
  PyTransaction(Repository::TransactionScope scope, py::object parent)
      : scope_(std::move(scope)), parent_(std::move(parent)) {
    repository_ = scope_.repository.get();
    backend_ = parent_.cast<const PyRepository&>().backend();
  }

  // Rolls back an open transaction and returns its connection: not under
  // the GIL.
  ~PyTransaction() override {
    py::gil_scoped_release release;
    scope_.repository.reset();
    scope_.transaction.reset();
  }

  void Commit(std::optional<double> timeout) {
    const absl::Time deadline = Deadline(timeout);  // may raise: under the GIL
    absl::Status status;
    {
      py::gil_scoped_release release;
      status = scope_.transaction->Commit(deadline);
    }
    RaiseIfError(status);
  }

  void Rollback(std::optional<double> timeout) {
    const absl::Time deadline = Deadline(timeout);  // may raise: under the GIL
    absl::Status status;
    {
      py::gil_scoped_release release;
      status = scope_.transaction->Rollback(deadline);
    }
    RaiseIfError(status);
  }

  bool open() const {
    py::gil_scoped_release release;
    return scope_.transaction->open();
  }

 private:
  static absl::Time Deadline(std::optional<double> timeout) {
    return timeout.has_value() ? absl::Now() + TimeoutOrRaise(*timeout)
                               : absl::InfiniteFuture();
  }

  Repository::TransactionScope scope_;
  py::object parent_;
};

// Iterates over the pieces of a streamed body (bytes), reading the next one
// without the GIL. close() (or garbage collection) cancels the query.
// Thread-safe: close() may run while other threads are inside next(); it
// cancels the stream, waits for them to leave it (they get StopIteration)
// and only then destroys it. next() after close() raises StopIteration.
class PyBodyIterator {
 public:
  PyBodyIterator(std::unique_ptr<BodyStream> stream, py::object parent)
      : stream_(std::move(stream)), parent_(std::move(parent)) {}
  // No next() can be running: each holds a reference to the iterator.
  ~PyBodyIterator() {
    py::gil_scoped_release release;
    Close();
  }

  py::bytes Next() {
    absl::StatusOr<std::optional<std::string>> piece;
    bool closed = false;
    bool busy = false;
    {
      py::gil_scoped_release release;
      BodyStream* stream = nullptr;
      {
        absl::MutexLock lock(&mu_);
        // BodyStream takes one consumer at a time: a second thread's next()
        // is refused, as a running generator refuses it.
        busy = !closed_ && in_flight_ > 0;
        if (!closed_ && !busy) {
          stream = stream_.get();
          ++in_flight_;
        }
      }
      if (busy) {
        closed = false;
      } else if (stream != nullptr) {
        piece = stream->Next();
        absl::MutexLock lock(&mu_);
        --in_flight_;
        closed = closed_;
      } else {
        closed = true;
      }
    }
    if (busy) {
      throw py::value_error(
          "BodyIterator is already being read by another thread");
    }
    // A next() that close() interrupted ends the iteration, not an error.
    if (closed) throw py::stop_iteration();
    std::optional<std::string> bytes = ValueOrRaise(std::move(piece));
    if (!bytes.has_value()) throw py::stop_iteration();
    return py::bytes(*bytes);
  }

  // Call without the GIL (the wait may last until the producer has seen
  // the cancel).
  void Close() {
    std::unique_ptr<BodyStream> stream;
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
      if (stream_ == nullptr) return;
      stream_->Cancel();
      auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return in_flight_ == 0;
      };
      mu_.Await(absl::Condition(&idle));
      stream = std::move(stream_);
    }
    stream.reset();  // joins the producer
  }

  void CloseReleasingGil() {
    py::gil_scoped_release release;
    Close();
  }

 private:
  absl::Mutex mu_;
  std::unique_ptr<BodyStream> stream_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // next() calls inside stream_
  py::object parent_;
};

plugins::TransactionOptions::Isolation ParseIsolation(const std::string& name) {
  using Isolation = plugins::TransactionOptions::Isolation;
  if (name == "read_committed") return Isolation::kReadCommitted;
  if (name == "repeatable_read") return Isolation::kRepeatableRead;
  if (name == "serializable") return Isolation::kSerializable;
  Raise(absl::InvalidArgumentError(
      "invalid isolation: expected 'read_committed', 'repeatable_read' or "
      "'serializable'"));
}

PyObject* NewException(py::module_& m, const char* name, PyObject* bases,
                       const char* doc) {
  std::string qualified = absl::StrCat("fraiseql_native.", name);
  PyObject* type =
      PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));
  return type;
}

}  // namespace
}  // namespace fraiseql::pybind

PYBIND11_MODULE(_native, m) {
  using namespace fraiseql::pybind;  // NOLINT
  m.doc() =
      "fraiseql-native: GraphQL queries over PostgreSQL JSONB views, from the "
      "query definition to response bytes in C++.";

  ModuleExceptions().error = NewException(
      m, "Error", PyExc_Exception,
      "Base class of every error raised by fraiseql_native. Attributes: "
      "code (the status code name), sqlstate (the server's SQLSTATE or None).");
  ModuleExceptions().invalid_input = NewException(
      m, "InvalidInputError",
      py::make_tuple(py::handle(ModuleExceptions().error),
                     py::handle(PyExc_ValueError))
          .release()
          .ptr(),
      "The query was rejected before any SQL was sent: unknown view or field, "
      "a value of the wrong kind, a malformed selection or filter.");
  ModuleExceptions().unavailable = NewException(
      m, "DatabaseUnavailableError",
      py::make_tuple(py::handle(ModuleExceptions().error),
                     py::handle(PyExc_ConnectionError))
          .release()
          .ptr(),
      "The database could not be reached or the connection was lost.");
  ModuleExceptions().timeout = NewException(
      m, "PoolTimeoutError",
      py::make_tuple(py::handle(ModuleExceptions().error),
                     py::handle(PyExc_TimeoutError))
          .release()
          .ptr(),
      "No connection became free before the pool's acquire timeout.");
  ModuleExceptions().exhausted = NewException(
      m, "PoolExhaustedError", ModuleExceptions().error,
      "The pool's wait queue is full (max_waiters): the call was refused at "
      "once instead of waiting.");
  ModuleExceptions().query_timeout = NewException(
      m, "QueryTimeoutError",
      py::make_tuple(py::handle(ModuleExceptions().error),
                     py::handle(PyExc_TimeoutError))
          .release()
          .ptr(),
      "A query ran past its `timeout`: the client deadline passed (the "
      "statement was cancelled on the server) or the server's "
      "statement_timeout fired. The connection was cleaned up or discarded; "
      "the pool stays usable.");
  ModuleExceptions().cancelled = NewException(
      m, "QueryCancelledError", ModuleExceptions().error,
      "The statement was cancelled on the server (by its caller, or by "
      "pg_cancel_backend): SQLSTATE 57014 without a timeout.");
  ModuleExceptions().database =
      NewException(m, "DatabaseError", ModuleExceptions().error,
                   "The server rejected the statement (see .sqlstate).");
  ModuleExceptions().too_large = NewException(
      m, "ResponseTooLargeError", ModuleExceptions().error,
      "The response body passed the repository's max_response_bytes: the "
      "query was cancelled on the server and nothing was returned. (A "
      "find_stream/execute_stream that already yielded pieces ends instead "
      "with valid JSON naming the cap in its \"errors\".)");
  ModuleExceptions().transaction = NewException(
      m, "TransactionError", ModuleExceptions().error,
      "A transaction was used after an earlier error aborted it (roll it "
      "back), or after it ended.");

  py::class_<PyPool>(m, "Pool",
                     "A pool of PostgreSQL connections. `url` defaults to "
                     "$FRAISEQL_DATABASE_URL, then libpq's PG* variables.")
      .def(py::init([](std::optional<std::string> url, int min_size,
                       int max_size, double acquire_timeout,
                       double connect_timeout,
                       const std::string& application_name,
                       double idle_timeout, double max_lifetime,
                       double health_check_after_idle,
                       double reconnect_backoff_base,
                       double reconnect_backoff_max, double reconnect_jitter,
                       int max_waiters, double statement_timeout,
                       double maintenance_interval) {
             PoolArgs args{url,
                           min_size,
                           max_size,
                           acquire_timeout,
                           connect_timeout,
                           application_name,
                           idle_timeout,
                           max_lifetime,
                           health_check_after_idle,
                           reconnect_backoff_base,
                           reconnect_backoff_max,
                           reconnect_jitter,
                           max_waiters,
                           statement_timeout,
                           maintenance_interval};
             return std::make_unique<PyPool>(args);
           }),
           py::arg("url") = py::none(), py::arg("min_size").noconvert() = 0,
           py::arg("max_size").noconvert() = 10, py::arg("acquire_timeout") = 10.0,
           py::arg("connect_timeout") = 10.0,
           py::arg("application_name") = "fraiseql-native",
           py::arg("idle_timeout") = 600.0, py::arg("max_lifetime") = 3600.0,
           py::arg("health_check_after_idle") = 1.0,
           py::arg("reconnect_backoff_base") = 0.1,
           py::arg("reconnect_backoff_max") = 10.0,
           py::arg("reconnect_jitter") = 0.2, py::arg("max_waiters").noconvert() = 1000,
           py::arg("statement_timeout") = 0.0,
           py::arg("maintenance_interval") = 1.0,
           "Durations are seconds (float('inf') disables idle_timeout, "
           "max_lifetime and health_check_after_idle). statement_timeout=0 "
           "keeps the server's. Callers beyond max_waiters fail at once with "
           "PoolExhaustedError. Invalid options raise InvalidInputError "
           "naming the option.")
      .def("stats", &PyPool::Stats,
           "Counters: size, idle, in_use, waiting, acquired_total, timeouts, "
           "errors, opened, closed, rejected, health_check_failures, "
           "retired, and last_error (text).");

  py::class_<PySchema>(m, "Schema",
                       "Registered views and object types. Field kinds: "
                       "String, Int, Float, Decimal, Boolean, UUID, ID, Date, "
                       "DateTime, IpAddress, MacAddress, LTree, DateRange, "
                       "JSON, ..., a registered type name, or [Kind].")
      .def(py::init<>())
      .def("add_type", &PySchema::AddType, py::arg("name"), py::arg("fields"),
           "Registers a nested object type: fields maps JSONB keys to kinds.")
      .def("add_view", &PySchema::AddView, py::arg("name"),
           py::arg("type_name"), py::arg("fields"),
           py::arg("columns") = py::dict(), py::arg("jsonb_column") = "data",
           py::arg("foreign_keys") = py::dict(),
           py::arg("operators") = py::none(),
           py::arg("text_search_config") = "english",
           "Registers a view (e.g. 'app.v_user') whose rows are of GraphQL "
           "type `type_name`. columns maps real columns to PostgreSQL types; "
           "a field whose key is a column filters on that column. "
           "foreign_keys maps an object field to its FK column "
           "({'author': 'author_id'}); operators, when given, is the "
           "allow-list of operator names or keys for this view's filters.")
      .def("load", &PySchema::Load, py::arg("path"),
           "Registers the types and views of a JSON schema file "
           "({\"types\": {...}, \"views\": [...]}, see "
           "where/schema_file.h); errors name the place in the file.")
      .def("load_json", &PySchema::LoadJson, py::arg("text"),
           "Like load(), from JSON text.")
      .def("views", &PySchema::Views, "Names of the registered views.");

  py::class_<PyRepository>(
      m, "Repository",
      "Runs queries on registered views and returns GraphQL response bytes. "
      "Takes a snapshot of the schema at construction.")
      .def(py::init<const PyPool&, const PySchema&, int, bool, int, bool, bool,
                    int64_t, const PyPool*, double, const py::object&, int,
                    const std::string&, const py::object&>(),
           py::arg("pool"), py::arg("schema"),
           py::arg("chunk_rows").noconvert() = 256,
           py::arg("always_typename") = false,
           py::arg("plan_cache_size").noconvert() = 1024,
           py::arg("prepared_statements") = true, py::arg("pgbouncer") = false,
           py::arg("max_response_bytes").noconvert() = 0,
           py::arg("read_pool") = py::none(),
           py::arg("statement_timeout") = 30.0,
           py::arg("cursor_secret") = py::none(),
           py::arg("max_root_fields").noconvert() = 64,
           py::arg("backend") = "native",
           py::arg("backend_options") = py::none(),
           "prepared_statements: prepare each statement shape once per "
           "connection and run it by name. pgbouncer=True: PgBouncer in "
           "transaction-pooling mode is in front; no session state is used "
           "(no prepared statements). max_response_bytes: past this body "
           "size the query is cancelled and ResponseTooLargeError raised "
           "(0: no cap). read_pool: queries read from it (e.g. a standby "
           "pool); mutations and transactions use `pool`. "
           "statement_timeout: seconds every statement may run on the "
           "server unless a call gives its own timeout (0: none, the "
           "server's or the pool's; at most 2147483.647); set per "
           "transaction, so it works through PgBouncer. cursor_secret: "
           "bytes or str that Relay cursors are signed with (HMAC); None: "
           "a random secret per process, so give every process of a "
           "deployment the same secret, or cursors issued by one are "
           "refused by the others and by the next start. max_root_fields: "
           "root fields one execute() may carry (0: no limit). backend: the "
           "registered backend to run on (backends(); 'native' by default, "
           "'legacy-psycopg' for the old Python path); backend_options: its "
           "options as a dict (values passed as text). chunk_rows, "
           "prepared_statements and pgbouncer apply to 'native' only.")
      .def_property_readonly("backend", &PyRepository::backend,
                             "The registered name of the backend in use.")
      .def(
          "find",
          [](PyRepository& self, const std::string& view,
             std::optional<std::string> field, const py::object& where,
             const py::object& order_by, std::optional<int64_t> limit,
             std::optional<int64_t> offset, const py::object& selection,
             std::optional<int64_t> first, std::optional<std::string> after,
             std::optional<int64_t> last, std::optional<std::string> before,
             bool total_count, const py::object& context,
             std::optional<double> timeout) {
            return self.Find(view, field, where, order_by, limit, offset,
                             selection, /*is_list=*/true,
                             {first, after, last, before, total_count},
                             MakeContext(context, timeout));
          },
          py::arg("view"), py::kw_only(), py::arg("field") = py::none(),
          py::arg("where") = py::none(), py::arg("order_by") = py::none(),
          py::arg("limit").noconvert() = py::none(),
          py::arg("offset").noconvert() = py::none(),
          py::arg("selection") = py::none(),
          py::arg("first").noconvert() = py::none(),
          py::arg("after") = py::none(),
          py::arg("last").noconvert() = py::none(),
          py::arg("before") = py::none(), py::arg("total_count") = false,
          py::arg("context") = py::none(), py::arg("timeout") = py::none(),
          "Rows of `view` as {\"data\":{field:[...]}} bytes. where: a filter "
          "dict (or JSON text); order_by: [{field: 'ASC'|'DESC'|...}]; "
          "selection: GraphQL selection-set text. With any of first, after, "
          "last, before or total_count=True the field is a Relay connection "
          "instead: {\"edges\":[{\"cursor\":...,\"node\":{...}}],"
          "\"pageInfo\":{\"hasNextPage\":...,\"hasPreviousPage\":...,"
          "\"startCursor\":...,\"endCursor\":...}[,\"totalCount\":n]}, "
          "keyset-paginated over order_by plus the view's id. "
          "context: {'tenant_id': .., 'user_id': .., 'app.<name>': ..}, set "
          "with set_config(.., true) inside the statement's own transaction "
          "(visible to it, e.g. to RLS policies through current_setting, and "
          "to no later user of the connection). timeout: seconds; past it "
          "QueryTimeoutError (client deadline and server statement_timeout). "
          "Every query method takes context and timeout.")
      .def(
          "find_one",
          [](PyRepository& self, const std::string& view,
             std::optional<std::string> field, const py::object& where,
             const py::object& order_by, std::optional<int64_t> offset,
             const py::object& selection, const py::object& context,
             std::optional<double> timeout) {
            return self.Find(view, field, where, order_by, std::nullopt,
                             offset, selection, /*is_list=*/false, {},
                             MakeContext(context, timeout));
          },
          py::arg("view"), py::kw_only(), py::arg("field") = py::none(),
          py::arg("where") = py::none(), py::arg("order_by") = py::none(),
          py::arg("offset").noconvert() = py::none(),
          py::arg("selection") = py::none(), py::arg("context") = py::none(),
          py::arg("timeout") = py::none(),
          "The first matching row as {\"data\":{field:{...}}} bytes, or "
          "{\"data\":{field:null}}.")
      .def(
          "count",
          [](PyRepository& self, const std::string& view,
             const py::object& where, const py::object& context,
             std::optional<double> timeout) {
            return self.Value(view, fraiseql::v1::RootField::COUNT, "", where,
                              std::nullopt, std::nullopt,
                              MakeContext(context, timeout));
          },
          py::arg("view"), py::kw_only(), py::arg("where") = py::none(),
          py::arg("context") = py::none(), py::arg("timeout") = py::none(),
          "The number of rows matching `where`, as an int.")
      .def(
          "exists",
          [](PyRepository& self, const std::string& view,
             const py::object& where, const py::object& context,
             std::optional<double> timeout) {
            return self.Value(view, fraiseql::v1::RootField::EXISTS, "", where,
                              std::nullopt, std::nullopt,
                              MakeContext(context, timeout));
          },
          py::arg("view"), py::kw_only(), py::arg("where") = py::none(),
          py::arg("context") = py::none(), py::arg("timeout") = py::none(),
          "Whether any row matches `where`, as a bool.")
      .def(
          "sum",
          [](PyRepository& self, const std::string& view,
             const std::string& field, const py::object& where,
             const py::object& context, std::optional<double> timeout) {
            return self.Value(view, fraiseql::v1::RootField::SUM, field, where,
                              std::nullopt, std::nullopt,
                              MakeContext(context, timeout));
          },
          py::arg("view"), py::arg("field"), py::kw_only(),
          py::arg("where") = py::none(), py::arg("context") = py::none(),
          py::arg("timeout") = py::none(),
          "The sum of a number field (dotted path, e.g. 'address.zip') over "
          "the matching rows: int for Int and Port fields, Decimal for Float "
          "and Decimal fields; None when no row has a value.")
      .def(
          "avg",
          [](PyRepository& self, const std::string& view,
             const std::string& field, const py::object& where,
             const py::object& context, std::optional<double> timeout) {
            return self.Value(view, fraiseql::v1::RootField::AVG, field, where,
                              std::nullopt, std::nullopt,
                              MakeContext(context, timeout));
          },
          py::arg("view"), py::arg("field"), py::kw_only(),
          py::arg("where") = py::none(), py::arg("context") = py::none(),
          py::arg("timeout") = py::none(),
          "The average of a number field as a Decimal (PostgreSQL's numeric "
          "avg), or None when no row has a value.")
      .def(
          "min",
          [](PyRepository& self, const std::string& view,
             const std::string& field, const py::object& where,
             const py::object& context, std::optional<double> timeout) {
            return self.Value(view, fraiseql::v1::RootField::MIN, field, where,
                              std::nullopt, std::nullopt,
                              MakeContext(context, timeout));
          },
          py::arg("view"), py::arg("field"), py::kw_only(),
          py::arg("where") = py::none(), py::arg("context") = py::none(),
          py::arg("timeout") = py::none(),
          "The smallest value of a number, Date, DateTime or text field: int "
          "or Decimal as for sum, str for the others (dates YYYY-MM-DD, "
          "date-times ISO 8601 in UTC); None when no row has a value.")
      .def(
          "max",
          [](PyRepository& self, const std::string& view,
             const std::string& field, const py::object& where,
             const py::object& context, std::optional<double> timeout) {
            return self.Value(view, fraiseql::v1::RootField::MAX, field, where,
                              std::nullopt, std::nullopt,
                              MakeContext(context, timeout));
          },
          py::arg("view"), py::arg("field"), py::kw_only(),
          py::arg("where") = py::none(), py::arg("context") = py::none(),
          py::arg("timeout") = py::none(), "The largest value; see min().")
      .def(
          "distinct",
          [](PyRepository& self, const std::string& view,
             const std::string& field, const py::object& where,
             std::optional<int64_t> limit, std::optional<int64_t> offset,
             const py::object& context, std::optional<double> timeout) {
            return self.Value(view, fraiseql::v1::RootField::DISTINCT, field,
                              where, limit, offset,
                              MakeContext(context, timeout));
          },
          py::arg("view"), py::arg("field"), py::kw_only(),
          py::arg("where") = py::none(),
          py::arg("limit").noconvert() = py::none(),
          py::arg("offset").noconvert() = py::none(),
          py::arg("context") = py::none(), py::arg("timeout") = py::none(),
          "The distinct values of a field over the matching rows, ascending "
          "by the field's type, None (missing or null) last, as a list "
          "(numbers as for sum, JSON and list values as Python objects).")
      .def(
          "explain",
          [](PyRepository& self, const std::string& view,
             const py::object& where, const py::object& order_by,
             std::optional<int64_t> limit, std::optional<int64_t> offset,
             std::optional<int64_t> first, std::optional<std::string> after,
             std::optional<int64_t> last, std::optional<std::string> before,
             bool total_count) {
            return self.Explain(view, where, order_by, limit, offset,
                                {first, after, last, before, total_count});
          },
          py::arg("view"), py::kw_only(), py::arg("where") = py::none(),
          py::arg("order_by") = py::none(),
          py::arg("limit").noconvert() = py::none(),
          py::arg("offset").noconvert() = py::none(),
          py::arg("first").noconvert() = py::none(),
          py::arg("after") = py::none(),
          py::arg("last").noconvert() = py::none(),
          py::arg("before") = py::none(), py::arg("total_count") = false,
          "(sql, params) that find() would run, without running it: params "
          "are text in PostgreSQL's input format ($n::type casts are in the "
          "SQL).")
      .def("plan_cache_stats", &PyRepository::PlanCacheStats,
           "Counters of the planner's shape cache: hits, misses, evictions, "
           "size, capacity.")
      .def(
          "execute",
          [](PyRepository& self, const py::bytes& serialized,
             const py::object& context, std::optional<double> timeout) {
            return self.Execute(serialized, MakeContext(context, timeout));
          },
          py::arg("query_definition"), py::kw_only(),
          py::arg("context") = py::none(), py::arg("timeout") = py::none(),
          "Runs a serialized fraiseql.v1.QueryDefinition (several root "
          "fields give one body; their statements go to the server in one "
          "round trip and read one snapshot). context and timeout as for "
          "find().")
      .def(
          "find_stream",
          [](const PyRepository& self, const std::string& view,
             std::optional<std::string> field, const py::object& where,
             const py::object& order_by, std::optional<int64_t> limit,
             std::optional<int64_t> offset, const py::object& selection,
             const py::object& context, std::optional<double> timeout,
             int64_t chunk_bytes) {
            return std::make_unique<PyBodyIterator>(
                self.FindStream(view, field, where, order_by, limit, offset,
                                selection, MakeContext(context, timeout),
                                chunk_bytes),
                py::cast(&self));
          },
          py::arg("view"), py::kw_only(), py::arg("field") = py::none(),
          py::arg("where") = py::none(), py::arg("order_by") = py::none(),
          py::arg("limit").noconvert() = py::none(),
          py::arg("offset").noconvert() = py::none(),
          py::arg("selection") = py::none(), py::arg("context") = py::none(),
          py::arg("timeout") = py::none(),
          py::arg("chunk_bytes").noconvert() = 65536,
          "find() as an iterator over pieces of the body (bytes of about "
          "chunk_bytes; joined they are find()'s body), for a streaming HTTP "
          "response. Rows are read as the pieces are taken: memory stays "
          "bounded whatever the result size, and a slow consumer slows the "
          "reads. chunk_bytes: 1 to 64 MiB. close() (or dropping the "
          "iterator) cancels the query. "
          "Errors are raised by the next() that reaches them.")
      .def(
          "execute_stream",
          [](const PyRepository& self, const py::bytes& serialized,
             const py::object& context, std::optional<double> timeout,
             int64_t chunk_bytes) {
            return std::make_unique<PyBodyIterator>(
                self.ExecuteStream(serialized, MakeContext(context, timeout),
                                   chunk_bytes),
                py::cast(&self));
          },
          py::arg("query_definition"), py::kw_only(),
          py::arg("context") = py::none(), py::arg("timeout") = py::none(),
          py::arg("chunk_bytes").noconvert() = 65536,
          "execute() as an iterator over pieces of the body; see "
          "find_stream().")
      .def(
          "mutate",
          [](PyRepository& self, const std::string& function,
             const py::object& input, std::optional<std::string> field,
             const std::string& success_type, const std::string& error_type,
             const std::string& entity_field, const std::string& entity_type,
             const py::object& success_selection,
             const py::object& error_selection,
             const std::vector<std::string>& context_args,
             const py::object& context, std::optional<double> timeout) {
            return self.Mutate(function, input, field, success_type,
                               error_type, entity_field, entity_type,
                               success_selection, error_selection,
                               context_args, MakeContext(context, timeout));
          },
          py::arg("function"), py::arg("input"), py::kw_only(),
          py::arg("field") = py::none(), py::arg("success_type"),
          py::arg("error_type"), py::arg("entity_field") = "",
          py::arg("entity_type") = "",
          py::arg("success_selection") = py::none(),
          py::arg("error_selection") = py::none(),
          py::arg("context_args") = std::vector<std::string>(),
          py::arg("context") = py::none(), py::arg("timeout") = py::none(),
          "Calls the PostgreSQL function `function` (e.g. 'app.create_user') "
          "with the values of context_args from `context` (e.g. "
          "['tenant_id', 'user_id']) and then `input` as jsonb, in a "
          "transaction carrying `context` (a savepoint inside transaction()). "
          "It returns mutation_response (status, message, entity_id, "
          "entity_type, entity, updated_fields, cascade, metadata). Status "
          "success/created/updated/deleted commits and is written with "
          "success_type; any other status rolls back and is written with "
          "error_type and a code (noop:/validation: 422, unauthorized: 401, "
          "forbidden: 403, not_found: 404, conflict: 409, timeout: 408, "
          "failed: and unknown 500). An error raised by the function rolls "
          "back and raises. The entity is written under entity_field, "
          "projected by its sub-selection against entity_type. Returns "
          "{\"data\":{field:{...}}} bytes.")
      .def(
          "transaction",
          [](py::object self, const std::string& isolation, bool read_only,
             const py::object& context, std::optional<double> timeout) {
            fraiseql::plugins::TransactionOptions options;
            options.isolation = ParseIsolation(isolation);
            options.read_only = read_only;
            const PyRepository& repo = self.cast<const PyRepository&>();
            fraiseql::Repository::TransactionScope scope = ValueOrRaise(
                repo.Begin(options, MakeContext(context, timeout)));
            return std::make_unique<PyTransaction>(std::move(scope), self);
          },
          py::kw_only(), py::arg("isolation") = "read_committed",
          py::arg("read_only") = false, py::arg("context") = py::none(),
          py::arg("timeout") = py::none(),
          "Opens a transaction on one connection of `pool`: every call on "
          "the returned Transaction runs in it, with `context` (set once, "
          "with SET LOCAL semantics) and `timeout` (the statement_timeout "
          "of the whole transaction and the deadline for a connection). Use "
          "as `with repo.transaction() as tx:` (commits at the end, rolls "
          "back on an exception), or call commit()/rollback(). Calls on it "
          "take timeout= but no context=.");

  py::class_<PyTransaction, PyRepository>(
      m, "Transaction",
      "An open transaction (from Repository.transaction()): every query and "
      "mutate call runs in it; a mutation that fails is rolled back to its "
      "own savepoint. After a failed statement the transaction is aborted: "
      "further calls and commit() raise TransactionError; roll it back.")
      .def("commit", &PyTransaction::Commit, py::arg("timeout") = py::none(),
           "Commits and ends the transaction. A serialization failure "
           "raises DatabaseError (sqlstate 40001).")
      .def("rollback", &PyTransaction::Rollback,
           py::arg("timeout") = py::none(),
           "Rolls back and ends the transaction.")
      .def_property_readonly("open", &PyTransaction::open,
                             "Not yet committed or rolled back.")
      .def("__enter__", [](py::object self) { return self; })
      .def(
          "__exit__",
          [](PyTransaction& self, const py::object& type, const py::object&,
             const py::object&) {
            if (!self.open()) return false;
            if (type.is_none()) {
              self.Commit(std::nullopt);
            } else {
              self.Rollback(std::nullopt);
            }
            return false;
          });

  py::class_<PyBodyIterator>(m, "BodyIterator",
                             "Pieces of a streamed response body (bytes).")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &PyBodyIterator::Next)
      .def("close", &PyBodyIterator::CloseReleasingGil,
           "Stops the stream: the query is cancelled on the server. Safe "
           "while another thread is inside next(): that call, and every "
           "later one, raises StopIteration.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__",
           [](PyBodyIterator& self, const py::object&, const py::object&,
              const py::object&) {
             self.CloseReleasingGil();
             return false;
           });

  InitPythonJson();
  DefineOperatorBindings(m);
  DefineParity(m);
  DefineBackendBindings(m);

  m.def(
      "camel_case", [](const std::string& name) {
        return fraiseql::response::CamelCase(name);
      },
      py::arg("name"), "The camelCase rule used for every GraphQL name.");
}
