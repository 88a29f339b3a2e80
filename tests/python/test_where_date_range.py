"""Every date range operator run on PostgreSQL through the native path, with
the expected rows computed here in Python from the raw sample data: ranges
parsed into Python dates with PostgreSQL's bound rules ([ ] inclusive, ( )
exclusive, an empty bound unbounded, canonical form [lower, upper)), never
from the SQL under test."""
import datetime
import json

import pytest

DAY = datetime.timedelta(days=1)
EMPTY = "empty"


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


def parse_range(text):
    """A daterange as (lower, upper) in canonical [lower, upper) form, None
    for an unbounded side, or EMPTY."""
    if text == "empty":
        return EMPTY
    lower_text, upper_text = (b.strip() for b in text[1:-1].split(","))
    lower = datetime.date.fromisoformat(lower_text) if lower_text else None
    upper = datetime.date.fromisoformat(upper_text) if upper_text else None
    if lower is not None and text[0] == "(":
        lower += DAY
    if upper is not None and text[-1] == "]":
        upper += DAY
    if lower is not None and upper is not None and lower >= upper:
        return EMPTY
    return (lower, upper)


def contains_date(r, d):
    return r != EMPTY and (r[0] is None or r[0] <= d) and \
        (r[1] is None or d < r[1])


def overlaps(a, b):
    if EMPTY in (a, b):
        return False
    # lower < upper on each side; an unbounded side always passes.
    return all(lo is None or hi is None or lo < hi
               for lo, hi in ((a[0], b[1]), (b[0], a[1])))


def strictly_left(a, b):
    if EMPTY in (a, b) or a[1] is None or b[0] is None:
        return False
    return a[1] <= b[0]


def strictly_right(a, b):
    return strictly_left(b, a)


def not_left(a, b):
    """a &> b: a's lower is not before b's lower."""
    if EMPTY in (a, b):
        return False
    if b[0] is None:
        return True
    return a[0] is not None and a[0] >= b[0]


def not_right(a, b):
    """a &< b: a's upper is not after b's upper."""
    if EMPTY in (a, b):
        return False
    if b[1] is None:
        return True
    return a[1] is not None and a[1] <= b[1]


def adjacent(a, b):
    if EMPTY in (a, b):
        return False
    return (a[1] is not None and a[1] == b[0]) or \
        (b[1] is not None and b[1] == a[0])


RANGE_OPS = {
    "overlaps": overlaps,
    "adjacent": adjacent,
    "strictlyLeft": strictly_left,
    "strictlyRight": strictly_right,
    "notLeft": not_left,
    "notRight": not_right,
}

RANGES = [
    "[2024-03-01,2024-03-15)",
    "(2024-03-01,2024-03-15]",   # the same dates shifted by one
    "[2024-06-01,)",             # unbounded above
    "[,2024-02-10)",             # unbounded below
    "[2024-07-10,2024-07-10]",   # a single day
    "[2025-03-01,2025-04-01)",   # after every bounded range
    "(,)",                       # everything
]


def expect(raw, predicate):
    return sorted(r["id"] for r in raw["v_user"]
                  if r.get("availability") is not None
                  and predicate(parse_range(r["availability"])))


def run(repo, users, op, value):
    return ids(repo.find(users, where={"availability": {op: value}},
                         selection="id"))


@pytest.mark.parametrize("value", RANGES)
@pytest.mark.parametrize("op", sorted(RANGE_OPS))
def test_range_operators(repo, users, raw, op, value):
    target = parse_range(value)
    expected = expect(raw, lambda r: RANGE_OPS[op](r, target))
    assert run(repo, users, op, value) == expected


@pytest.mark.parametrize("op", sorted(RANGE_OPS))
def test_each_range_operator_splits_the_rows(raw, op):
    # The sample data makes every operator meaningful: for some value of
    # RANGES it matches some rows and not others.
    n = len(raw["v_user"])
    assert any(0 < len(expect(raw, lambda r: RANGE_OPS[op](r, parse_range(v))))
               < n for v in RANGES)


@pytest.mark.parametrize("day", ["2024-03-15", "2024-01-10", "2024-12-31",
                                 "2025-06-01"])
def test_contains_date(repo, users, raw, day):
    d = datetime.date.fromisoformat(day)
    expected = expect(raw, lambda r: contains_date(r, d))
    assert run(repo, users, "containsDate", day) == expected
    assert 0 < len(expected) < len(raw["v_user"])


def test_unbounded_ranges_contain_every_later_date(repo, users, raw):
    # Only the ranges without an upper bound reach 2030.
    expected = expect(raw, lambda r: r[1] is None and r[0] is not None
                      and r[0] <= datetime.date(2030, 1, 1))
    assert run(repo, users, "containsDate", "2030-01-01") == expected
    assert expected


def test_adjacent_to_a_row_range(repo, users, raw):
    # A value that starts where a row's range ends, and ends where another
    # row's range starts.
    bounded = [parse_range(r["availability"]) for r in raw["v_user"]
               if r.get("availability")]
    first = next(r for r in bounded if r[1] is not None)
    second = next(r for r in bounded if r[0] > first[1] + DAY)
    value = f"[{first[1]},{second[0]})"
    target = parse_range(value)
    expected = expect(raw, lambda r: adjacent(r, target))
    assert run(repo, users, "adjacent", value) == expected
    assert len(expected) >= 2
    # The inclusive spelling of the same range gives the same rows.
    assert run(repo, users, "adjacent",
               f"[{first[1]},{second[0] - DAY}]") == expected


@pytest.mark.parametrize("op", sorted(RANGE_OPS))
def test_the_empty_range_matches_nothing(repo, users, op):
    assert run(repo, users, op, "empty") == []


@pytest.mark.parametrize("canonical,value,spellings", [
    ("containsDate", "2024-03-15", ["contains_date", "containsdate"]),
    ("strictlyLeft", "[2024-06-01,)", ["strictly_left", "strictlyleft"]),
    ("strictlyRight", "[,2024-06-01)", ["strictly_right", "strictlyright"]),
    ("notLeft", "[2024-06-01,2024-07-01)", ["not_left", "notleft"]),
    ("notRight", "[2024-06-01,2024-07-01)", ["not_right", "notright"]),
])
def test_spellings_are_the_same_operator(repo, users, canonical, value,
                                         spellings):
    want = run(repo, users, canonical, value)
    assert want
    for name in spellings:
        assert run(repo, users, name, value) == want, name


def test_date_objects_are_dates(repo, users, raw):
    d = datetime.date(2024, 5, 20)
    expected = expect(raw, lambda r: contains_date(r, d))
    assert run(repo, users, "containsDate", d) == expected and expected


def test_range_operators_combine(repo, users, raw):
    where = {"OR": [{"availability": {"containsDate": "2024-02-01"}},
                    {"NOT": {"availability": {"notLeft": "[2024-11-01,)"}}}]}
    d, t = datetime.date(2024, 2, 1), parse_range("[2024-11-01,)")
    expected = expect(raw, lambda r: contains_date(r, d) or not not_left(r, t))
    assert ids(repo.find(users, where=where, selection="id")) == expected
    assert 0 < len(expected) < len(raw["v_user"])


@pytest.mark.parametrize("where,message", [
    ({"availability": {"overlaps": "[2024-02-01,2024-01-01)"}},
     "invalid value at where.availability.overlaps: expected a date range "
     "like [2024-01-01,2024-02-01), got a string "
     "(the lower bound is after the upper bound)"),
    ({"availability": {"containsDate": "2024-02-30"}},
     "invalid value at where.availability.containsDate: expected a Date "
     "(YYYY-MM-DD), got a string that does not fit"),
    ({"availability": {"adjacent": "2024-01-01"}},
     "invalid value at where.availability.adjacent: expected a DateRange "
     "(like [2024-01-01,2024-02-01)), got a string that does not fit"),
])
def test_bad_values_fail_before_sql(fn, repo, users, where, message):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where=where, selection="id")
    assert str(e.value) == message
    assert e.value.sqlstate is None


def test_python_range_helpers_agree_with_known_answers():
    a = parse_range("[2024-01-01,2024-01-10)")
    assert parse_range("[2024-01-01,2024-01-09]") == a
    assert parse_range("(2023-12-31,2024-01-10)") == a
    assert parse_range("[2024-01-05,2024-01-05)") == EMPTY
    assert adjacent(a, parse_range("[2024-01-10,)"))
    assert not overlaps(a, parse_range("[2024-01-10,)"))
    assert overlaps(a, parse_range("(,2024-01-02)"))
    assert strictly_left(a, parse_range("[2024-01-10,2024-02-01)"))
    assert not strictly_left(parse_range("[2024-01-01,)"), a)
    assert not_left(a, parse_range("(,)")) and not not_left(
        parse_range("(,2024-01-01)"), a)
    assert not_right(a, parse_range("[2023-01-01,)"))
    assert not not_right(parse_range("[2024-01-01,)"), a)
