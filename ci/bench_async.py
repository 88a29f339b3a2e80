"""Point lookups by id from asyncio, side by side in one run (part of ci/bench):

  sequential   one lookup at a time: native sync (Repository.find_one), native
               async (fraiseql_native.aio), psycopg 3 async and asyncpg (each
               fetching the row's JSON and building the same body with the
               legacy transform)
  concurrent   64 asyncio tasks sharing pools of 8 connections, same lookups
  batched      8 lookups awaited together (gather) against one execute()
               of 8 root fields (one round trip): what sharing pays
  loop lag     200 tasks looking up ids without pause for 3 s on a pool of 8
               while a 1 ms ticker measures how late the loop wakes it
               (p50, p99, max; native async, and asyncpg for reference)

Every path builds the same body for the same id (checked before timing).
Returns figures for ci/bench's JSON line: point_seq_vs_asyncpg (asyncpg's
time per lookup / native async's), point_async_vs_asyncpg (native async
lookups per second / asyncpg's, concurrent), loop_lag_p99_ms.
"""
import asyncio
import json
import statistics
import time

import asyncpg
import psycopg
import psycopg_pool

import fraiseql_native as fn
from fraiseql_native import aio, query_pb2
from legacy_transform import legacy_body, psycopg_sql

GATHER = 8  # calls awaited together, against one execute() of as many roots
TASKS = 64
POOL = 8
LAG_TASKS = 200


def _paths(url, view, schema, query, selection, legacy_sel, sql):
    """Coroutine factories per path: lookup(id) -> body bytes."""
    field = query.field
    pg_sql = psycopg_sql(sql)

    def body_of(values):
        return legacy_body(field, values, legacy_sel, "Person", False)

    async def make():
        pool = fn.Pool(url, min_size=POOL, max_size=POOL)
        sync = fn.Repository(pool, schema)
        native = aio.AsyncRepository(pool, schema)
        ppool = psycopg_pool.AsyncConnectionPool(
            url, min_size=POOL, max_size=POOL, open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0})
        await ppool.open(wait=True)
        apool = await asyncpg.create_pool(url, min_size=POOL, max_size=POOL)

        def where(i):
            return {"id": {"eq": i}}

        async def native_async(i):
            return await native.find_one(view, field=field, selection=selection,
                                         where=where(i))

        def native_sync(i):
            return sync.find_one(view, field=field, selection=selection,
                                 where=where(i))

        async def psycopg_async(i):
            async with ppool.connection() as conn:
                cur = await conn.execute(pg_sql, (i,))
                rows = await cur.fetchall()
            return body_of([r[0] for r in rows])

        async def asyncpg_path(i):
            async with apool.acquire() as conn:
                rows = await conn.fetch(sql, _uuid(i))
            return body_of([json.loads(r[0]) for r in rows])

        flat = ("id", "firstName", "lastName", "email")

        async def gathered(batch):
            """K lookups as K calls awaited together (asyncio.gather)."""
            await asyncio.gather(*[
                native.find_one(view, field=field, selection=" ".join(flat),
                                where=where(i)) for i in batch])

        async def one_execute(batch):
            """The same K lookups as one execute() with K root fields: one
            round trip on one connection."""
            q = query_pb2.QueryDefinition()
            for k, i in enumerate(batch):
                root = q.roots.add()
                root.view, root.response_key = view, f"{field}{k}"
                root.is_list = False
                root.where_json = json.dumps(where(i))
                root.has_selection = True
                for name in flat:
                    root.selection.add(response_key=name, field_name=name)
            await native.execute(q.SerializeToString())

        async def close():
            await ppool.close()
            await apool.close()
            native.close()

        return dict(native_sync=native_sync, native_async=native_async,
                    psycopg_async=psycopg_async, asyncpg=asyncpg_path,
                    gathered=gathered, one_execute=one_execute, close=close)

    return make


def _uuid(text):
    import uuid
    return uuid.UUID(text)


async def _sequential(paths, ids, rounds):
    """Seconds per lookup, median over rounds, paths interleaved per round."""
    per = {k: [] for k in ("native_sync", "native_async", "psycopg_async",
                           "asyncpg")}
    for _ in range(rounds):
        for name in per:
            call = paths[name]
            start = time.perf_counter()
            if name == "native_sync":
                for i in ids:
                    call(i)
            else:
                for i in ids:
                    await call(i)
            per[name].append((time.perf_counter() - start) / len(ids))
    return {k: statistics.median(v) for k, v in per.items()}


async def _concurrent(call, ids, tasks):
    """Lookups per second with `tasks` tasks sharing the work."""
    queue = list(ids)

    async def worker():
        while queue:
            await call(queue.pop())

    start = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(tasks)])
    return len(ids) / (time.perf_counter() - start)


async def _loop_lag(call, ids, seconds):
    """A 1 ms ticker's delays (ms, sorted) while LAG_TASKS tasks look up ids
    for `seconds` (sustained load, so that the start-up burst of 200 tasks
    is one tick among thousands)."""
    lags = []
    running = True

    async def ticker():
        while running:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append((time.perf_counter() - start - 0.001) * 1e3)

    async def worker(offset):
        n = offset
        while running:
            await call(ids[n % len(ids)])
            n += LAG_TASKS

    tasks = [asyncio.ensure_future(worker(k)) for k in range(LAG_TASKS)]
    t = asyncio.ensure_future(ticker())
    await asyncio.sleep(seconds)
    running = False
    await asyncio.gather(t, *tasks)
    lags.sort()
    return lags


def _p(values, q):
    return values[min(len(values) - 1, int(len(values) * q))] if values else 0.0


async def first_difference(paths, ids):
    """None when every path builds native async's body for each id
    (compared as JSON), else what differs."""
    for i in ids:
        want = json.loads(await paths["native_async"](i))
        if not want["data"][next(iter(want["data"]))]:
            return f"no row for id {i}"
        got = {"native_sync": json.loads(paths["native_sync"](i))}
        for name in ("psycopg_async", "asyncpg"):
            got[name] = json.loads(await paths[name](i))
        for name, body in got.items():
            if body != want:
                return f"{name} differs from native for id {i}: {body} vs {want}"
    return None


def paths_for(url, view, schema, query, selection, legacy_sel, sql):
    """The paths (an async factory), for ci/bench and its smoke test."""
    return _paths(url, view, schema, query, selection, legacy_sel, sql)


def run(url, view, schema, query, selection, legacy_sel, sql, ids, quick):
    make = _paths(url, view, schema, query, selection, legacy_sel, sql)

    async def main():
        paths = await make()
        try:
            difference = await first_difference(paths, ids[:3])
            if difference:
                raise SystemExit(f"bench: {difference}")
            seq_ids = ids[:100 if quick else 500]
            await _sequential(paths, seq_ids[:20], 1)  # warm up
            seq = await _sequential(paths, seq_ids, 2 if quick else 5)
            conc_ids = ids if not quick else ids[:500]
            conc = {}
            for _ in range(1 if quick else 3):
                for name in ("native_async", "psycopg_async", "asyncpg"):
                    conc.setdefault(name, []).append(
                        await _concurrent(paths[name], conc_ids, TASKS))
            conc = {k: statistics.median(v) for k, v in conc.items()}
            batches = [conc_ids[j:j + GATHER]
                       for j in range(0, len(conc_ids) - GATHER + 1, GATHER)]
            rounds = {}
            for _ in range(1 if quick else 3):
                for name in ("gathered", "one_execute"):
                    start = time.perf_counter()
                    for batch in batches:
                        await paths[name](batch)
                    rounds.setdefault(name, []).append(
                        (time.perf_counter() - start) /
                        (len(batches) * GATHER))
            batched = {k: statistics.median(v) for k, v in rounds.items()}
            seconds = 1.0 if quick else 3.0
            lags = {name: await _loop_lag(paths[name], conc_ids, seconds)
                    for name in ("native_async", "asyncpg")}
            return seq, conc, lags, batched
        finally:
            await paths["close"]()

    seq, conc, lags, batched = asyncio.run(main())
    lag = {k: (_p(v, 0.5), _p(v, 0.99), v[-1] if v else 0.0, len(v))
           for k, v in lags.items()}
    print("\npoint lookups by id from asyncio (one row, 5 fields):")
    print(f"  sequential, us per lookup: native sync "
          f"{seq['native_sync'] * 1e6:.0f}, native async "
          f"{seq['native_async'] * 1e6:.0f}, psycopg 3 async "
          f"{seq['psycopg_async'] * 1e6:.0f}, asyncpg "
          f"{seq['asyncpg'] * 1e6:.0f}")
    print(f"  concurrent ({TASKS} tasks, pools of {POOL}), lookups/s: native "
          f"async {conc['native_async']:.0f}, psycopg 3 async "
          f"{conc['psycopg_async']:.0f}, asyncpg {conc['asyncpg']:.0f}")
    print(f"  {GATHER} lookups awaited together, us per lookup: gather of "
          f"{GATHER} calls {batched['gathered'] * 1e6:.0f}, one execute() of "
          f"{GATHER} roots (one round trip) {batched['one_execute'] * 1e6:.0f}")
    for name, (p50, p99, worst, ticks) in lag.items():
        print(f"  loop lag, {LAG_TASKS} tasks on a pool of {POOL}, {name}: "
              f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {worst:.2f} ms "
              f"over {ticks} ticks of 1 ms")
    return {
        "point_seq_native_sync_us": round(seq["native_sync"] * 1e6, 1),
        "point_seq_native_async_us": round(seq["native_async"] * 1e6, 1),
        "point_seq_psycopg_async_us": round(seq["psycopg_async"] * 1e6, 1),
        "point_seq_asyncpg_us": round(seq["asyncpg"] * 1e6, 1),
        "point_seq_vs_asyncpg": round(seq["asyncpg"] / seq["native_async"], 3),
        "point_seq_sync_vs_asyncpg": round(
            seq["asyncpg"] / seq["native_sync"], 3),
        "point_async_native_per_s": round(conc["native_async"]),
        "point_async_psycopg_per_s": round(conc["psycopg_async"]),
        "point_async_asyncpg_per_s": round(conc["asyncpg"]),
        "point_async_vs_asyncpg": round(
            conc["native_async"] / conc["asyncpg"], 3),
        "point_async_vs_psycopg": round(
            conc["native_async"] / conc["psycopg_async"], 3),
        "gather_us": round(batched["gathered"] * 1e6, 1),
        "one_execute_us": round(batched["one_execute"] * 1e6, 1),
        "one_execute_vs_gather": round(
            batched["gathered"] / batched["one_execute"], 3),
        "loop_lag_p99_ms": round(lag["native_async"][1], 3),
        "loop_lag_max_ms": round(lag["native_async"][2], 3),
        "loop_lag_asyncpg_p99_ms": round(lag["asyncpg"][1], 3),
    }
