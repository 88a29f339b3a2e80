"""The full text operators through the module: what a golden case cannot
say.

Which posts each full text operator returns on the sample data (matches,
plainQuery, phraseQuery, websearchQuery and the rank thresholds, with every
spelling) is written as `rows:` cases in
plugins/where/full_text/full_text.golden, run on PostgreSQL by
test_where_cases.py. Here: a query the server refuses is its DatabaseError
with the server's sqlstate, and a bad value fails before any SQL, as the
module's InvalidInputError without a sqlstate."""
import json

import pytest


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


@pytest.fixture
def posts(sample):
    return f"{sample}.v_post"


def find(repo, posts, where):
    return ids(repo.find(posts, where={"searchTsv": where}, selection="id"))


def test_malformed_to_tsquery_is_the_servers_error(fn, repo, posts, raw):
    with pytest.raises(fn.DatabaseError) as e:
        find(repo, posts, {"matches": "run walk"})
    assert e.value.sqlstate == "42601"
    assert e.value.code == "INVALID_ARGUMENT"
    # The pool is fine afterwards.
    assert len(ids(repo.find(posts, selection="id"))) == len(raw["v_post"])


@pytest.mark.parametrize("where,message", [
    ({"matches": 3},
     "invalid value at where.searchTsv.matches: expected a text search "
     "query (a string), got a number"),
    ({"rankGt": {"query": "run"}},
     "invalid value at where.searchTsv.rankGt.threshold: expected a number "
     "(a rank, compared as a real), got null"),
    ({"rankCdLte": {"query": "run", "threshold": 0.1, "weights": [1]}},
     "invalid value at where.searchTsv.rankCdLte: unknown key 'weights'; "
     "expected an object {query: a string, threshold: a number}"),
    ({"websearchQuery": "a\u0000b"},
     "invalid where at where.searchTsv.websearchQuery: a str that contains a NUL byte"),
])
def test_bad_values_fail_before_sql(fn, repo, posts, where, message):
    with pytest.raises(fn.InvalidInputError) as e:
        find(repo, posts, where)
    assert str(e.value) == message
    assert e.value.sqlstate is None
