"""The parity report: comparison records grouped by query shape, with
latency percentiles of both backends, rendered as a terminal table, a
JSON-ready dict and (html.py) a self-contained page."""
import math
import re

_INDEX = re.compile(r"\[\d+\]")


def percentile(sorted_values, q):
    """The q-th percentile (0..100) of sorted values, linearly interpolated
    between the closest ranks; None for no values."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def generic_path(path):
    """A difference path with its list indices as [*], so the differences
    of every row of a list are counted under one path."""
    return _INDEX.sub("[*]", path or "$")


class ShapeStats:
    def __init__(self, shape_id, label, call):
        self.id = shape_id
        self.label = label
        self.call = call
        self.calls = 0
        self.matches = 0       # no difference left (or only ignored ones)
        self.explained = 0     # differences, every one explained by a rule
        self.mismatches = 0    # at least one unexplained difference
        self.replay_errors = 0  # both sides failed alike, recorded otherwise
        self.answered = 0      # calls where at least one side answered
        self.errors = {"primary": {}, "candidate": {}}
        self.latency = {"primary": [], "candidate": []}
        # (generic path, kind) -> {"count", "explained", "unexplained",
        #                          "rules": {name: n}, "example": {...}}
        self.paths = {}

    def add(self, record):
        self.calls += 1
        if None in (record["errors"]["primary"],
                    record["errors"]["candidate"]):
            self.answered += 1
        if record.get("replay_error"):
            self.replay_errors += 1
        elif record["unexplained"]:
            self.mismatches += 1
        elif record["explained"]:
            self.explained += 1
        else:
            self.matches += 1
        for side in ("primary", "candidate"):
            cls = record["errors"][side]
            if cls:
                self.errors[side][cls] = self.errors[side].get(cls, 0) + 1
            lat = record["latency_ms"][side]
            if lat is not None:
                self.latency[side].append(lat)
        for d in record["differences"]:
            key = (generic_path(d["path"]), d["kind"])
            entry = self.paths.get(key)
            if entry is None:
                entry = {"count": 0, "explained": 0, "unexplained": 0,
                         "rules": {},
                         "example": {"path": d["path"],
                                     "primary": d.get("primary"),
                                     "candidate": d.get("candidate")}}
                self.paths[key] = entry
            entry["count"] += 1
            rule = d.get("rule")
            if rule:
                entry["explained"] += 1
                entry["rules"][rule] = entry["rules"].get(rule, 0) + 1
            else:
                entry["unexplained"] += 1

    def percentiles(self, side):
        values = sorted(self.latency[side])
        return {f"p{q}": percentile(values, q) for q in (50, 95, 99)}

    def ratio(self, q="p50"):
        p = self.percentiles("primary")[q]
        c = self.percentiles("candidate")[q]
        if p is None or c is None or p <= 0:
            return None
        return c / p

    def to_dict(self):
        return {
            "id": self.id,
            "label": self.label,
            "call": self.call,
            "calls": self.calls,
            "matches": self.matches,
            "explained": self.explained,
            "mismatches": self.mismatches,
            "replay_errors": self.replay_errors,
            "errors": self.errors,
            "latency_ms": {"primary": self.percentiles("primary"),
                           "candidate": self.percentiles("candidate")},
            "ratio": {q: self.ratio(q) for q in ("p50", "p95", "p99")},
            "differences": [
                dict(path=path, kind=kind, **entry)
                for (path, kind), entry in sorted(
                    self.paths.items(),
                    key=lambda kv: (-kv[1]["unexplained"], -kv[1]["count"],
                                    kv[0]))],
        }


class Report:
    """Comparison records by query shape. add(record) per comparison;
    mismatch_rate(count_explained=False); to_dict(); render_table()."""

    def __init__(self, primary="primary", candidate="candidate", rules=(),
                 ignore=()):
        self.primary = primary
        self.candidate = candidate
        self.rules = [list(r) for r in rules]
        self.ignore = list(ignore)
        self.shapes = {}
        self.skipped = 0     # traffic lines that could not be replayed
        self.skipped_reasons = {}

    def add(self, record):
        stats = self.shapes.get(record["shape_id"])
        if stats is None:
            stats = ShapeStats(record["shape_id"], record["shape"],
                               record["call"])
            self.shapes[record["shape_id"]] = stats
        stats.add(record)

    def skip(self, reason):
        self.skipped += 1
        self.skipped_reasons[reason] = self.skipped_reasons.get(reason, 0) + 1

    @property
    def calls(self):
        return sum(s.calls for s in self.shapes.values())

    @property
    def matches(self):
        return sum(s.matches for s in self.shapes.values())

    @property
    def mismatches(self):
        return sum(s.mismatches for s in self.shapes.values())

    @property
    def explained(self):
        return sum(s.explained for s in self.shapes.values())

    @property
    def replay_errors(self):
        """Calls where both sides failed with the same error class while
        the recording says "ok" or another class."""
        return sum(s.replay_errors for s in self.shapes.values())

    @property
    def answered(self):
        """Calls where at least one side returned a response."""
        return sum(s.answered for s in self.shapes.values())

    def mismatch_rate(self, count_explained=False):
        """Share of calls with an unexplained difference or a replay error
        (with count_explained: also those with any difference a rule
        explains)."""
        if not self.calls:
            return 0.0
        bad = self.mismatches + self.replay_errors + (
            self.explained if count_explained else 0)
        return bad / self.calls

    def ordered_shapes(self):
        return sorted(self.shapes.values(),
                      key=lambda s: (-s.mismatches - s.replay_errors,
                                     -s.explained, -s.calls,
                                     s.label))

    def to_dict(self, count_explained=False):
        return {
            "version": 1,
            "primary": self.primary,
            "candidate": self.candidate,
            "rules": self.rules,
            "ignore": self.ignore,
            "summary": {
                "calls": self.calls,
                "matches": self.matches,
                "explained": self.explained,
                "mismatches": self.mismatches,
                "replay_errors": self.replay_errors,
                "skipped": self.skipped,
                "skipped_reasons": self.skipped_reasons,
                "shapes": len(self.shapes),
                "count_explained": bool(count_explained),
                "mismatch_rate": self.mismatch_rate(count_explained),
            },
            "shapes": [s.to_dict() for s in self.ordered_shapes()],
        }

    # ---- terminal --------------------------------------------------------
    def render_table(self, count_explained=False, max_label=60,
                     max_paths=8, max_shapes=None):
        """The per-shape table (shapes with mismatches first; at most
        max_shapes rows when given), each shape's difference paths, and
        the summary, as text."""
        head = ["shape", "id", "calls", "match", "mismatch", "explained",
                f"err {_short(self.primary)}", f"err {_short(self.candidate)}",
                "p50 P", "p50 C", "p95 P", "p95 C", "p99 P", "p99 C",
                "C/P p50"]
        rows = []
        shown = self.ordered_shapes()
        hidden = 0
        if max_shapes is not None and len(shown) > max_shapes:
            hidden = len(shown) - max_shapes
            shown = shown[:max_shapes]
        for s in shown:
            p = s.percentiles("primary")
            c = s.percentiles("candidate")
            label = s.label if len(s.label) <= max_label else \
                s.label[:max_label - 1] + "…"
            rows.append([
                label, s.id, str(s.calls), str(s.matches), str(s.mismatches),
                str(s.explained), str(sum(s.errors["primary"].values())),
                str(sum(s.errors["candidate"].values())),
                _ms(p["p50"]), _ms(c["p50"]), _ms(p["p95"]), _ms(c["p95"]),
                _ms(p["p99"]), _ms(c["p99"]), _ratio(s.ratio("p50"))])
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
                  for i, h in enumerate(head)]
        lines = [f"parity: {self.primary} (P) vs {self.candidate} (C); "
                 "latency in ms"]
        fmt = "  ".join("{:<%d}" % widths[0] if i == 0 else "{:>%d}" % w
                        for i, w in enumerate(widths))
        lines.append(fmt.format(*head))
        lines.append("  ".join("-" * w for w in widths))
        for r in rows:
            lines.append(fmt.format(*r))
        if hidden:
            lines.append(f"... {hidden} more shapes (all of them are in the "
                         "JSON and HTML reports)")
        detail = []
        for s in self.ordered_shapes():
            diffs = s.to_dict()["differences"]
            errs = {side: s.errors[side] for side in s.errors
                    if s.errors[side]}
            if not diffs and not errs and not s.replay_errors:
                continue
            detail.append(f"  {s.label} [{s.id}]")
            if s.replay_errors:
                detail.append(f"    replay errors: {s.replay_errors} "
                              "(both sides failed alike; recorded ok or "
                              "another class)")
            for side, by_class in errs.items():
                detail.append("    errors on %s: %s" % (
                    side, ", ".join(f"{k} x{v}"
                                    for k, v in sorted(by_class.items()))))
            for d in diffs[:max_paths]:
                how = ("explained by " + ", ".join(
                    f"{k}" + (f" x{v}" if v != d["count"] else "")
                    for k, v in sorted(d["rules"].items()))
                       if d["rules"] else "")
                if d["unexplained"] and d["rules"]:
                    how = f"{d['unexplained']} unexplained; " + how
                elif d["unexplained"]:
                    how = "unexplained"
                ex = d["example"]
                detail.append(
                    f"    {d['path']}  {d['kind']}  x{d['count']}  {how}  "
                    f"e.g. {ex['path']}: {_clip(ex['primary'])} -> "
                    f"{_clip(ex['candidate'])}")
            if len(diffs) > max_paths:
                detail.append(f"    ... {len(diffs) - max_paths} more paths")
        if detail:
            lines.append("")
            lines.append("differences by path (P -> C):")
            lines.extend(detail)
        lines.append("")
        lines.append(self.summary_line(count_explained))
        return "\n".join(lines)

    def summary_line(self, count_explained=False):
        rate = self.mismatch_rate(count_explained)
        what = ("mismatches incl. explained" if count_explained
                else "unexplained mismatches")
        text = (f"summary: {self.calls} calls in {len(self.shapes)} shapes: "
                f"{self.matches} match, {self.explained} explained, "
                f"{self.mismatches} mismatch")
        if self.replay_errors:
            text += (f", {self.replay_errors} replay errors (errors on both "
                     "sides, recorded ok or another class)")
            what += " and replay errors"
        text += f"; {what}: {rate:.2%}"
        if self.skipped:
            text += f"; {self.skipped} lines skipped"
        return text


def _short(name, n=10):
    return name if len(name) <= n else name[:n - 1] + "…"


def _ms(v):
    return "-" if v is None else (f"{v:.2f}" if v < 100 else f"{v:.0f}")


def _ratio(v):
    return "-" if v is None else f"{v:.2f}x"


def _clip(text, n=40):
    if text is None:
        return "(absent)"
    text = str(text)
    return text if len(text) <= n else text[:n - 1] + "…"

