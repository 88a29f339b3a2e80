"""Replay (fraiseql_native.parity.replay and its command line): recorded
traffic through two real Repositories, reported by query shape; the exit
status follows --max-mismatch-rate; the JSON and HTML reports."""
import html.parser
import io
import json
import os
import pathlib
import subprocess
import sys

import pytest

from fraiseql_native import parity
import test_parity_backends as tb

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULE = ("test.float_balance", "float64")


@pytest.fixture(scope="module")
def traffic(repo, sample, tmp_path_factory):
    """A small traffic file written by the Recorder: 5 shapes, 10 calls."""
    users = f"{sample}.v_user"
    path = tmp_path_factory.mktemp("traffic") / "traffic.jsonl"
    with parity.Recorder(repo, str(path)) as rec:
        for age in (20, 30, 40):
            rec.find(users, field="users", where={"age": {"gte": age}},
                     order_by=[{"id": "ASC"}], limit=4,
                     selection="id firstName balance")
        for age in (25, 35, 45):
            rec.count(users, where={"age": {"lt": age}})
        for limit in (2, 3):
            rec.distinct(users, "age", limit=limit)
        rec.find_one(users, field="user", where={"age": {"eq": 37}},
                     order_by=[{"id": "ASC"}], selection="id email")
        with pytest.raises(Exception):
            rec.find(users, where={"no_such_field": {"eq": 1}})
    return path


def test_native_against_native_matches(fn, pool, schema, repo, traffic):
    other = fn.Repository(pool, schema)
    report = parity.replay(str(traffic), repo, other, progress=False)
    assert report.calls == 10
    assert report.matches == 10 and report.mismatches == 0
    assert report.mismatch_rate() == 0.0
    shapes = {s.label: s for s in report.shapes.values()}
    assert len(shapes) == 5
    find = next(s for s in shapes.values() if s.call == "find"
                and s.calls == 3)
    assert "where{age.gte}" in find.label and "order{id}" in find.label
    assert all(find.percentiles(side)["p50"] > 0
               for side in ("primary", "candidate"))
    failing = next(s for s in shapes.values() if s.errors["primary"])
    # Both sides refused the call the same way: a match.
    assert failing.errors == {"primary": {"InvalidInputError": 1},
                              "candidate": {"InvalidInputError": 1}}
    d = report.to_dict()
    assert d["summary"]["calls"] == 10 and len(d["shapes"]) == 5
    json.dumps(d)


def balances_in_finds(repo, traffic):
    """How many balances the recorded find calls return."""
    n = 0
    for line in traffic.read_text().splitlines():
        rec = json.loads(line)
        if rec["call"] == "find" and rec["outcome"] == "ok":
            args = dict(rec["args"])
            body = json.loads(repo.find(args.pop("view"), **args))
            n += sum(1 for u in body["data"]["users"]
                     if u.get("balance") is not None)
    return n


def test_a_changed_value_is_reported_at_its_path(fn, pool, schema, repo,
                                                 traffic):
    changed = balances_in_finds(repo, traffic)
    assert changed >= 3
    altering = fn.Repository(pool, schema, backend=tb.ALTERING)
    report = parity.replay(str(traffic), repo, altering, progress=False,
                           known_differences_of=())
    find = next(s for s in report.shapes.values()
                if s.call == "find" and s.calls == 3)
    assert find.mismatches == 3
    paths = find.to_dict()["differences"]
    assert [(p["path"], p["kind"], p["unexplained"]) for p in paths] == [
        ("data.users[*].balance", "number", changed)]
    example = paths[0]["example"]
    assert example["path"] == "data.users[0].balance"
    assert example["primary"] != example["candidate"]
    one = next(s for s in report.shapes.values() if s.call == "find_one")
    assert [(p["path"], p["kind"]) for p in one.to_dict()["differences"]] \
        == []   # the selection has no balance
    assert report.mismatches == 3
    assert report.mismatch_rate() == pytest.approx(0.3)

    explained = parity.replay(str(traffic), repo, altering, progress=False,
                              rules=[RULE])
    find = next(s for s in explained.shapes.values()
                if s.call == "find" and s.calls == 3)
    assert find.mismatches == 0 and find.explained == 3
    entry = find.to_dict()["differences"][0]
    assert entry["rules"] == {"test.float_balance": changed}
    assert entry["explained"] == changed and entry["unexplained"] == 0
    assert explained.mismatch_rate() == 0.0
    assert explained.mismatch_rate(count_explained=True) == \
        pytest.approx(0.3)
    # Rules by backend name (fraiseql_native.backend_known_differences).
    by_name = parity.replay(str(traffic), repo, altering, progress=False,
                            known_differences_of=[tb.ALTERING])
    assert by_name.mismatch_rate() == 0.0 and by_name.explained == 3
    # known_differences dicts work as rules too.
    again = parity.replay(str(traffic), repo, altering, progress=False,
                          rules=[tb.AlteringBackend.known_differences])
    assert again.mismatch_rate() == 0.0 and again.explained == 3
    # ignore patterns take the path out.
    ignored = parity.replay(str(traffic), repo, altering, progress=False,
                            ignore=["data.users[*].balance"])
    assert ignored.mismatches == 0 and ignored.explained == 0


def test_table_lists_shapes_paths_and_summary(fn, pool, schema, repo,
                                              traffic):
    altering = fn.Repository(pool, schema, backend=tb.ALTERING)
    report = parity.replay(str(traffic), repo, altering, progress=False,
                           primary_name="native", candidate_name="altering",
                           known_differences_of=())
    text = report.render_table()
    changed = balances_in_finds(repo, traffic)
    assert f"data.users[*].balance  number  x{changed}  unexplained" in text
    assert text.splitlines()[-1].startswith("summary: 10 calls in 5 shapes")
    assert "unexplained mismatches: 30.00%" in text


def test_progress_lines_every_ten_percent(fn, pool, schema, repo, traffic):
    stream = io.StringIO()
    parity.replay(str(traffic), repo, repo, progress=True,
                  progress_stream=stream)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "replay: 10% (1/10)"
    assert lines[-1] == "replay: 100% (10/10)"
    assert len(lines) == 10


def test_calibrate_is_the_a_a_run_of_a_file(repo, traffic):
    report = parity.calibrate(repo, str(traffic), runs=2)
    assert report.calls == 20 and report.mismatches == 0


def run_cli(*args, env_extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([
        str(ROOT / "bazel-bin" / "pybind"), str(ROOT / "bazel-bin" / "proto"),
        str(ROOT / "tests" / "fixtures"), str(ROOT / "tests" / "python")])
    return subprocess.run(
        [sys.executable, "-m", "fraiseql_native.parity", "replay", *args],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)


def cli_args(db_url, sample, traffic, candidate):
    return ["--traffic", str(traffic), "--url", db_url,
            "--registry", "sample_registry:register_sample",
            "--schema", sample, "--import", "test_parity_backends",
            "--primary", "native", "--candidate", candidate]


def test_exit_status_follows_the_threshold(db_url, sample, traffic,
                                           tmp_path):
    base = cli_args(db_url, sample, traffic, tb.ALTERING)
    strict = run_cli(*base, "--max-mismatch-rate", "0", "--no-progress",
                     "--no-known-differences")
    assert strict.returncode == 1, strict.stderr
    assert "FAIL: mismatch rate 30.0000% is above" in strict.stdout
    assert "data.users[*].balance" in strict.stdout
    loose = run_cli(*base, "--max-mismatch-rate", "0.5", "--no-progress",
                    "--no-known-differences")
    assert loose.returncode == 0, loose.stderr + loose.stdout
    ruled = run_cli(*base, "--max-mismatch-rate", "0", "--no-progress",
                    "--no-known-differences",
                    "--rule", "test.float_balance=float64")
    assert ruled.returncode == 0, ruled.stderr + ruled.stdout
    assert "explained by test.float_balance" in ruled.stdout
    counted = run_cli(*base, "--max-mismatch-rate", "0", "--no-progress",
                      "--no-known-differences",
                      "--rule", "test.float_balance=float64",
                      "--count-explained")
    assert counted.returncode == 1
    # The candidate backend's own known differences apply by default.
    automatic = run_cli(*base, "--max-mismatch-rate", "0", "--no-progress")
    assert automatic.returncode == 0, automatic.stderr + automatic.stdout
    assert "explained by test.float_balance" in automatic.stdout
    # Progress goes to stderr (not a tty here: a line per 10%).
    same = run_cli(*cli_args(db_url, sample, traffic, "native"),
                   "--max-mismatch-rate", "0")
    assert same.returncode == 0, same.stderr + same.stdout
    assert "replay: 100% (10/10)" in same.stderr
    assert "unexplained mismatches: 0.00%" in same.stdout


def test_usage_errors_exit_2(db_url, sample, traffic, tmp_path):
    base = cli_args(db_url, sample, traffic, "native")
    assert run_cli(*base, "--max-mismatch-rate", "2").returncode == 2
    assert run_cli(*base, "--rule", "nameonly").returncode == 2
    missing = run_cli(*cli_args(db_url, sample, tmp_path / "none.jsonl",
                                "native"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    unknown = run_cli(*cli_args(db_url, sample, traffic, "no-such-backend"))
    assert unknown.returncode == 2 and "unknown backend" in unknown.stderr
    assert run_cli("--traffic").returncode == 2
    nowhere = run_cli(*base, "--url",
                      "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert nowhere.returncode == 2, nowhere.stderr
    assert "cannot set up the replay" in nowhere.stderr


class _Checker(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.attrs = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(v or "" for _, v in attrs)


def test_json_and_html_reports(db_url, sample, traffic, tmp_path):
    out_json = tmp_path / "report.json"
    out_html = tmp_path / "report.html"
    proc = run_cli(*cli_args(db_url, sample, traffic, tb.ALTERING),
                   "--no-progress", "--json", str(out_json),
                   "--html", str(out_html))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads(out_json.read_text())
    assert report["summary"]["calls"] == 10
    assert report["primary"] == "native" and report["candidate"] == tb.ALTERING
    find = next(s for s in report["shapes"] if s["mismatches"] or
                s["explained"])
    assert find["differences"][0]["path"] == "data.users[*].balance"
    for side in ("primary", "candidate"):
        assert set(find["latency_ms"][side]) == {"p50", "p95", "p99"}
    page = out_html.read_text()
    checker = _Checker()
    checker.feed(page)
    assert {"html", "table", "svg", "rect", "style"} <= set(checker.tags)
    assert "script" not in checker.tags
    assert "<script" not in page.lower()
    assert "http://" not in page and "https://" not in page
    assert not any(a.startswith(("//", "data:")) for a in checker.attrs)
    assert "data.users[*].balance" in page
    assert "@import" not in page and "url(" not in page


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_is_one_rewritten_line(repo, traffic):
    stream = _Terminal()
    parity.replay(str(traffic), repo, repo, progress=True,
                  progress_stream=stream)
    text = stream.getvalue()
    assert text.startswith("\rreplay [") and text.endswith("\n")
    assert text.count("\n") == 1
    assert "10/10 100.0%" in text.rsplit("\r", 1)[1]


def test_both_sides_failing_where_the_recording_succeeded_fails_the_gate(
        fn, pool, schema, repo, users, traffic):
    lines = [json.loads(line) for line in traffic.read_text().splitlines()]
    ok = next(r for r in lines if r["call"] == "count")
    failed = next(r for r in lines if r["outcome"] != "ok")
    assert failed["outcome"] == "InvalidInputError"
    # The same call that failed when recorded, but recorded as "ok": both
    # sides now fail the same way, which is not what was recorded.
    wrong = dict(failed, outcome="ok")
    other = dict(failed, outcome="DatabaseError")
    report = parity.replay([ok, failed, wrong, other], repo,
                           fn.Repository(pool, schema), progress=False)
    assert report.calls == 4
    assert report.matches == 2          # ok, and the recorded failure
    assert report.replay_errors == 2 and report.mismatches == 0
    assert report.mismatch_rate() == 0.5
    assert "2 replay errors (errors on both sides, recorded ok" in \
        report.summary_line()
    assert report.to_dict()["summary"]["replay_errors"] == 2


def test_a_schema_that_does_not_exist_fails(db_url, sample, traffic):
    args = cli_args(db_url, sample, traffic, "native")
    args[args.index("--schema") + 1] = "fql_no_such_schema"
    gated = run_cli(*args, "--no-progress", "--max-mismatch-rate", "0")
    assert gated.returncode != 0, gated.stdout
    assert "9 replay errors (errors on both sides" in gated.stdout
    assert ": 0.00%" not in gated.stdout
    # Even without a gate: no call ran on either backend, a set-up error.
    ungated = run_cli(*args, "--no-progress")
    assert ungated.returncode == 2, ungated.stdout + ungated.stderr
    assert "wrong --schema" in ungated.stderr


def test_unreplayable_lines(db_url, sample, traffic, tmp_path):
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text('not json\n[1, 2]\n{"call": "no_such_call"}\n')
    nothing = run_cli(*cli_args(db_url, sample, garbage, "native"),
                      "--no-progress", "--max-mismatch-rate", "0")
    assert nothing.returncode == 2, nothing.stdout + nothing.stderr
    assert "no line" in nothing.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert run_cli(*cli_args(db_url, sample, empty, "native"),
                   "--no-progress").returncode == 2
    # Good lines and one bad one: the bad one fails the gate unless
    # --max-skipped allows it.
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(traffic.read_text() + "not json\n")
    strict = run_cli(*cli_args(db_url, sample, mixed, "native"),
                     "--no-progress", "--max-mismatch-rate", "0")
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "1 lines skipped" in strict.stdout
    assert "FAIL: 1 lines skipped" in strict.stdout
    allowed = run_cli(*cli_args(db_url, sample, mixed, "native"),
                      "--no-progress", "--max-mismatch-rate", "0",
                      "--max-skipped", "1")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
