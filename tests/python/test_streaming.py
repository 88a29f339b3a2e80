"""Streamed bodies, the response size cap, and multi-root requests, against
a real server. The 500,000-row test runs in a fresh interpreter so that its
peak memory is its own."""
import asyncio
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import psycopg
import pytest

from servers import wait_until

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = f"fql_pytest_stream_{os.getpid()}"
BIG_ROWS = 500_000


@pytest.fixture(scope="module")
def sschema(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        # About 200 bytes of JSON per row: 500,000 rows make a ~100 MB body.
        conn.execute(f'''
            CREATE TABLE "{SCHEMA}".tb_big AS
            SELECT i AS id, jsonb_build_object(
                     'id', i, 'name', 'row ' || i,
                     'note', repeat(md5(i::text), 4)) AS data
              FROM generate_series(1, {BIG_ROWS}) AS i''')
        conn.execute(f'CREATE VIEW "{SCHEMA}".v_big AS '
                     f'SELECT id, data FROM "{SCHEMA}".tb_big')
        # Which transaction (and snapshot time) a statement ran in.
        conn.execute(f'''
            CREATE VIEW "{SCHEMA}".v_tx AS
            SELECT 1 AS id, jsonb_build_object(
                     'xid', txid_current()::text,
                     'at', transaction_timestamp()) AS data''')
    yield SCHEMA
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


def big_schema(fn):
    schema = fn.Schema()
    schema.add_view(f"{SCHEMA}.v_big", "Big",
                    {"id": "Int", "name": "String", "note": "String"},
                    columns={"id": "int4", "data": "jsonb"})
    schema.add_view(f"{SCHEMA}.v_tx", "Tx", {"xid": "String", "at": "String"},
                    columns={"id": "int4", "data": "jsonb"})
    return schema


@pytest.fixture(scope="module")
def srepo(fn, pool, sschema):
    return fn.Repository(pool, big_schema(fn))


# Runs in a child interpreter: the peak RSS growth of one big call.
CHILD = textwrap.dedent('''
    import json, os, sys
    import fraiseql_native as fn

    def peak_kb():
        # VmHWM is this process image's own peak. (ru_maxrss is not: Linux
        # carries the parent's peak across fork and exec, so a big pytest
        # process hid the growth being measured.)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])

    mode, schema_name, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = fn.Schema()
    s.add_view(f"{schema_name}.v_big", "Big",
               {"id": "Int", "name": "String", "note": "String"},
               columns={"id": "int4", "data": "jsonb"})
    pool = fn.Pool(os.environ["FRAISEQL_DATABASE_URL"], max_size=1)
    repo = fn.Repository(pool, s, chunk_rows=256)
    args = dict(field="big", selection="id name note",
                order_by=[{"id": "ASC"}])
    repo.find(f"{schema_name}.v_big", limit=1000, **args)  # warm up
    result = {}
    if mode == "landed":
        # The first big call: built, then copied into the bytes returned.
        # It teaches the repository the size of the shape's body.
        before = peak_kb()
        body = repo.find(f"{schema_name}.v_big", **args)
        result["first_growth_kb"] = peak_kb() - before
        del body
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # VmHWM starts again from the current RSS
    before = peak_kb()
    total, count, first, last = 0, 0, b"", b""
    if mode == "stream":
        for piece in repo.find_stream(f"{schema_name}.v_big", **args):
            total += len(piece)
            count += piece.count(b'{"id":')
            first = first or piece[:40]
            last = piece[-40:]
    else:
        body = repo.find(f"{schema_name}.v_big", **args)
        total, count = len(body), body.count(b'{"id":')
        first, last = body[:40], body[-40:]
        del body
    after = peak_kb()
    result.update({"growth_kb": after - before, "bytes": total,
                   "rows": count, "first": first.decode(),
                   "last": last.decode()})
    print(json.dumps(result))
''')


def run_child(mode, db_url):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, SCHEMA, str(BIG_ROWS)],
        check=True, capture_output=True, text=True, timeout=300,
        env={**os.environ, "FRAISEQL_DATABASE_URL": db_url,
             "PYTHONPATH": str(ROOT / "bazel-bin" / "pybind")})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_500k_rows_stream_in_bounded_memory(sschema, db_url):
    streamed = run_child("stream", db_url)
    assert streamed["rows"] == BIG_ROWS
    assert streamed["bytes"] > 64 * 1024 * 1024  # the result is bigger than the bound
    assert streamed["first"].startswith('{"data":{"big":[{"id":1,"name":"row 1"')
    assert streamed["last"].endswith(f'"}}]}}}}')
    print("streamed:", streamed)
    assert streamed["growth_kb"] < 64 * 1024, streamed
    # The control: the same call buffered grows by the body, so the
    # measurement above can tell.
    buffered = run_child("buffer", db_url)
    assert buffered["bytes"] == streamed["bytes"]
    print("buffered:", buffered)
    assert buffered["growth_kb"] > 64 * 1024, buffered


def test_a_big_body_lands_in_the_bytes_find_returns(sschema, db_url):
    """Once a shape's body size is known, find() writes a big body straight
    into the bytes object it returns: the call's peak memory grows by about
    the body, where the first call's (a body built, then copied into the
    bytes) grows by about twice that."""
    landed = run_child("landed", db_url)
    print("landed:", landed)
    assert landed["rows"] == BIG_ROWS
    body_kb = landed["bytes"] // 1024
    assert landed["growth_kb"] < 1.3 * body_kb, landed
    assert landed["first_growth_kb"] > 1.7 * body_kb, landed


def big_rows_body(db_url, upto):
    """find(v_big, field="big", selection="id name", ids up to `upto`,
    ordered by id), written here from the rows psycopg reads."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            f"""SELECT (data->>'id')::int, data->>'name' FROM "{SCHEMA}".tb_big
                WHERE id <= %s ORDER BY id""", (upto,)).fetchall()
    items = ",".join(f'{{"id":{i},"name":{json.dumps(name)}}}'
                     for i, name in rows)
    return ('{"data":{"big":[' + items + "]}}").encode()


def test_landed_bodies_are_the_bytes_of_copied_ones(fn, pool, sschema,
                                                    db_url):
    """The first call of a shape returns a copied body, the next ones a
    landed body: the same bytes, from the blocking and the asyncio API, one
    at a time and side by side."""
    from fraiseql_native import aio
    repo = fn.Repository(pool, big_schema(fn))
    args = dict(field="big", selection="id name", order_by=[{"id": "ASC"}])

    def where(upto):
        return {"id": {"lte": upto}}
    expected = {n: big_rows_body(db_url, n) for n in (20_000, 20_001)}
    assert len(expected[20_000]) > 512 * 1024  # more than one landed piece
    for upto in (20_000, 20_001, 20_000):
        body = repo.find(f"{SCHEMA}.v_big", where=where(upto), **args)
        assert type(body) is bytes
        assert body == expected[upto]

    async def both():
        arepo = aio.AsyncRepository(pool, big_schema(fn))
        first = await arepo.find(f"{SCHEMA}.v_big", where=where(20_000), **args)
        return first, await asyncio.gather(
            *(arepo.find(f"{SCHEMA}.v_big", where=where(n), limit=n, **args)
              for n in (20_000, 20_001)))
    first, together = asyncio.run(both())
    assert first == expected[20_000]
    assert together == [expected[20_000], expected[20_001]]


def test_a_field_failing_late_in_a_landed_body_is_null(fn, pool, sschema,
                                                       db_url):
    """A row that is not JSON after most of a landed body was written: the
    field is null with its error, as when the body is copied."""
    view = f"{SCHEMA}.v_late_bad"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"""CREATE OR REPLACE VIEW "{SCHEMA}".v_late_bad AS
            SELECT id, CASE WHEN id = 20001 THEN 'not json'
                       ELSE data::text END AS data
              FROM "{SCHEMA}".tb_big""")
    schema = fn.Schema()
    schema.add_view(view, "Big", {"id": "Int", "name": "String"},
                    columns={"id": "int4", "data": "text"})
    repo = fn.Repository(pool, schema)
    args = dict(field="big", selection="id name", order_by=[{"id": "ASC"}])
    good = repo.find(view, where={"id": {"lte": 20_000}}, **args)
    assert good == big_rows_body(db_url, 20_000)
    bad = json.loads(repo.find(view, where={"id": {"lte": 20_001}}, **args))
    assert bad["data"] == {"big": None}
    assert bad["errors"][0]["path"] == ["big"]
    assert "invalid row from the database" in bad["errors"][0]["message"]
    assert repo.find(view, where={"id": {"lte": 20_000}}, **args) == good
    assert pool.stats()["in_use"] == 0


def test_pieces_join_to_the_buffered_body(repo, users, sample):
    args = dict(field="people", where={"age": {"gte": 30}},
                order_by=[{"id": "ASC"}],
                selection="id firstName home: address { cityName __typename }")
    body = repo.find(users, **args)
    pieces = list(repo.find_stream(users, chunk_bytes=512, **args))
    assert len(pieces) > 3
    assert b"".join(pieces) == body
    # execute_stream: several roots, one body.
    import query_pb2
    q = query_pb2.QueryDefinition()
    a = q.roots.add(response_key="a", view=users, is_list=True, limit=3,
                    order_by_json='[{"id": "ASC"}]', has_selection=True)
    a.selection.add(response_key="id", field_name="id")
    q.roots.add(response_key="n", view=users, operation=q.roots[0].COUNT)
    joined = b"".join(repo.execute_stream(q.SerializeToString(), chunk_bytes=8))
    assert joined == repo.execute(q.SerializeToString())
    assert list(json.loads(joined)["data"]) == ["a", "n"]


def test_closing_a_stream_cancels_the_query(fn, srepo, pool, db_url):
    it = srepo.find_stream(f"{SCHEMA}.v_big", field="big", selection="id note",
                           chunk_bytes=4096)
    first = next(it)
    assert first.startswith(b'{"data":{"big":[')
    it.close()
    with pytest.raises(StopIteration):
        next(it)

    def idle():
        with psycopg.connect(db_url, autocommit=True) as conn:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                "AND query LIKE %s", (f'%{SCHEMA}"."v_big"%',)).fetchone()[0]
        return busy == 0 and pool.stats()["in_use"] == 0
    wait_until(idle, "the streamed query to end on the server")
    # The pool still serves.
    assert json.loads(srepo.find(f"{SCHEMA}.v_big", limit=1,
                                 order_by=[{"id": "ASC"}], selection="id"))["data"]["v_big"] == [{"id": 1}]


def test_response_cap_raises_and_leaves_the_pool_healthy(fn, pool, sschema):
    capped = fn.Repository(pool, big_schema(fn), max_response_bytes=100_000)
    with pytest.raises(fn.ResponseTooLargeError,
                       match=r"max_response_bytes \(100000 bytes\) at root "
                             r"field 'v_big' after \d+ rows"):
        capped.find(f"{SCHEMA}.v_big", selection="id note")
    # Under the cap, the same repository answers.
    small = json.loads(capped.find(f"{SCHEMA}.v_big", limit=5,
                                   order_by=[{"id": "ASC"}], selection="id"))
    assert [r["id"] for r in small["data"]["v_big"]] == [1, 2, 3, 4, 5]
    assert pool.stats()["in_use"] == 0


def test_response_cap_in_a_stream_ends_the_body_with_an_error(fn, pool,
                                                              sschema):
    capped = fn.Repository(pool, big_schema(fn), max_response_bytes=100_000)
    pieces = list(capped.find_stream(f"{SCHEMA}.v_big", selection="id",
                                     order_by=[{"id": "ASC"}],
                                     chunk_bytes=10_000))
    body = json.loads(b"".join(pieces))
    rows = body["data"]["v_big"]
    assert rows[:3] == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert len(rows) < BIG_ROWS
    assert body["errors"][0]["path"] == ["v_big"]
    assert "max_response_bytes" in body["errors"][0]["message"]
    # Before any byte left, the cap raises instead.
    with pytest.raises(fn.ResponseTooLargeError):
        list(capped.find_stream(f"{SCHEMA}.v_big", selection="id note",
                                chunk_bytes=10_000_000))


def test_roots_of_one_request_share_one_transaction(srepo):
    import query_pb2
    q = query_pb2.QueryDefinition()
    for key in ("first", "second", "third"):
        q.roots.add(response_key=key, view=f"{SCHEMA}.v_tx", is_list=False)
    data = json.loads(srepo.execute(q.SerializeToString()))["data"]
    # One round trip, one transaction: the same transaction id thrice.
    assert data["first"]["xid"] == data["second"]["xid"] == data["third"]["xid"]
    # Separate calls are separate transactions.
    one = json.loads(srepo.find_one(f"{SCHEMA}.v_tx"))["data"]["v_tx"]["xid"]
    two = json.loads(srepo.find_one(f"{SCHEMA}.v_tx"))["data"]["v_tx"]["xid"]
    assert one != two


def test_a_bad_row_fails_only_its_root(fn, pool, db_url):
    name = f"fql_pytest_badrow_{os.getpid()}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{name}"')
        # A text column: the server does not check it is JSON.
        conn.execute(f'CREATE TABLE "{name}".v_text AS '
                     "SELECT 1 AS id, 'not json' AS data "
                     "UNION ALL SELECT 2, '{\"a\": 1}'")
    try:
        schema = fn.Schema()
        schema.add_view(f"{name}.v_text", "T", {"id": "Int", "a": "Int"},
                        columns={"id": "int4", "data": "text"})
        r = fn.Repository(pool, schema)
        import query_pb2
        q = query_pb2.QueryDefinition()
        q.roots.add(response_key="bad", view=f"{name}.v_text", is_list=True,
                    order_by_json='[{"id": "ASC"}]')
        q.roots.add(response_key="good", view=f"{name}.v_text", is_list=True,
                    where_json='{"id": {"eq": 2}}')
        body = json.loads(r.execute(q.SerializeToString()))
        assert body["data"] == {"bad": None, "good": [{"a": 1}]}
        assert body["errors"][0]["path"] == ["bad"]
        assert "invalid row from the database" in body["errors"][0]["message"]
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
