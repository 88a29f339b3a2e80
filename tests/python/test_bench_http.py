"""ci/bench-http's equivalence check (ci/bench_http.py --check-only) on a
tiny data set: our app and PostGraphile, both started by the bench, return
the same data for every query once PostGraphile's names are mapped, and the
check fails when they do not. Needs node and the PostGraphile that
ci/bench-http installs into .bench-http/; skips otherwise. Times nothing."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import psycopg
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "ci"))
import bench_http  # noqa: E402

SCHEMA = f"fql_pytest_bench_http_{os.getpid()}"
SIZES = dict(users=40, posts=120, comments=300)


def missing_tools():
    if shutil.which("node") is None:
        return "node is not installed"
    for package in ("postgraphile", "autocannon"):
        if bench_http.installed_version(package) is None:
            return (f"{package} is not installed in .bench-http/ "
                    "(ci/bench-http installs it from npm)")
    return None


needs_tools = pytest.mark.skipif(missing_tools() is not None,
                                 reason=str(missing_tools()))


def run_check(db_url, *extra, schema=SCHEMA):
    env = dict(os.environ, FRAISEQL_DATABASE_URL=db_url,
               PYTHONPATH=f"{ROOT / 'bazel-bin' / 'pybind'}:{ROOT / 'ci'}")
    cmd = [sys.executable, str(ROOT / "ci" / "bench_http.py"), "--check-only",
           "--schema", schema, "--pool-size", "2", "--log-dir",
           str(ROOT / ".bench-http" / f"logs-pytest-{os.getpid()}"), *extra]
    for k, v in SIZES.items():
        cmd += [f"--{k}", str(v)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.fixture(scope="module")
def bench_schema(db_url):
    bench_http.load_data(db_url, SCHEMA, SIZES)
    yield SCHEMA
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


def test_data_is_deterministic_and_the_views_embed_the_rows(db_url,
                                                            bench_schema):
    def digest():
        with psycopg.connect(db_url) as conn:
            return conn.execute(
                "SELECT (SELECT md5(string_agg(data::text, '' ORDER BY id)) "
                f'FROM "{SCHEMA}".v_comment), '
                f'(SELECT count(*) FROM "{SCHEMA}".v_post), '
                f"(SELECT data->'author'->>'username' FROM \"{SCHEMA}\".v_post "
                "ORDER BY id LIMIT 1)").fetchone()

    first = digest()
    assert first[1] == SIZES["posts"]
    assert first[2].startswith("user_")
    bench_http.load_data(db_url, SCHEMA, SIZES)
    assert digest() == first


def test_first_difference_maps_names_and_sees_values_order_and_instants():
    theirs = bench_http.renamed({"data": {"allPostsList": [
        {"id": "a", "userByAuthorId": {"username": "u"},
         "publishedAt": "2024-01-01T00:00:00.000000+00:00"}]}})
    ours = {"data": {"posts": [{"id": "a", "author": {"username": "u"},
                                "publishedAt": "2024-01-01T00:00:00+00:00"}]}}
    diff = bench_http.first_difference
    assert diff(ours, theirs) is None
    ours["data"]["posts"][0]["publishedAt"] = "2024-01-01T00:00:01+00:00"
    assert diff(ours, theirs)[0] == "$.data.posts[0].publishedAt"
    assert diff({"a": 1, "b": 2}, {"b": 2, "a": 1})[0] == "$ (keys)"
    assert diff({"a": [1, 2]}, {"a": [1]})[0] == "$.a (length)"
    assert diff({"a": True}, {"a": 1}) is not None
    assert diff({"a": "x"}, {"a": None}) is not None


@needs_tools
def test_both_servers_return_equivalent_data(db_url, bench_schema):
    proc = run_check(db_url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures["equivalent"] is True
    assert figures["postgraphile_version"] == bench_http.POSTGRAPHILE_VERSION
    assert set(figures["queries"]) == {q.key for q in bench_http.queries(1)}
    for key, q in figures["queries"].items():
        assert q["items"] > 0, key
    assert figures["queries"]["users"]["items"] == 20
    assert figures["queries"]["big"]["items"] == SIZES["posts"]


@needs_tools
def test_the_check_fails_when_our_data_differs(db_url, bench_schema):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            f'CREATE OR REPLACE VIEW "{SCHEMA}".v_user AS SELECT u.id, '
            "jsonb_build_object('id', u.id, 'username', u.username, "
            "'full_name', u.full_name || '!', 'email', u.email, "
            "'created_at', u.created_at) AS data "
            f'FROM "{SCHEMA}".users u')
    proc = run_check(db_url, "--query", "users")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "differ at $.data.users[0].fullName" in proc.stderr, proc.stderr


@needs_tools
def test_materialized_views_serve_the_same_data(db_url):
    schema = f"{SCHEMA}_mat"
    try:
        proc = run_check(db_url, "--load", "--materialized", schema=schema)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "(materialized views)" in proc.stderr
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
        assert figures["equivalent"] is True
        assert figures["queries"]["big"]["items"] == SIZES["posts"]
        with psycopg.connect(db_url) as conn:
            kinds = conn.execute(
                "SELECT count(*) FROM pg_matviews WHERE schemaname = %s",
                (schema,)).fetchone()[0]
        assert kinds == 3
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
