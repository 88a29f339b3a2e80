"""The date range operators from Python: what a golden case cannot say.

Every operator's rows on the sample users (overlaps, adjacent, strictlyLeft,
strictlyRight, notLeft, notRight and containsDate, each spelling, the empty
range, unbounded values) are rows: cases in
plugins/where/date_range/date_range.golden, run on PostgreSQL by
test_where_cases.py, and its error: cases hold the messages. Here: a Python
date as a value, and the exception class of a bad value."""
import datetime
import json

import pytest


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


def test_date_objects_are_dates(repo, users, raw):
    # A datetime.date is the date it names: the same rows as its ISO text,
    # which the golden case "containsDate 2024-05-20 on the sample users"
    # pins.
    as_date = ids(repo.find(users, where={"availability": {
        "containsDate": datetime.date(2024, 5, 20)}}, selection="id"))
    as_text = ids(repo.find(users, where={"availability": {
        "containsDate": "2024-05-20"}}, selection="id"))
    assert as_date == as_text
    assert 0 < len(as_date) < len(raw["v_user"])  # the filter splits the rows


def test_a_bad_value_is_an_input_error_before_sql(fn, repo, users):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where={"availability": {
            "overlaps": "[2024-02-01,2024-01-01)"}}, selection="id")
    assert str(e.value) == (
        "invalid value at where.availability.overlaps: expected a date range "
        "like [2024-01-01,2024-02-01), got a string "
        "(the lower bound is after the upper bound)")
    assert e.value.sqlstate is None
