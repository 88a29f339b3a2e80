"""The module through PgBouncer in transaction pooling mode (`ci/pgbouncer`, in
front of the embedded server): results identical to a direct connection, from
several Python threads over a small pool.

These tests use the embedded server of this checkout (PgBouncer fronts it),
whatever FRAISEQL_DATABASE_URL names, with sample data of their own. Nothing is
skipped: if PgBouncer cannot be started, the tests fail with the reason.
PgBouncer is stopped afterwards unless it already ran before.
"""
import json
import os
import pathlib
import subprocess
import threading
from urllib.parse import urlsplit

import psycopg
import pytest

from sample_registry import register_sample

ROOT = pathlib.Path(__file__).resolve().parents[2]
CI = ROOT / "ci"
SCHEMA = f"fql_pytest_bouncer_{os.getpid()}"
ROWS = 200
JOIN_TIMEOUT_S = 60.0


def run_ci(*args, timeout=180):
    proc = subprocess.run([str(CI / args[0]), *args[1:]], capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"`ci/{' '.join(args)}` failed (exit {proc.returncode}):\n"
                    f"{proc.stderr}{proc.stdout}")
    lines = proc.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def psql(url, sql):
    """Simple-protocol query (the PgBouncer admin console needs it)."""
    return subprocess.run(["/usr/bin/psql", "-X", "-tA", "-F", "|", "-d", url,
                           "-c", sql], capture_output=True, text=True,
                          check=True, timeout=30).stdout


@pytest.fixture(scope="module")
def urls():
    """(direct URL, PgBouncer URL), with this module's sample schema loaded."""
    was_running = subprocess.run([str(CI / "pgbouncer"), "status"],
                                 capture_output=True).returncode == 0
    bouncer = run_ci("pgbouncer", "start")  # also starts the embedded server
    direct = run_ci("postgres", "url")
    run_ci("sample-data", "--rows", str(ROWS), "--schema", SCHEMA,
           "--url", direct)
    yield direct, bouncer
    with psycopg.connect(direct, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
    if not was_running:
        run_ci("pgbouncer", "stop")


@pytest.fixture(scope="module")
def registry(fn, urls):
    schema = register_sample(fn, SCHEMA)
    # Which server backend answered: shows transaction pooling at work.
    direct, _ = urls
    with psycopg.connect(direct, autocommit=True) as conn:
        conn.execute(f"""
            CREATE VIEW "{SCHEMA}".v_backend AS
            SELECT md5('backend')::uuid AS id,
                   jsonb_build_object('id', md5('backend')::uuid,
                                      'pid', pg_backend_pid()) AS data""")
    schema.add_view(f"{SCHEMA}.v_backend", "Backend",
                    {"id": "UUID", "pid": "Int"},
                    columns={"id": "uuid", "data": "jsonb"})
    return schema


@pytest.fixture(scope="module")
def user_ids(urls):
    direct, _ = urls
    with psycopg.connect(direct) as conn:
        return [str(r[0]) for r in conn.execute(
            f'SELECT id FROM "{SCHEMA}".tb_user ORDER BY id')]


def make_repo(fn, registry, url, max_size, **repo_kwargs):
    pool = fn.Pool(url, min_size=0, max_size=max_size, acquire_timeout=20,
                   connect_timeout=10, application_name="fql-test-pgbouncer")
    return pool, fn.Repository(pool, registry, **repo_kwargs)


def queries(user_ids):
    """(method, args, kwargs) calls covering find, find_one, count, exists and
    a connection, with parameters of several types."""
    users = f"{SCHEMA}.v_user"
    calls = []
    for i, uid in enumerate(user_ids[:12]):
        calls.append(("find", (users,), dict(
            field="user", where={"id": {"eq": uid}},
            selection="id firstName lastName age balance address { cityName }")))
        calls.append(("find", (users,), dict(
            field="users", where={"age": {"gte": 20 + i, "lt": 60}},
            order_by=[{"age": "DESC"}, {"id": "ASC"}], limit=10,
            selection="id age email")))
        calls.append(("count", (users,), dict(
            where={"age": {"gte": 20 + i}})))
    calls.append(("find_one", (users,), dict(
        where={"id": {"eq": user_ids[0]}}, selection="id email")))
    calls.append(("exists", (users,), dict(where={"age": {"gt": 1000}})))
    calls.append(("find", (users,), dict(
        field="page", first=5, total_count=True, order_by=[{"id": "ASC"}],
        selection="id email")))
    return calls


def run_call(repo, call):
    method, args, kwargs = call
    return getattr(repo, method)(*args, **kwargs)


@pytest.fixture(scope="module")
def expected(fn, registry, urls, user_ids):
    direct, _ = urls
    _, repo = make_repo(fn, registry, direct, max_size=2)
    calls = queries(user_ids)
    return calls, [run_call(repo, c) for c in calls]


def test_pgbouncer_is_in_transaction_mode_with_pinned_settings(urls):
    _, bouncer = urls
    admin = bouncer.rsplit("/", 1)[0] + "/pgbouncer"
    config = dict(line.split("|")[:2]
                  for line in psql(admin, "SHOW CONFIG").splitlines()
                  if "|" in line)
    assert config["pool_mode"] == "transaction"
    assert urlsplit(bouncer).hostname == "127.0.0.1"
    assert urlsplit(bouncer).port == int(config["listen_port"])
    settings = psql(bouncer, "SELECT current_setting('TimeZone'), "
                    "current_setting('DateStyle'), "
                    "current_setting('IntervalStyle'), "
                    "current_setting('extra_float_digits')").strip()
    assert settings == "UTC|ISO, YMD|postgres|1"


def test_results_through_pgbouncer_equal_direct(fn, registry, urls, expected):
    _, bouncer = urls
    calls, want = expected
    pool, repo = make_repo(fn, registry, bouncer, max_size=2)
    got = [run_call(repo, c) for c in calls]
    assert got == want
    # Sanity: the expectations are real results, not empty ones.
    assert json.loads(want[0])["data"]["user"][0]["id"]
    assert len(json.loads(want[1])["data"]["users"]) == 10
    stats = pool.stats()
    assert stats["errors"] == 0 and stats["in_use"] == 0


def test_many_threads_small_pool_through_pgbouncer(fn, registry, urls, expected):
    _, bouncer = urls
    calls, want = expected
    pool, repo = make_repo(fn, registry, bouncer, max_size=2)
    mismatches, errors = [], []

    def worker(offset):
        try:
            for n in range(60):
                k = (offset * 7 + n) % len(calls)
                result = run_call(repo, calls[k])
                if result != want[k]:
                    mismatches.append((calls[k], result))
        except Exception as e:  # reported below
            errors.append(repr(e))
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a call hung"
    assert errors == []
    assert mismatches == []
    stats = pool.stats()
    assert stats["size"] <= 2
    assert stats["in_use"] == 0 and stats["errors"] == 0
    assert stats["acquired_total"] >= 360


def test_server_connections_are_shared_between_clients(fn, registry, urls):
    """Two pools of one connection each, used in turn: in transaction mode
    PgBouncer hands a released server connection to the other client, so
    some backend serves both (each client connection sees several backends
    or the same backend as the other one)."""
    _, bouncer = urls
    repos = [make_repo(fn, registry, bouncer, max_size=1)[1] for _ in range(2)]
    seen = [set(), set()]
    for _ in range(20):
        for i, repo in enumerate(repos):
            body = json.loads(repo.find(f"{SCHEMA}.v_backend", field="b",
                                        selection="pid"))
            seen[i].add(body["data"]["b"][0]["pid"])
    assert seen[0] & seen[1], seen


# --- PgBouncer mode of the Repository -------------------------------------
# Repository(..., pgbouncer=True) prepares no named statement: under
# PgBouncer 1.18 transaction pooling, consecutive transactions of one client
# may run on different server connections, where a statement prepared on
# one does not exist.

@pytest.fixture(scope="module")
def prepared_probe(fn, urls):
    """A view over the named prepared statements of the session that runs
    it, limited to those that name the view itself: a call that ran it as a
    named statement finds its own statement there."""
    direct, _ = urls
    view = f'"{SCHEMA}".v_prepared'
    with psycopg.connect(direct, autocommit=True) as conn:
        conn.execute(f"""
            CREATE VIEW {view} AS
            SELECT md5(name)::uuid AS id,
                   jsonb_build_object('id', md5(name)::uuid,
                                      'statement', statement) AS data
            FROM pg_prepared_statements
            WHERE statement LIKE '%"{SCHEMA}"."v_prepared"%'""")
    schema = fn.Schema()
    schema.add_view(f"{SCHEMA}.v_prepared", "Prepared",
                    {"id": "UUID", "statement": "String"},
                    columns={"id": "uuid", "data": "jsonb"})
    return schema


def prepared_statements_seen(repo, times=5):
    """The named statements naming v_prepared that its calls saw."""
    return [r["statement"] for _ in range(times)
            for r in json.loads(repo.find(f"{SCHEMA}.v_prepared", field="p",
                                          selection="statement"))["data"]["p"]]


def test_pgbouncer_mode_prepares_no_statement(fn, urls, prepared_probe):
    direct, bouncer = urls
    # Directly, so that no PgBouncer server connection keeps the statement:
    # the default Repository runs a repeated shape as a named statement
    # (the probe can see one) ...
    pool = fn.Pool(direct, min_size=0, max_size=1, acquire_timeout=20)
    assert prepared_statements_seen(fn.Repository(pool, prepared_probe))
    # ... and pgbouncer=True does not, directly or through PgBouncer.
    for url in (direct, bouncer):
        pool = fn.Pool(url, min_size=0, max_size=1, acquire_timeout=20)
        repo = fn.Repository(pool, prepared_probe, pgbouncer=True)
        assert prepared_statements_seen(repo) == [], url


def test_repository_pgbouncer_mode(fn, registry, urls, expected):
    _, bouncer = urls
    calls, want = expected
    pool = fn.Pool(bouncer, min_size=0, max_size=2, acquire_timeout=20)
    repo = fn.Repository(pool, registry, pgbouncer=True)
    errors = []

    def worker(offset):
        try:
            for n in range(40):
                k = (offset * 5 + n) % len(calls)
                assert run_call(repo, calls[k]) == want[k], calls[k]
        except Exception as e:  # reported below
            errors.append(repr(e))
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a call hung"
    assert errors == []
    # Repeated shapes stay correct (a statement cache, if any, must not leak
    # across PgBouncer's server connections).
    for call, result in zip(calls, want):
        assert run_call(repo, call) == result
    assert pool.stats()["errors"] == 0
