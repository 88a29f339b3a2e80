"""Kinds that need a contrib extension say so when it is missing."""
import psycopg
import pytest

NOEXT_DB = "fql_pytest_noext"


@pytest.fixture(scope="module")
def noext_url(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {NOEXT_DB}")
        conn.execute(f"CREATE DATABASE {NOEXT_DB} TEMPLATE template0")
    url = db_url.rsplit("/", 1)[0] + "/" + NOEXT_DB
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (data jsonb)")
        conn.execute("""INSERT INTO t VALUES ('{"path": "a.b"}')""")
        conn.execute("CREATE VIEW v AS SELECT data FROM t")
    yield url
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {NOEXT_DB} WITH (FORCE)")


def test_ltree_filter_without_extension_names_it(fn, noext_url):
    schema = fn.Schema()
    schema.add_view("public.v", "Thing", {"path": "LTree"})
    pool = fn.Pool(noext_url, max_size=1)
    repo = fn.Repository(pool, schema)
    with pytest.raises(fn.DatabaseError) as e:
        repo.find("public.v", where={"path": {"eq": "a.b"}})
    assert e.value.sqlstate == "42704"
    assert str(e.value).endswith(
        "this filter needs the ltree extension: CREATE EXTENSION ltree")
    # The failed read left the pool healthy.
    assert repo.find("public.v") == b'{"data":{"v":[{"path":"a.b"}]}}'
    assert pool.stats()["in_use"] == 0
