"""Shadow traffic: a wrapper with the Repository's query calls that serves
the primary's result on the caller's thread and, for a sampled share of
calls, runs the same call on the candidate off the caller's path and
publishes the comparison.

Threading: the caller's thread runs the primary, draws the sample and puts
it on a bounded queue without blocking (a full queue drops the sample and
counts it). `workers` daemon threads take samples, run the candidate and
compare. Nothing the candidate, the comparison or a publisher raises reaches
the caller: each is counted (and published as an outcome where it is the
candidate's). Every method of Shadow is thread-safe; close() drains the
queue (up to its timeout), drops what is left and stops the workers (each
once its current candidate call returns). The workers are daemon threads:
a Shadow never closed does not keep the interpreter alive.

mutate, transaction, find_stream and execute_stream run on the primary only
(never shadowed) and are counted as `skipped`; any other attribute is the
primary's."""
import queue
import random
import threading
import time

from . import calls as calls_mod
from . import outcome as outcome_mod
from .shape import shape as shape_of

_STOP = object()

_COUNTERS = ("calls", "sampled", "compared", "matched", "mismatched",
             "explained", "candidate_errors", "primary_errors", "dropped",
             "skipped", "publisher_errors", "internal_errors")


class Shadow:
    """Shadow(primary, candidate, *, sample_rate, queue_size=1000,
    workers=1, publisher=None, ignore=(), rules=(), check_key_order=False,
    redact=False, seed=None).

    sample_rate: share of calls (0 to 1) also run on the candidate.
    publisher: a callable taking each comparison record, or a list of them
      (LogPublisher, CounterPublisher, JsonLinesPublisher, any function).
    rules: (name, classifier) pairs and/or known_differences dicts
      (name -> {"classifier": ...}) of the backends.
    known_differences_of: backend names whose known differences apply
      (fraiseql_native.backend_known_differences(name)); None (the
      default): the backends of both repositories (Repository.backend).
    A/A calibration: Shadow(repo, repo, sample_rate=1) measures the noise of
    comparing a backend with itself (e.g. rows without a stable order)."""

    def __init__(self, primary, candidate, *, sample_rate, queue_size=1000,
                 workers=1, publisher=None, ignore=(), rules=(),
                 check_key_order=False, redact=False, seed=None,
                 max_differences=100, known_differences_of=None):
        if known_differences_of is None:
            known_differences_of = outcome_mod.backends_of(primary, candidate)
        rate = float(sample_rate)
        if not 0.0 <= rate <= 1.0:
            raise ValueError("sample_rate must be between 0 and 1")
        if int(queue_size) < 1:
            raise ValueError("queue_size must be at least 1")
        if int(workers) < 1:
            raise ValueError("workers must be at least 1")
        self.primary = primary
        self.candidate = candidate
        self.sample_rate = rate
        self.options = outcome_mod.Options(
            ignore=ignore, rules=rules, check_key_order=check_key_order,
            redact=redact, max_differences=max_differences,
            known_differences_of=known_differences_of)
        if publisher is None:
            self.publishers = []
        elif callable(publisher):
            self.publishers = [publisher]
        else:
            self.publishers = list(publisher)
        for p in self.publishers:
            if not callable(p):
                raise TypeError("a publisher must be callable")
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._counts = dict.fromkeys(_COUNTERS, 0)
        self._pending = 0          # sampled, not yet published
        self._closed = False       # no new samples
        self._stopping = False     # the stop marker is posted
        self._publishers_closed = False
        self._queue = queue.Queue(maxsize=int(queue_size))
        self._workers = []
        for i in range(int(workers)):
            t = threading.Thread(target=self._work, daemon=True,
                                 name=f"fraiseql-shadow-{i}")
            t.start()
            self._workers.append(t)

    # ---- the Repository's query calls ------------------------------------
    def find(self, *args, **kwargs):
        return self._shadowed("find", args, kwargs)

    def find_one(self, *args, **kwargs):
        return self._shadowed("find_one", args, kwargs)

    def count(self, *args, **kwargs):
        return self._shadowed("count", args, kwargs)

    def exists(self, *args, **kwargs):
        return self._shadowed("exists", args, kwargs)

    def sum(self, *args, **kwargs):
        return self._shadowed("sum", args, kwargs)

    def avg(self, *args, **kwargs):
        return self._shadowed("avg", args, kwargs)

    def min(self, *args, **kwargs):
        return self._shadowed("min", args, kwargs)

    def max(self, *args, **kwargs):
        return self._shadowed("max", args, kwargs)

    def distinct(self, *args, **kwargs):
        return self._shadowed("distinct", args, kwargs)

    def execute(self, *args, **kwargs):
        return self._shadowed("execute", args, kwargs)

    # ---- passed through to the primary, never shadowed -------------------
    def find_stream(self, *args, **kwargs):
        self._count("skipped")
        return self.primary.find_stream(*args, **kwargs)

    def execute_stream(self, *args, **kwargs):
        self._count("skipped")
        return self.primary.execute_stream(*args, **kwargs)

    def mutate(self, *args, **kwargs):
        self._count("skipped")
        return self.primary.mutate(*args, **kwargs)

    def transaction(self, *args, **kwargs):
        self._count("skipped")
        return self.primary.transaction(*args, **kwargs)

    def __getattr__(self, name):
        # explain, plan_cache_stats, ...: the primary's.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.primary, name)

    # ---- state -----------------------------------------------------------
    def stats(self):
        """Counters: calls, sampled, compared, matched, mismatched,
        explained, candidate_errors, primary_errors, dropped, skipped,
        publisher_errors, internal_errors, and pending (sampled calls not
        yet published)."""
        with self._lock:
            out = dict(self._counts)
            out["pending"] = self._pending
            return out

    def drain(self, timeout=None):
        """Waits until every sample taken so far is published; True, or
        False when `timeout` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
            return True

    def close(self, timeout=None):
        """Stops sampling, lets the workers finish the queued samples for
        up to `timeout` seconds, then drops what is still queued (counted
        as `dropped`) and stops every worker once its current candidate
        call returns; closes publishers that have close() when all workers
        have ended. True when every worker has ended within `timeout`
        (False: a candidate call is still running; the workers end when it
        returns, and close() may be called again to wait for them)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            self._closed = True     # no new samples from here on
            # The queued samples first, for up to `timeout`.
            while self._pending and not self._stopping:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._idle.wait(left)
            if not self._stopping:
                self._stopping = True
                removed = 0
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not _STOP:
                        removed += 1
                self._counts["dropped"] += removed
                self._pending -= removed
                # The queue is empty and, closed, takes nothing more but
                # this marker, which each worker posts again for the next
                # one as it leaves: no worker can miss it.
                self._queue.put_nowait(_STOP)
                self._idle.notify_all()
        for t in self._workers:
            left = (None if deadline is None
                    else max(0.0, deadline - time.monotonic()))
            t.join(left)
        done = not any(t.is_alive() for t in self._workers)
        if done:
            with self._lock:
                publishers_open = not self._publishers_closed
                self._publishers_closed = True
            if publishers_open:
                for p in self.publishers:
                    close = getattr(p, "close", None)
                    if callable(close):
                        try:
                            close()
                        except Exception:  # noqa: BLE001
                            self._count("publisher_errors")
        return done

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- internals -------------------------------------------------------
    def _count(self, name, n=1):
        with self._lock:
            self._counts[name] += n

    def _shadowed(self, call, args, kwargs):
        start = time.perf_counter()
        try:
            result = getattr(self.primary, call)(*args, **kwargs)
        except Exception as exc:
            latency = (time.perf_counter() - start) * 1000.0
            self._after(call, args, kwargs, outcome_mod.Side(
                error=exc, latency_ms=latency))
            raise
        latency = (time.perf_counter() - start) * 1000.0
        self._after(call, args, kwargs, None, result, latency)
        return result

    def _after(self, call, args, kwargs, side, result=None, latency=None):
        """Counts the call and, when sampled, queues it. Never raises."""
        with self._lock:
            self._counts["calls"] += 1
            if side is not None:
                self._counts["primary_errors"] += 1
            if self._closed or self.sample_rate <= 0.0:
                return
            if self.sample_rate < 1.0 and \
                    self._rng.random() >= self.sample_rate:
                return
            self._counts["sampled"] += 1
            # Put under the lock: close() (which takes it) then sees every
            # sample that got in, and none lands behind its stop marker.
            try:
                self._queue.put_nowait((call, args, kwargs, side, result,
                                        latency, outcome_mod.now_rfc3339()))
            except queue.Full:
                self._counts["dropped"] += 1
            else:
                self._pending += 1

    def _work(self):
        while True:
            item = self._queue.get()
            if item is _STOP:
                # For the next worker (the queue holds nothing else now).
                try:
                    self._queue.put_nowait(_STOP)
                except queue.Full:  # pragma: no cover - cannot happen
                    pass
                return
            try:
                self._compare(*item)
            except Exception:  # noqa: BLE001 - never kills the worker
                self._count("internal_errors")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _compare(self, call, args, kwargs, primary_side, result, latency, ts):
        bound, context = calls_mod.bind(call, args, kwargs)
        if primary_side is None:
            try:
                body = calls_mod.values.result_json(result)
            except (TypeError, ValueError) as exc:
                primary_side = outcome_mod.Side(error=exc, latency_ms=latency)
            else:
                primary_side = outcome_mod.Side(body=body, latency_ms=latency)
        candidate_side = outcome_mod.run_side(self.candidate, call, bound,
                                              context)
        try:
            shape_id, label = shape_of(
                call, calls_mod.record_args(call, bound), context)
        except Exception:  # noqa: BLE001 - an unparsable query still counts
            shape_id, label = "unknown", call
        try:
            record = outcome_mod.evaluate(self.options, call, shape_id, label,
                                          primary_side, candidate_side, ts=ts)
        except ValueError as exc:
            # The candidate's body is not JSON the comparator reads.
            record = outcome_mod.evaluate(
                self.options, call, shape_id, label, primary_side,
                outcome_mod.Side(error=exc,
                                 latency_ms=candidate_side.latency_ms), ts=ts)
        outcome = record["outcome"]
        with self._lock:
            self._counts["compared"] += 1
            if outcome == outcome_mod.CANDIDATE_ERROR:
                self._counts["candidate_errors"] += 1
            elif record["unexplained"]:
                self._counts["mismatched"] += 1
            elif outcome == outcome_mod.EXPLAINED:
                self._counts["explained"] += 1
            else:
                self._counts["matched"] += 1
        for publisher in self.publishers:
            try:
                publisher(record)
            except Exception:  # noqa: BLE001 - counted, never raised
                self._count("publisher_errors")
