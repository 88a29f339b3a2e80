"""One comparison of a primary and a candidate run of the same call: the
result of fraiseql_native.compare on the two JSON bodies, or the error of
either side, as one record (the dict publishers receive)."""
import datetime

import fraiseql_native

from . import calls as calls_mod
from . import values

MATCH = "match"            # equal (ignored differences only)
EXPLAINED = "explained"    # equal once named rules explain differences
MISMATCH = "mismatch"      # at least one unexplained difference
CANDIDATE_ERROR = "candidate_error"  # the candidate raised, the primary not
PRIMARY_ERROR = "primary_error"      # the primary raised, the candidate not
BOTH_ERROR = "both_error"  # both raised (same class: counted as a match)
# Replay only: both raised the same class, but the recording's outcome was
# "ok" or another class: the replay did not run what was recorded (a wrong
# schema or database); counted against the gate, apart from mismatches.
REPLAY_ERROR = "replay_error"


def normalize_rules(rules):
    """Rules as a list of (name, classifier): accepts (name, classifier)
    pairs, "name=classifier" strings, and known_differences dicts
    (name -> {"classifier": ...} or name -> classifier)."""
    out = []
    if not rules:
        return out
    if isinstance(rules, dict):
        rules = [rules]
    for item in rules:
        if isinstance(item, dict):
            for name, spec in item.items():
                classifier = spec.get("classifier") if isinstance(
                    spec, dict) else spec
                if not classifier:
                    raise ValueError(f"rule without a classifier: {name}")
                out.append((str(name), str(classifier)))
        elif isinstance(item, str):
            name, sep, classifier = item.partition("=")
            if not sep or not name or not classifier:
                raise ValueError("a rule is NAME=CLASSIFIER")
            out.append((name, classifier))
        else:
            name, classifier = item
            out.append((str(name), str(classifier)))
    seen = set()
    unique = []
    for rule in out:
        if rule not in seen:
            seen.add(rule)
            unique.append(rule)
    return unique


def known_differences(backend_name=None, backend=None):
    """The known_differences dict of a backend: from
    fraiseql_native.backend_known_differences(name) (ValueError for a name
    that is not registered), else the attribute of a backend object; {}
    when neither is there."""
    fn = getattr(fraiseql_native, "backend_known_differences", None)
    if backend_name is not None and fn is not None:
        return dict(fn(backend_name) or {})
    if backend is not None:
        return dict(getattr(backend, "known_differences", None) or {})
    return {}


def backends_of(*repos):
    """The registered backend names of `repos` (Repository.backend), each
    once, in order; objects without one (a Shadow, a Recorder) are skipped."""
    names = []
    for repo in repos:
        name = getattr(repo, "backend", None)
        if isinstance(name, str) and name and name not in names:
            names.append(name)
    return tuple(names)


class Options:
    """Comparison options shared by Shadow, replay and calibrate."""

    def __init__(self, *, ignore=(), rules=(), check_key_order=False,
                 redact=False, max_differences=100, known_differences_of=()):
        self.ignore = tuple(ignore or ())
        rules = list(rules or ())
        for name in known_differences_of or ():
            rules.append(known_differences(name))
        self.rules = tuple(normalize_rules(rules))
        self.check_key_order = bool(check_key_order)
        self.redact = bool(redact)
        self.max_differences = int(max_differences)

    def compare(self, primary, candidate):
        return fraiseql_native.compare(
            primary, candidate, check_key_order=self.check_key_order,
            ignore=self.ignore, rules=self.rules, redact=self.redact,
            max_differences=self.max_differences)


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="microseconds").replace("+00:00", "Z")


class Side:
    """One side's run: its JSON bytes or its exception, and its latency."""
    __slots__ = ("body", "error", "latency_ms")

    def __init__(self, body=None, error=None, latency_ms=None):
        self.body = body
        self.error = error
        self.latency_ms = latency_ms

    @property
    def error_class(self):
        return None if self.error is None else calls_mod.error_class(
            self.error)


def evaluate(options, call, shape_id, shape_label, primary, candidate,
             ts=None):
    """The comparison record of two Sides: {ts, call, shape, shape_id,
    outcome, differences: [{path, kind, primary, candidate, rule}],
    unexplained, explained, ignored, truncated, errors: {primary,
    candidate}, latency_ms: {primary, candidate}}."""
    record = {
        "ts": ts or now_rfc3339(),
        "call": call,
        "shape": shape_label,
        "shape_id": shape_id,
        "outcome": MATCH,
        "differences": [],
        "unexplained": 0,
        "explained": 0,
        "ignored": 0,
        "truncated": False,
        "errors": {"primary": primary.error_class,
                   "candidate": candidate.error_class},
        "latency_ms": {"primary": primary.latency_ms,
                       "candidate": candidate.latency_ms},
    }
    if primary.error is not None or candidate.error is not None:
        p, c = primary.error_class, candidate.error_class
        if p is not None and c is not None:
            record["outcome"] = BOTH_ERROR
            if p != c:
                record["unexplained"] = 1
                record["differences"].append(
                    {"path": "$", "kind": "error", "primary": p,
                     "candidate": c, "rule": None})
        else:
            record["outcome"] = (CANDIDATE_ERROR if c is not None
                                 else PRIMARY_ERROR)
            record["unexplained"] = 1
            record["differences"].append(
                {"path": "$", "kind": "error", "primary": p or "ok",
                 "candidate": c or "ok", "rule": None})
        return record
    result = options.compare(primary.body, candidate.body)
    record["differences"] = [d.to_dict() for d in result.differences]
    record["unexplained"] = result.unexplained
    record["explained"] = result.explained
    record["ignored"] = result.ignored
    record["truncated"] = result.truncated
    if result.unexplained:
        record["outcome"] = MISMATCH
    elif result.explained:
        record["outcome"] = EXPLAINED
    return record


def is_mismatch(record, count_explained=False):
    """Whether a record counts against the mismatch rate: an unexplained
    difference (or an error on one side, or errors of two classes); with
    count_explained, explained differences too."""
    if record["unexplained"] or record.get("replay_error"):
        return True
    return bool(count_explained and record["explained"])


def record_json(record):
    return values.dumps(record)


def run_side(repo, call, bound, context=None):
    """Runs one call on `repo` as a Side (its body or its exception, and its
    latency in ms)."""
    import time
    start = time.perf_counter()
    try:
        body = calls_mod.run(repo, call, bound, context)
    except Exception as exc:  # noqa: BLE001 - recorded as the side's outcome
        return Side(error=exc,
                    latency_ms=(time.perf_counter() - start) * 1000.0)
    return Side(body=body, latency_ms=(time.perf_counter() - start) * 1000.0)
