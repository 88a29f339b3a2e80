"""Fault tests of the pool against the real server (issue 4): a server restart
during traffic, pg_terminate_backend of a checked-out connection, exhaustion,
a statement timeout and a query cancelled from outside. Each asserts that no
call hangs (every thread joined within a deadline that only a hung call
misses: the long query sleeps for an hour), that the error is the documented
class, and that the pool is healthy afterwards (a query succeeds, nothing in
use, nobody waiting). No assertion measures time (issue 15): what happened
is read from the errors, pool.stats() and pg_stat_activity, and the restart
test orders each call against the outage it observed. PgBouncer in front and a
standby taking reads are covered by test_pgbouncer.py and test_replicas.py.

Issue 9 adds: a backend terminated during a streamed body, during a
mutation and between a transaction's last statement and its commit (read
back: nothing written), and a mutation on a read-only server (a role whose
default_transaction_read_only is on, so parallel tests are not disturbed).

The restart test stops and starts the shared embedded server (ci/postgres);
it always leaves it running (and the standby too, if it ran before)."""
import json
import os
import threading
import time
import uuid

import psycopg
import pytest
from servers import ci_postgres, port_of, wait_until

SCHEMA = f"fql_pytest_faults_{os.getpid()}"
SLOW_S = 2      # v_slow: ends by itself (a pool statement_timeout cuts it)
LONG_S = 3600   # v_long: only a call's timeout, a cancel or a termination
                # ends it (unbounded(): no statement_timeout)
JOIN_S = 60     # a call still running after this is hung
HELD_KEY = 0x5F1000000 + os.getpid()  # v_held waits while the test holds it


@pytest.fixture(scope="module")
def fault_schema(fn, db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        conn.execute(f"""
            CREATE VIEW "{SCHEMA}".v_fast AS SELECT '{{"a":1}}'::jsonb AS data;
            CREATE VIEW "{SCHEMA}".v_slow AS SELECT data FROM
              (SELECT pg_sleep({SLOW_S}), '{{"a":1}}'::jsonb AS data) x;
            CREATE VIEW "{SCHEMA}".v_long AS SELECT data FROM
              (SELECT pg_sleep({LONG_S}), '{{"a":1}}'::jsonb AS data) x;
            CREATE VIEW "{SCHEMA}".v_held AS SELECT data FROM
              (SELECT pg_advisory_xact_lock_shared({HELD_KEY}),
                      '{{"a":1}}'::jsonb AS data) x;
        """)
    schema = fn.Schema()
    for view in ("v_fast", "v_slow", "v_long", "v_held"):
        schema.add_view(f"{SCHEMA}.{view}", view.title().replace("_", ""),
                        {"a": "Int"})
    yield schema
    try:
        with psycopg.connect(db_url, autocommit=True, connect_timeout=10) as conn:
            # A failed test may leave an hour-long v_long or a v_held
            # waiting: end them, or the DROP waits for them.
            conn.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                         "WHERE query LIKE %s AND pid <> pg_backend_pid()",
                         (f'%"{SCHEMA}"%',))
            conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
    except psycopg.OperationalError:
        pass


FAST = f"{SCHEMA}.v_fast"
SLOW = f"{SCHEMA}.v_slow"
LONG = f"{SCHEMA}.v_long"
HELD = f"{SCHEMA}.v_held"
OK_BODY = b'{"data":{"r":[{"a":1}]}}'


def _app(tag):
    return f"fql-pytest-faults-{tag}-{uuid.uuid4().hex[:8]}"


class Call(threading.Thread):
    """Runs f() once in a thread, recording its result or exception."""

    def __init__(self, f):
        super().__init__(daemon=True)
        self.f, self.result, self.error = f, None, None

    def run(self):
        try:
            self.result = self.f()
        except BaseException as e:  # noqa: BLE001 - asserted by the test
            self.error = e

    def started(self):
        self.start()
        return self

    def finish(self, timeout=JOIN_S):
        self.join(timeout)
        assert not self.is_alive(), f"the call hung (> {timeout}s)"
        return self


def active_backend(db_url, app):
    """Pid of the backend of application_name `app` running a query, or None."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
            "AND state = 'active' AND query LIKE %s",
            (app, f'%"{SCHEMA}"%')).fetchone()
    return row[0] if row else None


def terminate(db_url, pid):
    """pg_terminate_backend(pid), then waits until the server process is gone
    from pg_stat_activity, so that the next step never races its exit."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)",
                            (pid,)).fetchone()[0]
        wait_until(lambda: conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
            (pid,)).fetchone()[0] == 0, f"the terminated backend {pid} to go")


def unbounded(fn, pool, schema):
    """A repository without a statement_timeout: nothing on the server ends
    v_long's hour-long sleep but what the test does."""
    return fn.Repository(pool, schema, statement_timeout=0)


def assert_healthy(pool, repo):
    assert repo.find(FAST, field="r", timeout=5) == OK_BODY
    stats = pool.stats()
    assert stats["in_use"] == 0 and stats["waiting"] == 0, stats
    return stats


# -- pg_terminate_backend of a checked-out connection ------------------------

def test_terminated_backend_raises_unavailable_and_pool_recovers(
        fn, db_url, fault_schema):
    app = _app("terminate")
    pool = fn.Pool(db_url, max_size=1, acquire_timeout=5, application_name=app)
    repo = unbounded(fn, pool, fault_schema)
    call = Call(lambda: repo.find(LONG, field="r"))
    call.start()
    pid = None

    def running():
        nonlocal pid
        pid = active_backend(db_url, app)
        return pid is not None
    wait_until(running, "the slow query to run")
    assert pool.stats()["in_use"] == 1

    terminate(db_url, pid)
    # The query sleeps for an hour: only the termination ends the call.
    call.finish()
    assert type(call.error) is fn.DatabaseUnavailableError, repr(call.error)
    assert isinstance(call.error, ConnectionError)
    assert call.error.code == "UNAVAILABLE"
    assert "connection" in str(call.error)

    # The next call on the same pool gets a new connection.
    stats = assert_healthy(pool, repo)
    assert stats["closed"] >= 1 and stats["opened"] >= 2, stats
    assert stats["size"] <= 1, stats


# -- exhaustion --------------------------------------------------------------

def test_exhausted_pool_times_out_naming_size_and_wait(fn, db_url, fault_schema):
    pool = fn.Pool(db_url, max_size=1, acquire_timeout=0.3,
                   application_name=_app("exhaust"))
    repo = fn.Repository(pool, fault_schema)
    with psycopg.connect(db_url, autocommit=True) as locker:
        # The holder's query waits for this lock: it keeps the only
        # connection until the test lets it go, however slow the machine.
        locker.execute("SELECT pg_advisory_lock(%s)", (HELD_KEY,))
        holder = Call(lambda: repo.find(HELD, field="r")).started()
        wait_until(lambda: pool.stats()["in_use"] == 1, "the holder to take "
                   "the only connection")

        with pytest.raises(fn.PoolTimeoutError) as info:
            repo.find(FAST, field="r")
        during = pool.stats()
        locker.execute("SELECT pg_advisory_unlock(%s)", (HELD_KEY,))
    assert type(info.value) is fn.PoolTimeoutError
    assert isinstance(info.value, TimeoutError)
    assert not isinstance(info.value, fn.QueryTimeoutError)
    assert info.value.code == "DEADLINE_EXCEEDED"
    message = str(info.value)
    # The configured wait (deadline - start, whole ms), the pool's size and
    # that nobody else waited.
    assert message.startswith(
        "timed out after 300ms waiting for a connection: all 1 connections "
        "of the pool (max_size=1) are in use, 0 other callers waiting"), message
    # It waited (a refused call counts as rejected, not as a timeout) and
    # left the queue; the holder still held the connection.
    assert during["timeouts"] == 1 and during["rejected"] == 0, during
    assert during["waiting"] == 0 and during["in_use"] == 1, during

    holder.finish()
    assert holder.error is None, repr(holder.error)
    assert holder.result == OK_BODY
    stats = assert_healthy(pool, repo)
    assert stats["timeouts"] == 1, stats


# -- statement timeout -------------------------------------------------------

def test_statement_timeout_raises_query_timeout_and_cancels(
        fn, db_url, fault_schema):
    app = _app("timeout")
    pool = fn.Pool(db_url, max_size=1, acquire_timeout=5, application_name=app)
    repo = unbounded(fn, pool, fault_schema)
    call = Call(lambda: repo.find(LONG, field="r", timeout=0.2)).started().finish()
    assert type(call.error) is fn.QueryTimeoutError, repr(call.error)
    assert isinstance(call.error, TimeoutError)
    assert not isinstance(call.error, fn.PoolTimeoutError)
    assert call.error.code == "DEADLINE_EXCEEDED"
    # The call's own deadline (not the server's statement_timeout), and the
    # cancel request sent.
    assert "exceeded its deadline" in str(call.error), repr(call.error)
    assert "cancelled on the server" in str(call.error), repr(call.error)
    # Cancelled on the server, not left running there (it would sleep for
    # an hour, far past this deadline).
    wait_until(lambda: active_backend(db_url, app) is None,
               "the timed-out query to stop on the server")
    stats = assert_healthy(pool, repo)
    assert stats["timeouts"] == 0, stats  # not an acquire timeout


# -- a call cancelled from outside -------------------------------------------

def test_cancelled_query_raises_query_cancelled(fn, db_url, fault_schema):
    # The Python API has no cancel handle of its own (fraiseql_native.pyi):
    # cancellation comes from the server side, pg_cancel_backend.
    app = _app("cancel")
    pool = fn.Pool(db_url, max_size=1, acquire_timeout=5, application_name=app)
    repo = unbounded(fn, pool, fault_schema)
    call = Call(lambda: repo.find(LONG, field="r"))
    call.start()
    pid = None

    def running():
        nonlocal pid
        pid = active_backend(db_url, app)
        return pid is not None
    wait_until(running, "the slow query to run")

    with psycopg.connect(db_url, autocommit=True) as conn:
        assert conn.execute("SELECT pg_cancel_backend(%s)", (pid,)).fetchone()[0]
    # The query sleeps for an hour: only the cancel ends the call.
    call.finish()
    assert type(call.error) is fn.QueryCancelledError, repr(call.error)
    assert not isinstance(call.error, TimeoutError)
    assert call.error.code == "CANCELLED"
    assert call.error.sqlstate == "57014"
    stats = assert_healthy(pool, repo)
    assert stats["timeouts"] == 0, stats


# -- server restart during traffic -------------------------------------------

def server_answers(db_url):
    try:
        with psycopg.connect(db_url, autocommit=True, connect_timeout=3) as conn:
            return conn.execute("SELECT 1").fetchone()[0] == 1
    except psycopg.OperationalError:
        return False


def ensure_server_running(db_url, standby_was_running):
    """Leaves the shared server (and the standby, if it ran) running."""
    if ci_postgres("status").returncode != 0:
        started = ci_postgres("start")
        assert started.returncode == 0, started.stderr
    if standby_was_running and ci_postgres("standby", "status").returncode != 0:
        ci_postgres("standby", "start", timeout=180)
    wait_until(lambda: ci_postgres("status").returncode == 0
               and server_answers(db_url), "the server to run again", 60)


# The outage as the test observes it. Each call records the phase when it
# began and when it returned: a call begun at UP began after the server was
# seen answering again; one that returned at BEFORE returned before the stop
# was asked for. No clock is read.
BEFORE, STOPPING, DOWN, STARTING, UP = range(5)


class Worker(threading.Thread):
    """Calls find() in a loop until stopped, recording each outcome with the
    phases of the outage it began and ended in."""

    def __init__(self, repo, stop, phase):
        super().__init__(daemon=True)
        self.repo, self.stop, self.phase = repo, stop, phase
        self.outcomes = []  # (phase at start, phase at end, body or exception)

    def run(self):
        while not self.stop.is_set():
            began = self.phase[0]
            try:
                outcome = self.repo.find(FAST, field="r")
            except BaseException as e:  # noqa: BLE001 - asserted by the test
                outcome = e
            self.outcomes.append((began, self.phase[0], outcome))
            # Yield between calls (not a wait for anything): the GIL goes
            # to the main thread, which polls the server.
            time.sleep(0.01)

    def seen(self, ok, began_at=BEFORE):
        """Whether a call begun at `began_at` or later succeeded (ok) or
        failed."""
        return any(began >= began_at and
                   isinstance(o, BaseException) != ok
                   for began, _, o in list(self.outcomes))


def test_server_restart_during_traffic(fn, db_url, fault_schema):
    if ci_postgres("status").returncode != 0 or \
            port_of(ci_postgres("url").stdout.strip().splitlines()[-1]) != port_of(db_url):
        pytest.skip("FRAISEQL_DATABASE_URL is not the running ci/postgres server")
    standby_was_running = ci_postgres("standby", "status").returncode == 0
    pool = fn.Pool(db_url, min_size=4, max_size=4, acquire_timeout=2,
                   connect_timeout=2, application_name=_app("restart"))
    repo = fn.Repository(pool, fault_schema)
    stop = threading.Event()
    phase = [BEFORE]
    workers = [Worker(repo, stop, phase) for _ in range(4)]
    try:
        for w in workers:
            w.start()
        wait_until(lambda: all(w.seen(ok=True) for w in workers),
                   "every thread to be served before the stop")
        phase[0] = STOPPING
        stopped = ci_postgres("stop")
        assert stopped.returncode == 0, stopped.stderr
        wait_until(lambda: not server_answers(db_url), "the server to be down")
        phase[0] = DOWN
        # The outage lasts until every thread has seen it: a call begun
        # after the server was seen down failed (none hangs: a hung call
        # would keep its thread from ever failing).
        wait_until(lambda: all(w.seen(ok=False, began_at=DOWN)
                               for w in workers),
                   "every thread to fail during the outage")
        phase[0] = STARTING
        started = ci_postgres("start")
        assert started.returncode == 0, started.stderr
        assert port_of(started.stdout.strip().splitlines()[-1]) == port_of(db_url)
        wait_until(lambda: server_answers(db_url), "the server to answer")
        phase[0] = UP
        # Every thread is served again.
        wait_until(lambda: all(w.seen(ok=True, began_at=UP) for w in workers),
                   "every thread to succeed after the restart")
    finally:
        stop.set()
        for w in workers:
            w.join(JOIN_S)
        ensure_server_running(db_url, standby_was_running)
    assert not any(w.is_alive() for w in workers), "a thread hung"

    outcomes = [o for w in workers for o in w.outcomes]
    failed = [(b, e, o) for b, e, o in outcomes if isinstance(o, BaseException)]
    # Only the documented class.
    wrong = [o for _, _, o in failed if type(o) is not fn.DatabaseUnavailableError]
    assert not wrong, [repr(o) for o in wrong[:5]]
    assert all(o.code == "UNAVAILABLE" for _, _, o in failed)
    # The failures are calls that overlapped the outage: none returned
    # before the stop was asked for, none began after the server was seen
    # answering again (dead idle connections are replaced, not handed out).
    early = [(b, e) for b, e, _ in failed if e == BEFORE]
    late = [(b, e, str(o)) for b, e, o in failed if b == UP]
    assert not early and not late, (early, late[:5])
    # And every call made wholly while the server was seen down (begun
    # after it was seen down, returned before the start was asked for)
    # failed.
    served_while_down = [(b, e) for b, e, o in outcomes
                         if b == e == DOWN and not isinstance(o, BaseException)]
    assert not served_while_down, served_while_down
    assert all(o == OK_BODY for _, _, o in outcomes
               if not isinstance(o, BaseException))

    stats = assert_healthy(pool, repo)
    assert stats["errors"] >= 1 and stats["closed"] >= 1, stats
    assert stats["size"] <= 4, stats
    json.dumps(stats)  # plain ints


def test_pool_statement_timeout_is_a_query_timeout(fn, db_url, fault_schema):
    """A timeout set on the pool (session statement_timeout) surfaces as
    QueryTimeoutError, like a call's own timeout=, not as a cancellation."""
    pool = fn.Pool(db_url, max_size=1, statement_timeout=0.2)
    repo = fn.Repository(pool, fault_schema)
    with pytest.raises(fn.QueryTimeoutError) as e:
        repo.find(SLOW, field="r")
    assert "statement_timeout of 200ms" in str(e.value)
    assert e.value.sqlstate == "57014"
    assert pool.stats()["in_use"] == 0
    assert repo.find(FAST, field="r") == OK_BODY


# -- faults during streams, mutations, commits; a read-only server (issue 9) --

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TENANT = "11111111-1111-1111-1111-111111111111"


@pytest.fixture(scope="module")
def fault_mutations(fn, db_url, fault_schema):
    """The mutation fixtures (tests/fixtures/mutations.sql) in this module's
    schema, an endless streaming view, and a schema that registers them."""
    import subprocess
    subprocess.run(["psql", db_url, "-q", "-v", "ON_ERROR_STOP=1", "-v",
                    f"schema={SCHEMA}", "-f",
                    os.path.join(ROOT, "tests", "fixtures", "mutations.sql")],
                   check=True, stdout=subprocess.DEVNULL)
    with psycopg.connect(db_url, autocommit=True) as conn:
        # Endless for a test: only the fault ends it. The series is in the
        # target list so that rows stream as they are made.
        conn.execute(f"""
            CREATE VIEW "{SCHEMA}".v_endless AS SELECT
              jsonb_build_object('a', g) AS data
              FROM (SELECT generate_series(1, 1000000000) AS g) series""")
    schema = fn.Schema()
    schema.add_view(ENDLESS, "Endless", {"a": "Int"})
    schema.add_view(FAST, "VFast", {"a": "Int"})
    schema.add_view(f"{SCHEMA}.v_account", "Account",
                    {"id": "UUID", "name": "String"},
                    columns={"id": "uuid", "tenant_id": "uuid", "data": "jsonb"})
    return schema


ENDLESS = f"{SCHEMA}.v_endless"


def backend_pid(db_url, app, condition="state = 'active'"):
    """Pid of the backend of application_name `app` matching `condition`
    (trusted SQL, with % written %%), or None."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
            f"AND pid <> pg_backend_pid() AND ({condition})",
            (app,)).fetchone()
    return row[0] if row else None


def wait_for_pid(db_url, app, condition, what):
    found = {}

    def there():
        found["pid"] = backend_pid(db_url, app, condition)
        return found["pid"] is not None
    wait_until(there, what)
    return found["pid"]


def account_rows(db_url, account_id):
    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute(
            f'SELECT count(*) FROM "{SCHEMA}".tb_account WHERE id = %s',
            (account_id,)).fetchone()[0]


def assert_pool_healthy(pool, repo):
    assert repo.find(FAST, field="r", timeout=5) == OK_BODY
    stats = pool.stats()
    assert stats["in_use"] == 0 and stats["waiting"] == 0, stats
    return stats


def create_account(repo, account_id, **kwargs):
    return repo.mutate(f"{SCHEMA}.create_account",
                       {"id": account_id, "name": "fault"}, field="c",
                       success_type="S", error_type="E",
                       context_args=["tenant_id", "user_id"], **kwargs)


def test_backend_terminated_during_a_streamed_body(fn, db_url, fault_mutations):
    app = _app("stream")
    pool = fn.Pool(db_url, max_size=1, acquire_timeout=5, application_name=app)
    repo = fn.Repository(pool, fault_mutations)
    it = repo.find_stream(ENDLESS, field="r", chunk_bytes=256)
    try:
        assert next(it).startswith(b'{"data":{"r":[')
        # Backpressure keeps the statement running while we do not read.
        pid = wait_for_pid(db_url, app, "state = 'active' AND query LIKE "
                           "'%%v_endless%%'", "the stream's statement to run")
        terminate(db_url, pid)

        def drain():
            for _ in it:
                pass
        call = Call(drain).started().finish()
        assert type(call.error) is fn.DatabaseUnavailableError, repr(call.error)
        assert call.error.code == "UNAVAILABLE"
    finally:
        it.close()
    stats = assert_pool_healthy(pool, repo)
    assert stats["closed"] >= 1, stats


def test_backend_terminated_during_a_mutation_writes_nothing(
        fn, db_url, fault_mutations):
    app = _app("mutate")
    pool = fn.Pool(db_url, max_size=1, acquire_timeout=5, application_name=app)
    repo = fn.Repository(pool, fault_mutations)
    account_id = str(uuid.uuid4())
    lock_key = uuid.uuid4().int % (2 ** 62)
    with psycopg.connect(db_url, autocommit=True) as locker:
        # The function writes, then waits on this lock until terminated.
        locker.execute("SELECT pg_advisory_lock(%s)", (lock_key,))
        call = Call(lambda: repo.mutate(
            f"{SCHEMA}.wait_then_create",
            {"id": account_id, "lock": lock_key}, field="w",
            success_type="S", error_type="E")).started()
        pid = wait_for_pid(db_url, app, "wait_event_type = 'Lock'",
                           "the mutation to wait on the lock")
        terminate(db_url, pid)
        call.finish()
        locker.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
    assert type(call.error) is fn.DatabaseUnavailableError, repr(call.error)
    assert account_rows(db_url, account_id) == 0
    assert_pool_healthy(pool, repo)


def test_backend_terminated_before_commit_writes_nothing(
        fn, db_url, fault_mutations):
    app = _app("commit")
    pool = fn.Pool(db_url, max_size=1, acquire_timeout=5, application_name=app)
    repo = fn.Repository(pool, fault_mutations)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    tx = repo.transaction(context={"tenant_id": TENANT, "user_id": "f"})
    create_account(tx, a)
    create_account(tx, b)
    # Between the last statement and the commit.
    pid = wait_for_pid(db_url, app, "state = 'idle in transaction'",
                       "the transaction to wait for its commit")
    terminate(db_url, pid)
    with pytest.raises(fn.DatabaseUnavailableError) as err:
        tx.commit()
    assert err.value.code == "UNAVAILABLE"
    assert not tx.open
    # All or nothing: nothing.
    assert account_rows(db_url, a) == 0 and account_rows(db_url, b) == 0
    stats = assert_pool_healthy(pool, repo)
    assert stats["closed"] >= 1, stats


@pytest.fixture
def read_only_url(db_url):
    """The server as a role whose sessions are read-only by default
    (default_transaction_read_only, set for the role only, so parallel tests
    are not disturbed)."""
    role = f"fql_pytest_ro_{os.getpid()}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        conn.execute(f'CREATE ROLE "{role}" LOGIN SUPERUSER')
        conn.execute(f'ALTER ROLE "{role}" SET default_transaction_read_only = on')
    user_at = db_url.split("://", 1)
    rest = user_at[1].split("@", 1)[-1]
    yield f"{user_at[0]}://{role}@{rest}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                     "WHERE usename = %s", (role,))
        wait_until(lambda: conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = %s",
            (role,)).fetchone()[0] == 0, "the read-only role's sessions to end")
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_read_only_server_refuses_a_mutation(fn, db_url, fault_mutations,
                                             read_only_url):
    pool = fn.Pool(read_only_url, max_size=1, acquire_timeout=5,
                   application_name=_app("readonly"))
    repo = fn.Repository(pool, fault_mutations)
    account_id = str(uuid.uuid4())
    with pytest.raises(fn.DatabaseError) as err:
        create_account(repo, account_id,
                       context={"tenant_id": TENANT, "user_id": "ro"})
    assert err.value.sqlstate == "25006", repr(err.value)
    assert "read-only transaction" in str(err.value), str(err.value)
    # In a transaction too, and every reset between requests keeps it so.
    with pytest.raises(fn.DatabaseError) as err:
        with repo.transaction(context={"tenant_id": TENANT,
                                       "user_id": "ro"}) as tx:
            create_account(tx, account_id)
    assert err.value.sqlstate == "25006", repr(err.value)
    assert account_rows(db_url, account_id) == 0
    # Reads still work, and the pool is healthy.
    assert_pool_healthy(pool, repo)
