"""fraiseql_native.metrics: call records and pool stats as Prometheus
metrics, checked in what a scrape returns (generate_latest, parsed back)."""
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from fraiseql_native.metrics import PrometheusMetrics


def scrape(registry):
    """{(sample name, frozenset of labels): value} of one scrape."""
    text = generate_latest(registry).decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples}


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def record(**overrides):
    base = {"operation": "find", "view": "public.v_user", "shape": "s1",
            "backend": "backend.native", "acquire_wait": 0.0004,
            "execution": 0.003, "rows": 20, "bytes": 1834, "sqlstate": "",
            "error": None}
    base.update(overrides)
    return base


@pytest.fixture
def registry():
    return CollectorRegistry()


def test_calls_rows_and_bytes_are_counted_by_operation_backend_and_view(
        registry):
    metrics = PrometheusMetrics(registry)
    metrics.observe(record())
    metrics.observe(record(rows=5, bytes=100))
    metrics.observe(record(operation="count", rows=1, bytes=3))
    s = scrape(registry)
    find = dict(operation="find", backend="backend.native",
                view="public.v_user")
    assert value(s, "fraiseql_calls_total", **find) == 2
    assert value(s, "fraiseql_call_rows_total", **find) == 25
    assert value(s, "fraiseql_call_bytes_total", **find) == 1934
    count = dict(find, operation="count")
    assert value(s, "fraiseql_calls_total", **count) == 1
    assert value(s, "fraiseql_call_bytes_total", **count) == 3
    # No errors were observed: no error series at all.
    assert not [k for k in s if k[0] == "fraiseql_call_errors_total"]


def test_execution_and_acquire_wait_are_histograms_by_operation_and_backend(
        registry):
    metrics = PrometheusMetrics(registry)
    metrics.observe(record(execution=0.003, acquire_wait=0.0004))
    metrics.observe(record(execution=0.2, acquire_wait=0.02))
    metrics.observe(record(execution=None, acquire_wait=None))  # not timed
    s = scrape(registry)
    labels = dict(operation="find", backend="backend.native")
    name = "fraiseql_call_execution_seconds"
    assert value(s, name + "_count", **labels) == 2
    assert value(s, name + "_sum", **labels) == pytest.approx(0.203)
    assert value(s, name + "_bucket", le="0.005", **labels) == 1
    assert value(s, name + "_bucket", le="0.25", **labels) == 2
    assert value(s, name + "_bucket", le="+Inf", **labels) == 2
    wait = "fraiseql_call_acquire_wait_seconds"
    assert value(s, wait + "_count", **labels) == 2
    assert value(s, wait + "_sum", **labels) == pytest.approx(0.0204)
    assert value(s, wait + "_bucket", le="0.0005", **labels) == 1
    # The view is no label of the histograms (nor the unbounded shape key).
    assert value(s, name + "_count", view="public.v_user", **labels) is None


def test_errors_are_counted_by_sqlstate_else_by_exception_class(registry):
    metrics = PrometheusMetrics(registry)
    metrics.observe(record(sqlstate="23505", error="AlreadyExistsError",
                           rows=0, bytes=0))
    metrics.observe(record(sqlstate="23505", error="AlreadyExistsError"))
    metrics.observe(record(sqlstate="", error="TimeoutError"))
    metrics.observe(record(sqlstate=None, error="TimeoutError"))
    metrics.observe(record())  # a success is no error
    s = scrape(registry)
    labels = dict(operation="find", backend="backend.native")
    assert value(s, "fraiseql_call_errors_total", error="23505",
                 **labels) == 2
    assert value(s, "fraiseql_call_errors_total", error="TimeoutError",
                 **labels) == 2
    assert value(s, "fraiseql_calls_total", view="public.v_user",
                 **labels) == 5


def test_the_object_is_itself_a_hook_and_tolerates_missing_keys(registry):
    metrics = PrometheusMetrics(registry)
    metrics({"operation": "run", "backend": "backend.native"})
    s = scrape(registry)
    assert value(s, "fraiseql_calls_total", operation="run",
                 backend="backend.native", view="") == 1
    assert value(s, "fraiseql_call_execution_seconds_count", operation="run",
                 backend="backend.native") is None


def test_namespace_prefixes_every_metric(registry):
    metrics = PrometheusMetrics(registry, namespace="myapp")
    metrics.observe(record())
    names = {name for name, _ in scrape(registry)}
    assert "myapp_calls_total" in names
    assert not [n for n in names if n.startswith("fraiseql_")]


def test_the_default_registry_is_prometheus_clients():
    from prometheus_client import REGISTRY
    metrics = PrometheusMetrics(namespace="fql_test_default_registry")
    try:
        assert metrics.registry is REGISTRY
        metrics.observe(record())
        assert REGISTRY.get_sample_value(
            "fql_test_default_registry_calls_total",
            dict(operation="find", backend="backend.native",
                 view="public.v_user")) == 1
    finally:
        metrics.unregister()
    assert REGISTRY.get_sample_value(
        "fql_test_default_registry_calls_total",
        dict(operation="find", backend="backend.native",
             view="public.v_user")) is None


def test_two_metrics_of_one_namespace_cannot_share_a_registry(registry):
    first = PrometheusMetrics(registry)
    with pytest.raises(ValueError):
        PrometheusMetrics(registry)
    first.unregister()
    PrometheusMetrics(registry).observe(record())  # the names are free again
    assert value(scrape(registry), "fraiseql_calls_total",
                 operation="find", backend="backend.native",
                 view="public.v_user") == 1


def test_track_pool_exposes_a_real_pools_gauges_and_counters(
        fn, db_url, schema, users, registry):
    pool = fn.Pool(db_url, min_size=2, max_size=3, acquire_timeout=5)
    metrics = PrometheusMetrics(registry)
    metrics.track_pool("primary", pool)
    s = scrape(registry)
    assert value(s, "fraiseql_pool_size", pool="primary") == 2
    assert value(s, "fraiseql_pool_idle", pool="primary") == 2
    assert value(s, "fraiseql_pool_in_use", pool="primary") == 0
    assert value(s, "fraiseql_pool_waiting", pool="primary") == 0
    assert value(s, "fraiseql_pool_max_size", pool="primary") == 3
    assert value(s, "fraiseql_pool_opened_total", pool="primary") == 2
    assert value(s, "fraiseql_pool_acquired_total", pool="primary") == 0
    assert value(s, "fraiseql_pool_timeouts_total", pool="primary") == 0

    # Read at each scrape: calls show up in the next one.
    repo = fn.Repository(pool, schema)
    for _ in range(3):
        repo.find(users, limit=1)
    s = scrape(registry)
    assert value(s, "fraiseql_pool_acquired_total", pool="primary") == 3
    assert value(s, "fraiseql_pool_in_use", pool="primary") == 0
    assert value(s, "fraiseql_pool_idle", pool="primary") == 2


def test_several_pools_are_told_apart_and_untracked(fn, db_url, registry):
    metrics = PrometheusMetrics(registry)
    primary = fn.Pool(db_url, min_size=1, max_size=2)
    replica = fn.Pool(db_url, min_size=0, max_size=5)
    metrics.track_pool("primary", primary)
    metrics.track_pool("replica", replica)
    with pytest.raises(ValueError, match="already tracked"):
        metrics.track_pool("primary", replica)
    s = scrape(registry)
    assert value(s, "fraiseql_pool_max_size", pool="primary") == 2
    assert value(s, "fraiseql_pool_max_size", pool="replica") == 5
    assert value(s, "fraiseql_pool_size", pool="primary") == 1
    assert value(s, "fraiseql_pool_size", pool="replica") == 0
    metrics.untrack_pool("replica")
    s = scrape(registry)
    assert value(s, "fraiseql_pool_max_size", pool="replica") is None
    assert value(s, "fraiseql_pool_max_size", pool="primary") == 2
    with pytest.raises(KeyError):
        metrics.untrack_pool("replica")


def test_registering_reads_no_pool(registry):
    class Exploding:
        def stats(self):
            raise AssertionError("stats() read outside a scrape")

    metrics = PrometheusMetrics(registry)
    metrics.track_pool("lazy", Exploding())  # no scrape yet: not read
    with pytest.raises(AssertionError):
        generate_latest(registry)


# --- The repository's per-call hook (Repository(on_call=...)) ---


def test_repository_hook_records_every_call_and_feeds_the_metrics(
        fn, pool, schema, users, raw, registry):
    records = []
    metrics = PrometheusMetrics(registry)

    def hook(r):
        records.append(r)
        metrics(r)

    repo = fn.Repository(pool, schema, on_call=hook)
    body = repo.find(users, where={"age": {"gte": 0}}, selection="id")
    repo.find(users, where={"age": {"gte": 1}}, selection="id")
    assert repo.count(users) == len(raw["v_user"])
    with pytest.raises(fn.DatabaseError):
        repo.run("SELECT 1/0 AS x")

    find, find2, count, failed = records
    expected_rows = sum(1 for u in raw["v_user"]
                        if u.get("age") is not None and u["age"] >= 0)
    assert find["operation"] == "find" and find["view"] == users
    assert find["backend"] == "native"
    assert find["rows"] == expected_rows
    assert find["bytes"] == len(body)
    assert find["error"] is None and find["sqlstate"] is None
    assert find["execution"] > 0 and find["acquire_wait"] >= 0
    # Same statement shape whatever the values.
    assert find["shape"] == find2["shape"] and len(find["shape"]) == 16
    assert count["operation"] == "count" and count["shape"] != find["shape"]
    assert failed["operation"] == "run" and failed["sqlstate"] == "22012"
    assert failed["error"] == "DatabaseError"

    samples = scrape(registry)
    assert value(samples, "fraiseql_calls_total", operation="find",
                 backend="native", view=users) == 2
    assert value(samples, "fraiseql_call_rows_total", operation="find",
                 backend="native", view=users) == expected_rows + find2["rows"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_raising_hook_does_not_change_the_call(fn, pool, schema, users,
                                                repo):
    seen = []

    def hook(r):
        seen.append(r["operation"])
        raise RuntimeError("metrics down")

    hooked = fn.Repository(pool, schema, on_call=hook)
    assert hooked.find(users, limit=2, order_by=[{"id": "ASC"}]) == \
        repo.find(users, limit=2, order_by=[{"id": "ASC"}])
    assert seen == ["find"]


def test_async_repository_reports_on_the_loop(fn, pool, schema, users):
    import asyncio
    import threading
    from fraiseql_native import aio

    seen = []

    def hook(r):
        seen.append((r["operation"], threading.get_ident()))

    async def main():
        r = aio.AsyncRepository(pool, schema, on_call=hook)
        await asyncio.gather(r.count(users), r.find(users, limit=1))
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert sorted(op for op, _ in seen) == ["count", "find"]
    assert {t for _, t in seen} == {loop_thread}


def test_async_calls_that_never_ran_are_reported(fn, pool, schema, users):
    import asyncio
    from fraiseql_native import aio

    seen = []

    async def main():
        r = aio.AsyncRepository(pool, schema, concurrency=1,
                                on_call=seen.append)
        tx = await r.transaction()  # holds the only slot
        with pytest.raises(fn.PoolTimeoutError):
            await r.count(users, timeout=0.1)  # its deadline passes queued
        await tx.rollback()

    asyncio.run(main())
    assert [(r["operation"], r["error"]) for r in seen] == \
        [("count", "PoolTimeoutError")]
    assert seen[0]["rows"] == 0 and seen[0]["execution"] == 0
