"""ci/bench's side-by-side benchmark (run by ci/bench; see docs/bench.md).

The same queries, on the same server and the same SQL (Repository.explain
gives the statement native runs), through:
  native   fraiseql_native.Repository.find / find_one -> response bytes
  psycopg  psycopg 3 fetches the rows (parsing the jsonb into Python objects)
           + the legacy Python transform + json.dumps(...).encode()
  asyncpg  asyncpg fetches the rows' text, json.loads + the same transform
  libpq    the raw libpq floor (//stream/libpq_floor, a subprocess):
           prepared statement, whole result, every row's bytes fetched and
           nothing built
The four run interleaved, round after round in a rotating order, after
warm-up rounds, so that none alone profits from warm caches, a warm server
backend or a quiet moment of the machine (run back-to-back, a one-row query
takes a fifth of the time it takes after a pause). Times are medians.
Every path's response is checked against native's as a JSON value (numbers
as Decimal, key order included): the table says whether they agree, and the
run fails when they do not.

The response transform alone: //response:projector_benchmark's main
ten-field benchmark (Google Benchmark), in MB/s of input.

Memory: the peak RSS growth of one list call through native and through
psycopg, each in a fresh process (ci/bench_memory.py).

--scaling: instead of the four queries, the list query at 1k, 10k, 50k and
100k rows (the table reloaded at each size) through the four paths, with
native/floor per size, each path's growth exponent (least-squares slope of
log time on log rows) and the memory figures at each size.

The last line of stdout is one JSON object with the figures (keys in
docs/bench.md); everything else is for people.
"""
import argparse
import asyncio
import collections
import json
import math
import os
import pathlib
import statistics
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import asyncpg
import psycopg

import bench_async
import fraiseql_native as fn
from legacy_transform import legacy_body, psycopg_sql

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA_SQL = ROOT / "ci" / "bench_data.sql"
FLOOR = ROOT / "bazel-bin" / "stream" / "libpq_floor" / "libpq_floor"
PROJECTOR_BENCHMARK = ROOT / "bazel-bin" / "response" / "projector_benchmark"
PSQL = "/usr/bin/psql"

# Targets of the issue, on the list query.
TARGET_VS_PSYCOPG = 5.0   # native at least 5x faster than psycopg 3
TARGET_VS_LIBPQ = 1.3     # native within 1.3x of the raw libpq fetch
TARGET_TRANSFORM = 400.0  # projector at least 400 MB/s on one core
TARGET_RSS_VS_PSYCOPG = 0.5  # native's peak memory at most half psycopg's
TARGET_SCALING_VS_LIBPQ = 1.0  # --scaling: native at most the floor, every size

SCALING_SIZES = (1000, 10000, 50000, 100000)
QUICK_SIZES = (50, 100, 200, 400)

PATHS = ("native", "psycopg", "asyncpg", "libpq")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# --- Schema and selections ------------------------------------------------

def register_bench(schema_name):
    """The bench view (ci/bench_data.sql) as a fraiseql_native.Schema."""
    schema = fn.Schema()
    schema.add_type("Coordinates", {"lat": "Float", "lng": "Float"})
    schema.add_type("Address", {
        "street": "String", "city": "String", "postal_code": "String",
        "country_code": "String", "coordinates": "Coordinates"})
    schema.add_type("Phone", {"kind": "String", "number": "String"})
    schema.add_view(
        f"{schema_name}.v_person", "Person",
        {"id": "UUID", "first_name": "String", "last_name": "String",
         "email": "String", "age": "Int", "balance": "Decimal",
         "score": "Decimal", "is_active": "Boolean", "created_at": "DateTime",
         "bio": "String", "nickname": "String", "manager_id": "UUID",
         "tags": "[String]", "address": "Address", "phones": "[Phone]",
         "preferences": "JSON"},
        columns={"id": "uuid", "data": "jsonb"})
    return schema


# One selected field: its JSONB key, an optional alias, and for an object
# field its sub-selection and type name. Rendered both as the native
# selection text and as the legacy transform's tuples, so the two paths are
# asked for the same thing.
Field = collections.namedtuple("Field", "source alias sub type_name",
                               defaults=(None, None, None))


def selection_text(fields):
    parts = []
    for f in fields:
        name = "__typename" if f.source == "__typename" else fn.camel_case(f.source)
        text = f"{f.alias}: {name}" if f.alias else name
        if f.sub:
            text += " { " + selection_text(f.sub) + " }"
        parts.append(text)
    return " ".join(parts)


def legacy_selection(fields):
    out = []
    for f in fields:
        name = "__typename" if f.source == "__typename" else fn.camel_case(f.source)
        sub = legacy_selection(f.sub) if f.sub else None
        out.append((f.alias or name, f.source, sub, f.type_name))
    return out


Query = collections.namedtuple(
    "Query", "key title field kwargs fields is_list weight")

COORDINATES = [Field("lat"), Field("lng")]
ADDRESS = [Field("street"), Field("city"), Field("postal_code"),
           Field("country_code"),
           Field("coordinates", sub=COORDINATES, type_name="Coordinates")]
PHONES = [Field("kind"), Field("number")]


def queries(first_id):
    """The bench's queries; `weight` scales the rounds (cheap queries get
    more, so that each has enough samples)."""
    return [
        Query("list", "All rows, 15 fields with nested objects and lists",
              "people", dict(order_by=[{"id": "ASC"}]),
              [Field("id"), Field("first_name"), Field("last_name"),
               Field("email"), Field("age"), Field("balance"), Field("score"),
               Field("is_active"), Field("created_at"), Field("bio"),
               Field("nickname"), Field("tags"),
               Field("address", sub=ADDRESS, type_name="Address"),
               Field("phones", sub=PHONES, type_name="Phone")],
              True, 1),
        Query("page", "Filtered page of 100, ordered by balance",
              "people",
              dict(where={"age": {"gte": 30, "lt": 50}, "isActive": True},
                   order_by=[{"balance": "DESC"}, {"id": "ASC"}], limit=100),
              [Field("id"), Field("first_name"), Field("last_name"),
               Field("email"), Field("age"), Field("balance"),
               Field("created_at")],
              True, 10),
        Query("one", "One row by id (find_one)", "person",
              dict(where={"id": {"eq": first_id}}),
              [Field("id"), Field("first_name"), Field("last_name"),
               Field("email"),
               Field("address", sub=[Field("city"), Field("country_code")],
                     type_name="Address")],
              False, 30),
        Query("nested", "1000 rows, aliases and __typename at every depth",
              "people", dict(order_by=[{"id": "ASC"}], limit=1000),
              [Field("id"), Field("first_name", alias="name"),
               Field("address", alias="home", type_name="Address",
                     sub=[Field("city"), Field("country_code"),
                          Field("coordinates", alias="geo",
                                type_name="Coordinates",
                                sub=COORDINATES + [Field("__typename")]),
                          Field("__typename")]),
               Field("phones", sub=PHONES + [Field("__typename")],
                     type_name="Phone"),
               Field("preferences"), Field("__typename")],
              True, 3),
    ]


# --- Paths ----------------------------------------------------------------

def asyncpg_args(param_types, params):
    """explain's text parameters as the Python values asyncpg encodes for the
    statement's parameter types (asyncpg takes no text for typed
    parameters)."""
    out = []
    for t, p in zip(param_types, params):
        if p is None:
            out.append(None)
        elif t.name in ("int2", "int4", "int8"):
            out.append(int(p))
        elif t.name == "numeric":
            out.append(Decimal(p))
        elif t.name in ("float4", "float8"):
            out.append(float(p))
        elif t.name == "bool":
            out.append(p == "true")
        elif t.name == "uuid":
            out.append(uuid.UUID(p))
        elif t.name in ("text", "varchar"):
            out.append(p)
        else:
            raise ValueError(f"no asyncpg conversion for a parameter of "
                             f"type {t.name}: add one to asyncpg_args")
    return out


class Floor:
    """The libpq floor in --serve mode for one statement: call() runs it once
    and returns (None, seconds) as timed by the floor itself."""

    def __init__(self, url, sql, params, extra=()):
        self.proc = subprocess.Popen(
            floor_command(url, sql, params, ["--serve", *extra]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.bytes = 0

    def __call__(self):
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.close()
            sys.exit(f"bench: the libpq floor failed (exit "
                     f"{self.proc.returncode}); its message is above")
        out = json.loads(line)
        self.bytes = out["bytes"]
        return None, out["ms"] / 1e3

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


class Paths:
    """The four paths of one query, each a callable returning (body bytes,
    seconds); the floor returns no body."""

    def __init__(self, repo, pg, apg, loop, url, view, query):
        self.query = query
        kwargs = query.kwargs
        sql, params = repo.explain(view, **kwargs)
        if not query.is_list:
            sql += " LIMIT 1"  # what find_one adds (planner/planner.cc)
        self.sql, self.params = sql, params
        self.pg_sql = psycopg_sql(sql)
        selection = selection_text(query.fields)
        legacy_sel = legacy_selection(query.fields)
        field, is_list = query.field, query.is_list
        find = repo.find if is_list else repo.find_one

        def native():
            start = time.perf_counter()
            body = find(view, field=field, selection=selection, **kwargs)
            return body, time.perf_counter() - start

        def psycopg_path():
            start = time.perf_counter()
            rows = pg.execute(self.pg_sql, params).fetchall()
            body = legacy_body(field, [r[0] for r in rows], legacy_sel,
                               "Person", is_list)
            return body, time.perf_counter() - start

        statement = loop.run_until_complete(apg.prepare(sql))
        args = asyncpg_args(statement.get_parameters(), params)

        async def asyncpg_call():
            start = time.perf_counter()
            rows = await apg.fetch(sql, *args)
            body = legacy_body(field, [json.loads(r[0]) for r in rows],
                               legacy_sel, "Person", is_list)
            return body, time.perf_counter() - start

        def asyncpg_path():
            return loop.run_until_complete(asyncpg_call())

        self.floor = Floor(url, sql, params)
        self.calls = {"native": native, "psycopg": psycopg_path,
                      "asyncpg": asyncpg_path, "libpq": self.floor}


def floor_command(url, sql, params, extra):
    if not FLOOR.exists():
        sys.exit(f"bench: {FLOOR} is missing: bazel build //stream/libpq_floor")
    cmd = [str(FLOOR), "--url", url, "--sql", sql, "--warmup", "1", *extra]
    for p in params:
        cmd += ["--null-param"] if p is None else ["--param", p]
    return cmd


def run_floor(url, sql, params, repeat, extra=()):
    """Runs the libpq floor in a block of `repeat` runs; returns its JSON
    output."""
    cmd = floor_command(url, sql, params, ["--repeat", str(repeat), *extra])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: the libpq floor failed (exit {proc.returncode}): "
                 f"{proc.stderr.strip()}")
    return json.loads(proc.stdout)


def transform_benchmark(quick):
    """bytes_per_second of //response:projector_benchmark's benchmarks, in
    MB/s (10^6 bytes), by name."""
    if not PROJECTOR_BENCHMARK.exists():
        sys.exit(f"bench: {PROJECTOR_BENCHMARK} is missing: "
                 "bazel build //response:projector_benchmark")
    cmd = [str(PROJECTOR_BENCHMARK), "--benchmark_format=json"]
    if quick:
        cmd.append("--benchmark_min_time=0.01")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: projector_benchmark failed (exit {proc.returncode}): "
                 f"{proc.stderr.strip()}")
    results = json.loads(proc.stdout)["benchmarks"]
    # Keyed by the function name ("BM_X/min_warmup_time:0.500" -> "BM_X").
    return {b["name"].split("/")[0]: b["bytes_per_second"] / 1e6
            for b in results if "bytes_per_second" in b}


def load_data(url, schema, rows):
    start = time.perf_counter()
    subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-v", f"rows={rows}", "-v", f"schema={schema}",
                    "-d", url, "-f", str(DATA_SQL)],
                   check=True, stdout=subprocess.DEVNULL)
    log(f"loaded {rows} rows into {schema}.tb_person "
        f"({time.perf_counter() - start:.1f} s)")


MEMORY_CHILD = ROOT / "ci" / "bench_memory.py"


def memory(url, schema, rows):
    """Peak RSS growth of one list call through native and through psycopg,
    each in a fresh process (ci/bench_memory.py), and of a second call of
    the same shape there (None where the peak cannot be reset); MB (10^6
    bytes)."""
    out = {}
    for path in ("native", "psycopg"):
        proc = subprocess.run(
            [sys.executable, str(MEMORY_CHILD), "--url", url, "--schema",
             schema, "--path", path], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"bench: the memory child ({path}) failed (exit "
                     f"{proc.returncode}): {proc.stderr.strip()}")
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        if child["items"] != rows:
            sys.exit(f"bench: the memory child ({path}) got {child['items']} "
                     f"items, not {rows}")
        out[f"rss_{path}_mb"] = round(child["growth_mb"], 3)
        out[f"rss_{path}_again_mb"] = child["again_growth_mb"]
    # None when psycopg's call did not raise the peak (a tiny table).
    out["rss_vs_psycopg"] = (
        round(out["rss_native_mb"] / out["rss_psycopg_mb"], 3)
        if out["rss_psycopg_mb"] > 0 else None)
    return out


# --- Measurement ----------------------------------------------------------

def measure(paths, rounds, warmup, every=None):
    """Runs the paths interleaved; returns ({path: [seconds]},
    {path: last body}). `every` ({path: k}) runs a path only in every k-th
    timed round (every path runs in each warm-up round)."""
    every = every or {}
    times = {p: [] for p in PATHS}
    bodies = {}
    for r in range(warmup + rounds):
        order = PATHS[r % len(PATHS):] + PATHS[:r % len(PATHS)]
        for p in order:
            if r >= warmup and (r - warmup) % every.get(p, 1):
                continue
            body, seconds = paths.calls[p]()
            bodies[p] = body
            if r >= warmup:
                times[p].append(seconds)
    return times, bodies


def first_difference(native, other):
    """None when `other` equals `native` as a JSON value, key order
    included (numbers by value: 1234.50 == 1234.5); else (json path, native
    value, other value) of the first difference (fraiseql_native.compare,
    plugins/parity/comparator.h)."""
    comparison = fn.compare(native, other, check_key_order=True,
                            max_differences=1)
    if comparison.equal:
        return None
    d = comparison.differences[0]
    return (d.path or "(root)", d.primary, d.candidate)


def compare(bodies):
    """{path: None or (json path, native value, path value)} against native,
    for the paths that build a response."""
    return {p: first_difference(bodies["native"], bodies[p])
            for p in ("psycopg", "asyncpg")}


def items(body, field):
    data = json.loads(body)["data"][field]
    return len(data) if isinstance(data, list) else int(data is not None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("FRAISEQL_DATABASE_URL"))
    parser.add_argument("--schema", default="bench")
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=15,
                        help="timed rounds of the list query (others: more)")
    parser.add_argument("--quick", action="store_true",
                        help="few rounds and a short transform benchmark "
                             "(a smoke test, not a measurement)")
    parser.add_argument("--load", action="store_true",
                        help="(re)load ci/bench_data.sql into --schema first")
    parser.add_argument("--chunk-rows", type=int, default=256,
                        help="Repository(chunk_rows=...) of the native path")
    parser.add_argument("--scaling", action="store_true",
                        help="instead of the four queries: the list query at "
                             "each of --sizes rows (the table reloaded per "
                             "size), native against the floor, psycopg and "
                             "asyncpg, with growth exponents and memory")
    parser.add_argument("--sizes", default=None,
                        help="with --scaling: comma-separated row counts "
                             f"(default {','.join(map(str, SCALING_SIZES))}; "
                             f"with --quick {','.join(map(str, QUICK_SIZES))})")
    parser.add_argument("--back-to-back", action="store_true",
                        help="also time the list query back-to-back: the "
                             "floor in each libpq mode (whole, single-row, "
                             "pipeline) and native (where native's time "
                             "goes)")
    args = parser.parse_args(argv)
    if not args.url:
        sys.exit("bench: no server: pass --url or set FRAISEQL_DATABASE_URL")
    if args.rows < 1 or args.repeat < 1:
        sys.exit("bench: --rows and --repeat must be at least 1")
    if args.quick:
        args.repeat = min(args.repeat, 2)
    warmup = 1 if args.quick else 2
    if args.scaling:
        return scaling(args)
    if args.load:
        load_data(args.url, args.schema, args.rows)

    view = f"{args.schema}.v_person"
    pool = fn.Pool(args.url, min_size=1, max_size=2)
    repo = fn.Repository(pool, register_bench(args.schema),
                         chunk_rows=args.chunk_rows)
    pg = psycopg.connect(args.url, autocommit=True)
    pg.prepare_threshold = 0  # prepared from the first run, like the others
    loop = asyncio.new_event_loop()
    apg = loop.run_until_complete(asyncpg.connect(args.url))
    first = pg.execute(f'SELECT id::text FROM "{args.schema}".tb_person '
                       'ORDER BY id LIMIT 1').fetchone()
    if first is None:
        sys.exit(f"bench: {view} is empty: run with --load (ci/bench does)")

    load_before = os.getloadavg()[0]
    results = {}
    all_same = True
    for query in queries(first[0]):
        paths = Paths(repo, pg, apg, loop, args.url, view, query)
        rounds = max(2, args.repeat * (1 if args.quick else query.weight))
        log(f"{query.key}: {rounds} rounds")
        times, bodies = measure(paths, rounds, warmup)
        paths.floor.close()
        diffs = compare(bodies)
        same = all(d is None for d in diffs.values())
        all_same = all_same and same
        for p, d in diffs.items():
            if d:
                log(f"{query.key}: {p} differs from native at {d[0]}: "
                    f"native {d[1]!r}, {p} {d[2]!r}")
        ms = {p: statistics.median(times[p]) * 1e3 for p in PATHS}
        results[query.key] = dict(
            title=query.title, rows=items(bodies["native"], query.field),
            bytes=len(bodies["native"]), floor_bytes=paths.floor.bytes, ms=ms,
            same=same)
        if query.key == "list" and args.back_to_back:
            # Back-to-back blocks (no interleaving): the floor in each libpq
            # mode, and native beside them.
            n = max(3, args.repeat)
            modes = {}
            for extra in ([], ["--single-row"], ["--pipeline"],
                          ["--pipeline", "--single-row"]):
                out = run_floor(args.url, paths.sql, paths.params, n, extra)
                modes[f"libpq {out['mode']}"] = out["median_ms"]
            paths.calls["native"]()
            modes["native"] = round(statistics.median(
                paths.calls["native"]()[1] for _ in range(n)) * 1e3, 3)
            results[query.key]["back_to_back_ms"] = modes

    # Peak memory of one list call, native and psycopg, each in a fresh
    # process (ci/bench_memory.py).
    rss = memory(args.url, args.schema, results["list"]["rows"])

    # Point lookups from asyncio (ci/bench_async.py).
    one = next(q for q in queries(first[0]) if q.key == "one")
    one_sql, _ = repo.explain(view, where={"id": {"eq": first[0]}})
    one_sql += " LIMIT 1"
    ids = [r[0] for r in pg.execute(
        f'SELECT id::text FROM "{args.schema}".tb_person ORDER BY id '
        f'LIMIT {500 if args.quick else 4000}').fetchall()]
    point = bench_async.run(args.url, view, register_bench(args.schema), one,
                            selection_text(one.fields),
                            legacy_selection(one.fields), one_sql, ids,
                            args.quick)

    transform = transform_benchmark(args.quick)
    transform_mb_s = transform["BM_ProjectTenFields"]
    loop.run_until_complete(apg.close())
    loop.close()
    pg.close()

    load_after = os.getloadavg()[0]
    list_ms = results["list"]["ms"]
    figures = {
        "rows": results["list"]["rows"],
        "list_bytes": results["list"]["bytes"],
        "list_native_ms": round(list_ms["native"], 3),
        "list_psycopg_ms": round(list_ms["psycopg"], 3),
        "list_asyncpg_ms": round(list_ms["asyncpg"], 3),
        "list_libpq_ms": round(list_ms["libpq"], 3),
        "list_vs_psycopg": round(list_ms["psycopg"] / list_ms["native"], 3),
        "list_vs_asyncpg": round(list_ms["asyncpg"] / list_ms["native"], 3),
        "list_vs_libpq": round(list_ms["native"] / list_ms["libpq"], 3),
        "transform_mb_s": round(transform_mb_s, 1),
        **rss,
    }
    figures["target_vs_psycopg_met"] = (
        figures["list_vs_psycopg"] >= TARGET_VS_PSYCOPG)
    figures["target_vs_libpq_met"] = figures["list_vs_libpq"] <= TARGET_VS_LIBPQ
    figures["target_transform_met"] = transform_mb_s >= TARGET_TRANSFORM
    figures["same_responses"] = all_same
    figures["queries"] = {
        k: {**{f"{p}_ms": round(v, 3) for p, v in r["ms"].items()},
            "bytes": r["bytes"], "rows": r["rows"], "same": r["same"]}
        for k, r in results.items()}
    if "back_to_back_ms" in results["list"]:
        figures["list_back_to_back_ms"] = results["list"]["back_to_back_ms"]
    figures.update(point)
    figures["loadavg"] = [round(load_before, 2), round(load_after, 2)]
    figures["quick"] = args.quick

    print_table(results, transform, figures)
    print_memory(figures, results["list"]["rows"])
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.2f} "
          f"before, {load_after:.2f} after (other processes on these cores "
          f"slow every path, unevenly: compare runs on a quiet machine)")
    print(json.dumps(figures, separators=(",", ":")), flush=True)
    return 0 if all_same else 1


def ratio_text(ratio):
    return "-" if ratio is None else f"{ratio:.3f}"


def print_memory(figures, rows):
    ratio = figures["rss_vs_psycopg"]
    met = ratio is not None and ratio <= TARGET_RSS_VS_PSYCOPG
    print(f"memory: peak RSS growth of one list call ({rows} rows), each path "
          f"in a fresh process: native {figures['rss_native_mb']:.1f} MB, "
          f"psycopg {figures['rss_psycopg_mb']:.1f} MB, native/psycopg "
          f"{ratio_text(ratio)} (<= {TARGET_RSS_VS_PSYCOPG:g}: "
          f"{'met' if met else 'MISSED'}); {again_text(figures)}")


def again_text(figures):
    native, psycopg = (figures["rss_native_again_mb"],
                       figures["rss_psycopg_again_mb"])
    if native is None or psycopg is None:
        return "a second call: not measured (the peak cannot be reset here)"
    return (f"a second call of the same shape (native's body lands in the "
            f"bytes returned): native {native:.1f} MB, psycopg "
            f"{psycopg:.1f} MB")


def print_table(results, transform, figures):
    print()
    print(f"{'query':8} {'rows':>6} {'bytes':>9} {'native':>8} {'psycopg':>8} "
          f"{'asyncpg':>8} {'libpq':>8}  {'psycopg/':>8} {'asyncpg/':>8} "
          f"{'native/':>7} {'native':>7}  same")
    print(f"{'':8} {'':>6} {'':>9} {'ms':>8} {'ms':>8} {'ms':>8} {'ms':>8}  "
          f"{'native':>8} {'native':>8} {'libpq':>7} {'MB/s':>7}")
    for key, r in results.items():
        ms = r["ms"]
        mb_s = r["bytes"] / 1e6 / (ms["native"] / 1e3)
        print(f"{key:8} {r['rows']:>6} {r['bytes']:>9} {ms['native']:>8.2f} "
              f"{ms['psycopg']:>8.2f} {ms['asyncpg']:>8.2f} {ms['libpq']:>8.2f}"
              f"  {ms['psycopg'] / ms['native']:>7.1f}x "
              f"{ms['asyncpg'] / ms['native']:>7.1f}x "
              f"{ms['native'] / ms['libpq']:>6.2f}x {mb_s:>7.0f}  "
              f"{'yes' if r['same'] else 'NO'}")
    print()
    for key, r in results.items():
        print(f"  {key:8} {r['title']}; libpq fetched {r['floor_bytes']} "
              f"bytes of row text")
    if "back_to_back_ms" in results["list"]:
        modes = ", ".join(f"{m} {v:.2f}" for m, v in
                          results["list"]["back_to_back_ms"].items())
        print(f"  list, back-to-back runs, ms: {modes}")
    print("  same: psycopg's and asyncpg's responses equal native's as JSON "
          "values (numbers compared as Decimal, key order included)")
    print()
    print("response transform alone (//response:projector_benchmark, one core, "
          "MB/s of row text in):")
    for name, mb_s in transform.items():
        print(f"  {name:36} {mb_s:8.1f}")
    print()

    def verdict(key):
        return "met" if figures[key] else "MISSED"

    print(f"targets on the list query: native "
          f"{figures['list_vs_psycopg']:.1f}x faster than psycopg (>= "
          f"{TARGET_VS_PSYCOPG:g}x: {verdict('target_vs_psycopg_met')}); "
          f"native {figures['list_vs_libpq']:.2f}x the libpq floor (<= "
          f"{TARGET_VS_LIBPQ:g}x: {verdict('target_vs_libpq_met')}); "
          f"transform {figures['transform_mb_s']:.0f} MB/s (>= "
          f"{TARGET_TRANSFORM:g}: {verdict('target_transform_met')})")


# --- Scaling (--scaling) ---------------------------------------------------

def scaling_rounds(rows, repeat, quick):
    """(timed rounds, every): native and the floor run in every round,
    psycopg and asyncpg (10x slower) in every `every`-th. The slow paths
    get about repeat * 10,000 / rows samples (at least 3); the fast ones,
    whose ratio is the target, three times as many (at least 15), so that
    one slow spell on the machine moves their medians less."""
    if quick:
        return 2, 1
    want = math.ceil(repeat * 10000 / rows)
    fast, slow = max(15, 3 * want), max(3, want)
    return fast, max(1, fast // slow)


def paired_spread(native, floor):
    """[first quartile, median, third quartile] of native/floor per round
    (both paths run in every round, side by side), rounded to 3 places;
    None without a round. A slow spell of the machine moves both sides of a
    round, so the middle half of these ratios shows whether a size's ratio
    of medians lies clearly on one side of 1.0 or within the noise."""
    if len(native) != len(floor):
        raise ValueError(f"paired_spread needs one time of each path per "
                         f"round, got {len(native)} and {len(floor)}")
    ratios = [n / f for n, f in zip(native, floor)]
    if not ratios:
        return None
    if len(ratios) == 1:
        return [round(ratios[0], 3)] * 3
    q1, median, q3 = statistics.quantiles(ratios, n=4)
    return [round(q1, 3), round(median, 3), round(q3, 3)]


def spread_verdict(spread):
    """Where the middle half of the per-round ratios lies against 1.0."""
    if spread[2] < 1.0:
        return "below 1.0"
    if spread[0] > 1.0:
        return "above 1.0"
    return "straddles 1.0"


def exponent(sizes, ms):
    """Least-squares slope of log(time) on log(rows)."""
    xs = [math.log(n) for n in sizes]
    ys = [math.log(t) for t in ms]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return (sum((x - mx) * (y - my) for x, y in zip(xs, ys))
            / sum((x - mx) ** 2 for x in xs))


def scaling(args):
    """The list query at each size, the table reloaded per size: every
    path's median, native/floor, memory; growth exponents over the sizes."""
    text = args.sizes or ",".join(
        map(str, QUICK_SIZES if args.quick else SCALING_SIZES))
    try:
        sizes = sorted({int(n) for n in text.split(",") if n.strip()})
    except ValueError:
        sys.exit(f"bench: --sizes takes comma-separated row counts, got "
                 f"{text!r}")
    if len(sizes) < 2 or sizes[0] < 1:
        sys.exit("bench: --sizes needs at least two positive row counts")
    view = f"{args.schema}.v_person"
    query = next(q for q in queries(None) if q.key == "list")
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    per_size = {}
    all_same = True
    for rows in sizes:
        load_data(args.url, args.schema, rows)
        pool = fn.Pool(args.url, min_size=1, max_size=2)
        repo = fn.Repository(pool, register_bench(args.schema),
                             chunk_rows=args.chunk_rows)
        pg = psycopg.connect(args.url, autocommit=True)
        pg.prepare_threshold = 0
        loop = asyncio.new_event_loop()
        apg = loop.run_until_complete(asyncpg.connect(args.url))
        try:
            paths = Paths(repo, pg, apg, loop, args.url, view, query)
            rounds, every = scaling_rounds(rows, args.repeat, args.quick)
            warmup = 1 if args.quick or rows > 10000 else 2
            log(f"list at {rows} rows: {rounds} rounds, psycopg and asyncpg "
                f"in every {every}")
            times, bodies = measure(paths, rounds, warmup,
                                    {"psycopg": every, "asyncpg": every})
            paths.floor.close()
        finally:
            loop.run_until_complete(apg.close())
            loop.close()
            pg.close()
        diffs = compare(bodies)
        same = all(d is None for d in diffs.values())
        for p, d in diffs.items():
            if d:
                log(f"list at {rows}: {p} differs from native at {d[0]}: "
                    f"native {d[1]!r}, {p} {d[2]!r}")
        got = items(bodies["native"], query.field)
        if got != rows:
            log(f"list at {rows}: native returned {got} items")
            same = False
        all_same = all_same and same
        ms = {p: statistics.median(times[p]) * 1e3 for p in PATHS}
        per_size[rows] = {
            **{f"{p}_ms": round(v, 3) for p, v in ms.items()},
            "native_vs_libpq": round(ms["native"] / ms["libpq"], 3),
            "native_vs_libpq_rounds": paired_spread(times["native"],
                                                    times["libpq"]),
            "psycopg_vs_native": round(ms["psycopg"] / ms["native"], 3),
            "asyncpg_vs_native": round(ms["asyncpg"] / ms["native"], 3),
            "bytes": len(bodies["native"]), "floor_bytes": paths.floor.bytes,
            "samples": {p: len(times[p]) for p in PATHS},
            "same": same,
            **memory(args.url, args.schema, rows),
        }
    seconds = time.perf_counter() - start
    load_after = os.getloadavg()[0]

    exponents = {p: round(exponent(sizes, [per_size[n][f"{p}_ms"]
                                           for n in sizes]), 3)
                 for p in PATHS}
    pairwise = {f"{a}-{b}": {p: round(exponent(
        [a, b], [per_size[a][f"{p}_ms"], per_size[b][f"{p}_ms"]]), 3)
        for p in PATHS} for a, b in zip(sizes, sizes[1:])}
    worst = max(sizes, key=lambda n: per_size[n]["native_vs_libpq"])
    ratios = [per_size[n]["rss_vs_psycopg"] for n in sizes
              if per_size[n]["rss_vs_psycopg"] is not None]
    rss_max = max(ratios) if ratios else None
    top = per_size[sizes[-1]]
    figures = {
        "scaling": True,
        "sizes": sizes,
        "per_size": {str(n): per_size[n] for n in sizes},
        "exponents": exponents,
        "exponents_pairwise": pairwise,
        "list_vs_libpq_max": per_size[worst]["native_vs_libpq"],
        "list_vs_libpq_max_rows": worst,
        "target_scaling_met": (per_size[worst]["native_vs_libpq"]
                               <= TARGET_SCALING_VS_LIBPQ),
        "rss_native_mb": top["rss_native_mb"],
        "rss_psycopg_mb": top["rss_psycopg_mb"],
        "rss_vs_psycopg": top["rss_vs_psycopg"],
        "rss_vs_psycopg_max": rss_max,
        "target_rss_met": (rss_max is not None
                           and rss_max <= TARGET_RSS_VS_PSYCOPG),
        "same_responses": all_same,
        "seconds": round(seconds, 1),
        "loadavg": [round(load_before, 2), round(load_after, 2)],
        "quick": args.quick,
    }
    print_scaling(figures)
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.2f} "
          f"before, {load_after:.2f} after; {seconds:.0f} s")
    print(json.dumps(figures, separators=(",", ":")), flush=True)
    return 0 if all_same else 1


def print_scaling(figures):
    sizes = figures["sizes"]
    print()
    print(f"{'rows':>7} {'bytes':>10} {'native':>8} {'psycopg':>8} "
          f"{'asyncpg':>8} {'libpq':>8}  {'native/':>7} {'psycopg/':>8}  "
          f"{'rss MB':>7} {'rss MB':>7} {'rss':>7}  same")
    print(f"{'':>7} {'':>10} {'ms':>8} {'ms':>8} {'ms':>8} {'ms':>8}  "
          f"{'libpq':>7} {'native':>8}  {'native':>7} {'psycopg':>7} "
          f"{'n/psy':>7}")
    for n in sizes:
        r = figures["per_size"][str(n)]
        print(f"{n:>7} {r['bytes']:>10} {r['native_ms']:>8.2f} "
              f"{r['psycopg_ms']:>8.2f} {r['asyncpg_ms']:>8.2f} "
              f"{r['libpq_ms']:>8.2f}  {r['native_vs_libpq']:>6.2f}x "
              f"{r['psycopg_vs_native']:>7.1f}x  {r['rss_native_mb']:>7.1f} "
              f"{r['rss_psycopg_mb']:>7.1f} {ratio_text(r['rss_vs_psycopg']):>7}  "
              f"{'yes' if r['same'] else 'NO'}")
    print()
    print("native/floor per round (both run in every round, side by side): "
          "median, and the middle half of the rounds")
    for n in sizes:
        spread = figures["per_size"][str(n)]["native_vs_libpq_rounds"]
        print(f"  at {n} rows: {spread[1]:.3f}, {spread[0]:.3f} to "
              f"{spread[2]:.3f} ({spread_verdict(spread)})")
    ex = figures["exponents"]
    print(f"growth exponent (least-squares slope of log time on log rows, "
          f"{sizes[0]} to {sizes[-1]} rows; 1.0 = linear): "
          + ", ".join(f"{p} {ex[p]:.3f}" for p in PATHS))
    for span, e in figures["exponents_pairwise"].items():
        print(f"  {span:>14}: " + ", ".join(f"{p} {e[p]:.3f}" for p in PATHS))
    print("  rss: peak RSS growth of one call, each path in a fresh process "
          "(MB = 10^6 bytes)")
    for n in sizes:
        print(f"  at {n} rows, {again_text(figures['per_size'][str(n)])}")
    print()
    print(f"targets: native at most {TARGET_SCALING_VS_LIBPQ:g}x the floor at "
          f"every size (worst {figures['list_vs_libpq_max']:.2f}x at "
          f"{figures['list_vs_libpq_max_rows']} rows: "
          f"{'met' if figures['target_scaling_met'] else 'MISSED'}); native's "
          f"peak memory at most {TARGET_RSS_VS_PSYCOPG:g}x psycopg's (worst "
          f"{ratio_text(figures['rss_vs_psycopg_max'])}: "
          f"{'met' if figures['target_rss_met'] else 'MISSED'})")


if __name__ == "__main__":
    sys.exit(main())
