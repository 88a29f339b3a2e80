"""Replay: every call of a traffic file run through a primary and a
candidate Repository, compared, and grouped by query shape into a Report.

Both sides run each call in turn on the caller's thread (primary first).
A mutation runs inside a transaction that is rolled back, on each side, so
both start from the same rows. A line that cannot be replayed (not JSON,
unknown call, an execute query that is not a QueryDefinition) is counted
as skipped, not compared.

Both sides raising the same error class is a match only when the recorded
outcome is that class; otherwise (recorded "ok", or another class) it is a
replay error: the replay did not test what was recorded (a wrong schema, a
wrong database), and it counts in the mismatch rate."""
import io
import os
import sys
import time

from . import calls as calls_mod
from . import outcome as outcome_mod
from . import report as report_mod
from .shape import shape as shape_of
from . import values


class Progress:
    """A progress bar on `stream` (stderr by default): one line rewritten
    with \\r when the stream is a terminal, else a line every 10%."""

    def __init__(self, total, stream=None, label="replay", width=30):
        self.total = max(0, int(total))
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self.width = width
        try:
            self.tty = bool(self.stream.isatty())
        except (AttributeError, ValueError, io.UnsupportedOperation):
            self.tty = False
        self.done = 0
        self._next_decile = 1
        self._last_draw = 0.0
        self._start = time.monotonic()

    def update(self, n=1):
        self.done += n
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.05 or self.done >= self.total:
                self._last_draw = now
                self._draw_bar()
        elif self.total:
            while self._next_decile <= 10 and \
                    self.done * 10 >= self._next_decile * self.total:
                self.stream.write(
                    f"{self.label}: {self._next_decile * 10}% "
                    f"({self.done}/{self.total})\n")
                self.stream.flush()
                self._next_decile += 1

    def _draw_bar(self):
        frac = self.done / self.total if self.total else 1.0
        filled = int(self.width * min(frac, 1.0))
        rate = self.done / max(time.monotonic() - self._start, 1e-9)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{self.done}/{self.total} {frac:6.1%} {rate:7.1f}/s")
        self.stream.flush()

    def close(self):
        if self.tty:
            self._draw_bar()
            self.stream.write("\n")
            self.stream.flush()


def read_traffic(path_or_lines):
    """Yields (line number, record dict or None, error reason) of a
    traffic file (a path, a file object or an iterable of lines)."""
    if isinstance(path_or_lines, (str, bytes, os.PathLike)):
        with open(path_or_lines, encoding="utf-8") as f:
            yield from read_traffic(f)
        return
    for number, line in enumerate(path_or_lines, 1):
        if isinstance(line, dict):
            yield number, line, None
            continue
        line = line.strip()
        if not line:
            continue
        try:
            rec = values.loads(line)
        except ValueError:
            yield number, None, "not JSON"
            continue
        if not isinstance(rec, dict):
            yield number, None, "not a JSON object"
            continue
        yield number, rec, None


def _count_lines(path):
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                n += 1
    return n


def replay_records(records, primary, candidate, options, report,
                   progress=None, runs=1):
    """Replays (line, record, error) triples into `report`."""
    for _number, rec, error in records:
        for _ in range(runs):
            _replay_one(rec, error, primary, candidate, options, report)
        if progress is not None:
            progress.update()


def _replay_one(rec, error, primary, candidate, options, report):
    if error is not None:
        report.skip(error)
        return
    call = rec.get("call")
    if call not in calls_mod.RECORDED_CALLS:
        report.skip("unknown call")
        return
    args = rec.get("args") or {}
    if not isinstance(args, dict):
        report.skip("args not an object")
        return
    context = rec.get("context")
    try:
        bound = calls_mod.call_args(call, args)
    except Exception:  # noqa: BLE001 - a malformed query definition
        report.skip("query not a QueryDefinition")
        return
    shape_id, label = shape_of(call, args, context)
    p = outcome_mod.run_side(primary, call, bound, context)
    c = outcome_mod.run_side(candidate, call, bound, context)
    try:
        record = outcome_mod.evaluate(options, call, shape_id, label, p, c,
                                      ts=rec.get("ts"))
    except ValueError as exc:
        # A side's body is not JSON the comparator reads.
        record = outcome_mod.evaluate(
            options, call, shape_id, label, p,
            outcome_mod.Side(error=exc, latency_ms=c.latency_ms),
            ts=rec.get("ts"))
    p, c = record["errors"]["primary"], record["errors"]["candidate"]
    recorded = rec.get("outcome")
    if p is not None and p == c and recorded != p:
        record["outcome"] = outcome_mod.REPLAY_ERROR
        record["replay_error"] = True
        record["recorded"] = recorded if isinstance(recorded, str) else None
    report.add(record)


def replay(traffic, primary_repo, candidate_repo, *, rules=(), ignore=(),
           check_key_order=False, redact=False, progress=True,
           primary_name="primary", candidate_name="candidate",
           progress_stream=None, known_differences_of=None):
    """Replays a traffic file (path, file object or iterable of lines or
    record dicts) through both repositories; returns the Report.

    rules: (name, classifier) pairs and/or known_differences dicts.
    known_differences_of: backend names whose known differences apply;
      None (the default): the backends of both repositories.
    ignore: path patterns left out of the comparison.
    progress: a progress bar on stderr (progress_stream) while it runs."""
    if known_differences_of is None:
        known_differences_of = outcome_mod.backends_of(primary_repo,
                                                       candidate_repo)
    options = outcome_mod.Options(ignore=ignore, rules=rules,
                                  check_key_order=check_key_order,
                                  redact=redact,
                                  known_differences_of=known_differences_of)
    report = report_mod.Report(primary_name, candidate_name,
                               rules=options.rules, ignore=options.ignore)
    bar = None
    if progress:
        if isinstance(traffic, (str, bytes, os.PathLike)):
            total = _count_lines(traffic)
        else:
            traffic = list(traffic)
            total = len(traffic)
        bar = Progress(total, stream=progress_stream)
    try:
        replay_records(read_traffic(traffic), primary_repo, candidate_repo,
                       options, report, bar)
    finally:
        if bar is not None:
            bar.close()
    return report


def calibrate(repo, calls, *, runs=3, rules=(), ignore=(),
              check_key_order=False, progress=False):
    """A/A calibration: each call of `calls` (a traffic file, or an
    iterable of traffic lines or record dicts) run `runs` times through
    `repo` against itself. The report's differences are the noise of the
    backend (e.g. rows without a stable order) to ignore or fix before
    trusting a mismatch rate. For live traffic, Shadow(repo, repo,
    sample_rate=1) does the same."""
    options = outcome_mod.Options(ignore=ignore, rules=rules,
                                  check_key_order=check_key_order)
    report = report_mod.Report("A", "A'", rules=options.rules,
                               ignore=options.ignore)
    if not isinstance(calls, (str, bytes, os.PathLike)):
        calls = list(calls)
    bar = None
    if progress:
        total = (_count_lines(calls) if isinstance(
            calls, (str, bytes, os.PathLike)) else len(calls))
        bar = Progress(total, label="calibrate")
    try:
        replay_records(read_traffic(calls), repo, repo, options, report,
                       bar, runs=int(runs))
    finally:
        if bar is not None:
            bar.close()
    return report
