"""The string operators' cases (contains, icontains, startsWith, istartsWith,
endsWith, iendsWith, like, ilike, matches, imatches, notMatches and their
aliases), with the rows each must return on the sample data and the exact
input errors, live in plugins/where/string/string.golden and run on
PostgreSQL through tests/python/test_where_cases.py. What stays here is what
a golden case cannot say: the SQL the repository itself explains, and an
error only the server raises."""
import json

import pytest

from conftest import SAMPLE_ROWS


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


def test_same_shape_gives_same_sql(repo, users):
    sql_a, params_a = repo.explain(users, where={"firstName": {"contains": "a"}})
    sql_b, params_b = repo.explain(
        users, where={"firstName": {"contains": "%_\\' OR TRUE --"}})
    assert sql_a == sql_b
    assert "%\\%\\_\\\\' OR TRUE --%" in params_b
    assert "OR TRUE" not in sql_b


def test_malformed_regex_is_a_server_error(fn, repo, users):
    with pytest.raises(fn.DatabaseError) as e:
        repo.find(users, where={"firstName": {"matches": "(unclosed"}},
                  selection="id")
    assert e.value.sqlstate == "2201B"
    # The pool stays usable.
    assert len(ids(repo.find(users, selection="id"))) == SAMPLE_ROWS
