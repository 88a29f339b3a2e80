"""Where Shadow sends each comparison record (see outcome.evaluate): a
log, in-memory counters, a JSON-lines file, or any callable taking the
record dict."""
import collections
import logging
import threading

from . import values
from .report import generic_path

OTHER = "other"


class LogPublisher:
    """Logs one line per comparison: matches at DEBUG, everything else at
    `level` (WARNING by default), with the first differences' paths."""

    def __init__(self, logger=None, level=logging.WARNING, max_paths=5):
        self.logger = logger or logging.getLogger("fraiseql_native.parity")
        self.level = level
        self.max_paths = max_paths

    def __call__(self, record):
        outcome = record["outcome"]
        level = logging.DEBUG if outcome == "match" else self.level
        if not self.logger.isEnabledFor(level):
            return
        paths = ", ".join(
            f"{d['path']} ({d['kind']}{', ' + d['rule'] if d.get('rule') else ''})"
            for d in record["differences"][:self.max_paths])
        more = len(record["differences"]) - self.max_paths
        if more > 0:
            paths += f", +{more}"
        lat = record["latency_ms"]
        self.logger.log(
            level, "parity %s %s [%s]%s primary %.2f ms candidate %s",
            outcome, record["shape"], record["shape_id"],
            f": {paths}" if paths else "",
            lat["primary"] or 0.0,
            "-" if lat["candidate"] is None else f"{lat['candidate']:.2f} ms")


class CounterPublisher:
    """In-memory counters: by outcome, by shape (label -> outcome -> n) and
    by difference path (path -> kind -> n, rule-explained ones under
    "kind:rule"). Paths are generic (list indices as [*]: the rows of a
    list share one key); at most `max_keys` distinct shapes and paths are
    kept each, the rest counted under "other". snapshot() returns a copy;
    thread-safe."""

    def __init__(self, max_keys=1000):
        if int(max_keys) < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = int(max_keys)
        self._lock = threading.Lock()
        self._outcomes = collections.Counter()
        self._shapes = {}
        self._paths = {}

    def _bucket(self, table, key):
        counter = table.get(key)
        if counter is None:
            if len(table) - (OTHER in table) >= self.max_keys:
                key = OTHER
            counter = table.get(key)
            if counter is None:
                counter = table[key] = collections.Counter()
        return counter

    def __call__(self, record):
        with self._lock:
            self._outcomes[record["outcome"]] += 1
            self._bucket(self._shapes, record["shape"])[
                record["outcome"]] += 1
            for d in record["differences"]:
                key = d["kind"] + (f":{d['rule']}" if d.get("rule") else "")
                self._bucket(self._paths, generic_path(d["path"]))[key] += 1

    def snapshot(self):
        with self._lock:
            return {
                "outcomes": dict(self._outcomes),
                "shapes": {k: dict(v) for k, v in self._shapes.items()},
                "paths": {k: dict(v) for k, v in self._paths.items()},
            }

    @property
    def outcomes(self):
        return self.snapshot()["outcomes"]

    @property
    def by_shape(self):
        return self.snapshot()["shapes"]

    @property
    def by_path(self):
        return self.snapshot()["paths"]


class JsonLinesPublisher:
    """Appends one JSON object per comparison to `path` (ts, call, shape,
    shape_id, outcome, differences with path/kind/primary/candidate/rule,
    errors, latency_ms). Thread-safe; each line is flushed. close() (or
    Shadow.close()) closes the file."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()
        self._file = open(path, "a", encoding="utf-8")

    def __call__(self, record):
        line = values.dumps(record) + "\n"
        with self._lock:
            if self._file is None:
                raise ValueError("JsonLinesPublisher is closed")
            self._file.write(line)
            self._file.flush()

    def close(self):
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
