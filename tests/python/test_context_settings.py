"""Context settings beyond tenant and user, through each backend: a role
(SET LOCAL ROLE) and settings under fraiseql. and jwt.claims., seen by the
statement and gone from the connection afterwards."""
import os

import psycopg
import pytest

ROLE = f"fql_test_role_{os.getpid()}"


@pytest.fixture(scope="module")
def role(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{ROLE}" NOLOGIN')
        conn.execute(f'GRANT "{ROLE}" TO CURRENT_USER')
    yield ROLE
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{ROLE}"')


@pytest.fixture(params=["native", "legacy-psycopg"])
def backend_repo(request, fn, pool, schema):
    return fn.Repository(pool, schema, backend=request.param)


def test_role_applies_to_the_statement_only(backend_repo, role, db_url):
    with psycopg.connect(db_url) as conn:
        own = conn.execute("SELECT current_user").fetchone()[0]
    assert own != role
    rows = backend_repo.run("SELECT current_user::text AS u",
                            context={"role": role})
    assert rows == [{"u": role}]
    # Back to the connection's own role on every connection of the pool.
    for _ in range(6):
        assert backend_repo.run("SELECT current_user::text AS u") == \
            [{"u": own}]


def test_settings_under_each_prefix_reach_the_statement(backend_repo):
    context = {"fraiseql.started_at": "2026-12-03T00:00:00Z",
               "jwt.claims.sub": "user-7", "app.locale": "de_DE"}
    rows = backend_repo.run(
        "SELECT current_setting('fraiseql.started_at') AS s, "
        "current_setting('jwt.claims.sub') AS c, "
        "current_setting('app.locale') AS l", context=context)
    assert rows == [{"s": "2026-12-03T00:00:00Z", "c": "user-7",
                     "l": "de_DE"}]
    after = backend_repo.run(
        "SELECT current_setting('jwt.claims.sub', true) AS c")
    assert after in ([{"c": None}], [{"c": ""}])


def test_unknown_role_and_bad_names_are_refused(fn, backend_repo):
    with pytest.raises(fn.Error) as e:
        backend_repo.run("SELECT 1 AS x",
                         context={"role": "fql_no_such_role_x"})
    assert e.value.sqlstate == "22023"
    with pytest.raises(fn.InvalidInputError, match="jwt.claims"):
        backend_repo.run("SELECT 1 AS x", context={"jwt.Claims.sub": "x"})
    with pytest.raises(fn.InvalidInputError, match="role"):
        backend_repo.run("SELECT 1 AS x", context={"role": "r" * 64})
