"""Backends by name: the registry (backends(), register_backend,
Repository(backend=...)) and the adapter that runs a Python backend under
the C++ Repository (what it is given, what it may return, how its errors
reach the caller). The Python backends here run their statements on the
real server through psycopg, so the rows they return are real rows."""
import itertools
import json
import threading

import psycopg
import pytest

_names = itertools.count()


def unique(prefix):
    return f"{prefix}-{next(_names)}"


class PsycopgRows:
    """Runs each plan on the server with libpq's own $n parameters; rows
    as text. Records what it was given."""

    def __init__(self, url, options):
        self.url = url
        self.options = dict(options)
        self.calls = []
        self.closed = threading.Event()

    def execute(self, statements, context):
        self.calls.append((statements, context))
        out = []
        with psycopg.connect(self.url, autocommit=True) as conn:
            for sql, params in statements:
                result = conn.pgconn.exec_params(
                    sql.encode(),
                    [None if text is None else text.encode()
                     for text, _ in params])
                rows = []
                for r in range(result.ntuples):
                    rows.append(tuple(
                        None if result.get_value(r, c) is None
                        else result.get_value(r, c).decode()
                        for c in range(result.nfields)))
                if result.status not in (psycopg.pq.ExecStatus.TUPLES_OK,
                                         psycopg.pq.ExecStatus.COMMAND_OK):
                    raise RuntimeError(result.error_message.decode())
                out.append(rows)
        return out

    def close(self):
        self.closed.set()


class Raising:
    """Every execute raises `error`."""

    def __init__(self, error):
        self.error = error

    def execute(self, statements, context):
        raise self.error


class SqlError(Exception):
    def __init__(self, message, sqlstate):
        super().__init__(message)
        self.sqlstate = sqlstate


def register(fn, factory, prefix="test-backend"):
    name = unique(prefix)
    fn.register_backend(name, factory)
    return name


def test_native_is_registered(fn, repo):
    # (legacy-psycopg is checked by its own plugin's tests: deleting its
    # folder must leave these passing.)
    assert "native" in fn.backends()
    assert fn.backends() == sorted(fn.backends())
    assert repo.backend == "native"


def test_unknown_backend_names_the_registered_ones(fn, pool, schema):
    with pytest.raises(fn.InvalidInputError) as e:
        fn.Repository(pool, schema, backend="nativ")
    assert str(e.value).startswith("unknown backend 'nativ'; registered: ")
    assert "native" in str(e.value)


def test_native_options_are_checked(fn, pool, schema):
    with pytest.raises(fn.InvalidInputError, match="unknown backend option"):
        fn.Repository(pool, schema, backend_options={"chunkrows": 8})
    with pytest.raises(fn.InvalidInputError,
                       match="'chunk_rows' for native: expected an integer"):
        fn.Repository(pool, schema, backend_options={"chunk_rows": "many"})
    # A valid one is taken (and chunk_rows=1 still yields every row).
    repo = fn.Repository(pool, schema, backend_options={"chunk_rows": 1})
    assert repo.count(f"{schema_view(schema)}") > 0


def schema_view(schema):
    return next(v for v in schema.views() if v.endswith("v_user"))


def test_registering_checks_the_name_and_the_factory(fn):
    name = register(fn, PsycopgRows)
    with pytest.raises(ValueError, match="already registered"):
        fn.register_backend(name, PsycopgRows)
    for bad in ("", "Upper", "-x", "a b", "x" * 65):
        with pytest.raises(ValueError, match="invalid backend name"):
            fn.register_backend(bad, PsycopgRows)
    with pytest.raises(TypeError, match="callable"):
        fn.register_backend(unique("test-not-callable"), 42)


def test_a_python_backend_answers_as_native_does(fn, pool, schema, db_url):
    made = []

    def factory(url, options):
        made.append(PsycopgRows(url, options))
        return made[-1]

    name = register(fn, factory)
    python = fn.Repository(pool, schema, backend=name,
                           backend_options={"flag": True, "size": 3})
    native = fn.Repository(pool, schema)
    assert python.backend == name
    view = schema_view(schema)
    args = dict(selection="id firstName balance address { cityName }",
                where={"balance": {"gt": 0}}, order_by=[{"id": "ASC"}],
                limit=25)
    body = python.find(view, **args)
    assert body == native.find(view, **args)
    assert len(json.loads(body)["data"][view.split(".")[1]]) == 25
    assert python.count(view) == native.count(view)
    # The factory got the pool's URL and the options as text.
    assert made[0].url == db_url
    assert made[0].options == {"flag": "true", "size": "3"}
    # Statements come with $n placeholders and (text, sql_type) parameters.
    statements, context = made[0].calls[0]
    sql, params = statements[0]
    assert "$1" in sql and params[0][0] == "0"
    assert context["statement_timeout"] == 30.0
    assert context["timeout"] is None


def test_the_context_reaches_the_backend(fn, pool, schema):
    seen = []

    def factory(url, options):
        backend = PsycopgRows(url, options)
        seen.append(backend)
        return backend

    name = register(fn, factory)
    repo = fn.Repository(pool, schema, backend=name, statement_timeout=12.5)
    repo.count(schema_view(schema),
               context={"tenant_id": "acme", "user_id": "u1",
                        "app.region": "eu"},
               timeout=5.0)
    _, context = seen[0].calls[-1]
    assert context["tenant_id"] == "acme"
    assert context["user_id"] == "u1"
    assert context["variables"] == {"app.region": "eu"}
    assert context["statement_timeout"] == 5.0  # the call's own timeout wins
    assert 0 < context["timeout"] <= 5.0
    repo.count(schema_view(schema))
    assert seen[0].calls[-1][1]["statement_timeout"] == 12.5


@pytest.mark.parametrize("error, exception, code", [
    (SqlError("duplicate key", "23505"), "DatabaseError", "ALREADY_EXISTS"),
    (SqlError("canceling statement due to statement timeout", "57014"),
     "QueryTimeoutError", "DEADLINE_EXCEEDED"),
    (TimeoutError("took too long"), "QueryTimeoutError", "DEADLINE_EXCEEDED"),
    (ValueError("bad plan"), "InvalidInputError", "INVALID_ARGUMENT"),
    (RuntimeError("boom"), "DatabaseError", "INTERNAL"),
])
def test_backend_errors_map_as_native_ones_do(fn, pool, schema, error,
                                              exception, code):
    name = register(fn, lambda url, options: Raising(error))
    repo = fn.Repository(pool, schema, backend=name)
    with pytest.raises(getattr(fn, exception)) as e:
        repo.count(schema_view(schema))
    assert e.value.code == code
    assert f"backend '{name}'" in str(e.value)
    if isinstance(error, SqlError) and error.sqlstate != "57014":
        assert e.value.sqlstate == error.sqlstate


def test_quoted_text_in_a_backend_error_is_withheld(fn, pool, schema):
    error = SqlError('invalid input syntax for type uuid: "secret-value"',
                     "22P02")
    repo = fn.Repository(pool, schema,
                         backend=register(fn, lambda u, o: Raising(error)))
    with pytest.raises(fn.DatabaseError) as e:
        repo.count(schema_view(schema))
    assert "secret-value" not in str(e.value)
    assert e.value.sqlstate == "22P02"


class Returning:
    def __init__(self, result):
        self.result = result

    def execute(self, statements, context):
        return self.result


@pytest.mark.parametrize("result, message", [
    ([], "must return one list of rows per statement"),
    (None, "must return one list of rows per statement"),
    ([[("1", "2"), ("3",)]], "rows of different widths"),
    ([[42]], "wrong type for row 0"),
    ([[("1", 2)]], "wrong type in row 0"),
    ([42], "rows that are not a list"),
])
def test_malformed_results_are_errors_not_crashes(fn, pool, schema, result,
                                                  message):
    repo = fn.Repository(pool, schema,
                         backend=register(fn, lambda u, o: Returning(result)))
    with pytest.raises(fn.Error, match=message):
        repo.find(schema_view(schema), selection="id")


def test_a_backend_without_begin_cannot_run_transactions(fn, pool, schema):
    repo = fn.Repository(pool, schema,
                         backend=register(fn, PsycopgRows))
    with pytest.raises(fn.Error, match="does not support transactions"):
        with repo.transaction() as tx:
            tx.count(schema_view(schema))


def test_the_backend_is_closed_with_its_repository(fn, pool, schema):
    made = []

    def factory(url, options):
        made.append(PsycopgRows(url, options))
        return made[-1]

    repo = fn.Repository(pool, schema, backend=register(fn, factory))
    repo.count(schema_view(schema))
    assert not made[0].closed.is_set()
    del repo
    import gc
    gc.collect()
    assert made[0].closed.is_set()


class Declaring(PsycopgRows):
    known_differences = {
        "mine.floats": {"classifier": "float64",
                        "description": "numbers go through a double"}}


def test_known_differences_are_declared_by_the_backend(fn):
    name = register(fn, Declaring)
    assert fn.backend_known_differences(name) == Declaring.known_differences
    assert fn.backend_known_differences(register(fn, PsycopgRows)) == {}
    assert fn.backend_known_differences("native") == {}
    with pytest.raises(ValueError, match="unknown backend"):
        fn.backend_known_differences("nope")


@pytest.mark.parametrize("raised, expected", [
    ("PoolTimeoutError", "PoolTimeoutError"),
    ("QueryTimeoutError", "QueryTimeoutError"),
    ("DatabaseUnavailableError", "DatabaseUnavailableError"),
    ("TransactionError", "TransactionError"),
    ("PoolExhaustedError", "PoolExhaustedError"),
])
def test_the_modules_own_exceptions_keep_their_meaning(fn, pool, schema,
                                                        raised, expected):
    error = getattr(fn, raised)("from the backend")
    repo = fn.Repository(pool, schema,
                         backend=register(fn, lambda u, o: Raising(error)))
    with pytest.raises(getattr(fn, expected)) as e:
        repo.count(schema_view(schema))
    assert type(e.value) is getattr(fn, expected)


def test_a_connection_error_is_unavailable(fn, pool, schema):
    repo = fn.Repository(pool, schema, backend=register(
        fn, lambda u, o: Raising(ConnectionError("server went away"))))
    with pytest.raises(fn.DatabaseUnavailableError):
        repo.count(schema_view(schema))


class Transactional(PsycopgRows):
    """PsycopgRows with transactions on one psycopg connection each."""

    def begin(self, isolation, read_only, context):
        conn = psycopg.connect(self.url, autocommit=True)
        conn.execute(f"BEGIN ISOLATION LEVEL {isolation.upper()}"
                     + (" READ ONLY" if read_only else ""))
        return Tx(conn)


class Tx:
    def __init__(self, conn, savepoint=None, log=None):
        self.conn, self.savepoint = conn, savepoint
        self.depth = 0
        self.fail_next = False
        self.log = [] if log is None else log
        self.entered = threading.Event()
        self.release = None  # an Event execute waits on, when set
        self.timeouts = []  # the timeout= each commit/rollback was given

    def execute(self, statements, context):
        self.log.append(("execute", self.savepoint))
        if self.release is not None:
            self.entered.set()
            assert self.release.wait(60)
        if self.fail_next:
            self.fail_next = False
            self.conn.execute("SELECT 1 / 0")  # a real server error: 22012
        out = []
        for sql, params in statements:
            cur = self.conn.cursor()
            cur.execute(sql.replace("$1", "%s"),
                        [text for text, _ in params][:1] or None)
            out.append([tuple(v if v is None else str(v) for v in row)
                        for row in (cur.fetchall() if cur.description else [])])
        return out

    def begin(self):
        self.depth += 1
        name = f"s{self.depth}"
        self.conn.execute(f"SAVEPOINT {name}")
        return Tx(self.conn, name, self.log)

    def commit(self, timeout=None):
        self.log.append(("commit", self.savepoint))
        self.timeouts.append(timeout)
        if self.savepoint:
            self.conn.execute(f"RELEASE SAVEPOINT {self.savepoint}")
        else:
            self.conn.execute("COMMIT")
            self.conn.close()

    def rollback(self, timeout=None):
        self.log.append(("rollback", self.savepoint))
        self.timeouts.append(timeout)
        if self.savepoint:
            self.conn.execute(f"ROLLBACK TO SAVEPOINT {self.savepoint}")
            self.conn.execute(f"RELEASE SAVEPOINT {self.savepoint}")
        else:
            self.conn.execute("ROLLBACK")
            self.conn.close()


def test_a_failed_statement_aborts_a_python_backends_transaction(
        fn, pool, schema):
    """As with native: after a failed statement the transaction refuses
    further work (TransactionError) until rolled back, and commit rolls it
    back and says so."""
    repo = fn.Repository(pool, schema, backend=register(fn, Transactional))
    view = schema_view(schema)
    native = fn.Repository(pool, schema)
    for r in (native, repo):
        tx = r.transaction()
        with tx:
            assert tx.count(view) > 0
            with pytest.raises(fn.InvalidInputError):
                tx.count(view, where={"age": {"gt": "not a number"}})
            tx_count_failed = None
            try:
                tx.count(view, where={"id": {"eq": "not-a-uuid"}})
            except fn.Error as e:
                tx_count_failed = type(e)
            # (the planner refuses both before anything runs: the
            # transaction is still healthy)
            assert tx_count_failed is fn.InvalidInputError
            assert tx.count(view) > 0
            tx.rollback()
        # A statement the server refuses aborts the transaction: the next
        # call is refused, and commit rolls back and says so.
        tx = r.transaction()
        assert tx.count(view) > 0
        with pytest.raises(fn.DatabaseError) as e:
            tx.count(view, where={"firstName": {"matches": "(unclosed"}})
        assert e.value.sqlstate == "2201B"  # invalid regular expression
        with pytest.raises(fn.TransactionError, match="aborted"):
            tx.count(view)
        with pytest.raises(fn.TransactionError, match="rolled back"):
            tx.commit()
        assert not tx.open


def test_commit_after_a_server_error_rolls_back(fn, pool, schema):
    """A statement the server refuses inside the backend's transaction:
    the next call and commit raise TransactionError (as with native), and
    the transaction ends rolled back."""
    made = []

    class Failing(Transactional):
        def begin(self, isolation, read_only, context):
            tx = super().begin(isolation, read_only, context)
            made.append(tx)
            return tx

    repo = fn.Repository(pool, schema, backend=register(fn, Failing))
    view = schema_view(schema)
    tx = repo.transaction()
    assert tx.count(view) > 0
    made[0].fail_next = True
    with pytest.raises(fn.DatabaseError) as e:
        tx.count(view)
    assert e.value.sqlstate == "22012"
    with pytest.raises(fn.TransactionError, match="aborted"):
        tx.count(view)
    with pytest.raises(fn.TransactionError, match="rolled back"):
        tx.commit()
    assert not tx.open
    assert made[0].conn.closed


def transactional_repo(fn, pool, schema):
    made = []

    class Recording(Transactional):
        def begin(self, isolation, read_only, context):
            tx = super().begin(isolation, read_only, context)
            made.append(tx)
            return tx

    return fn.Repository(pool, schema, backend=register(fn, Recording)), made


def test_a_savepoint_ends_with_its_transaction(fn, pool, schema):
    """Once the transaction has committed, its connection may serve
    another request: a savepoint left open in it must never send its
    ROLLBACK TO SAVEPOINT there."""
    import gc
    repo, made = transactional_repo(fn, pool, schema)
    view = schema_view(schema)
    tx = repo.transaction()
    sp = tx.transaction()
    sp.count(view)
    tx.commit()
    assert not sp.open
    with pytest.raises(fn.TransactionError, match="ended"):
        sp.count(view)
    del sp
    gc.collect()
    assert made[0].log == [("execute", "s1"), ("commit", None)]


def test_a_call_while_another_runs_is_refused(fn, pool, schema):
    """Two threads on one transaction: the second call (here a commit)
    fails at once as busy instead of driving the connection under the
    first one's statement."""
    repo, made = transactional_repo(fn, pool, schema)
    view = schema_view(schema)
    tx = repo.transaction()
    tx.count(view)
    made[0].release = threading.Event()
    counted = []
    worker = threading.Thread(target=lambda: counted.append(tx.count(view)))
    worker.start()
    try:
        assert made[0].entered.wait(60)
        with pytest.raises(fn.TransactionError, match="busy"):
            tx.commit()
        assert tx.open
    finally:
        made[0].release.set()
        worker.join(60)
    assert counted and counted[0] > 0
    tx.commit()
    assert ("commit", None) in made[0].log


def test_commit_and_rollback_carry_the_time_left(fn, pool, schema):
    repo, made = transactional_repo(fn, pool, schema)
    view = schema_view(schema)
    tx = repo.transaction()
    tx.count(view)
    tx.commit(timeout=5.0)
    tx = repo.transaction()
    tx.count(view)
    tx.rollback()
    committed, rolled_back = made[0].timeouts[0], made[1].timeouts[0]
    assert 0 < committed <= 5.0
    assert rolled_back is None  # no timeout given: none passed on
