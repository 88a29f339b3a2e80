"""python3 -m fraiseql_native.parity: replay recorded traffic through two
backends and report (see USAGE)."""
import argparse
import importlib
import os
import sys

from . import outcome as outcome_mod
from .replay import replay as replay_traffic
from . import values

DESCRIPTION = """\
Replays a traffic file (one JSON object per call, as Recorder writes it)
through a primary and a candidate backend on one database, compares every
response (JSON values: key order ignored unless --check-key-order, array
order kept, numbers by value, timestamps as instants) and prints, per query
shape, calls, matches, mismatches by JSON path, errors on each side and the
p50/p95/p99 latency of both with their ratio. The known differences of the
backends used (their named rules) are applied automatically: a difference a
rule explains is reported under its name and, unless --count-explained, not
counted in the mismatch rate. Mutations run in a transaction rolled back on
each side.

A call where both sides fail with the same error class matches only when
the traffic line's outcome is that class; recorded "ok" (or another class),
it is a replay error (the replay did not run what was recorded: a wrong
--schema or database), counted in the mismatch rate. Lines that cannot be
replayed (not JSON, unknown call, ...) are counted as skipped.

Exit status: 0; 1 when the mismatch rate (mismatches and replay errors) is
above --max-mismatch-rate, or more lines were skipped than --max-skipped
allows (default 0); 2 for a usage or set-up error (bad option, unreadable
file, unknown backend, a server that cannot be reached, no line of the file
replayed, or every call failing on both sides where the recording says
otherwise)."""

EPILOG = """\
--backend-option [NAME:]KEY=VALUE: NAME is a backend, "primary" or
"candidate"; without NAME the option goes to every backend except native.

Example (the sample traffic; its database prepared by
tests/fixtures/traffic/make_sample_traffic.py --prepare-only):
  PYTHONPATH=bazel-bin/pybind:tests/fixtures:tests/fixtures/traffic \\
  python3 -m fraiseql_native.parity replay \\
      --traffic tests/fixtures/traffic/sample.jsonl \\
      --registry make_sample_traffic:register --schema traffic \\
      --cursor-secret fraiseql-sample-traffic \\
      --primary legacy-psycopg --candidate native \\
      --json report.json --html report.html --max-mismatch-rate 0"""


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser():
    parser = _Parser(prog="python3 -m fraiseql_native.parity",
                     description="Parity tools of fraiseql_native.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    rp = sub.add_parser(
        "replay", help="replay a traffic file through two backends",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    rp.add_argument("--traffic", required=True, metavar="FILE",
                    help="the traffic file (JSON lines)")
    rp.add_argument("--url", default=os.environ.get("FRAISEQL_DATABASE_URL"),
                    help="the database (default $FRAISEQL_DATABASE_URL)")
    src = rp.add_mutually_exclusive_group(required=True)
    src.add_argument("--schema-file", metavar="FILE",
                     help="a schema file (Schema.load)")
    src.add_argument("--registry", metavar="MODULE:FUNCTION",
                     help="calls FUNCTION(fraiseql_native, schema_name) of "
                          "MODULE (from PYTHONPATH), which returns a Schema")
    rp.add_argument("--schema", default="sample", metavar="NAME",
                    help="schema name passed to --registry (default sample)")
    rp.add_argument("--import", dest="imports", action="append", default=[],
                    metavar="MODULE",
                    help="import MODULE first (from PYTHONPATH), e.g. one "
                         "that registers a Python backend (repeatable)")
    rp.add_argument("--primary", default="legacy-psycopg", metavar="BACKEND",
                    help="primary backend (default legacy-psycopg)")
    rp.add_argument("--candidate", default="native", metavar="BACKEND",
                    help="candidate backend (default native)")
    rp.add_argument("--backend-option", action="append", default=[],
                    metavar="[NAME:]KEY=VALUE",
                    help="a backend option (repeatable; see below)")
    rp.add_argument("--ignore", action="append", default=[],
                    metavar="PATTERN",
                    help="a JSON path left out of comparisons, e.g. "
                         "'data.users[*].lastLoginAt' (repeatable)")
    rp.add_argument("--rule", action="append", default=[],
                    metavar="NAME=CLASSIFIER",
                    help="an extra named rule (classifiers: "
                         "float64, timestamp_precision; repeatable)")
    rp.add_argument("--no-known-differences", action="store_true",
                    help="do not apply the backends' own rules")
    rp.add_argument("--check-key-order", action="store_true",
                    help="object key order counts as a difference")
    rp.add_argument("--redact", action="store_true",
                    help="values in the report are redacted")
    rp.add_argument("--json", metavar="FILE",
                    help="write the machine-readable report")
    rp.add_argument("--html", metavar="FILE",
                    help="write a self-contained HTML report")
    rp.add_argument("--max-mismatch-rate", type=_rate, default=None,
                    metavar="R",
                    help="exit 1 when the mismatch rate is above R (0..1)")
    rp.add_argument("--max-skipped", type=int, default=0, metavar="N",
                    help="exit 1 when more than N lines of the file cannot "
                         "be replayed (default 0)")
    rp.add_argument("--count-explained", action="store_true",
                    help="explained differences count as mismatches too")
    rp.add_argument("--cursor-secret", default=None,
                    help="Repository cursor_secret of both sides (to replay "
                         "cursors recorded with it)")
    rp.add_argument("--pool-size", type=int, default=4,
                    help="max_size of the Pool both Repositories use "
                         "(default 4)")
    rp.add_argument("--max-shapes", type=int, default=None, metavar="N",
                    help="at most N rows in the printed table (shapes with "
                         "mismatches first; default all)")
    rp.add_argument("--no-progress", action="store_true",
                    help="no progress bar on stderr")
    return parser


def _rate(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _option_value(text):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def backend_options(specs, primary, candidate):
    """{"primary": {...}, "candidate": {...}} from --backend-option specs."""
    out = {"primary": {}, "candidate": {}}
    for spec in specs:
        target, colon, rest = spec.partition(":")
        if not colon or "=" in target:
            target, rest = None, spec
        key, eq, value = rest.partition("=")
        if not eq or not key:
            raise UsageError(f"--backend-option needs KEY=VALUE: {spec!r}")
        for side, name in (("primary", primary), ("candidate", candidate)):
            if target is None:
                hit = name != "native"
            else:
                hit = target in (side, name)
            if hit:
                out[side][key] = _option_value(value)
        if target is not None and target not in (
                "primary", "candidate", primary, candidate):
            raise UsageError(f"--backend-option names no backend in use: "
                             f"{target!r}")
    return out


def load_schema(fn, args):
    if args.schema_file:
        schema = fn.Schema()
        try:
            schema.load(args.schema_file)
        except OSError as exc:
            raise UsageError(f"cannot read --schema-file: {exc}") from None
        return schema
    module_name, colon, func_name = args.registry.partition(":")
    if not colon or not module_name or not func_name:
        raise UsageError("--registry is MODULE:FUNCTION")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--registry: cannot import {module_name}: "
                         f"{exc}") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise UsageError(f"--registry: {module_name} has no function "
                         f"{func_name}")
    return func(fn, args.schema)


def ensure_backend(fn, name):
    """Imports the plugin module of a Python backend when it is not
    registered yet (fraiseql_native.plugins.<name with _>)."""
    names = getattr(fn, "backends", None)
    if names is None or name in names():
        return
    try:
        importlib.import_module("fraiseql_native.plugins." +
                                name.replace("-", "_"))
    except ImportError:
        pass
    if name not in names():
        raise UsageError(f"unknown backend {name!r} (registered: "
                         f"{', '.join(sorted(names()))})")


def known_differences(fn, name):
    """The backend's known differences (name -> {"classifier", ...})."""
    getter = getattr(fn, "backend_known_differences", None)
    if getter is None:
        return {}
    try:
        return dict(getter(name) or {})
    except ValueError as exc:
        raise UsageError(f"known differences of {name!r}: {exc}") from None


def make_repository(fn, pool, schema, backend, options, cursor_secret):
    kwargs = {}
    if cursor_secret is not None:
        kwargs["cursor_secret"] = cursor_secret
    if backend != "native" or options:
        kwargs["backend"] = backend
        if options:
            kwargs["backend_options"] = options
    try:
        return fn.Repository(pool, schema, **kwargs)
    except TypeError as exc:
        raise UsageError(f"cannot make a Repository with backend "
                         f"{backend!r}: {exc}") from None


def run_replay(args, stdout, stderr):
    import fraiseql_native as fn
    if not args.url:
        raise UsageError("--url is needed (or FRAISEQL_DATABASE_URL)")
    if args.max_skipped < 0:
        raise UsageError("--max-skipped must be 0 or more")
    if args.max_shapes is not None and args.max_shapes < 0:
        raise UsageError("--max-shapes must be 0 or more")
    if not os.path.isfile(args.traffic):
        raise UsageError(f"--traffic: no such file: {args.traffic}")
    try:
        rules = outcome_mod.normalize_rules(args.rule)
    except ValueError as exc:
        raise UsageError(f"--rule: {exc}") from None
    opts = backend_options(args.backend_option, args.primary, args.candidate)
    for module_name in args.imports:
        try:
            importlib.import_module(module_name)
        except ImportError as exc:
            raise UsageError(f"--import: cannot import {module_name}: "
                             f"{exc}") from None
    for name in {args.primary, args.candidate}:
        ensure_backend(fn, name)
    if not args.no_known_differences:
        for name in (args.primary, args.candidate):
            rules = outcome_mod.normalize_rules(
                [known_differences(fn, name)] + rules)
    try:
        schema = load_schema(fn, args)
        pool = fn.Pool(args.url, min_size=1, max_size=max(1, args.pool_size))
        primary = make_repository(fn, pool, schema, args.primary,
                                  opts["primary"], args.cursor_secret)
        candidate = make_repository(fn, pool, schema, args.candidate,
                                    opts["candidate"], args.cursor_secret)
    except (fn.Error, ValueError, OSError) as exc:
        # Nothing was replayed: a set-up error, not a mismatch (exit 1).
        raise UsageError(f"cannot set up the replay: "
                         f"{type(exc).__name__}: {exc}") from None
    report = replay_traffic(
        args.traffic, primary, candidate, rules=rules, ignore=args.ignore,
        check_key_order=args.check_key_order, redact=args.redact,
        progress=not args.no_progress, primary_name=args.primary,
        candidate_name=args.candidate, progress_stream=stderr,
        known_differences_of=())  # the rules above hold them already
    stdout.write(report.render_table(args.count_explained,
                                     max_shapes=args.max_shapes) + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(values.dumps(report.to_dict(args.count_explained)))
            f.write("\n")
    if args.html:
        from . import html
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(html.render(report, args.count_explained))
    if not report.calls:
        reasons = ", ".join(f"{k} x{v}" for k, v in
                            sorted(report.skipped_reasons.items()))
        raise UsageError(f"no line of --traffic could be replayed "
                         f"({report.skipped} skipped"
                         f"{': ' + reasons if reasons else ''})")
    if not report.answered and report.replay_errors:
        raise UsageError(
            f"every call failed on both backends, {report.replay_errors} of "
            f"them recorded as succeeding: a wrong --schema or database?")
    status = 0
    rate = report.mismatch_rate(args.count_explained)
    if args.max_mismatch_rate is not None and rate > args.max_mismatch_rate:
        stdout.write(f"FAIL: mismatch rate {rate:.4%} is above "
                     f"--max-mismatch-rate {args.max_mismatch_rate:.4%}\n")
        status = 1
    if report.skipped > args.max_skipped:
        stdout.write(f"FAIL: {report.skipped} lines skipped (could not be "
                     f"replayed), more than --max-skipped "
                     f"{args.max_skipped}\n")
        status = 1
    return status


def main(argv=None, stdout=None, stderr=None):
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "replay":
            return run_replay(args, stdout, stderr)
    except UsageError as exc:
        stderr.write(f"{parser.prog} {args.command}: error: {exc}\n")
        return 2
    return 2

