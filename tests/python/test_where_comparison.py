"""The comparison operators' cases, with the rows each must return on the
sample data, live in plugins/where/comparison/comparison.golden and run on
PostgreSQL through tests/python/test_where_cases.py. What stays here is what
a golden case (JSON input) cannot say: Python values other than JSON's
(uuid.UUID, Decimal) converted by the module."""
import hashlib
import json
import uuid
from decimal import Decimal


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


def user_id(i):
    """The id of sample user i: md5('user-' || i)::uuid."""
    return str(uuid.UUID(hashlib.md5(f"user-{i}".encode()).hexdigest()))


def test_uuid_object_converts_like_its_text(repo, users):
    target = user_id(8)
    assert ids(repo.find(users, where={"id": target}, selection="id")) == [
        target]
    assert ids(repo.find(users, where={"id": uuid.UUID(target)},
                         selection="id")) == [target]


def test_decimal_object_keeps_its_scale(repo, users):
    # User 10's balance is stored as 541.90, with its trailing zero
    # (tests/fixtures/README.md).
    body = repo.find(users, where={"balance": {"eq": Decimal("541.90")}},
                     selection="id")
    assert ids(body) == [user_id(10)]
