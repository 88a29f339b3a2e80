"""Bad input on the slice raises a clear exception before any SQL is sent,
and the pool stays usable afterwards."""
import json

import pytest


def assert_pool_healthy(repo, users, pool):
    body = repo.find(users, limit=1, selection="id")
    assert len(json.loads(body)["data"]["v_user"]) == 1
    stats = pool.stats()
    assert stats["in_use"] == 0 and stats["waiting"] == 0


def test_unknown_view(fn, repo, users, pool, sample):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(f"{sample}.v_nope")
    # Never the list of views: at most three close names, none here.
    assert str(e.value) == f"unknown view '{sample}.v_nope'"
    assert e.value.code == "NOT_FOUND"
    assert isinstance(e.value, ValueError)
    assert_pool_healthy(repo, users, pool)


@pytest.mark.parametrize("kwargs,message", [
    (dict(where={"nickName": "x"}),
     "unknown field 'nickName' at where.nickName on type User; did you mean "
     "nickname?"),
    (dict(selection="id nickName"),
     "unknown field 'nickName' at selection.v_user.nickName on type User"),
    (dict(order_by=[{"shoeSize": "ASC"}]),
     "unknown field 'shoeSize' at orderBy[0].shoeSize on type User"),
    (dict(where={"address": {"town": "x"}}),
     "unknown field 'town' at where.address.town on type Address"),
])
def test_unknown_field(fn, repo, users, pool, kwargs, message):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, **kwargs)
    assert str(e.value).startswith(message)
    assert_pool_healthy(repo, users, pool)


@pytest.mark.parametrize("where,message", [
    ({"age": {"gt": "ten"}},
     "invalid value at where.age.gt: expected an Int (a whole number), got a "
     "string"),
    ({"id": "42"},
     "invalid value at where.id: expected a UUID (8-4-4-4-12 hexadecimal "
     "digits), got a string that does not fit"),
    ({"birthDate": {"lt": "2020-13-01"}},
     "invalid value at where.birthDate.lt: expected a Date (YYYY-MM-DD), got a "
     "string that does not fit"),
    ({"isActive": "yes"},
     "invalid value at where.isActive: expected a Boolean (true or false), got "
     "a string"),
    ({"age": {"between": 3}},
     "unknown operator 'between' at where.age.between"),
])
def test_wrong_value_type(fn, repo, users, pool, where, message):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where=where)
    assert str(e.value) == message
    assert e.value.sqlstate is None
    assert_pool_healthy(repo, users, pool)


def test_python_values_without_json_form(fn, repo, users):
    # Input errors like any other (tests/python/test_boundary.py has more).
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where={"age": {"gt": {1, 2}}})
    assert str(e.value) == "invalid where at where.age.gt: a set has no JSON form"
    with pytest.raises(fn.InvalidInputError):
        repo.find(users, where={"age": {"gt": float("nan")}})


def test_bad_selection_text(fn, repo, users):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, selection="id address {")
    assert str(e.value) == ("invalid selection at line 1, column 13: "
                            "expected '}', found the end")


def test_bad_order_direction(fn, repo, users):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, order_by=[{"age": "SIDEWAYS"}])
    assert "expected ASC, DESC" in str(e.value)


def test_unreachable_database(fn, schema):
    # min_size=0: creation succeeds, the first query reports the reason.
    pool = fn.Pool("postgresql://postgres@127.0.0.1:1/none", connect_timeout=2)
    repo = fn.Repository(pool, schema)
    view = schema.views()[0]
    with pytest.raises(fn.DatabaseUnavailableError) as e:
        repo.find(view, limit=1)
    assert str(e.value).startswith("cannot connect to PostgreSQL: ")
    assert isinstance(e.value, ConnectionError)
    assert pool.stats()["errors"] == 1 and pool.stats()["size"] == 0
    with pytest.raises(fn.DatabaseUnavailableError):
        fn.Pool("postgresql://postgres@127.0.0.1:1/none", min_size=1,
                connect_timeout=2)


def test_invalid_pool_options(fn):
    with pytest.raises(fn.InvalidInputError) as e:
        fn.Pool("postgresql://localhost/x", max_size=0)
    assert str(e.value) == "invalid pool option max_size=0: expected at least 1"
    with pytest.raises(fn.InvalidInputError) as e:
        fn.Pool("postgresql://localhost/x?bogus_option=1")
    assert str(e.value).startswith("invalid connection string: ")


def test_view_that_does_not_exist_on_the_server(fn, pool, sample, users, repo):
    schema = fn.Schema()
    schema.add_view(f"{sample}.v_missing", "Missing", {"a": "Int"})
    other = fn.Repository(pool, schema)
    with pytest.raises(fn.DatabaseError) as e:
        other.find(f"{sample}.v_missing")
    assert e.value.sqlstate == "42P01"
    assert "does not exist" in str(e.value)
    assert_pool_healthy(repo, users, pool)
