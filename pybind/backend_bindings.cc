#include "pybind/backend_bindings.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "base/pg_status.h"
#include "base/status_macros.h"
#include "exec/request_context.h"
#include "plugins/backends/builtin_backends.h"
#include "pybind/errors.h"

namespace fraiseql::pybind {
namespace py = pybind11;
namespace {

// Rows handed to a sink at a time: the native backend's default chunk.
constexpr size_t kChunkRows = 256;

// A reference to a Python object that C++ may drop on any thread: it takes
// the GIL to let go. After the interpreter has finalized, the reference is
// leaked instead (there is nothing left to free it into).
class PyRef {
 public:
  explicit PyRef(py::object object) : object_(std::move(object)) {}
  PyRef(const PyRef&) = delete;
  PyRef& operator=(const PyRef&) = delete;
  ~PyRef() {
    if (!Py_IsInitialized()) {
      object_.release();
      return;
    }
    py::gil_scoped_acquire gil;
    object_ = py::object();
  }
  const py::object& get() const { return object_; }

 private:
  py::object object_;
};

// The status code of one of the module's exception classes (or of the
// built-in ConnectionError), kUnknown for any other exception. With the GIL.
absl::StatusCode OwnExceptionCode(py::error_already_set& error) {
  const Exceptions& own = ModuleExceptions();
  const std::pair<PyObject*, absl::StatusCode> classes[] = {
      // Most derived first: QueryTimeoutError and PoolTimeoutError are both
      // TimeoutErrors, InvalidInputError a ValueError.
      {own.query_timeout, absl::StatusCode::kDeadlineExceeded},
      {own.timeout, absl::StatusCode::kDeadlineExceeded},
      {own.exhausted, absl::StatusCode::kResourceExhausted},
      {own.cancelled, absl::StatusCode::kCancelled},
      {own.transaction, absl::StatusCode::kFailedPrecondition},
      {own.unavailable, absl::StatusCode::kUnavailable},
      {own.invalid_input, absl::StatusCode::kInvalidArgument},
  };
  for (const auto& [type, code] : classes) {
    if (type != nullptr && error.matches(type)) return code;
  }
  if (error.matches(PyExc_ConnectionError)) {
    return absl::StatusCode::kUnavailable;
  }
  return absl::StatusCode::kUnknown;
}

bool OwnIsQueryTimeout(py::error_already_set& error) {
  PyObject* type = ModuleExceptions().query_timeout;
  return type != nullptr && error.matches(type);
}

// The Python exception being handled as a status: a database error keeps
// its SQLSTATE (psycopg's errors carry `sqlstate`) and maps as the native
// backend's do; the message's quoted text is withheld as the server's is.
absl::Status StatusFromPython(py::error_already_set& error,
                              absl::string_view backend) {
  const std::string context = absl::StrCat("backend '", backend, "'");
  std::string message;
  try {
    message = py::str(error.value()).cast<std::string>();
  } catch (const std::exception&) {
    message = "(no message)";
  }
  std::string type_name = "exception";
  if (error.type()) {
    type_name = py::str(error.type().attr("__name__")).cast<std::string>();
  }
  std::optional<std::string> sqlstate;
  if (py::hasattr(error.value(), "sqlstate")) {
    py::object value = error.value().attr("sqlstate");
    if (py::isinstance<py::str>(value)) {
      std::string text = value.cast<std::string>();
      if (text.size() == 5) sqlstate = std::move(text);
    }
  }
  // The module's own exceptions (a Python backend may raise them, e.g.
  // PoolTimeoutError when its pool has no connection in time) and the
  // built-in ConnectionError keep their meaning.
  const absl::StatusCode own = OwnExceptionCode(error);
  const bool is_timeout =
      own == absl::StatusCode::kUnknown &&
      (sqlstate == "57014" || error.matches(PyExc_TimeoutError));
  const bool is_value_error = error.matches(PyExc_ValueError);
  const bool is_query_timeout = OwnIsQueryTimeout(error);
  error.restore();
  PyErr_Clear();
  if (own != absl::StatusCode::kUnknown && !sqlstate.has_value()) {
    absl::Status status(
        own, absl::StrCat(context, ": ", WithholdQuotedText(message)));
    if (is_query_timeout) {
      status.SetPayload(exec::kQueryTimeoutPayloadUrl, absl::Cord("query"));
    }
    return status;
  }
  if (is_timeout) {
    // The backend applies the request's statement_timeout and deadline
    // itself: its 57014 is our timeout, as the native backend reports it.
    absl::Status status = absl::DeadlineExceededError(absl::StrCat(
        context, ": the query ran past its timeout and was cancelled"));
    status.SetPayload(exec::kQueryTimeoutPayloadUrl, absl::Cord("query"));
    if (sqlstate.has_value()) {
      status.SetPayload(kSqlStatePayloadUrl, absl::Cord(*sqlstate));
    }
    return status;
  }
  if (sqlstate.has_value()) {
    return StatusFromSqlState(*sqlstate, context, message);
  }
  const std::string text = absl::StrCat(context, " raised ", type_name, ": ",
                                        WithholdQuotedText(message));
  return is_value_error ? absl::InvalidArgumentError(text)
                        : absl::InternalError(text);
}

// Runs `call` with the GIL; a Python exception becomes a status.
template <typename F>
absl::Status WithPython(absl::string_view backend, F&& call) {
  py::gil_scoped_acquire gil;
  try {
    return call();
  } catch (py::error_already_set& error) {
    return StatusFromPython(error, backend);
  } catch (const py::cast_error& error) {
    return absl::InternalError(
        absl::StrCat("backend '", backend,
                     "' returned a value of the wrong type: ", error.what()));
  } catch (const std::exception& error) {
    // Whatever else a conversion throws (pybind11's own type errors,
    // bad_alloc): an error of this call, never an exception across the
    // boundary.
    return absl::InternalError(
        absl::StrCat("backend '", backend, "' failed: ", error.what()));
  }
}

py::list StatementsToPython(absl::Span<const exec::Statement> statements) {
  py::list out;
  for (const exec::Statement& statement : statements) {
    py::list params;
    for (const exec::Param& param : statement.plan->params) {
      params.append(py::make_tuple(
          param.is_null ? py::object(py::none()) : py::str(param.text),
          param.sql_type));
    }
    out.append(py::make_tuple(statement.plan->sql, std::move(params)));
  }
  return out;
}

double SecondsOf(absl::Duration duration) {
  return absl::ToDoubleSeconds(duration);
}

// The context as the backend protocol gives it: variables by full name,
// the effective statement_timeout in seconds, the seconds left before the
// caller's deadline (None when it has none).
py::dict ContextToPython(const exec::RequestContext& context,
                         absl::Duration default_statement_timeout) {
  py::dict out;
  out["tenant_id"] = context.tenant_id.has_value()
                         ? py::object(py::str(*context.tenant_id))
                         : py::object(py::none());
  out["user_id"] = context.user_id.has_value()
                       ? py::object(py::str(*context.user_id))
                       : py::object(py::none());
  py::dict variables;
  for (const auto& [name, value] : context.variables) {
    variables[py::str(name)] = py::str(value);
  }
  out["variables"] = std::move(variables);
  out["role"] = context.role.has_value() ? py::object(py::str(*context.role))
                                         : py::object(py::none());
  const absl::Duration timeout =
      context.statement_timeout > absl::ZeroDuration()
          ? context.statement_timeout
          : default_statement_timeout;
  out["statement_timeout"] = SecondsOf(std::max(timeout, absl::ZeroDuration()));
  if (context.deadline == absl::InfiniteFuture()) {
    out["timeout"] = py::none();
  } else {
    out["timeout"] = std::max(0.0, SecondsOf(context.deadline - absl::Now()));
  }
  return out;
}

// Hands one statement's rows (a Python sequence of str or of tuples of
// str | None) to `sink`, kChunkRows at a time, the GIL released while the
// sink runs.
absl::Status RowsToSink(const py::handle& rows, exec::RowSink* sink,
                        absl::string_view backend) {
  if (!py::isinstance<py::list>(rows) && !py::isinstance<py::tuple>(rows)) {
    return absl::InternalError(absl::StrCat(
        "backend '", backend, "' returned rows that are not a list"));
  }
  py::sequence sequence = py::reinterpret_borrow<py::sequence>(rows);
  const size_t count = py::len(sequence);
  int columns = 0;
  std::vector<std::string> cells;
  exec::RowChunk chunk;
  for (size_t begin = 0; begin < count; begin += kChunkRows) {
    const size_t end = std::min(count, begin + kChunkRows);
    cells.clear();
    for (size_t i = begin; i < end; ++i) {
      py::handle row = sequence[i];
      int width = 1;
      if (py::isinstance<py::str>(row)) {
        cells.push_back(row.cast<std::string>());
      } else if (py::isinstance<py::tuple>(row) ||
                 py::isinstance<py::list>(row)) {
        py::sequence values = py::reinterpret_borrow<py::sequence>(row);
        width = static_cast<int>(py::len(values));
        for (py::handle value : values) {
          // A SQL NULL reaches sinks as the JSON literal null.
          if (!value.is_none() && !py::isinstance<py::str>(value)) {
            return absl::InternalError(
                absl::StrCat("backend '", backend,
                             "' returned a value of the wrong type "
                             "in row ",
                             i, ": expected str or None"));
          }
          cells.push_back(value.is_none() ? std::string("null")
                                          : value.cast<std::string>());
        }
      } else {
        return absl::InternalError(
            absl::StrCat("backend '", backend,
                         "' returned a value of the wrong type for "
                         "row ",
                         i, ": expected str or a tuple of str | None"));
      }
      if (columns == 0) columns = width;
      if (width != columns || width < 1) {
        return absl::InternalError(absl::StrCat(
            "backend '", backend, "' returned rows of different widths (row ",
            i, " has ", width, " columns, the first had ", columns, ")"));
      }
    }
    if (sink == nullptr) continue;
    chunk.columns = columns;
    chunk.rows.clear();
    chunk.more.clear();
    for (size_t r = 0; r < end - begin; ++r) {
      const size_t at = r * static_cast<size_t>(columns);
      chunk.rows.emplace_back(cells[at]);
      for (int c = 1; c < columns; ++c) chunk.more.emplace_back(cells[at + c]);
    }
    py::gil_scoped_release release;
    absl::Status status = sink->OnChunk(chunk);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// Runs `statements` through `runner.execute(statements, context)` and hands
// each statement's rows to its sink. With the GIL.
absl::Status ExecuteThroughPython(const py::object& runner,
                                  absl::Span<const exec::Statement> statements,
                                  const py::dict& context,
                                  absl::string_view backend) {
  py::object result =
      runner.attr("execute")(StatementsToPython(statements), context);
  if (!py::isinstance<py::sequence>(result) ||
      py::len(result) != statements.size()) {
    return absl::InternalError(absl::StrCat(
        "backend '", backend, "' must return one list of rows per statement (",
        statements.size(), ")"));
  }
  py::sequence per_statement = py::reinterpret_borrow<py::sequence>(result);
  for (size_t i = 0; i < statements.size(); ++i) {
    absl::Status status =
        RowsToSink(per_statement[i], statements[i].sink, backend);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// Checked before Python is entered, as the native backend does before
// anything is sent.
absl::Status CheckCall(const exec::RequestContext& context) {
  if (context.cancelled != nullptr && context.cancelled->load()) {
    return absl::CancelledError("the query was cancelled");
  }
  if (absl::Now() >= context.deadline) {
    absl::Status status =
        absl::DeadlineExceededError("the query's deadline passed");
    status.SetPayload(exec::kQueryTimeoutPayloadUrl, absl::Cord("query"));
    return status;
  }
  return exec::ValidateRequestContext(context);
}

std::string IsolationName(plugins::TransactionOptions::Isolation isolation) {
  switch (isolation) {
    case plugins::TransactionOptions::Isolation::kRepeatableRead:
      return "repeatable read";
    case plugins::TransactionOptions::Isolation::kSerializable:
      return "serializable";
    case plugins::TransactionOptions::Isolation::kReadCommitted:
      break;
  }
  return "read committed";
}

absl::Status Busy() {
  return absl::FailedPreconditionError(
      "the transaction is busy with another statement (a stream not yet "
      "read to its end or closed?); finish or close it first");
}

// A transaction of a Python backend: `tx` has execute, commit, rollback and
// begin (a savepoint). Follows plugins::Transaction's contract: a call made
// while another call of the transaction (or of one of its savepoints) runs
// fails at once with FailedPrecondition (busy), so two threads never drive
// one connection; after a failed statement the transaction is aborted until
// rolled back; ending a transaction ends its open savepoints with it (the
// server already did), so they never send anything again.
class PyBackendTransaction : public plugins::Transaction {
 public:
  PyBackendTransaction(std::string backend, py::object tx,
                       absl::Duration statement_timeout,
                       PyBackendTransaction* parent = nullptr)
      : backend_(std::move(backend)),
        tx_(std::make_unique<PyRef>(std::move(tx))),
        statement_timeout_(statement_timeout),
        busy_(parent != nullptr ? parent->busy_
                                : std::make_shared<absl::Mutex>()),
        parent_(parent) {}

  ~PyBackendTransaction() override {
    // At interpreter exit there is no Python left to roll back through;
    // the server rolls back when the connection closes.
    if (open_ && Py_IsInitialized()) {
      Rollback(absl::InfiniteFuture()).IgnoreError();
    }
    if (parent_ != nullptr && busy_->TryLock()) {
      if (parent_->child_ == this) parent_->child_ = nullptr;
      busy_->Unlock();
    }
  }

  absl::string_view name() const override { return backend_name_; }

  absl::Status ExecuteBatch(absl::Span<const exec::Statement> statements,
                            const exec::RequestContext& context) override {
    if (!busy_->TryLock()) return Busy();
    absl::Cleanup unlock = [&] { busy_->Unlock(); };
    if (!open_) {
      return absl::FailedPreconditionError("the transaction has ended");
    }
    if (context.HasSettings()) {
      return absl::InvalidArgumentError(
          "a transaction's statements take no context variables of their "
          "own: give them when the transaction begins");
    }
    if (Aborted()) {
      return absl::FailedPreconditionError(
          "the transaction was aborted by an earlier error: roll it back");
    }
    RETURN_IF_ERROR(CheckCall(context));
    absl::Status status = WithPython(backend_, [&]() {
      return ExecuteThroughPython(tx_->get(), statements,
                                  ContextToPython(context, statement_timeout_),
                                  backend_);
    });
    // As on the server: after a failed statement only a rollback (of the
    // transaction, or of the savepoint this one is) goes on.
    if (!status.ok()) aborted_ = true;
    return status;
  }

  absl::Status Commit(absl::Time deadline) override {
    if (!busy_->TryLock()) return Busy();
    absl::Cleanup unlock = [&] { busy_->Unlock(); };
    if (open_ && Aborted()) {
      absl::Status rolled_back = End("rollback", deadline);
      if (!rolled_back.ok()) return rolled_back;
      return absl::FailedPreconditionError(
          "the transaction was aborted by an earlier error and has been "
          "rolled back");
    }
    return End("commit", deadline);
  }

  absl::Status Rollback(absl::Time deadline) override {
    if (!busy_->TryLock()) return Busy();
    absl::Cleanup unlock = [&] { busy_->Unlock(); };
    return End("rollback", deadline);
  }

  bool open() const override {
    // Busy means a call is running: open.
    if (!busy_->TryLock()) return true;
    const bool open = open_;
    busy_->Unlock();
    return open;
  }

  absl::StatusOr<std::unique_ptr<plugins::Transaction>> Begin(
      const plugins::TransactionOptions& options,
      const exec::RequestContext& context) override {
    if (!busy_->TryLock()) return Busy();
    absl::Cleanup unlock = [&] { busy_->Unlock(); };
    if (!open_) {
      return absl::FailedPreconditionError("the transaction has ended");
    }
    if (Aborted()) {
      return absl::FailedPreconditionError(
          "the transaction was aborted by an earlier error: roll it back");
    }
    if (options.isolation !=
            plugins::TransactionOptions::Isolation::kReadCommitted ||
        options.read_only || context.NeedsTransaction()) {
      return absl::InvalidArgumentError(
          "a nested transaction (savepoint) takes no options of its own");
    }
    std::unique_ptr<plugins::Transaction> nested;
    absl::Status status = WithPython(backend_, [&]() {
      if (!py::hasattr(tx_->get(), "begin")) {
        return absl::UnimplementedError(absl::StrCat(
            "backend '", backend_, "' has no nested transactions"));
      }
      auto opened = std::make_unique<PyBackendTransaction>(
          backend_, tx_->get().attr("begin")(), statement_timeout_, this);
      child_ = opened.get();
      nested = std::move(opened);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return nested;
  }

 private:
  // With busy_ held. A finite deadline reaches the backend as
  // method(timeout=<seconds left>).
  absl::Status End(const char* method, absl::Time deadline) {
    if (!open_) {
      return absl::FailedPreconditionError("the transaction has ended");
    }
    // Ended whatever the outcome: a failed COMMIT rolls back on the server,
    // and a failed rollback leaves nothing to retry here. Its savepoints end
    // with it: they must never reach the connection again (it may serve
    // another request by then).
    open_ = false;
    for (PyBackendTransaction* child = child_; child != nullptr;
         child = child->child_) {
      child->open_ = false;
    }
    return WithPython(backend_, [&]() {
      if (deadline == absl::InfiniteFuture()) {
        tx_->get().attr(method)();
      } else {
        tx_->get().attr(method)(
            py::arg("timeout") =
                std::max(0.0, absl::ToDoubleSeconds(deadline - absl::Now())));
      }
      return absl::OkStatus();
    });
  }

  // With busy_ held: this transaction or an open savepoint in it is aborted.
  bool Aborted() const {
    return aborted_ ||
           (child_ != nullptr && child_->open_ && child_->Aborted());
  }

  std::string backend_;
  std::string backend_name_ = absl::StrCat("backend.", backend_);
  std::unique_ptr<PyRef> tx_;
  absl::Duration statement_timeout_;
  // Held by whichever call of the transaction or of its savepoints runs;
  // guards the fields below. Shared along the chain of savepoints.
  std::shared_ptr<absl::Mutex> busy_;
  bool open_ = true;
  // A statement failed (cleared by ending: rollback, or commit, which then
  // rolls back).
  bool aborted_ = false;
  // The transaction this one is a savepoint of, and the open savepoint in
  // this one; a savepoint never outlives its parent (plugins/backend.h).
  PyBackendTransaction* parent_ = nullptr;
  PyBackendTransaction* child_ = nullptr;
};

// A backend implemented in Python (see DefineBackendBindings).
class PyBackend : public plugins::Backend {
 public:
  PyBackend(std::string name, py::object backend,
            absl::Duration statement_timeout)
      : name_(std::move(name)),
        backend_(std::make_unique<PyRef>(std::move(backend))),
        statement_timeout_(statement_timeout) {}

  ~PyBackend() override {
    if (!Py_IsInitialized()) return;
    py::gil_scoped_acquire gil;
    try {
      if (py::hasattr(backend_->get(), "close"))
        backend_->get().attr("close")();
    } catch (py::error_already_set& error) {
      // Closing is best effort; nothing can be reported from a destructor.
      PyErr_Clear();
    }
  }

  absl::string_view name() const override { return display_name_; }

  using Backend::Execute;
  absl::Status Execute(const exec::Plan& plan,
                       const exec::RequestContext& context,
                       exec::RowSink* sink) override {
    const exec::Statement statement{&plan, sink};
    return ExecuteBatch(absl::MakeConstSpan(&statement, 1), context);
  }

  absl::Status ExecuteBatch(absl::Span<const exec::Statement> statements,
                            const exec::RequestContext& context) override {
    absl::Status checked = CheckCall(context);
    if (!checked.ok()) return checked;
    return WithPython(name_, [&]() {
      return ExecuteThroughPython(backend_->get(), statements,
                                  ContextToPython(context, statement_timeout_),
                                  name_);
    });
  }

  absl::StatusOr<std::unique_ptr<plugins::Transaction>> Begin(
      const plugins::TransactionOptions& options,
      const exec::RequestContext& context) override {
    absl::Status checked = CheckCall(context);
    if (!checked.ok()) return checked;
    std::unique_ptr<plugins::Transaction> tx;
    absl::Status status = WithPython(name_, [&]() {
      if (!py::hasattr(backend_->get(), "begin")) {
        return absl::UnimplementedError(absl::StrCat(
            "backend '", name_, "' does not support transactions"));
      }
      py::object opened = backend_->get().attr("begin")(
          IsolationName(options.isolation), options.read_only,
          ContextToPython(context, statement_timeout_));
      tx = std::make_unique<PyBackendTransaction>(name_, std::move(opened),
                                                  statement_timeout_);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return tx;
  }

 private:
  std::string name_;
  std::string display_name_ = absl::StrCat("backend.", name_);
  std::unique_ptr<PyRef> backend_;
  absl::Duration statement_timeout_;
};

// The Python factories registered, by name (for backend_known_differences).
struct PythonFactories {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::shared_ptr<PyRef>> by_name
      ABSL_GUARDED_BY(mu);
};

PythonFactories& Factories() {
  // Never destroyed: Python factories outlive any static destruction order.
  static PythonFactories* factories = new PythonFactories();
  return *factories;
}

void RegisterBackend(const std::string& name, const py::object& factory) {
  if (!PyCallable_Check(factory.ptr())) {
    throw py::type_error(
        "register_backend: factory must be callable as factory(url, options)");
  }
  auto held = std::make_shared<PyRef>(factory);
  absl::Status status = ModuleBackendRegistry().Register(
      name,
      [name, held](const plugins::BackendConfig& config)
          -> absl::StatusOr<std::shared_ptr<plugins::Backend>> {
        std::shared_ptr<plugins::Backend> backend;
        absl::Status made = WithPython(name, [&]() {
          py::dict options;
          for (const auto& [key, value] : config.options) {
            options[py::str(key)] = py::str(value);
          }
          backend = std::make_shared<PyBackend>(
              name, held->get()(config.url, options), config.statement_timeout);
          return absl::OkStatus();
        });
        if (!made.ok()) return made;
        return backend;
      });
  if (!status.ok()) throw py::value_error(std::string(status.message()));
  absl::MutexLock lock(&Factories().mu);
  Factories().by_name[name] = std::move(held);
}

py::dict KnownDifferences(const std::string& name) {
  std::shared_ptr<PyRef> factory;
  {
    absl::MutexLock lock(&Factories().mu);
    auto it = Factories().by_name.find(name);
    if (it != Factories().by_name.end()) factory = it->second;
  }
  if (factory == nullptr) {
    for (const std::string& known : ModuleBackendRegistry().Names()) {
      if (known == name) return py::dict();  // a C++ backend: none declared
    }
    throw py::value_error(
        absl::StrCat("unknown backend; registered: ",
                     absl::StrJoin(ModuleBackendRegistry().Names(), ", ")));
  }
  py::object declared =
      py::getattr(factory->get(), "known_differences", py::dict());
  return py::dict(declared);
}

}  // namespace

plugins::BackendRegistry& ModuleBackendRegistry() {
  static plugins::BackendRegistry* registry = [] {
    auto* built =
        new plugins::BackendRegistry();  // lives as long as the module
    absl::Status status = plugins::RegisterBuiltinBackends(built);
    if (!status.ok()) {
      throw std::runtime_error(std::string(status.message()));
    }
    return built;
  }();
  return *registry;
}

void DefineBackendBindings(py::module_& m) {
  m.def("register_backend", &RegisterBackend, py::arg("name"),
        py::arg("factory"),
        "Registers a backend by name: factory(url, options) -> an object "
        "with execute(statements, context) -> one list of rows per "
        "statement, and optionally begin(isolation, read_only, context) -> "
        "a transaction (execute, commit, rollback, begin) and close(). The "
        "factory may declare known_differences (a class attribute when it "
        "is the class). Repository(pool, schema, backend=name, "
        "backend_options={...}) then runs on it. ValueError for a malformed "
        "or already registered name.");
  m.def(
      "backends", []() { return ModuleBackendRegistry().Names(); },
      "Names of the registered backends, sorted.");
  m.def("backend_known_differences", &KnownDifferences, py::arg("name"),
        "The differences from the native path a backend declares "
        "(name -> {\"classifier\": ..., \"description\": ...}), for the "
        "parity tools; {} for a backend that declares none.");
}

}  // namespace fraiseql::pybind
