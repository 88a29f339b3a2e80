"""The connection pool through Python: default configuration sources, stats,
and recovery after the server drops every idle connection."""
import json
import threading
import uuid

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from servers import wait_until

COUNTERS = {"size", "idle", "in_use", "waiting", "acquired_total",
            "timeouts", "errors", "opened", "closed", "rejected",
            "health_check_failures", "retired"}


def _app_name(tag):
    return f"fql-pytest-pool-{tag}-{uuid.uuid4().hex[:8]}"


def _terminate(db_url, app_name):
    """Terminates every backend of `app_name` and waits until they are gone
    (pg_terminate_backend waits, up to a deadline only a hung server meets,
    until each has left the process array; then pg_stat_activity is polled);
    returns how many were terminated.

    Gone from pg_stat_activity alone is too early for the pool: a backend
    leaves pg_stat_activity before it closes its socket, and an idle
    connection taken in between passes the pool's liveness poll (its FATAL
    arrived, its end of stream not yet) and fails the call."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid, 60000) FROM pg_stat_activity "
            "WHERE application_name = %s", (app_name,)).fetchall()
        wait_until(lambda: conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (app_name,)).fetchone()[0] == 0,
            f"the terminated backends of {app_name} to go")
    return sum(1 for (terminated,) in rows if terminated)


def test_stats_report_every_counter(fn, db_url):
    pool = fn.Pool(db_url, min_size=2, max_size=3)
    stats = pool.stats()
    assert COUNTERS <= set(stats), COUNTERS - set(stats)
    assert all(type(stats[k]) is int for k in COUNTERS), stats
    assert stats["size"] == 2 and stats["idle"] == 2 and stats["opened"] == 2
    assert stats["in_use"] == 0 and stats["waiting"] == 0
    assert all(stats[k] == 0 for k in COUNTERS
               - {"size", "idle", "opened"}), stats


def test_url_defaults_to_fraiseql_database_url(fn, db_url, monkeypatch):
    monkeypatch.setenv("FRAISEQL_DATABASE_URL", db_url)
    app = _app_name("default")
    pool = fn.Pool(min_size=1, application_name=app)
    assert pool.stats()["opened"] == 1
    with psycopg.connect(db_url) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (app,)).fetchone()
    assert count == 1


def test_empty_url_falls_back_to_pg_environment(fn, db_url, monkeypatch):
    parts = conninfo_to_dict(db_url)
    for keyword, variable in (("host", "PGHOST"), ("port", "PGPORT"),
                              ("user", "PGUSER"), ("dbname", "PGDATABASE"),
                              ("password", "PGPASSWORD")):
        if parts.get(keyword):
            monkeypatch.setenv(variable, str(parts[keyword]))
    monkeypatch.delenv("FRAISEQL_DATABASE_URL", raising=False)
    app = _app_name("pgenv")
    pool = fn.Pool("", min_size=1, application_name=app)
    assert pool.stats()["opened"] == 1
    with psycopg.connect(db_url) as conn:
        (dbname,) = conn.execute(
            "SELECT datname FROM pg_stat_activity WHERE application_name = %s",
            (app,)).fetchone()
    assert dbname == parts["dbname"]


def test_queries_work_after_every_idle_backend_is_terminated(
        fn, db_url, schema, users):
    app = _app_name("restart")
    pool = fn.Pool(db_url, min_size=2, max_size=2, application_name=app)
    repo = fn.Repository(pool, schema)
    assert _terminate(db_url, app) == 2
    # No error surfaces: the dead idle connections are replaced on take.
    for _ in range(3):
        body = json.loads(repo.find(users, limit=3, selection="id"))
        assert len(body["data"]["v_user"]) == 3
    stats = pool.stats()
    assert stats["size"] <= 2 and stats["errors"] == 0
    assert stats["health_check_failures"] == 2


def test_bounded_wait_queue_rejects_at_once(fn, db_url, sample):
    key = uuid.uuid4().int % 2 ** 62
    view = f"{sample}.v_pool_held"
    with psycopg.connect(db_url, autocommit=True) as admin:
        # Waits for the lock the test holds: the holder keeps the only
        # connection until the test lets it go, however slow the machine.
        admin.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT '{{}}'::jsonb "
                      f"AS data FROM pg_advisory_xact_lock_shared({key})")
    schema = fn.Schema()
    schema.add_view(view, "Held", {"a": "Int"})
    pool = fn.Pool(db_url, max_size=1, max_waiters=0, acquire_timeout=5)
    repo = fn.Repository(pool, schema)
    held = []
    with psycopg.connect(db_url, autocommit=True) as locker:
        locker.execute("SELECT pg_advisory_lock(%s)", (key,))
        holder = threading.Thread(target=lambda: held.append(repo.find(view)))
        holder.start()
        wait_until(lambda: pool.stats()["in_use"] == 1,
                   "the holder to take the only connection")
        # Refused, not queued: a queued call would wait out acquire_timeout
        # (the holder cannot finish) and raise PoolTimeoutError instead.
        with pytest.raises(fn.PoolExhaustedError) as e:
            repo.find(view)
        during = pool.stats()
        locker.execute("SELECT pg_advisory_unlock(%s)", (key,))
    assert "max_waiters=0" in str(e.value), str(e.value)
    assert during["rejected"] == 1 and during["timeouts"] == 0, during
    assert during["waiting"] == 0 and during["in_use"] == 1, during
    holder.join(60)
    assert not holder.is_alive(), "the holder hung"
    assert held and json.loads(held[0])
    stats = pool.stats()
    assert stats["rejected"] == 1 and stats["in_use"] == 0, stats


def test_invalid_new_options_are_rejected(fn, db_url):
    with pytest.raises(Exception, match="idle_timeout"):
        fn.Pool(db_url, idle_timeout=0.0)
    with pytest.raises(Exception, match="max_waiters"):
        fn.Pool(db_url, max_waiters=-1)


def test_settings_reach_every_connection(fn, db_url, schema):
    pool = fn.Pool(db_url, max_size=2,
                   settings={"plan_cache_mode": "force_generic_plan",
                             "work_mem": "5MB"})
    repo = fn.Repository(pool, schema)
    rows = repo.run("SELECT current_setting('plan_cache_mode') AS mode, "
                    "current_setting('work_mem') AS mem, "
                    "current_setting('TimeZone') AS tz")
    assert rows == [{"mode": "force_generic_plan", "mem": "5MB",
                     "tz": "UTC"}]


@pytest.mark.parametrize("settings,message", [
    ({"TimeZone": "Europe/Paris"}, "TimeZone is pinned by the pool"),
    ({"work mem": "5MB"}, "is not a setting name"),
    ({"work_mem": 5}, None),
])
def test_bad_settings_are_refused(fn, db_url, settings, message):
    with pytest.raises((fn.InvalidInputError, TypeError)) as raised:
        fn.Pool(db_url, settings=settings)
    if message is not None:
        assert message in str(raised.value)
