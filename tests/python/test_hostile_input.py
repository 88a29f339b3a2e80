"""Hostile input at the Python boundary (issue 9, part 4).

Every value of the table in hostile_values.py (SQL fragments, quotes and
backslashes, NUL, invalid UTF-8 and lone surrogates, control characters,
unicode oddities, format strings, huge numbers, NaN and infinities, odd
Python types and objects that lie or raise, deep nesting, cycles, huge
strings) is placed in every position a caller controls (filter values, field
and operator names, JSON keys, order keys and directions, selection text and
aliases, view names, response keys, context names and values, cursors,
timeouts, limits, chunk_bytes, mutation function, input and context
arguments, Python operator binds) and run through the real module against
the real server. Each case must give InvalidInputError or run with the value
bound (rows checked against the raw sample data, echoes checked against the
value); `hostile_values.judge` has the rules. Values that may kill a process
(deep nesting, cycles, huge values, huge chunk_bytes) run in subprocesses,
which must exit cleanly. The last test checks the pool is healthy.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict

import psycopg
import pytest

from servers import load_mutation_fixtures

import hostile_values as hv

ROOT = pathlib.Path(__file__).resolve().parents[2]
HSCHEMA = f"fql_pytest_hostile_{os.getpid()}"

IN_PROCESS = hv.pairs(isolated=False)
ISOLATED = hv.pairs(isolated=True)
# Per subprocess run of one value's cases: a hang is reported, not waited on.
CHILD_DEADLINE_S = 240


@pytest.fixture(scope="module")
def hschema(db_url, sample):
    load_mutation_fixtures(db_url, HSCHEMA)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"""
            CREATE VIEW "{HSCHEMA}".v_ctx AS
              SELECT jsonb_build_object(
                'tenant', current_setting('app.tenant_id', true),
                'user', current_setting('app.user_id', true),
                'hostile', current_setting('app.hostile', true)) AS data""")
        conn.execute(hv.ECHO_SQL.format(schema=HSCHEMA))
    yield HSCHEMA
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{HSCHEMA}" CASCADE')


@pytest.fixture(scope="module")
def harness(fn, db_url, sample, hschema, raw):
    return hv.Harness(fn, db_url, sample, hschema, raw["v_user"])


class IsolatedRuns:
    """Runs the subprocess cases in the background (two children at a time,
    one child per value, its cases in turn). A child that dies is recorded
    against the case it was running; the value's remaining cases go to a new
    child."""

    def __init__(self, db_url, sample, hschema, cases):
        self.args = [sys.executable, str(pathlib.Path(hv.__file__)), db_url,
                     sample, hschema]
        self.results = {}
        self.cond = threading.Condition()
        groups = OrderedDict()
        for case in cases:
            groups.setdefault(case[0], []).append(case)
        self.queue = list(groups.values())
        self.threads = [threading.Thread(target=self._worker, daemon=True)
                        for _ in range(2)]
        for t in self.threads:
            t.start()

    def _next_group(self):
        with self.cond:
            return self.queue.pop(0) if self.queue else None

    def _worker(self):
        while True:
            group = self._next_group()
            if group is None:
                return
            while group:
                group = self._run_child(group)

    def _record(self, case, result):
        with self.cond:
            self.results[tuple(case)] = result
            self.cond.notify_all()

    def _run_child(self, cases):
        """Runs cases in one child; returns the ones it did not reach."""
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT / "bazel-bin" / "pybind"),
             str(ROOT / "bazel-bin" / "proto"),
             os.environ.get("PYTHONPATH", "")]))
        with tempfile.TemporaryFile() as err:
            child = subprocess.Popen(self.args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=err,
                                     env=env, text=True)
            timer = threading.Timer(CHILD_DEADLINE_S, child.kill)
            timer.start()
            try:
                child.stdin.write("".join(f"{v} {p}\n" for v, p in cases))
                child.stdin.close()
            except BrokenPipeError:
                pass
            done, started = set(), None
            for line in child.stdout:
                msg = json.loads(line)
                if "start" in msg:
                    started = tuple(msg["start"])
                    continue
                done.add(tuple(msg["case"]))
                self._record(msg["case"], msg)
                started = None
            code = child.wait()
            timer.cancel()
            err.seek(0)
            tail = err.read().decode("utf-8", "replace")[-600:]
        rest = [c for c in cases if tuple(c) not in done]
        if code != 0 or started is not None:
            victim = started or (rest[0] if rest else None)
            if victim is None:
                victim = cases[-1]
                self._record(victim, {"outcome": "child exit", "problems": [
                    f"the subprocess exited with code {code}: {tail}"]})
                return []
            how = ("was killed after the deadline (a hang)"
                   if code == -9 else f"died (exit code {code})")
            self._record(victim, {"outcome": "crash", "problems": [
                f"the process {how} on this case: {tail}"]})
            rest = [c for c in rest if tuple(c) != tuple(victim)]
        return rest

    def result(self, case, deadline_s):
        end = time.monotonic() + deadline_s
        with self.cond:
            while case not in self.results:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.results[case]


@pytest.fixture(scope="module")
def isolated_runs(request, db_url, sample, hschema):
    # Only the subprocess cases selected for this run (-k, node ids).
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "originalname", "")
                == "test_hostile_value_in_subprocess"]
    return IsolatedRuns(db_url, sample, hschema, selected)


def connections_in_use(pool, deadline_s=60):
    """in_use once it is 0, or at the deadline, which only a connection that
    never comes back meets (a cancelled query may give its connection back
    just after the call returns)."""
    end = time.monotonic() + deadline_s
    while True:
        in_use = pool.stats()["in_use"]
        if in_use == 0 or time.monotonic() >= end:
            return in_use
        time.sleep(0.005)


def _describe(case, result):
    return (f"value {case[0]} at {case[1]}: outcome {result['outcome']}; "
            + "; ".join(result["problems"]))


@pytest.mark.parametrize("case", IN_PROCESS,
                         ids=[f"{p}-{v}" for v, p in IN_PROCESS])
def test_hostile_value(harness, isolated_runs, case):
    # isolated_runs: the subprocesses start with the first case and run
    # beside the in-process ones.
    result = hv.run_case(harness, *case)
    in_use = connections_in_use(harness.pool)
    if in_use:
        result["problems"].append(f"{in_use} connections in use after the call")
    assert not result["problems"], _describe(case, result)


@pytest.mark.parametrize("case", ISOLATED,
                         ids=[f"subprocess-{p}-{v}" for v, p in ISOLATED])
def test_hostile_value_in_subprocess(isolated_runs, case):
    result = isolated_runs.result(tuple(case), CHILD_DEADLINE_S * 4)
    assert result is not None, f"no result for {case} within the deadline"
    problems = list(result["problems"])
    if result.get("in_use"):
        problems.append(f"{result['in_use']} connections in use after the call")
    result["problems"] = problems
    assert not problems, _describe(case, result)


def test_table_is_big_enough():
    assert len(hv.VALUES) >= 200
    kinds = {v.group for v in hv.VALUES}
    assert {"sql", "nul", "surrogate", "control", "blank", "unicode", "long",
            "format", "jsonish", "int", "float", "decimal", "object",
            "huge"} <= kinds
    positions = {p for _, p in IN_PROCESS + ISOLATED}
    assert positions == set(hv.POSITIONS)
    values = {v for v, _ in IN_PROCESS + ISOLATED}
    assert values == {v.id for v in hv.VALUES}


def test_zz_pool_is_healthy_after_the_suite(harness, raw):
    """Last: no connection is held and a normal query returns the rows."""
    connections_in_use(harness.pool)
    stats = harness.pool.stats()
    assert stats["in_use"] == 0 and stats["waiting"] == 0, stats
    body = harness.repo.find(harness.users, selection="id firstName",
                             order_by=[{"id": "ASC"}])
    got = json.loads(body)["data"]["v_user"]
    want = sorted(({"id": r["id"], "firstName": r.get("first_name")}
                   for r in raw["v_user"]), key=lambda r: r["id"])
    assert got == want
    assert harness.repo.count(harness.users,
                              where={"firstName": {"eq": harness.real_first}}) \
        == len(harness.ids(lambda r: r.get("first_name") == harness.real_first))
