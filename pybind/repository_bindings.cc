// pybind/: fraiseql_native.Repository, Transaction and BodyIterator, and
// their asynchronous faces (_native.AsyncRepository, AsyncTransaction,
// AsyncBodyIterator) defined from the same prepared calls
// (async_bindings.h).
#include "pybind/repository_bindings.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "exec/call_stats.h"
#include "exec/request_context.h"
#include "planner/selection_text.h"
#include "plugins/backends/native/native_backend.h"
#include "proto/query.pb.h"
#include "pybind/async_bindings.h"
#include "pybind/backend_bindings.h"
#include "pybind/bytes_landing.h"
#include "pybind/call_args.h"
#include "pybind/errors.h"
#include "pybind/operator_bindings.h"
#include "pybind/pool_bindings.h"
#include "pybind/python_json.h"
#include "pybind/schema_bindings.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"
#include "repository/body_stream.h"
#include "repository/repository.h"

namespace py = pybind11;

namespace fraiseql::pybind {
namespace {

// The largest piece a streamed body may be asked for (find_stream's
// chunk_bytes): a piece is buffered whole, max_pending + 1 times.
constexpr int64_t kMaxChunkBytes = int64_t{64} << 20;

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

// The rows all the roots of `query` may return together, counting a
// single object or an aggregate as one and a list by its limit (or
// first/last); none for a list without one. A call groups with others only
// when it has a bound, which is its weight in the group
// (AsyncDispatcher::kMaxBatchWeight rows at most): a group runs its calls
// one after another on one connection, so small reads gain a shared round
// trip while big ones would only queue behind each other (eight 1,000-row
// lists grouped: a p99 of eight lists' time).
std::optional<int64_t> RowBound(const v1::QueryDefinition& query) {
  int64_t rows = 0;
  for (const v1::RootField& root : query.roots()) {
    std::optional<int64_t> bound = 1;
    if (root.is_list() && root.operation() == v1::RootField::FIND) {
      bound.reset();
      if (root.has_limit()) bound = root.limit();
      if (root.has_first()) bound = root.first();
      if (root.has_last()) bound = root.last();
    }
    if (!bound.has_value() ||
        *bound > AsyncDispatcher::kMaxBatchWeight - rows) {
      return std::nullopt;  // past what any group may hold
    }
    rows += std::max<int64_t>(*bound, 0);
  }
  return std::max<int64_t>(rows, 1);
}

// A find/find_one/execute call, which may share a round trip with others
// of the same repository and settings waiting beside it (one
// Repository::ExecuteMany). Its result goes where the call's finish reads.
class QueryBatchMember : public BatchMember {
 public:
  using Result = std::optional<absl::StatusOr<std::string>>;
  QueryBatchMember(const Repository* repository, v1::QueryDefinition query,
                   exec::RequestContext context, std::shared_ptr<Result> result,
                   int64_t rows,
                   std::optional<std::vector<planner::RootPlan>> plans,
                   std::shared_ptr<BytesLanding> landing)
      : repository_(repository),
        query_(std::move(query)),
        context_(std::move(context)),
        result_(std::move(result)),
        rows_(rows),
        plans_(std::move(plans)),
        landing_(std::move(landing)) {}

  int64_t weight() const override { return rows_; }

  void RunAlone(JobEnv& env) {
    exec::RequestContext context = context_;
    context.cancelled = env.cancelled;
    context.stats = env.stats != nullptr ? env.stats : stats;
    result_->emplace(
        plans_.has_value()
            ? repository_->ExecutePlanned(*plans_, context, landing_.get())
            : repository_->Execute(query_, context, landing_.get()));
  }

  bool Compatible(const BatchMember& other) const override {
    const auto* query = dynamic_cast<const QueryBatchMember*>(&other);
    return query != nullptr && query->repository_ == repository_ &&
           exec::SameSettings(query->context_, context_);
  }

  void RunGroup(const std::vector<BatchMember*>& others,
                const std::vector<const std::atomic<bool>*>& flags,
                JobEnv& env) override {
    std::vector<QueryBatchMember*> members = {this};
    for (BatchMember* other : others) {
      members.push_back(static_cast<QueryBatchMember*>(other));
    }
    std::vector<exec::RequestContext> contexts;
    std::vector<const v1::QueryDefinition*> queries;
    contexts.reserve(members.size());
    for (size_t i = 0; i < members.size(); ++i) {
      contexts.push_back(members[i]->context_);
      contexts.back().cancelled = flags[i];
      contexts.back().stats = members[i]->stats;
      queries.push_back(&members[i]->query_);
    }
    std::vector<const exec::RequestContext*> context_of;
    for (const exec::RequestContext& c : contexts) context_of.push_back(&c);
    std::vector<response::Destination*> destinations;
    for (QueryBatchMember* member : members) {
      destinations.push_back(member->landing_.get());
    }
    std::vector<absl::StatusOr<std::string>> results = repository_->ExecuteMany(
        queries, context_of, env.cancelled, destinations);
    for (size_t i = 0; i < members.size(); ++i) {
      members[i]->result_->emplace(std::move(results[i]));
    }
  }

 private:
  const Repository* repository_;
  v1::QueryDefinition query_;
  exec::RequestContext context_;
  std::shared_ptr<Result> result_;
  int64_t rows_;  // RowBound of query_: its weight in a group
  // Planned when the call was prepared (to size its landing); else the
  // query is planned when it runs.
  std::optional<std::vector<planner::RootPlan>> plans_;
  std::shared_ptr<BytesLanding> landing_;  // null: the body is returned
};

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
               const py::object& backend_options, const py::object& on_call) {
    if (!on_call.is_none() && !PyCallable_Check(on_call.ptr())) {
      throw py::type_error(
          "on_call must be callable (it receives one dict per call) or None");
    }
    on_call_ = on_call;
    if (chunk_rows < 1) {
      throw py::value_error(absl::StrCat("invalid chunk_rows=", chunk_rows,
                                         ": expected at least 1"));
    }
    if (plan_cache_size < 0) {
      throw py::value_error(
          absl::StrCat("invalid plan_cache_size=", plan_cache_size,
                       ": expected 0 (off) or more"));
    }
    if (max_response_bytes < 0) {
      throw py::value_error(
          absl::StrCat("invalid max_response_bytes=", max_response_bytes,
                       ": expected 0 (no cap) or more"));
    }
    if (max_root_fields < 0) {
      throw py::value_error(
          absl::StrCat("invalid max_root_fields=", max_root_fields,
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

  PreparedCall Find(const py::object& keepalive, const std::string& view,
                    std::optional<std::string> field, const py::object& where,
                    const py::object& order_by, std::optional<int64_t> limit,
                    std::optional<int64_t> offset, const py::object& selection,
                    bool is_list, const Pagination& pagination,
                    const exec::RequestContext& context) {
    v1::QueryDefinition query;
    v1::RootField* root = query.add_roots();
    FillRoot(root, view, field, where, order_by, limit, offset, selection,
             is_list);
    pagination.Fill(root);
    return Query(keepalive, std::move(query), context,
                 is_list ? "find" : "find_one");
  }

  // count, exists, sum, avg, min, max, distinct: the value as a Python object
  // (see ValueToPython).
  PreparedCall Value(const py::object& keepalive, const std::string& view,
                     v1::RootField::Operation op, const std::string& field,
                     const py::object& where, std::optional<int64_t> limit,
                     std::optional<int64_t> offset,
                     const exec::RequestContext& context) {
    v1::RootField root;
    FillRoot(&root, view, std::nullopt, where, py::none(), limit, offset,
             py::none(), /*is_list=*/true);
    root.set_operation(op);
    root.set_aggregate_field(field);
    std::string operation = v1::RootField::Operation_Name(op);
    absl::AsciiStrToLower(&operation);
    return Observed(
        operation, view,
        MakeCall<fraiseql::Value>(
            context.deadline, keepalive,
            [repository = repository_, root = std::move(root),
             context = context](JobEnv& env) mutable {
              context.cancelled = env.cancelled;
              context.stats = env.stats;
              return repository->ExecuteValue(root, context);
            },
            [](fraiseql::Value&& value) { return ValueToPython(value); }));
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

  PreparedCall Execute(const py::object& keepalive, const py::bytes& serialized,
                       const exec::RequestContext& context) {
    return Query(keepalive, ParseQuery(serialized), context, "execute");
  }

  PreparedCall Mutate(const py::object& keepalive, const std::string& function,
                      const py::object& input, std::optional<std::string> field,
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
      Raise(absl::InvalidArgumentError("invalid function: not valid UTF-8"));
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
      throw py::type_error(
          "input must be a dict (or JSON text) of the input object");
    }
    mutation.set_input_json(JsonArgument(input, "input", kMutationInputLimits));
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
    return Observed(
        "mutate", function,
        MakeCall<std::string>(
            context.deadline, keepalive,
            [repository = repository_, mutation = std::move(mutation),
             context = context](JobEnv& env) mutable {
              context.cancelled = env.cancelled;
              context.stats = env.stats;
              return repository->Mutate(mutation, context);
            },
            [](std::string&& body) -> py::object { return py::bytes(body); }));
  }

  Repository* repository() const { return repository_; }
  const py::object& on_call() const { return on_call_; }

  // `call`, reporting to on_call (when set) once it has run: the record
  // {operation, view, shape, backend, acquire_wait, execution (seconds),
  // rows, bytes, sqlstate, error (the exception class name, or None)}, on
  // the thread that takes the result (the caller's, or the event loop's).
  // A hook that raises does not change the call's outcome (its exception
  // goes to sys.unraisablehook).
  PreparedCall Observed(std::string operation, std::string view,
                        PreparedCall call) const {
    if (on_call_.is_none()) return call;
    auto stats = std::make_shared<exec::CallStats>();
    if (call.batch != nullptr) call.batch->stats = stats.get();
    call.run = [inner = std::move(call.run), stats](JobEnv& env) {
      env.stats = stats.get();
      inner(env);
    };
    call.finish = [inner = std::move(call.finish), hook = on_call_, operation,
                   view, backend = backend_, stats]() -> py::object {
      py::object result;
      try {
        result = inner();
      } catch (py::error_already_set& e) {
        Report(hook, operation, view, backend, *stats,
               e.type().attr("__name__"));
        throw;
      }
      Report(hook, operation, view, backend, *stats, py::none());
      return result;
    };
    call.not_ran = [hook = on_call_, operation, view,
                    backend = backend_](const absl::Status& status) {
      // The class the error is raised as (PoolTimeoutError after a queue
      // deadline, QueryCancelledError after a cancel in the queue).
      try {
        Raise(status);
      } catch (py::error_already_set& e) {
        Report(hook, operation, view, backend, exec::CallStats(),
               e.type().attr("__name__"));
      }
    };
    return call;
  }

  absl::StatusOr<Repository::TransactionScope> Begin(
      const plugins::TransactionOptions& options,
      const exec::RequestContext& context) const {
    py::gil_scoped_release release;
    return repository_->BeginTransaction(options, context);
  }

  // A stream, checked and ready to start (at once for BodyIterator, on a
  // worker once it has a slot for AsyncBodyIterator).
  struct StreamStart {
    const Repository* repository;
    v1::QueryDefinition query;
    exec::RequestContext context;
    BodyStreamOptions options;
    std::unique_ptr<BodyStream> Start() const {
      return BodyStream::Start(repository, query, context, options);
    }
  };

  StreamStart Stream(v1::QueryDefinition query, exec::RequestContext context,
                     int64_t chunk_bytes) const {
    if (chunk_bytes < 1 || chunk_bytes > kMaxChunkBytes) {
      Raise(absl::InvalidArgumentError(
          absl::StrCat("invalid chunk_bytes: expected 1 to ", kMaxChunkBytes,
                       " bytes (max_chunk_bytes)")));
    }
    BodyStreamOptions options;
    options.chunk_bytes = static_cast<size_t>(chunk_bytes);
    return {repository_, std::move(query), std::move(context), options};
  }

  StreamStart FindStream(const std::string& view,
                         std::optional<std::string> field,
                         const py::object& where, const py::object& order_by,
                         std::optional<int64_t> limit,
                         std::optional<int64_t> offset,
                         const py::object& selection,
                         exec::RequestContext context,
                         int64_t chunk_bytes) const {
    v1::QueryDefinition query;
    FillRoot(query.add_roots(), view, field, where, order_by, limit, offset,
             selection, /*is_list=*/true);
    return Stream(std::move(query), std::move(context), chunk_bytes);
  }

  StreamStart ExecuteStream(const py::bytes& serialized,
                            exec::RequestContext context,
                            int64_t chunk_bytes) const {
    return Stream(ParseQuery(serialized), std::move(context), chunk_bytes);
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

  static std::vector<v1::Selection> ParseSelection(
      const py::object& selection) {
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

  PreparedCall Query(const py::object& keepalive, v1::QueryDefinition query,
                     const exec::RequestContext& context,
                     const char* operation) {
    std::string view = query.roots_size() > 0 ? query.roots(0).view() : "";
    std::optional<int64_t> rows = RowBound(query);
    // A body that may be big lands in the bytes object the call returns,
    // sized from the last body of its shapes: the query is planned here,
    // with the GIL, and runs from these plans. A query that does not plan
    // is planned again when it runs, which raises its error as any call's.
    // Calls with a row bound (at most AsyncDispatcher::kMaxBatchWeight rows,
    // see RowBound) skip this and copy their small body into a new bytes.
    py::object bytes;
    std::shared_ptr<BytesLanding> landing;
    std::optional<std::vector<planner::RootPlan>> plans;
    if (!rows.has_value()) {
      absl::StatusOr<std::vector<planner::RootPlan>> planned =
          repository_->Plan(query);
      if (planned.ok()) {
        landing = BytesLanding::Make(Repository::BodySizeHint(*planned),
                                     kLandingPieceBytes, &bytes);
        plans = *std::move(planned);
      }
    }
    auto result =
        std::make_shared<std::optional<absl::StatusOr<std::string>>>();
    auto member = std::make_shared<QueryBatchMember>(
        repository_, std::move(query), context, result, rows.value_or(0),
        std::move(plans), landing);
    PreparedCall call;
    call.deadline = context.deadline;
    call.run = [member](JobEnv& env) { member->RunAlone(env); };
    call.finish = [result, keepalive, landing,
                   bytes = std::move(bytes)]() mutable -> py::object {
      std::string body = ValueOrRaise(std::move(**result));
      if (landing == nullptr) return py::bytes(body);
      return landing->Take(std::move(bytes));
    };
    if (rows.has_value()) call.batch = member;
    return Observed(operation, std::move(view), std::move(call));
  }

  static void Report(const py::object& hook, const std::string& operation,
                     const std::string& view, const std::string& backend,
                     const exec::CallStats& stats, const py::object& error) {
    py::dict record;
    record["operation"] = operation;
    record["view"] = view;
    record["shape"] = stats.shape.empty() ? py::object(py::none())
                                          : py::object(py::str(stats.shape));
    record["backend"] = backend;
    record["acquire_wait"] = absl::ToDoubleSeconds(stats.acquire_wait);
    record["execution"] = absl::ToDoubleSeconds(stats.execution);
    record["rows"] = stats.rows;
    record["bytes"] = stats.bytes;
    record["sqlstate"] = stats.sqlstate.empty()
                             ? py::object(py::none())
                             : py::object(py::str(stats.sqlstate));
    record["error"] = error;
    try {
      hook(record);
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("fraiseql_native on_call hook");
    }
  }

  std::unique_ptr<Repository> owned_;

 protected:
  std::string backend_;
  py::object on_call_ = py::none();
};

// A transaction, and the repository whose calls run in it. Keeps the
// Python Repository it came from alive (its backend holds the pool).
class PyTransaction : public PyRepository {
 public:
  PyTransaction(Repository::TransactionScope scope, py::object parent)
      : scope_(std::move(scope)), parent_(std::move(parent)) {
    repository_ = scope_.repository.get();
    backend_ = parent_.cast<const PyRepository&>().backend();
    on_call_ = parent_.cast<const PyRepository&>().on_call();
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

  plugins::Transaction* transaction() const { return scope_.transaction.get(); }

  static absl::Time Deadline(std::optional<double> timeout) {
    return timeout.has_value() ? absl::Now() + TimeoutOrRaise(*timeout)
                               : absl::InfiniteFuture();
  }

 private:
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

  // One piece, without the GIL: the piece; nullopt at the end or after
  // close() (a next() that close() interrupted ends the iteration, not an
  // error); FailedPrecondition when another thread is inside next()
  // (BodyStream takes one consumer at a time, as a running generator
  // refuses a second one); the stream's error.
  absl::StatusOr<std::optional<std::string>> NextWithoutGil() {
    BodyStream* stream = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return std::nullopt;
      if (in_flight_ > 0) {
        return absl::FailedPreconditionError(
            "BodyIterator is already being read by another thread");
      }
      stream = stream_.get();
      ++in_flight_;
    }
    absl::StatusOr<std::optional<std::string>> piece = stream->Next();
    absl::MutexLock lock(&mu_);
    --in_flight_;
    if (closed_) return std::nullopt;
    return piece;
  }

  py::bytes Next() {
    absl::StatusOr<std::optional<std::string>> piece;
    {
      py::gil_scoped_release release;
      piece = NextWithoutGil();
    }
    if (absl::IsFailedPrecondition(piece.status())) {
      throw py::value_error(std::string(piece.status().message()));
    }
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

  // Cancels the stream without waiting (a next() inside it returns soon).
  void CancelStream() {
    absl::MutexLock lock(&mu_);
    if (stream_ != nullptr) stream_->Cancel();
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

// An AsyncRepository's transaction: its calls run on the slot (the pool
// connection) its begin kept, and commit or rollback gives the slot back.
class PyAsyncTransaction : public PyAsyncRepository {
 public:
  using PyAsyncRepository::PyAsyncRepository;

  PendingCall End(bool commit, std::optional<double> timeout) {
    const absl::Time deadline = PyTransaction::Deadline(timeout);
    plugins::Transaction* transaction =
        target().cast<PyTransaction&>().transaction();
    return Submit(MakeCall<bool>(
        deadline, target(),
        [transaction, hold = hold(), commit,
         deadline](JobEnv&) -> absl::StatusOr<bool> {
          absl::Status status = commit ? transaction->Commit(deadline)
                                       : transaction->Rollback(deadline);
          if (!transaction->open()) hold->Release();
          if (!status.ok()) return status;
          return true;
        },
        [](bool&&) -> py::object { return py::none(); }));
  }

  bool open() const { return target().cast<const PyTransaction&>().open(); }
};

// An AsyncRepository's stream: next() and close() are calls on the slot
// its start kept; close() gives it back.
class PyAsyncBodyIterator : public PyAsyncRepository {
 public:
  using PyAsyncRepository::PyAsyncRepository;

  PendingCall Next() {
    PyBodyIterator* iterator = target().cast<PyBodyIterator*>();
    return Submit(MakeCall<std::optional<std::string>>(
        absl::InfiniteFuture(), target(),
        [iterator](JobEnv&) { return iterator->NextWithoutGil(); },
        [](std::optional<std::string>&& piece) -> py::object {
          if (!piece.has_value()) return py::none();
          return py::bytes(*piece);
        }));
  }

  PendingCall Close() {
    PyBodyIterator* iterator = target().cast<PyBodyIterator*>();
    return Submit(MakeCall<bool>(
        absl::InfiniteFuture(), target(),
        [iterator, hold = hold()](JobEnv&) -> absl::StatusOr<bool> {
          iterator->Close();
          if (hold != nullptr) hold->Release();
          return true;
        },
        [](bool&&) -> py::object { return py::none(); }));
  }

  // Cancels the stream at once, without a call: the next() in progress
  // returns soon (used when the task awaiting it is cancelled).
  void CancelStream() { target().cast<PyBodyIterator&>().CancelStream(); }
};

// Opens a transaction once a slot is free, keeping that slot.
PendingCall AsyncBegin(PyAsyncRepository& self,
                       const plugins::TransactionOptions& options,
                       exec::RequestContext context) {
  struct Held {
    Repository::TransactionScope scope;
    std::shared_ptr<SlotHold> hold;
  };
  const Repository* repository =
      self.target().cast<const PyRepository&>().repository();
  AsyncDispatcher* dispatcher = self.dispatcher().get();
  const absl::Time deadline = context.deadline;
  return self.Submit(
      MakeCall<Held>(
          deadline, self.target(),
          [repository, options, context,
           dispatcher](JobEnv& env) mutable -> absl::StatusOr<Held> {
            context.cancelled = env.cancelled;
            absl::StatusOr<Repository::TransactionScope> scope =
                repository->BeginTransaction(options, context);
            if (!scope.ok()) return scope.status();
            env.keep_slot = true;
            return Held{*std::move(scope),
                        std::make_shared<SlotHold>(dispatcher)};
          },
          [parent = self.target(),
           shared = self.dispatcher()](Held&& held) -> py::object {
            py::object transaction = py::cast(
                std::make_unique<PyTransaction>(std::move(held.scope), parent));
            return py::cast(std::make_unique<PyAsyncTransaction>(
                transaction, shared, SlotUse::kPinned, std::move(held.hold)));
          }),
      SlotUse::kAcquire);
}

// Starts a stream once a slot is free, keeping that slot.
PendingCall AsyncStream(PyAsyncRepository& self,
                        PyRepository::StreamStart start) {
  struct Held {
    std::unique_ptr<BodyStream> stream;
    std::shared_ptr<SlotHold> hold;
  };
  // In a transaction the stream reads on the transaction's connection, on
  // the slot the transaction holds; elsewhere it keeps a slot of its own.
  const bool own_slot = !py::isinstance<PyTransaction>(self.target());
  AsyncDispatcher* dispatcher = self.dispatcher().get();
  const absl::Time deadline = start.context.deadline;
  auto shared_start =
      std::make_shared<PyRepository::StreamStart>(std::move(start));
  return self.Submit(
      MakeCall<Held>(
          deadline, self.target(),
          [shared_start, dispatcher,
           own_slot](JobEnv& env) -> absl::StatusOr<Held> {
            env.keep_slot = own_slot;
            return Held{
                shared_start->Start(),
                own_slot ? std::make_shared<SlotHold>(dispatcher) : nullptr};
          },
          [parent = self.target(),
           shared = self.dispatcher()](Held&& held) -> py::object {
            py::object iterator = py::cast(std::make_unique<PyBodyIterator>(
                std::move(held.stream), parent));
            return py::cast(std::make_unique<PyAsyncBodyIterator>(
                iterator, shared, SlotUse::kPinned, std::move(held.hold)));
          }),
      own_slot ? SlotUse::kAcquire : SlotUse::kPinned);
}

// run()'s parameters as text in PostgreSQL's input format: None is NULL;
// str as is; bool true/false; int, float, Decimal and UUID as str() gives;
// date, time and datetime in ISO 8601; dict and list as JSON (within the
// mutation input's limits). Anything else: InvalidInputError naming it.
constexpr size_t kMaxRunParams = 65535;  // the protocol's limit

std::vector<exec::Param> RunParams(const py::object& params) {
  std::vector<exec::Param> out;
  if (params.is_none()) return out;
  if (!py::isinstance<py::list>(params) && !py::isinstance<py::tuple>(params)) {
    throw py::type_error("params must be a list or tuple of values for $1..$n");
  }
  const py::sequence values = params.cast<py::sequence>();
  if (values.size() > kMaxRunParams) {
    Raise(absl::InvalidArgumentError(
        absl::StrCat("invalid params: more than ", kMaxRunParams, " values")));
  }
  py::module_ datetime = py::module_::import("datetime");
  py::module_ decimal = py::module_::import("decimal");
  py::module_ uuid = py::module_::import("uuid");
  const py::object iso_types = py::make_tuple(
      datetime.attr("date"), datetime.attr("time"), datetime.attr("datetime"));
  const py::object text_types =
      py::make_tuple(decimal.attr("Decimal"), uuid.attr("UUID"));
  for (size_t i = 0; i < values.size(); ++i) {
    const py::object value = values[i];
    const std::string path = absl::StrCat("params[", i, "]");
    exec::Param param;
    if (value.is_none()) {
      param.is_null = true;
    } else if (py::isinstance<py::bool_>(value)) {
      param.text = value.cast<bool>() ? "true" : "false";
    } else if (py::isinstance<py::str>(value)) {
      param.text = ValueOrRaise(PythonStrUtf8(value, path, 1 << 20));
    } else if (py::isinstance<py::int_>(value) ||
               py::isinstance<py::float_>(value) ||
               PyObject_IsInstance(value.ptr(), text_types.ptr()) == 1) {
      param.text = py::str(value).cast<std::string>();
    } else if (PyObject_IsInstance(value.ptr(), iso_types.ptr()) == 1) {
      param.text = value.attr("isoformat")().cast<std::string>();
    } else if (py::isinstance<py::dict>(value) ||
               py::isinstance<py::list>(value)) {
      param.text =
          ValueOrRaise(PythonToJson(value, path, kMutationInputLimits));
    } else {
      Raise(absl::InvalidArgumentError(absl::StrCat(
          "invalid ", path, ": a ",
          py::str(value.get_type().attr("__name__")).cast<std::string>(),
          " has no PostgreSQL text form here (give None, str, bool, int, "
          "float, Decimal, UUID, date/time/datetime, dict or list)")));
    }
    if (param.text.find('\0') != std::string::npos) {
      Raise(absl::InvalidArgumentError(
          absl::StrCat("invalid ", path, ": text contains a NUL byte")));
    }
    out.push_back(std::move(param));
  }
  return out;
}

// The calls defined on both Repository and AsyncRepository.
PreparedCall PrepareFind(
    PyRepository& self, const py::object& keepalive, const std::string& view,
    std::optional<std::string> field, const py::object& where,
    const py::object& order_by, std::optional<int64_t> limit,
    std::optional<int64_t> offset, const py::object& selection,
    std::optional<int64_t> first, std::optional<std::string> after,
    std::optional<int64_t> last, std::optional<std::string> before,
    bool total_count, const py::object& context,
    std::optional<double> timeout) {
  return self.Find(keepalive, view, field, where, order_by, limit, offset,
                   selection, /*is_list=*/true,
                   {first, after, last, before, total_count},
                   MakeContext(context, timeout));
}

PreparedCall PrepareFindOne(PyRepository& self, const py::object& keepalive,
                            const std::string& view,
                            std::optional<std::string> field,
                            const py::object& where, const py::object& order_by,
                            std::optional<int64_t> offset,
                            const py::object& selection,
                            const py::object& context,
                            std::optional<double> timeout) {
  return self.Find(keepalive, view, field, where, order_by, std::nullopt,
                   offset, selection, /*is_list=*/false, {},
                   MakeContext(context, timeout));
}

// count and exists: a value over the rows matching `where`.
template <v1::RootField::Operation kOperation>
PreparedCall PrepareRowsValue(PyRepository& self, const py::object& keepalive,
                              const std::string& view, const py::object& where,
                              const py::object& context,
                              std::optional<double> timeout) {
  return self.Value(keepalive, view, kOperation, "", where, std::nullopt,
                    std::nullopt, MakeContext(context, timeout));
}

// sum, avg, min and max: a value of one field over the matching rows.
template <v1::RootField::Operation kOperation>
PreparedCall PrepareFieldValue(PyRepository& self, const py::object& keepalive,
                               const std::string& view,
                               const std::string& field,
                               const py::object& where,
                               const py::object& context,
                               std::optional<double> timeout) {
  return self.Value(keepalive, view, kOperation, field, where, std::nullopt,
                    std::nullopt, MakeContext(context, timeout));
}

PreparedCall PrepareDistinct(PyRepository& self, const py::object& keepalive,
                             const std::string& view, const std::string& field,
                             const py::object& where,
                             std::optional<int64_t> limit,
                             std::optional<int64_t> offset,
                             const py::object& context,
                             std::optional<double> timeout) {
  return self.Value(keepalive, view, fraiseql::v1::RootField::DISTINCT, field,
                    where, limit, offset, MakeContext(context, timeout));
}

PreparedCall PrepareExecute(PyRepository& self, const py::object& keepalive,
                            const py::bytes& serialized,
                            const py::object& context,
                            std::optional<double> timeout) {
  return self.Execute(keepalive, serialized, MakeContext(context, timeout));
}

PreparedCall PrepareMutate(
    PyRepository& self, const py::object& keepalive,
    const std::string& function, const py::object& input,
    std::optional<std::string> field, const std::string& success_type,
    const std::string& error_type, const std::string& entity_field,
    const std::string& entity_type, const py::object& success_selection,
    const py::object& error_selection,
    const std::vector<std::string>& context_args, const py::object& context,
    std::optional<double> timeout) {
  return self.Mutate(keepalive, function, input, field, success_type,
                     error_type, entity_field, entity_type, success_selection,
                     error_selection, context_args,
                     MakeContext(context, timeout));
}

PreparedCall PrepareRun(PyRepository& self, const py::object& keepalive,
                        const std::string& sql, const py::object& params,
                        bool fetch, const py::object& context,
                        std::optional<double> timeout) {
  if (!IsUtf8(sql)) {
    Raise(absl::InvalidArgumentError("invalid sql: not valid UTF-8"));
  }
  if (sql.find('\0') != std::string::npos) {
    Raise(absl::InvalidArgumentError("invalid sql: contains a NUL byte"));
  }
  exec::Plan plan;
  plan.sql = sql;
  plan.params = RunParams(params);
  exec::RequestContext request = MakeContext(context, timeout);
  return self.Observed(
      "run", "",
      MakeCall<std::string>(
          request.deadline, keepalive,
          [repository = self.repository(), plan = std::move(plan), fetch,
           request](JobEnv& env) mutable {
            request.cancelled = env.cancelled;
            request.stats = env.stats;
            return repository->RunSql(plan, fetch, request);
          },
          [](std::string&& rows) -> py::object {
            return py::module_::import("json").attr("loads")(rows);
          }));
}

}  // namespace

void DefineRepository(py::module_& m) {
  // Repository(...)'s defaults, read from the C++ options.
  const RepositoryOptions repository_defaults;
  const plugins::NativeBackendOptions native_defaults;
  py::class_<PyRepository> repository(
      m, "Repository",
      "Runs queries on registered views and returns GraphQL response bytes. "
      "Takes a snapshot of the schema at construction.");
  repository
      .def(py::init<const PyPool&, const PySchema&, int, bool, int, bool, bool,
                    int64_t, const PyPool*, double, const py::object&, int,
                    const std::string&, const py::object&, const py::object&>(),
           py::arg("pool"), py::arg("schema"),
           py::arg("chunk_rows").noconvert() = native_defaults.chunk_rows,
           py::arg("always_typename") =
               repository_defaults.projection.always_typename,
           py::arg("plan_cache_size").noconvert() =
               static_cast<int>(repository_defaults.planner.cache_capacity),
           py::arg("prepared_statements") = native_defaults.prepared_statements,
           py::arg("pgbouncer") = native_defaults.pgbouncer,
           py::arg("max_response_bytes").noconvert() =
               static_cast<int64_t>(repository_defaults.max_response_bytes),
           py::arg("read_pool") = py::none(),
           py::arg("statement_timeout") =
               ToPythonSeconds(native_defaults.statement_timeout),
           py::arg("cursor_secret") = py::none(),
           py::arg("max_root_fields").noconvert() =
               static_cast<int>(repository_defaults.max_root_fields),
           py::arg("backend") = "native",
           py::arg("backend_options") = py::none(),
           py::arg("on_call") = py::none(),
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
           "prepared_statements and pgbouncer apply to 'native' only. "
           "on_call: called with one dict per finished call (operation, "
           "view, shape, backend, acquire_wait, execution, rows, bytes, "
           "sqlstate, error), e.g. fraiseql_native.metrics.PrometheusMetrics.")
      .def_property_readonly("backend", &PyRepository::backend,
                             "The registered name of the backend in use.")
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
                                chunk_bytes)
                    .Start(),
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
                                   chunk_bytes)
                    .Start(),
                py::cast(&self));
          },
          py::arg("query_definition"), py::kw_only(),
          py::arg("context") = py::none(), py::arg("timeout") = py::none(),
          py::arg("chunk_bytes").noconvert() = 65536,
          "execute() as an iterator over pieces of the body; see "
          "find_stream().")
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

  py::class_<PyAsyncRepository> async_repository(
      m, "AsyncRepository",
      "The calls of a Repository, queued for an event loop: each returns a "
      "PendingCall at once (use fraiseql_native.aio.AsyncRepository, which "
      "awaits them). At most `concurrency` calls run at once, each on a "
      "worker thread with one pool connection; the others wait in a queue, "
      "holding no thread.");
  async_repository
      .def(py::init([](py::object repository, int concurrency) {
             repository.cast<const PyRepository&>();  // type check
             return std::make_unique<PyAsyncRepository>(
                 repository, NewDispatcher(concurrency), SlotUse::kAcquire,
                 nullptr);
           }),
           py::arg("repository"), py::arg("concurrency").noconvert(),
           "concurrency: calls that may run at once (give the pool's "
           "max_size; at least 1).")
      .def_property_readonly(
          "fd",
          [](const PyAsyncRepository& self) { return self.dispatcher()->fd(); },
          "An eventfd, readable while finished calls wait for drain().")
      .def(
          "drain",
          [](const PyAsyncRepository& self) {
            return self.dispatcher()->Drain();
          },
          "The ids of the calls finished since the last drain().")
      .def(
          "stats",
          [](const PyAsyncRepository& self) {
            DispatcherStats s = self.dispatcher()->Stats();
            py::dict d;
            d["slots"] = s.slots;
            d["free_slots"] = s.free_slots;
            d["queued"] = s.queued;
            d["running"] = s.running;
            d["completed_total"] = s.completed_total;
            d["queue_timeouts"] = s.queue_timeouts;
            d["cancelled_queued"] = s.cancelled_queued;
            d["batches"] = s.batches;
            d["batched_calls"] = s.batched_calls;
            return d;
          },
          "Counters of the call queue: slots, free_slots, queued, running, "
          "completed_total, queue_timeouts, cancelled_queued, batches (groups "
          "of waiting find/find_one/execute calls run in one round trip) and "
          "batched_calls.");

  DefCall<py::bytes>(
      repository, async_repository, "find", &PrepareFind, py::arg("view"),
      py::kw_only(), py::arg("field") = py::none(),
      py::arg("where") = py::none(), py::arg("order_by") = py::none(),
      py::arg("limit").noconvert() = py::none(),
      py::arg("offset").noconvert() = py::none(),
      py::arg("selection") = py::none(),
      py::arg("first").noconvert() = py::none(), py::arg("after") = py::none(),
      py::arg("last").noconvert() = py::none(), py::arg("before") = py::none(),
      py::arg("total_count") = false, py::arg("context") = py::none(),
      py::arg("timeout") = py::none(),
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
      "Every query method takes context and timeout.");
  DefCall<py::bytes>(
      repository, async_repository, "find_one", &PrepareFindOne,
      py::arg("view"), py::kw_only(), py::arg("field") = py::none(),
      py::arg("where") = py::none(), py::arg("order_by") = py::none(),
      py::arg("offset").noconvert() = py::none(),
      py::arg("selection") = py::none(), py::arg("context") = py::none(),
      py::arg("timeout") = py::none(),
      "The first matching row as {\"data\":{field:{...}}} bytes, or "
      "{\"data\":{field:null}}.");
  DefCall<py::object>(repository, async_repository, "count",
                      &PrepareRowsValue<v1::RootField::COUNT>, py::arg("view"),
                      py::kw_only(), py::arg("where") = py::none(),
                      py::arg("context") = py::none(),
                      py::arg("timeout") = py::none(),
                      "The number of rows matching `where`, as an int.");
  DefCall<py::object>(repository, async_repository, "exists",
                      &PrepareRowsValue<v1::RootField::EXISTS>, py::arg("view"),
                      py::kw_only(), py::arg("where") = py::none(),
                      py::arg("context") = py::none(),
                      py::arg("timeout") = py::none(),
                      "Whether any row matches `where`, as a bool.");
  // sum, avg, min and max take the same arguments.
  const auto def_field_value = [&](const char* name,
                                   PreparedCall (*prepare)(
                                       PyRepository&, const py::object&,
                                       const std::string&, const std::string&,
                                       const py::object&, const py::object&,
                                       std::optional<double>),
                                   const char* doc) {
    DefCall<py::object>(
        repository, async_repository, name, prepare, py::arg("view"),
        py::arg("field"), py::kw_only(), py::arg("where") = py::none(),
        py::arg("context") = py::none(), py::arg("timeout") = py::none(), doc);
  };
  def_field_value(
      "sum", &PrepareFieldValue<v1::RootField::SUM>,
      "The sum of a number field (dotted path, e.g. 'address.zip') over "
      "the matching rows: int for Int and Port fields, Decimal for Float "
      "and Decimal fields; None when no row has a value.");
  def_field_value(
      "avg", &PrepareFieldValue<v1::RootField::AVG>,
      "The average of a number field as a Decimal (PostgreSQL's numeric "
      "avg), or None when no row has a value.");
  def_field_value(
      "min", &PrepareFieldValue<v1::RootField::MIN>,
      "The smallest value of a number, Date, DateTime or text field: int "
      "or Decimal as for sum, str for the others (dates YYYY-MM-DD, "
      "date-times ISO 8601 in UTC); None when no row has a value.");
  def_field_value("max", &PrepareFieldValue<v1::RootField::MAX>,
                  "The largest value; see min().");
  DefCall<py::object>(
      repository, async_repository, "distinct", &PrepareDistinct,
      py::arg("view"), py::arg("field"), py::kw_only(),
      py::arg("where") = py::none(), py::arg("limit").noconvert() = py::none(),
      py::arg("offset").noconvert() = py::none(),
      py::arg("context") = py::none(), py::arg("timeout") = py::none(),
      "The distinct values of a field over the matching rows, ascending "
      "by the field's type, None (missing or null) last, as a list "
      "(numbers as for sum, JSON and list values as Python objects).");
  DefCall<py::bytes>(
      repository, async_repository, "execute", &PrepareExecute,
      py::arg("query_definition"), py::kw_only(),
      py::arg("context") = py::none(), py::arg("timeout") = py::none(),
      "Runs a serialized fraiseql.v1.QueryDefinition (several root "
      "fields give one body; their statements go to the server in one "
      "round trip and read one snapshot). context and timeout as for "
      "find().");
  DefCall<py::bytes>(
      repository, async_repository, "mutate", &PrepareMutate,
      py::arg("function"), py::arg("input"), py::kw_only(),
      py::arg("field") = py::none(), py::arg("success_type"),
      py::arg("error_type"), py::arg("entity_field") = "",
      py::arg("entity_type") = "", py::arg("success_selection") = py::none(),
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
      "{\"data\":{field:{...}}} bytes.");

  DefCall<py::list>(
      repository, async_repository, "run", &PrepareRun, py::arg("sql"),
      py::arg("params") = py::none(), py::kw_only(), py::arg("fetch") = true,
      py::arg("context") = py::none(), py::arg("timeout") = py::none(),
      "Runs one raw SQL statement with $1..$n bound to `params` (values are "
      "never pasted into the text) on the writer pool (inside a "
      "transaction: in it), with `context`. fetch=True: the rows as a list "
      "of dicts (column -> value as JSON gives it: numbers, str for "
      "timestamps, nested dicts for json); the statement must be one a "
      "WITH can hold (SELECT, VALUES, INSERT/UPDATE/DELETE ... RETURNING). "
      "fetch=False: any single statement; returns []. For the app's own "
      "SQL, never for text from a request.");

  async_repository
      .def(
          "transaction",
          [](PyAsyncRepository& self, const std::string& isolation,
             bool read_only, const py::object& context,
             std::optional<double> timeout) {
            plugins::TransactionOptions options;
            options.isolation = ParseIsolation(isolation);
            options.read_only = read_only;
            return AsyncBegin(self, options, MakeContext(context, timeout));
          },
          py::kw_only(), py::arg("isolation") = "read_committed",
          py::arg("read_only") = false, py::arg("context") = py::none(),
          py::arg("timeout") = py::none(),
          "Begins a transaction once a connection is free; the call's result "
          "is an AsyncTransaction. See Repository.transaction().")
      .def(
          "find_stream",
          [](PyAsyncRepository& self, const std::string& view,
             std::optional<std::string> field, const py::object& where,
             const py::object& order_by, std::optional<int64_t> limit,
             std::optional<int64_t> offset, const py::object& selection,
             const py::object& context, std::optional<double> timeout,
             int64_t chunk_bytes) {
            return AsyncStream(
                self,
                self.target().cast<const PyRepository&>().FindStream(
                    view, field, where, order_by, limit, offset, selection,
                    MakeContext(context, timeout), chunk_bytes));
          },
          py::arg("view"), py::kw_only(), py::arg("field") = py::none(),
          py::arg("where") = py::none(), py::arg("order_by") = py::none(),
          py::arg("limit").noconvert() = py::none(),
          py::arg("offset").noconvert() = py::none(),
          py::arg("selection") = py::none(), py::arg("context") = py::none(),
          py::arg("timeout") = py::none(),
          py::arg("chunk_bytes").noconvert() = 65536,
          "Starts find_stream() once a connection is free; the call's result "
          "is an AsyncBodyIterator.")
      .def(
          "execute_stream",
          [](PyAsyncRepository& self, const py::bytes& serialized,
             const py::object& context, std::optional<double> timeout,
             int64_t chunk_bytes) {
            return AsyncStream(
                self,
                self.target().cast<const PyRepository&>().ExecuteStream(
                    serialized, MakeContext(context, timeout), chunk_bytes));
          },
          py::arg("query_definition"), py::kw_only(),
          py::arg("context") = py::none(), py::arg("timeout") = py::none(),
          py::arg("chunk_bytes").noconvert() = 65536,
          "Starts execute_stream() once a connection is free; the call's "
          "result is an AsyncBodyIterator.");

  py::class_<PyAsyncTransaction, PyAsyncRepository>(
      m, "AsyncTransaction",
      "An AsyncRepository's open transaction (see Transaction).")
      .def(
          "commit",
          [](PyAsyncTransaction& self, std::optional<double> timeout) {
            return self.End(/*commit=*/true, timeout);
          },
          py::arg("timeout") = py::none(), "Commits (a PendingCall).")
      .def(
          "rollback",
          [](PyAsyncTransaction& self, std::optional<double> timeout) {
            return self.End(/*commit=*/false, timeout);
          },
          py::arg("timeout") = py::none(), "Rolls back (a PendingCall).")
      .def_property_readonly("open", &PyAsyncTransaction::open,
                             "Not yet committed or rolled back.");

  py::class_<PyAsyncBodyIterator>(
      m, "AsyncBodyIterator",
      "An AsyncRepository's stream: next() and close() return PendingCalls "
      "(next's result is None after the last piece).")
      .def("next", &PyAsyncBodyIterator::Next)
      .def("close", &PyAsyncBodyIterator::Close)
      .def("cancel", &PyAsyncBodyIterator::CancelStream,
           "Cancels the stream at once (the next() in progress ends soon).");

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
      .def("__exit__", [](PyTransaction& self, const py::object& type,
                          const py::object&, const py::object&) {
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
      .def("__exit__", [](PyBodyIterator& self, const py::object&,
                          const py::object&, const py::object&) {
        self.CloseReleasingGil();
        return false;
      });
}

}  // namespace fraiseql::pybind
