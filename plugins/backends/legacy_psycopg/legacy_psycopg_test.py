"""The legacy-psycopg backend against a real server: the backend object
itself (plans taken from Repository.explain, context, transactions,
savepoints, errors, the float defect), then through
Repository(..., backend="legacy-psycopg"), then the sample traffic replayed
legacy vs native with every difference explained by a named rule.

    export FRAISEQL_DATABASE_URL=$(ci/postgres start | tail -1)
    bazel build //pybind:fraiseql_native //proto:query_proto_py
    /usr/bin/python3 -m pytest plugins/backends/legacy_psycopg -q -p no:cacheprovider
"""
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
for path in (ROOT / "tests" / "fixtures", ROOT / "tests" / "fixtures" / "traffic",
             ROOT / "bazel-bin" / "proto", ROOT / "bazel-bin" / "pybind"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import psycopg  # noqa: E402

import fraiseql_native as fn  # noqa: E402
from sample_registry import register_sample  # noqa: E402

# As the package ships it (//pybind copies it from this folder).
from fraiseql_native.plugins import legacy_psycopg as lp  # noqa: E402

SCHEMA = f"fql_pytest_legacy_{os.getpid()}"
BIG = "12345678901234567.89"
CONTEXT = {"tenant_id": None, "user_id": None, "variables": {},
           "statement_timeout": 30.0, "timeout": None}


def user_id(i):
    import hashlib
    h = hashlib.md5(f"user-{i}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def ctx(**kw):
    out = dict(CONTEXT)
    out.update(kw)
    return out


@pytest.fixture(scope="module")
def db_url():
    url = os.environ.get("FRAISEQL_DATABASE_URL")
    if not url:
        pytest.fail("FRAISEQL_DATABASE_URL is not set: "
                    "`export FRAISEQL_DATABASE_URL=$(ci/postgres start | tail -1)`")
    return url


@pytest.fixture(scope="module")
def schema_name(db_url):
    """Sample data (1000 users: every 50th has the big balance), the
    mutation fixtures and their seed accounts, in a schema of this run."""
    import make_sample_traffic
    make_sample_traffic.prepare(db_url, SCHEMA, rows=1000)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{SCHEMA}".t_item (id int PRIMARY KEY, '
                     "name text NOT NULL)")
    yield SCHEMA
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


@pytest.fixture(scope="module")
def fschema(schema_name):
    import make_sample_traffic
    schema = register_sample(fn, schema_name)
    make_sample_traffic.register_accounts(schema, schema_name)
    return schema


@pytest.fixture(scope="module")
def pool(db_url):
    return fn.Pool(db_url, min_size=1, max_size=4)


@pytest.fixture(scope="module")
def native(pool, fschema):
    return fn.Repository(pool, fschema, cursor_secret="legacy-test")


@pytest.fixture
def backend(db_url):
    b = lp.LegacyPsycopgBackend(db_url, {"max_size": 1})
    yield b
    b.close()


@pytest.fixture
def db(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


def plan(repo, view, **kw):
    """The statement the native planner makes, in the backend's format."""
    sql, params = repo.explain(view, **kw)
    return (sql, [(p, "") for p in params])


def items(db):
    return [r[0] for r in db.execute(
        f'SELECT id FROM "{SCHEMA}".t_item ORDER BY id').fetchall()]


# --- The module's contract ---------------------------------------------------


def test_module_declares_its_name_and_rules():
    assert lp.NAME == "legacy-psycopg"
    assert lp.LegacyPsycopgBackend.known_differences is lp.KNOWN_DIFFERENCES
    assert "legacy.float_numbers" in lp.KNOWN_DIFFERENCES
    for name, rule in lp.KNOWN_DIFFERENCES.items():
        assert name.startswith("legacy.")
        assert rule["classifier"] in ("float64", "timestamp_precision")
        assert rule["description"]
    classifiers = fn.comparison_classifiers()
    for rule in lp.KNOWN_DIFFERENCES.values():
        assert rule["classifier"] in classifiers


def test_importing_the_module_does_not_import_psycopg():
    code = ("import sys; sys.path.insert(0, %r); import legacy_psycopg; "
            "assert 'psycopg' not in sys.modules, 'psycopg imported'; "
            "print('ok')" % str(pathlib.Path(lp.__file__).parent))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=""))
    assert out.stdout.strip() == "ok", out.stderr
    # Nor does the package, which registers the backend all the same.
    code = ("import sys, fraiseql_native; "
            "assert 'psycopg' not in sys.modules, 'psycopg imported'; "
            "assert 'legacy-psycopg' in fraiseql_native.backends(); "
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=str(
                             ROOT / "bazel-bin" / "pybind")))
    assert out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize("sql, expected, highest", [
    ("SELECT $1::int", "SELECT %(p1)s::int", 1),
    ("a = $2::text OR b = $1::numeric OR c = $2::text",
     "a = %(p2)s::text OR b = %(p1)s::numeric OR c = %(p2)s::text", 2),
    ("x LIKE '100%' AND y = $10::bigint", "x LIKE '100%%' AND y = %(p10)s::bigint", 10),
    ("'it''s $1' || $1::text", "'it''s $1' || %(p1)s::text", 1),
    ('"col$1" = $1::text', '"col$1" = %(p1)s::text', 1),
    ("E'a\\'$1' || $2::text", "E'a\\'$1' || %(p2)s::text", 2),
    ("x$1 $$ %s", "x$1 $$ %%s", 0),
    ("'$.a ? (@ > 1)' %", "'$.a ? (@ > 1)' %%", 0),
])
def test_placeholders_become_named_and_percent_is_escaped(sql, expected,
                                                          highest):
    assert lp.convert_placeholders(sql) == (expected, highest)


# --- The backend object, on plans of the native planner ---------------------


def test_rows_are_the_reencoded_json_and_big_decimals_become_floats(
        backend, native, schema_name):
    view = f"{schema_name}.v_user"
    statement = plan(native, view, where={"id": {"in": [user_id(50),
                                                        user_id(10)]}},
                     order_by=[{"balance": "ASC"}])
    (rows,) = backend.execute([statement], ctx())
    assert [type(r) for r in rows] == [str, str]
    first, second = (json.loads(r) for r in rows)
    assert first["balance"] == 541.9            # 541.90 re-encoded
    assert second["balance"] == 12345678901234568.0
    assert '"balance":1.2345678901234568e+16' in rows[1]
    # Exactly what psycopg + json.dumps give for the same statement.
    with psycopg.connect(backend.url) as conn:
        expected = [lp.encode_json(r[0]) for r in conn.execute(
            f"SELECT data FROM {view} WHERE id IN (%s, %s) "
            "ORDER BY (data->>'balance')::numeric",
            (user_id(50), user_id(10))).fetchall()]
    assert rows == expected
    # Unicode is kept as it is (ensure_ascii=False).
    (rows,) = backend.execute([plan(native, view,
                                    where={"id": user_id(5)})], ctx())
    assert '"first_name":"日本"' in rows[0]


def test_columns_after_the_first_are_text_and_cursors_survive(
        backend, native, schema_name):
    statement = plan(native, f"{schema_name}.v_user", first=2,
                     order_by=[{"balance": "DESC"}])
    (rows,) = backend.execute([statement], ctx())
    assert all(isinstance(r, tuple) and len(r) == 2 for r in rows)
    # The cursor keys stay text, the big decimal exact in them.
    assert json.loads(rows[0][1], parse_float=Decimal)[0] == Decimal(BIG)


def test_text_json_columns_are_parsed_like_jsonb(backend):
    (rows,) = backend.execute([(
        "SELECT to_jsonb(12345678901234567.89::numeric)::text, NULL::text",
        [])], ctx())
    assert rows == [("1.2345678901234568e+16", None)]
    (rows,) = backend.execute([("SELECT count(*)::text FROM generate_series(1, 3)",
                                [])], ctx())
    assert rows == ["3"]


def test_text_that_is_not_json_goes_on_unchanged(backend):
    (rows,) = backend.execute([("SELECT 'not json'::text", [])], ctx())
    assert rows == ["not json"]


def test_parameters_are_text_cast_by_the_sql_and_null_is_null(backend):
    (rows,) = backend.execute([(
        "SELECT jsonb_build_array($1::numeric + 1, $2::text, $3::int IS NULL, "
        "$2::text || '%')", [("41.5", "numeric"), ("100% _x_", "text"),
                             (None, "integer")])], ctx())
    assert rows == ['[42.5,"100% _x_",true,"100% _x_%"]']


def test_context_is_visible_to_the_statement_only(backend):
    sql = ("SELECT jsonb_build_array(current_setting('app.tenant_id', true), "
           "current_setting('app.user_id', true), "
           "current_setting('app.locale', true), "
           "current_setting('statement_timeout'))")
    (rows,) = backend.execute([(sql, [])], ctx(
        tenant_id="t-1", user_id="u-😀", variables={"app.locale": "de_DE"},
        statement_timeout=2.5))
    assert json.loads(rows[0]) == ["t-1", "u-😀", "de_DE", "2500ms"]
    # The same (only) connection, next call: nothing left over.
    (rows,) = backend.execute([(sql, [])], ctx(statement_timeout=0))
    assert json.loads(rows[0])[:3] in ([None, None, None], ["", "", ""])
    assert json.loads(rows[0])[3] == "0"


def test_timeout_left_bounds_the_statement_timeout(backend):
    (rows,) = backend.execute([(
        "SELECT to_jsonb(current_setting('statement_timeout'))", [])],
        ctx(statement_timeout=30.0, timeout=1.25))
    assert rows == ['"1250ms"']


def test_statement_timeout_cancels_and_the_connection_stays_usable(backend):
    with pytest.raises(psycopg.errors.QueryCanceled) as info:
        backend.execute([("SELECT to_jsonb(pg_sleep(30)::text)", [])],
                        ctx(statement_timeout=0.2))
    assert info.value.sqlstate == "57014"
    (rows,) = backend.execute([("SELECT to_jsonb(1)", [])], ctx())
    assert rows == ["1"]


def test_several_statements_read_one_snapshot(backend):
    sql = ("SELECT jsonb_build_array(current_setting('transaction_isolation'), "
           "txid_current()::text)")
    first, second = backend.execute([(sql, []), (sql, [])],
                                    ctx(statement_timeout=0))
    assert first == second
    assert json.loads(first[0])[0] == "repeatable read"


def test_errors_propagate_with_sqlstate_and_roll_back(backend, db):
    insert = (f'INSERT INTO "{SCHEMA}".t_item VALUES ($1::int, $2::text) '
              "RETURNING to_jsonb(id)")
    db.execute(f'DELETE FROM "{SCHEMA}".t_item')
    assert backend.execute([(insert, [("1", "int"), ("a", "text")])],
                           ctx()) == [["1"]]
    with pytest.raises(psycopg.errors.UniqueViolation) as info:
        backend.execute([(insert, [("2", "int"), ("b", "text")]),
                         (insert, [("1", "int"), ("dup", "text")])], ctx())
    assert info.value.sqlstate == "23505"
    assert items(db) == [1]              # the batch's first insert undone
    assert backend.execute([("SELECT to_jsonb(2)", [])], ctx()) == [["2"]]


def test_transaction_commit_rollback_and_savepoints(backend, db):
    db.execute(f'DELETE FROM "{SCHEMA}".t_item')
    insert = f'INSERT INTO "{SCHEMA}".t_item VALUES ($1::int, $2::text)'

    tx = backend.begin("read committed", False, ctx(tenant_id="t-9"))
    tx.execute([(insert, [("1", "int"), ("kept", "text")])], ctx())
    (rows,) = tx.execute([(
        "SELECT to_jsonb(current_setting('app.tenant_id', true))", [])], ctx())
    assert rows == ['"t-9"']
    inner = tx.begin()
    inner.execute([(insert, [("2", "int"), ("undone", "text")])], ctx())
    inner.rollback()
    inner = tx.begin()
    inner.execute([(insert, [("3", "int"), ("released", "text")])], ctx())
    inner.commit()
    assert items(db) == []               # nothing visible before COMMIT
    tx.commit()
    assert items(db) == [1, 3]
    assert not tx.open

    tx = backend.begin("serializable", False, ctx())
    tx.execute([(insert, [("4", "int"), ("gone", "text")])], ctx())
    tx.rollback()
    assert items(db) == [1, 3]

    tx = backend.begin("repeatable read", True, ctx())
    (rows,) = tx.execute([(
        "SELECT jsonb_build_array(current_setting('transaction_isolation'), "
        "current_setting('transaction_read_only'))", [])], ctx())
    assert rows == ['["repeatable read","on"]']
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        tx.execute([(insert, [("5", "int"), ("ro", "text")])], ctx())
    tx.rollback()
    # The (only) connection came back healthy each time.
    assert backend.execute([("SELECT to_jsonb(3)", [])], ctx()) == [["3"]]


def test_commit_after_a_failed_statement_raises_and_rolls_back(backend, db):
    db.execute(f'DELETE FROM "{SCHEMA}".t_item')
    insert = f'INSERT INTO "{SCHEMA}".t_item VALUES ($1::int, $2::text)'
    tx = backend.begin("read committed", False, ctx())
    tx.execute([(insert, [("1", "int"), ("a", "text")])], ctx())
    with pytest.raises(psycopg.errors.UniqueViolation):
        tx.execute([(insert, [("1", "int"), ("b", "text")])], ctx())
    with pytest.raises(psycopg.errors.InFailedSqlTransaction) as info:
        tx.commit()
    assert info.value.sqlstate == "25P02"
    assert items(db) == []
    # A savepoint rolled back clears the abort its statements caused.
    tx = backend.begin("read committed", False, ctx())
    tx.execute([(insert, [("2", "int"), ("a", "text")])], ctx())
    inner = tx.begin()
    with pytest.raises(psycopg.errors.UniqueViolation):
        inner.execute([(insert, [("2", "int"), ("b", "text")])], ctx())
    inner.rollback()
    tx.execute([(insert, [("3", "int"), ("c", "text")])], ctx())
    tx.commit()
    assert items(db) == [2, 3]
    assert backend.execute([("SELECT to_jsonb(1)", [])], ctx()) == [["1"]]


def test_a_transaction_holds_its_connection_until_it_ends(backend):
    tx = backend.begin("read committed", False, ctx())
    got = threading.Event()

    def other():
        backend.execute([("SELECT to_jsonb(1)", [])], ctx())
        got.set()

    t = threading.Thread(target=other)
    t.start()
    # max_size 1: the other call queues behind the transaction.
    deadline = time.monotonic() + 30
    while backend._pool.get_stats().get("requests_waiting", 0) < 1:
        assert time.monotonic() < deadline, "the call never queued"
        time.sleep(0.01)
    assert not got.is_set()
    tx.commit()
    assert got.wait(30)
    t.join()


def test_a_savepoint_that_outlives_its_transaction_never_reaches_the_connection(
        backend, db, schema_name):
    """max_size 1: the next transaction gets the same connection, and its
    savepoints are named as the ended one's (fraiseql_sp_1)."""
    db.execute(f'DELETE FROM "{SCHEMA}".t_item')
    insert = f'INSERT INTO "{SCHEMA}".t_item VALUES ($1::int, $2::text)'
    for end in ("commit", "rollback"):
        tx = backend.begin("read committed", False, ctx())
        stale = tx.begin()
        stale_inner = stale.begin()
        getattr(tx, end)()
        assert not stale.open and not stale_inner.open
        tx2 = backend.begin("read committed", False, ctx())
        sp = tx2.begin()
        sp.execute([(insert, [("1", "int"), (end, "text")])], ctx())
        for ended in (stale, stale_inner):
            for call in (ended.rollback, ended.commit, ended.begin,
                         lambda: ended.execute([("SELECT 1", [])], ctx())):
                with pytest.raises(RuntimeError):
                    call()
        sp.commit()
        tx2.commit()
        assert items(db) == [1]
        db.execute(f'DELETE FROM "{SCHEMA}".t_item')
    # A savepoint that ends ends the savepoints made inside it.
    tx = backend.begin("read committed", False, ctx())
    outer = tx.begin()
    inner = outer.begin()
    outer.commit()
    assert not inner.open
    with pytest.raises(RuntimeError):
        inner.rollback()
    tx.execute([(insert, [("2", "int"), ("kept", "text")])], ctx())
    tx.commit()
    assert items(db) == [2]


def test_a_call_deadline_inside_a_transaction_cancels_the_statement(backend):
    tx = backend.begin("read committed", False, ctx())
    with pytest.raises(psycopg.errors.QueryCanceled) as info:
        tx.execute([("SELECT to_jsonb(pg_sleep(30)::text)", [])],
                   ctx(timeout=0.2))
    assert info.value.sqlstate == "57014"
    with pytest.raises(psycopg.errors.InFailedSqlTransaction):
        tx.execute([("SELECT to_jsonb(1)", [])], ctx())
    tx.rollback()
    assert backend.execute([("SELECT to_jsonb(1)", [])], ctx()) == [["1"]]


def test_a_call_deadline_in_a_transaction_is_its_statement_timeout(backend):
    """The deadline bounds the call's statements through statement_timeout
    (no timer thread whose cancel could land on a later statement); the
    transaction's own value is back for the next statement."""
    show = [("SELECT to_jsonb(setting::int) FROM pg_settings "
             "WHERE name = 'statement_timeout'", [])]

    def ms(tx, **kw):
        ((value,),) = tx.execute(show, ctx(**kw))
        return int(value)

    # The call's deadline gives what is left of it (never the transaction's
    # 30 s): at most the timeout, and more than 0 unless a test hangs.
    tx = backend.begin("read committed", False, ctx(statement_timeout=30.0))
    assert 0 < ms(tx, timeout=20.0) <= 20000
    assert ms(tx) == 30000
    # The transaction's value when it is the smaller one.
    tx2_context = ctx(statement_timeout=0.5)
    tx.commit()
    tx = backend.begin("read committed", False, tx2_context)
    assert ms(tx, timeout=10.0) == 500
    assert ms(tx) == 500
    tx.rollback()
    # No statement_timeout in the transaction's context: the session's
    # value (0 here) is restored after the call.
    tx = backend.begin("read committed", False, ctx(statement_timeout=0))
    assert 0 < ms(tx, timeout=20.0) <= 20000
    assert ms(tx) == 0
    # A statement past the deadline fails as a timeout (57014); rolling
    # back to the savepoint made before restores the transaction's value,
    # and the rest of the transaction (its COMMIT included) is unaffected.
    sp = tx.begin()
    with pytest.raises(psycopg.errors.QueryCanceled) as info:
        sp.execute([("SELECT to_jsonb(pg_sleep(60)::text)", [])],
                   ctx(timeout=0.2))
    assert info.value.sqlstate == "57014"
    sp.rollback()
    assert ms(tx) == 0
    assert tx.execute([("SELECT to_jsonb(2)", [])], ctx(timeout=30.0)) == [
        ["2"]]
    tx.commit()
    assert backend.execute(show, ctx(statement_timeout=0)) == [["0"]]


def test_commit_is_bounded_by_its_timeout(backend, db, schema_name):
    """A deferred trigger makes COMMIT slow: commit(timeout=...) cancels it
    (57014) and the transaction is rolled back."""
    db.execute(f"""
        CREATE TABLE IF NOT EXISTS "{SCHEMA}".t_slow_commit (id int);
        CREATE OR REPLACE FUNCTION "{SCHEMA}".slow_commit() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(120); RETURN NULL; END $$;
        DROP TRIGGER IF EXISTS slow_commit ON "{SCHEMA}".t_slow_commit;
        CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT
          ON "{SCHEMA}".t_slow_commit DEFERRABLE INITIALLY DEFERRED
          FOR EACH ROW EXECUTE FUNCTION "{SCHEMA}".slow_commit()""")
    tx = backend.begin("read committed", False, ctx(statement_timeout=0))
    tx.execute([(f'INSERT INTO "{SCHEMA}".t_slow_commit VALUES (1)', [])],
               ctx())
    with pytest.raises(psycopg.errors.QueryCanceled) as info:
        tx.commit(timeout=0.2)
    assert info.value.sqlstate == "57014"
    assert not tx.open
    assert db.execute(f'SELECT count(*) FROM "{SCHEMA}".t_slow_commit'
                      ).fetchone()[0] == 0
    # The connection came back healthy, without the bound.
    assert backend.execute([(
        "SELECT to_jsonb(current_setting('statement_timeout'))", [])],
        ctx(statement_timeout=0)) == [['"0"']]
    # Without a timeout (and a fast COMMIT) the commit is as before.
    tx = backend.begin("read committed", False, ctx())
    tx.execute([(f'INSERT INTO "{SCHEMA}".t_item VALUES (77, $1::text)',
                 [("x", "text")])], ctx())
    tx.commit(timeout=30.0)
    assert 77 in items(db)
    db.execute(f'DELETE FROM "{SCHEMA}".t_item WHERE id = 77')


def _terminate_and_wait(db, pid):
    """Ends the server process `pid` and waits until it is gone."""
    db.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + 60
    while db.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                     (pid,)).fetchone()[0]:
        assert time.monotonic() < deadline, "the server process stayed"
        time.sleep(0.01)


def _wait_self_terminated(db, marker):
    """Waits until no server process whose last statement holds `marker`
    (one that ended itself with pg_terminate_backend) is left."""
    deadline = time.monotonic() + 60
    while db.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                     "%s AND pid <> pg_backend_pid()",
                     (f"%{marker}%",)).fetchone()[0]:
        assert time.monotonic() < deadline, "the server process stayed"
        time.sleep(0.01)


SUICIDE = "pg_terminate_backend(pg_backend_pid())"


def test_a_lost_connection_is_a_connection_error_and_is_not_reused(
        backend, db):
    pid_sql = [("SELECT to_jsonb(pg_backend_pid())", [])]
    stats = backend._pool.get_stats
    # Dropped while idle in the pool, then used (max_size 1: the same one).
    for settings in (ctx(), ctx(statement_timeout=0)):
        ((pid,),) = backend.execute(pid_sql, settings)
        _terminate_and_wait(db, int(pid))
        bad = stats().get("returns_bad", 0)
        with pytest.raises(ConnectionError) as info:
            backend.execute(pid_sql, settings)
        assert isinstance(info.value.__cause__, psycopg.OperationalError)
        # Not given back to the pool as healthy: the next call has another.
        assert stats().get("returns_bad", 0) == bad + 1
        ((other,),) = backend.execute(pid_sql, ctx())
        assert other != pid
    # Dropped mid-statement: the statement ends its own server process.
    suicide = [(f"SELECT to_jsonb({SUICIDE})", [])]
    with pytest.raises(ConnectionError):
        backend.execute(suicide, ctx())
    _wait_self_terminated(db, SUICIDE)
    assert backend.execute([("SELECT to_jsonb(1)", [])], ctx()) == [["1"]]
    # In a transaction: the statement, then commit, raise ConnectionError;
    # rollback ends it quietly; the connection is discarded either way.
    for end in ("commit", "rollback"):
        tx = backend.begin("read committed", False, ctx())
        sp = tx.begin()
        with pytest.raises(ConnectionError):
            sp.execute(suicide, ctx(timeout=30.0))
        _wait_self_terminated(db, SUICIDE)
        if end == "commit":
            with pytest.raises(ConnectionError):
                tx.commit()
        else:
            tx.rollback()
        assert not sp.open
        assert backend.execute([("SELECT to_jsonb(1)", [])], ctx()) == [["1"]]
    tx = backend.begin("read committed", False, ctx())
    ((pid,),) = tx.execute(pid_sql, ctx())
    _terminate_and_wait(db, int(pid))
    with pytest.raises(ConnectionError):
        tx.begin()
    tx.rollback()
    assert backend.execute([("SELECT to_jsonb(1)", [])], ctx()) == [["1"]]


# --- Through the Repository ----------------------------------------------------

@pytest.fixture(scope="module")
def legacy(pool, fschema):
    return fn.Repository(pool, fschema, backend="legacy-psycopg",
                         cursor_secret="legacy-test")


def test_backend_is_registered():
    assert "legacy-psycopg" in fn.backends()
    assert "native" in fn.backends()


def test_find_through_the_repository_shows_the_float_defect(
        native, legacy, schema_name):
    view = f"{schema_name}.v_user"
    kw = dict(field="users", where={"id": user_id(50)},
              selection="id firstName balance")
    assert json.loads(native.find(view, **kw), parse_float=Decimal)[
        "data"]["users"][0]["balance"] == Decimal(BIG)
    assert BIG.encode() in native.find(view, **kw)
    body = legacy.find(view, **kw)
    assert json.loads(body)["data"]["users"][0]["balance"] == \
        12345678901234568.0
    assert BIG.encode() not in body
    # Elsewhere the same response.
    kw = dict(field="users", where={"age": {"lt": 5}},
              order_by=[{"id": "ASC"}], selection="id firstName age "
              "home: address { cityName }")
    assert json.loads(legacy.find(view, **kw)) == \
        json.loads(native.find(view, **kw))
    one = dict(field="user", where={"id": user_id(6)},
               selection="firstName lastName tags")
    assert legacy.find_one(view, **one) == native.find_one(view, **one)


def test_a_row_that_is_not_json_fails_its_root_field_as_native(
        pool, db, schema_name):
    db.execute(f'CREATE OR REPLACE VIEW "{schema_name}".v_broken AS '
               "SELECT 'not json'::text AS data")
    schema = fn.Schema()
    schema.add_view(f"{schema_name}.v_broken", "Broken", {"a": "Int"})
    bodies = [json.loads(fn.Repository(pool, schema, backend=name).find(
        f"{schema_name}.v_broken", field="b"))
        for name in ("native", "legacy-psycopg")]
    assert bodies[1]["data"] == bodies[0]["data"] == {"b": None}
    (native_error,), (legacy_error,) = (b["errors"] for b in bodies)
    assert legacy_error["path"] == native_error["path"] == ["b"]
    # The message names the backend; otherwise the same.
    assert legacy_error["message"].replace(
        "backend.legacy-psycopg", "backend.native") == native_error["message"]


def test_a_call_timeout_is_the_same_error_as_native(pool, db, schema_name):
    db.execute(f'CREATE OR REPLACE VIEW "{schema_name}".v_slow AS SELECT '
               "data FROM (SELECT pg_sleep(30), '{\"a\": 1}'::jsonb AS data) x")
    db.execute(f'CREATE OR REPLACE VIEW "{schema_name}".v_fast AS SELECT '
               "'{\"a\": 1}'::jsonb AS data")
    schema = fn.Schema()
    schema.add_view(f"{schema_name}.v_slow", "Slow", {"a": "Int"})
    schema.add_view(f"{schema_name}.v_fast", "Fast", {"a": "Int"})
    for name in ("native", "legacy-psycopg"):
        repo = fn.Repository(pool, schema, backend=name)
        with pytest.raises(fn.QueryTimeoutError):
            repo.find(f"{schema_name}.v_slow", field="s", timeout=0.3)
        with pytest.raises(fn.QueryTimeoutError):
            repo.count(f"{schema_name}.v_slow", timeout=0.3)
        # The connection came back usable.
        assert repo.count(f"{schema_name}.v_fast") == 1


def test_a_lost_connection_is_unavailable_as_native(pool, db, schema_name):
    """The server process ends mid-statement (the view ends it):
    DatabaseUnavailableError, and the next call has a healthy connection."""
    db.execute(f'CREATE OR REPLACE VIEW "{schema_name}".v_lost AS SELECT data '
               f"FROM (SELECT {SUICIDE}, "
               "'{\"a\": 1}'::jsonb AS data) x")
    db.execute(f'CREATE OR REPLACE VIEW "{schema_name}".v_fast AS SELECT '
               "'{\"a\": 1}'::jsonb AS data")
    schema = fn.Schema()
    schema.add_view(f"{schema_name}.v_lost", "Lost", {"a": "Int"})
    schema.add_view(f"{schema_name}.v_fast", "Fast", {"a": "Int"})
    repo = fn.Repository(pool, schema, backend="legacy-psycopg",
                         backend_options={"max_size": 1})
    assert repo.count(f"{schema_name}.v_fast") == 1
    for _ in range(2):
        with pytest.raises(fn.DatabaseUnavailableError):
            repo.find(f"{schema_name}.v_lost", field="l")
        _wait_self_terminated(db, "v_lost")
        assert repo.count(f"{schema_name}.v_fast") == 1
        with pytest.raises(fn.DatabaseUnavailableError):
            repo.count(f"{schema_name}.v_lost", timeout=30.0)
        _wait_self_terminated(db, "v_lost")
        assert repo.count(f"{schema_name}.v_fast") == 1


def test_value_calls_and_pagination(native, legacy, schema_name):
    view = f"{schema_name}.v_user"
    where = {"age": {"lt": 30}}
    assert legacy.count(view, where=where) == native.count(view, where=where)
    assert legacy.exists(view, where=where) is True
    assert legacy.sum(view, "age") == native.sum(view, "age")
    assert legacy.min(view, "createdAt") == native.min(view, "createdAt")
    assert legacy.distinct(view, "orgPath") == native.distinct(view, "orgPath")
    # sum of the balances: the float, not the exact decimal.
    assert native.sum(view, "balance") != legacy.sum(view, "balance")
    assert float(native.sum(view, "balance")) == float(
        legacy.sum(view, "balance"))
    kw = dict(field="users", first=5, order_by=[{"age": "DESC"}],
              selection="id age")
    page = json.loads(legacy.find(view, **kw))["data"]["users"]
    assert page == json.loads(native.find(view, **kw))["data"]["users"]
    after = page["pageInfo"]["endCursor"]
    assert json.loads(legacy.find(view, **kw, after=after)) == \
        json.loads(native.find(view, **kw, after=after))


def test_multi_root_execute(native, legacy, schema_name):
    import make_sample_traffic as mst
    q = {"roots": [
        mst.root("a", f"{schema_name}.v_user", is_list=False,
                 where={"id": user_id(2)},
                 selection=mst.sel("id", ("name", "firstName"))),
        mst.root("n", f"{schema_name}.v_post", operation="COUNT"),
        mst.root("p", f"{schema_name}.v_post", first=2,
                 order_by=[{"rating": "DESC"}], selection=mst.sel("id"))]}
    body = mst._query_bytes(q)
    assert json.loads(legacy.execute(body)) == json.loads(native.execute(body))


def test_context_reaches_the_statement_through_the_repository(legacy, native,
                                                              schema_name):
    import make_sample_traffic as mst
    mutation = dict(field="createAccount",
                    success_type="CreateAccountSuccess",
                    error_type="CreateAccountError", entity_field="account",
                    entity_type="Account",
                    context_args=["tenant_id", "user_id"],
                    success_selection="account { currentTenant createdBy }",
                    error_selection="code status")
    account = str(uuid.uuid4())
    body = json.loads(legacy.mutate(
        f"{schema_name}.create_account", {"id": account, "name": "n"},
        context={"tenant_id": mst.TENANT_B, "user_id": "bob"}, **mutation))
    assert body["data"]["createAccount"]["account"] == {
        "currentTenant": mst.TENANT_B, "createdBy": "bob"}
    # A second create of the same id: conflict, the error type.
    body = json.loads(legacy.mutate(
        f"{schema_name}.create_account", {"id": account, "name": "n"},
        context={"tenant_id": mst.TENANT_B, "user_id": "bob"}, **mutation))
    assert body["data"]["createAccount"] == {
        "code": 409, "status": "conflict:duplicate_id"}


def test_mutations_roll_back_on_error_status_and_raise(legacy, db,
                                                       schema_name):
    import make_sample_traffic as mst
    args = dict(field="c", success_type="S", error_type="E",
                entity_field="account", entity_type="Account",
                context_args=["tenant_id", "user_id"],
                error_selection="__typename code status")
    context = {"tenant_id": mst.TENANT_A, "user_id": "alice"}
    account = str(uuid.uuid4())
    body = json.loads(legacy.mutate(
        f"{schema_name}.create_account",
        {"id": account, "name": "x", "status": "validation:no"},
        context=context, **args))
    assert body == {"data": {"c": {"__typename": "E", "code": 422,
                                   "status": "validation:no"}}}
    with pytest.raises(fn.DatabaseError):
        legacy.mutate(f"{schema_name}.create_account",
                      {"id": account, "name": "raise"}, context=context,
                      **args)
    assert db.execute(f'SELECT count(*) FROM "{schema_name}".tb_account '
                      "WHERE id = %s", (account,)).fetchone()[0] == 0


def test_transactions_through_the_repository(legacy, db, schema_name):
    import make_sample_traffic as mst
    args = dict(field="c", success_type="S", error_type="E",
                entity_field="account", entity_type="Account",
                success_selection="status", error_selection="status")
    a, b = str(uuid.uuid4()), str(uuid.uuid4())

    def count(i):
        return db.execute(f'SELECT count(*) FROM "{schema_name}".tb_account '
                          "WHERE id = %s", (i,)).fetchone()[0]

    rename = f"{schema_name}.rename_account"
    with legacy.transaction(context={"tenant_id": mst.TENANT_A}) as tx:
        db.execute(f'INSERT INTO "{schema_name}".tb_account VALUES '
                   "(%s, %s, 'x', '{}')", (a, mst.TENANT_A))
        tx.mutate(rename, {"id": a, "name": "in tx"}, **args)
        assert json.loads(tx.find(f"{schema_name}.v_account", field="a",
                                  where={"id": a}, selection="name")) == {
            "data": {"a": [{"name": "in tx"}]}}
    assert db.execute(f'SELECT data->>\'name\' FROM "{schema_name}".tb_account '
                      "WHERE id = %s", (a,)).fetchone()[0] == "in tx"
    tx = legacy.transaction()
    db.execute(f'INSERT INTO "{schema_name}".tb_account VALUES '
               "(%s, %s, 'x', '{}')", (b, mst.TENANT_A))
    tx.mutate(rename, {"id": b, "name": "undone"}, **args)
    tx.rollback()
    assert db.execute(f'SELECT data FROM "{schema_name}".tb_account '
                      "WHERE id = %s", (b,)).fetchone()[0] == {}
    assert count(a) == 1


def test_a_failed_mutation_in_a_transaction_undoes_only_its_savepoint(
        legacy, db, schema_name):
    import make_sample_traffic as mst
    args = dict(field="c", success_type="S", error_type="E",
                entity_field="account", entity_type="Account",
                context_args=["tenant_id", "user_id"],
                success_selection="status", error_selection="status")
    kept, undone = str(uuid.uuid4()), str(uuid.uuid4())
    create = f"{schema_name}.create_account"
    with legacy.transaction(context={"tenant_id": mst.TENANT_A,
                                     "user_id": "carol"}) as tx:
        assert json.loads(tx.mutate(create, {"id": kept, "name": "k"},
                                    **args)) == {
            "data": {"c": {"status": "created"}}}
        assert json.loads(tx.mutate(
            create, {"id": undone, "name": "u", "status": "validation:x"},
            **args)) == {"data": {"c": {"status": "validation:x"}}}
    found = db.execute(
        f'SELECT id::text, created_by FROM "{schema_name}".tb_account '
        "WHERE id IN (%s, %s)", (kept, undone)).fetchall()
    assert found == [(kept, "carol")]
    audits = db.execute(
        f'SELECT action FROM "{schema_name}".tb_audit WHERE action IN '
        "(%s, %s)", (f"create {kept}", f"create {undone}")).fetchall()
    assert audits == [(f"create {kept}",)]


def test_unique_violation_maps_to_the_native_error_class(legacy, native, db,
                                                         schema_name):
    db.execute(f"""
        CREATE OR REPLACE FUNCTION "{schema_name}".dup_item(input_payload jsonb)
        RETURNS "{schema_name}".mutation_response LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO "{schema_name}".t_item VALUES (999, 'a');
          INSERT INTO "{schema_name}".t_item VALUES (999, 'b');
          RETURN ROW('created', '', NULL, NULL, NULL, NULL, NULL, NULL);
        END $$""")
    args = dict(success_type="S", error_type="E")
    errors = []
    for repo in (native, legacy):
        with pytest.raises(fn.Error) as info:
            repo.mutate(f"{schema_name}.dup_item", {}, **args)
        errors.append(info.value)
    assert type(errors[0]) is type(errors[1])
    assert errors[0].sqlstate == errors[1].sqlstate == "23505"


# --- The sample traffic, legacy vs native -------------------------------------


TRAFFIC = ROOT / "tests" / "fixtures" / "traffic" / "sample.jsonl"


def _rename_schema(value, old, new):
    """The recorded calls name the recording's schema; point them at ours."""
    if isinstance(value, str):
        return new + value[len(old):] if value.startswith(old + ".") else value
    if isinstance(value, list):
        return [_rename_schema(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _rename_schema(v, old, new) for k, v in value.items()}
    return value


def _encode_value(result):
    """{"value": result} as JSON, Decimals as exact JSON numbers."""
    def enc(v):
        if isinstance(v, Decimal):
            return str(v)
        if isinstance(v, list):
            return "[" + ",".join(enc(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ",".join(json.dumps(k) + ":" + enc(x)
                                  for k, x in v.items()) + "}"
        return json.dumps(v, ensure_ascii=False)
    return '{"value":' + enc(result) + "}"


def replay(primary, candidate, lines, rules):
    """Every call through both; returns (unexplained, explained-by-rule,
    calls)."""
    unexplained = []
    by_rule = {}
    for line in lines:
        results = []
        for repo in (primary, candidate):
            args = dict(line["args"])
            if line["call"] == "execute":
                import make_sample_traffic as mst
                args = {"query_definition": mst._query_bytes(args["query"])}
            try:
                out = getattr(repo, line["call"])(**args,
                                                  context=line.get("context"))
                results.append(("ok", out if isinstance(out, bytes)
                                else _encode_value(out)))
            except fn.Error as e:
                results.append((type(e).__name__, None))
        (po, pb), (co, cb) = results
        if po != line["outcome"]:
            unexplained.append((line, "primary outcome", po))
            continue
        if po != co:
            unexplained.append((line, "outcomes", (po, co)))
            continue
        if pb is None:
            continue
        comparison = fn.compare(pb, cb, rules=rules)
        for d in comparison.differences:
            if d.rule is None:
                unexplained.append((line, d.path, (d.primary, d.candidate)))
            else:
                by_rule[d.rule] = by_rule.get(d.rule, 0) + 1
    return unexplained, by_rule


def _normalized(path, schema_name):
    """The traffic's calls without what varies between recordings: timing,
    the schema's name, and cursors (signed over the view's name)."""
    out = []
    for text in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        line = json.loads(text)
        line.pop("latency_ms")
        line.pop("ts")
        line = _rename_schema(line, schema_name, "SCHEMA")
        for key in ("after", "before"):
            if key in line["args"]:
                line["args"][key] = "CURSOR"
        out.append(line)
    return out


def test_sample_traffic_differs_only_by_named_rules(pool, fschema,
                                                    schema_name, tmp_path):
    """Records the sample traffic again over this run's schema (cursors are
    signed over the view's name), checks it is the committed file's, then
    replays it through native and legacy-psycopg."""
    import make_sample_traffic as mst
    committed = _normalized(TRAFFIC, "traffic")
    assert len(committed) >= 500
    fresh = tmp_path / "traffic.jsonl"
    mst.record(os.environ["FRAISEQL_DATABASE_URL"], schema_name, fresh)
    assert _normalized(fresh, schema_name) == committed, (
        "tests/fixtures/traffic/sample.jsonl is stale: rerun "
        "make_sample_traffic.py")
    lines = [json.loads(l) for l in fresh.read_text().splitlines()]
    primary = fn.Repository(pool, fschema, cursor_secret=mst.CURSOR_SECRET)
    candidate = fn.Repository(pool, fschema, backend="legacy-psycopg",
                              cursor_secret=mst.CURSOR_SECRET)
    rules = [(name, rule["classifier"])
             for name, rule in lp.KNOWN_DIFFERENCES.items()]
    unexplained, by_rule = replay(primary, candidate, lines, rules)
    assert unexplained == []
    assert by_rule.get("legacy.float_numbers", 0) > 0
    assert set(by_rule) <= set(lp.KNOWN_DIFFERENCES)
