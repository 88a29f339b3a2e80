"""ci/test's counter: test cases from JUnit XML files, as passed, failed and
skipped, with each skipped case named.

  count_tests.py gtest DIR --since EPOCH   the test.xml files Bazel wrote
                                           under DIR (a bazel-testlogs) at
                                           or after EPOCH (seconds)
  count_tests.py pytest FILE               pytest's --junitxml file

Prints one line "passed failed skipped" on stdout, then one line per
skipped case: "skipped: <suite>.<case>: <reason>".

Only fresh files count: a test.xml older than the run (a target deleted
since an earlier run in the same workspace, or a result Bazel did not
rerun) is not this run's. A case counts once, by its own outcome:
failed when it has a <failure> or <error> (Bazel writes one for a test
binary that crashed), skipped when gtest skipped it (GTEST_SKIP) or it is
disabled (DISABLED_, status="notrun"), or pytest skipped it; passed
otherwise. A file that does not parse, or a suite with no case at all,
is one failure.
"""
import argparse
import os
import pathlib
import sys
import xml.etree.ElementTree as ET


class Counts:
    def __init__(self):
        self.passed = self.failed = 0
        self.skipped = []  # (name, reason)

    def add_case(self, suite, case):
        name = f"{case.get('classname') or suite}.{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            self.failed += 1
        elif case.find("skipped") is not None:
            reason = " ".join(
                (case.find("skipped").get("message") or "").split())
            self.skipped.append((name, reason or "skipped"))
        elif (case.get("status") == "notrun"
              or case.get("result") in ("skipped", "suppressed")):
            self.skipped.append((name, "disabled"
                                 if case.get("status") == "notrun"
                                 else "skipped"))
        else:
            self.passed += 1

    def add_file(self, path):
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as e:
            self.failed += 1
            print(f"count_tests: {path}: {e}", file=sys.stderr)
            return
        suites = list(root.iter("testsuite"))
        cases = 0
        for suite in suites:
            for case in suite.iter("testcase"):
                self.add_case(suite.get("name", "?"), case)
                cases += 1
        if cases == 0:
            self.failed += 1
            print(f"count_tests: {path}: no test case in it", file=sys.stderr)

    def print(self):
        print(self.passed, self.failed, len(self.skipped))
        for name, reason in self.skipped:
            print(f"skipped: {name}: {reason}")


def fresh_test_xml(logs, since):
    """The test.xml files under `logs` written at or after `since`."""
    for path in sorted(pathlib.Path(logs).rglob("test.xml")):
        try:
            if path.stat().st_mtime >= since:
                yield path
        except OSError:
            continue


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    gtest = sub.add_parser("gtest")
    gtest.add_argument("logs")
    gtest.add_argument("--since", type=float, required=True)
    pytest = sub.add_parser("pytest")
    pytest.add_argument("xml")
    args = parser.parse_args(argv)
    counts = Counts()
    if args.kind == "gtest":
        for path in fresh_test_xml(args.logs, args.since):
            counts.add_file(path)
    else:
        counts.add_file(args.xml)
    counts.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
