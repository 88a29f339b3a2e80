"""The response comparator (plugins/parity/comparator.h) through the Python
binding: fraiseql_native.compare and comparison_classifiers. The rules
themselves are tested case by case in plugins/parity/testdata; here, the
binding's contract, and comparisons of real responses read from PostgreSQL
through a Repository, one side altered at a known path the way a backend
could alter it (psycopg's float parsing, a reordered list, a lost key)."""
import datetime
import json
import sys
import threading
import time
from collections import OrderedDict
from decimal import Decimal

import pytest

ORDER = {"id": "ASC"}


def kinds(comparison):
    return [(d.kind, d.path) for d in comparison.differences]


# --- The binding's contract ------------------------------------------------


def test_equal_bodies_and_scale(fn):
    c = fn.compare(b'{"a":[1.50,{"b":true}]}', '{"a":[15e-1,{"b":true}]}')
    assert c.equal and bool(c)
    assert (c.unexplained, c.explained, c.ignored, c.truncated) == (0, 0, 0,
                                                                    False)
    assert c.differences == []
    assert repr(c) == ("<Comparison equal=True unexplained=0 explained=0 "
                       "ignored=0>")


def test_every_kind_with_its_path_and_values(fn):
    primary = {"data": {"users": [
        {"id": 1, "name": "Ana", "balance": 100.5, "tags": ["a", "b"],
         "email": "a@x", "active": True},
        {"id": 2, "name": "Bo", "items": [1, 2, 3]}]}}
    candidate = {"data": {"users": [
        {"id": 1, "name": "Ann", "balance": 100.25, "tags": ["b", "a"],
         "active": 1, "phone": "5"},
        {"id": 2, "name": "Bo", "items": [1, 2]}]}}
    c = fn.compare(json.dumps(primary), json.dumps(candidate))
    assert not c.equal
    assert kinds(c) == [
        ("value", "data.users[0].name"),
        ("number", "data.users[0].balance"),
        ("array_order", "data.users[0].tags"),
        ("missing_key", "data.users[0].email"),
        ("type", "data.users[0].active"),
        ("extra_key", "data.users[0].phone"),
        ("array_length", "data.users[1].items"),
    ]
    by_path = {d.path: d for d in c.differences}
    d = by_path["data.users[0].balance"]
    assert (d.primary, d.candidate, d.rule) == ("100.5", "100.25", None)
    assert by_path["data.users[0].email"].candidate is None
    assert by_path["data.users[0].email"].primary == '"a@x"'
    assert by_path["data.users[0].phone"].primary is None
    assert by_path["data.users[0].active"].to_dict() == {
        "path": "data.users[0].active", "kind": "type", "primary": "true",
        "candidate": "1", "rule": None}
    assert repr(by_path["data.users[0].name"]) == \
        '<Difference value at data.users[0].name: "Ana" -> "Ann">'
    assert c.unexplained == 7
    as_dict = c.to_dict()
    assert as_dict["equal"] is False and as_dict["unexplained"] == 7
    assert [x["path"] for x in as_dict["differences"]] == \
        [d.path for d in c.differences]
    json.dumps(as_dict)  # plain data


def test_key_order_only_when_asked(fn):
    a, b = '{"x":{"a":1,"b":2}}', '{"x":{"b":2,"a":1}}'
    assert fn.compare(a, b).equal
    c = fn.compare(a, b, check_key_order=True)
    assert kinds(c) == [("key_order", "x")]
    assert (c.differences[0].primary, c.differences[0].candidate) == (
        '["a","b"]', '["b","a"]')


def test_ignore_patterns(fn):
    a = {"data": {"users": [{"id": 1, "lastLoginAt": "x"},
                            {"id": 2, "lastLoginAt": "y"}],
                  "post": {"id": 5}}}
    b = {"data": {"users": [{"id": 1, "lastLoginAt": "z"}, {"id": 2}],
                  "post": {"id": 6}}}
    c = fn.compare(json.dumps(a), json.dumps(b),
                   ignore=["data.users[*].lastLoginAt", "data.*.id"])
    assert c.equal and c.ignored == 3 and c.differences == []
    c = fn.compare(json.dumps(a), json.dumps(b),
                   ignore=("data.users[*].lastLoginAt",))
    assert kinds(c) == [("number", "data.post.id")]
    with pytest.raises(ValueError, match=r"malformed ignore pattern 1 "
                                         r"'data\.users\[\*': missing '\]'"):
        fn.compare("{}", "{}", ignore=["ok", "data.users[*"])
    with pytest.raises(TypeError):
        fn.compare("{}", "{}", ignore="data.x")


def test_rules_as_pairs_or_as_known_differences(fn):
    a = '{"n":12345678901234567.89,"t":"2024-05-01T08:00:00.0004Z"}'
    b = '{"n":12345678901234568,"t":"2024-05-01T10:00:00+02:00"}'
    c = fn.compare(a, b)
    assert (c.unexplained, c.explained) == (2, 0)
    c = fn.compare(a, b, rules=[("psycopg-float", "float64"),
                                ("ms", "timestamp_precision")])
    assert c.equal and (c.unexplained, c.explained) == (0, 2)
    assert [(d.path, d.rule) for d in c.differences] == [
        ("n", "psycopg-float"), ("t", "ms")]
    known = {"json-float": {"classifier": "float64",
                            "description": "psycopg parses numbers as floats"}}
    c = fn.compare(a, b, rules=known)
    assert (c.unexplained, c.explained) == (1, 1)
    assert c.differences[0].rule == "json-float"
    assert fn.compare(a, b, rules={"x": "timestamp_precision"}).explained == 1
    with pytest.raises(ValueError, match="unknown classifier 'float32' in "
                                         "rule 'mine'"):
        fn.compare(a, b, rules=[("mine", "float32")])
    with pytest.raises(ValueError, match="rule 'x' has no \"classifier\""):
        fn.compare(a, b, rules={"x": {"description": "?"}})
    with pytest.raises(TypeError):
        fn.compare(a, b, rules=[("only-a-name",)])


def test_classifiers(fn):
    classifiers = fn.comparison_classifiers()
    assert set(classifiers) == {"float64", "timestamp_precision"}
    assert all(isinstance(v, str) and v for v in classifiers.values())


def test_redaction(fn):
    c = fn.compare('{"s":"secret","n":[1,2]}', '{"s":"other","n":[1]}',
                   redact=True)
    assert [(d.primary, d.candidate) for d in c.differences] == [
        ('"<string>"', '"<string>"'), ('"<array of 2>"', '"<array of 1>"')]
    assert "secret" not in repr(c.differences) and "other" not in str(
        c.to_dict())


def test_max_differences(fn):
    c = fn.compare(json.dumps(list(range(50))),
                   json.dumps(list(range(1, 51))), max_differences=3)
    assert c.unexplained == 50 and c.truncated and len(c.differences) == 3
    assert repr(c).endswith("truncated>")
    assert fn.compare("[1]", "[2]", max_differences=0).differences == []
    with pytest.raises(ValueError):
        fn.compare("[1]", "[2]", max_differences=-1)


def test_invalid_json_names_the_side_and_offset(fn):
    with pytest.raises(ValueError) as info:
        fn.compare(b'{"a":1}', b'{"a":1,}')
    assert str(info.value) == ("invalid JSON in the candidate body at byte "
                               "7: expected a key")
    assert isinstance(info.value, fn.InvalidInputError)
    assert info.value.code == "INVALID_ARGUMENT"
    with pytest.raises(ValueError, match="primary body at byte 0"):
        fn.compare(b"", b"{}")
    with pytest.raises(ValueError, match="nested deeper than 512"):
        fn.compare(b"[" * 100000 + b"]" * 100000, b"[]")


def test_bodies_as_bytes_str_bytearray_or_memoryview(fn):
    body = '{"name":"é"}'
    for a in (body, body.encode(), bytearray(body.encode()),
              memoryview(body.encode())):
        assert fn.compare(a, '{"name":"\\u00e9"}').equal
    with pytest.raises(TypeError):
        fn.compare(1, "{}")


def test_threads_sharing_comparisons_get_their_own_answers(fn):
    a = json.dumps([{"id": i, "v": i} for i in range(20000)])
    b = json.dumps([{"id": i, "v": i + (i == 777)} for i in range(20000)])
    results = [None] * 8
    start = threading.Barrier(8)

    def run(k):
        start.wait()
        results[k] = fn.compare(a, b if k % 2 else a)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a comparison hung"
    for k, r in enumerate(results):
        if k % 2:
            assert kinds(r) == [("number", "[777].v")]
        else:
            assert r.equal


def test_a_comparison_releases_the_gil(fn):
    # Another Python thread counts while a comparison runs. With the switch
    # interval at 100 s, a thread that holds the GIL keeps it until it
    # blocks: between `before` and `after` below (no blocking call but
    # compare), the counter can only move if compare released the GIL. A
    # comparison is short, so the thread compares until one call saw the
    # counter move; one that never releases it fails at the deadline.
    a = json.dumps([{"id": i, "v": i} for i in range(20000)])
    b = json.dumps([{"id": i, "v": i + (i == 777)} for i in range(20000)])
    counted, stop = [0], threading.Event()
    seen = {}

    def count():
        while not stop.is_set():
            counted[0] += 1
            time.sleep(0.0005)  # blocks: hands the GIL back

    def compare():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            before = counted[0]
            c = fn.compare(a, b)
            after = counted[0]
            if after > before:
                seen.update(moved=after - before, kinds=kinds(c))
                return

    interval = sys.getswitchinterval()
    sys.setswitchinterval(100)
    try:
        counter = threading.Thread(target=count, daemon=True)
        comparer = threading.Thread(target=compare, daemon=True)
        counter.start()
        comparer.start()
        comparer.join(timeout=120)
    finally:
        stop.set()
        sys.setswitchinterval(interval)
    counter.join(timeout=60)
    assert not comparer.is_alive(), "the comparison hung"
    assert seen.get("moved", 0) > 0, "no other thread ran during a comparison"
    assert seen["kinds"] == [("number", "[777].v")]


# --- Real responses from PostgreSQL ----------------------------------------


SELECTION = "id firstName balance score createdAt tags address { cityName }"


@pytest.fixture(scope="module")
def body(repo, sample):
    body = repo.find(f"{sample}.v_user", field="users", order_by=ORDER,
                     selection=SELECTION)
    assert len(json.loads(body)["data"]["users"]) == 300
    return body


def parsed(body):
    """The body as ordered dicts with exact numbers (Decimal)."""
    return json.loads(body, object_pairs_hook=OrderedDict,
                      parse_float=Decimal)


def dumps_exact(value):
    """Serializes keeping Decimal text (json cannot; a placeholder swap)."""
    texts = []

    def walk(v):
        if isinstance(v, Decimal):
            texts.append(str(v))
            return f"@@{len(texts) - 1}@@"
        if isinstance(v, dict):
            return OrderedDict((k, walk(x)) for k, x in v.items())
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    text = json.dumps(walk(value), ensure_ascii=False, separators=(",", ":"))
    for i, t in enumerate(texts):
        text = text.replace(f'"@@{i}@@"', t, 1)
    return text


def test_a_response_equals_itself_and_its_exact_reserialization(fn, body):
    assert fn.compare(body, body).equal
    assert fn.compare(body, dumps_exact(parsed(body))).equal


def test_real_response_with_one_changed_value(fn, body):
    value = parsed(body)
    old = value["data"]["users"][3]["firstName"]
    value["data"]["users"][3]["firstName"] = old + "x"
    c = fn.compare(body, dumps_exact(value))
    assert kinds(c) == [("value", "data.users[3].firstName")]
    assert c.differences[0].primary == json.dumps(old, ensure_ascii=False)
    assert c.differences[0].candidate == json.dumps(old + "x",
                                                    ensure_ascii=False)


def test_real_response_through_psycopg_floats(fn, body):
    # The legacy path's defect: json.loads reads numbers as floats, so
    # 12345678901234567.89 comes back as 1.2345678901234568e+16. Every other
    # number survives (at most 17 significant digits, scale aside).
    legacy = json.dumps(json.loads(body), ensure_ascii=False)
    big = [i for i, u in enumerate(parsed(body)["data"]["users"])
           if u["balance"] == Decimal("12345678901234567.89")]
    assert len(big) == 6  # rows 50, 100, ... 300
    c = fn.compare(body, legacy)
    assert kinds(c) == [("number", f"data.users[{i}].balance") for i in big]
    assert {(d.primary, d.candidate) for d in c.differences} == {
        ("12345678901234567.89", "1.2345678901234568e+16")}
    c = fn.compare(body, legacy, rules=[("psycopg-float", "float64")])
    assert c.equal and c.explained == 6 and c.unexplained == 0
    assert {d.rule for d in c.differences} == {"psycopg-float"}


def test_real_response_reordered_and_with_a_lost_key(fn, body):
    value = parsed(body)
    value["data"]["users"].reverse()
    c = fn.compare(body, dumps_exact(value))
    assert kinds(c) == [("array_order", "data.users")]
    value = parsed(body)
    del value["data"]["users"][10]["address"]
    value["data"]["users"][11]["tags"] = 7
    value["data"]["users"][12]["extra"] = None
    c = fn.compare(body, dumps_exact(value), redact=True)
    assert kinds(c) == [("missing_key", "data.users[10].address"),
                        ("type", "data.users[11].tags"),
                        ("extra_key", "data.users[12].extra")]
    assert c.differences[0].primary == '"<object>"'
    assert c.differences[1].candidate == '"<number>"'


def test_real_timestamps_compared_as_instants(fn, body):
    value = parsed(body)
    users = value["data"]["users"]
    # The sample's createdAt carry offsets (+02:00, -05:00, +05:30, ...):
    # written in UTC they are the same instants.
    for u in users:
        u["createdAt"] = datetime.datetime.fromisoformat(
            u["createdAt"]).astimezone(datetime.timezone.utc).isoformat()
    assert users[0]["createdAt"].endswith("+00:00")
    assert fn.compare(body, dumps_exact(value)).equal
    moved = datetime.datetime.fromisoformat(users[5]["createdAt"])
    users[5]["createdAt"] = (moved + datetime.timedelta(
        microseconds=400)).isoformat()
    users[6]["createdAt"] = (datetime.datetime.fromisoformat(
        users[6]["createdAt"]) + datetime.timedelta(seconds=1)).isoformat()
    c = fn.compare(body, dumps_exact(value),
                   rules=[("legacy-ms", "timestamp_precision")])
    assert [(d.path, d.rule) for d in c.differences] == [
        ("data.users[5].createdAt", "legacy-ms"),
        ("data.users[6].createdAt", None)]
    assert (c.unexplained, c.explained) == (1, 1)
    c = fn.compare(body, dumps_exact(value),
                   ignore=["data.users[*].createdAt"])
    assert c.equal and c.ignored == 2
