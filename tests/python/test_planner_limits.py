"""The planner's limits, signed cursors and short messages, through the
module: each case is rejected with InvalidInputError before any SQL is sent,
and the pool stays healthy. The limits are documented in
planner/selection_text.h (SelectionLimits) and planner/planner.h
(OrderByLimits, PlannerOptions::cursor_secret)."""
import base64
import hashlib
import hmac
import json

import pytest

from sample_registry import USER_FIELDS


def assert_healthy(repo, users, pool):
    assert json.loads(repo.find(users, limit=1, selection="id"))["data"]
    stats = pool.stats()
    assert stats["in_use"] == 0 and stats["waiting"] == 0


def rejected(fn, call):
    with pytest.raises(fn.InvalidInputError) as e:
        call()
    assert e.value.code in ("INVALID_ARGUMENT", "NOT_FOUND")
    return str(e.value)


# --- selection ---------------------------------------------------------------

def test_five_million_id_tokens_are_rejected_by_size(fn, repo, users, pool):
    # 10 MB of selection text used to be read whole (7.5 s of CPU).
    message = rejected(fn, lambda: repo.find(users, selection="id " * 5_000_000))
    assert message == ("invalid selection: more than 65536 bytes (limit "
                       "max_selection_bytes)")
    assert_healthy(repo, users, pool)


@pytest.mark.parametrize("selection,message", [
    ("id " * 1001,
     "invalid selection: more than 1000 fields (limit max_selection_fields)"),
    (" ".join(f"a{i}: id" for i in range(101)),
     "invalid selection: more than 100 aliases (limit max_selection_aliases)"),
    ("address { " * 40 + "cityName" + " }" * 40,
     "invalid selection at line 1, column 329: more than 32 levels of "
     "nesting (limit max_selection_depth)"),
], ids=["fields", "aliases", "depth"])
def test_selection_limits(fn, repo, users, pool, selection, message):
    assert rejected(fn, lambda: repo.find(users, selection=selection)) == message
    assert_healthy(repo, users, pool)


def test_selection_at_its_limits_runs(repo, users):
    body = json.loads(repo.find(users, limit=1, selection="id " * 1000))
    assert list(body["data"]["v_user"][0]) == ["id"]
    aliased = " ".join(f"a{i}: id" for i in range(100))
    row = json.loads(repo.find(users, limit=1, selection=aliased))
    assert len(row["data"]["v_user"][0]) == 100


# --- orderBy -----------------------------------------------------------------

def test_a_thousand_order_by_entries_are_invalid_input(fn, repo, users, pool):
    # They used to reach the server: DatabaseError "cannot pass more than
    # 100 arguments to a function".
    order_by = [{"age": "ASC"}] * 1000
    message = rejected(fn, lambda: repo.find(users, order_by=order_by,
                                             first=2))
    assert message == ("invalid orderBy: more than 16 keys (limit "
                       "max_order_by_keys)")
    message = rejected(fn, lambda: repo.find(users, order_by=order_by))
    assert message.endswith("(limit max_order_by_keys)")
    assert_healthy(repo, users, pool)


def test_an_order_by_key_given_twice(fn, repo, users, pool):
    message = rejected(fn, lambda: repo.find(
        users, order_by=[{"firstName": "ASC"}, {"age": "DESC"},
                         {"first_name": "DESC"}]))
    assert message == ("invalid orderBy at orderBy[2].first_name: orderBy key "
                       "firstName given twice")
    assert_healthy(repo, users, pool)


def test_sixteen_order_keys_page(repo, users):
    keys = ["firstName", "lastName", "email", "age", "balance", "score",
            "isActive", "birthDate", "createdAt", "nickname", "ipAddress",
            "macAddress", "orgPath"]
    order_by = [{k: "DESC"} for k in keys] + [
        {"address": {"cityName": "ASC", "postalCode": "ASC",
                     "countryCode": "ASC"}}]
    assert len(keys) + 3 == 16
    body = json.loads(repo.find(users, field="users", selection="id",
                                first=3, order_by=order_by))
    edges = body["data"]["users"]["edges"]
    assert len(edges) == 3
    nxt = json.loads(repo.find(users, field="users", selection="id", first=3,
                               after=edges[0]["cursor"], order_by=order_by))
    assert [e["node"]["id"] for e in nxt["data"]["users"]["edges"]] == \
        [e["node"]["id"] for e in edges[1:]] + \
        [nxt["data"]["users"]["edges"][2]["node"]["id"]]


# --- cursors -----------------------------------------------------------------

def b64(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def first_cursor(repo, users, order_by):
    body = json.loads(repo.find(users, field="users", selection="id", first=1,
                                order_by=order_by))
    return body["data"]["users"]["edges"][0]["cursor"]


ORDER = [{"age": "DESC"}]
FOREIGN = ("invalid cursor at after: the cursor belongs to another view or "
           "orderBy, or was altered")


def test_a_cursor_with_a_byte_changed_is_rejected(fn, repo, users, pool):
    cursor = first_cursor(repo, users, ORDER)
    raw = unb64(cursor)
    for i in (0, 15, 16, len(raw) - 1):  # the tag, then the values
        altered = bytearray(raw)
        altered[i] ^= 0x01
        forged = b64(bytes(altered))
        message = rejected(fn, lambda: repo.find(users, first=2, after=forged,
                                                 order_by=ORDER))
        assert message == FOREIGN
        assert forged not in message
    assert_healthy(repo, users, pool)


def test_a_cursor_rebuilt_by_hand_is_rejected(fn, repo, users, pool):
    cursor = first_cursor(repo, users, ORDER)
    values = json.loads(unb64(cursor)[16:])
    values[0] = 0  # another age, with the real tag
    forged = b64(unb64(cursor)[:16] + json.dumps(values).encode())
    assert rejected(fn, lambda: repo.find(users, first=2, after=forged,
                                          order_by=ORDER)) == FOREIGN
    # The old unsigned form, [fingerprint, values...], with a fingerprint
    # computed as the old code did.
    old = b64(json.dumps(["1cc9af9f"] + values).encode())
    assert rejected(fn, lambda: repo.find(users, first=2, after=old,
                                          order_by=ORDER)) == FOREIGN
    # A real cursor of another ordering.
    other = first_cursor(repo, users, [{"age": "ASC"}])
    assert rejected(fn, lambda: repo.find(users, first=2, after=other,
                                          order_by=ORDER)) == FOREIGN
    assert_healthy(repo, users, pool)


def test_cursors_pass_between_repositories_with_one_secret(fn, pool, schema,
                                                           users):
    a = fn.Repository(pool, schema, cursor_secret=b"deployment secret")
    b = fn.Repository(pool, schema, cursor_secret=b"deployment secret")
    other = fn.Repository(pool, schema, cursor_secret=b"another secret")
    random_secret = fn.Repository(pool, schema)
    cursor = first_cursor(a, users, ORDER)
    body = json.loads(b.find(users, field="users", selection="id", first=1,
                             after=cursor, order_by=ORDER))
    assert len(body["data"]["users"]["edges"]) == 1
    for repo in (other, random_secret):
        assert rejected(fn, lambda: repo.find(users, first=1, after=cursor,
                                              order_by=ORDER)) == FOREIGN


def test_a_cursor_signed_with_the_secret_is_accepted(fn, pool, schema, users,
                                                     raw):
    """The documented format (planner/cursor.h), rebuilt from the secret."""
    secret = b"documented secret"
    repo = fn.Repository(pool, schema, cursor_secret=secret)
    fingerprint = hmac.new(secret, b"fraiseql.cursor.v1\0" + users.encode()
                           + b"\0" + b't."id" ASC', hashlib.sha256).digest()
    ids = sorted(r["id"] for r in raw["v_user"])
    values = json.dumps([ids[0]], separators=(",", ":")).encode()
    tag = hmac.new(fingerprint, values, hashlib.sha256).digest()[:16]
    body = json.loads(repo.find(users, field="users", selection="id", first=1,
                                after=b64(tag + values)))
    assert body["data"]["users"]["edges"][0]["node"]["id"] == ids[1]


def test_cursor_pagination_obeys_the_operator_allow_list(fn, pool, sample):
    schema = fn.Schema()
    schema.add_type("Address", {"street": "String", "city_name": "String",
                                "postal_code": "String",
                                "country_code": "String",
                                "coordinates": "Coordinate"})
    schema.add_view(f"{sample}.v_user", "User", USER_FIELDS,
                    columns={"id": "uuid", "tenant_id": "uuid",
                             "data": "jsonb"},
                    operators=["eq", "in"])
    repo = fn.Repository(pool, schema)
    users = f"{sample}.v_user"
    cursor = first_cursor(repo, users, ORDER)  # a first page is allowed
    message = rejected(fn, lambda: repo.find(users, first=1, after=cursor,
                                             order_by=ORDER))
    assert message == (
        f"invalid cursor at after: paging from a cursor compares the order "
        f"keys with gt and lt, which the operator allow-list of view "
        f"{users} does not grant (missing: gt, lt)")


# --- messages ----------------------------------------------------------------

def test_unknown_view_names_no_list(fn, repo, users, pool, sample):
    message = rejected(fn, lambda: repo.find(f"{sample}.v_usr"))
    assert message == (f"unknown view '{sample}.v_usr'; did you mean "
                       f"{sample}.v_user?")
    message = rejected(fn, lambda: repo.find("billing.invoices"))
    assert message == "unknown view 'billing.invoices'"
    assert f"{sample}.v_post" not in message
    assert_healthy(repo, users, pool)


@pytest.mark.parametrize("kwargs,message", [
    (dict(selection="id fristName"),
     "unknown field 'fristName' at selection.v_user.fristName on type User; "
     "did you mean firstName?"),
    (dict(order_by=[{"shoeSize": "ASC"}]),
     "unknown field 'shoeSize' at orderBy[0].shoeSize on type User"),
    (dict(where={"lastNme": "x"}),
     "unknown field 'lastNme' at where.lastNme on type User; did you mean "
     "lastName?"),
], ids=["selection", "order_by", "where"])
def test_unknown_field_names_a_few_close_names(fn, repo, users, pool, kwargs,
                                               message):
    got = rejected(fn, lambda: repo.find(users, **kwargs))
    assert got == message
    assert "known fields" not in got and "macAddress" not in got
    assert_healthy(repo, users, pool)
