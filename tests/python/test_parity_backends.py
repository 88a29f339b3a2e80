"""Python backends for the parity tests (registered by name with
fraiseql_native.register_backend), and tests that they answer as the native
backend does, so a difference the parity tests see is the one a backend
makes on purpose.

- "test-pg": runs each plan with libpq's own $n parameters (psycopg's
  pgconn.exec_params), rows as text: the same rows native reads.
- "test-raising": every execute raises.
- "test-blocking": execute waits until BLOCK.release is set (BLOCK.entered
  is set each time an execute starts).
- "test-altering": as test-pg, but every row object's "balance" gets
  a 1 appended 22 digits after its last digit (another decimal, the same
  binary64 double: the float64 classifier explains it).

Importing this module registers them (also from the CLI: --import
test_parity_backends)."""
import decimal
import json
import threading

import fraiseql_native

PG = "test-pg"
RAISING = "test-raising"
BLOCKING = "test-blocking"
ALTERING = "test-altering"


def altered(number):
    """`number` with a 1 appended 22 digits after its last one: another
    decimal, but the same binary64 double (22 digits is past the 17 a
    double holds)."""
    text = str(number)
    if "E" in text or "e" in text:
        text = format(decimal.Decimal(text), "f")
    return decimal.Decimal(text + ("" if "." in text else ".")
                           + "0" * 21 + "1")


class BackendError(Exception):
    def __init__(self, message, sqlstate=None):
        super().__init__(message)
        self.sqlstate = sqlstate


def _settings(context):
    context = context or {}
    out = []
    if context.get("tenant_id") is not None:
        out.append(("app.tenant_id", str(context["tenant_id"])))
    if context.get("user_id") is not None:
        out.append(("app.user_id", str(context["user_id"])))
    for name, value in sorted((context.get("variables") or {}).items()):
        out.append((str(name), "" if value is None else str(value)))
    if context.get("statement_timeout"):
        out.append(("statement_timeout",
                    str(max(1, int(context["statement_timeout"] * 1000)))))
    return out


class PgBackend:
    """One psycopg connection (libpq underneath), one call at a time."""

    def __init__(self, url, options=None):
        import psycopg
        self._conn = psycopg.connect(url, autocommit=True)
        self._lock = threading.Lock()

    def _exec(self, sql, params=()):
        from psycopg import pq
        pg = self._conn.pgconn
        res = pg.exec_params(sql.encode("utf-8"),
                             [None if p is None else str(p).encode("utf-8")
                              for p in params])
        if res.status not in (pq.ExecStatus.TUPLES_OK,
                              pq.ExecStatus.COMMAND_OK):
            state = res.error_field(pq.DiagnosticField.SQLSTATE)
            raise BackendError(
                "statement failed",
                sqlstate=state.decode() if state else None)
        rows = []
        for r in range(res.ntuples):
            row = tuple(None if res.get_value(r, c) is None
                        else res.get_value(r, c).decode("utf-8")
                        for c in range(res.nfields))
            rows.append(self.alter(row[0]) if len(row) == 1
                        else (self.alter(row[0]),) + row[1:])
        return rows

    def alter(self, text):
        return text

    def execute(self, statements, context):
        settings = _settings(context)
        with self._lock:
            unit = len(statements) > 1 or bool(settings)
            if unit:
                self._exec("BEGIN ISOLATION LEVEL REPEATABLE READ")
            try:
                for name, value in settings:
                    self._exec("SELECT set_config($1, $2, true)",
                               (name, value))
                out = [self._exec(sql, [p[0] for p in params])
                       for sql, params in statements]
                if unit:
                    self._exec("COMMIT")
                return out
            except BaseException:
                if unit:
                    try:
                        self._exec("ROLLBACK")
                    except BackendError:
                        pass
                raise


class RaisingBackend:
    def __init__(self, url, options=None):
        self.calls = 0

    def execute(self, statements, context):
        raise RuntimeError("the test candidate always fails")


class _Block:
    def __init__(self):
        self.reset()

    def reset(self):
        self.entered = threading.Event()
        self.release = threading.Event()


BLOCK = _Block()


class BlockingBackend(PgBackend):
    def execute(self, statements, context):
        BLOCK.entered.set()
        if not BLOCK.release.wait(120):
            raise RuntimeError("the blocked test candidate was never released")
        return super().execute(statements, context)


class AlteringBackend(PgBackend):
    known_differences = {
        "test.float_balance": {"classifier": "float64",
                               "description": "balance with a 1 past the 17 digits of a double"},
    }

    def alter(self, text):
        if text is None or not text.startswith("{"):
            return text
        value = json.loads(text, parse_float=decimal.Decimal)
        if isinstance(value, dict) and isinstance(
                value.get("balance"), (int, decimal.Decimal)):
            value["balance"] = altered(value["balance"])
            from fraiseql_native.parity import values
            return values.dumps(value)
        return text


def register():
    """Registers the test backends once per process."""
    have = set(fraiseql_native.backends())
    for name, factory in ((PG, PgBackend), (RAISING, RaisingBackend),
                          (BLOCKING, BlockingBackend),
                          (ALTERING, AlteringBackend)):
        if name not in have:
            fraiseql_native.register_backend(name, factory)


register()


# ---- the backends themselves ------------------------------------------------

def test_pg_backend_answers_as_native(fn, pool, schema, repo, users):
    other = fn.Repository(pool, schema, backend=PG)
    kwargs = dict(field="users", order_by=[{"id": "ASC"}], limit=5,
                  selection="id firstName balance createdAt")
    assert other.find(users, **kwargs) == repo.find(users, **kwargs)
    assert other.count(users) == repo.count(users)


def test_altering_backend_changes_balance_only(fn, pool, schema, repo, users):
    other = fn.Repository(pool, schema, backend=ALTERING)
    kwargs = dict(field="users", order_by=[{"id": "ASC"}], limit=3,
                  selection="id balance")
    mine = json.loads(other.find(users, **kwargs), parse_float=decimal.Decimal)
    theirs = json.loads(repo.find(users, **kwargs),
                        parse_float=decimal.Decimal)
    assert [u["id"] for u in mine["data"]["users"]] == \
        [u["id"] for u in theirs["data"]["users"]]
    assert [u["balance"] for u in mine["data"]["users"]] == \
        [altered(u["balance"]) for u in theirs["data"]["users"]]
