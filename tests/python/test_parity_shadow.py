"""Shadow mode (fraiseql_native.parity.Shadow) on the real server: the
caller always gets the primary's result, the candidate runs off the
caller's path on a bounded queue, and every comparison is published."""
import json
import os
import threading

import psycopg
import pytest

from fraiseql_native import parity
import test_parity_backends as tb
from sample_registry import register_sample

DEADLINE = 60.0
FIND = dict(field="users", order_by=[{"id": "ASC"}], limit=5,
            selection="id firstName balance")


@pytest.fixture
def block():
    tb.BLOCK.reset()
    yield tb.BLOCK
    tb.BLOCK.release.set()


@pytest.fixture(scope="module")
def shuffled(fn, db_url, sample, pool):
    """A schema with the sample views plus `v_shuffled`: 20 users in a new
    random order at every read (no stable order: A/A noise)."""
    name = f"fql_pytest_parity_{os.getpid()}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{name}"')
        conn.execute(
            f'CREATE VIEW "{name}".v_shuffled AS SELECT * FROM '
            f'(SELECT id, tenant_id, data FROM "{sample}".v_user '
            f'ORDER BY id LIMIT 20) s ORDER BY random()')
    schema = register_sample(fn, sample)
    schema.add_view(f"{name}.v_shuffled", "Shuffled",
                    {"id": "UUID", "first_name": "String"},
                    columns={"id": "uuid", "tenant_id": "uuid",
                             "data": "jsonb"})
    yield fn.Repository(pool, schema), f"{name}.v_shuffled"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_sampled_calls_match_between_two_native_repositories(
        fn, pool, schema, repo, users):
    other = fn.Repository(pool, schema)
    seen = []
    with parity.Shadow(repo, other, sample_rate=1.0,
                       publisher=seen.append) as shadow:
        assert shadow.find(users, **FIND) == repo.find(users, **FIND)
        assert shadow.count(users, where={"age": {"gte": 30}}) == \
            repo.count(users, where={"age": {"gte": 30}})
        assert shadow.exists(users) is True
        assert shadow.sum(users, "balance") == repo.sum(users, "balance")
        assert shadow.distinct(users, "age", limit=3) == \
            repo.distinct(users, "age", limit=3)
        assert shadow.drain(DEADLINE)
        stats = shadow.stats()
    assert stats["calls"] == 5 and stats["sampled"] == 5
    assert stats["compared"] == 5 and stats["matched"] == 5, stats
    assert stats["mismatched"] == stats["dropped"] == 0
    assert [r["call"] for r in seen] == ["find", "count", "exists", "sum",
                                         "distinct"]
    assert all(r["outcome"] == "match" for r in seen)


def test_candidate_failures_never_reach_the_caller(fn, pool, schema, repo,
                                                   users, sample):
    # A Python backend that raises in execute(), and a Repository over a
    # schema that does not have the view (its planner refuses the call).
    raising = fn.Repository(pool, schema, backend=tb.RAISING)
    other = fn.Schema()
    other.add_view(f"{sample}.v_post", "Post", {"id": "UUID"},
                   columns={"id": "uuid", "data": "jsonb"})
    seen = []
    for candidate in (raising, fn.Repository(pool, other)):
        with parity.Shadow(repo, candidate, sample_rate=1.0,
                           publisher=seen.append) as shadow:
            assert shadow.find(users, **FIND) == repo.find(users, **FIND)
            assert shadow.count(users) == repo.count(users)
            assert shadow.drain(DEADLINE)
            stats = shadow.stats()
        assert stats["compared"] == stats["candidate_errors"] == 2, stats
        assert stats["matched"] == stats["mismatched"] == 0
    assert len(seen) == 4
    assert all(r["outcome"] == "candidate_error" for r in seen)
    assert all(r["errors"]["primary"] is None for r in seen)
    assert [r["errors"]["candidate"] for r in seen][2:] == [
        "InvalidInputError"] * 2
    assert all(r["differences"] == [{"path": "$", "kind": "error",
                                     "primary": "ok",
                                     "candidate": r["errors"]["candidate"],
                                     "rule": None}] for r in seen)


def test_primary_errors_propagate_unchanged(fn, pool, schema, repo, users):
    other = fn.Repository(pool, schema)
    with parity.Shadow(repo, other, sample_rate=1.0) as shadow:
        with pytest.raises(fn.InvalidInputError) as shadowed:
            shadow.find(users, where={"no_such_field": {"eq": 1}})
        with pytest.raises(fn.InvalidInputError) as direct:
            repo.find(users, where={"no_such_field": {"eq": 1}})
        assert str(shadowed.value) == str(direct.value)
        assert shadow.drain(DEADLINE)
        stats = shadow.stats()
    assert stats["primary_errors"] == 1
    # Both sides raised the same class: that is the same answer.
    assert stats["matched"] == 1 and stats["mismatched"] == 0


def test_blocked_candidate_does_not_hold_up_the_primary(
        fn, pool, schema, repo, users, block):
    candidate = fn.Repository(pool, schema, backend=tb.BLOCKING)
    published = threading.Event()
    seen = []

    def publish(record):
        seen.append(record)
        if len(seen) == 2:
            published.set()

    shadow = parity.Shadow(repo, candidate, sample_rate=1.0,
                           publisher=publish)
    try:
        expected = repo.find(users, **FIND)
        assert shadow.find(users, **FIND) == expected
        # The candidate is now inside execute(), blocked on the event...
        assert block.entered.wait(DEADLINE)
        # ...and a second call still returns the primary's response.
        assert shadow.find(users, **FIND) == expected
        assert not block.release.is_set()
        stats = shadow.stats()
        assert stats["compared"] == 0 and stats["pending"] == 2
        assert not published.is_set()
        block.release.set()
        assert published.wait(DEADLINE)
        assert shadow.drain(DEADLINE)
    finally:
        block.release.set()
        shadow.close(DEADLINE)
    assert [r["outcome"] for r in seen] == ["match", "match"]
    assert shadow.stats()["matched"] == 2


def test_a_full_queue_drops_samples_and_counts_them(
        fn, pool, schema, repo, users, block):
    candidate = fn.Repository(pool, schema, backend=tb.BLOCKING)
    shadow = parity.Shadow(repo, candidate, sample_rate=1.0, queue_size=1,
                           workers=1)
    try:
        shadow.count(users)                 # taken by the worker, blocked
        assert block.entered.wait(DEADLINE)
        shadow.count(users)                 # waits in the queue (1 slot)
        shadow.count(users)                 # dropped
        shadow.count(users)                 # dropped
        stats = shadow.stats()
        assert stats["calls"] == 4 and stats["sampled"] == 4
        assert stats["dropped"] == 2, stats
        block.release.set()
        assert shadow.drain(DEADLINE)
    finally:
        block.release.set()
        assert shadow.close(DEADLINE)
    stats = shadow.stats()
    assert stats["compared"] == 2 and stats["matched"] == 2
    assert stats["dropped"] == 2 and stats["pending"] == 0


def test_sample_rate_zero_one_and_between(fn, pool, schema, repo, users):
    other = fn.Repository(pool, schema)
    with parity.Shadow(repo, other, sample_rate=0.0) as none:
        for _ in range(20):
            none.count(users)
        assert none.drain(DEADLINE)
        assert none.stats()["calls"] == 20
        assert none.stats()["sampled"] == none.stats()["compared"] == 0
    with parity.Shadow(repo, other, sample_rate=1.0) as every:
        for _ in range(20):
            every.count(users)
        assert every.drain(DEADLINE)
        assert every.stats()["sampled"] == every.stats()["compared"] == 20
    with parity.Shadow(repo, other, sample_rate=0.5, seed=7) as half:
        for _ in range(200):
            half.exists(users)
        assert half.drain(DEADLINE)
        sampled = half.stats()["sampled"]
    assert 50 < sampled < 150
    with pytest.raises(ValueError):
        parity.Shadow(repo, other, sample_rate=1.5)


def test_streams_mutations_and_transactions_are_not_shadowed(
        fn, pool, schema, repo, users):
    other = fn.Repository(pool, schema)
    with parity.Shadow(repo, other, sample_rate=1.0) as shadow:
        with shadow.find_stream(users, **FIND) as pieces:
            assert b"".join(pieces) == repo.find(users, **FIND)
        with shadow.transaction(read_only=True) as tx:
            assert tx.count(users) == repo.count(users)
        assert shadow.drain(DEADLINE)
        stats = shadow.stats()
    assert stats["skipped"] == 2
    assert stats["calls"] == stats["sampled"] == 0


def test_publishers_json_lines_callable_and_counters(
        fn, pool, schema, repo, users, tmp_path):
    altering = fn.Repository(pool, schema, backend=tb.ALTERING)
    path = tmp_path / "shadow.jsonl"
    lines = parity.JsonLinesPublisher(str(path))
    counters = parity.CounterPublisher()
    calls = []

    def broken(record):
        raise RuntimeError("a publisher that fails")

    with parity.Shadow(repo, altering, sample_rate=1.0,
                       publisher=[broken, lines, calls.append, counters],
                       rules=[tb.AlteringBackend.known_differences]) as s:
        s.find(users, **FIND)
        s.count(users)
        assert s.drain(DEADLINE)
        stats = s.stats()
    assert stats["publisher_errors"] == 2
    assert stats["explained"] == 1 and stats["matched"] == 1
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records == json.loads(json.dumps(calls))
    assert [r["outcome"] for r in records] == ["explained", "match"]
    first = records[0]
    for key in ("ts", "call", "shape", "shape_id", "outcome", "differences",
                "latency_ms"):
        assert key in first
    assert first["latency_ms"]["primary"] > 0
    assert first["latency_ms"]["candidate"] > 0
    paths = {(d["path"], d["kind"], d["rule"]) for d in first["differences"]}
    assert paths == {(f"data.users[{i}].balance", "number",
                      "test.float_balance") for i in range(5)}
    snap = counters.snapshot()
    assert snap["outcomes"] == {"explained": 1, "match": 1}
    # One key for the path of every row of the list.
    assert snap["paths"] == {"data.users[*].balance": {
        "number:test.float_balance": 5}}
    assert set(snap["shapes"]) == {records[0]["shape"], records[1]["shape"]}


def test_unexplained_differences_without_the_rule(
        fn, pool, schema, repo, users):
    altering = fn.Repository(pool, schema, backend=tb.ALTERING)
    counters = parity.CounterPublisher()
    with parity.Shadow(repo, altering, sample_rate=1.0,
                       publisher=counters, known_differences_of=()) as s:
        s.find(users, **FIND)
        assert s.drain(DEADLINE)
        assert s.stats()["mismatched"] == 1
    assert counters.snapshot()["paths"] == {"data.users[*].balance": {
        "number": 5}}


def test_log_publisher(fn, pool, schema, repo, users, caplog):
    altering = fn.Repository(pool, schema, backend=tb.ALTERING)
    caplog.set_level("WARNING", logger="fraiseql_native.parity")
    with parity.Shadow(repo, altering, sample_rate=1.0,
                       publisher=parity.LogPublisher(),
                       known_differences_of=()) as s:
        s.find(users, **FIND)
        s.count(users)
        assert s.drain(DEADLINE)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1   # the match is logged at DEBUG
    assert "mismatch" in messages[0]
    assert "data.users[0].balance (number)" in messages[0]


def test_a_a_shows_unstable_order_as_array_order_noise(shuffled, users):
    repo, view = shuffled
    seen = []
    with parity.Shadow(repo, repo, sample_rate=1.0,
                       publisher=seen.append) as aa:
        aa.find(view, field="rows", selection="id firstName")
        aa.find(view, field="rows", selection="id firstName",
                order_by=[{"id": "ASC"}])
        assert aa.drain(DEADLINE)
    unstable, stable = seen
    # 20 rows in a new random order: the same order twice has odds 1/20!.
    assert unstable["outcome"] == "mismatch"
    assert [(d["path"], d["kind"]) for d in unstable["differences"]] == [
        ("data.rows", "array_order")]
    assert stable["outcome"] == "match"


def test_calibrate_reports_the_same_noise_from_a_traffic_file(shuffled,
                                                              tmp_path):
    repo, view = shuffled
    path = tmp_path / "aa.jsonl"
    with parity.Recorder(repo, str(path)) as rec:
        rec.find(view, field="rows", selection="id firstName")
        rec.find(view, field="rows", selection="id firstName",
                 order_by=[{"id": "ASC"}])
    report = parity.calibrate(repo, str(path), runs=3)
    assert report.calls == 6
    by_order = {bool("order{" in s.label): s for s in report.shapes.values()}
    noisy, stable = by_order[False], by_order[True]
    assert noisy.mismatches == 3
    assert [(d["path"], d["kind"], d["count"])
            for d in noisy.to_dict()["differences"]] == [
        ("data.rows", "array_order", 3)]
    assert stable.matches == 3 and stable.mismatches == 0


def test_redacted_comparisons_publish_no_values(fn, pool, schema, repo,
                                                users):
    altering = fn.Repository(pool, schema, backend=tb.ALTERING)
    seen = []
    plain = json.loads(repo.find(users, **FIND))
    with parity.Shadow(repo, altering, sample_rate=1.0, redact=True,
                       publisher=seen.append) as s:
        s.find(users, **FIND)
        assert s.drain(DEADLINE)
    diffs = seen[0]["differences"]
    assert [d["path"] for d in diffs] == [
        f"data.users[{i}].balance" for i in range(5)]
    text = json.dumps([(d["primary"], d["candidate"]) for d in diffs])
    for user in plain["data"]["users"]:
        assert str(user["balance"]) not in text


def test_the_backends_own_known_differences_apply_by_default(
        fn, pool, schema, repo, users):
    """No rules given: the candidate's backend declares the difference it
    makes (known_differences), and Shadow finds it through
    Repository.backend."""
    altering = fn.Repository(pool, schema, backend=tb.ALTERING)
    assert altering.backend == tb.ALTERING
    records = []
    with parity.Shadow(repo, altering, sample_rate=1.0,
                       publisher=records.append) as s:
        s.find(users, **FIND)
        assert s.drain(DEADLINE)
        stats = s.stats()
    assert stats["explained"] == 1 and stats["mismatched"] == 0
    rules = {d["rule"] for d in records[0]["differences"]}
    assert rules == set(tb.AlteringBackend.known_differences)
    # (known_differences_of=() turns them off: see
    # test_unexplained_differences_without_the_rule.)


def _workers_end(shadow):
    """Joins every worker thread of `shadow` (generous deadline each);
    True when none is left running."""
    for t in shadow._workers:
        t.join(DEADLINE)
    return not any(t.is_alive() for t in shadow._workers)


def test_close_with_a_full_queue_stops_every_worker(
        fn, pool, schema, repo, users, block):
    candidate = fn.Repository(pool, schema, backend=tb.BLOCKING)
    shadow = parity.Shadow(repo, candidate, sample_rate=1.0, queue_size=1,
                           workers=2)
    assert all(t.daemon for t in shadow._workers)
    try:
        shadow.count(users)             # taken by a worker, blocked
        assert block.entered.wait(DEADLINE)
        block.entered.clear()
        shadow.count(users)             # the other worker, blocked
        assert block.entered.wait(DEADLINE)
        shadow.count(users)             # waits in the queue (1 slot)
        shadow.count(users)             # dropped: the queue is full
        assert shadow.stats()["dropped"] == 1
        # Both workers are inside the candidate and the queue is full:
        # close cannot finish now, but the workers must still get their
        # stop.
        assert shadow.close(0) is False
        assert shadow.stats()["dropped"] == 2   # the queued one too
        shadow.count(users)             # after close: counted, not sampled
    finally:
        block.release.set()
    assert _workers_end(shadow), [t.name for t in shadow._workers
                                  if t.is_alive()]
    assert shadow.close(DEADLINE) is True       # a second close: all ended
    stats = shadow.stats()
    assert stats["calls"] == 5 and stats["sampled"] == 4, stats
    assert stats["compared"] == 2 and stats["dropped"] == 2, stats
    assert stats["pending"] == 0
    assert shadow.drain() is True


def _race_first_put(shadow, on_put):
    """Makes the first put on the Shadow's queue run `on_put` just before
    the item goes in: the moment a call racing close() is most exposed."""
    q = shadow._queue
    real = q.put_nowait
    hook = [on_put]

    def put_nowait(item):
        if hook:
            hook.pop()()
        return real(item)

    q.put_nowait = put_nowait


def test_a_call_racing_close_never_leaves_pending(fn, pool, schema, repo,
                                                  users):
    other = fn.Repository(pool, schema)
    shadow = parity.Shadow(repo, other, sample_rate=1.0, workers=2)
    closed = []

    def close_now():
        # close() from another thread, unless the sampling call holds the
        # Shadow's lock (then close waits for it and cannot interleave).
        if shadow._lock.locked():
            return
        t = threading.Thread(target=lambda: closed.append(
            shadow.close(DEADLINE)))
        t.start()
        t.join(DEADLINE)

    _race_first_put(shadow, close_now)
    assert shadow.count(users) == repo.count(users)
    assert shadow.close(DEADLINE) is True
    assert shadow.stats()["pending"] == 0, shadow.stats()
    assert shadow.drain(DEADLINE) is True
    assert _workers_end(shadow)


def test_many_calls_racing_close(fn, pool, schema, repo, users):
    other = fn.Repository(pool, schema)
    shadow = parity.Shadow(repo, other, sample_rate=1.0, workers=3,
                           queue_size=4)
    started = threading.Barrier(5)
    errors = []

    def caller():
        started.wait(DEADLINE)
        try:
            for _ in range(20):
                shadow.exists(users)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    started.wait(DEADLINE)
    shadow.close(DEADLINE)
    for t in threads:
        t.join(DEADLINE)
    assert not errors
    assert shadow.close(DEADLINE) is True
    stats = shadow.stats()
    assert stats["calls"] == 80 and stats["pending"] == 0, stats
    assert stats["sampled"] == stats["compared"] + stats["dropped"], stats
    assert shadow.drain(DEADLINE) is True
    assert _workers_end(shadow)


def test_counter_publisher_keys_are_generic_and_capped():
    def record(i):
        return {"outcome": "mismatch", "shape": f"shape {i % 3}",
                "differences": [
                    {"path": f"data.users[{i}].balance", "kind": "number",
                     "rule": None},
                    {"path": f"data.f{i}", "kind": "value", "rule": "r"}]}

    counters = parity.CounterPublisher(max_keys=10)
    for i in range(50):
        counters(record(i))
    snap = counters.snapshot()
    assert snap["outcomes"] == {"mismatch": 50}
    assert len(snap["paths"]) == 10 + 1
    assert snap["paths"]["data.users[*].balance"] == {"number": 50}
    # 9 more distinct paths fit; the other 41 are counted under "other".
    assert snap["paths"]["other"] == {"value:r": 41}
    assert sum(sum(v.values()) for v in snap["paths"].values()) == 100
    assert len(snap["shapes"]) == 3
    assert parity.CounterPublisher().max_keys == 1000
