"""The latency cost of shadow traffic (run by ci/bench-shadow).

One representative find (a filtered, ordered page of 20 users with a nested
selection) through five paths, interleaved: each round runs a block of
--block calls of each path, the paths in a rotating order, so that drift of
the machine hits every path alike. After a shadow's block its queue is
drained, untimed, so the candidate work it left running slows its own
block and not the next path's (interleaving single calls, or blocks
without the drain, charged it to whichever path came next):
  plain       Repository.find
  plain_again Repository.find again, under another name: the noise floor
  shadow_0    Shadow(primary, candidate, sample_rate=0).find
  shadow_0.1  the same at sample_rate 0.1
  shadow_1    the same at sample_rate 1.0
The candidate is another native Repository on its own pool; its calls and
comparisons run on the Shadow's worker thread, off the timed path (they
still share the machine's cores and the GIL with the caller). Latency is
per call, wall clock (time.perf_counter_ns). The last line of stdout is a
JSON object of the ratios to plain (p50 and p95) and the shadows' counters.
"""
import argparse
import json
import os
import sys
import time

import fraiseql_native as fn
from fraiseql_native import parity
from sample_registry import register_sample


def percentile(sorted_values, q):
    return parity.percentile(sorted_values, q)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--schema", default="bench_shadow")
    ap.add_argument("--rounds", type=int, default=150)
    ap.add_argument("--block", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.warmup = 20, 20

    schema = register_sample(fn, args.schema)
    primary = fn.Repository(fn.Pool(args.url, min_size=2, max_size=2),
                            schema)
    candidate = fn.Repository(fn.Pool(args.url, min_size=1, max_size=2),
                              schema)
    view = f"{args.schema}.v_user"
    query = dict(field="users", where={"age": {"gte": 30}, "isActive": True},
                 order_by=[{"id": "ASC"}], limit=20,
                 selection="id firstName email balance "
                           "address { cityName postalCode }")
    shadows = {rate: parity.Shadow(primary, candidate, sample_rate=rate,
                                   queue_size=1000, seed=1)
               for rate in (0.0, 0.1, 1.0)}
    # plain_again: the same plain call under a second name, so the table
    # shows how far two identical paths differ on this machine (the noise).
    paths = [("plain", primary.find, None),
             ("plain_again", primary.find, None)] + [
        (f"shadow_{rate:g}", s.find, s) for rate, s in shadows.items()]
    expected = primary.find(view, **query)

    for _ in range(args.warmup):
        for _, call, _ in paths:
            assert call(view, **query) == expected
    for s in shadows.values():
        s.drain(60)
    times = {name: [] for name, _, _ in paths}
    clock = time.perf_counter_ns
    n = len(paths)
    for r in range(args.rounds):
        for k in range(n):
            name, call, shadow = paths[(r + k) % n]
            for _ in range(args.block):
                start = clock()
                call(view, **query)
                times[name].append((clock() - start) / 1e6)
            if shadow is not None:
                # Untimed: the candidate work this block queued finishes
                # here, not during the next path's block.
                shadow.drain(60)
    counters = {}
    for rate, s in shadows.items():
        s.close(120)
        st = s.stats()
        counters[f"shadow_{rate:g}"] = {
            k: st[k] for k in ("calls", "sampled", "compared", "matched",
                               "mismatched", "dropped")}

    base = sorted(times["plain"])
    b50, b95 = percentile(base, 50), percentile(base, 95)
    print(f"bench-shadow: {args.rounds} rounds x {args.block} calls of find "
          f"({view}, 20 rows) per path, interleaved; latency in ms")
    print(f"{'path':<12} {'p50':>8} {'p95':>8} {'p50/plain':>10} "
          f"{'p95/plain':>10} {'compared':>9} {'dropped':>8}")
    result = {"rounds": args.rounds, "block": args.block, "cpus": os.cpu_count()}
    for name, _, _ in paths:
        vals = sorted(times[name])
        p50, p95 = percentile(vals, 50), percentile(vals, 95)
        c = counters.get(name, {})
        print(f"{name:<12} {p50:8.3f} {p95:8.3f} {p50 / b50:10.3f} "
              f"{p95 / b95:10.3f} {c.get('compared', '-'):>9} "
              f"{c.get('dropped', '-'):>8}")
        result[f"{name}_p50_ms"] = round(p50, 4)
        result[f"{name}_p95_ms"] = round(p95, 4)
        if name != "plain":
            result[f"{name}_p50_ratio"] = round(p50 / b50, 4)
            result[f"{name}_p95_ratio"] = round(p95 / b95, 4)
    result["counters"] = counters
    bad = sum(c["mismatched"] for c in counters.values())
    print(json.dumps(result))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
