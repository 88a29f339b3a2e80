"""End-to-end tests of the response stage (spec: /work/shared/spec/response.md)
on the sample data (tests/fixtures/README.md): real queries through
Repository.find / find_one / execute, whose bytes are compared exactly with
bodies computed here, independently, from the rows psycopg reads
(`data::text`): a small reference of the spec's rules (selection order,
aliases, __typename per type, null for missing keys, camelCase when nothing
is selected) and a serializer that keeps every number's text as PostgreSQL
wrote it.

Each legacy defect the native stage replaces has a test that catches it:
keys sorted alphabetically, numbers losing precision, strings escaped twice,
the parent's __typename repeated on nested objects, aliases lost, and an
empty list standing in for null."""
import hashlib
import json
import os
import re
import uuid
from decimal import Decimal

import psycopg
import pytest

from sample_registry import USER_FIELDS

N = 300  # conftest.SAMPLE_ROWS: the formulas below depend on it
FEED_SCHEMA = f"fql_pytest_response_{os.getpid()}"


# --- An independent reading of the rows ----------------------------------


class Obj(list):
    """A JSON object as its (key, value) pairs, in text order, duplicates
    kept."""

    def get(self, key):
        found = MISSING
        for k, v in self:  # the last duplicate wins, as in jsonb
            if k == key:
                found = v
        return found


class Num:
    """A JSON number as the exact text PostgreSQL wrote."""

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Num) and other.text == self.text

    def __repr__(self):
        return f"Num({self.text})"


MISSING = object()


def parse(text):
    return json.loads(text, object_pairs_hook=Obj, parse_float=Num,
                      parse_int=Num)


def dump(value):
    """Compact JSON, numbers as their text, strings escaped as JSON requires
    and nothing more (non-ASCII raw): the form the spec asks for."""
    if isinstance(value, Obj):
        return "{" + ",".join(f"{dump(k)}:{dump(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    if isinstance(value, Num):
        return value.text
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value)  # true, false, null


def camel(name):
    """The spec's camelCase, for the ASCII keys of the sample data."""
    lead = len(name) - len(name.lstrip("_"))
    first, *rest = name[lead:].split("_")
    return name[:lead] + first + "".join(p[:1].upper() + p[1:] for p in rest)


def camel_keys(value):
    if isinstance(value, Obj):
        return Obj((camel(k), camel_keys(v)) for k, v in value)
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def user_id(i):
    return str(uuid.UUID(hashlib.md5(f"user-{i}".encode()).hexdigest()))


USER_NUMBER = {user_id(i): i for i in range(1, N + 1)}


# --- A reference of the projection rules ---------------------------------

# GraphQL type -> GraphQL field name -> (JSONB key, declared type), as
# sample_registry.py registers them (and the feed view below).
ADDRESS = {"street": "String", "city_name": "String", "postal_code": "String",
           "country_code": "String", "coordinates": "Coordinate"}
AUTHOR = {"id": "UUID", "first_name": "String", "last_name": "String"}
POST = {"id": "UUID", "tenant_id": "UUID", "title": "String",
        "body": "String", "author": "Author", "tags": "[String]",
        "published_at": "DateTime", "view_count": "Int", "rating": "Decimal",
        "is_published": "Boolean"}
COMMENT = {"id": "UUID", "tenant_id": "UUID", "post_id": "UUID",
           "author": "Author", "body": "String", "created_at": "DateTime",
           "upvotes": "Int"}
FEED_POST = {"id": "UUID", "title": "String", "rating": "Decimal",
             "author": "Author"}
FEED = {"id": "UUID", "first_name": "String", "posts": "[FeedPost]",
        "favourite": "FeedPost"}
TYPES = {name: {camel(k): (k, t) for k, t in fields.items()}
         for name, fields in (("User", USER_FIELDS), ("Address", ADDRESS),
                              ("Author", AUTHOR), ("Post", POST),
                              ("Comment", COMMENT), ("FeedPost", FEED_POST),
                              ("Feed", FEED))}


def parse_selection(text):
    """GraphQL selection text -> [(response key, field name, sub or None)]."""
    tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[:{}]", text)
    pos = 0

    def fields():
        nonlocal pos
        out = []
        while pos < len(tokens) and tokens[pos] != "}":
            key = name = tokens[pos]
            pos += 1
            if pos < len(tokens) and tokens[pos] == ":":
                name = tokens[pos + 1]
                pos += 2
            sub = None
            if pos < len(tokens) and tokens[pos] == "{":
                pos += 1
                sub = fields()
                assert tokens[pos] == "}"
                pos += 1
            out.append((key, name, sub))
        return out

    return fields()


def project(row, selection, type_name, always_typename=False):
    """What the spec says the projection of `row` is."""
    if selection is None:
        out = camel_keys(row)
        if always_typename:
            out.insert(0, ("__typename", type_name))
        return out
    out = Obj()
    if always_typename and not any(n == "__typename" and k == "__typename"
                                   for k, n, _ in selection):
        out.append(("__typename", type_name))
    for key, name, sub in selection:
        if name == "__typename":
            out.append((key, type_name))
            continue
        source, declared = TYPES[type_name][name]
        value = row.get(source)
        element = declared.strip("[]")
        if value is MISSING:
            value = None
        elif sub is not None and element in TYPES:
            value = project_value(value, sub, element, always_typename)
        out.append((key, value))
    return out


def project_value(value, selection, type_name, always_typename):
    if isinstance(value, Obj):
        return project(value, selection, type_name, always_typename)
    if isinstance(value, list):
        return [project_value(v, selection, type_name, always_typename)
                for v in value]
    return value  # null, or a value of the wrong shape, passes through


def list_body(key, rows, selection, type_name, always_typename=False):
    sel = None if selection is None else parse_selection(selection)
    items = [project(r, sel, type_name, always_typename) for r in rows]
    return ('{"data":{' + dump(key) + ":[" + ",".join(map(dump, items))
            + "]}}").encode()


def object_body(key, row, selection, type_name, always_typename=False):
    sel = None if selection is None else parse_selection(selection)
    value = "null" if row is None else dump(
        project(row, sel, type_name, always_typename))
    return ('{"data":{' + dump(key) + ":" + value + "}}").encode()


# --- Fixtures -------------------------------------------------------------


@pytest.fixture(scope="module")
def rows(db_url, sample):
    """Each view's rows as psycopg reads them, ordered by id."""
    out = {}
    with psycopg.connect(db_url) as conn:
        for view in ("v_user", "v_post", "v_comment"):
            cur = conn.execute(
                f"SELECT data::text FROM {sample}.{view} ORDER BY id")
            out[view] = [parse(text) for (text,) in cur]
    assert len(out["v_user"]) == N
    return out


def by_number(rows, i):
    (row,) = [r for r in rows["v_user"] if r.get("id") == user_id(i)]
    return row


def users_numbered(rows, predicate):
    return [r for r in rows["v_user"]
            if predicate(USER_NUMBER[r.get("id")])]


ORDER = {"id": "ASC"}


# --- Strings: unicode, quotes, backslashes, control characters ------------


def test_names_with_unicode_quotes_and_backslashes_are_exact(repo, users,
                                                             rows):
    selection = "id firstName lastName"
    body = repo.find(users, field="users", order_by=ORDER,
                     where={"id": {"in": [user_id(i) for i in range(1, 13)]}},
                     selection=selection)
    expected_rows = users_numbered(rows, lambda i: i <= 12)
    assert body == list_body("users", expected_rows, selection, "User")
    # Spelled out for the rows that legacy builders broke: one escape per
    # quote and backslash (not two), control characters as \t and \n,
    # non-ASCII and emoji as raw UTF-8.
    assert '"firstName":"Say \\"Hi\\"","lastName":"Back\\\\slash"'.encode() \
        in body
    assert b'"firstName":"Tab\\tName","lastName":"Line\\nBreak"' in body
    assert '"firstName":"Ana 😀","lastName":"Smile 🎉"'.encode() in body
    assert '"firstName":"日本","lastName":"山田"'.encode() in body
    assert '"firstName":"Seán","lastName":"O\'Brien"'.encode() in body
    assert b"\\u00" not in body and b"\\\\\\" not in body


def test_one_user_with_quotes_and_backslash_through_find_one(repo, users,
                                                             rows):
    selection = "firstName lastName"
    body = repo.find_one(users, field="user", where={"id": user_id(8)},
                         selection=selection)
    assert body == b'{"data":{"user":{"firstName":"Say \\"Hi\\"",' \
                   b'"lastName":"Back\\\\slash"}}}'
    assert body == object_body("user", by_number(rows, 8), selection, "User")
    assert json.loads(body)["data"]["user"] == {"firstName": 'Say "Hi"',
                                                "lastName": "Back\\slash"}


def test_post_bodies_with_unicode_emoji_quotes_and_backslashes(repo, sample,
                                                               rows):
    selection = "id title body"
    body = repo.find(f"{sample}.v_post", field="posts", order_by=ORDER,
                     selection=selection)
    assert body == list_body("posts", rows["v_post"], selection, "Post")
    assert b'"body":"It\'s 100% _safe_ to \\"quote\\" things and use ' \
           b'back\\\\slashes."' in body
    assert ('"body":"Zoë and José went to the café; naïve résumé, déjà vu. '
            '日本語のテキスト 🎉"').encode() in body
    assert "Café culture in Zürich".encode() in body


def test_comment_bodies_with_line_feeds_and_tabs(repo, sample, rows):
    selection = "id body upvotes"
    body = repo.find(f"{sample}.v_comment", field="comments", order_by=ORDER,
                     selection=selection)
    assert body == list_body("comments", rows["v_comment"], selection,
                             "Comment")
    assert b'"body":"Multi-line\\ncomment with a\\ttab and a \\\\ backslash"' \
        in body
    assert '"body":"Thanks — très utile 👍"'.encode() in body
    assert b"\n" not in body and b"\t" not in body  # never raw in the body


# --- Numbers --------------------------------------------------------------


def test_big_numerics_and_scales_are_kept_as_text(repo, users, rows):
    selection = "id balance score age"
    body = repo.find(users, field="users", order_by=ORDER,
                     selection=selection)
    assert body == list_body("users", rows["v_user"], selection, "User")
    # Beyond a double: 12345678901234567.89 (i % 50 == 0), never
    # 12345678901234568 or 1.2345678901234568e16.
    assert body.count(b'"balance":12345678901234567.89,') == N // 50
    assert b"12345678901234568" not in body and b"e+16" not in body
    # The scale stays: user 10 has 541.90, user 7's score is exactly 31.
    assert f'"id":"{user_id(10)}","balance":541.90,'.encode() in body
    assert b'"score":31,' in body
    parsed = json.loads(body, parse_float=Decimal)["data"]["users"]
    big = [u for u in parsed if USER_NUMBER[u["id"]] % 50 == 0]
    assert {u["balance"] for u in big} == {Decimal("12345678901234567.89")}


def test_numbers_in_nested_and_json_values_are_kept_as_text(repo, users,
                                                            rows):
    selection = "id address { coordinates } preferences"
    body = repo.find(users, field="users", order_by=ORDER,
                     selection=selection)
    assert body == list_body("users", rows["v_user"], selection, "User")
    # Coordinates keep their six decimals, trailing zeros included.
    assert re.search(rb'"lat":-?\d+\.\d{6},"lng":-?\d+\.\d{6}\}', body)


# --- Nulls, missing keys, empty results -----------------------------------


def test_null_and_missing_keys_are_null_and_never_empty_lists(repo, users,
                                                              rows):
    selection = "id age nickname address { cityName } tags"
    body = repo.find(users, field="users", order_by=ORDER,
                     selection=selection)
    assert body == list_body("users", rows["v_user"], selection, "User")
    items = json.loads(body)["data"]["users"]
    for item in items:
        i = USER_NUMBER[item["id"]]
        assert list(item) == ["id", "age", "nickname", "address", "tags"]
        if i % 10 in (3, 7):  # JSON null, and the key missing
            assert item["age"] is None
        if i % 10 not in (5, 9):  # null or missing
            assert item["nickname"] is None
        if i % 10 == 4:
            assert item["address"] is None  # not [] and not {}
        if i % 5 == 0:
            assert item["tags"] == []  # an empty list stays a list
    assert body.count(b'"address":null') == N // 10
    assert b'"address":[]' not in body and b'"address":{}' not in body


def test_empty_results(repo, users):
    nobody = {"firstName": {"eq": "nobody at all"}}
    assert repo.find(users, field="users", where=nobody,
                     selection="id") == b'{"data":{"users":[]}}'
    assert repo.find(users, field="users", where=nobody) == \
        b'{"data":{"users":[]}}'
    assert repo.find(users, field="users", limit=0, selection="id") == \
        b'{"data":{"users":[]}}'
    assert repo.find_one(users, field="user", where=nobody,
                         selection="id address { cityName }") == \
        b'{"data":{"user":null}}'
    assert repo.find_one(users, field="user", where=nobody) == \
        b'{"data":{"user":null}}'


# --- Selection order, aliases, compact output -----------------------------


def test_keys_follow_the_selection_not_the_alphabet(repo, users, rows):
    selection = "lastName id zipless: firstName age email isActive"
    body = repo.find(users, field="users", order_by=ORDER, limit=20,
                     selection=selection)
    assert body == list_body("users", rows["v_user"][:20], selection, "User")
    for item in parse(body).get("data").get("users"):
        assert [k for k, _ in item] == ["lastName", "id", "zipless", "age",
                                        "email", "isActive"]


def test_aliases_on_scalars_objects_and_the_same_field_twice(repo, users,
                                                             rows):
    selection = ("a: firstName b: firstName handle: email "
                 "home: address { city: cityName zip: postalCode } "
                 "again: address { cityName } firstName")
    body = repo.find(users, field="people", order_by=ORDER,
                     selection=selection)
    assert body == list_body("people", rows["v_user"], selection, "User")
    first = parse(body).get("data").get("people")[0]
    assert [k for k, _ in first] == ["a", "b", "handle", "home", "again",
                                     "firstName"]


def test_output_is_compact(repo, users):
    body = repo.find(users, field="users", order_by=ORDER,
                     selection="id address { coordinates street } tags")
    # Outside strings there is no whitespace at all: strip the strings and
    # look at what is left.
    skeleton = re.sub(rb'"(?:[^"\\]|\\.)*"', b'""', body)
    assert not re.search(rb"\s", skeleton)
    assert b", " not in skeleton and b": " not in skeleton


# --- Nested objects, nested lists and __typename --------------------------


@pytest.fixture(scope="module")
def feed(fn, db_url, sample, pool):
    """A view over the sample users with a list of their posts (nested
    objects with a nested author): `posts` is null when the user has no
    address (i % 10 == 4) and [] when the user has no tags (i % 5 == 0);
    `favourite` is one post, null for i % 10 == 4."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{FEED_SCHEMA}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{FEED_SCHEMA}"')
        conn.execute(f"""
            CREATE VIEW "{FEED_SCHEMA}".v_feed AS
            SELECT u.id, jsonb_build_object(
                'id', u.data->'id',
                'first_name', u.data->'first_name',
                'posts', CASE
                  WHEN u.data->'address' = 'null' THEN 'null'::jsonb
                  WHEN u.data->'tags' = '[]' THEN '[]'::jsonb
                  ELSE (SELECT jsonb_agg(p.data ORDER BY p.id)
                        FROM "{sample}".tb_post p WHERE p.author_id = u.id)
                  END,
                'favourite', CASE
                  WHEN u.data->'address' = 'null' THEN 'null'::jsonb
                  ELSE (SELECT p.data FROM "{sample}".tb_post p
                        WHERE p.author_id = u.id ORDER BY p.id LIMIT 1)
                  END) AS data
            FROM "{sample}".tb_user u""")
        conn.execute(f"""
            CREATE VIEW "{FEED_SCHEMA}".v_cut AS
            SELECT id, CASE WHEN id = '{user_id(8)}' THEN left(data::text, -1)
                            ELSE data::text END AS data
            FROM "{sample}".tb_user""")
    schema = fn.Schema()
    schema.add_type("Author", AUTHOR)
    schema.add_type("FeedPost", FEED_POST)
    schema.add_view(f"{FEED_SCHEMA}.v_feed", "Feed", FEED,
                    columns={"id": "uuid", "data": "jsonb"})
    schema.add_view(f"{FEED_SCHEMA}.v_cut", "User",
                    {"id": "UUID", "first_name": "String"},
                    columns={"id": "uuid", "data": "text"})
    with psycopg.connect(db_url) as conn:
        feed_rows = [parse(t) for (t,) in conn.execute(
            f'SELECT data::text FROM "{FEED_SCHEMA}".v_feed ORDER BY id')]
    yield {"view": f"{FEED_SCHEMA}.v_feed", "rows": feed_rows,
           "cut": f"{FEED_SCHEMA}.v_cut",
           "repo": fn.Repository(pool, schema),
           "always": fn.Repository(pool, schema, always_typename=True)}
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{FEED_SCHEMA}" CASCADE')


def test_nested_lists_of_objects_with_their_own_typenames(feed):
    selection = ("__typename id firstName posts { __typename title rating "
                 "author { __typename firstName } } "
                 "favourite { __typename title }")
    body = feed["repo"].find(feed["view"], field="feed", order_by=ORDER,
                             selection=selection)
    assert body == list_body("feed", feed["rows"], selection, "Feed")
    items = json.loads(body)["data"]["feed"]
    shapes = {"null": 0, "[]": 0, "posts": 0}
    for item in items:
        assert item["__typename"] == "Feed"
        if item["posts"] is None:
            shapes["null"] += 1
            assert item["favourite"] is None
            continue
        assert item["favourite"]["__typename"] == "FeedPost"
        if item["posts"] == []:
            shapes["[]"] += 1
            continue
        shapes["posts"] += 1
        assert len(item["posts"]) == 2
        for post in item["posts"]:
            # Each level has its own type, never its parent's.
            assert post["__typename"] == "FeedPost"
            assert post["author"]["__typename"] == "Author"
            assert post["author"]["firstName"] == item["firstName"]
    # null stays null and [] stays [] (neither stands in for the other).
    assert shapes == {"null": N // 10, "[]": N // 5,
                      "posts": N - N // 10 - N // 5}


def test_always_typename_in_every_typed_object(feed):
    selection = "id posts { title author { firstName } } favourite { id }"
    body = feed["always"].find(feed["view"], field="feed", order_by=ORDER,
                               selection=selection)
    assert body == list_body("feed", feed["rows"], selection, "Feed",
                             always_typename=True)
    assert body.count(b'{"__typename":"Author","firstName":') == 2 * len(
        [r for r in feed["rows"] if r.get("posts")])


def test_aliases_inside_nested_lists(feed):
    selection = ("who: firstName writings: posts { t: title by: author "
                 "{ name: firstName again: firstName } } "
                 "top: favourite { title } best: favourite { rating }")
    body = feed["repo"].find(feed["view"], field="feed", order_by=ORDER,
                             selection=selection)
    assert body == list_body("feed", feed["rows"], selection, "Feed")


def test_nested_author_objects_of_posts(repo, sample, rows):
    selection = ("__typename id author { __typename id first: firstName "
                 "lastName } writer: author { lastName }")
    body = repo.find(f"{sample}.v_post", field="posts", order_by=ORDER,
                     selection=selection)
    assert body == list_body("posts", rows["v_post"], selection, "Post")
    assert b'"__typename":"Post"' in body
    assert b'"author":{"__typename":"Author",' in body
    assert b'"author":{"__typename":"Post"' not in body


# --- JSON fields and select-all -------------------------------------------


def test_selected_json_field_keeps_its_inner_keys(repo, users, rows):
    selection = "id preferences"
    body = repo.find(users, field="users", order_by=ORDER,
                     selection=selection)
    assert body == list_body("users", rows["v_user"], selection, "User")
    assert b'"digest_frequency":' in body and b'"show_tips":' in body
    assert b'"fontSize":' in body and b'"beta_opt_in":true' in body


@pytest.mark.parametrize("view,type_name", [("v_post", "Post"),
                                            ("v_comment", "Comment")])
def test_select_all_camelcases_every_key_in_source_order(repo, sample, rows,
                                                         view, type_name):
    body = repo.find(f"{sample}.{view}", field="items", order_by=ORDER)
    assert body == list_body("items", rows[view], None, type_name)
    assert b'"isPublished":' in body or b'"createdAt":' in body
    assert b'"is_published":' not in body and b'"created_at":' not in body


def test_select_all_users_outside_json_fields(repo, users, rows):
    body = repo.find(users, field="users", order_by=ORDER)
    items = parse(body).get("data").get("users")
    assert len(items) == N
    for item, row in zip(items, rows["v_user"]):
        expected = camel_keys(row)
        assert [k for k, _ in item] == [k for k, _ in expected]
        for (key, got), (_, want) in zip(item, expected):
            if key != "preferences":
                assert dump(got) == dump(want), key


def test_select_all_keeps_inner_keys_of_json_fields(repo, users, rows):
    body = repo.find(users, field="users", order_by=ORDER)
    expected = []
    for row in rows["v_user"]:
        item = Obj((camel(k), v if k == "preferences" else camel_keys(v))
                   for k, v in row)
        expected.append(item)
    assert body == ('{"data":{"users":[' + ",".join(map(dump, expected))
                    + "]}}").encode()


def test_always_typename_with_select_all_reaches_nested_objects(
        fn, pool, schema, sample, rows):
    repo = fn.Repository(pool, schema, always_typename=True)
    body = repo.find(f"{sample}.v_post", field="posts", order_by=ORDER,
                     limit=1)
    assert b'"author":{"__typename":"Author",' in body


# --- A row that is not valid JSON ----------------------------------------


def cut_end(db_url, sample):
    """Where v_cut's row of user 8 (its jsonb text without the last '}')
    ends, in bytes."""
    with psycopg.connect(db_url) as conn:
        (text,) = conn.execute(f"SELECT data::text FROM {sample}.v_user "
                               "WHERE id = %s", (user_id(8),)).fetchone()
    assert text.endswith("}")
    return len(text.encode()) - 1


def check_cut_body(body, key, end):
    parsed = json.loads(body)  # a whole body, never a truncated one
    assert parsed["data"] == {key: None}
    (error,) = parsed["errors"]
    assert error["path"] == [key]
    assert error["message"].endswith(
        f"row is not valid JSON: unexpected end of input at byte {end}")
    assert "Say" not in error["message"]  # the row is never echoed
    assert body.startswith(b'{"data":{' + dump(key).encode() + b':null},'
                           b'"errors":[{"message":')


def test_invalid_row_is_a_graphql_error_for_its_field(feed, db_url,
                                                     sample):
    end = cut_end(db_url, sample)
    ids = [user_id(i) for i in (7, 8, 9)]
    body = feed["repo"].find(feed["cut"], field="users", order_by=ORDER,
                             where={"id": {"in": ids}}, selection="id")
    check_cut_body(body, "users", end)
    body = feed["repo"].find_one(feed["cut"], field="user",
                                 where={"id": user_id(8)},
                                 selection="firstName")
    check_cut_body(body, "user", end)
    # The other rows of the same view are fine.
    body = feed["repo"].find_one(feed["cut"], field="user",
                                 where={"id": user_id(9)},
                                 selection="firstName")
    assert body == b'{"data":{"user":{"firstName":"Tab\\tName"}}}'


def test_invalid_row_fails_only_its_root_field(feed, db_url, sample):
    import query_pb2
    q = query_pb2.QueryDefinition()
    ok = q.roots.add(response_key="ok", view=feed["cut"], is_list=False,
                     where_json=json.dumps({"id": user_id(7)}),
                     has_selection=True)
    ok.selection.add(response_key="name", field_name="firstName")
    bad = q.roots.add(response_key="bad", view=feed["cut"], is_list=True,
                      where_json=json.dumps({"id": user_id(8)}),
                      has_selection=True)
    bad.selection.add(response_key="id", field_name="id")
    body = feed["repo"].execute(q.SerializeToString())
    parsed = json.loads(body, object_pairs_hook=Obj)
    assert list(k for k, _ in parsed.get("data")) == ["ok", "bad"]
    assert body.startswith('{"data":{"ok":{"name":"Seán"},"bad":null},'
                           '"errors":[{"message":'.encode())
    (error,) = json.loads(body)["errors"]
    assert error["path"] == ["bad"]
    assert error["message"].endswith(
        "row is not valid JSON: unexpected end of input at byte "
        f"{cut_end(db_url, sample)}")


# --- Several root fields in one body --------------------------------------


def test_execute_writes_every_root_in_request_order(repo, users, sample,
                                                    rows):
    import query_pb2
    q = query_pb2.QueryDefinition()

    def add(key, view, is_list, selection=None, **kw):
        root = q.roots.add(response_key=key, view=view, is_list=is_list,
                           order_by_json='{"id": "ASC"}', **kw)
        if selection is not None:
            root.has_selection = True
            for k, name, sub in parse_selection(selection):
                assert sub is None
                root.selection.add(response_key=k, field_name=name)
        return root

    add("zeta", users, True, "id firstName", limit=3)
    add("alpha", f"{sample}.v_post", False, "id title")
    add("nobody", users, False, "id", where_json='{"id": "' +
        "00000000-0000-4000-8000-000000000000" + '"}')
    add("none", users, True, "id", where_json='{"age": {"gt": 1000}}')
    add("eight", users, False, "name: lastName name2: lastName",
        where_json=json.dumps({"id": user_id(8)}))
    body = repo.execute(q.SerializeToString())
    assert body == (
        '{"data":{'
        + '"zeta":' + dump([project(r, parse_selection("id firstName"), "User")
                            for r in rows["v_user"][:3]])
        + ',"alpha":' + dump(project(rows["v_post"][0],
                                     parse_selection("id title"), "Post"))
        + ',"nobody":null'
        + ',"none":[]'
        + ',"eight":{"name":"Back\\\\slash","name2":"Back\\\\slash"}'
        + "}}").encode()


def test_camel_case_binding_follows_the_spec_examples(fn):
    examples = {
        "user_name": "userName", "_private": "_private",
        "address_line_1": "addressLine1", "user_123_id": "user123Id",
        "auth_2fa_enabled": "auth2faEnabled", "user__name": "userName",
        "user_name_": "userName", "USER_ID": "USERID",
        "user_émail": "userÉmail", "userName": "userName",
    }
    assert {k: fn.camel_case(k) for k in examples} == examples
    for key in list(USER_FIELDS) + list(ADDRESS) + list(POST) + list(COMMENT):
        assert fn.camel_case(key) == camel(key)
