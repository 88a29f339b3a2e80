"""Every comparison operator of the slice, run on PostgreSQL through the
native path, with the expected rows computed here in Python from the raw
sample data (not from the SQL under test)."""
import datetime
import json
from decimal import Decimal

import pytest


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


def get(row, path):
    for key in path.split("."):
        if not isinstance(row, dict):
            return None
        row = row.get(key)
    return row


def parse_instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


OPS = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}

# (GraphQL path, JSONB path, converter for both sides, a value to compare with)
CASES = [
    ("age", "age", Decimal, 40),
    ("balance", "balance", Decimal, Decimal("500.25")),
    ("score", "score", Decimal, 50.5),
    ("birthDate", "birth_date", datetime.date.fromisoformat, "1990-06-15"),
    ("createdAt", "created_at", parse_instant, "2024-01-15T12:00:00+02:00"),
]


def nested(path, leaf):
    filt = leaf
    for key in reversed(path.split(".")):
        filt = {key: filt}
    return filt


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("gql,key,conv,value", CASES,
                         ids=[c[0] for c in CASES])
def test_ordered_kinds_compare_typed(repo, users, raw, op, gql, key, conv,
                                     value):
    if op in ("eq", "neq"):
        # Equality needs a value that occurs: take one from the data.
        value = next(get(r, key) for r in raw["v_user"]
                     if get(r, key) is not None)
    body = repo.find(users, where=nested(gql, {op: value}), selection="id")
    target = conv(str(value))
    expected = sorted(
        r["id"] for r in raw["v_user"]
        if get(r, key) is not None and OPS[op](conv(str(get(r, key))), target))
    assert ids(body) == expected
    # The sample data must make the case meaningful: some rows on each side.
    assert 0 < len(expected) < len(raw["v_user"])


def test_numbers_compare_as_numbers_not_text(repo, users, raw):
    # As text '9' > '10'; as numbers it is not.
    body = repo.find(users, where={"age": {"gt": 9, "lt": 100}},
                     selection="id")
    expected = sorted(r["id"] for r in raw["v_user"]
                      if r.get("age") is not None and 9 < r["age"] < 100)
    assert ids(body) == expected
    assert any(r.get("age") is not None and r["age"] >= 10
               for r in raw["v_user"])


@pytest.mark.parametrize("op", ["eq", "neq"])
def test_string_and_boolean_equality(repo, users, raw, op):
    name = raw["v_user"][3]["first_name"]
    body = repo.find(users, where={"firstName": {op: name},
                                  "isActive": {op: True}}, selection="id")
    cmp = OPS[op]
    expected = sorted(
        r["id"] for r in raw["v_user"]
        if r.get("first_name") is not None and cmp(r["first_name"], name)
        and r.get("is_active") is not None and cmp(r["is_active"], True))
    assert ids(body) == expected


def test_shorthand_equality_on_uuid_column(fn, repo, users, raw):
    import uuid
    target = raw["v_user"][7]["id"]
    assert ids(repo.find(users, where={"id": target}, selection="id")) == [target]
    # A uuid.UUID object converts too.
    assert ids(repo.find(users, where={"id": uuid.UUID(target)},
                         selection="id")) == [target]


def test_neq_excludes_missing_and_null(repo, users, raw):
    body = repo.find(users, where={"age": {"neq": 30}}, selection="id")
    expected = sorted(r["id"] for r in raw["v_user"]
                      if r.get("age") is not None and r["age"] != 30)
    assert ids(body) == expected
    assert any(r.get("age") is None for r in raw["v_user"])


def test_nested_object_and_and_list(repo, users, raw):
    city = next(r["address"]["city_name"] for r in raw["v_user"]
                if r.get("address"))
    where = {"address": {"cityName": {"eq": city}},
             "AND": [{"age": {"gte": 20}}, {"age": {"lte": 60}}]}
    expected = sorted(
        r["id"] for r in raw["v_user"]
        if (r.get("address") or {}).get("city_name") == city
        and r.get("age") is not None and 20 <= r["age"] <= 60)
    assert ids(repo.find(users, where=where, selection="id")) == expected
    assert expected


def test_hostile_text_is_only_a_value(repo, users, raw):
    hostile = "O'Brien\"); DROP TABLE tb_user; -- \\ % _"
    body = repo.find(users, where={"lastName": hostile}, selection="id")
    expected = sorted(r["id"] for r in raw["v_user"]
                      if r.get("last_name") == hostile)
    assert ids(body) == expected
    # The table is still there.
    assert len(ids(repo.find(users, selection="id"))) == len(raw["v_user"])


def test_decimal_value_keeps_its_scale(repo, users, raw):
    target = next(r["balance"] for r in raw["v_user"]
                  if r.get("balance") is not None)
    body = repo.find(users, where={"balance": {"eq": target}}, selection="id")
    expected = sorted(r["id"] for r in raw["v_user"]
                      if r.get("balance") == target)
    assert ids(body) == expected and expected
