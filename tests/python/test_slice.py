"""The end-to-end slice through Python: Pool -> Schema -> Repository.find,
with the exact response bytes checked."""
import json
import threading
from decimal import Decimal

import pytest

from server_gate import Call, Gate, assert_in_flight_together

# A filtered, ordered, projected query on the deterministic sample data
# (300 users), and the exact bytes it must return: selection order, aliases,
# __typename per nested type, numbers as written (331.99, -165.21), raw UTF-8.
SLICE_QUERY = dict(
    field="users",
    where={"age": {"gte": 30, "lt": 40}, "address": {"cityName": "Berlin"}},
    order_by=[{"age": "DESC"}, {"id": "ASC"}],
    limit=3,
    selection="id firstName name: lastName balance "
              "home: address { cityName postalCode __typename } __typename",
)
SLICE_BYTES = (
    '{"data":{"users":['
    '{"id":"6d757539-96d9-75eb-1276-517c418566c7","firstName":"Bob",'
    '"name":"Müller","balance":331.99,"home":{"cityName":"Berlin",'
    '"postalCode":"10199","__typename":"Address"},"__typename":"User"},'
    '{"id":"d16c17c2-02e7-4acb-df3b-70986121202d","firstName":"Bob",'
    '"name":"Müller","balance":-165.21,"home":{"cityName":"Berlin",'
    '"postalCode":"10479","__typename":"Address"},"__typename":"User"},'
    '{"id":"d6d77053-92bc-7af6-3332-8bea8c4c6904","firstName":"Alice",'
    '"name":"Anderson","balance":-170.81,"home":{"cityName":"Berlin",'
    '"postalCode":"10919","__typename":"Address"},"__typename":"User"}]}}'
).encode()


def test_filtered_ordered_projected_query_exact_bytes(repo, users):
    assert repo.find(users, **SLICE_QUERY) == SLICE_BYTES


def test_slice_agrees_with_psycopg_rows(repo, users, raw):
    """The same query, with its expectation computed from the raw rows."""
    body = json.loads(repo.find(users, **SLICE_QUERY), parse_float=Decimal)
    matching = [r for r in raw["v_user"]
                if r.get("age") is not None and 30 <= r["age"] < 40
                and (r.get("address") or {}).get("city_name") == "Berlin"]
    matching.sort(key=lambda r: r["id"])
    matching.sort(key=lambda r: r["age"], reverse=True)
    expected = [{
        "id": r["id"], "firstName": r["first_name"], "name": r["last_name"],
        "balance": r["balance"],
        "home": {"cityName": r["address"]["city_name"],
                 "postalCode": r["address"]["postal_code"],
                 "__typename": "Address"},
        "__typename": "User"} for r in matching[:3]]
    assert body == {"data": {"users": expected}}


def test_without_selection_every_key_is_camel_cased(fn, repo, users, raw):
    body = json.loads(repo.find(users, where={"id": raw["v_user"][0]["id"]}),
                      parse_float=Decimal)
    (row,) = body["data"]["v_user"]  # default field: the view's name
    source = raw["v_user"][0]
    assert list(row) == [fn.camel_case(k) for k in source]
    # Free-form JSON inside is projected as objects too (no schema there).
    assert row["id"] == source["id"]


def test_json_field_passes_through_untouched(repo, users, raw):
    source = next(r for r in raw["v_user"] if r.get("preferences"))
    body = json.loads(repo.find(users, where={"id": source["id"]},
                                selection="preferences"), parse_float=Decimal)
    assert body["data"]["v_user"][0]["preferences"] == source["preferences"]
    assert "digest_frequency" in json.dumps(body)  # inner keys not renamed


def test_missing_and_null_keys_are_null(repo, users, raw):
    missing = next(r for r in raw["v_user"] if "nickname" not in r)
    null = next(r for r in raw["v_user"]
                if "nickname" in r and r["nickname"] is None)
    for source in (missing, null):
        body = repo.find(users, where={"id": source["id"]},
                         selection="nickname age")
        row = json.loads(body)["data"]["v_user"][0]
        assert row["nickname"] is None
        assert list(row) == ["nickname", "age"]


def test_unicode_quotes_and_backslashes_round_trip(repo, users, raw):
    tricky = {}  # one user per distinct hostile (first, last) name
    for r in raw["v_user"]:
        first, last = r.get("first_name") or "", r.get("last_name") or ""
        if any(c in first + last for c in "'\"\\\t\n") or not (
                first + last).isascii():
            tricky.setdefault((first, last), r)
    names = [n for pair in tricky for n in pair]
    # Non-ASCII text beyond the BMP too (escaped, it would be a surrogate
    # pair), and no control character but tab and newline (json.dumps and
    # the projector both give those short escapes; others would be \u).
    assert any(ord(c) > 0xFFFF for n in names for c in n), tricky
    assert all(c >= " " or c in "\t\n" for n in names for c in n), tricky
    for (first, last), source in tricky.items():
        body = repo.find(users, where={"id": source["id"]},
                         selection="firstName lastName")
        # Raw UTF-8: each name is in the bytes as a JSON string of its
        # UTF-8 encoding, and nothing is \u-escaped.
        for name in (first, last):
            assert json.dumps(name, ensure_ascii=False).encode() in body, (
                name, body)
        assert b"\\u" not in body, body
        row = json.loads(body)["data"]["v_user"][0]
        assert row == {"firstName": source["first_name"],
                       "lastName": source["last_name"]}


def test_limit_offset_and_order(repo, users, raw):
    ordered = sorted((r for r in raw["v_user"] if r.get("age") is not None),
                     key=lambda r: (-r["age"], r["id"]))
    body = repo.find(users, where={"age": {"gte": 0}}, selection="id age",
                     order_by=[{"age": "DESC"}, {"id": "ASC"}],
                     limit=5, offset=3)
    got = json.loads(body)["data"]["v_user"]
    assert [r["id"] for r in got] == [r["id"] for r in ordered[3:8]]


def test_order_by_puts_nulls_where_asked(repo, users, raw):
    body = repo.find(users, selection="age",
                     order_by=[{"age": "ASC_NULLS_FIRST"}, {"id": "ASC"}])
    ages = [r["age"] for r in json.loads(body)["data"]["v_user"]]
    nulls = sum(1 for r in raw["v_user"] if r.get("age") is None)
    assert nulls > 0
    assert all(a is None for a in ages[:nulls])
    assert ages[nulls:] == sorted(ages[nulls:])


def test_find_one_returns_object_or_null(repo, users, raw):
    source = raw["v_user"][5]
    body = repo.find_one(users, field="user", where={"id": source["id"]},
                         selection="id email")
    assert json.loads(body) == {"data": {"user": {"id": source["id"],
                                                  "email": source["email"]}}}
    none = repo.find_one(users, field="user",
                         where={"id": "00000000-0000-4000-8000-000000000000"},
                         selection="id")
    assert none == b'{"data":{"user":null}}'


def test_nested_author_has_its_own_typename(repo, sample):
    body = repo.find(f"{sample}.v_post", field="posts", limit=2,
                     order_by={"id": "ASC"},
                     selection="__typename author { __typename firstName }")
    posts = json.loads(body)["data"]["posts"]
    assert len(posts) == 2
    for post in posts:
        assert post["__typename"] == "Post"
        assert post["author"]["__typename"] == "Author"


def test_execute_runs_several_roots_in_one_body(repo, users, sample):
    import query_pb2
    q = query_pb2.QueryDefinition()
    a = q.roots.add(response_key="people", view=users, is_list=True,
                    where_json='{"age": {"lt": 20}}', limit=2,
                    order_by_json='[{"id": "ASC"}]', has_selection=True)
    a.selection.add(response_key="id", field_name="id")
    b = q.roots.add(response_key="post", view=f"{sample}.v_post",
                    is_list=False, has_selection=True,
                    order_by_json='{"id": "ASC"}')
    b.selection.add(response_key="headline", field_name="title")
    body = json.loads(repo.execute(q.SerializeToString()))
    assert list(body["data"]) == ["people", "post"]
    assert len(body["data"]["people"]) == 2
    assert body["data"]["post"]["headline"].startswith("Post ")


def test_concurrent_calls_release_the_gil(fn, db_url, sample, repo, users,
                                         raw):
    # Two find() calls, each from its own thread, wait on the server at the
    # same time while other Python threads run: each released the GIL
    # while it waited (server_gate.py).
    gate = Gate(db_url, sample)
    gated = gate.repository(fn)
    with gate:
        calls = [Call(lambda: gated.find(gate.view, selection="id")).started()
                 for _ in range(2)]
        assert_in_flight_together(gate, calls)
    for call in calls:
        call.finish()
        assert call.error is None, repr(call.error)
        got = sorted(r["id"] for r in json.loads(call.result)["data"][
            gate.view.split(".")[1]])
        assert got == sorted(r["id"] for r in raw["v_user"])

    # Many threads sharing one Repository each get their own answer.
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(len(json.loads(repo.find(
                    users, selection="id"))["data"]["v_user"]))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a call hung"
    assert not errors
    assert results == [len(raw["v_user"])] * 30


def test_explain_shows_parameterised_sql(repo, users, db_url):
    import psycopg
    sql, params = repo.explain(users, where={"lastName": "O'Brien; --"},
                               limit=2)
    assert sql == (f'SELECT t."data" FROM "{users.split(".")[0]}".'
                   f'"v_user" AS t WHERE t."data"->>\'last_name\' = $1::text '
                   'LIMIT $2::bigint')
    assert params == ["O'Brien; --", "2"]
    # The same statement runs as is through another driver.
    with psycopg.connect(db_url) as conn:
        rows = conn.pgconn.exec_params(sql.encode(),
                                       [p.encode() for p in params])
        assert rows.status == psycopg.pq.ExecStatus.TUPLES_OK


def test_same_key_twice_is_one_field_and_conflicts_are_errors(fn, repo, users,
                                                              raw):
    source = next(r for r in raw["v_user"] if r.get("address"))
    body = repo.find(users, where={"id": source["id"]},
                     selection="id address { cityName } id "
                               "address { postalCode }")
    row = json.loads(body)["data"]["v_user"][0]
    assert list(row) == ["id", "address"]
    assert row["address"] == {
        "cityName": source["address"]["city_name"],
        "postalCode": source["address"]["postal_code"]}
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, selection="a: firstName a: email")
    assert str(e.value) == ("invalid selection at selection.v_user.a: 'a' "
                            "names both firstName and email; give one of "
                            "them another alias")
