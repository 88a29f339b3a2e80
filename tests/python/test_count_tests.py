"""ci/count_tests.py, the counter behind ci/test's summary line: cases from
JUnit files as passed, failed and skipped, fresh gtest results only, every
skip named. The files below follow what gtest 1.12 (Debian 12), Bazel 4 and
pytest write; one is a real gtest binary's output."""
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
COUNT = ROOT / "ci" / "count_tests.py"

GTEST_XML = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="6" failures="1" disabled="1" errors="0" name="AllTests">
  <testsuite name="PoolTest" tests="6" failures="1" disabled="1" skipped="1">
    <testcase name="Acquires" status="run" result="completed"
              classname="PoolTest"/>
    <testcase name="Releases" status="run" result="completed"
              classname="PoolTest"/>
    <testcase name="Waits" status="run" result="completed"
              classname="PoolTest">
      <failure message="pool_test.cc:10&#x0A;Expected equality"/>
    </testcase>
    <testcase name="NeedsPgvector" status="run" result="skipped"
              classname="PoolTest">
      <skipped message="pool_test.cc:20&#x0A;pgvector is not installed"/>
    </testcase>
    <testcase name="DISABLED_Old" status="notrun" result="suppressed"
              classname="PoolTest"/>
  </testsuite>
</testsuites>
"""

# What Bazel writes for a test binary that crashed before writing its own.
CRASHED_XML = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
<testsuite name="stream/chunked_query_test" tests="1" failures="0" errors="1">
<testcase name="stream/chunked_query_test" status="run" duration="3" time="3">
<error message="exited with error code 134"></error></testcase>
</testsuite>
</testsuites>
"""

PYTEST_XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1"
 tests="5">
<testcase classname="tests.python.test_a" name="test_ok"/>
<testcase classname="tests.python.test_a" name="test_ok_too"/>
<testcase classname="tests.python.test_a" name="test_bad">
<failure message="assert 1 == 2">...</failure></testcase>
<testcase classname="tests.python.test_a" name="test_fixture_broke">
<error message="failed on setup">...</error></testcase>
<testcase classname="tests.python.test_b" name="test_vector">
<skipped type="pytest.skip" message="no pgvector on Debian 12">x</skipped>
</testcase>
</testsuite></testsuites>
"""


def count(*args):
    proc = subprocess.run([sys.executable, str(COUNT), *map(str, args)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    return tuple(map(int, lines[0].split())), lines[1:]


def write(path, text, mtime=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def test_gtest_cases_by_outcome_with_skips_and_disabled_named(tmp_path):
    write(tmp_path / "pool" / "pool_test" / "test.xml", GTEST_XML)
    totals, skipped = count("gtest", tmp_path, "--since", 0)
    assert totals == (2, 1, 2)
    assert skipped == [
        "skipped: PoolTest.NeedsPgvector: pool_test.cc:20 pgvector is not "
        "installed",
        "skipped: PoolTest.DISABLED_Old: disabled"]


def test_only_results_written_since_the_run_began_count(tmp_path):
    """A test.xml left by an earlier run (a target deleted since, in a
    reused workspace) is not counted; a crashed binary's is one failure."""
    now = time.time()
    write(tmp_path / "gone" / "old_test" / "test.xml", GTEST_XML,
          mtime=now - 3600)
    write(tmp_path / "stream" / "chunked_query_test" / "test.xml",
          CRASHED_XML)
    totals, skipped = count("gtest", tmp_path, "--since", now - 60)
    assert totals == (0, 1, 0)
    assert skipped == []


def test_a_broken_or_empty_result_is_a_failure(tmp_path):
    write(tmp_path / "a" / "test.xml", "<testsuites><testsuite")
    write(tmp_path / "b" / "test.xml", "<testsuites tests='0'/>")
    assert count("gtest", tmp_path, "--since", 0)[0] == (0, 2, 0)
    assert count("pytest", tmp_path / "missing.xml")[0] == (0, 1, 0)


def test_pytest_cases_by_outcome(tmp_path):
    write(tmp_path / "pytest.xml", PYTEST_XML)
    totals, skipped = count("pytest", tmp_path / "pytest.xml")
    assert totals == (2, 2, 1)
    assert skipped == [
        "skipped: tests.python.test_b.test_vector: no pgvector on Debian 12"]


def test_a_real_gtest_binary_is_counted_case_by_case(tmp_path):
    """The output of a gtest binary of this repository, run with a filter:
    its cases, not its targets."""
    binary = ROOT / "bazel-bin" / "response" / "response_writer_test"
    out = tmp_path / "response" / "test.xml"
    out.parent.mkdir(parents=True)
    proc = subprocess.run(
        [str(binary), "--gtest_filter=ResponseWriterLanding.*",
         f"--gtest_output=xml:{out}"], capture_output=True, text=True,
        timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ran = proc.stdout.count("[       OK ]")
    assert ran >= 3
    assert count("gtest", tmp_path, "--since", 0)[0] == (ran, 0, 0)
