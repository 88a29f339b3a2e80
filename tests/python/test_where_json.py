"""The JSON operators (hasKey, hasAnyKeys, hasAllKeys, contains,
containedBy, pathExists, pathMatch) on User.preferences, run on PostgreSQL
through the native path. The expected rows are computed here in Python from
the raw sample data (tests/fixtures/README.md, "Preferences"), never from
the SQL under test."""
import json
from decimal import Decimal

import pytest


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


def is_number(v):
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def json_contains(a, b):
    """jsonb's @> below the top level: objects partially and recursively,
    arrays as sets of contained elements, numbers by value."""
    if isinstance(b, dict):
        return isinstance(a, dict) and all(
            k in a and json_contains(a[k], v) for k, v in b.items())
    if isinstance(b, list):
        return isinstance(a, list) and all(
            any(json_contains(x, y) for x in a) for y in b)
    if isinstance(a, (dict, list)):
        return False
    if is_number(a) and is_number(b):
        return Decimal(str(a)) == Decimal(str(b))
    return type(a) is type(b) and a == b


def prefs_of(raw):
    return [(r["id"], r.get("preferences")) for r in raw["v_user"]]


def expect(raw, predicate):
    """Ids of users whose preferences are an object satisfying predicate."""
    return sorted(i for i, p in prefs_of(raw)
                  if isinstance(p, dict) and predicate(p))


def find(repo, users, where):
    return ids(repo.find(users, where={"preferences": where}, selection="id"))


def assert_split(expected, raw):
    # The data must make the case meaningful: some rows on each side.
    assert 0 < len(expected) < len(raw["v_user"])


@pytest.mark.parametrize("op", ["hasKey", "has_key", "haskey"])
def test_has_key_top_level(repo, users, raw, op):
    expected = expect(raw, lambda p: "beta_opt_in" in p)
    assert find(repo, users, {op: "beta_opt_in"}) == expected
    assert_split(expected, raw)


@pytest.mark.parametrize("key", ["fontSize", "recentSearches", "theme"])
def test_has_key_camel_case_keys_as_stored(repo, users, raw, key):
    expected = expect(raw, lambda p: key in p)
    assert find(repo, users, {"hasKey": key}) == expected
    assert expected


def test_has_key_is_not_recursive(repo, users, raw):
    # digest_frequency lives in notifications, not at the top level.
    assert expect(raw, lambda p: "digest_frequency" in p) == []
    assert find(repo, users, {"hasKey": "digest_frequency"}) == []
    assert find(repo, users, {"contains": {"notifications": {}}}) == expect(
        raw, lambda p: isinstance(p.get("notifications"), dict))


@pytest.mark.parametrize("op", ["hasAnyKeys", "has_any_keys", "hasanykeys"])
def test_has_any_keys(repo, users, raw, op):
    keys = ["beta_opt_in", "no_such_key"]
    expected = expect(raw, lambda p: any(k in p for k in keys))
    assert find(repo, users, {op: keys}) == expected
    assert_split(expected, raw)


@pytest.mark.parametrize("op", ["hasAllKeys", "has_all_keys", "hasallkeys"])
def test_has_all_keys(repo, users, raw, op):
    keys = ["theme", "beta_opt_in", "fontSize"]
    expected = expect(raw, lambda p: all(k in p for k in keys))
    assert find(repo, users, {op: keys}) == expected
    assert_split(expected, raw)
    assert find(repo, users, {op: ["theme", "no_such_key"]}) == []


def test_empty_key_lists(repo, users, raw):
    # ?| of no keys is false; ?& of no keys is true for every value.
    assert find(repo, users, {"hasAnyKeys": []}) == []
    assert find(repo, users, {"hasAllKeys": []}) == expect(raw, lambda p: True)


@pytest.mark.parametrize("value", [
    {"notifications": {"push": True}},
    {"notifications": {"email": False, "digest_frequency": "weekly"}},
    {"theme": "dark", "language": "ja"},
    {"recentSearches": ["zoë"]},
    {"recentSearches": ["graphql"]},
    {"dashboard": {"widgetOrder": [3, 1], "show_tips": False}},
    {"fontSize": 14},
    {"fontSize": 14.0},
    {"beta_opt_in": True},
], ids=lambda v: json.dumps(v, ensure_ascii=False))
def test_contains(repo, users, raw, value):
    expected = expect(raw, lambda p: json_contains(p, value))
    assert find(repo, users, {"contains": value}) == expected
    assert_split(expected, raw)


@pytest.mark.parametrize("value", [
    {"recentSearches": []},  # every array contains the empty array
    {"dashboard": {"widgetOrder": [3, 1]}},  # a permutation of 1, 2, 3
    {},
], ids=lambda v: json.dumps(v))
def test_contains_what_every_row_has(repo, users, raw, value):
    expected = expect(raw, lambda p: json_contains(p, value))
    assert expected == expect(raw, lambda p: True)
    assert find(repo, users, {"contains": value}) == expected


def test_contains_compares_types_not_text(repo, users, raw):
    # "14" (a string) is not the number 14; true is not 1.
    assert find(repo, users, {"contains": {"fontSize": "14"}}) == []
    assert find(repo, users, {"contains": {"beta_opt_in": 1}}) == []


@pytest.mark.parametrize("op", ["containedBy", "contained_by", "containedby"])
def test_contained_by(repo, users, raw, op):
    # A superset of one user's preferences, with an extra key: contains the
    # preferences of every user whose variant is equal or smaller.
    base = next(p for _, p in prefs_of(raw)
                if isinstance(p, dict) and "beta_opt_in" in p)
    superset = dict(base, extra={"x": 1})
    expected = expect(raw, lambda p: json_contains(superset, p))
    assert find(repo, users, {op: superset}) == expected
    assert_split(expected, raw)
    # Without beta_opt_in, the rows that have it no longer fit.
    smaller = {k: v for k, v in base.items() if k != "beta_opt_in"}
    expected = expect(raw, lambda p: json_contains(smaller, p))
    assert find(repo, users, {op: smaller}) == expected
    assert all("beta_opt_in" not in p for i, p in prefs_of(raw)
               if i in expected)


@pytest.mark.parametrize("op", ["pathExists", "path_exists", "pathexists"])
def test_path_exists(repo, users, raw, op):
    expected = expect(raw, lambda p: "zoë" in p.get("recentSearches", []))
    assert find(repo, users,
                {op: '$.recentSearches[*] ? (@ == "zoë")'}) == expected
    assert_split(expected, raw)


@pytest.mark.parametrize("path,predicate", [
    ("$.beta_opt_in", lambda p: "beta_opt_in" in p),
    ("strict $.beta_opt_in", lambda p: "beta_opt_in" in p),
    ("$.dashboard ? (@.show_tips == false)",
     lambda p: p["dashboard"]["show_tips"] is False),
    ("$.dashboard.widgetOrder[0] ? (@ == 2)",
     lambda p: p["dashboard"]["widgetOrder"][0] == 2),
    ('$.notifications ? (@.digest_frequency starts with "we")',
     lambda p: p["notifications"]["digest_frequency"].startswith("we")),
])
def test_path_exists_cases(repo, users, raw, path, predicate):
    expected = expect(raw, predicate)
    assert find(repo, users, {"pathExists": path}) == expected
    assert_split(expected, raw)


@pytest.mark.parametrize("op", ["pathMatch", "path_match", "pathmatch"])
@pytest.mark.parametrize("path,predicate", [
    ("$.fontSize >= 14", lambda p: p["fontSize"] >= 14),
    ('$.theme == "dark" && $.notifications.email == true',
     lambda p: p["theme"] == "dark" and p["notifications"]["email"] is True),
    ("exists($.recentSearches[*] ? (@ like_regex \"^post\"))",
     lambda p: any(s.startswith("post") for s in p["recentSearches"])),
])
def test_path_match(repo, users, raw, op, path, predicate):
    expected = expect(raw, predicate)
    assert find(repo, users, {op: path}) == expected
    assert_split(expected, raw)


def test_path_match_of_a_non_boolean_matches_nothing(repo, users, raw):
    assert find(repo, users, {"pathMatch": "$.fontSize"}) == []


def test_operators_are_anded_and_negated(repo, users, raw):
    where = {"preferences": {"hasKey": "beta_opt_in",
                             "contains": {"theme": "dark"}}}
    both = expect(raw, lambda p: "beta_opt_in" in p and p["theme"] == "dark")
    assert ids(repo.find(users, where=where, selection="id")) == both
    assert both
    negated = ids(repo.find(users, where={"NOT": where}, selection="id"))
    assert negated == expect(
        raw, lambda p: not ("beta_opt_in" in p and p["theme"] == "dark"))


def test_hostile_keys_are_only_values(repo, users, raw):
    hostile = "a'); DROP TABLE tb_user; --"
    assert find(repo, users, {"hasKey": hostile}) == []
    assert find(repo, users, {"hasAnyKeys": [hostile, "$1", "?|"]}) == []
    assert find(repo, users, {"contains": {hostile: {"\\": "\""}}}) == []
    assert find(repo, users, {"pathExists": f'$."{hostile}"'}) == []
    # The table is still there.
    assert len(ids(repo.find(users, selection="id"))) == len(raw["v_user"])


@pytest.mark.parametrize("where,message", [
    ({"hasKey": 3},
     "invalid value at where.preferences.hasKey: expected a key (a string), "
     "got a number"),
    ({"hasAllKeys": "theme"},
     "invalid value at where.preferences.hasAllKeys: expected a list of keys "
     "(strings), got a string"),
    ({"contains": {"a": ["x\u0000"]}},
     "invalid where at where.preferences.contains.a[0]: a str that contains a NUL byte"),
    ({"pathExists": "$.a ? (@ > 1"},
     "invalid value at where.preferences.pathExists: expected a SQL/JSON "
     "path with balanced brackets and quotes, like $.theme or $.tags[*] ? "
     "(@ == \"dev\"), got a string"),
    ({"pathMatch": "$.fontSize > $min"},
     "invalid value at where.preferences.pathMatch: SQL/JSON path variables "
     "($name) are not supported; write the value into the path"),
])
def test_bad_values_fail_before_sql(fn, repo, users, where, message):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where={"preferences": where}, selection="id")
    assert str(e.value) == message
    assert e.value.sqlstate is None


def test_path_syntax_error_is_the_servers(fn, repo, users, raw):
    # Balanced but not a path: the server's parser rejects it (42601).
    with pytest.raises(fn.DatabaseError) as e:
        repo.find(users, where={"preferences": {"pathExists": "$.a ?? 1"}},
                  selection="id")
    assert e.value.sqlstate == "42601"
    assert e.value.code == "INVALID_ARGUMENT"
    # The pool is fine afterwards.
    assert len(ids(repo.find(users, selection="id"))) == len(raw["v_user"])
