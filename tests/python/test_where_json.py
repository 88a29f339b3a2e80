"""The JSON operators from Python: what a golden case cannot say.

Every operator's rows on User.preferences of the sample users (hasKey,
hasAnyKeys, hasAllKeys, contains, containedBy, pathExists, pathMatch, each
spelling, hostile keys) are rows: cases in plugins/where/json/json.golden,
run on PostgreSQL by test_where_cases.py, and its error: cases hold the
messages. Here: a Python str the module refuses before it is JSON, the
exception class of a bad value, and an error only the server finds."""
import json

import pytest


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


@pytest.mark.parametrize("where,message", [
    # The module's conversion of a Python value, before any JSON exists.
    ({"contains": {"a": ["x\u0000"]}},
     "invalid where at where.preferences.contains.a[0]: a str that contains a NUL byte"),
    ({"hasKey": 3},
     "invalid value at where.preferences.hasKey: expected a key (a string), "
     "got a number"),
])
def test_bad_values_fail_before_sql(fn, repo, users, where, message):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where={"preferences": where}, selection="id")
    assert str(e.value) == message
    assert e.value.sqlstate is None


def test_path_syntax_error_is_the_servers(fn, repo, users, raw):
    # Balanced but not a path: the server's parser rejects it (42601).
    with pytest.raises(fn.DatabaseError) as e:
        repo.find(users, where={"preferences": {"pathExists": "$.a ?? 1"}},
                  selection="id")
    assert e.value.sqlstate == "42601"
    assert e.value.code == "INVALID_ARGUMENT"
    # The pool is fine afterwards.
    assert len(ids(repo.find(users, selection="id"))) == len(raw["v_user"])
