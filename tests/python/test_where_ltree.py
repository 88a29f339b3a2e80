"""Every ltree operator run on PostgreSQL through the native path, with the
expected rows computed here in Python from the raw sample data (an ltree
ancestor test, an lquery and an ltxtquery matcher for the patterns used),
never from the SQL under test."""
import json
import re

import pytest


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


def labels(path):
    return path.split(".") if path else []


def is_ancestor(a, b):
    """ltree `a @> b`: a is an ancestor of b or equal to it."""
    la, lb = labels(a), labels(b)
    return lb[:len(la)] == la


# --- lquery: levels joined by '.', each `*` or `[!]label[flags](|...)`,
# flags @ (case-insensitive) and * (prefix), then an optional {n,m} count.

LEVEL = re.compile(r"^(?P<body>\*|!?[A-Za-z0-9_]+[@*]*(?:\|[A-Za-z0-9_]+[@*]*)*)"
                   r"(?:\{(?P<low>\d*)(?P<comma>,?)(?P<high>\d*)\})?$")


def parse_lquery(pattern):
    levels = []
    for text in pattern.split("."):
        m = LEVEL.match(text)
        assert m, f"the test's lquery matcher does not handle {text!r}"
        body, star = m["body"], m["body"] == "*"
        if m.group(0) == body:  # no count
            low, high = (0, None) if star else (1, 1)
        else:
            low = int(m["low"] or 0)
            high = (int(m["high"]) if m["high"] else None) if m["comma"] else low
        negated = body.startswith("!")
        variants = [] if star else [
            (v.rstrip("@*"), "@" in v, v.rstrip("@").endswith("*"))
            for v in body.lstrip("!").split("|")]
        levels.append((star, negated, variants, low, high))
    return levels


def variant_matches(variant, label):
    word, nocase, prefix = variant
    if nocase:
        word, label = word.lower(), label.lower()
    return label.startswith(word) if prefix else label == word


def level_matches(level, label):
    star, negated, variants, _, _ = level
    if star:
        return True
    hit = any(variant_matches(v, label) for v in variants)
    return hit != negated


def lquery_matches(pattern, path):
    levels, labs = parse_lquery(pattern), labels(path)

    def match(i, j):
        if i == len(levels):
            return j == len(labs)
        level = levels[i]
        low, high = level[3], level[4]
        top = len(labs) - j if high is None else min(high, len(labs) - j)
        for count in range(low, top + 1):
            if all(level_matches(level, labs[j + k]) for k in range(count)) \
                    and match(i + 1, j + count):
                return True
        return False

    return match(0, 0)


# --- ltxtquery: words (flags @ and *) matched against any label of the
# path, ! & | with the usual precedence, parentheses.

def ltxtquery_matches(query, path):
    tokens = re.findall(r"[A-Za-z0-9_]+[@*]*|[!&|()]", query)
    labs = labels(path)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def word(tok):
        variant = (tok.rstrip("@*"), "@" in tok, tok.rstrip("@").endswith("*"))
        return any(variant_matches(variant, label) for label in labs)

    def unary():
        tok = take()
        if tok == "!":
            return not unary()
        if tok == "(":
            value = disjunction()
            assert take() == ")"
            return value
        return word(tok)

    def conjunction():
        value = unary()
        while peek() == "&":
            take()
            value = unary() and value
        return value

    def disjunction():
        value = conjunction()
        while peek() == "|":
            take()
            value = conjunction() or value
        return value

    result = disjunction()
    assert pos == len(tokens)
    return result


def expect(raw, predicate):
    return sorted(r["id"] for r in raw["v_user"]
                  if r.get("org_path") is not None and predicate(r["org_path"]))


def run(repo, users, op, value):
    return ids(repo.find(users, where={"orgPath": {op: value}}, selection="id"))


def assert_meaningful(raw, expected):
    # Some rows on each side, so the check can fail.
    assert 0 < len(expected) < len(raw["v_user"])


@pytest.mark.parametrize("value", ["acme.eng.backend.db", "acme.eng", "acme",
                                   "globex.ops.x"])
def test_ancestor_of(repo, users, raw, value):
    expected = expect(raw, lambda p: is_ancestor(p, value))
    assert run(repo, users, "ancestorOf", value) == expected
    assert_meaningful(raw, expected)


@pytest.mark.parametrize("value", ["acme.eng", "acme", "acme.eng.backend",
                                   "globex"])
def test_descendant_of(repo, users, raw, value):
    expected = expect(raw, lambda p: is_ancestor(value, p))
    assert run(repo, users, "descendantOf", value) == expected
    assert_meaningful(raw, expected)


def test_hierarchy_includes_the_path_itself(repo, users, raw):
    both = ids(repo.find(users, where={"orgPath": {
        "ancestorOf": "acme.eng", "descendantOf": "acme.eng"}}, selection="id"))
    assert both == expect(raw, lambda p: p == "acme.eng") and both


def test_empty_path_is_the_root(repo, users, raw):
    assert run(repo, users, "descendantOf", "") == expect(raw, lambda p: True)
    assert run(repo, users, "ancestorOf", "") == expect(raw, lambda p: p == "")


LQUERIES = [
    "acme.eng.*",             # a path and its descendants (* may be empty)
    "*.backend.*",            # a label anywhere
    "acme.*{1}",              # exactly one label below acme
    "acme.*{,1}",             # acme and its children
    "*{3,}",                  # at least three labels
    "*.db|emea",              # alternatives
    "acme.!eng.*",            # negation
    "ACME@.Eng@.*",           # case-insensitive labels
    "acme.eng.back*.*",       # label prefix
    "globex.ops",             # an exact path
    "acme.eng{1}.*{1}",       # a count on a label level
]


@pytest.mark.parametrize("pattern", LQUERIES)
def test_matches_lquery(repo, users, raw, pattern):
    expected = expect(raw, lambda p: lquery_matches(pattern, p))
    assert run(repo, users, "matchesLquery", pattern) == expected
    assert_meaningful(raw, expected)


LTXTQUERIES = [
    "eng & !frontend",
    "backend | emea",
    "sales* | OPS@",
    "!acme",
    "eng & (db | frontend)",
    "acme & !(eng | sales)",
]


@pytest.mark.parametrize("query", LTXTQUERIES)
def test_matches_ltxtquery(repo, users, raw, query):
    expected = expect(raw, lambda p: ltxtquery_matches(query, p))
    assert run(repo, users, "matchesLtxtquery", query) == expected
    assert_meaningful(raw, expected)


@pytest.mark.parametrize("patterns", [["*.db", "globex.*"], ["acme"],
                                      ["acme.sales.*", "*.frontend", "x.y"]])
def test_matches_any_lquery(repo, users, raw, patterns):
    expected = expect(raw, lambda p: any(lquery_matches(q, p)
                                         for q in patterns))
    assert run(repo, users, "matchesAnyLquery", patterns) == expected
    assert_meaningful(raw, expected)


def test_matches_any_lquery_empty_list_matches_nothing(repo, users):
    assert run(repo, users, "matchesAnyLquery", []) == []


DEPTH_OPS = {
    "depthEq": lambda a, b: a == b,
    "depthNeq": lambda a, b: a != b,
    "depthGt": lambda a, b: a > b,
    "depthGte": lambda a, b: a >= b,
    "depthLt": lambda a, b: a < b,
    "depthLte": lambda a, b: a <= b,
}


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("op", sorted(DEPTH_OPS))
def test_depth(repo, users, raw, op, depth):
    expected = expect(raw, lambda p: DEPTH_OPS[op](len(labels(p)), depth))
    assert run(repo, users, op, depth) == expected
    if op not in ("depthLt", "depthGte") or depth != 1:
        assert_meaningful(raw, expected)


def test_direct_children(repo, users, raw):
    where = {"orgPath": {"descendantOf": "acme.eng", "depthEq": 3}}
    expected = expect(raw, lambda p: is_ancestor("acme.eng", p)
                      and len(labels(p)) == 3)
    assert ids(repo.find(users, where=where, selection="id")) == expected
    assert_meaningful(raw, expected)


@pytest.mark.parametrize("canonical,value,spellings", [
    ("ancestorOf", "acme.eng.backend", ["ancestor_of", "ancestorof"]),
    ("descendantOf", "acme.eng", ["descendant_of", "descendantof"]),
    ("matchesLquery", "*.backend.*", ["matches_lquery", "matcheslquery"]),
    ("matchesLtxtquery", "eng & !db",
     ["matches_ltxtquery", "matchesltxtquery"]),
    ("matchesAnyLquery", ["*.db", "globex.*"],
     ["matches_any_lquery", "matchesanylquery"]),
    ("depthGte", 3, ["depth_gte", "depthgte", "nlevelGte", "nlevel_gte",
                     "nlevelgte"]),
])
def test_spellings_are_the_same_operator(repo, users, canonical, value,
                                         spellings):
    want = run(repo, users, canonical, value)
    assert want
    for name in spellings:
        assert run(repo, users, name, value) == want, name


def test_ltree_in_or_and_not(repo, users, raw):
    where = {"OR": [{"orgPath": {"matchesLquery": "globex.*"}},
                    {"NOT": {"orgPath": {"descendantOf": "acme.eng"}}}]}
    expected = expect(raw, lambda p: lquery_matches("globex.*", p)
                      or not is_ancestor("acme.eng", p))
    assert ids(repo.find(users, where=where, selection="id")) == expected
    assert_meaningful(raw, expected)


@pytest.mark.parametrize("where,message", [
    ({"orgPath": {"matchesLquery": "acme..eng"}},
     "invalid value at where.orgPath.matchesLquery: expected an lquery "
     "pattern like acme.*{1,2}.db, got a string (empty label at "
     "character 6)"),
    ({"orgPath": {"matchesLtxtquery": "eng &"}},
     "invalid value at where.orgPath.matchesLtxtquery: expected an ltxtquery "
     "like 'backend & !frontend', got a string (unexpected end, "
     "expected a word)"),
    ({"orgPath": {"matchesAnyLquery": ["*.db", "a b"]}},
     "invalid value at where.orgPath.matchesAnyLquery[1]: expected an lquery "
     "pattern like acme.*{1,2}.db, got a string (unexpected character at "
     "character 2, expected '.')"),
    ({"orgPath": {"ancestorOf": "acme.*"}},
     "invalid value at where.orgPath.ancestorOf: expected an LTree "
     "(labels of [A-Za-z0-9_-] joined by '.'), got a string that does not "
     "fit"),
    ({"orgPath": {"depthGt": -1}},
     "invalid value at where.orgPath.depthGt: expected a non-negative "
     "integer (a number of labels), got a number"),
])
def test_bad_values_fail_before_sql(fn, repo, users, where, message):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where=where, selection="id")
    assert str(e.value) == message
    assert e.value.sqlstate is None


def test_python_matchers_agree_with_known_answers():
    # The helpers above are the expectation: check them on fixed cases.
    assert lquery_matches("acme.*{1}", "acme.eng")
    assert not lquery_matches("acme.*{1}", "acme.eng.backend")
    assert lquery_matches("acme.!eng.*", "acme.sales.emea")
    assert not lquery_matches("acme.!eng.*", "acme.eng.backend")
    assert lquery_matches("*.db|emea", "acme.sales.emea")
    assert lquery_matches("ACME@.Eng@.*", "acme.eng")
    assert ltxtquery_matches("eng & !frontend", "acme.eng.backend")
    assert not ltxtquery_matches("eng & !frontend", "acme.eng.frontend")
    assert ltxtquery_matches("sales* | OPS@", "globex.ops")
    assert is_ancestor("acme", "acme.eng") and is_ancestor("acme", "acme")
    assert not is_ancestor("acme.eng", "acme")
