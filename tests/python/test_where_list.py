"""The list operators through the module: what a golden case cannot say.

Which rows each list operator returns on the sample data (User.tags and
Post.tags, with every spelling) is written as `rows:` cases in
plugins/where/list/list.golden, run on PostgreSQL by test_where_cases.py.
Here: a bad value fails before any SQL, as the module's InvalidInputError
without a sqlstate."""
import pytest


@pytest.mark.parametrize("where,message", [
    ({"contains": ["dev", 3]},
     "invalid value at where.tags.contains[1]: expected a String, got a "
     "number"),
    ({"contains": "dev"},
     "invalid value at where.tags.contains: expected a list of String "
     "values, got a string"),
    ({"overlaps": ["dev", None]},
     "invalid value at where.tags.overlaps[1]: null is not allowed in a "
     "list"),
    ({"lenEq": -1},
     "invalid value at where.tags.lenEq: expected a list length (a "
     "non-negative integer), got a number"),
    ({"anyEq": ["dev"]},
     "invalid value at where.tags.anyEq: expected one String value, got a "
     "list"),
])
def test_bad_values_fail_before_sql(fn, repo, users, where, message):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where={"tags": where}, selection="id")
    assert str(e.value) == message
    assert e.value.sqlstate is None
