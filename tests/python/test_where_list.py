"""The list operators (contains, containedBy, overlaps, lenEq ... lenLte,
anyEq, allEq) on User.tags and Post.tags ([String], JSONB arrays that
include []), run on PostgreSQL through the native path. The expected rows
are computed here in Python from the raw sample data, never from the SQL
under test."""
import json

import pytest


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


@pytest.fixture
def posts(sample):
    return f"{sample}.v_post"


VIEWS = {"users": "v_user", "posts": "v_post"}


def find(repo, view, where):
    return ids(repo.find(view, where={"tags": where}, selection="id"))


def expect(raw, view, predicate):
    """Ids of rows whose tags are a list satisfying predicate."""
    return sorted(r["id"] for r in raw[view]
                  if isinstance(r.get("tags"), list) and predicate(r["tags"]))


def assert_split(expected, raw, view):
    # The data must make the case meaningful: some rows on each side.
    assert 0 < len(expected) < len(raw[view])


@pytest.fixture(params=sorted(VIEWS))
def target(request, users, posts):
    """(view to query, raw key) for users and posts."""
    return {"users": users, "posts": posts}[request.param], \
        VIEWS[request.param]


@pytest.mark.parametrize("items", [
    ["dev"], ["dev", "ops"], ["ops", "dev", "on-call"], ["admin"],
    ["graphql"], ["c++", "news"], ["postgresql"], ["dev", "admin"],
])
def test_contains_every_item(repo, raw, target, items):
    view, key = target
    expected = expect(raw, key, lambda tags: all(i in tags for i in items))
    assert find(repo, view, {"contains": items}) == expected


def test_contains_nothing_matches_every_list(repo, raw, target):
    view, key = target
    assert find(repo, view, {"contains": []}) == expect(raw, key,
                                                        lambda t: True)


@pytest.mark.parametrize("op", ["containedBy", "contained_by", "containedby"])
@pytest.mark.parametrize("items", [
    [], ["dev"], ["dev", "ops"], ["dev", "ops", "admin"], ["graphql", "news",
                                                          "c++"],
])
def test_contained_by(repo, raw, target, op, items):
    view, key = target
    expected = expect(raw, key, lambda tags: all(t in items for t in tags))
    assert find(repo, view, {op: items}) == expected
    # The empty lists always qualify.
    assert set(expect(raw, key, lambda t: t == [])) <= set(expected)


@pytest.mark.parametrize("items", [
    ["admin", "on-call"], ["ops"], ["graphql", "c++"], ["nope", "dev"],
    ["nope"], [],
])
def test_overlaps(repo, raw, target, items):
    view, key = target
    expected = expect(raw, key, lambda tags: any(i in tags for i in items))
    assert find(repo, view, {"overlaps": items}) == expected


LENGTH_OPS = {
    "lenEq": lambda n, v: n == v, "len_eq": lambda n, v: n == v,
    "leneq": lambda n, v: n == v,
    "lenNeq": lambda n, v: n != v, "len_neq": lambda n, v: n != v,
    "lenneq": lambda n, v: n != v,
    "lenGt": lambda n, v: n > v, "len_gt": lambda n, v: n > v,
    "lengt": lambda n, v: n > v,
    "lenGte": lambda n, v: n >= v, "len_gte": lambda n, v: n >= v,
    "lengte": lambda n, v: n >= v,
    "lenLt": lambda n, v: n < v, "len_lt": lambda n, v: n < v,
    "lenlt": lambda n, v: n < v,
    "lenLte": lambda n, v: n <= v, "len_lte": lambda n, v: n <= v,
    "lenlte": lambda n, v: n <= v,
}


@pytest.mark.parametrize("op", sorted(LENGTH_OPS))
@pytest.mark.parametrize("length", [0, 1, 2, 3])
def test_length(repo, raw, users, op, length):
    expected = expect(raw, "v_user",
                      lambda tags: LENGTH_OPS[op](len(tags), length))
    assert find(repo, users, {op: length}) == expected


def test_length_on_posts(repo, raw, posts):
    for length in range(4):
        expected = expect(raw, "v_post", lambda tags: len(tags) == length)
        assert find(repo, posts, {"lenEq": length}) == expected
    assert find(repo, posts, {"lenGt": 2}) == []


@pytest.mark.parametrize("op", ["anyEq", "any_eq", "anyeq"])
@pytest.mark.parametrize("value", ["dev", "admin", "on-call", "c++",
                                   "graphql", "nope"])
def test_any_eq(repo, raw, target, op, value):
    view, key = target
    expected = expect(raw, key, lambda tags: value in tags)
    assert find(repo, view, {op: value}) == expected


@pytest.mark.parametrize("op", ["allEq", "all_eq", "alleq"])
@pytest.mark.parametrize("value", ["dev", "admin", "ops", "graphql"])
def test_all_eq_non_empty_lists_only(repo, raw, target, op, value):
    view, key = target
    expected = expect(raw, key,
                      lambda tags: tags and all(t == value for t in tags))
    assert find(repo, view, {op: value}) == expected


def test_all_eq_excludes_empty_lists(repo, raw, users):
    empty = expect(raw, "v_user", lambda t: t == [])
    assert empty
    assert not set(empty) & set(find(repo, users, {"allEq": "dev"}))
    # ... which lenEq: 0 finds.
    assert find(repo, users, {"lenEq": 0}) == empty


def test_meaningful_splits(raw):
    # The sample data exercises both sides of the main cases.
    for key in VIEWS.values():
        assert_split(expect(raw, key, lambda t: t == []), raw, key)
    assert_split(expect(raw, "v_user", lambda t: "dev" in t), raw, "v_user")
    assert_split(expect(raw, "v_user", lambda t: t == ["dev"]), raw,
                 "v_user")


def test_operators_combine_with_or_and_not(repo, raw, users):
    where = {"OR": [{"tags": {"anyEq": "admin"}},
                    {"NOT": {"tags": {"lenGt": 1}}}]}
    expected = expect(raw, "v_user",
                      lambda t: "admin" in t or not len(t) > 1)
    assert ids(repo.find(users, where=where, selection="id")) == expected
    assert_split(expected, raw, "v_user")


def test_several_operators_on_one_field_are_anded(repo, raw, users):
    where = {"contains": ["dev"], "lenLt": 3, "overlaps": ["ops", "admin"]}
    expected = expect(raw, "v_user",
                      lambda t: "dev" in t and len(t) < 3
                      and ("ops" in t or "admin" in t))
    assert find(repo, users, where) == expected
    assert_split(expected, raw, "v_user")


def test_hostile_items_are_only_values(repo, raw, users):
    hostile = "x\"]'); DROP TABLE tb_user; --"
    assert find(repo, users, {"anyEq": hostile}) == []
    assert find(repo, users, {"contains": [hostile, "\\"]}) == []
    assert find(repo, users, {"overlaps": [hostile, "$1", "?|"]}) == []
    assert find(repo, users, {"allEq": hostile}) == []
    # The table is still there.
    assert len(ids(repo.find(users, selection="id"))) == len(raw["v_user"])


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
