"""The one runner of the filter cases on PostgreSQL.

Each operator family keeps its cases in one file,
plugins/where/<family>/<family>.golden (the compiler's own cases are in
where/testdata/*.golden). The C++ golden tests compile every case and compare
its SQL and parameters (tests/filter_golden.h). A case that also carries
`rows:` is run here, through the module on the sample data
(tests/fixtures/README.md), and must return exactly those rows:

    rows: i % 7 in (1, 2, 3, 5)     a Python expression over i, the row's
                                    number in its view (user i, post j,
                                    comment k in tests/fixtures/README.md)
    rows: [1, 8, 15]                those row numbers
    rows: none                      no row
    rows: all                       every row

The expectation is written from the data's formulas, never from the SQL
under test. An expression must select some rows and leave some out (say
`none` or `all` otherwise), so that a filter that ignores its condition
fails. The case's view (`view:`, default app.v_user) names the sample view:
app.v_user, app.v_post or app.v_comment."""
import hashlib
import json
import pathlib
import re
import uuid

import pytest

from conftest import ROOT, SAMPLE_ROWS

# Rows per sample view, and the prefix of the md5 that makes each row's id.
VIEWS = {"app.v_user": ("v_user", "user", SAMPLE_ROWS),
         "app.v_post": ("v_post", "post", 2 * SAMPLE_ROWS),
         "app.v_comment": ("v_comment", "comment", 3 * SAMPLE_ROWS)}


def golden_files():
    return (sorted(ROOT.glob("plugins/where/*/*.golden"))
            + sorted(ROOT.glob("where/testdata/*.golden")))


def read_cases(path):
    """The blocks of a golden file (tests/golden_file.h) as dicts, with
    their file and line."""
    cases, case = [], None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("=="):
            case = {"name": line[2:].strip(), "line": number,
                    "file": str(path.relative_to(ROOT))}
            cases.append(case)
        elif line.strip() and not line.startswith("#") and case is not None:
            key, _, value = line.partition(":")
            case[key.strip()] = value.strip()
    return cases


def row_cases():
    out = []
    for path in golden_files():
        for case in read_cases(path):
            if "rows" in case:
                out.append(pytest.param(
                    case, id=f"{case['file']}:{case['line']}"))
    return out


ROW_CASES = row_cases()


# What a rows: expression may call.
SAFE = {"abs": abs, "all": all, "any": any, "divmod": divmod, "len": len,
        "max": max, "min": min, "range": range, "set": set, "str": str}


def row_id(prefix, i):
    return str(uuid.UUID(hashlib.md5(f"{prefix}-{i}".encode()).hexdigest()))


def expected_rows(case):
    """(sample view, the row numbers the case must return)."""
    view, _, count = VIEWS[case.get("view", "app.v_user")]
    text = case["rows"]
    if text == "none":
        numbers = []
    elif text == "all":
        numbers = list(range(1, count + 1))
    elif re.fullmatch(r"\[[\d, ]*\]", text):
        numbers = json.loads(text)
        assert all(1 <= n <= count for n in numbers), text
    else:
        numbers = [i for i in range(1, count + 1)
                   if eval(text, {"__builtins__": SAFE}, {"i": i})]  # noqa: S307
        assert 0 < len(numbers) < count, (
            f"`rows: {text}` selects {len(numbers)} of {count} rows: write "
            "`none` or `all` if that is meant")
    return view, sorted(numbers)


@pytest.mark.parametrize("case", ROW_CASES)
def test_case_returns_its_rows_on_postgresql(repo, sample, case):
    assert "sql" in case, "a case with rows: compiles to SQL (not error:)"
    view, want = expected_rows(case)
    _, prefix, count = VIEWS[case.get("view", "app.v_user")]
    number_of = {row_id(prefix, n): n for n in range(1, count + 1)}
    # The JSON text itself, as the C++ test reads it (541.90 stays 541.90).
    where = case["where"]
    # What runs here is the case's golden SQL and parameters (the C++ test
    # compiles it against tests/filter_golden.cc's schema, this against the
    # sample registry: the two must agree).
    sql, params = repo.explain(f"{sample}.{view}", where=where)
    want_sql = "" if case["sql"] == "<none>" else " WHERE " + case["sql"]
    assert sql == f'SELECT t."data" FROM "{sample}"."{view}" AS t{want_sql}'
    assert params == [text for text, _ in json.loads(case.get("params", "[]"))]
    body = repo.find(f"{sample}.{view}", where=where, selection="id")
    (rows,) = json.loads(body)["data"].values()
    got = sorted(number_of[r["id"]] for r in rows)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert got == want, (f"{case['name']}: missing rows {missing[:20]}, "
                         f"unexpected rows {extra[:20]}")


def test_every_family_has_cases_run_on_postgresql():
    families = {pathlib.Path(p.values[0]["file"]).parent.name
                for p in ROW_CASES}
    # vector needs pgvector, which the embedded server does not have: its
    # cases are checked as SQL only.
    want = {p.parent.name for p in ROOT.glob("plugins/where/*/*.golden")}
    assert want - families <= {"vector"}, sorted(want - families)


def test_the_runner_reads_rows_as_documented():
    user = {"view": "app.v_user"}
    assert expected_rows({**user, "rows": "none"}) == ("v_user", [])
    assert expected_rows({**user, "rows": "[2, 1]"}) == ("v_user", [1, 2])
    assert expected_rows({**user, "rows": "[1, 5, 2][i % 3] == 5"}) == (
        "v_user", list(range(1, SAMPLE_ROWS + 1, 3)))
    assert len(expected_rows({**user, "rows": "all"})[1]) == SAMPLE_ROWS
    assert expected_rows({"view": "app.v_post", "rows": "i % 7 == 0"}) == \
        ("v_post", list(range(7, 2 * SAMPLE_ROWS + 1, 7)))
    with pytest.raises(AssertionError, match="selects 0 of"):
        expected_rows({**user, "rows": "i > 10**6"})
    # The id formula of tests/fixtures/README.md.
    assert row_id("user", 1) == str(uuid.UUID(
        hashlib.md5(b"user-1").hexdigest()))
