"""Recording traffic: a wrapper with the Repository's calls that forwards
each call and writes one JSON line per call (the traffic file format of
spec/parity.md):

  {"v": 1, "call": "find", "args": {...keyword arguments...},
   "context": {...} (omitted when none), "latency_ms": 1.23,
   "outcome": "ok" | "<ErrorClassName>", "ts": "2026-12-02T20:00:00.000000Z"}

`execute`/`execute_stream` args are {"query": <the QueryDefinition as
protobuf JSON>} (google.protobuf.json_format). `where`, `order_by` and a
mutation's `input` given as JSON text are written as JSON values. Decimals
keep their digits; UUIDs and dates are written as text. A streamed call is
written when its body ends (or is closed), with the latency of the whole
body. transaction() is passed through and not recorded.

Threading: calls may come from any thread; lines are written whole, one at
a time, under a lock, and flushed.

Recording never changes a call's outcome: a record that cannot be made or
written (a value without a JSON form, an OSError, a closed Recorder) is
counted in `record_errors` (stats()) and logged on the
"fraiseql_native.parity" logger; the call returns its result, or raises its
own exception, as it would without the Recorder."""
import datetime
import logging
import threading
import time

from . import calls as calls_mod
from . import redact as redact_mod
from . import values

FORMAT_VERSION = 1
_log = logging.getLogger("fraiseql_native.parity")
_JSON_ARGS = ("where", "order_by", "input")


def _default_clock():
    return datetime.datetime.now(datetime.timezone.utc)


def _rfc3339(moment):
    if isinstance(moment, (int, float)):
        moment = datetime.datetime.fromtimestamp(moment,
                                                 datetime.timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    moment = moment.astimezone(datetime.timezone.utc)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


class Recorder:
    """Recorder(repo, path_or_file, *, redact=(), clock=None).

    path_or_file: a path (opened for appending, closed by close()) or a
      text file object (written, flushed, left open).
    redact: path patterns into the record ("args.where.email.eq",
      "context.user_id", "args.input.**"); see redact.py.
    clock: a callable returning the call's time (an aware datetime or epoch
      seconds) for "ts"; latency is measured with time.perf_counter."""

    def __init__(self, repo, path_or_file, *, redact=(), clock=None):
        self.repo = repo
        self._patterns = [redact_mod.parse(p) for p in (redact or ())]
        self._clock = clock or _default_clock
        self._lock = threading.Lock()
        if hasattr(path_or_file, "write"):
            self._file = path_or_file
            self._owns = False
        else:
            self._file = open(path_or_file, "a", encoding="utf-8")
            self._owns = True
        self.recorded = 0
        self.record_errors = 0

    def stats(self):
        """{"recorded": lines written, "record_errors": calls whose record
        could not be made or written}."""
        with self._lock:
            return {"recorded": self.recorded,
                    "record_errors": self.record_errors}

    # ---- calls -----------------------------------------------------------
    def find(self, *args, **kwargs):
        return self._call("find", args, kwargs)

    def find_one(self, *args, **kwargs):
        return self._call("find_one", args, kwargs)

    def count(self, *args, **kwargs):
        return self._call("count", args, kwargs)

    def exists(self, *args, **kwargs):
        return self._call("exists", args, kwargs)

    def sum(self, *args, **kwargs):
        return self._call("sum", args, kwargs)

    def avg(self, *args, **kwargs):
        return self._call("avg", args, kwargs)

    def min(self, *args, **kwargs):
        return self._call("min", args, kwargs)

    def max(self, *args, **kwargs):
        return self._call("max", args, kwargs)

    def distinct(self, *args, **kwargs):
        return self._call("distinct", args, kwargs)

    def execute(self, *args, **kwargs):
        return self._call("execute", args, kwargs)

    def mutate(self, *args, **kwargs):
        return self._call("mutate", args, kwargs)

    def find_stream(self, *args, **kwargs):
        return self._stream("find_stream", args, kwargs)

    def execute_stream(self, *args, **kwargs):
        return self._stream("execute_stream", args, kwargs)

    def __getattr__(self, name):
        # transaction, explain, plan_cache_stats, ...: the repository's.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.repo, name)

    def close(self):
        with self._lock:
            if self._file is not None and self._owns:
                self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- internals -------------------------------------------------------
    def _call(self, call, args, kwargs):
        moment = self._clock()
        start = time.perf_counter()
        try:
            result = getattr(self.repo, call)(*args, **kwargs)
        except Exception as exc:
            self._write(call, args, kwargs, moment,
                        (time.perf_counter() - start) * 1000.0,
                        calls_mod.error_class(exc))
            raise
        self._write(call, args, kwargs, moment,
                    (time.perf_counter() - start) * 1000.0, "ok")
        return result

    def _stream(self, call, args, kwargs):
        moment = self._clock()
        start = time.perf_counter()
        try:
            pieces = getattr(self.repo, call)(*args, **kwargs)
        except Exception as exc:
            self._write(call, args, kwargs, moment,
                        (time.perf_counter() - start) * 1000.0,
                        calls_mod.error_class(exc))
            raise
        return _RecordedStream(self, pieces, call, args, kwargs, moment,
                               start)

    def record(self, call, args, kwargs, moment, latency_ms, outcome):
        """The traffic record of one call (a dict), redacted."""
        bound, context = calls_mod.bind(call, args, kwargs)
        out_args = calls_mod.record_args(call, bound)
        for name in _JSON_ARGS:
            value = out_args.get(name)
            if isinstance(value, str):
                try:
                    out_args[name] = values.loads(value)
                except ValueError:
                    pass
        # A JSON round trip makes the record plain data (UUIDs, dates and
        # tuples as JSON), which redaction then edits.
        rec = {"v": FORMAT_VERSION, "call": call,
               "args": values.loads(values.dumps(out_args))}
        if context is not None:
            rec["context"] = values.loads(values.dumps(dict(context)))
        rec["latency_ms"] = round(latency_ms, 3)
        rec["outcome"] = outcome
        rec["ts"] = _rfc3339(moment)
        if self._patterns:
            redact_mod.apply(rec, self._patterns)
        return rec

    def _write(self, call, args, kwargs, moment, latency_ms, outcome):
        """Writes the call's line. Never raises: a failure is counted and
        logged (with its class only: the values stay out of the log)."""
        try:
            line = values.dumps(self.record(call, args, kwargs, moment,
                                            latency_ms, outcome)) + "\n"
            with self._lock:
                if self._file is None:
                    raise ValueError("Recorder is closed")
                self._file.write(line)
                self._file.flush()
                self.recorded += 1
        except Exception as exc:  # noqa: BLE001 - never reaches the call
            with self._lock:
                self.record_errors += 1
            _log.warning("parity recorder: cannot record a %s call: %s",
                         call, type(exc).__name__)


class _RecordedStream:
    """A streamed body that writes its call's record when it ends."""

    def __init__(self, recorder, pieces, call, args, kwargs, moment, start):
        self._recorder = recorder
        self._pieces = pieces
        self._call = (call, args, kwargs, moment)
        self._start = start
        self._done = False

    def _finish(self, outcome):
        if self._done:
            return
        self._done = True
        call, args, kwargs, moment = self._call
        self._recorder._write(call, args, kwargs, moment,
                              (time.perf_counter() - self._start) * 1000.0,
                              outcome)

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._pieces)
        except StopIteration:
            self._finish("ok")
            raise
        except Exception as exc:
            self._finish(calls_mod.error_class(exc))
            raise

    def close(self):
        try:
            self._pieces.close()
        finally:
            self._finish("ok")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __getattr__(self, name):
        return getattr(self._pieces, name)
