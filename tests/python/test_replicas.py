"""Replicas: a pool over a multi-host URL (libpq `target_session_attrs`) with a
streaming standby of the embedded server on loopback (`ci/postgres standby`).

These tests always run against the embedded server of this checkout (the
standby is a copy of it), whatever FRAISEQL_DATABASE_URL names. Nothing is
skipped: if the standby cannot be started, the tests fail with the reason.
The standby is stopped afterwards unless it already ran before (then it is
someone else's and is left as found).
"""
import json
import os
import threading
import uuid

import psycopg
import pytest
from servers import ci_postgres as run_ci_postgres
from servers import ci_postgres_ok as ci_postgres, port_of, wait_until

SCHEMA = f"fql_pytest_replica_{os.getpid()}"
DEADLINE_S = 60.0  # a reader thread still running after this is hung


@pytest.fixture(scope="module")
def servers():
    """(primary URL, standby URL, multi-host URL) with the standby running
    and caught up."""
    was_running = run_ci_postgres("standby", "status").returncode == 0
    standby = ci_postgres("standby", "start")  # also starts the primary
    primary = ci_postgres("url")
    multi = ci_postgres("replica-url")
    assert port_of(standby) != port_of(primary)
    with psycopg.connect(standby) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
    yield primary, standby, multi
    if not was_running:
        ci_postgres("standby", "stop")


@pytest.fixture(scope="module")
def replica_schema(servers):
    """On the primary: a view telling which server answered, and a table to
    write to; waits until both have replicated to the standby."""
    primary, standby, _ = servers
    with psycopg.connect(primary, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        conn.execute(f"""
            CREATE VIEW "{SCHEMA}".v_server AS
            SELECT md5('server')::uuid AS id,
                   jsonb_build_object('id', md5('server')::uuid,
                                      'standby', pg_is_in_recovery(),
                                      'port', inet_server_port()) AS data""")
        conn.execute(f"""
            CREATE TABLE "{SCHEMA}".tb_note (
                id uuid PRIMARY KEY, data jsonb NOT NULL)""")
        conn.execute(f"""
            CREATE VIEW "{SCHEMA}".v_note AS
            SELECT id, data FROM "{SCHEMA}".tb_note""")

    def replicated():
        with psycopg.connect(standby) as conn:
            return conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL",
                (f'"{SCHEMA}".v_note',)).fetchone()[0]
    wait_until(replicated, "the test schema to reach the standby")
    yield SCHEMA
    with psycopg.connect(primary, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


@pytest.fixture(scope="module")
def replica_registry(fn, replica_schema):
    schema = fn.Schema()
    schema.add_view(f"{replica_schema}.v_server", "Server",
                    {"id": "UUID", "standby": "Boolean", "port": "Int"},
                    columns={"id": "uuid", "data": "jsonb"})
    schema.add_view(f"{replica_schema}.v_note", "Note",
                    {"id": "UUID", "text": "String"},
                    columns={"id": "uuid", "data": "jsonb"})
    return schema


def repo_for(fn, registry, url, max_size=2):
    pool = fn.Pool(url, min_size=0, max_size=max_size, acquire_timeout=10,
                   connect_timeout=10, application_name="fql-test-replicas")
    return pool, fn.Repository(pool, registry)


def which_server(repo):
    body = json.loads(repo.find(f"{SCHEMA}.v_server", field="server",
                                selection="standby port"))
    (row,) = body["data"]["server"]
    return row


def test_standby_is_a_hot_standby_of_the_primary(servers):
    primary, standby, multi = servers
    with psycopg.connect(primary) as p, psycopg.connect(standby) as s:
        assert p.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        assert (p.execute("SELECT system_identifier FROM pg_control_system()")
                .fetchone() ==
                s.execute("SELECT system_identifier FROM pg_control_system()")
                .fetchone())
    assert multi == (f"postgresql://postgres@127.0.0.1:{port_of(primary)},"
                     f"127.0.0.1:{port_of(standby)}/fraiseql")


def test_standby_start_is_idempotent(servers):
    _, standby, _ = servers
    assert ci_postgres("standby", "start") == standby
    assert ci_postgres("standby", "url") == standby


def test_prefer_standby_reads_land_on_the_standby(fn, servers, replica_registry):
    _, standby, multi = servers
    pool, repo = repo_for(fn, replica_registry,
                          multi + "?target_session_attrs=prefer-standby")
    for _ in range(5):
        assert which_server(repo) == {"standby": True, "port": port_of(standby)}
    stats = pool.stats()
    assert stats["errors"] == 0 and stats["opened"] >= 1


def test_prefer_standby_from_many_threads(fn, servers, replica_registry):
    _, standby, multi = servers
    pool, repo = repo_for(fn, replica_registry,
                          multi + "?target_session_attrs=prefer-standby",
                          max_size=3)
    seen, errors = [], []

    def worker():
        try:
            for _ in range(20):
                seen.append(which_server(repo))
        except Exception as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S)
    assert not any(t.is_alive() for t in threads), "a reader hung"
    assert errors == []
    assert len(seen) == 80
    assert all(s == {"standby": True, "port": port_of(standby)} for s in seen)
    assert pool.stats()["size"] <= 3


def test_read_write_lands_on_the_primary(fn, servers, replica_registry):
    primary, _, multi = servers
    _, repo = repo_for(fn, replica_registry,
                       multi + "?target_session_attrs=read-write")
    for _ in range(5):
        assert which_server(repo) == {"standby": False, "port": port_of(primary)}


def test_read_write_is_found_whatever_the_host_order(fn, servers,
                                                     replica_registry):
    primary, standby, _ = servers
    reversed_url = (f"postgresql://postgres@127.0.0.1:{port_of(standby)},"
                    f"127.0.0.1:{port_of(primary)}/fraiseql"
                    "?target_session_attrs=read-write")
    _, repo = repo_for(fn, replica_registry, reversed_url)
    assert which_server(repo) == {"standby": False, "port": port_of(primary)}


def test_read_write_without_a_primary_is_a_clear_error(fn, servers,
                                                       replica_registry):
    _, standby, _ = servers
    pool, repo = repo_for(
        fn, replica_registry,
        f"postgresql://postgres@127.0.0.1:{port_of(standby)}/fraiseql"
        "?target_session_attrs=read-write")
    with pytest.raises(fn.DatabaseUnavailableError) as info:
        which_server(repo)
    # libpq's reason, naming the host that was tried.
    message = str(info.value)
    assert "read-only" in message and str(port_of(standby)) in message, message
    # The pool is still usable (and empty: nothing dirty kept).
    assert pool.stats()["in_use"] == 0


def test_write_on_primary_becomes_visible_through_standby_pool(
        fn, servers, replica_registry):
    primary, standby, multi = servers
    _, reader = repo_for(fn, replica_registry,
                         multi + "?target_session_attrs=prefer-standby")
    _, writer_view = repo_for(fn, replica_registry,
                              multi + "?target_session_attrs=read-write")
    assert which_server(reader)["standby"] is True
    note_id = str(uuid.uuid4())
    text = f"note {note_id}"
    with psycopg.connect(primary, autocommit=True) as conn:
        conn.execute(
            f'INSERT INTO "{SCHEMA}".tb_note (id, data) '
            "VALUES (%s, jsonb_build_object('id', %s::text, 'text', %s::text))",
            (note_id, note_id, text))

    def read(repo):
        body = json.loads(repo.find(f"{SCHEMA}.v_note", field="notes",
                                    where={"id": {"eq": note_id}},
                                    selection="id text"))
        return body["data"]["notes"]

    # On the primary at once; on the standby once replayed (polled).
    assert read(writer_view) == [{"id": note_id, "text": text}]
    rows = wait_until(lambda: read(reader),
                      "the write to become visible on the standby")
    assert rows == [{"id": note_id, "text": text}]
    assert which_server(reader)["standby"] is True
