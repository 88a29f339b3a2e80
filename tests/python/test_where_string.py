"""The string operators (contains, icontains, startsWith, istartsWith,
endsWith, iendsWith, like, ilike, matches, imatches, notMatches and their
aliases) run on PostgreSQL through the native path. The expected rows are
computed here in Python from the raw sample data, never from the SQL under
test. The hand-picked users 1-12 carry %, _, backslashes, quotes, tabs and
unicode, and near misses (users 11 and 12) that an unescaped pattern would
also match."""
import hashlib
import json
import re
import uuid

import pytest


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


def user_id(i):
    """The id of sample user i: md5('user-' || i)::uuid."""
    return str(uuid.UUID(hashlib.md5(f"user-{i}".encode()).hexdigest()))


def get(row, path):
    for key in path.split("."):
        if not isinstance(row, dict):
            return None
        row = row.get(key)
    return row


def nested(path, leaf):
    filt = leaf
    for key in reversed(path.split(".")):
        filt = {key: filt}
    return filt


def fold(text):
    """Lower case as ILIKE and ~* fold it on the test server (libc C.UTF-8:
    one character to one character, not only ASCII). Characters whose
    Python lower case is longer than one character are left alone, as
    towlower leaves them; the sample data has none."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def like_regex(pattern):
    """A LIKE pattern (backslash escape) as an anchored Python regex."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


# What each operator means, on a non-null text `s` and the input value `v`.
SEMANTICS = {
    "contains": lambda s, v: v in s,
    "icontains": lambda s, v: fold(v) in fold(s),
    "startsWith": lambda s, v: s.startswith(v),
    "istartsWith": lambda s, v: fold(s).startswith(fold(v)),
    "endsWith": lambda s, v: s.endswith(v),
    "iendsWith": lambda s, v: fold(s).endswith(fold(v)),
    "like": lambda s, v: like_regex(v).fullmatch(s) is not None,
    "ilike": lambda s, v: like_regex(fold(v)).fullmatch(fold(s)) is not None,
    "matches": lambda s, v: re.search(v, s) is not None,
    "imatches": lambda s, v: re.search(v, s, re.IGNORECASE) is not None,
    "notMatches": lambda s, v: re.search(v, s) is None,
}

ALIASES = {
    "startsWith": ["startswith", "starts_with"],
    "istartsWith": ["istartswith", "istarts_with"],
    "endsWith": ["endswith", "ends_with"],
    "iendsWith": ["iendswith", "iends_with"],
    "notMatches": ["notmatches", "not_matches"],
}


def expected_ids(raw, key, op, value):
    # Null and missing values match no string operator (notMatches included).
    return sorted(r["id"] for r in raw["v_user"]
                  if get(r, key) is not None
                  and SEMANTICS[op](get(r, key), value))


# (operator, GraphQL path, JSONB path, value). The regexes are written in the
# common subset of PostgreSQL's ARE and Python's re.
CASES = [
    ("contains", "firstName", "first_name", "li"),
    ("contains", "firstName", "first_name", "100% _real_"),
    ("contains", "firstName", "first_name", "100%"),
    ("contains", "lastName", "last_name", "under_score"),
    ("contains", "lastName", "last_name", "Back\\slash"),
    ("contains", "firstName", "first_name", 'Say "Hi"'),
    ("contains", "lastName", "last_name", "'"),
    ("contains", "firstName", "first_name", "\t"),
    ("contains", "lastName", "last_name", "\n"),
    ("contains", "firstName", "first_name", "😀"),
    ("contains", "lastName", "last_name", "山"),
    ("contains", "firstName", "first_name", "_"),
    ("contains", "firstName", "first_name", "%"),
    ("contains", "email", "email", "@example.org"),
    ("contains", "address.street", "address.street", "l'Église"),
    ("icontains", "firstName", "first_name", "ALI"),
    ("icontains", "email", "email", "EXAMPLE.net"),
    ("icontains", "lastName", "last_name", "O'NEIL"),
    ("icontains", "lastName", "last_name", "MÜLLER"),
    ("icontains", "firstName", "first_name", "_REAL_"),
    ("icontains", "address.cityName", "address.city_name", "SÃO"),
    ("startsWith", "lastName", "last_name", "O'"),
    ("startsWith", "firstName", "first_name", "100%"),
    ("startsWith", "firstName", "first_name", "Back"),
    ("startsWith", "firstName", "first_name", "Zo"),
    ("startsWith", "email", "email", "user1"),
    ("istartsWith", "firstName", "first_name", "ŁUK"),
    ("istartsWith", "firstName", "first_name", "zoË"),
    ("istartsWith", "firstName", "first_name", "_"),
    ("istartsWith", "lastName", "last_name", "BACK\\"),
    ("endsWith", "email", "email", "@Example.NET"),
    ("endsWith", "email", "email", "@example.net"),
    ("endsWith", "firstName", "first_name", "real_"),
    ("endsWith", "firstName", "first_name", "😀"),
    ("endsWith", "lastName", "last_name", "\\slash"),
    ("iendsWith", "email", "email", "@EXAMPLE.NET"),
    ("iendsWith", "lastName", "last_name", "SCORE"),
    ("iendsWith", "lastName", "last_name", "_SCORE"),
    ("like", "firstName", "first_name", "A%e"),
    ("like", "firstName", "first_name", "100% _real_"),
    ("like", "firstName", "first_name", "100\\% \\_real\\_"),
    ("like", "lastName", "last_name", "under_score"),
    ("like", "email", "email", "user_@%"),
    ("like", "firstName", "first_name", "%"),
    ("ilike", "email", "email", "%@EXAMPLE.net"),
    ("ilike", "firstName", "first_name", "j_s_"),
    ("ilike", "lastName", "last_name", "o'%"),
    ("matches", "email", "email", "^user[0-9]+@example\\.(com|org)$"),
    ("matches", "firstName", "first_name", "^[A-C]"),
    ("matches", "firstName", "first_name", "[0-9]{3,}"),
    ("matches", "lastName", "last_name", "\\\\"),
    ("matches", "firstName", "first_name", "ë|é"),
    ("imatches", "email", "email", "@example\\.net$"),
    ("imatches", "firstName", "first_name", "^zoë$"),
    ("imatches", "lastName", "last_name", "^o'"),
    ("notMatches", "firstName", "first_name", "^[A-M]"),
    ("notMatches", "email", "email", "example\\.com$"),
    ("contains", "nickname", "nickname", "nick"),
    ("notMatches", "nickname", "nickname", "^nick-1"),
]


@pytest.mark.parametrize("op,gql,key,value", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[3]!r}" for c in CASES])
def test_operator_matches_python(repo, users, raw, op, gql, key, value):
    body = repo.find(users, where=nested(gql, {op: value}), selection="id")
    assert ids(body) == expected_ids(raw, key, op, value)


@pytest.mark.parametrize("op", sorted(SEMANTICS))
def test_every_operator_selects_a_proper_subset(repo, users, raw, op):
    """Each operator, on data where the answer is neither all nor none."""
    value = {
        "contains": "li", "icontains": "LI", "startsWith": "A",
        "istartsWith": "a", "endsWith": ".org", "iendsWith": ".NET",
        "like": "user1%", "ilike": "USER1%", "matches": "^user[0-9]@",
        "imatches": "^USER[0-9]@", "notMatches": "example\\.com$",
    }[op]
    key = "first_name" if op in ("contains", "icontains", "startsWith",
                                 "istartsWith") else "email"
    gql = "firstName" if key == "first_name" else "email"
    expected = expected_ids(raw, key, op, value)
    assert ids(repo.find(users, where={gql: {op: value}},
                         selection="id")) == expected
    assert 0 < len(expected) < len(raw["v_user"])


@pytest.mark.parametrize("op,aliases", sorted(ALIASES.items()))
def test_aliases_mean_the_same(repo, users, raw, op, aliases):
    value = {"startsWith": "Jo", "istartsWith": "jo", "endsWith": "a",
             "iendsWith": "A", "notMatches": "^[A-J]"}[op]
    expected = expected_ids(raw, "first_name", op, value)
    assert expected
    for name in [op] + aliases:
        body = repo.find(users, where={"firstName": {name: value}},
                         selection="id")
        assert ids(body) == expected, name


def test_contains_matches_percent_and_underscore_literally(repo, users, raw):
    # Unescaped, %100% _real_% would also match user 11's "1000 Xrealy".
    body = repo.find(users, where={"firstName": {"contains": "100% _real_"}},
                     selection="id")
    assert ids(body) == [user_id(10)]
    body = repo.find(users, where={"firstName": {"contains": "100%"}},
                     selection="id")
    assert user_id(11) not in ids(body) and user_id(10) in ids(body)
    # "under_score" must not match user 11's "underXscore".
    body = repo.find(users, where={"lastName": {"contains": "under_score"}},
                     selection="id")
    assert ids(body) == [user_id(10)]
    # A lone _ matches names that hold an underscore, not every name.
    body = repo.find(users, where={"firstName": {"contains": "_"}},
                     selection="id")
    assert ids(body) == [user_id(10)]


def test_contains_matches_backslash_literally(repo, users, raw):
    # One backslash: user 8's Back\slash, not user 12's Backslash.
    body = repo.find(users, where={"lastName": {"contains": "Back\\slash"}},
                     selection="id")
    assert ids(body) == [user_id(8)]
    body = repo.find(users, where={"lastName": {"endsWith": "\\slash"}},
                     selection="id")
    assert ids(body) == [user_id(8)]
    body = repo.find(users, where={"lastName": {"contains": "\\"}},
                     selection="id")
    assert ids(body) == [user_id(8)]


def test_like_keeps_wildcards_and_escapes(repo, users, raw):
    # As a pattern, "100% _real_" matches both user 10 and user 11 ...
    body = repo.find(users, where={"firstName": {"like": "100% _real_"}},
                     selection="id")
    assert ids(body) == sorted([user_id(10), user_id(11)])
    # ... and the user's own escapes are kept.
    body = repo.find(users, where={"firstName": {"like": "100\\% \\_real\\_"}},
                     selection="id")
    assert ids(body) == [user_id(10)]


def test_case_insensitive_variants_fold_unicode(repo, users, raw):
    body = repo.find(users, where={"firstName": {"istartsWith": "ŁUKASZ"}},
                     selection="id")
    expected = sorted(r["id"] for r in raw["v_user"]
                      if r["first_name"] == "Łukasz")
    assert ids(body) == expected and user_id(4) in expected
    body = repo.find(users, where={"email": {"iendsWith": "@EXAMPLE.NET"}},
                     selection="id")
    expected = sorted(r["id"] for r in raw["v_user"]
                      if r["email"].endswith("@Example.NET"))
    assert ids(body) == expected and expected
    # Case-sensitive endsWith sees the capitals.
    body = repo.find(users, where={"email": {"endsWith": "@example.net"}},
                     selection="id")
    assert ids(body) == []


def test_quotes_and_sql_in_values_are_only_text(repo, users, raw):
    hostile = "'; DROP TABLE tb_user; --"
    for op in ("contains", "icontains", "startsWith", "like", "matches"):
        body = repo.find(users, where={"lastName": {op: hostile}},
                         selection="id")
        assert ids(body) == []
    body = repo.find(users, where={"lastName": {"startsWith": "O'"}},
                     selection="id")
    expected = sorted(r["id"] for r in raw["v_user"]
                      if r["last_name"].startswith("O'"))
    assert ids(body) == expected and user_id(7) in expected
    assert len(ids(repo.find(users, selection="id"))) == len(raw["v_user"])


def test_null_and_missing_match_no_string_operator(repo, users, raw):
    with_value = sorted(r["id"] for r in raw["v_user"]
                        if r.get("nickname") is not None)
    without = [r for r in raw["v_user"] if r.get("nickname") is None]
    assert without and with_value
    # notMatches of something no nickname contains: every row with a value,
    # none of the null or missing ones.
    body = repo.find(users, where={"nickname": {"notMatches": "zzz"}},
                     selection="id")
    assert ids(body) == with_value
    body = repo.find(users, where={"nickname": {"like": "%"}}, selection="id")
    assert ids(body) == with_value


def test_same_shape_gives_same_sql(repo, users):
    sql_a, params_a = repo.explain(users, where={"firstName": {"contains": "a"}})
    sql_b, params_b = repo.explain(
        users, where={"firstName": {"contains": "%_\\' OR TRUE --"}})
    assert sql_a == sql_b
    assert "%\\%\\_\\\\' OR TRUE --%" in params_b
    assert "OR TRUE" not in sql_b


@pytest.mark.parametrize("where,message", [
    ({"firstName": {"contains": 100}},
     "invalid value at where.firstName.contains: expected a String, got a "
     "number"),
    ({"email": {"iendsWith": True}},
     "invalid value at where.email.iendsWith: expected a String, got a "
     "boolean"),
    ({"firstName": {"like": ["a%"]}},
     "invalid value at where.firstName.like: expected a String, got a list"),
    ({"firstName": {"matches": {"re": "^A"}}},
     "invalid value at where.firstName.matches: expected a String, got an "
     "object"),
    ({"firstName": {"starts_with": 7}},
     "invalid value at where.firstName.starts_with: expected a String, got a "
     "number"),
    ({"age": {"icontains": "1"}},
     "operator 'icontains' at where.age.icontains does not apply to Int "
     "field age; it applies to String, Email, Hostname"),
])
def test_wrong_value_type_is_rejected(fn, repo, users, where, message):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where=where)
    assert str(e.value) == message


def test_malformed_regex_is_a_server_error(fn, repo, users, pool, raw):
    with pytest.raises(fn.DatabaseError) as e:
        repo.find(users, where={"firstName": {"matches": "(unclosed"}},
                  selection="id")
    assert e.value.sqlstate == "2201B"
    # The pool stays usable.
    assert len(ids(repo.find(users, selection="id"))) == len(raw["v_user"])
