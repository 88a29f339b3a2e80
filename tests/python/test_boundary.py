"""The Python boundary under hostile input: every value a caller passes
(where, order_by, mutation input, context, timeouts, chunk sizes, operator
binds) is bounded and checked before it is walked or sent, and a wrong one
is an InvalidInputError naming the argument and the limit. None of them may
kill the process (the crashes are run in a subprocess) or leave the pool
unhealthy. Concurrent close() and next() on a streamed body are safe."""
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import uuid
from decimal import Decimal

import psycopg
import pytest
from servers import blocked_in_next, next_in_thread, wait_until

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = f"fql_pytest_boundary_{os.getpid()}"
TIMEOUT_MAX = 2147483.647  # seconds: the server's statement_timeout maximum


@pytest.fixture(scope="module")
def bschema(fn, db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        conn.execute(f"""
            CREATE TABLE "{SCHEMA}".item (
              id int PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL);
            INSERT INTO "{SCHEMA}".item VALUES
              (1, 'acme', 'anvil'), (2, 'acme', 'rocket'), (3, 'globex', 'lamp');
            -- Row filtering by the request's tenant, as an RLS policy would.
            CREATE VIEW "{SCHEMA}".v_item AS
              SELECT id, jsonb_build_object('id', id, 'name', name) AS data
              FROM "{SCHEMA}".item
              WHERE tenant_id = current_setting('app.tenant_id', true);
            CREATE VIEW "{SCHEMA}".v_all AS
              SELECT id, jsonb_build_object('id', id, 'name', name) AS data
              FROM "{SCHEMA}".item;
            CREATE TABLE "{SCHEMA}".locked (id int);
            INSERT INTO "{SCHEMA}".locked VALUES (1);
            CREATE VIEW "{SCHEMA}".v_locked AS
              SELECT id, jsonb_build_object('id', id) AS data
              FROM "{SCHEMA}".locked;
            CREATE TABLE "{SCHEMA}".many AS
              SELECT g AS id FROM generate_series(1, 20000) g;
            CREATE VIEW "{SCHEMA}".v_many AS
              SELECT id, jsonb_build_object('id', id, 'pad', repeat('x', 200))
                AS data FROM "{SCHEMA}".many;
            CREATE VIEW "{SCHEMA}".v_slow AS
              SELECT 1 AS id, data FROM
                (SELECT pg_sleep(5), '{{"id":1}}'::jsonb AS data) x;
        """)
    schema = fn.Schema()
    for view in ("v_item", "v_all", "v_locked", "v_many", "v_slow"):
        schema.add_view(f"{SCHEMA}.{view}", view.title().replace("_", ""),
                        {"id": "Int", "name": "String"},
                        columns={"id": "integer", "data": "jsonb"})
    yield schema
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


@pytest.fixture(scope="module")
def bpool(fn, db_url):
    return fn.Pool(db_url, max_size=2, acquire_timeout=5)


@pytest.fixture(scope="module")
def brepo(fn, bpool, bschema):
    return fn.Repository(bpool, bschema)


def items(body, field="items"):
    return json.loads(body)["data"][field]


def assert_healthy(brepo, bpool):
    body = brepo.find(f"{SCHEMA}.v_all", field="items",
                      order_by=[{"id": "ASC"}], selection="id")
    assert [r["id"] for r in items(body)] == [1, 2, 3]
    # A cancelled stream may give its connection back just after the call.
    wait_until(lambda: bpool.stats()["in_use"] == 0,
               "every connection to come back to the pool")
    stats = bpool.stats()
    assert stats["in_use"] == 0 and stats["waiting"] == 0


def run_python(code, *args):
    """Runs `code` in a fresh interpreter with the module on its path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "bazel-bin" / "pybind"), str(ROOT / "bazel-bin" / "proto"),
         str(ROOT / "tests" / "python")])  # servers.py
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code),
                           *args], env=env, capture_output=True, text=True,
                          timeout=300)


# The snippet the hook runs: no server is needed to reach the conversion.
UNREACHABLE_FIND = """
    import sys
    import fraiseql_native as fn
    s = fn.Schema()
    s.add_view('x.v', 'X', {'id': 'Int'}, columns={'id': 'int', 'data': 'jsonb'})
    r = fn.Repository(fn.Pool('postgresql://nobody@127.0.0.1:1/none',
                              min_size=0, max_size=1, connect_timeout=1), s)
    if sys.argv[1] == 'deep':
        d = {'id': {'eq': 1}}
        for _ in range(200000):
            d = {'AND': [d]}
    else:
        d = {}
        d['AND'] = [d]
    try:
        r.find('x.v', field='x', where=d, selection='id')
    except fn.InvalidInputError as e:
        print('InvalidInputError:', e)
"""


# --- 1. one bounded conversion of Python values -----------------------------

def test_where_nested_200000_levels_is_an_input_error_not_a_crash():
    # Before the fix: the process died with SIGSEGV (exit -11).
    done = run_python(UNREACHABLE_FIND, "deep")
    assert done.returncode == 0, done.stderr[-2000:]
    line = done.stdout.strip()
    assert line.startswith("InvalidInputError: invalid where at "
                           "where.AND[0].AND[0]"), line
    assert "nesting deeper than 64 levels" in line
    assert len(line) < 400  # the path is cut, not 200,000 segments


def test_where_that_contains_itself_is_an_input_error_not_a_crash():
    # Before the fix: the process died with SIGSEGV (exit -11).
    done = run_python(UNREACHABLE_FIND, "cycle")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == (
        "InvalidInputError: invalid where at where.AND[0]: a dict or list "
        "that contains itself"), done.stdout


def test_deep_and_cyclic_input_leave_the_pool_healthy(fn, brepo, bpool):
    deep = {"id": {"eq": 1}}
    for _ in range(1000):
        deep = {"AND": [deep]}
    cyclic = []
    cyclic.append(cyclic)
    with pytest.raises(fn.InvalidInputError, match="deeper than 64"):
        brepo.find(f"{SCHEMA}.v_all", where=deep)
    with pytest.raises(fn.InvalidInputError, match="contains itself"):
        brepo.find(f"{SCHEMA}.v_all", where={"id": {"in": cyclic}})
    with pytest.raises(fn.InvalidInputError, match="deeper than 64"):
        brepo.find(f"{SCHEMA}.v_all", order_by=deep)
    with pytest.raises(fn.InvalidInputError, match="invalid input at input"):
        brepo.mutate(f"{SCHEMA}.fn_missing", deep, success_type="S",
                     error_type="E")
    assert_healthy(brepo, bpool)


@pytest.mark.parametrize("value,message", [
    ({1, 2}, "invalid where at where.id.in: a set has no JSON form"),
    (float("nan"), "invalid where at where.id.in: NaN and infinity have no "
                   "JSON form"),
    (Decimal("inf"), "invalid where at where.id.in: NaN and infinity have "
                     "no JSON form"),
    ({1: 2}, "invalid where at where.id.in: keys must be str, got int"),
    ("\ud800", "invalid where at where.id.in: a str that is not valid "
               "Unicode (a lone surrogate)"),
    ({"\udfff": 1}, "invalid where at where.id.in: a key that is not valid "
                    "Unicode (a lone surrogate)"),
    (10 ** 5000, "invalid where at where.id.in: an int of more than 4096 "
                 "bits"),
], ids=["set", "nan", "decimal-inf", "int-key", "surrogate", "surrogate-key",
        "huge-int"])
def test_values_without_json_form_are_input_errors(fn, brepo, bpool, value,
                                                   message):
    # Before the fix: TypeError or UnicodeEncodeError (or ValueError from
    # int's digit limit), not InvalidInputError.
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.find(f"{SCHEMA}.v_all", where={"id": {"in": value}})
    assert str(e.value) == message
    assert_healthy(brepo, bpool)


def test_nul_and_numeric_range_in_converted_input(fn, brepo, bpool):
    # Before the fix: NUL went on as \u0000, which jsonb refuses
    # (DatabaseError 22P05), and Decimal("1e200000") overflowed numeric on
    # the server (DatabaseError 22003).
    for value, message in [
            ({"a": "x\x00y"}, "invalid input at input.a: a str that "
                                "contains a NUL byte"),
            ({"a\x00": 1}, "invalid input at input: a key that contains a "
                            "NUL byte"),
            ({"a": Decimal("1e200000")}, "invalid input at input.a: a "
                                         "Decimal outside PostgreSQL's "
                                         "numeric range"),
            ({"a": Decimal("1e-20000")}, "invalid input at input.a: a "
                                         "Decimal outside PostgreSQL's "
                                         "numeric range")]:
        with pytest.raises(fn.InvalidInputError) as e:
            brepo.mutate(f"{SCHEMA}.fn_missing", value, success_type="S",
                         error_type="E")
        assert str(e.value) == message
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.find(f"{SCHEMA}.v_all", where={"name": {"eq": "acme\x00evil"}})
    assert str(e.value) == ("invalid where at where.name.eq: a str that "
                            "contains a NUL byte")
    assert_healthy(brepo, bpool)


def test_names_and_text_arguments(fn, brepo, bpool):
    # Before the fix: the isolation was echoed in a plain ValueError, a
    # selection with a lone surrogate raised RuntimeError, a view name of
    # non-UTF-8 bytes raised UnicodeDecodeError while raising, and a
    # function name of such bytes went to the server (DatabaseError 22021).
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.transaction(isolation="'; DROP TABLE x; --")
    assert str(e.value) == ("invalid isolation: expected 'read_committed', "
                            "'repeatable_read' or 'serializable'")
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.find(f"{SCHEMA}.v_all", selection="id \ud800")
    assert str(e.value) == ("invalid selection: a str that is not valid "
                            "Unicode (a lone surrogate)")
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.find(f"{SCHEMA}.v_all", selection="id " * 40000)
    assert "max_selection_bytes" in str(e.value)
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.count(b"app.v_\xff\xfe")
    assert "unknown view" in str(e.value)
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.mutate(b"app.f\xff", {}, success_type="S", error_type="E")
    assert str(e.value) == "invalid function: not valid UTF-8"
    assert_healthy(brepo, bpool)


def test_element_and_byte_limits(fn, brepo, bpool):
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.find(f"{SCHEMA}.v_all", where={"id": {"in": list(range(20000))}})
    assert str(e.value) == ("invalid where at where.id.in: more than 10000 "
                            "values (max_elements)")
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.find(f"{SCHEMA}.v_all", where={"name": {"eq": "x" * 70000}})
    assert str(e.value) == ("invalid where at where.name.eq: larger than "
                            "65536 bytes (max_bytes)")
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.mutate(f"{SCHEMA}.fn_missing", {"a": "x" * (2 << 20)},
                     success_type="S", error_type="E")
    assert str(e.value) == ("invalid input at input.a: larger than 1048576 "
                            "bytes (max_bytes)")
    assert_healthy(brepo, bpool)


def test_json_text_arguments_are_bounded(fn, brepo, bpool):
    # Before the fix: order_by text had no byte limit (this one parses as an
    # empty list and ran), mutation input text went to the server.
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.find(f"{SCHEMA}.v_all", order_by="[" + " " * 70000 + "]")
    assert str(e.value) == ("invalid order_by: JSON text larger than 65536 "
                            "bytes (max_bytes)")
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.mutate(f"{SCHEMA}.fn_missing",
                     '{"a": "' + "x" * (2 << 20) + '"}',
                     success_type="S", error_type="E")
    assert str(e.value) == ("invalid input: JSON text larger than 1048576 "
                            "bytes (max_bytes)")
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.find(f"{SCHEMA}.v_all", where='{"name": "\ud800"}')
    assert str(e.value) == ("invalid where: a str that is not valid Unicode "
                            "(a lone surrogate)")
    assert_healthy(brepo, bpool)


def test_accepted_values_still_convert_exactly(fn, brepo):
    body = brepo.find(f"{SCHEMA}.v_all", field="items",
                      where={"id": {"in": (1, Decimal("3"))}},
                      order_by=[{"id": "DESC"}], selection="id")
    assert [r["id"] for r in items(body)] == [3, 1]
    body = brepo.find(f"{SCHEMA}.v_all", field="items",
                      where={"name": {"in": ["lamp", "é\U0001F600"]}},
                      selection="name")
    assert items(body) == [{"name": "lamp"}]


# --- 2. context ---------------------------------------------------------------

def test_context_value_with_a_nul_is_rejected_naming_the_key(fn, brepo, bpool):
    view = f"{SCHEMA}.v_item"
    assert [r["id"] for r in items(brepo.find(
        view, field="items", order_by=[{"id": "ASC"}], selection="id",
        context={"tenant_id": "acme"}))] == [1, 2]
    # Before the fix libpq cut the value at the NUL: tenant "acme\0evil" was
    # served acme's rows.
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.find(view, field="items", selection="id",
                   context={"tenant_id": "acme\x00evil"})
    assert str(e.value) == ("invalid context at context.tenant_id: a value "
                            "contains a NUL byte")
    with pytest.raises(fn.InvalidInputError, match="context.app.locale"):
        brepo.count(view, context={"app.locale": "de\x00"})
    with pytest.raises(fn.InvalidInputError, match="context.tenant_id"):
        brepo.transaction(context={"tenant_id": "acme\x00evil"})
    assert_healthy(brepo, bpool)


@pytest.mark.parametrize("value", [
    None, {"a": 1}, ["acme"], 1.5, float("nan"), b"acme", Decimal("nan"),
    object()])
def test_context_values_of_other_types_are_rejected(fn, brepo, bpool, value):
    # Before the fix str() turned any of these into text (None: TypeError).
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.count(f"{SCHEMA}.v_item", context={"tenant_id": value})
    assert str(e.value).startswith("invalid context at context.tenant_id: ")
    assert_healthy(brepo, bpool)


def test_context_values_of_accepted_types(fn, brepo):
    tenant = uuid.uuid4()
    for value in ("acme", 7, True, Decimal("1.50"), tenant):
        assert brepo.count(f"{SCHEMA}.v_item",
                           context={"tenant_id": value}) == (
                               2 if value == "acme" else 0)


def test_context_is_bounded(fn, brepo, bpool):
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.count(f"{SCHEMA}.v_item",
                    context={f"app.k{i}": "x" for i in range(100)})
    assert str(e.value) == "invalid context: more than 64 keys (max_keys)"
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.count(f"{SCHEMA}.v_item", context={"tenant_id": "x" * 5000})
    assert str(e.value) == ("invalid context at context.tenant_id: a value "
                            "larger than 4096 bytes (max_value_bytes)")
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.count(f"{SCHEMA}.v_item", context={"app." + "k" * 200: "x"})
    assert str(e.value) == ("invalid context: a key larger than 128 bytes "
                            "(max_key_bytes)")
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.count(f"{SCHEMA}.v_item", context={"app.\ud800": "x"})
    assert str(e.value) == ("invalid context: a key that is not valid "
                            "Unicode (a lone surrogate)")
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.count(f"{SCHEMA}.v_item", context={"tenant_id": "\ud800"})
    assert str(e.value) == ("invalid context at context.tenant_id: a str "
                            "that is not valid Unicode (a lone surrogate)")
    assert_healthy(brepo, bpool)


# --- 3. timeouts and chunk sizes ----------------------------------------------

BAD_TIMEOUTS = [float("inf"), float("nan"), -1.0, 0.0, TIMEOUT_MAX + 1, 1e300]


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
def test_bad_timeouts_are_input_errors(fn, brepo, bpool, timeout):
    # Before the fix: inf and huge values ran with an out-of-range
    # statement_timeout; NaN, 0 and negatives raised a plain ValueError.
    with pytest.raises(fn.InvalidInputError) as e:
        brepo.count(f"{SCHEMA}.v_all", timeout=timeout)
    assert str(e.value) == ("invalid timeout: expected seconds > 0 and at "
                            "most 2147483.647 (the server's statement_timeout "
                            "maximum)")
    assert_healthy(brepo, bpool)


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
def test_bad_commit_and_rollback_timeouts(fn, brepo, bpool, timeout):
    tx = brepo.transaction()
    with pytest.raises(fn.InvalidInputError, match="invalid timeout"):
        tx.commit(timeout=timeout)
    with pytest.raises(fn.InvalidInputError, match="invalid timeout"):
        tx.rollback(timeout=timeout)
    assert tx.open
    tx.rollback(timeout=TIMEOUT_MAX)
    assert not tx.open
    assert_healthy(brepo, bpool)


def test_the_largest_timeout_is_accepted(fn, brepo):
    assert brepo.count(f"{SCHEMA}.v_all", timeout=TIMEOUT_MAX) == 3


def test_huge_chunk_bytes_is_an_input_error_not_an_abort(db_url, bschema):
    # Before the fix the stream's thread threw and the process aborted
    # (SIGABRT).
    done = run_python(f"""
        import fraiseql_native as fn
        s = fn.Schema()
        s.add_view('{SCHEMA}.v_all', 'All', {{'id': 'Int'}},
                   columns={{'id': 'integer', 'data': 'jsonb'}})
        pool = fn.Pool({db_url!r}, max_size=1)
        r = fn.Repository(pool, s)
        for size in (2 ** 62, 2 ** 40, 64 * 2 ** 20 + 1):
            try:
                print(b''.join(r.find_stream('{SCHEMA}.v_all',
                                             chunk_bytes=size))[:20])
            except fn.InvalidInputError as e:
                print('InvalidInputError:', e)
        assert b''.join(r.find_stream('{SCHEMA}.v_all',
                                      chunk_bytes=64 * 2 ** 20)).startswith(
            b'{{"data"')
        print(pool.stats()['in_use'])
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "InvalidInputError: invalid chunk_bytes: expected 1 to 67108864 "
        "bytes (max_chunk_bytes)"] * 3 + ["0"]


# --- 4. close() while another thread is inside next() -------------------------

CLOSE_DURING_NEXT = """
    import sys, time
    import psycopg
    import fraiseql_native as fn
    from servers import blocked_in_next, next_in_thread
    url, schema, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = fn.Schema()
    s.add_view(f'{schema}.v_locked', 'Locked', {'id': 'Int'},
               columns={'id': 'integer', 'data': 'jsonb'})
    s.add_view(f'{schema}.v_many', 'Many', {'id': 'Int'},
               columns={'id': 'integer', 'data': 'jsonb'})
    pool = fn.Pool(url, max_size=2, acquire_timeout=10)
    repo = fn.Repository(pool, s)

    def wait_for(condition):
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, 'condition not reached'
            time.sleep(0.002)

    outcomes = set()
    with psycopg.connect(url, autocommit=True) as watch:
        def waiting_on_lock():
            return watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE "
                "wait_event_type = 'Lock' AND query LIKE %s",
                (f'%{schema}%',)).fetchone()[0] > 0
        for i in range(rounds):
            with psycopg.connect(url) as locker:
                # The stream's statement waits for this lock, so the
                # consumer's next() waits inside the stream.
                locker.execute(
                    f'LOCK TABLE "{schema}".locked IN ACCESS EXCLUSIVE MODE')
                it = repo.find_stream(f'{schema}.v_locked')
                result = []
                t, entered = next_in_thread(it, result)
                # The statement waits (it started with find_stream) and the
                # consumer sleeps inside next(), waiting for its piece.
                wait_for(waiting_on_lock)
                wait_for(lambda: blocked_in_next(t, entered))
                it.close()
                t.join()
                locker.rollback()
            outcomes.add(result[0])
            try:
                next(it)
                outcomes.add('piece after close')
            except StopIteration:
                pass
            # And a stream whose producer is blocked on a full queue.
            it = repo.find_stream(f'{schema}.v_many', chunk_bytes=1)
            next(it)
            result = []
            t, entered = next_in_thread(it, result)
            entered.wait()
            it.close()
            t.join()
            outcomes.add('queue:' + ('ok' if result[0] == 'stop' or
                                     isinstance(result[0], bytes)
                                     else result[0]))
            wait_for(lambda: pool.stats()['in_use'] == 0)
    print(sorted(outcomes))
    print(repo.count(f'{schema}.v_many'), pool.stats()['in_use'])
"""


def test_close_while_another_thread_is_in_next(db_url, bschema):
    # Before the fix the waiting next() raised QueryCancelledError from a
    # stream already destroyed under it (or the process crashed).
    done = run_python(CLOSE_DURING_NEXT, db_url, SCHEMA, "8")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["['queue:ok', 'stop']", "20000 0"]


# --- 5. operator binds --------------------------------------------------------

def register_bind_operator(fn):
    if any(op["key"] == "where.test.boundary_bind" for op in fn.operators()):
        return

    def render(field, value, bind):
        return f"{field.text} = {bind(value['v'], value['type'])}"

    fn.register_operator(
        "where.test.boundary_bind", "boundaryBind", ["String"], render,
        description="binds value.v as value.type (a test of bind's checks)",
        example='{"name": {"boundaryBind": {"v": "x", "type": "text"}}}')


@pytest.mark.parametrize("sql_type", [
    "text is not null or true", "text or true", "text ", " text", "Text",
    "a.b.c", "text[][]", "double  precision", "pg catalog.text", "1text",
    "x" * 64, "text[", "varchar(10)", "", "null", "true", "current_user",
    "select", "null.text",
])
def test_bind_refuses_types_outside_the_grammar(fn, bpool, bschema, sql_type):
    # Before the fix any lowercase words with spaces were pasted after ::
    # (`$1::text is not null or true`).
    register_bind_operator(fn)
    repo = fn.Repository(bpool, bschema)
    with pytest.raises(fn.InvalidInputError, match="invalid sql_type"):
        repo.explain(f"{SCHEMA}.v_all", where={
            "name": {"boundaryBind": {"v": "x", "type": sql_type}}})


@pytest.mark.parametrize("sql_type", [
    "text", "integer", "pg_catalog.text", "numeric[]", "double precision",
    "timestamp with time zone", "timestamp without time zone[]",
    "time with time zone", "character varying", "bit varying", "_int4",
])
def test_bind_takes_type_names(fn, bpool, bschema, sql_type):
    register_bind_operator(fn)
    repo = fn.Repository(bpool, bschema)
    sql, _ = repo.explain(f"{SCHEMA}.v_all", where={
        "name": {"boundaryBind": {"v": "x", "type": sql_type}}})
    assert f"::{sql_type}" in sql


def test_bind_refuses_a_nul(fn, bpool, bschema):
    register_bind_operator(fn)
    repo = fn.Repository(bpool, bschema)
    # Before the fix the value was bound and cut at the NUL by libpq.
    with pytest.raises(fn.InvalidInputError) as e:
        repo.explain(f"{SCHEMA}.v_all", where={
            "name": {"boundaryBind": {"v": "acme\x00evil", "type": "text"}}})
    assert "contains a NUL byte" in str(e.value)
    assert "acme" not in str(e.value)
    assert_healthy(repo, bpool)


# --- 6. Repository(statement_timeout=, cursor_secret=) ------------------------

def server_statement_timeout(fn, bpool, bschema, **kwargs):
    schema = fn.Schema()
    schema.add_view(f"{SCHEMA}.v_setting", "Setting", {"st": "String"})
    repo = fn.Repository(bpool, schema, **kwargs)
    return items(repo.find(f"{SCHEMA}.v_setting", field="s"), "s")[0]["st"]


def test_repository_statement_timeout(fn, db_url, bpool, bschema):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"""
            CREATE OR REPLACE VIEW "{SCHEMA}".v_setting AS SELECT
              jsonb_build_object('st', current_setting('statement_timeout'))
              AS data""")
        server_default = conn.execute("SHOW statement_timeout").fetchone()[0]
    # The default bounds every query at 30 s; 0 leaves the server's.
    assert server_statement_timeout(fn, bpool, bschema) == "30s"
    assert server_statement_timeout(fn, bpool, bschema,
                                    statement_timeout=1.5) == "1500ms"
    assert server_statement_timeout(fn, bpool, bschema,
                                    statement_timeout=0) == server_default
    repo = fn.Repository(bpool, bschema, statement_timeout=0.2)
    with pytest.raises(fn.QueryTimeoutError):
        repo.count(f"{SCHEMA}.v_slow")
    for bad in (float("inf"), float("nan"), -1.0, TIMEOUT_MAX + 1):
        with pytest.raises(fn.InvalidInputError) as e:
            fn.Repository(bpool, bschema, statement_timeout=bad)
        assert str(e.value) == ("invalid statement_timeout: expected seconds "
                                "from 0 (none) to 2147483.647 (the server's "
                                "maximum)")
    assert_healthy(fn.Repository(bpool, bschema), bpool)


def first_page(repo):
    body = json.loads(repo.find(f"{SCHEMA}.v_all", field="items", first=1,
                                order_by=[{"name": "ASC"}], selection="id"))
    return body["data"]["items"]["pageInfo"]["endCursor"]


def next_page(repo, cursor):
    body = json.loads(repo.find(f"{SCHEMA}.v_all", field="items", first=1,
                                after=cursor, order_by=[{"name": "ASC"}],
                                selection="id"))
    return [e["node"]["id"] for e in body["data"]["items"]["edges"]]


def test_repository_cursor_secret(fn, bpool, bschema):
    secret = os.urandom(32)
    a = fn.Repository(bpool, bschema, cursor_secret=secret)
    cursor = first_page(a)
    assert next_page(a, cursor) == [3]  # anvil, lamp (3), rocket
    assert next_page(fn.Repository(bpool, bschema, cursor_secret=secret),
                     cursor) == [3]
    text = fn.Repository(bpool, bschema, cursor_secret="s3cret-é")
    assert next_page(fn.Repository(bpool, bschema,
                                   cursor_secret="s3cret-é".encode()),
                     first_page(text)) == [3]
    for other in (fn.Repository(bpool, bschema, cursor_secret=b"other"),
                  fn.Repository(bpool, bschema)):
        with pytest.raises(fn.InvalidInputError, match="invalid cursor"):
            next_page(other, cursor)
    # No secret: one random secret per process, shared by its repositories.
    assert next_page(fn.Repository(bpool, bschema),
                     first_page(fn.Repository(bpool, bschema))) == [3]
    for bad in (b"", "", 5, "\ud800", b"x" * 5000):
        with pytest.raises(fn.InvalidInputError) as e:
            fn.Repository(bpool, bschema, cursor_secret=bad)
        assert str(e.value).startswith("invalid cursor_secret: ")


def test_int_arguments_take_ints_only(fn, brepo, bpool):
    # pybind11 would turn a Decimal (or any number-like object) into an int
    # digit by digit: Decimal("1e999999") cost 20 s of CPU before the
    # TypeError. Whole-number arguments now take int (and __index__) only.
    view = f"{SCHEMA}.v_all"
    for kwargs in ({"limit": Decimal("2")}, {"offset": Decimal("1e999999")},
                   {"first": Decimal("1")}):
        with pytest.raises(TypeError):
            brepo.find(view, field="items", selection="id", **kwargs)
    with pytest.raises(TypeError):
        brepo.find_stream(view, field="items", chunk_bytes=Decimal("4096"))
    with pytest.raises(TypeError):
        fn.Repository(bpool, fn.Schema(), max_response_bytes=Decimal("1e999"))
    assert len(items(brepo.find(view, field="items", selection="id",
                                limit=True))) == 1  # bool is an int
    assert_healthy(brepo, bpool)


def test_root_fields_per_request_are_bounded(fn, bpool, bschema):
    import query_pb2
    schema = fn.Schema()
    schema.add_view(f"{SCHEMA}.v_all", "Item", {"id": "Int", "name": "String"},
                    columns={"id": "int", "data": "jsonb"})

    def query(n):
        q = query_pb2.QueryDefinition()
        for i in range(n):
            root = q.roots.add(response_key=f"r{i}", view=f"{SCHEMA}.v_all",
                               is_list=True, has_selection=True)
            root.selection.add(response_key="id", field_name="id")
        return q.SerializeToString()

    repo = fn.Repository(bpool, schema, max_root_fields=3)
    assert len(json.loads(repo.execute(query(3)))["data"]) == 3
    with pytest.raises(fn.InvalidInputError,
                       match=r"too many root fields: 4 \(limit max_root_fields 3\)"):
        repo.execute(query(4))
    default = fn.Repository(bpool, schema)
    with pytest.raises(fn.InvalidInputError, match="max_root_fields 64"):
        default.execute(query(65))
    unlimited = fn.Repository(bpool, schema, max_root_fields=0)
    assert len(json.loads(unlimited.execute(query(65)))["data"]) == 65
    with pytest.raises(ValueError, match="max_root_fields"):
        fn.Repository(bpool, schema, max_root_fields=-1)


def test_a_second_thread_in_next_is_refused(fn, brepo, bpool, db_url):
    # BodyStream takes one consumer at a time. Before, a second thread's
    # next() entered the stream beside the first one.
    import psycopg as pg
    with pg.connect(db_url) as locker, pg.connect(db_url, autocommit=True) as watch:
        locker.execute(f'LOCK TABLE "{SCHEMA}".locked IN ACCESS EXCLUSIVE MODE')
        it = brepo.find_stream(f"{SCHEMA}.v_locked", field="items")
        result = []
        first, entered = next_in_thread(it, result)
        # The statement waits for the lock (it started with find_stream),
        # and the first thread sleeps inside next(): had it not entered yet,
        # this thread's next() would be the one waiting, for ever.
        wait_until(lambda: watch.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE "
            "wait_event_type = 'Lock' AND query LIKE %s",
            (f"%{SCHEMA}%",)).fetchone()[0] > 0, "the stream to wait")
        wait_until(lambda: blocked_in_next(first, entered),
                   "the first thread to wait inside next()")
        with pytest.raises(ValueError, match="already being read"):
            next(it)
        locker.rollback()
        first.join(60)
        assert not first.is_alive(), "the first next() hung"
    assert result and result[0].startswith(b'{"data":{"items":[')
    assert b"".join([result[0], *it]).endswith(b"]}}")
    assert_healthy(brepo, bpool)
