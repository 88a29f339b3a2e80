"""Load benchmark of the pool through Python (run by ci/bench-pool).

Phases, on the embedded server:
  1. sustained: mixed reads (find by id, a filtered list of 10 rows, the count
     of a user's posts)
     paced at --target-qps for --seconds, over --threads threads sharing one
     Pool(max_size=--threads); reports achieved qps and p50/p95/p99 latency.
     Latency is per call (service time); the schedule-based latency (from
     when the call was due, which includes any time spent behind schedule,
     i.e. corrected for coordinated omission) is printed beside it.
  2. peak: the same mix as fast as possible for --peak-seconds.
  3. pgbench -S -n -c N -j 2 -T --pgbench-seconds on the same server
     (database `pgbench`, initialised with -i -s 10 if missing).
The last line of stdout is one JSON object with the numbers.
The C++ calls release the GIL, so threads run queries in parallel.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import psycopg

import fraiseql_native as fn
from sample_registry import register_sample

PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"


def log(msg):
    print(f"bench-pool: {msg}", file=sys.stderr, flush=True)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


class Workload:
    """The mixed reads, chosen per call from a thread's own RNG."""

    def __init__(self, repo, schema, ids):
        self.repo = repo
        self.view = f"{schema}.v_user"
        self.posts = f"{schema}.v_post"
        self.ids = ids

    def one(self, rng):
        kind = rng.randrange(3)
        if kind == 0:
            out = self.repo.find(self.view, field="user",
                                 where={"id": {"eq": rng.choice(self.ids)}},
                                 selection="id firstName lastName email age")
        elif kind == 1:
            age = rng.randrange(18, 70)
            out = self.repo.find(self.view, field="users",
                                 where={"age": {"gte": age},
                                        "isActive": {"eq": True}},
                                 order_by=[{"id": "ASC"}], limit=10,
                                 selection="id firstName age address { cityName }")
        else:
            # A user's posts (tb_post.author_id is indexed): a count a page
            # would show; a count over a JSONB filter is a full scan instead.
            out = self.repo.count(self.posts,
                                  where={"author": {"id": {"eq": rng.choice(self.ids)}}})
        return kind, out


def run_threads(n, body, seconds):
    """Runs body(thread_index, stop_time) on n threads; returns their results
    and the wall time."""
    results = [None] * n
    errors = []
    start = time.monotonic()
    stop = start + seconds

    def wrap(i):
        try:
            results[i] = body(i, stop)
        except BaseException as e:  # reported after the run
            errors.append(repr(e))
    threads = [threading.Thread(target=wrap, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    if any(t.is_alive() for t in threads):
        raise SystemExit("bench-pool: a worker thread hung")
    if errors:
        raise SystemExit(f"bench-pool: worker errors: {errors[:3]}")
    return results, time.monotonic() - start


def sustained(work, threads, target_qps, seconds):
    period = threads / target_qps  # each thread's share of the schedule

    def body(i, stop):
        rng = random.Random(1000 + i)
        lat, sched, kinds = [], [], [0, 0, 0]
        t0 = time.monotonic() + i * period / threads  # stagger the threads
        k = 0
        while True:
            due = t0 + k * period
            if due >= stop or time.monotonic() >= stop:
                break  # the phase ends on time even when behind schedule
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            begin = time.monotonic()
            kind, _ = work.one(rng)
            end = time.monotonic()
            lat.append(end - begin)
            sched.append(end - due)
            kinds[kind] += 1
            k += 1
        return lat, sched, kinds

    results, wall = run_threads(threads, body, seconds)
    lat = sorted(x for r in results for x in r[0])
    sched = sorted(x for r in results for x in r[1])
    kinds = [sum(r[2][j] for r in results) for j in range(3)]
    return lat, sched, kinds, wall


def peak(work, threads, seconds):
    def body(i, stop):
        rng = random.Random(2000 + i)
        n = 0
        while time.monotonic() < stop:
            work.one(rng)
            n += 1
        return n
    results, wall = run_threads(threads, body, seconds)
    return sum(results), wall


def pgbench(url, clients, seconds, scale):
    parts = urlsplit(url)
    conn_args = ["-h", parts.hostname, "-p", str(parts.port),
                 "-U", parts.username or "postgres"]
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'pgbench'").fetchone() is None:
            log("creating database pgbench")
            conn.execute("CREATE DATABASE pgbench")
    bench_url = parts._replace(path="/pgbench").geturl()
    with psycopg.connect(bench_url) as conn:
        ready = conn.execute(
            "SELECT to_regclass('pgbench_accounts') IS NOT NULL AND "
            "(SELECT count(*) FROM pgbench_branches) = %s", (scale,)).fetchone()[0] \
            if conn.execute("SELECT to_regclass('pgbench_branches') IS NOT NULL").fetchone()[0] \
            else False
    if not ready:
        log(f"pgbench -i -s {scale} (database pgbench)")
        subprocess.run([PGBENCH, "-i", "-s", str(scale), "-q", *conn_args, "pgbench"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cmd = [PGBENCH, "-S", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds),
           *conn_args, "pgbench"]
    log(" ".join(cmd))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    if not m:
        raise SystemExit(f"bench-pool: cannot read pgbench's tps from:\n{out}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=os.environ.get("FRAISEQL_DATABASE_URL"))
    ap.add_argument("--schema", default="bench_pool")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--target-qps", type=float, default=1200)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--peak-seconds", type=float, default=15)
    ap.add_argument("--pgbench-seconds", type=int, default=15)
    ap.add_argument("--pgbench-scale", type=int, default=10)
    args = ap.parse_args()
    if not args.url:
        ap.error("--url or FRAISEQL_DATABASE_URL is required")

    with psycopg.connect(args.url) as conn:
        ids = [str(r[0]) for r in conn.execute(f'SELECT id FROM "{args.schema}".tb_user')]
    if not ids:
        raise SystemExit(f"bench-pool: no rows in {args.schema}.tb_user")
    pool = fn.Pool(args.url, min_size=args.threads, max_size=args.threads,
                   acquire_timeout=10, application_name="fraiseql-bench-pool")
    repo = fn.Repository(pool, register_sample(fn, args.schema))
    work = Workload(repo, args.schema, ids)

    # Warm-up: plans cached, connections open.
    peak(work, args.threads, 2)

    log(f"sustained: target {args.target_qps:.0f} qps for {args.seconds:g} s, "
        f"{args.threads} threads, pool max_size {args.threads}, {len(ids)} users")
    lat, sched, kinds, wall = sustained(work, args.threads, args.target_qps, args.seconds)
    n = len(lat)
    sustained_qps = n / wall
    ms = lambda v: round(v * 1000, 3)  # noqa: E731
    p50, p95, p99 = (ms(percentile(lat, p)) for p in (50, 95, 99))
    s50, s95, s99 = (ms(percentile(sched, p)) for p in (50, 95, 99))
    print(f"sustained: {n} queries in {wall:.1f} s = {sustained_qps:.0f} qps "
          f"(target {args.target_qps:.0f}; by id {kinds[0]}, list {kinds[1]}, count {kinds[2]})")
    print(f"  latency per call  p50 {p50} ms  p95 {p95} ms  p99 {p99} ms  max {ms(lat[-1])} ms")
    print(f"  from due time     p50 {s50} ms  p95 {s95} ms  p99 {s99} ms")

    log(f"peak: as fast as possible for {args.peak_seconds:g} s, {args.threads} threads")
    count, wall = peak(work, args.threads, args.peak_seconds)
    peak_qps = count / wall
    print(f"peak: {count} queries in {wall:.1f} s = {peak_qps:.0f} qps")
    stats = pool.stats()
    print(f"pool stats: {stats}")

    tps = pgbench(args.url, args.threads, args.pgbench_seconds, args.pgbench_scale)
    ratio = peak_qps / tps if tps else float("nan")
    print(f"pgbench -S -c {args.threads} -j 2: {tps:.0f} tps")
    print(f"peak through Python {peak_qps:.0f} qps vs pgbench {tps:.0f} tps: "
          f"ratio {ratio:.2f}")
    print(json.dumps({
        "sustained_qps": round(sustained_qps, 1), "p50_ms": p50, "p95_ms": p95,
        "p99_ms": p99, "peak_qps": round(peak_qps, 1), "pgbench_tps": round(tps, 1),
        "peak_vs_pgbench": round(ratio, 3)}))
    if stats.get("errors"):
        raise SystemExit(f"bench-pool: the pool reported errors: {stats}")


if __name__ == "__main__":
    main()
