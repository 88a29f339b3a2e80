"""ci/bench's memory child: the peak RSS growth of ONE call of the bench's
list query, in a fresh process (run by ci/bench.py, see docs/bench.md).

Each path runs in a process of its own, so that one path's heap (memory a
previous call freed but the allocator kept) cannot hide the other's growth.
The process imports everything and opens its connection, warms up with the
same selection on 10 rows (module code, connection, statement machinery),
then reads its peak resident set (VmHWM in /proc/self/status, or ru_maxrss
where there is no /proc), makes one call of the whole list, and reads the
peak again. The growth is what that call needed at its peak: rows fetched,
objects built, the response body (kept until after the reading).

Then it drops that body, starts the peak again from the current resident
set (writing 5 to /proc/self/clear_refs) and measures a second call of the
same query the same way: a server's steady state. For native it differs
from the first: once the repository knows the size of a shape's body, a
big body is written straight into the bytes object returned instead of
being built and then copied.

  bench_memory.py --url URL --schema bench --path native|psycopg
  bench_memory.py --path alloc --alloc-mb 64   (a call that only allocates:
                                               the measurement's own check)

Prints one JSON line: path, growth_mb (MB = 10^6 bytes), again_growth_mb
(the second call's; null where the peak cannot be reset), hwm_before_mb,
hwm_after_mb, bytes (the response's length), items (list items in it).
"""
import argparse
import json
import os
import resource
import sys


def peak_rss_bytes():
    """The process's peak resident set so far, in bytes."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def reset_peak_rss():
    """Starts the peak resident set again from the current one (Linux 4.0
    and later); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def list_call(path, url, schema):
    """(warm-up, call) for the bench's list query through `path`; each
    returns the response body."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench
    import fraiseql_native as fn
    from legacy_transform import legacy_body, psycopg_sql

    view = f"{schema}.v_person"
    query = next(q for q in bench.queries(None) if q.key == "list")
    pool = fn.Pool(url, min_size=1, max_size=1)
    repo = fn.Repository(pool, bench.register_bench(schema))
    warm_kwargs = dict(query.kwargs, limit=10)
    if path == "native":
        selection = bench.selection_text(query.fields)

        def call(kwargs):
            return repo.find(view, field=query.field, selection=selection,
                             **kwargs)
    elif path == "psycopg":
        import psycopg
        pg = psycopg.connect(url, autocommit=True)
        pg.prepare_threshold = 0
        legacy_sel = bench.legacy_selection(query.fields)
        statements = {}
        for key, kwargs in (("warm", warm_kwargs), ("call", query.kwargs)):
            sql, params = repo.explain(view, **kwargs)
            statements[key] = (psycopg_sql(sql), params)

        def call(kwargs):
            sql, params = statements["warm" if "limit" in kwargs else "call"]
            rows = pg.execute(sql, params).fetchall()
            return legacy_body(query.field, [r[0] for r in rows], legacy_sel,
                               "Person", True)
    else:
        raise ValueError(path)
    return (lambda: call(warm_kwargs)), (lambda: call(query.kwargs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("FRAISEQL_DATABASE_URL"))
    parser.add_argument("--schema", default="bench")
    parser.add_argument("--path", required=True,
                        choices=("native", "psycopg", "alloc"))
    parser.add_argument("--alloc-mb", type=float, default=0,
                        help="with --path alloc: bytes the call writes")
    args = parser.parse_args(argv)
    if args.path == "alloc":
        n = int(args.alloc_mb * 1e6)
        warm = lambda: b"\x01" * 1000  # noqa: E731
        # Every page written (b"\x01" * n), unlike bytes(n)'s zero pages.
        call = lambda: b"\x01" * n  # noqa: E731
    else:
        if not args.url:
            sys.exit("bench_memory: no server: pass --url or set "
                     "FRAISEQL_DATABASE_URL")
        warm, call = list_call(args.path, args.url, args.schema)
    warm()
    warm()
    before = peak_rss_bytes()
    body = call()
    after = peak_rss_bytes()
    items = 0
    if args.path != "alloc":
        items = len(json.loads(body)["data"]["people"])
    size = len(body)
    del body
    again = None
    if reset_peak_rss():
        again_before = peak_rss_bytes()
        body = call()
        again = round((peak_rss_bytes() - again_before) / 1e6, 3)
        del body
    print(json.dumps({
        "path": args.path, "growth_mb": round((after - before) / 1e6, 3),
        "again_growth_mb": again,
        "hwm_before_mb": round(before / 1e6, 3),
        "hwm_after_mb": round(after / 1e6, 3),
        "bytes": size, "items": items}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
