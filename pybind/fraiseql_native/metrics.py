"""fraiseql_native.metrics: Prometheus metrics of repository calls and pools.

Uses Debian's python3-prometheus-client. One PrometheusMetrics per registry
and namespace::

    from fraiseql_native.metrics import PrometheusMetrics
    metrics = PrometheusMetrics()               # the default REGISTRY
    metrics.track_pool("primary", pool)         # gauges read at each scrape
    metrics.observe(record)                     # once per call

A record is the dict the repository's per-call hook receives (also accepted
by calling the object itself, so it can be the hook)::

    {"operation": "find", "view": "public.v_user", "shape": "<shape key>",
     "backend": "backend.native", "acquire_wait": 0.0004, "execution": 0.0021,
     "rows": 20, "bytes": 1834, "sqlstate": "", "error": None}

seconds as floats; "sqlstate" empty (or None) when the server reported no
error; "error" the exception's class name, or None on success. Missing keys
count as empty. The shape key is not a label: it is unbounded.

Exposed (with the default namespace "fraiseql"):

- fraiseql_call_execution_seconds{operation,backend}: histogram of the
  call's time apart from the wait for a connection;
- fraiseql_call_acquire_wait_seconds{operation,backend}: histogram of the
  wait for a pool connection;
- fraiseql_calls_total{operation,backend,view},
  fraiseql_call_rows_total{...}, fraiseql_call_bytes_total{...}: counters;
- fraiseql_call_errors_total{operation,backend,error}: failed calls by
  SQLSTATE when the server gave one ("23505"), else by exception class
  ("DeadlineExceeded");
- per tracked pool, labelled pool=<name>: gauges fraiseql_pool_size,
  fraiseql_pool_idle, fraiseql_pool_in_use, fraiseql_pool_waiting,
  fraiseql_pool_max_size and counters fraiseql_pool_acquired_total,
  fraiseql_pool_timeouts_total, fraiseql_pool_connect_errors_total,
  fraiseql_pool_opened_total, fraiseql_pool_closed_total,
  fraiseql_pool_rejected_total, fraiseql_pool_health_check_failures_total,
  fraiseql_pool_retired_total, each read from pool.stats() at scrape time.

Thread-safe: observe() may be called from any thread (prometheus_client's
metrics lock themselves); track_pool/untrack_pool take a lock shared with
the scrape.
"""
import threading
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

__all__ = ["PrometheusMetrics"]

# Calls take from well under a millisecond (a point lookup on a warm
# connection) to the statement_timeout (30 s by default).
DEFAULT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                   0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, float("inf"))

# pool.stats() key -> (metric name without namespace, help, kind)
_POOL_GAUGES = (
    ("size", "pool_size", "Open connections (idle, in use or being opened)."),
    ("idle", "pool_idle", "Idle connections."),
    ("in_use", "pool_in_use", "Connections lent out."),
    ("waiting", "pool_waiting", "Callers waiting for a connection."),
    ("max_size", "pool_max_size", "The pool's connection limit."),
)
_POOL_COUNTERS = (
    ("acquired_total", "pool_acquired", "Connections handed out."),
    ("timeouts", "pool_timeouts", "Acquires whose deadline passed."),
    ("errors", "pool_connect_errors", "Failed connection attempts."),
    ("opened", "pool_opened", "Connections opened."),
    ("closed", "pool_closed", "Connections closed, for any reason."),
    ("rejected", "pool_rejected", "Acquires refused: wait queue full."),
    ("health_check_failures", "pool_health_check_failures",
     "Idle connections that failed their health check."),
    ("retired", "pool_retired",
     "Connections closed for idle_timeout or max_lifetime."),
)


def _label(value: Any) -> str:
    return "" if value is None else str(value)


def _seconds(value: Any) -> Optional[float]:
    if value is None:
        return None
    seconds = float(value)
    return seconds if seconds >= 0 else None


class _PoolCollector:
    """Reads every tracked pool's stats() at scrape time."""

    def __init__(self, namespace: str):
        self._namespace = namespace
        self._lock = threading.Lock()
        self._pools: Dict[str, Any] = {}

    def add(self, name: str, pool: Any) -> None:
        with self._lock:
            if name in self._pools:
                raise ValueError(f"a pool named {name!r} is already tracked")
            self._pools[name] = pool

    def remove(self, name: str) -> None:
        with self._lock:
            if self._pools.pop(name, None) is None:
                raise KeyError(f"no pool named {name!r} is tracked")

    def _families(self):
        ns = self._namespace
        gauges = {key: GaugeMetricFamily(f"{ns}_{metric}", help_text,
                                         labels=["pool"])
                  for key, metric, help_text in _POOL_GAUGES}
        counters = {key: CounterMetricFamily(f"{ns}_{metric}", help_text,
                                             labels=["pool"])
                    for key, metric, help_text in _POOL_COUNTERS}
        return gauges, counters

    def describe(self) -> Iterable:
        # Names only, so that registering never calls pool.stats().
        gauges, counters = self._families()
        return [*gauges.values(), *counters.values()]

    def collect(self) -> Iterable:
        gauges, counters = self._families()
        with self._lock:
            pools = list(self._pools.items())
        for name, pool in pools:
            stats = pool.stats()
            for key, family in gauges.items():
                if key in stats:
                    family.add_metric([name], float(stats[key]))
            for key, family in counters.items():
                if key in stats:
                    family.add_metric([name], float(stats[key]))
        return [*gauges.values(), *counters.values()]


class PrometheusMetrics:
    """Prometheus metrics of calls (observe) and pools (track_pool).

    registry: a prometheus_client CollectorRegistry; None: the default
    REGISTRY. Two PrometheusMetrics of one namespace cannot share a registry
    (prometheus_client refuses duplicate names: ValueError).
    """

    def __init__(self, registry: Optional[CollectorRegistry] = None,
                 namespace: str = "fraiseql",
                 buckets: Sequence[float] = DEFAULT_BUCKETS):
        self.registry = REGISTRY if registry is None else registry
        self.namespace = namespace
        common = dict(namespace=namespace, registry=self.registry)
        self._execution = Histogram(
            "call_execution_seconds",
            "Time of a repository call apart from the wait for a connection.",
            ["operation", "backend"], buckets=buckets, **common)
        self._acquire_wait = Histogram(
            "call_acquire_wait_seconds",
            "Time a repository call waited for a pool connection.",
            ["operation", "backend"], buckets=buckets, **common)
        self._calls = Counter("calls", "Repository calls.",
                              ["operation", "backend", "view"], **common)
        self._rows = Counter("call_rows", "Rows the server returned to calls.",
                             ["operation", "backend", "view"], **common)
        self._bytes = Counter("call_bytes",
                              "Bytes of the responses calls returned.",
                              ["operation", "backend", "view"], **common)
        self._errors = Counter(
            "call_errors",
            "Failed calls, by SQLSTATE when the server gave one, else by "
            "exception class.",
            ["operation", "backend", "error"], **common)
        self._pools = _PoolCollector(namespace)
        self.registry.register(self._pools)

    def observe(self, record: Mapping[str, Any]) -> None:
        """Counts one call's record (see the module docstring)."""
        operation = _label(record.get("operation"))
        backend = _label(record.get("backend"))
        view = _label(record.get("view"))
        self._calls.labels(operation, backend, view).inc()
        rows = record.get("rows") or 0
        if rows > 0:
            self._rows.labels(operation, backend, view).inc(rows)
        size = record.get("bytes") or 0
        if size > 0:
            self._bytes.labels(operation, backend, view).inc(size)
        execution = _seconds(record.get("execution"))
        if execution is not None:
            self._execution.labels(operation, backend).observe(execution)
        wait = _seconds(record.get("acquire_wait"))
        if wait is not None:
            self._acquire_wait.labels(operation, backend).observe(wait)
        sqlstate = record.get("sqlstate") or ""
        error = record.get("error")
        if sqlstate or error:
            self._errors.labels(operation, backend,
                                sqlstate or _label(error)).inc()

    # So that the object itself can be the repository's per-call hook.
    __call__ = observe

    def track_pool(self, name: str, pool: Any) -> None:
        """Exposes `pool`'s stats() under the label pool=`name`, read at each
        scrape. Keeps a reference to the pool until untrack_pool(name).
        ValueError when `name` is already tracked."""
        self._pools.add(name, pool)

    def untrack_pool(self, name: str) -> None:
        """Stops exposing the pool tracked as `name` (KeyError if none)."""
        self._pools.remove(name)

    def unregister(self) -> None:
        """Removes every metric of this object from its registry (e.g. at
        shutdown, or before making another of the same namespace)."""
        for collector in (self._execution, self._acquire_wait, self._calls,
                          self._rows, self._bytes, self._errors, self._pools):
            self.registry.unregister(collector)
