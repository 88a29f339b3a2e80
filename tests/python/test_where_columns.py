"""Fields backed by real columns (where/typed_field.h), on PostgreSQL: a
column whose declared type serves the field's kind is compared bare, with the
value cast to a type of the column's index operator family, so its b-tree
index serves the filter (checked with EXPLAIN and enable_seqscan off); a
text[] column declared as a list of String filters with every List operator;
and `id` under a foreign-key object filters the FK column, also inside
OR/NOT. The expected rows are computed here in Python from the rows read
back with psycopg, never from the SQL under test."""
import datetime
import json
import os

import psycopg
import pytest

SCHEMA = f"fql_pytest_columns_{os.getpid()}"
ROWS = 2000
TAGS = [[], ["dev"], ["dev", "ops"], ["ops", "on-call", "dev"], ["admin"],
        ["ops", "ops"]]


def author_uuid(n):
    return f"00000000-0000-4000-8000-{n:012d}"


@pytest.fixture(scope="module")
def items(db_url):
    """A table with indexed columns of many types, behind a view."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        conn.execute(f'SET search_path TO "{SCHEMA}"')
        conn.execute("""
            CREATE TABLE tb_item (
              id integer PRIMARY KEY,
              rank smallint NOT NULL,
              code varchar(20) NOT NULL,
              ref uuid NOT NULL,
              price real,
              seen_at timestamp(3) without time zone,
              tags text[],
              author_id uuid,
              data jsonb NOT NULL)""")
        # Authors 1..7; the embedded author object carries a stale id on
        # every third row, so filtering its JSONB key instead of the FK
        # column gives other rows.
        conn.execute(f"""
            INSERT INTO tb_item
            SELECT i, i % 300, 'C-' || lpad(i::text, 5, '0'),
                   md5('ref-' || i)::uuid,
                   CASE WHEN i % 10 = 0 THEN NULL
                        WHEN i % 7 = 0 THEN 0.1
                        ELSE (i % 500) / 4.0 END,
                   CASE WHEN i % 11 = 0 THEN NULL
                        ELSE timestamp '2024-01-01' + i * interval '37 minutes'
                   END,
                   NULL,
                   ('00000000-0000-4000-8000-' || lpad((1 + i % 7)::text, 12,
                                                       '0'))::uuid,
                   jsonb_build_object(
                     'id', i,
                     'author', jsonb_build_object(
                       'id', '00000000-0000-4000-8000-' ||
                             lpad((1 + (i + (i % 3 = 0)::int) % 7)::text, 12,
                                  '0'),
                       'first_name', 'Author ' || (1 + i % 7)))
            FROM generate_series(1, {ROWS}) AS i""")
        # The tags, by i % 6 (NULL when i % 13 = 0), set from Python so the
        # lists are exactly TAGS.
        for k, tags in enumerate(TAGS):
            conn.execute(
                "UPDATE tb_item SET tags = %s::text[] "
                "WHERE id %% 6 = %s AND id %% 13 <> 0", (tags, k))
        conn.execute("CREATE INDEX tb_item_rank_idx ON tb_item (rank)")
        conn.execute("CREATE INDEX tb_item_code_idx ON tb_item (code)")
        conn.execute("CREATE INDEX tb_item_ref_idx ON tb_item (ref)")
        conn.execute("CREATE INDEX tb_item_price_idx ON tb_item (price)")
        conn.execute("CREATE INDEX tb_item_seen_at_idx ON tb_item (seen_at)")
        conn.execute("CREATE INDEX tb_item_author_id_idx ON tb_item (author_id)")
        conn.execute("CREATE VIEW v_item AS SELECT * FROM tb_item")
        conn.execute("ANALYZE tb_item")
    yield f"{SCHEMA}.v_item"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


@pytest.fixture(scope="module")
def rows(db_url, items):
    """Every row as psycopg reads it (an independent path)."""
    with psycopg.connect(db_url) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        cur = conn.execute(
            "SELECT id, rank, code, ref::text, price, seen_at, tags, "
            f"author_id::text, data FROM {items}")
        names = [d.name for d in cur.description]
        return [dict(zip(names, r)) for r in cur]


@pytest.fixture(scope="module")
def repo(fn, pool, items):
    schema = fn.Schema()
    schema.add_type("Author", {"id": "UUID", "first_name": "String"})
    schema.add_view(
        items, "Item",
        {"id": "Int", "rank": "Int", "code": "String", "ref": "ID",
         "price": "Float", "seen_at": "DateTime", "tags": "[String]",
         "author": "Author"},
        columns={"id": "integer", "rank": "smallint",
                 "code": "character varying(20)", "ref": "uuid",
                 "price": "real", "seen_at": "timestamp(3)",
                 "tags": "text[]", "author_id": "uuid", "data": "jsonb"},
        foreign_keys={"author": "author_id"})
    return fn.Repository(pool, schema)


def ids(body):
    (found,) = json.loads(body)["data"].values()
    return sorted(r["id"] for r in found)


def find(repo, items, where):
    return ids(repo.find(items, where=where, selection="id"))


def expect(rows, predicate):
    return sorted(r["id"] for r in rows if predicate(r))


def meaningful(rows, expected):
    assert 0 < len(expected) < len(rows)
    return expected


# --- the rows -------------------------------------------------------------

INSTANT = "2024-01-20T10:00:00+02:00"
NAIVE_UTC = datetime.datetime(2024, 1, 20, 8, 0)


def seen_after(r):
    return r["seen_at"] is not None and r["seen_at"] >= NAIVE_UTC


CASES = [
    ("integer gte/lt", {"id": {"gte": 100, "lt": 110}},
     lambda r: 100 <= r["id"] < 110),
    ("integer in", {"id": {"in": [5, 6, 1999, 5000000000]}},
     lambda r: r["id"] in (5, 6, 1999)),
    # A value beyond the integer column's range compares (bigint values).
    ("integer beyond int4", {"id": {"lt": 3000000000, "gt": 1990}},
     lambda r: r["id"] > 1990),
    ("smallint nin", {"rank": {"nin": [1, 2, 3]}},
     lambda r: r["rank"] not in (1, 2, 3)),
    ("varchar eq", {"code": "C-00042"}, lambda r: r["code"] == "C-00042"),
    ("varchar startsWith", {"code": {"startsWith": "C-0004"}},
     lambda r: r["code"].startswith("C-0004")),
    ("varchar value longer than the typmod never matches a prefix",
     {"code": {"eq": "C-00042" + "x" * 30}}, lambda r: False),
    ("ID on uuid", {"ref": {"in": []}}, lambda r: False),
    ("real eq 0.1 matches the stored 0.1", {"price": {"eq": 0.1}},
     lambda r: r["price"] is not None and r["price"] == pytest.approx(0.1)),
    ("real lt", {"price": {"lt": 12.5}},
     lambda r: r["price"] is not None and r["price"] < 12.5),
    ("timestamp column, instant value", {"seenAt": {"gte": INSTANT}},
     seen_after),
    ("timestamp isnull", {"seenAt": {"isnull": True}},
     lambda r: r["seen_at"] is None),
]


@pytest.mark.parametrize("name,where,predicate", CASES,
                         ids=[c[0] for c in CASES])
def test_typed_columns_filter_the_right_rows(repo, items, rows, name, where,
                                             predicate):
    expected = expect(rows, predicate)
    assert find(repo, items, where) == expected
    if name not in ("ID on uuid",) and "never" not in name:
        meaningful(rows, expected)


def test_id_on_a_uuid_column(repo, items, rows):
    picked = [r["ref"] for r in rows[10:13]]
    assert find(repo, items, {"ref": {"in": picked}}) == expect(
        rows, lambda r: r["ref"] in picked)
    assert find(repo, items, {"ref": picked[0]}) == expect(
        rows, lambda r: r["ref"] == picked[0])


@pytest.mark.parametrize("where,message", [
    ({"ref": "not-a-uuid"},
     "invalid value at where.ref: expected an ID that is a UUID "
     "(8-4-4-4-12 hexadecimal digits), as its column is compared as uuid, "
     "got a string that does not fit"),
    ({"id": {"gt": 9223372036854775808}},
     "invalid value at where.id.gt: expected an Int that is a whole number "
     "within bigint's range, as its column is compared as bigint, got a "
     "number that does not fit"),
    ({"price": {"lt": 1e39}},
     "invalid value at where.price.lt: expected a Float within real's "
     "range, as its column is compared as real, got a number that does not "
     "fit"),
])
def test_values_a_column_cannot_take_fail_before_sql(fn, repo, items, where,
                                                     message):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(items, where=where, selection="id")
    assert str(e.value) == message
    assert e.value.sqlstate is None


# --- indexes serve the filters ----------------------------------------------

def index_names(plan):
    """The indexes that Index Scan, Index Only Scan and Bitmap Index Scan
    nodes of an EXPLAIN (FORMAT JSON) plan use."""
    found = set()

    def walk(node):
        if node.get("Node Type") in ("Index Scan", "Index Only Scan",
                                     "Bitmap Index Scan"):
            found.add(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def explain(db_url, sql, params):
    with psycopg.connect(db_url) as conn:
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET TimeZone = 'UTC'")
        result = conn.pgconn.exec_params(
            b"EXPLAIN (FORMAT JSON) " + sql.encode(),
            [p.encode() if p is not None else None for p in params])
        assert result.status == psycopg.pq.ExecStatus.TUPLES_OK, \
            result.error_message
        value = result.get_value(0, 0).decode()
        return json.loads(value)


INDEXED = [
    ({"id": {"gte": 100, "lt": 110}}, "tb_item_pkey"),
    ({"id": {"in": [5, 6]}}, "tb_item_pkey"),
    ({"rank": {"eq": 7}}, "tb_item_rank_idx"),
    ({"code": "C-00042"}, "tb_item_code_idx"),
    ({"ref": {"in": ["00000000-0000-4000-8000-000000000001"]}},
     "tb_item_ref_idx"),
    ({"price": {"lt": 1.5}}, "tb_item_price_idx"),
    ({"seenAt": {"gte": INSTANT}}, "tb_item_seen_at_idx"),
    ({"author": {"OR": [{"id": author_uuid(1)}, {"id": author_uuid(2)}]}},
     "tb_item_author_id_idx"),
]


@pytest.mark.parametrize("where,index", INDEXED,
                         ids=[i for _, i in INDEXED])
def test_an_index_on_the_column_serves_the_filter(repo, items, db_url, where,
                                                  index):
    sql, params = repo.explain(items, where=where)
    assert index in index_names(explain(db_url, sql, params)), sql


def test_keyset_pages_use_the_index_of_the_order_column(repo, items, db_url,
                                                        rows):
    # Every page, walked forward, returns each row once, in order.
    seen, after, cursors = [], None, []
    while True:
        page = json.loads(repo.find(items, first=400, after=after,
                                    order_by=[{"rank": "DESC"}],
                                    selection="id"))
        (conn,) = page["data"].values()
        seen += [e["node"]["id"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
        cursors.append(after)
    assert seen == [r["id"] for r in sorted(rows,
                                            key=lambda r: (-r["rank"], r["id"]))]
    # The page statement orders by the bare column: its index serves it.
    sql, params = repo.explain(items, first=400, after=cursors[1],
                               order_by=[{"rank": "DESC"}])
    assert "tb_item_rank_idx" in index_names(explain(db_url, sql, params)), sql


# --- a text[] column declared [String] ------------------------------------

def has_tags(r):
    return r["tags"] is not None


LIST_CASES = [
    ({"contains": ["dev", "ops"]},
     lambda r: has_tags(r) and {"dev", "ops"} <= set(r["tags"])),
    ({"containedBy": ["dev", "ops"]},
     lambda r: has_tags(r) and set(r["tags"]) <= {"dev", "ops"}),
    ({"overlaps": ["admin", "on-call"]},
     lambda r: has_tags(r) and bool({"admin", "on-call"} & set(r["tags"]))),
    ({"lenEq": 0}, lambda r: has_tags(r) and len(r["tags"]) == 0),
    ({"lenGt": 1}, lambda r: has_tags(r) and len(r["tags"]) > 1),
    ({"anyEq": "ops"}, lambda r: has_tags(r) and "ops" in r["tags"]),
    ({"allEq": "ops"},
     lambda r: has_tags(r) and len(r["tags"]) > 0 and
     all(t == "ops" for t in r["tags"])),
    ({"eq": ["dev", "ops"]}, lambda r: r["tags"] == ["dev", "ops"]),
    ({"neq": ["dev"]}, lambda r: has_tags(r) and r["tags"] != ["dev"]),
    ({"isnull": True}, lambda r: r["tags"] is None),
]


@pytest.mark.parametrize("where,predicate", LIST_CASES,
                         ids=[next(iter(w)) for w, _ in LIST_CASES])
def test_text_array_column_as_a_list_of_strings(repo, items, rows, where,
                                                predicate):
    expected = meaningful(rows, expect(rows, predicate))
    assert find(repo, items, {"tags": where}) == expected


# --- a foreign key's id inside OR / NOT --------------------------------------

def author_of(r):
    return r["author_id"]


def embedded_author(r):
    return r["data"]["author"]["id"]


def test_embedded_author_ids_differ_from_the_column(rows):
    # The check below would pass by accident if they did not.
    assert any(author_of(r) != embedded_author(r) for r in rows)


FK_CASES = [
    ({"author": {"OR": [{"id": {"eq": author_uuid(1)}},
                        {"id": {"eq": author_uuid(2)}}]}},
     lambda r: author_of(r) in (author_uuid(1), author_uuid(2))),
    ({"author": {"NOT": {"id": author_uuid(3)}}},
     lambda r: author_of(r) != author_uuid(3)),
    ({"author": {"AND": [{"id": {"in": [author_uuid(4), author_uuid(5)]}},
                         {"firstName": "Author 4"}]}},
     lambda r: author_of(r) in (author_uuid(4), author_uuid(5))
     and r["data"]["author"]["first_name"] == "Author 4"),
    ({"OR": [{"author": {"id": author_uuid(6)}},
             {"author": {"NOT": {"OR": [{"id": author_uuid(6)},
                                        {"id": {"neq": author_uuid(7)}}]}}}]},
     lambda r: author_of(r) in (author_uuid(6), author_uuid(7))),
]


@pytest.mark.parametrize("where,predicate", FK_CASES,
                         ids=["OR", "NOT", "AND", "nested"])
def test_fk_id_inside_logic_filters_the_column(repo, items, rows, where,
                                               predicate):
    expected = meaningful(rows, expect(rows, predicate))
    assert find(repo, items, where) == expected
    # The same as the non-nested form.
    sql, _ = repo.explain(items, where=where)
    assert "t.\"author_id\"" in sql and "'author'->>'id'" not in sql
