"""Query execution through Python: per-call timeout (client deadline and
server statement_timeout), request context (tenant, user, app.* variables)
visible to the statement and never to the next user of the connection,
row-level filtering through current_setting, prepared statements and the
PgBouncer mode."""
import json
import os

import psycopg
import pytest

SCHEMA = f"fql_pytest_exec_{os.getpid()}"


@pytest.fixture(scope="module")
def exec_schema(fn, db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        conn.execute(f"""
            CREATE VIEW "{SCHEMA}".v_slow AS
              SELECT data FROM (SELECT pg_sleep(2), '{{"a":1}}'::jsonb AS data) x;
            CREATE VIEW "{SCHEMA}".v_ctx AS
              SELECT jsonb_build_object(
                'tenant', current_setting('app.tenant_id', true),
                'user', current_setting('app.user_id', true),
                'locale', current_setting('app.locale', true)) AS data;
            CREATE TABLE "{SCHEMA}".item (
              id int PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL);
            INSERT INTO "{SCHEMA}".item VALUES
              (1, 'acme', 'anvil'), (2, 'acme', 'rocket'), (3, 'globex', 'lamp');
            CREATE VIEW "{SCHEMA}".v_item AS
              SELECT id, jsonb_build_object('id', id, 'name', name) AS data
              FROM "{SCHEMA}".item
              WHERE tenant_id = current_setting('app.tenant_id', true);
        """)
    schema = fn.Schema()
    schema.add_view(f"{SCHEMA}.v_slow", "Slow", {"a": "Int"})
    schema.add_view(f"{SCHEMA}.v_ctx", "Ctx",
                    {"tenant": "String", "user": "String", "locale": "String"})
    schema.add_view(f"{SCHEMA}.v_item", "Item", {"id": "Int", "name": "String"},
                    columns={"id": "integer", "data": "jsonb"})
    yield schema
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


@pytest.fixture
def one_conn_repo(fn, db_url, exec_schema):
    """A repository over a pool of one connection: consecutive calls are
    two users of the same server session."""
    pool = fn.Pool(db_url, max_size=1, acquire_timeout=5)
    return pool, fn.Repository(pool, exec_schema)


def rows(body, field):
    return json.loads(body)["data"][field]


def test_timeout_raises_query_timeout_error_and_pool_stays_healthy(
        fn, one_conn_repo):
    pool, repo = one_conn_repo
    # v_slow sleeps 2 s: without the timeout the call would return its row.
    with pytest.raises(fn.QueryTimeoutError) as info:
        repo.find(f"{SCHEMA}.v_slow", field="slow", timeout=0.3)
    assert isinstance(info.value, TimeoutError)
    assert not isinstance(info.value, fn.PoolTimeoutError)
    assert info.value.code == "DEADLINE_EXCEEDED"
    assert "deadline" in str(info.value) or "statement_timeout" in str(info.value)
    stats = pool.stats()
    assert stats["in_use"] == 0
    # The same (only) connection, or a fresh one, answers the next call.
    assert repo.count(f"{SCHEMA}.v_ctx") == 1
    assert repo.find(f"{SCHEMA}.v_slow", field="slow", timeout=60) == \
        b'{"data":{"slow":[{"a":1}]}}'


def test_timeout_on_value_operations(fn, one_conn_repo):
    _, repo = one_conn_repo
    with pytest.raises(fn.QueryTimeoutError):
        repo.count(f"{SCHEMA}.v_slow", timeout=0.2)
    assert repo.exists(f"{SCHEMA}.v_ctx") is True


def test_invalid_timeout_is_value_error(one_conn_repo):
    _, repo = one_conn_repo
    with pytest.raises(ValueError):
        repo.count(f"{SCHEMA}.v_ctx", timeout=0)


def test_context_reaches_the_query(one_conn_repo):
    _, repo = one_conn_repo
    body = repo.find(f"{SCHEMA}.v_ctx", field="ctx",
                     context={"tenant_id": "acme", "user_id": 42,
                              "app.locale": "de_DE"})
    assert rows(body, "ctx") == [{"tenant": "acme", "user": "42",
                                  "locale": "de_DE"}]


def test_context_does_not_leak_to_the_next_call(one_conn_repo):
    pool, repo = one_conn_repo
    repo.find(f"{SCHEMA}.v_ctx", context={"tenant_id": "acme",
                                          "app.locale": "fr"})
    (row,) = rows(repo.find(f"{SCHEMA}.v_ctx", field="ctx"), "ctx")
    # Never set, or reset to empty at COMMIT: never the previous value.
    assert row["tenant"] in (None, "")
    assert row["locale"] in (None, "")
    assert pool.stats()["opened"] == 1  # one connection served both users


def test_tenant_filtering_through_a_view_using_current_setting(one_conn_repo):
    _, repo = one_conn_repo
    view = f"{SCHEMA}.v_item"
    acme = rows(repo.find(view, field="items", order_by=[{"id": "ASC"}],
                          context={"tenant_id": "acme"}), "items")
    assert [r["name"] for r in acme] == ["anvil", "rocket"]
    assert repo.count(view, context={"tenant_id": "globex"}) == 1
    assert repo.count(view) == 0  # no tenant: nothing, not everything
    assert rows(repo.find_one(view, field="item", where={"id": {"eq": 3}},
                              context={"tenant_id": "acme"}), "item") is None


def test_invalid_context_names_are_rejected(fn, one_conn_repo):
    _, repo = one_conn_repo
    for bad in ({"tenant": "x"}, {"app.Bad": "x"}, {"app.a-b": "x"},
                {"statement_timeout": "0"}):
        with pytest.raises(fn.InvalidInputError):
            repo.count(f"{SCHEMA}.v_ctx", context=bad)
    with pytest.raises(fn.InvalidInputError):
        repo.count(f"{SCHEMA}.v_ctx", context={"tenant_id": None})
    with pytest.raises(TypeError):
        repo.count(f"{SCHEMA}.v_ctx", context=["tenant_id"])


def test_prepared_statements_are_reused_per_connection(fn, db_url,
                                                       exec_schema):
    pool = fn.Pool(db_url, max_size=1)
    repo = fn.Repository(pool, exec_schema)
    probe = fn.Repository(pool, _prepared_probe(fn, db_url))
    for tenant in ("acme", "globex", "acme"):
        repo.count(f"{SCHEMA}.v_item", context={"tenant_id": tenant})
    names = probe.distinct(f"{SCHEMA}.v_prepared", "statement")
    assert sum("v_item" in s for s in names) == 1


def test_pgbouncer_mode_prepares_nothing(fn, db_url, exec_schema):
    pool = fn.Pool(db_url, max_size=1)
    repo = fn.Repository(pool, exec_schema, pgbouncer=True)
    assert repo.count(f"{SCHEMA}.v_item", context={"tenant_id": "acme"}) == 2
    probe = fn.Repository(pool, _prepared_probe(fn, db_url), pgbouncer=True)
    assert probe.distinct(f"{SCHEMA}.v_prepared", "statement") == []


def _prepared_probe(fn, db_url):
    """A view over pg_prepared_statements of the calling session."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"""CREATE OR REPLACE VIEW "{SCHEMA}".v_prepared AS
            SELECT jsonb_build_object('statement', statement) AS data
            FROM pg_prepared_statements""")
    schema = fn.Schema()
    schema.add_view(f"{SCHEMA}.v_prepared", "Prepared", {"statement": "String"})
    return schema
