"""The connection pool through Python: default configuration sources, stats,
and recovery after the server drops every idle connection."""
import json
import uuid

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

BASE_STATS = {"size", "idle", "in_use", "waiting", "acquired_total",
              "timeouts", "errors", "opened", "closed"}
NEW_STATS = {"rejected", "health_check_failures", "retired"}


def _app_name(tag):
    return f"fql-pytest-pool-{tag}-{uuid.uuid4().hex[:8]}"


def _terminate(db_url, app_name):
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE application_name = %s", (app_name,)).fetchall()
    return len(rows)


def test_stats_report_every_counter(fn, db_url):
    pool = fn.Pool(db_url, min_size=2, max_size=3)
    stats = pool.stats()
    assert BASE_STATS <= set(stats)
    assert stats["size"] == 2 and stats["idle"] == 2 and stats["opened"] == 2
    assert stats["in_use"] == 0 and stats["waiting"] == 0
    if NEW_STATS <= set(stats):
        assert all(stats[k] == 0 for k in NEW_STATS)


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
    import threading
    import time
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(f"CREATE OR REPLACE VIEW {sample}.v_pool_sleep AS "
                      "SELECT '{}'::jsonb AS data FROM pg_sleep(1)")
    schema = fn.Schema()
    schema.add_view(f"{sample}.v_pool_sleep", "Sleep", {"a": "Int"})
    pool = fn.Pool(db_url, max_size=1, max_waiters=0, acquire_timeout=5)
    repo = fn.Repository(pool, schema)
    holder = threading.Thread(target=repo.find, args=(f"{sample}.v_pool_sleep",))
    holder.start()
    deadline = time.monotonic() + 5
    while pool.stats()["in_use"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.stats()["in_use"] == 1
    start = time.monotonic()
    with pytest.raises(fn.PoolExhaustedError) as e:
        repo.find(f"{sample}.v_pool_sleep")
    assert time.monotonic() - start < 0.5  # refused, not queued
    assert "max_waiters" in str(e.value)
    holder.join(10)
    assert not holder.is_alive()
    stats = pool.stats()
    assert stats["rejected"] == 1 and stats["in_use"] == 0


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
