"""Failover (issue 4, replicas: "a primary change is followed"): a pool over
the multi-host URL primary,standby with target_session_attrs=read-write
follows the primary when the standby is promoted and the old primary stops.

Calls first land on the old primary; after the promotion and the stop at most
a couple of calls fail, only with DatabaseUnavailableError (none hangs: each
call runs in a thread joined within a deadline that only a hung call misses);
then calls land on the new primary (inet_server_port() through a view).

This test stops the shared embedded server (ci/postgres), so it only runs when
FRAISEQL_DATABASE_URL is this checkout's running ci/postgres server. Whatever
happens it restores it: the old primary is started again, the promoted
standby is rebuilt (`ci/postgres standby start` recreates a promoted standby)
and stopped again unless it ran before the test.
"""
import json
import os
import signal
import threading
import uuid

import psycopg
import pytest
from servers import ROOT, ci_postgres, ci_postgres_ok, port_of, wait_until

POSTMASTER_PID = ROOT / ".pg" / "data" / "postmaster.pid"
SCHEMA = f"fql_pytest_failover_{os.getpid()}"
MAX_FAILED_CALLS = 2   # after the switch, before a call lands on the new primary
HUNG_S = 60.0          # a call still running after this is hung (acquire 3 s,
                       # connect 2 s)


def answers(url):
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            return conn.execute("SELECT 1").fetchone()[0] == 1
    except psycopg.OperationalError:
        return False


def stop_primary_only():
    """Fast shutdown of the primary alone (`ci/postgres stop` would stop the
    standby first): SIGINT to its postmaster, as `pg_ctl stop -m fast`."""
    pid = int(POSTMASTER_PID.read_text().splitlines()[0])
    os.kill(pid, signal.SIGINT)
    wait_until(lambda: ci_postgres("status").returncode != 0,
               "the old primary to stop")


def _app():
    return f"fql-pytest-failover-{uuid.uuid4().hex[:8]}"


def within_deadline(f):
    """f()'s result, or its exception raised here; fails the test if f() is
    still running after HUNG_S."""
    done = {}

    def run():
        try:
            done["value"] = f()
        except BaseException as e:  # noqa: BLE001 - raised below
            done["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(HUNG_S)
    assert not t.is_alive(), f"the call hung (> {HUNG_S}s)"
    if "error" in done:
        raise done["error"]
    return done["value"]


def which_server(repo):
    body = json.loads(repo.find(f"{SCHEMA}.v_server", field="server",
                                selection="standby port"))
    (row,) = body["data"]["server"]
    return row


def test_read_write_pool_follows_a_promoted_standby(fn, db_url):
    if ci_postgres("status").returncode != 0 or \
            port_of(ci_postgres_ok("url")) != port_of(db_url):
        pytest.skip("FRAISEQL_DATABASE_URL is not the running ci/postgres server")
    standby_was_running = ci_postgres("standby", "status").returncode == 0
    primary = ci_postgres_ok("url")
    promoted = False
    try:
        standby = ci_postgres_ok("standby", "start")
        multi = ci_postgres_ok("replica-url")
        pport, sport = port_of(primary), port_of(standby)
        assert pport != sport

        # A view telling which server answers, replicated to the standby.
        with psycopg.connect(primary, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
            conn.execute(f"""
                CREATE VIEW "{SCHEMA}".v_server AS
                SELECT md5('server')::uuid AS id,
                       jsonb_build_object('id', md5('server')::uuid,
                                          'standby', pg_is_in_recovery(),
                                          'port', inet_server_port()) AS data""")

        def replicated():
            with psycopg.connect(standby, connect_timeout=3) as conn:
                return conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                                    (f'"{SCHEMA}".v_server',)).fetchone()[0]
        wait_until(replicated, "the view to reach the standby")

        registry = fn.Schema()
        registry.add_view(f"{SCHEMA}.v_server", "Server",
                          {"id": "UUID", "standby": "Boolean", "port": "Int"},
                          columns={"id": "uuid", "data": "jsonb"})
        # Two pools: the default ping of connections idle for 1 s, and none
        # (then only the pool's cheap liveness poll on acquire can notice the
        # closed connection of the stopped server before a call uses it).
        pools = {
            "checked": fn.Pool(multi + "?target_session_attrs=read-write",
                               min_size=0, max_size=2, acquire_timeout=3,
                               connect_timeout=2, application_name=_app()),
            "unchecked": fn.Pool(multi + "?target_session_attrs=read-write",
                                 min_size=0, max_size=2, acquire_timeout=3,
                                 connect_timeout=2, application_name=_app(),
                                 health_check_after_idle=3600),
        }
        repos = {k: fn.Repository(p, registry) for k, p in pools.items()}
        old = {"standby": False, "port": pport}
        new = {"standby": False, "port": sport}

        # 1. On the old primary.
        for repo in repos.values():
            for _ in range(3):
                assert which_server(repo) == old

        # 2. The standby is promoted: two read-write servers for a moment;
        #    the pools stay on the old one (first in the URL, still writable).
        promoted = True
        ci_postgres_ok("standby", "promote")
        with psycopg.connect(standby, connect_timeout=3) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
        for repo in repos.values():
            assert which_server(repo) == old

        # 3. The old primary stops: a few calls may fail (only as
        #    DatabaseUnavailableError, none hanging), then the new primary
        #    answers.
        stop_primary_only()
        for name, repo in repos.items():
            failures, landed = [], None
            while landed is None:
                try:
                    landed = within_deadline(lambda: which_server(repo))
                except fn.DatabaseUnavailableError as e:
                    failures.append(e)
                assert len(failures) <= MAX_FAILED_CALLS, \
                    (name, [str(e) for e in failures])
            assert landed == new, (name, landed)
            assert all(e.code == "UNAVAILABLE" for e in failures), name
            for _ in range(3):
                assert which_server(repo) == new
            stats = pools[name].stats()
            assert stats["in_use"] == 0 and stats["waiting"] == 0, (name, stats)
            print(f"failover ({name} pool): {len(failures)} failed call(s) "
                  f"{[(type(e).__name__, str(e)[:120]) for e in failures]}; "
                  f"stats {stats}")
    finally:
        restore(primary, standby_was_running, promoted)


def restore(primary, standby_was_running, promoted):
    """The old primary running again (with the test schema dropped), the
    promoted standby rebuilt, and the standby left running only if it ran
    before."""
    if ci_postgres("status").returncode != 0:
        ci_postgres_ok("start")
    wait_until(lambda: ci_postgres("status").returncode == 0 and answers(primary),
               "the old primary to run again", 60)
    with psycopg.connect(primary, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
    if promoted or standby_was_running:
        ci_postgres_ok("standby", "start")  # recreates a promoted standby
    if not standby_was_running:
        ci_postgres_ok("standby", "stop")
    wait_until(lambda: ci_postgres("status").returncode == 0 and answers(primary),
               "the primary to answer", 60)
