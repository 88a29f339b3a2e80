"""backend `legacy-psycopg`: the Python/psycopg data path, kept runnable as a
backend plugin so parity runs measure the whole old path against the new one.

Where it sits: the C++ Repository plans every call (SQL text with `$1::type`
placeholders and text parameters), hands the statements to the backend chosen
by name, and writes the response bytes from the rows it gets back. This
backend is the old path up to that writer:

- psycopg 3 executes the plan on a `psycopg_pool.ConnectionPool` (min 1
  connection, max `options["max_size"]`, default 4);
- psycopg's own JSON loader parses the first column into Python objects (a
  `jsonb`/`json` column by psycopg's loader; a `::text` column by
  `json.loads`, the function that loader calls), so JSON numbers with a
  fraction become binary64 floats: the old path's known defect;
- each row is re-encoded the way the Python path did before sending:
  `json.dumps(value, separators=(",", ":"), ensure_ascii=False,
  default=str)`.

Columns after the first are returned as text (`str(value)`, None for NULL).

Use it::

    import fraiseql_native
    repo = fraiseql_native.Repository(pool, schema, backend="legacy-psycopg",
                                      backend_options={"max_size": 4})

//pybind copies this file into the package as
fraiseql_native/plugins/legacy_psycopg.py, which registers it
(`fraiseql_native.register_backend`) when the package is imported; psycopg is imported only when a backend is made, so
`import fraiseql_native` does not need it.

Options (`backend_options`): `max_size` (connections, default 4),
`acquire_timeout` (seconds to wait for a connection when the call gives no
deadline, default 30).

Protocol (the C++ adapter's; see the repository README):

- `execute(statements, context)`: `statements` is a list of `(sql, params)`,
  `params` a list of `(text_or_None, sql_type)`. Returns one list of rows per
  statement. A context with tenant_id/user_id/variables or a
  statement_timeout runs in a transaction that sets each with
  `set_config(name, value, true)`; several statements run in one
  REPEATABLE READ transaction (one snapshot).
- `begin(isolation, read_only, context)` -> transaction with `execute`,
  `commit`, `rollback`, `begin` (a SAVEPOINT). The connection is held by the
  transaction until it ends; the context's settings hold for all of it. A
  call's deadline (`context["timeout"]`) bounds its statements through
  statement_timeout (set_config before each; no timer thread).
  `commit(timeout)` bounds the COMMIT's deferred triggers and checks the
  same way (run first with SET CONSTRAINTS ALL IMMEDIATE: the server does
  not time COMMIT itself); `rollback(timeout)`
  is not bounded (statement_timeout cannot be set in an aborted
  transaction, and a rollback runs no triggers). A savepoint is usable
  only while its whole chain up to the transaction is open: ending a
  transaction or savepoint ends every savepoint made inside it.
- Errors are psycopg's (they carry `.sqlstate`), raised unchanged, except
  a lost connection (the server dropped it: psycopg's OperationalError with
  the connection broken, often without SQLSTATE), raised as the built-in
  ConnectionError (the adapter's DatabaseUnavailableError) with psycopg's
  error as its cause. After an error outside a transaction the connection
  is rolled back and returned to the pool healthy; a broken one is
  discarded by the pool (psycopg_pool checks its status on putconn).

Known differences from the native backend are named in KNOWN_DIFFERENCES;
each names a comparator classifier (`fraiseql_native.comparison_classifiers()`)
so a parity run reports a difference it explains under the rule's name:

- `legacy.float_numbers` (classifier `float64`): every JSON number with a
  fraction reaches Python as a binary64 float. Exact decimals of up to 15
  significant digits come back equal by value (`541.90` is sent as `541.9`,
  which the comparator treats as equal); longer ones do not
  (`12345678901234567.89` is sent as `1.2345678901234568e+16`), nor do
  sums and averages of Decimal and Float fields (`sum` of the sample
  balances, `avg` of ages). Integers stay exact (Python ints).

Replaying tests/fixtures/traffic/sample.jsonl (539 calls) legacy vs native
gives no other difference: 266 differences in 68 calls, all
`legacy.float_numbers`.

Not reproduced, by design: the old SQL generator's defects (text
comparisons, unescaped LIKE, ...; see spec/where.md section 6). Both
backends run the same plan, so a parity run measures execution, JSON
handling and the response, not the old planner.
"""
import contextlib
import json
import math
import time

NAME = "legacy-psycopg"

KNOWN_DIFFERENCES = {
    "legacy.float_numbers": {
        "classifier": "float64",
        "description": (
            "psycopg parses JSON numbers as binary64 floats: "
            "12345678901234567.89 becomes 12345678901234568"),
    },
}

_ISOLATION = {
    "read committed": "READ COMMITTED",
    "repeatable read": "REPEATABLE READ",
    "serializable": "SERIALIZABLE",
}

_DEFAULT_ACQUIRE_TIMEOUT = 30.0


def convert_placeholders(sql):
    """The plan's SQL for psycopg: `$N` (outside quoted literals and
    identifiers) becomes `%(pN)s`, and every literal `%` becomes `%%`
    (psycopg reads placeholders in the whole text, literals included).
    Returns (sql, highest N)."""
    out = []
    highest = 0
    i = 0
    n = len(sql)
    while i < n:
        c = sql[i]
        if c == "%":
            out.append("%%")
            i += 1
        elif c == "'" or c == '"':
            # A quoted literal or identifier; a doubled quote stays inside.
            # E'' strings also escape with a backslash.
            escapes = (c == "'" and i > 0 and sql[i - 1] in "eE"
                       and (i < 2 or not (sql[i - 2].isalnum()
                                          or sql[i - 2] == "_")))
            j = i + 1
            while j < n:
                if escapes and sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i:j + 1].replace("%", "%%"))
            i = j + 1
        elif (c == "$" and i + 1 < n and sql[i + 1].isdigit()
              and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] in "_$"))):
            j = i + 1
            while j < n and sql[j].isdigit():
                j += 1
            number = int(sql[i + 1:j])
            highest = max(highest, number)
            out.append(f"%(p{number})s")
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out), highest


def bind(params):
    """{pN: text or None} for psycopg. psycopg 3 sends a str with the unknown
    type, so the SQL's casts (`$1::numeric`) decide the type, as they do for
    the native backend's text parameters."""
    values = {}
    for index, param in enumerate(params, start=1):
        value = param[0] if isinstance(param, (tuple, list)) else param
        values[f"p{index}"] = None if value is None else str(value)
    return values


def encode_json(value):
    """What the Python path sent for a parsed JSON value."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _json_oids(cursor):
    types = cursor.connection.adapters.types
    return {types["json"].oid, types["jsonb"].oid}


def _row(record, first_is_json):
    first = record[0]
    if first is None:
        value = None
    elif first_is_json:
        # psycopg's json/jsonb loader already parsed it (json.loads).
        value = encode_json(first)
    else:
        # A `::text` column of JSON: the loader psycopg would have used.
        # Text that is not JSON goes on unchanged, so the response writer
        # reports it as it does for the native backend (an error on that
        # root field only).
        try:
            parsed = json.loads(first)
        except ValueError:
            value = first
        else:
            value = encode_json(parsed)
    if len(record) == 1:
        # The protocol's one-column row is a str; a NULL needs the tuple.
        return value if value is not None else (None,)
    rest = tuple(None if v is None else str(v) for v in record[1:])
    return (value,) + rest


def _run(conn, statements):
    """Runs `statements` on `conn`; one list of rows per statement."""
    results = []
    for statement in statements:
        sql, params = statement[0], statement[1] if len(statement) > 1 else ()
        psql, highest = convert_placeholders(sql)
        values = bind(params)
        for missing in range(len(params) + 1, highest + 1):
            values[f"p{missing}"] = None
        # Always with a dict (even empty): psycopg then reads the text for
        # placeholders and turns `%%` back into `%`.
        cursor = conn.execute(psql, values)
        if cursor.description is None:
            results.append([])
            continue
        first_is_json = cursor.description[0].type_code in _json_oids(cursor)
        results.append([_row(r, first_is_json)
                        for r in cursor.fetchall()])
    return results


def _context_settings(context):
    """[(name, value)] to set_config for `context` (variables, then the
    statement timeout in ms), in a stable order."""
    context = context or {}
    settings = []
    if context.get("tenant_id") is not None:
        settings.append(("app.tenant_id", str(context["tenant_id"])))
    if context.get("user_id") is not None:
        settings.append(("app.user_id", str(context["user_id"])))
    for name, value in sorted((context.get("variables") or {}).items()):
        settings.append((str(name), "" if value is None else str(value)))
    if context.get("role") is not None:
        # SET LOCAL ROLE, last, as the native backend does.
        settings.append(("role", str(context["role"])))
    limits = []
    statement_timeout = context.get("statement_timeout")
    if statement_timeout:
        limits.append(float(statement_timeout))
    timeout = context.get("timeout")
    if timeout is not None:
        # Time left before the caller's deadline: at least 1 ms (0 would
        # mean no limit at all).
        limits.append(max(float(timeout), 0.001))
    if limits:
        ms = max(1, int(round(min(limits) * 1000)))
        settings.append(("statement_timeout", str(ms)))
    return settings


def _apply(conn, settings):
    """set_config(name, value, true) for each setting, in one statement."""
    if not settings:
        return
    calls = ", ".join(f"set_config(%(n{i})s, %(v{i})s, true)"
                      for i in range(len(settings)))
    values = {}
    for i, (name, value) in enumerate(settings):
        values[f"n{i}"] = name
        values[f"v{i}"] = value
    conn.execute(f"SELECT {calls}", values)


def _bounded_ms(deadline, base_ms):
    """statement_timeout in ms for a statement that must end by `deadline`
    (time.monotonic()) in a transaction whose own value is `base_ms` (0 =
    none): at least 1 ms (0 would mean no limit at all)."""
    ms = max(1, int(math.ceil((deadline - time.monotonic()) * 1000)))
    return min(ms, base_ms) if base_ms > 0 else ms


def _set_statement_timeout(conn, ms):
    conn.execute("SELECT set_config('statement_timeout', %(ms)s, true)",
                 {"ms": str(ms)})


def _begin_sql(isolation, read_only):
    key = (isolation or "read committed").replace("_", " ").lower()
    if key not in _ISOLATION:
        raise ValueError(
            f"unknown isolation level; expected one of {sorted(_ISOLATION)}")
    sql = f"BEGIN ISOLATION LEVEL {_ISOLATION[key]}"
    if read_only:
        sql += " READ ONLY"
    return sql


_LOST = ("the connection to the database was lost "
         "(backend legacy-psycopg)")


@contextlib.contextmanager
def _lost_is_unavailable(conn):
    """A connection the server dropped (psycopg raises OperationalError,
    the connection broken, often with no SQLSTATE) is raised as the
    built-in ConnectionError, which the adapter maps to
    DatabaseUnavailableError as for the native backend; the psycopg error is
    its __cause__. A broken connection given back to the pool is discarded
    there (psycopg_pool checks its status on putconn)."""
    import psycopg
    try:
        yield
    except psycopg.OperationalError as e:
        if conn.broken or e.sqlstate is None:
            raise ConnectionError(_LOST) from e
        raise


def _rollback_quietly(conn):
    try:
        conn.execute("ROLLBACK")
    except Exception:  # the connection is broken: the pool discards it
        pass


class LegacyPsycopgBackend:
    """The legacy path as a backend: `LegacyPsycopgBackend(url, options)`.
    Thread-safe: every call takes its own connection from the pool."""

    known_differences = KNOWN_DIFFERENCES

    def __init__(self, url, options=None):
        import psycopg  # noqa: F401  (lazily: only this backend needs it)
        from psycopg_pool import ConnectionPool

        options = dict(options or {})
        max_size = int(options.pop("max_size", 4))
        self._acquire_timeout = float(
            options.pop("acquire_timeout", _DEFAULT_ACQUIRE_TIMEOUT))
        if options:
            raise ValueError(
                f"unknown legacy-psycopg option(s): {sorted(options)}")
        if max_size < 1:
            raise ValueError("legacy-psycopg max_size must be at least 1")
        self.url = url
        self._pool = ConnectionPool(
            url, min_size=1, max_size=max_size,
            kwargs={"autocommit": True}, open=True,
            name="fraiseql-legacy-psycopg")

    def _acquire_timeout_for(self, context):
        timeout = (context or {}).get("timeout")
        if timeout is None:
            return self._acquire_timeout
        return max(float(timeout), 0.001)

    def _getconn(self, context):
        from psycopg_pool import PoolTimeout
        try:
            return self._pool.getconn(
                timeout=self._acquire_timeout_for(context))
        except PoolTimeout as e:
            # The module's own class, so the caller sees what the native
            # backend raises when its pool has no connection in time.
            import fraiseql_native
            raise fraiseql_native.PoolTimeoutError(
                "no connection of legacy-psycopg's pool became free in "
                "time") from e

    def execute(self, statements, context=None):
        settings = _context_settings(context)
        several = len(statements) > 1
        conn = self._getconn(context)
        try:
            with _lost_is_unavailable(conn):
                if not settings and not several:
                    return _run(conn, statements)
                conn.execute(_begin_sql(
                    "repeatable read" if several else "read committed",
                    False))
                try:
                    _apply(conn, settings)
                    results = _run(conn, statements)
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback_quietly(conn)
                    raise
                return results
        finally:
            self._pool.putconn(conn)

    def begin(self, isolation="read committed", read_only=False,
              context=None):
        sql = _begin_sql(isolation, read_only)
        settings = _context_settings(context)
        conn = self._getconn(context)
        try:
            with _lost_is_unavailable(conn):
                conn.execute(sql)
                _apply(conn, settings)
        except BaseException:
            _rollback_quietly(conn)
            self._pool.putconn(conn)
            raise
        statement_timeout = dict(settings).get("statement_timeout")
        return LegacyTransaction(
            self, conn, statement_timeout=None if statement_timeout is None
            else int(statement_timeout))

    def close(self):
        self._pool.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class LegacyTransaction:
    """An open transaction holding one connection until commit/rollback;
    `begin()` opens a nested one (a SAVEPOINT). Not for concurrent use."""

    def __init__(self, backend, conn, parent=None, savepoint=None,
                 statement_timeout=None):
        self._backend = backend
        self._conn = conn
        self._parent = parent
        self._savepoint = savepoint
        self._root = self if parent is None else parent._root
        self._children = 0   # savepoints made (on the root)
        self._aborted = False  # a statement failed (on the root)
        self._savepoints = []  # the open savepoints made in this one
        # The transaction's statement_timeout in ms (on the root; None:
        # the session's, not read yet).
        self._statement_timeout = statement_timeout
        self.open = True

    def _check_open(self):
        # Open only while the whole chain up to the root is: a savepoint
        # that outlives its transaction must never reach the connection,
        # which may serve another transaction by then (whose savepoints
        # have the same names).
        node = self
        while node is not None:
            if not node.open:
                raise RuntimeError("the transaction has ended")
            node = node._parent

    def _end(self):
        """Marks this one and every savepoint made inside it ended (the
        server ends them with it); before any statement, so none of them
        touches the connection again whatever the outcome."""
        stack = [self]
        while stack:
            node = stack.pop()
            node.open = False
            stack.extend(node._savepoints)
            node._savepoints = []
        if self._parent is not None and self in self._parent._savepoints:
            self._parent._savepoints.remove(self)

    def execute(self, statements, context=None):
        # The transaction's context was applied at begin; a call's own
        # statement_timeout is not set again (as the native backend), but
        # its deadline still applies: each statement runs with
        # statement_timeout = min(time left, the transaction's value), set
        # with set_config(..., true) before it and the transaction's value
        # set again after the last. Past the deadline the server cancels
        # that statement (QueryCanceled, SQLSTATE 57014) and nothing else:
        # no timer thread whose cancel could land on a later statement.
        # After a failure the value is not set back (the transaction is
        # aborted); the rollback that clears the abort (of the whole, or to
        # a savepoint made before this call) reverts it.
        self._check_open()
        timeout = (context or {}).get("timeout")
        try:
            with _lost_is_unavailable(self._conn):
                if timeout is None:
                    return _run(self._conn, statements)
                deadline = time.monotonic() + max(float(timeout), 0.0)
                base = self._root._statement_timeout_ms()
                results = []
                for statement in statements:
                    _set_statement_timeout(
                        self._conn, _bounded_ms(deadline, base))
                    results.extend(_run(self._conn, [statement]))
                _set_statement_timeout(self._conn, base)
                return results
        except BaseException:
            # The server aborted the transaction: statements fail until a
            # rollback (of the whole, or to a savepoint made before).
            self._root._aborted = True
            raise

    def _statement_timeout_ms(self):
        """The transaction's statement_timeout in ms (on the root): the one
        its context set at begin, else the session's, read once."""
        if self._statement_timeout is None:
            row = self._conn.execute(
                "SELECT setting FROM pg_settings "
                "WHERE name = 'statement_timeout'").fetchone()
            self._statement_timeout = int(row[0])
        return self._statement_timeout

    def begin(self, isolation=None, read_only=None, context=None):
        self._check_open()
        root = self._root
        root._children += 1
        name = f"fraiseql_sp_{root._children}"
        with _lost_is_unavailable(self._conn):
            self._conn.execute(f"SAVEPOINT {name}")
        savepoint = LegacyTransaction(self._backend, self._conn, self, name)
        self._savepoints.append(savepoint)
        return savepoint

    def commit(self, timeout=None):
        """COMMIT (a savepoint: RELEASE). `timeout` (seconds, None = the
        transaction's statement_timeout only) bounds the COMMIT of a
        top-level transaction: its deferred triggers and constraint checks
        run first (SET CONSTRAINTS ALL IMMEDIATE) under statement_timeout =
        the time left (the server does not time COMMIT itself); past it they
        are cancelled (QueryCanceled) and the transaction is rolled back.
        RELEASE is not bounded (it runs no triggers)."""
        self._check_open()
        self._end()
        if self._savepoint is not None:
            with _lost_is_unavailable(self._conn):
                self._conn.execute(f"RELEASE SAVEPOINT {self._savepoint}")
            return
        try:
            if self._conn.broken:
                raise ConnectionError(_LOST)
            if self._root._aborted:
                # The server would answer COMMIT with a silent ROLLBACK.
                import psycopg
                _rollback_quietly(self._conn)
                raise psycopg.errors.InFailedSqlTransaction(
                    "the transaction was aborted by an earlier error; "
                    "it was rolled back")
            with _lost_is_unavailable(self._conn):
                if timeout is not None:
                    # COMMIT's work is the deferred triggers and constraint
                    # checks, and the server runs it after it has stopped
                    # the statement timer: they run first, as a statement
                    # the timeout bounds.
                    _set_statement_timeout(self._conn, _bounded_ms(
                        time.monotonic() + max(float(timeout), 0.0),
                        self._statement_timeout_ms()))
                    self._conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
                self._conn.execute("COMMIT")
        except BaseException:
            _rollback_quietly(self._conn)
            raise
        finally:
            self._backend._pool.putconn(self._conn)

    def rollback(self, timeout=None):
        """ROLLBACK (a savepoint: ROLLBACK TO + RELEASE). `timeout` is
        accepted and not applied: statement_timeout cannot be set in an
        aborted transaction (the usual reason to roll back), and a rollback
        does no work a timeout could cut short (it runs no triggers; it
        only releases what the transaction holds). The adapter calls it
        without one."""
        self._check_open()
        self._end()
        if self._savepoint is not None:
            with _lost_is_unavailable(self._conn):
                self._conn.execute(
                    f"ROLLBACK TO SAVEPOINT {self._savepoint}")
                self._conn.execute(f"RELEASE SAVEPOINT {self._savepoint}")
            # Every open savepoint predates any abort (SAVEPOINT fails in an
            # aborted transaction): rolling back to one clears it.
            self._root._aborted = False
            return
        try:
            _rollback_quietly(self._conn)
        finally:
            self._backend._pool.putconn(self._conn)

    def __del__(self):
        # An open top-level transaction that is dropped rolls back and gives
        # its connection back.
        if getattr(self, "open", False) and self._savepoint is None:
            try:
                self.rollback()
            except Exception:
                pass


def _register():
    try:
        import fraiseql_native
    except ImportError:
        return
    register = getattr(fraiseql_native, "register_backend", None)
    if register is None:
        return
    try:
        register(NAME, LegacyPsycopgBackend)
    except ValueError:  # already registered (imported twice)
        pass


_register()
