"""fraiseql_native.aio on the embedded server: every call as a coroutine,
cancellation (the query gone from pg_stat_activity), timeouts, errors,
transactions, streams, 200 tasks on a pool of 8, and uvloop.

Results are checked against the blocking Repository (whose answers the rest
of the suite checks against the server) or against SQL run with psycopg."""
import asyncio
import json
import os
import threading
import time
import uuid
from decimal import Decimal

import psycopg
import pytest

from fraiseql_native import aio
from servers import mutation_fixtures

MSCHEMA = f"fql_pytest_aio_{os.getpid()}"
TENANT = "11111111-1111-1111-1111-111111111111"


@pytest.fixture(scope="module")
def apool(fn, db_url):
    return fn.Pool(db_url, min_size=1, max_size=8, acquire_timeout=10)


@pytest.fixture(scope="module")
def arepo(apool, schema):
    return aio.AsyncRepository(apool, schema)


def run(coro_fn, *args):
    """Runs a coroutine function on a fresh loop with a fresh repository
    binding (a repository binds to the loop of its first call)."""
    return asyncio.run(coro_fn(*args))


def fresh(apool, schema, **kwargs):
    return aio.AsyncRepository(apool, schema, **kwargs)


def backends(db_url, marker, condition):
    """Other sessions whose query holds `marker` and that meet `condition`
    (SQL written in this file, never input)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute(
            f"SELECT count(*) FROM pg_stat_activity WHERE {condition} "
            "AND query LIKE %s AND pid <> pg_backend_pid()",
            (f"%{marker}%",)).fetchone()[0]


def sleeping(db_url, marker):
    return backends(db_url, marker, "state = 'active'")


def unbounded(apool, schema):
    """A repository without a statement_timeout: only a cancel that reaches
    the server ends its hour-long sleeps."""
    return fresh(apool, schema, statement_timeout=0)


def cancel_on_server(db_url, marker):
    """Cleanup after a failed run: nothing of ours keeps sleeping."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                     "WHERE query LIKE %s AND pid <> pg_backend_pid()",
                     (f"%{marker}%",))


def run_within(coro_fn, db_url, marker, seconds=60.0):
    """Runs coro_fn() with a generous deadline that only a hung test meets:
    the queries sleep for an hour, so a cancellation that does not reach the
    server never completes in time."""
    try:
        return asyncio.run(asyncio.wait_for(coro_fn(), seconds))
    finally:
        cancel_on_server(db_url, marker)


def wait_until(condition, seconds=30.0):
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        if condition():
            return True
        time.sleep(0.01)
    return False


async def until(condition, what, seconds=60.0):
    """Polls condition() on the loop (yielding between tries) until it
    holds; fails the test after `seconds`, which only a hung test meets."""
    give_up = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < give_up, f"timed out waiting for {what}"
        await asyncio.sleep(0.001)


# -- every call --------------------------------------------------------------


def test_every_query_call_matches_the_blocking_repository(apool, schema, repo,
                                                         users, raw):
    sync = repo
    calls = [
        ("find", (users,), dict(where={"age": {"gte": 30}},
                                order_by=[{"id": "ASC"}], limit=7,
                                selection="id firstName age")),
        ("find", (users,), dict(first=3, order_by=[{"id": "ASC"}],
                                selection="id", total_count=True)),
        ("find_one", (users,), dict(where={"id": {"eq": raw["v_user"][0]["id"]}},
                                    selection="id email")),
        ("find_one", (users,), dict(where={"age": {"gt": 10**6}})),
        ("count", (users,), dict(where={"age": {"lt": 40}})),
        ("exists", (users,), dict(where={"age": {"gt": 10**6}})),
        ("sum", (users, "age"), {}),
        ("avg", (users, "age"), {}),
        ("min", (users, "age"), {}),
        ("max", (users, "age"), {}),
        ("distinct", (users, "age"), dict(limit=5)),
    ]

    async def main():
        r = fresh(apool, schema)
        return [await getattr(r, name)(*a, **k) for name, a, k in calls]

    got = run(main)
    for (name, a, k), value in zip(calls, got):
        assert value == getattr(sync, name)(*a, **k), name
    # And one answer computed without either: the count from the rows.
    assert got[4] == sum(1 for u in raw["v_user"]
                         if u.get("age") is not None and u["age"] < 40)
    assert json.loads(got[3]) == {"data": {"v_user": None}}


def test_execute_runs_several_roots(apool, schema, repo, users):
    from fraiseql_native import query_pb2
    q = query_pb2.QueryDefinition()
    for key, limit in (("a", 2), ("b", 3)):
        root = q.roots.add()
        root.view, root.response_key, root.is_list = users, key, True
        root.limit = limit
        root.order_by_json = '[{"id":"ASC"}]'
    data = q.SerializeToString()

    async def main():
        return await fresh(apool, schema).execute(data)

    assert run(main) == repo.execute(data)
    body = json.loads(run(main))["data"]
    assert (len(body["a"]), len(body["b"])) == (2, 3)


def test_run_binds_parameters_and_returns_rows(apool, schema, db_url):
    async def main():
        r = fresh(apool, schema)
        rows = await r.run("SELECT $1::text AS t, $2::int + 1 AS n, $3::jsonb AS j, "
                           "$4::numeric AS d, $5::text IS NULL AS isnull",
                           ["it's; DROP TABLE x --", 41, {"k": [1, 2]},
                            Decimal("1.50"), None])
        empty = await r.run("SELECT 1 AS x WHERE false")
        ddl = await r.run("SELECT 1", fetch=False)
        return rows, empty, ddl

    rows, empty, ddl = run(main)
    assert rows == [{"t": "it's; DROP TABLE x --", "n": 42, "j": {"k": [1, 2]},
                     "d": 1.5, "isnull": True}]
    assert empty == [] and ddl == []


# -- mutations and transactions ---------------------------------------------


@pytest.fixture(scope="module")
def mschema(db_url):
    yield from mutation_fixtures(db_url, MSCHEMA)


def stored(db_url, account_id):
    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute(
            f'SELECT data->>\'name\' FROM "{MSCHEMA}".tb_account WHERE id = %s',
            (account_id,)).fetchall()


def create_args(account_id, name="Ann"):
    return dict(field="createAccount", success_type="CreateAccountSuccess",
                error_type="CreateAccountError",
                context_args=["tenant_id", "user_id"],
                context={"tenant_id": TENANT, "user_id": "alice"},
                success_selection="status", error_selection="status code")


def test_mutate_commits(apool, schema, mschema, db_url):
    account_id = str(uuid.uuid4())

    async def main():
        return await fresh(apool, schema).mutate(
            f"{mschema}.create_account",
            {"id": account_id, "name": "Ann", "email": "a@example.com",
             "balance": "1"}, **create_args(account_id))

    body = json.loads(run(main))
    assert body["data"]["createAccount"]["status"].startswith("created") or \
        body["data"]["createAccount"]["status"].startswith("success")
    assert stored(db_url, account_id) == [("Ann",)]


def test_transaction_commits_at_the_end_and_rolls_back_on_exception(
        apool, schema, mschema, db_url):
    kept, dropped = str(uuid.uuid4()), str(uuid.uuid4())
    table = f'"{mschema}".tb_account'

    async def main():
        r = fresh(apool, schema)
        async with r.transaction() as tx:
            await tx.run(f"INSERT INTO {table} (id, tenant_id, data) "
                         "VALUES ($1::uuid, $2::uuid, '{\"name\":\"kept\"}')",
                         [kept, TENANT], fetch=False)
            inside = await tx.run(f"SELECT count(*) AS n FROM {table} "
                                  "WHERE id = $1::uuid", [kept])
        with pytest.raises(RuntimeError, match="boom"):
            async with r.transaction() as tx:
                await tx.run(f"INSERT INTO {table} (id, tenant_id, data) "
                             "VALUES ($1::uuid, $2::uuid, "
                             "'{\"name\":\"dropped\"}')",
                             [dropped, TENANT], fetch=False)
                raise RuntimeError("boom")
        return inside, r.queue_stats()

    inside, stats = run(main)
    assert inside == [{"n": 1}]
    assert stored(db_url, kept) == [("kept",)]
    assert stored(db_url, dropped) == []
    # Both transactions gave their slot back.
    assert stats["free_slots"] == stats["slots"]


def test_a_failed_statement_aborts_the_transaction_and_it_rolls_back(
        fn, apool, schema, mschema, db_url):
    row = str(uuid.uuid4())
    table = f'"{mschema}".tb_account'

    async def main():
        r = fresh(apool, schema)
        with pytest.raises(fn.DatabaseError):
            async with r.transaction() as tx:
                await tx.run(f"INSERT INTO {table} (id, tenant_id, data) "
                             "VALUES ($1::uuid, $2::uuid, '{}')", [row, TENANT],
                             fetch=False)
                await tx.run("SELECT 1/0 AS x")
        return r.queue_stats()

    stats = run(main)
    assert stored(db_url, row) == []
    assert stats["free_slots"] == stats["slots"]


def test_transactions_hold_their_slot_and_later_calls_wait_for_it(
        fn, apool, schema):
    async def main():
        r = fresh(apool, schema, concurrency=1)
        tx = await r.transaction()
        # The only slot is the transaction's: a new call waits, and its
        # deadline passes in the queue, without a thread held.
        with pytest.raises(fn.PoolTimeoutError):
            await r.run("SELECT 1 AS x", timeout=0.2)
        # The transaction's own calls still run on its slot.
        assert await tx.run("SELECT 2 AS x") == [{"x": 2}]
        waiting = asyncio.ensure_future(r.run("SELECT 3 AS x"))
        # It waits in the queue (or, if the slot were free, completes).
        await until(lambda: r.queue_stats()["queued"] == 1 or waiting.done(),
                    "the call to queue")
        assert not waiting.done()
        assert r.queue_stats()["queued"] == 1
        await tx.commit()
        return await waiting, r.queue_stats()

    value, stats = run(main)
    assert value == [{"x": 3}]
    assert stats["queue_timeouts"] == 1


# -- cancellation, timeouts, errors ------------------------------------------


def test_cancelling_the_task_cancels_the_query_on_the_server(apool, schema,
                                                             db_url):
    marker = f"aio_cancel_{uuid.uuid4().hex[:8]}"

    async def main():
        r = unbounded(apool, schema)
        task = asyncio.ensure_future(
            r.run(f"SELECT pg_sleep(3600), '{marker}' AS m"))
        # Wait (without blocking the loop) until the server runs it.
        while not await asyncio.to_thread(sleeping, db_url, marker):
            pass
        task.cancel()
        # The cancellation completes (the query cancelled on the server)
        # well before the hour-long sleep would end; a generous bound that
        # only a cancel that never reached the server misses.
        done, _ = await asyncio.wait({task}, timeout=60)
        assert task in done and task.cancelled()
        # Gone from the server once the cancellation completed: no waiting
        # (checked before run_within's cleanup cancels anything left).
        assert await asyncio.to_thread(sleeping, db_url, marker) == 0
        return r.queue_stats()

    stats = run_within(main, db_url, marker)
    assert stats["running"] == 0 and stats["free_slots"] == stats["slots"]
    # The pool took the connection back clean.
    assert apool.stats()["in_use"] == 0


def test_asyncio_timeout_cancels_the_query(apool, schema, db_url):
    marker = f"aio_wait_for_{uuid.uuid4().hex[:8]}"

    async def main():
        r = unbounded(apool, schema)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(
                r.run(f"SELECT pg_sleep(3600), '{marker}' AS m"), 0.3)
        assert await asyncio.to_thread(sleeping, db_url, marker) == 0
        return await r.run("SELECT 1 AS ok")

    assert run_within(main, db_url, marker) == [{"ok": 1}]


def test_timeout_argument_raises_query_timeout(fn, apool, schema):
    async def main2():
        r = fresh(apool, schema)
        with pytest.raises(fn.QueryTimeoutError):
            await r.run("SELECT pg_sleep(10)", timeout=0.2)
        return await r.run("SELECT 1 AS ok")

    assert run(main2) == [{"ok": 1}]


def test_bad_input_raises_before_anything_is_queued(fn, apool, schema, users):
    async def main():
        r = fresh(apool, schema)
        with pytest.raises(fn.InvalidInputError, match="nosuchfield"):
            await r.find(users, where={"nosuchfield": {"eq": 1}})
        with pytest.raises(fn.InvalidInputError, match="where"):
            await r.find(users, where={"a": {1, 2}})  # a set: no JSON form
        with pytest.raises(fn.DatabaseError) as e:
            await r.run("SELECT 1/0 AS x")
        assert e.value.sqlstate == "22012"
        return r.queue_stats()

    stats = run(main)
    # The set was refused on the loop's thread, before anything was queued;
    # the unknown field (found by the planner) and 1/0 went through the queue.
    assert stats["completed_total"] == 2


def test_a_repository_is_bound_to_its_first_loop(apool, schema):
    r = fresh(apool, schema)

    async def call():
        return await r.run("SELECT 1 AS x")

    assert asyncio.run(call()) == [{"x": 1}]
    loop = asyncio.new_event_loop()
    try:
        # The first loop is closed: the repository rebinds to the new one.
        assert loop.run_until_complete(call()) == [{"x": 1}]
    finally:
        loop.close()

    other_result = {}

    def other_thread():
        try:
            asyncio.run(call())
        except RuntimeError as e:
            other_result["error"] = str(e)

    holder = asyncio.new_event_loop()
    try:
        holder.run_until_complete(call())  # binds to `holder` (still open)
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    finally:
        holder.close()
    assert "bound to the event loop" in other_result["error"]


# -- concurrency, no threads, the loop stays free ---------------------------


def test_200_tasks_on_a_pool_of_8_all_get_their_own_rows(apool, schema, users,
                                                        raw):
    ids = [u["id"] for u in raw["v_user"]][:200]
    assert len(ids) == 200
    threads_before = threading.active_count()

    async def one(r, user_id):
        body = await r.find_one(users, where={"id": {"eq": user_id}},
                                selection="id")
        return json.loads(body)["data"]["v_user"]["id"]

    async def main():
        r = fresh(apool, schema)
        results = await asyncio.gather(*[one(r, i) for i in ids])
        return results, threading.active_count(), r.queue_stats()

    results, threads_during, stats = run(main)
    assert results == ids
    # No Python thread per call: a thread pool (asyncio.to_thread) would
    # show here; the workers are C++ threads, which Python does not count.
    assert threads_during == threads_before
    assert stats["completed_total"] == 200 and stats["slots"] == 8
    # Calls that waited for a slot shared round trips (each still got its
    # own row, checked above).
    assert stats["batches"] > 0 and stats["batched_calls"] > stats["batches"]


def test_groups_hold_at_most_100_rows(apool, schema, users):
    """A group runs its calls one after another on one connection, so each
    member waits for the others: eight big lists grouped would make each
    wait for the seven others. A group holds calls whose lists may return
    100 rows in all (a list without a limit never groups); small ones still
    share round trips."""
    async def main(**find_args):
        r = fresh(apool, schema)
        await asyncio.gather(*[r.find(users, selection="id", **find_args)
                               for _ in range(64)])
        return r.queue_stats()

    assert run(main)["batched_calls"] == 0
    assert run(lambda: main(limit=101))["batched_calls"] == 0
    assert run(lambda: main(first=101))["batched_calls"] == 0
    assert run(lambda: main(limit=51))["batched_calls"] == 0  # 2 > 100 rows
    pairs = run(lambda: main(limit=50))
    assert pairs["batches"] > 0 and pairs["batched_calls"] == \
        2 * pairs["batches"]
    small = run(lambda: main(limit=10))
    assert small["batched_calls"] > 2 * small["batches"]

    # The bound is on all the roots of one call together.
    from fraiseql_native import query_pb2

    def two_roots(limit):
        definition = query_pb2.QueryDefinition()
        for key in ("a", "b"):
            definition.roots.add(response_key=key, view=users, is_list=True,
                                 limit=limit)
        return definition.SerializeToString()

    async def executes(definition):
        r = fresh(apool, schema)
        await asyncio.gather(*[r.execute(definition) for _ in range(64)])
        return r.queue_stats()

    assert run(executes, two_roots(26))["batched_calls"] == 0
    assert run(executes, two_roots(25))["batched_calls"] > 0


def waiting_on_lock(db_url, marker):
    return backends(db_url, marker, "wait_event_type = 'Lock'")


def test_the_loop_keeps_ticking_while_queries_run(apool, schema, db_url):
    """Eight queries wait on the server for a lock that only a coroutine on
    the same loop releases, after ticking while all eight are seen waiting:
    a call that blocked the loop would keep the ticker (and the release)
    from running until the calls end in their timeout, not in rows."""
    marker = f"aio_ticks_{uuid.uuid4().hex[:8]}"
    key = uuid.uuid4().int % 2 ** 62

    async def main():
        r = fresh(apool, schema)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0)
                ticks += 1

        with psycopg.connect(db_url, autocommit=True) as locker:
            locker.execute("SELECT pg_advisory_lock(%s)", (key,))
            t = asyncio.ensure_future(ticker())
            calls = asyncio.gather(*[
                r.run(f"SELECT '{marker}' AS m FROM "
                      f"pg_advisory_xact_lock_shared({key})", timeout=30)
                for _ in range(8)])
            while await asyncio.to_thread(waiting_on_lock, db_url, marker) < 8:
                assert not calls.done(), calls.exception()
            seen_waiting = ticks
            await until(lambda: ticks >= seen_waiting + 100,
                        "the ticker to tick while the queries wait")
            # The lock is still held: none of the queries can have ended.
            assert not calls.done()
            locker.execute("SELECT pg_advisory_unlock(%s)", (key,))
            rows = await calls
        t.cancel()
        return rows

    assert run_within(main, db_url, marker) == [[{"m": marker}]] * 8


def test_uvloop_runs_the_calls_and_cancels(apool, schema, users, repo, db_url):
    uvloop = pytest.importorskip("uvloop")
    marker = f"aio_uvloop_{uuid.uuid4().hex[:8]}"

    async def main():
        r = unbounded(apool, schema)
        body = await r.find(users, limit=3, order_by=[{"id": "ASC"}])
        task = asyncio.ensure_future(
            r.run(f"SELECT pg_sleep(3600), '{marker}' AS m"))
        while not await asyncio.to_thread(sleeping, db_url, marker):
            pass
        task.cancel()
        # The cancellation completes (the query cancelled on the server)
        # well before the hour-long sleep would end; a generous bound that
        # only a cancel that never reached the server misses.
        done, _ = await asyncio.wait({task}, timeout=60)
        assert task in done and task.cancelled()
        assert await asyncio.to_thread(sleeping, db_url, marker) == 0
        return body, asyncio.get_running_loop()

    loop = uvloop.new_event_loop()
    try:
        body, seen = loop.run_until_complete(asyncio.wait_for(main(), 60))
    finally:
        loop.close()
        cancel_on_server(db_url, marker)
    assert type(seen).__module__.startswith("uvloop")
    assert body == repo.find(users, limit=3, order_by=[{"id": "ASC"}])


# -- streams ------------------------------------------------------------------


def test_stream_pieces_join_to_the_body(apool, schema, repo, users):
    async def main():
        r = fresh(apool, schema)
        pieces = [p async for p in r.find_stream(
            users, order_by=[{"id": "ASC"}], chunk_bytes=512)]
        return pieces, r.queue_stats()

    pieces, stats = run(main)
    assert len(pieces) > 2
    assert b"".join(pieces) == repo.find(users, order_by=[{"id": "ASC"}])
    assert stats["free_slots"] == stats["slots"]


def test_stream_aclose_cancels_the_query(apool, schema, db_url, users):
    async def main():
        r = fresh(apool, schema)
        stream = r.find_stream(users, chunk_bytes=64)
        first = await stream.__anext__()
        await stream.aclose()
        return first, r.queue_stats()

    first, stats = run(main)
    assert first.startswith(b'{"data":{"v_user":[')
    assert stats["free_slots"] == stats["slots"]
    assert wait_until(lambda: apool.stats()["in_use"] == 0)


def test_stream_in_a_transaction_reads_its_snapshot(apool, schema, users,
                                                   repo):
    async def main():
        r = fresh(apool, schema)
        async with r.transaction(isolation="repeatable_read") as tx:
            pieces = [p async for p in tx.find_stream(
                users, order_by=[{"id": "ASC"}], limit=5)]
        return b"".join(pieces), r.queue_stats()

    body, stats = run(main)
    assert body == repo.find(users, order_by=[{"id": "ASC"}], limit=5)
    assert stats["free_slots"] == stats["slots"]


# -- cancelling queued calls, transaction calls and streams -------------------


def test_cancelling_a_queued_call_never_runs_it(fn, apool, schema, db_url):
    marker = f"aio_queued_{uuid.uuid4().hex[:8]}"
    table = f"aio_queued_{os.getpid()}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (m text)")

    async def main():
        r = fresh(apool, schema, concurrency=1)
        tx = await r.transaction()  # holds the only slot
        task = asyncio.ensure_future(
            r.run(f"INSERT INTO {table} VALUES ($1)", [marker], fetch=False))
        await until(lambda: r.queue_stats()["queued"] == 1, "the call to queue")
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=60)
        assert task in done and task.cancelled()
        stats = r.queue_stats()
        await tx.commit()
        return stats, r.queue_stats()

    during, after = run(main)
    assert during["cancelled_queued"] == 1 and during["queued"] == 0
    assert after["free_slots"] == after["slots"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = conn.execute(f"SELECT count(*) FROM {table} WHERE m = %s",
                            (marker,)).fetchone()[0]
        conn.execute(f"DROP TABLE {table}")
    assert rows == 0


def test_cancelling_a_transaction_call_cancels_it_and_the_transaction_ends(
        fn, apool, schema, db_url):
    marker = f"aio_txcancel_{uuid.uuid4().hex[:8]}"

    async def main():
        r = unbounded(apool, schema)
        with pytest.raises(asyncio.CancelledError):
            async with r.transaction() as tx:
                task = asyncio.ensure_future(
                    tx.run(f"SELECT pg_sleep(3600), '{marker}' AS m"))
                while not await asyncio.to_thread(sleeping, db_url, marker):
                    pass
                task.cancel()
                done, _ = await asyncio.wait({task}, timeout=60)
                assert task in done
                assert await asyncio.to_thread(sleeping, db_url, marker) == 0
                await task  # raises CancelledError: the block rolls back
        return tx.open, r.queue_stats()

    still_open, stats = run_within(main, db_url, marker)
    assert not still_open
    assert stats["free_slots"] == stats["slots"]


@pytest.fixture(scope="module")
def slow_view(db_url):
    name = f"fql_pytest_slow_{os.getpid()}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
        conn.execute(
            f'CREATE OR REPLACE VIEW "{name}".v_slow AS SELECT g AS id, '
            "jsonb_build_object('id', g) AS data "
            "FROM generate_series(1, 3) g, pg_sleep(3600) s")
    yield f"{name}.v_slow"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_cancelling_a_streams_next_cancels_the_query_and_frees_the_slot(
        fn, apool, slow_view, db_url):
    schema = fn.Schema()
    schema.add_view(slow_view, "Slow", {"id": "Int"})

    # This run's schema: another run's v_slow on the same server is not ours.
    marker = slow_view.split(".")[0]

    async def main():
        r = unbounded(apool, schema)
        stream = r.find_stream(slow_view)
        task = asyncio.ensure_future(stream.__anext__())
        while not await asyncio.to_thread(sleeping, db_url, marker):
            pass
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=60)
        assert task in done and task.cancelled()
        # The stream's producer reads the server's answer to the cancel on
        # its own thread, after next() has returned: polled (the query would
        # sleep for an hour; run_within's deadline comes first).
        while await asyncio.to_thread(sleeping, db_url, marker):
            pass
        # The stream is closed: its slot comes back without aclose().
        await until(lambda: r.queue_stats()["free_slots"] ==
                    r.queue_stats()["slots"], "the stream's slot to come back")
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        return r.queue_stats()

    stats = run_within(main, db_url, marker)
    assert stats["free_slots"] == stats["slots"]


def test_the_legacy_backend_runs_behind_the_async_repository(apool, schema,
                                                            users, repo):
    """A Python backend runs on the C++ workers too (taking the GIL for its
    own code): the same bodies as the native repository's, gathered."""
    async def main():
        r = fresh(apool, schema, backend="legacy-psycopg")
        return await asyncio.gather(*[
            r.find(users, where={"age": {"gte": age}}, limit=3,
                   order_by=[{"id": "ASC"}], selection="id age")
            for age in (20, 30, 40, 50)])

    bodies = run(main)
    for age, body in zip((20, 30, 40, 50), bodies):
        assert json.loads(body) == json.loads(repo.find(
            users, where={"age": {"gte": age}}, limit=3,
            order_by=[{"id": "ASC"}], selection="id age"))


def test_grouped_calls_give_the_bodies_of_calls_alone(fn, apool, schema,
                                                      sample, repo, raw):
    """Many different calls waiting together (so the queue groups them:
    lists, objects, connections with totalCount, executes of several roots,
    other tenants' settings, a response cap, an unknown field) each get
    exactly the body, or the error, the blocking repository gives alone."""
    from fraiseql_native import query_pb2
    users, posts = f"{sample}.v_user", f"{sample}.v_post"
    ids = [u["id"] for u in raw["v_user"][:20]]

    def execute_of(limit):
        q = query_pb2.QueryDefinition()
        for key, view in (("u", users), ("p", posts)):
            root = q.roots.add()
            root.view, root.response_key, root.is_list = view, key, True
            root.limit = limit
            root.order_by_json = '[{"id":"ASC"}]'
        return q.SerializeToString()

    calls = []
    for k, user_id in enumerate(ids):
        calls.append(("find_one", (users,), dict(
            where={"id": {"eq": user_id}}, selection="id email")))
        calls.append(("find", (posts,), dict(
            limit=k % 5 + 1, order_by=[{"id": "DESC"}])))
        calls.append(("find", (users,), dict(
            first=2, order_by=[{"id": "ASC"}], total_count=True,
            selection="id")))
        calls.append(("execute", (execute_of(k % 3 + 1),), {}))
        calls.append(("find", (users,), dict(
            limit=2, order_by=[{"id": "ASC"}],
            context={"tenant_id": f"tenant-{k % 3}"})))
        if k % 7 == 0:
            calls.append(("find", (users,), dict(where={"nosuch": {"eq": 1}})))

    def outcome(call):
        try:
            return ("ok", call())
        except fn.Error as e:
            return ("error", type(e).__name__, str(e))

    async def main():
        r = fresh(apool, schema, concurrency=2)  # most calls wait: grouped

        async def one(name, args, kwargs):
            try:
                return ("ok", await getattr(r, name)(*args, **kwargs))
            except fn.Error as e:
                return ("error", type(e).__name__, str(e))

        got = await asyncio.gather(*[one(n, a, k) for n, a, k in calls])
        return got, r.queue_stats()

    got, stats = run(main)
    assert stats["batches"] > 0
    for (name, args, kwargs), result in zip(calls, got):
        expected = outcome(lambda: getattr(repo, name)(*args, **kwargs))
        assert result == expected, (name, kwargs)
    assert sum(1 for r in got if r[0] == "error") == len(
        [c for c in calls if "nosuch" in json.dumps(c[2].get("where"))])


@pytest.fixture(scope="module")
def whoami_view(db_url):
    name = f"fql_pytest_whoami_{os.getpid()}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
        conn.execute(
            f'CREATE OR REPLACE VIEW "{name}".v_whoami AS SELECT 1 AS id, '
            "jsonb_build_object('tenant', "
            "current_setting('app.tenant_id', true)) AS data")
    yield f"{name}.v_whoami"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_grouped_calls_keep_their_own_settings(fn, apool, whoami_view):
    """Calls are grouped only with calls of the same settings: each one's
    statement sees its own tenant."""
    schema = fn.Schema()
    schema.add_view(whoami_view, "Whoami", {"tenant": "String"})
    tenants = [f"tenant-{k % 5}" for k in range(60)]

    async def main():
        r = fresh(apool, schema, concurrency=1)
        bodies = await asyncio.gather(*[
            r.find_one(whoami_view, field="me", context={"tenant_id": t})
            for t in tenants])
        return bodies, r.queue_stats()

    bodies, stats = run(main)
    assert stats["batches"] > 0
    assert [json.loads(b)["data"]["me"]["tenant"] for b in bodies] == tenants
