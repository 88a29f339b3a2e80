"""Smoke test of ci/bench (ci/bench.py): on a few rows of its own data it
runs every path, agrees with itself and with answer keys written here (SQL
of the test's own, never the module's), and ends with the JSON line of
figures.
Times nothing: the figures only have to be there and positive."""
import asyncio
import json
import os
import pathlib
import subprocess
import sys

import asyncpg
import psycopg
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

sys.path.insert(0, str(ROOT / "ci"))
import bench  # noqa: E402
from legacy_transform import legacy_body  # noqa: E402

SCHEMA = f"fql_pytest_bench_{os.getpid()}"
ROWS = 200


@pytest.fixture(scope="module")
def bench_schema(db_url):
    bench.load_data(db_url, SCHEMA, ROWS)
    yield SCHEMA
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


def test_bench_data_rows_are_about_500_bytes_and_deterministic(db_url,
                                                               bench_schema):
    with psycopg.connect(db_url) as conn:
        count, avg, digest = conn.execute(
            f"SELECT count(*), avg(octet_length(data::text)), "
            f"md5(string_agg(data::text, '' ORDER BY id)) "
            f'FROM "{bench_schema}".v_person').fetchone()
    assert count == ROWS
    assert 400 <= avg <= 800, f"rows average {avg} bytes of JSON"
    bench.load_data(db_url, bench_schema, ROWS)  # again: the same rows
    with psycopg.connect(db_url) as conn:
        again = conn.execute(
            f"SELECT md5(string_agg(data::text, '' ORDER BY id)) "
            f'FROM "{bench_schema}".v_person').fetchone()[0]
    assert again == digest


def oracle_sql(schema, key):
    """Each bench query (bench.queries) written here, not by the module:
    its rows come from this SQL, so a statement the module wrote wrong
    (filter, order, limit) gives native a body these rows do not make."""
    view = f'"{schema}".v_person'
    return {
        "list": f"SELECT data FROM {view} ORDER BY id",
        "page": f"SELECT data FROM {view} "
                "WHERE (data->>'age')::int >= 30 AND (data->>'age')::int < 50 "
                "AND (data->>'is_active')::boolean "
                "ORDER BY (data->>'balance')::numeric DESC, id LIMIT 100",
        "one": f"SELECT data FROM {view} WHERE id = %s",
        "nested": f"SELECT data FROM {view} ORDER BY id LIMIT 1000",
    }[key]


def test_every_path_returns_the_native_response(fn, db_url, bench_schema):
    pool = fn.Pool(db_url, min_size=1, max_size=1)
    repo = fn.Repository(pool, bench.register_bench(bench_schema))
    pg = psycopg.connect(db_url, autocommit=True)
    loop = asyncio.new_event_loop()
    apg = loop.run_until_complete(asyncpg.connect(db_url))
    try:
        first = pg.execute(f'SELECT id::text FROM "{bench_schema}".tb_person '
                           "ORDER BY id LIMIT 1").fetchone()[0]
        for query in bench.queries(first):
            paths = bench.Paths(repo, pg, apg, loop, db_url,
                                f"{bench_schema}.v_person", query)
            try:
                native, _ = paths.calls["native"]()
                # The answer key: the test's own SQL, the rows built into a
                # body by the legacy transform.
                rows = [r[0] for r in pg.execute(
                    oracle_sql(bench_schema, query.key),
                    (first,) if query.key == "one" else ())]
                assert 0 < len(rows) <= ROWS, query.key
                if query.key == "page":  # the filter splits the rows
                    assert len(rows) < ROWS, query.key
                oracle = legacy_body(query.field, rows,
                                     bench.legacy_selection(query.fields),
                                     "Person", query.is_list)
                difference = bench.first_difference(native, oracle)
                assert difference is None, (query.key, difference)
                # The bench's own paths (explain's SQL) agree with native.
                for name in ("psycopg", "asyncpg"):
                    body, _ = paths.calls[name]()
                    assert bench.first_difference(native, body) \
                        is None, (query.key, name)
                _, seconds = paths.calls["libpq"]()
                assert seconds > 0
                assert paths.floor.bytes > 0
            finally:
                paths.floor.close()
    finally:
        loop.run_until_complete(apg.close())
        loop.close()
        pg.close()


def test_first_difference_sees_values_order_and_missing_keys():
    first_difference = bench.first_difference
    assert first_difference('{"a":1.50,"b":[1,2]}',
                            '{"a":1.5,"b":[1,2]}') is None
    assert first_difference('{"a":1,"b":2}', '{"a":1,"b":3}')[0] == "b"
    assert first_difference('{"a":1,"b":2}', '{"b":2,"a":1}')[0] == "(root)"
    assert first_difference('{"a":1,"b":null}', '{"a":1}')[0] == "b"
    assert first_difference('[1,2]', '[1]')[0] == "(root)"
    assert first_difference('{"a":true}', '{"a":1}') is not None


def test_ci_bench_quick_ends_with_the_figures(db_url, bench_schema):
    env = dict(os.environ, FRAISEQL_DATABASE_URL=db_url,
               PYTHONPATH=str(ROOT / "bazel-bin" / "pybind"))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "ci" / "bench.py"), "--quick",
         "--schema", bench_schema, "--rows", str(ROWS)],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    lines = proc.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    for key in ("list_vs_psycopg", "list_vs_asyncpg", "list_vs_libpq",
                "transform_mb_s", "list_native_ms", "list_psycopg_ms",
                "list_asyncpg_ms", "list_libpq_ms", "list_bytes"):
        assert figures[key] > 0, key
    for key in ("target_vs_psycopg_met", "target_vs_libpq_met",
                "target_transform_met"):
        assert isinstance(figures[key], bool), key
    assert figures["same_responses"] is True
    assert figures["rows"] == ROWS
    # Memory of one list call, each path in a fresh process.
    assert figures["rss_psycopg_mb"] > 0
    assert figures["rss_native_mb"] >= 0
    assert figures["rss_vs_psycopg"] == pytest.approx(
        figures["rss_native_mb"] / figures["rss_psycopg_mb"], abs=2e-3)
    assert any(line.startswith("memory: ") for line in lines)
    assert set(figures["queries"]) == {"list", "page", "one", "nested"}
    for key, q in figures["queries"].items():
        assert q["same"] is True, key
        assert q["rows"] > 0, key
    assert figures["queries"]["list"]["rows"] == ROWS
    table = [line for line in lines if line.split(" ", 1)[0] in figures["queries"]]
    assert len(table) == 4 and all(line.endswith("yes") for line in table), table


def test_async_point_paths_build_the_same_body(fn, db_url, bench_schema):
    """ci/bench_async.py's four point-lookup paths (native sync and async,
    psycopg 3 async, asyncpg) build one body for each id, and a lookup of
    an id that does not exist is told apart."""
    import bench_async
    schema = bench.register_bench(bench_schema)
    view = f"{bench_schema}.v_person"
    with psycopg.connect(db_url, autocommit=True) as pg:
        ids = [r[0] for r in pg.execute(
            f'SELECT id::text FROM "{bench_schema}".tb_person ORDER BY id '
            "LIMIT 5").fetchall()]
    one = next(q for q in bench.queries(ids[0]) if q.key == "one")
    # The psycopg and asyncpg paths run the test's own SQL, not explain's:
    # they are the answer key native's bodies are checked against.
    sql = f'SELECT data FROM "{bench_schema}".v_person WHERE id = $1::uuid'
    make = bench_async.paths_for(db_url, view, schema, one,
                                 bench.selection_text(one.fields),
                                 bench.legacy_selection(one.fields), sql)

    async def main():
        paths = await make()
        try:
            same = await bench_async.first_difference(paths, ids)
            missing = await bench_async.first_difference(
                paths, ["00000000-0000-0000-0000-000000000000"])
            body = json.loads(await paths["native_async"](ids[1]))
            return same, missing, body
        finally:
            await paths["close"]()

    same, missing, body = asyncio.run(main())
    assert same is None
    assert missing is not None and missing.startswith("no row")
    with psycopg.connect(db_url) as pg:
        email = pg.execute(f"SELECT data->>'email' FROM \"{bench_schema}\"."
                           "v_person WHERE id = %s", (ids[1],)).fetchone()[0]
    assert body["data"][one.field]["email"] == email


def run_child(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "bazel-bin" / "pybind"))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "ci" / "bench_memory.py"), *args],
        capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_memory_child_sees_what_a_call_allocates():
    """The measurement can fail: a call that writes 64 MB raises the peak by
    about 64 MB, one that writes nothing by next to nothing; so does the
    second call, measured after the peak is reset (without the reset, the
    first call's peak would hide it)."""
    big = run_child("--path", "alloc", "--alloc-mb", "64")
    assert 60 <= big["growth_mb"] <= 80, big
    assert 60 <= big["again_growth_mb"] <= 80, big
    none = run_child("--path", "alloc", "--alloc-mb", "0")
    assert 0 <= none["growth_mb"] < 4, none
    assert 0 <= none["again_growth_mb"] < 4, none


def test_memory_child_runs_the_whole_list(db_url, bench_schema):
    for path in ("native", "psycopg"):
        out = run_child("--url", db_url, "--schema", bench_schema,
                        "--path", path)
        assert out["items"] == ROWS, out
        assert out["bytes"] > ROWS * 400, out
        assert out["growth_mb"] >= 0, out
        assert out["again_growth_mb"] >= 0, out
    assert out["growth_mb"] > 0  # psycopg's rows and dicts


def test_ci_bench_scaling_quick_emits_the_figures(db_url):
    """--scaling --quick: the list query at four tiny sizes (the table
    reloaded at each), every path agreeing, the JSON line with per-size
    figures, growth exponents, the worst native/floor and memory."""
    schema = f"{SCHEMA}_scaling"
    env = dict(os.environ, FRAISEQL_DATABASE_URL=db_url,
               PYTHONPATH=str(ROOT / "bazel-bin" / "pybind"))
    try:
        proc = subprocess.run(
            [sys.executable, str(ROOT / "ci" / "bench.py"), "--scaling",
             "--quick", "--schema", schema],
            capture_output=True, text=True, env=env, timeout=300)
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert proc.returncode == 0, proc.stderr + proc.stdout
    lines = proc.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    sizes = list(bench.QUICK_SIZES)
    assert figures["scaling"] is True and figures["quick"] is True
    assert figures["sizes"] == sizes
    assert set(figures["per_size"]) == {str(n) for n in sizes}
    for n in sizes:
        r = figures["per_size"][str(n)]
        for p in bench.PATHS:
            assert r[f"{p}_ms"] > 0, (n, p)
        assert r["same"] is True, n
        assert r["bytes"] > n * 400, n
        assert r["native_vs_libpq"] == pytest.approx(
            r["native_ms"] / r["libpq_ms"], rel=1e-2)
        assert r["rss_psycopg_mb"] > 0 and r["rss_native_mb"] >= 0, n
        q1, median, q3 = r["native_vs_libpq_rounds"]
        assert 0 < q1 <= median <= q3, (n, r["native_vs_libpq_rounds"])
    assert set(figures["exponents"]) == set(bench.PATHS)
    assert all(isinstance(e, float) for e in figures["exponents"].values())
    assert len(figures["exponents_pairwise"]) == len(sizes) - 1
    assert figures["list_vs_libpq_max"] == max(
        figures["per_size"][str(n)]["native_vs_libpq"] for n in sizes)
    assert figures["list_vs_libpq_max_rows"] in sizes
    for key in ("rss_native_mb", "rss_psycopg_mb", "rss_vs_psycopg"):
        assert key in figures, key
    for n in sizes:
        for key in ("rss_native_again_mb", "rss_psycopg_again_mb"):
            assert figures["per_size"][str(n)][key] >= 0, (n, key)
    assert figures["same_responses"] is True
    assert isinstance(figures["target_scaling_met"], bool)
    table = [line.split() for line in lines
             if line.split() and line.split()[0] in {str(n) for n in sizes}]
    assert len(table) == 4 and all(t[-1] == "yes" for t in table), table
    spreads = [line for line in lines if line.startswith("  at ")
               and "1.0)" in line]
    assert len(spreads) == len(sizes), lines


def test_growth_exponent_is_the_log_log_slope():
    assert bench.exponent([1000, 10000], [2.0, 20.0]) == pytest.approx(1.0)
    assert bench.exponent([1000, 10000, 100000],
                          [1.0, 100.0, 10000.0]) == pytest.approx(2.0)
    assert bench.exponent([10, 20, 40], [5.0, 5.0, 5.0]) == pytest.approx(0.0)


def test_paired_spread_is_the_quartiles_of_each_rounds_ratio():
    """native/floor per round (both run in every round, side by side): a
    slow spell that moves both sides of a round leaves its ratio alone,
    which a ratio of medians does not."""
    native = [1.0, 2.0, 3.0, 4.0, 5.0]
    floor = [1.0, 2.0, 2.0, 5.0, 5.0]  # ratios 1, 1, 1.5, 0.8, 1
    assert bench.paired_spread(native, floor) == [0.9, 1.0, 1.25]
    assert bench.paired_spread([2.0], [1.0]) == [2.0, 2.0, 2.0]
    assert bench.paired_spread([], []) is None
    with pytest.raises(ValueError, match="one time of each path per round"):
        bench.paired_spread([1.0, 2.0], [1.0])
    assert bench.spread_verdict([0.9, 0.95, 0.99]) == "below 1.0"
    assert bench.spread_verdict([0.98, 1.0, 1.02]) == "straddles 1.0"
    assert bench.spread_verdict([1.01, 1.1, 1.2]) == "above 1.0"
