"""count, exists, sum/avg/min/max, distinct and keyset pagination through
the Python Repository, against the sample data. Every expectation is
computed in Python from `raw` (the rows as psycopg reads them).

Text order: the test server's database uses the C.UTF-8 collation (ci/postgres
initdb), where text sorts by code point, as Python's str does."""
import base64
import functools
import hashlib
import hmac
import json
import threading
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from server_gate import Call, Gate, assert_in_flight_together


def users_where(raw, pred):
    return [r for r in raw["v_user"] if pred(r)]


def values(rows, key):
    """The non-null values of a top-level key (missing and null skipped)."""
    return [r[key] for r in rows if r.get(key) is not None]


def city(r):
    return (r.get("address") or {}).get("city_name")


# --- count / exists -----------------------------------------------------------

def test_count_counts_matching_rows(repo, users, raw):
    assert repo.count(users) == len(raw["v_user"])
    n = repo.count(users, where={"age": {"gte": 30}, "isActive": True})
    assert type(n) is int
    assert n == len(users_where(raw, lambda r: r.get("age") is not None
                                and r["age"] >= 30 and r["is_active"]))
    assert repo.count(users, where={"address": {"cityName": "Berlin"}}) == \
        len(users_where(raw, lambda r: city(r) == "Berlin"))
    assert repo.count(users, where={"age": {"isnull": True}}) == \
        len(users_where(raw, lambda r: r.get("age") is None))
    assert repo.count(users, where={"id": {"in": []}}) == 0


def test_exists_is_a_bool(repo, users, raw):
    assert repo.exists(users) is True
    assert repo.exists(users, where={"age": {"gt": 1000}}) is False
    someone = raw["v_user"][7]
    assert repo.exists(users, where={"email": someone["email"]}) is True


# --- sum / avg / min / max ----------------------------------------------------

def test_sum_of_int_is_int_and_of_decimal_is_exact_decimal(repo, users, raw):
    total = repo.sum(users, "age")
    assert type(total) is int
    assert total == sum(values(raw["v_user"], "age"))
    balance = repo.sum(users, "balance", where={"isActive": True})
    assert isinstance(balance, Decimal)
    # 12345678901234567.89 six times plus cents: exact, no float rounding.
    assert balance == sum(values(users_where(raw, lambda r: r["is_active"]),
                                 "balance"), Decimal(0))
    score = repo.sum(users, "score")
    assert isinstance(score, Decimal)
    assert score == sum((Decimal(v) for v in values(raw["v_user"], "score")),
                        Decimal(0))


def test_sum_over_no_rows_is_none(repo, users):
    assert repo.sum(users, "age", where={"age": {"gt": 1000}}) is None
    assert repo.avg(users, "balance", where={"age": {"gt": 1000}}) is None
    assert repo.min(users, "birthDate", where={"age": {"gt": 1000}}) is None
    assert repo.count(users, where={"age": {"gt": 1000}}) == 0


def test_sum_of_nested_field_by_dotted_path(repo, sample, raw):
    # Posts' view counts through a filter on the nested author.
    posts = f"{sample}.v_post"
    first = raw["v_user"][0]
    got = repo.sum(posts, "viewCount",
                   where={"author": {"firstName": first["first_name"]}})
    expected = sum(p["view_count"] for p in raw["v_post"]
                   if p["author"]["first_name"] == first["first_name"])
    assert got == expected


def test_avg_is_decimal(repo, users, raw):
    ages = values(raw["v_user"], "age")
    avg = repo.avg(users, "age")
    assert isinstance(avg, Decimal)
    assert abs(avg - Decimal(sum(ages)) / len(ages)) < Decimal("1e-12")
    balances = values(raw["v_user"], "balance")
    avg = repo.avg(users, "balance", where={"balance": {"lt": 1000}})
    small = [b for b in balances if b < 1000]
    assert abs(avg - sum(small, Decimal(0)) / len(small)) < Decimal("1e-12")


def test_min_max_of_numbers_dates_instants_and_text(repo, users, raw):
    rows = raw["v_user"]
    assert repo.min(users, "age") == min(values(rows, "age"))
    assert type(repo.max(users, "age")) is int
    assert repo.max(users, "age") == max(values(rows, "age"))
    assert repo.max(users, "balance") == max(values(rows, "balance"))
    assert repo.min(users, "balance") == min(values(rows, "balance"))
    # Dates as ISO text, compared as dates.
    assert repo.min(users, "birthDate") == min(values(rows, "birth_date"))
    assert repo.max(users, "birth_date") == max(values(rows, "birth_date"))
    # Instants: the texts carry mixed offsets, so compare as instants; the
    # result is ISO 8601 in UTC (the pool pins TimeZone=UTC).
    instants = [datetime.fromisoformat(v) for v in values(rows, "created_at")]
    latest = repo.max(users, "createdAt")
    assert isinstance(latest, str) and latest.endswith("+00:00")
    assert datetime.fromisoformat(latest) == max(instants)
    assert datetime.fromisoformat(repo.min(users, "createdAt")) == min(instants)
    # Text, nested.
    assert repo.max(users, "address.cityName") == \
        max(c for c in map(city, rows) if c is not None)
    assert repo.min(users, "nickname") == min(values(rows, "nickname"))


@pytest.mark.parametrize("call,message", [
    (lambda repo, v: repo.sum(v, "firstName"),
     "invalid field at sum.firstName: cannot take the sum of String field "
     "firstName; sum takes Int, Float, Decimal or Port fields"),
    (lambda repo, v: repo.max(v, "isActive"),
     "invalid field at max.isActive: cannot take the max of Boolean field "
     "isActive; max takes Int, Float, Decimal, Port, Date, DateTime, String, "
     "Email, Hostname or ID fields"),
    (lambda repo, v: repo.avg(v, "address.town"),
     "unknown field 'town' at avg.address.town on type Address"),
    (lambda repo, v: repo.distinct(v, "address"),
     "invalid field at distinct.address: address is an object of type "
     "Address; name one of its fields (address.<field>)"),
    (lambda repo, v: repo.sum(v, ""),
     "invalid field at sum: the operation needs a field, e.g. \"age\" or "
     "\"address.cityName\""),
    (lambda repo, v: repo.count(v, where={"age": {"gt": "x"}}),
     "invalid value at where.age.gt: expected an Int (a whole number), got "
     "a string"),
])
def test_aggregate_errors_name_the_path(fn, repo, users, call, message):
    with pytest.raises(fn.InvalidInputError) as e:
        call(repo, users)
    assert str(e.value) == message


# --- distinct ----------------------------------------------------------------

def test_distinct_values_ascending_with_null_last(repo, users, raw):
    cities = [city(r) for r in raw["v_user"]]
    expected = sorted({c for c in cities if c is not None})
    if None in cities:
        expected.append(None)
    assert repo.distinct(users, "address.cityName") == expected
    assert repo.distinct(users, "address.cityName", limit=3) == expected[:3]
    assert repo.distinct(users, "address.cityName", limit=3, offset=2) == \
        expected[2:5]


def test_distinct_keeps_types(repo, users, raw):
    ages = repo.distinct(users, "age", where={"age": {"isnull": False}})
    assert ages == sorted(set(values(raw["v_user"], "age")))
    assert all(type(a) is int for a in ages)
    balances = repo.distinct(users, "balance", where={"balance": {"gt": 700}})
    assert balances == sorted({b for b in values(raw["v_user"], "balance")
                               if b > 700})
    assert all(isinstance(b, Decimal) for b in balances)
    assert repo.distinct(users, "isActive") == [False, True]
    days = repo.distinct(users, "birthDate", limit=5)
    assert days == sorted(set(values(raw["v_user"], "birth_date")))[:5]
    tags = repo.distinct(users, "tags")
    assert sorted(map(json.dumps, tags)) == \
        sorted({json.dumps(r["tags"]) for r in raw["v_user"]})


# --- keyset pagination -------------------------------------------------------

def order_key(rows_key_specs):
    """A comparator for rows, as PostgreSQL orders them: each spec is
    (getter, descending, nulls_first)."""
    def compare(a, b):
        for get, desc, nulls_first in rows_key_specs:
            x, y = get(a), get(b)
            if x is None and y is None:
                continue
            if x is None or y is None:
                null_first = x is None
                return -1 if null_first == nulls_first else 1
            if x != y:
                less = x < y
                return (-1 if less else 1) * (-1 if desc else 1)
        return 0
    return functools.cmp_to_key(compare)


def expected_order(rows, specs):
    """Ordered by specs, then by id (the tiebreaker, uuid order = text order
    of the lower-case form)."""
    return [r["id"] for r in sorted(
        rows, key=order_key(specs + [(lambda r: r["id"], False, False)]))]


def page(repo, view, **kwargs):
    body = json.loads(repo.find(view, field="users", selection="id", **kwargs))
    conn = body["data"]["users"]
    assert list(conn)[:2] == ["edges", "pageInfo"]
    assert list(conn["pageInfo"]) == ["hasNextPage", "hasPreviousPage",
                                      "startCursor", "endCursor"]
    for edge in conn["edges"]:
        assert list(edge) == ["cursor", "node"]
    return conn


def walk_both_ways(repo, view, expected, n, **kwargs):
    forward, after = [], None
    for number in range(len(expected) + 2):
        conn = page(repo, view, first=n, after=after,
                    total_count=number == 0, **kwargs)
        ids = [e["node"]["id"] for e in conn["edges"]]
        assert len(ids) <= n
        forward += ids
        info = conn["pageInfo"]
        assert info["hasNextPage"] == (len(forward) < len(expected))
        assert info["hasPreviousPage"] is False
        if number == 0:
            assert conn["totalCount"] == len(expected)
        else:
            assert "totalCount" not in conn
        if ids:
            assert info["startCursor"] == conn["edges"][0]["cursor"]
            assert info["endCursor"] == conn["edges"][-1]["cursor"]
        else:
            assert info["startCursor"] is None and info["endCursor"] is None
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert forward == expected

    backward, before = [], None
    for _ in range(len(expected) + 2):
        conn = page(repo, view, last=n, before=before, **kwargs)
        ids = [e["node"]["id"] for e in conn["edges"]]
        backward = ids + backward
        info = conn["pageInfo"]
        assert info["hasPreviousPage"] == (len(backward) < len(expected))
        assert info["hasNextPage"] is False
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    assert backward == expected


AGE = lambda r: r.get("age")  # noqa: E731 - missing and null are both null
NAME = lambda r: r.get("first_name")  # noqa: E731
CREATED = lambda r: datetime.fromisoformat(r["created_at"])  # noqa: E731
NICK = lambda r: r.get("nickname")  # noqa: E731


@pytest.mark.parametrize("order_by,specs", [
    (None, []),
    ([{"age": "DESC"}], [(AGE, True, True)]),
    ([{"age": "ASC"}], [(AGE, False, False)]),
    ([{"age": "DESC_NULLS_LAST"}, {"firstName": "ASC"}],
     [(AGE, True, False), (NAME, False, False)]),
    ([{"nickname": "ASC_NULLS_FIRST"}, {"age": "DESC"}],
     [(NICK, False, True), (AGE, True, True)]),
    ([{"createdAt": "DESC"}], [(CREATED, True, True)]),
    ([{"isActive": "ASC"}, {"age": "ASC_NULLS_FIRST"}, {"id": "DESC"}],
     [(lambda r: r["is_active"], False, False), (AGE, False, True),
      (lambda r: r["id"], True, True)]),
])
@pytest.mark.parametrize("n", [7, 50])
def test_pagination_walks_every_page_forward_and_back(repo, users, raw,
                                                      order_by, specs, n):
    expected = expected_order(raw["v_user"], specs)
    if order_by and list(order_by[-1]) == ["id"]:
        # orderBy ends with id: no tiebreaker is appended; ids are unique.
        expected = [r["id"] for r in sorted(raw["v_user"],
                                            key=order_key(specs))]
    walk_both_ways(repo, users, expected, n, order_by=order_by)


def test_pagination_of_a_filtered_list(repo, users, raw):
    where = {"OR": [{"age": {"lt": 30}}, {"nickname": {"isnull": False}}]}
    rows = users_where(raw, lambda r: (r.get("age") is not None
                                       and r["age"] < 30)
                       or r.get("nickname") is not None)
    specs = [(NICK, True, False), (AGE, False, False)]
    walk_both_ways(repo, users, expected_order(rows, specs), 9, where=where,
                   order_by=[{"nickname": "DESC_NULLS_LAST"},
                             {"age": "ASC"}])


def test_pagination_between_cursors_and_empty_pages(repo, users, raw):
    order = [{"age": "DESC"}]
    full = page(repo, users, first=1000, order_by=order)
    edges = full["edges"]
    assert len(edges) == len(raw["v_user"])
    middle = page(repo, users, after=edges[10]["cursor"],
                  before=edges[20]["cursor"], order_by=order)
    assert [e["node"]["id"] for e in middle["edges"]] == \
        [e["node"]["id"] for e in edges[11:20]]
    last = page(repo, users, first=5, after=edges[-1]["cursor"],
                order_by=order, total_count=True)
    assert last["edges"] == [] and last["pageInfo"]["hasNextPage"] is False
    assert last["totalCount"] == len(raw["v_user"])
    zero = page(repo, users, first=0, order_by=order)
    assert zero["edges"] == [] and zero["pageInfo"]["hasNextPage"] is True


CURSOR_SECRET = b"test_planner_features cursor secret"


def signed_cursor(view, order_by_sql, values, secret=CURSOR_SECRET):
    """planner/cursor.h: base64url, unpadded, of a 16-byte tag and the
    compact JSON of the key values; the tag an HMAC-SHA256 of the values
    under the ordering's fingerprint, itself an HMAC-SHA256 of the view and
    the ORDER BY SQL under the cursor secret."""
    fingerprint = hmac.new(
        secret, b"fraiseql.cursor.v1\0" + view.encode() + b"\0"
        + order_by_sql.encode(), hashlib.sha256).digest()
    data = json.dumps(values, separators=(",", ":"),
                      ensure_ascii=False).encode()
    tag = hmac.new(fingerprint, data, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(tag + data).decode().rstrip("=")


def test_connection_bytes_are_exact(fn, pool, schema, users, raw):
    repo = fn.Repository(pool, schema, cursor_secret=CURSOR_SECRET)
    first = sorted(raw["v_user"], key=lambda r: r["id"])[0]
    body = repo.find(users, field="users", selection="id", first=1,
                     total_count=True)
    cursor = signed_cursor(users, 't."id" ASC', [first["id"]])
    assert body == (
        '{"data":{"users":{"edges":[{"cursor":"%s","node":{"id":"%s"}}],'
        '"pageInfo":{"hasNextPage":true,"hasPreviousPage":false,'
        '"startCursor":"%s","endCursor":"%s"},"totalCount":%d}}}'
        % (cursor, first["id"], cursor, cursor, len(raw["v_user"]))).encode()


def b64(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor,message", [
    ("not a cursor", "invalid cursor at after: not a cursor (expected "
                     "base64url text)"),
    ("'; DROP TABLE x; --", "invalid cursor at after: not a cursor "
                            "(expected base64url text)"),
    (b64('{"a": 1}'), "invalid cursor at after: not a cursor (malformed "
                      "content)"),
    # The old unsigned form, [fingerprint, values...]: forgeable, rejected.
    (b64('["1cc9af9f", 1, "00000000-0000-4000-8000-000000000001"]'),
     "invalid cursor at after: the cursor belongs to another view or "
     "orderBy, or was altered"),
    # Signed for another ordering (the default one, by id).
    (signed_cursor("any.v_view", 't."id" ASC',
                   ["00000000-0000-4000-8000-000000000001"]),
     "invalid cursor at after: the cursor belongs to another view or "
     "orderBy, or was altered"),
    ("x" * 5000, "invalid cursor at after: longer than 4096 bytes"),
])
def test_malformed_or_foreign_cursor_is_invalid_input(fn, repo, users, pool,
                                                      cursor, message):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, first=2, after=cursor, order_by=[{"age": "DESC"}])
    assert str(e.value) == message
    assert e.value.code == "INVALID_ARGUMENT"
    assert pool.stats()["in_use"] == 0


def test_tampered_cursor_is_rejected(fn, repo, users):
    conn = page(repo, users, first=1, order_by=[{"age": "DESC"}])
    cursor = conn["edges"][0]["cursor"]
    data = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    keys = json.loads(data[16:])  # after the 16-byte tag
    keys[0] = "1; DROP TABLE x"
    tampered = base64.urlsafe_b64encode(
        data[:16] + json.dumps(keys).encode()).decode().rstrip("=")
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, last=1, before=tampered, order_by=[{"age": "DESC"}])
    assert str(e.value) == ("invalid cursor at before: the cursor belongs to "
                            "another view or orderBy, or was altered")


def test_signed_cursor_value_is_checked_against_its_kind(fn, pool, schema,
                                                         users):
    """Even a cursor signed with the secret (a leaked secret, an older
    schema) holds values checked against their kinds, bound, never sent as
    text."""
    repo = fn.Repository(pool, schema, cursor_secret=CURSOR_SECRET)
    cursor = signed_cursor(
        users, '(t."data"->>\'age\')::numeric DESC, t."id" ASC',
        ["1; DROP TABLE x", "00000000-0000-4000-8000-000000000001"])
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, last=1, before=cursor, order_by=[{"age": "DESC"}])
    assert str(e.value) == ("invalid cursor at before: its age value is not "
                            "of kind Int")


def test_pagination_argument_errors(fn, repo, users):
    with pytest.raises(fn.InvalidInputError, match="first and last cannot be "
                                                   "combined"):
        repo.find(users, first=1, last=1)
    with pytest.raises(fn.InvalidInputError, match="limit/offset cannot be "
                                                   "combined"):
        repo.find(users, first=1, limit=3)
    with pytest.raises(fn.InvalidInputError, match="invalid first: expected "
                                                   "a non-negative number"):
        repo.find(users, first=-1)


# --- the shape cache, explain, threads ---------------------------------------

def test_same_shape_hits_the_plan_cache(fn, pool, schema, users):
    repo = fn.Repository(pool, schema)
    for age in (10, 20, 30):
        repo.count(users, where={"age": {"gt": age}})
    stats = repo.plan_cache_stats()
    assert stats["misses"] == 1 and stats["hits"] == 2 and stats["size"] == 1
    repo.count(users, where={"age": {"isnull": True}})  # another statement
    assert repo.plan_cache_stats()["misses"] == 2
    off = fn.Repository(pool, schema, plan_cache_size=0)
    assert off.count(users) == repo.count(users)
    assert off.plan_cache_stats()["size"] == 0


def test_explain_shows_the_page_statement(repo, users):
    sql, params = repo.explain(users, where={"age": {"gt": 9}}, first=10,
                               order_by=[{"age": "DESC"}])
    assert "jsonb_build_array((t.\"data\"->>'age')::numeric, t.\"id\")" in sql
    assert sql.endswith('ORDER BY (t."data"->>\'age\')::numeric DESC, '
                        't."id" ASC LIMIT $2::bigint')
    assert params == ["9", "11"]


def test_value_calls_run_concurrently(fn, db_url, sample, repo, users, raw):
    # Two count() calls, each from its own thread, wait on the server at the
    # same time while other Python threads run (server_gate.py).
    gate = Gate(db_url, sample)
    gated = gate.repository(fn)
    with gate:
        calls = [Call(lambda: gated.count(gate.view)).started()
                 for _ in range(2)]
        assert_in_flight_together(gate, calls)
    for call in calls:
        call.finish()
        assert call.error is None, repr(call.error)
        assert call.result == len(raw["v_user"])

    # Many threads sharing one Repository each get their own answer.
    expected = len(raw["v_user"])
    results, errors = [], []

    def work():
        try:
            for _ in range(10):
                results.append(repo.count(users))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a call hung"
    assert not errors
    assert results == [expected] * 60
