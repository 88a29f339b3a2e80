"""fraiseql_native.fraiseql.FraiseQLRepository against FraiseQL's documented
behaviour of each call (fraiseql.db.FraiseQLRepository: find, find_one,
count, exists, sum, avg, min, max, distinct, pluck, aggregate, batch_exists,
execute_function(_with_context), run, run_in_transaction; the CQRS
paginate), on the real server over the shared sample data. Every expected
value is computed here with psycopg from SQL written in the test, never from
the module's own output.

The async repository underneath is fraiseql_native.aio.AsyncRepository."""
import asyncio
import dataclasses
import datetime
import json
import os
import uuid
from decimal import Decimal

import psycopg
import pytest

from servers import mutation_fixtures

import fraiseql_native
from fraiseql_native.fraiseql import (DatabaseQuery, FraiseQLRepository,
                                      ResponseBytes, convert_placeholders,
                                      normalize_order_by, parse_aggregation)

from fraiseql_native.aio import AsyncRepository

TENANT_1 = "11111111-1111-1111-1111-111111111111"
TENANT_2 = "22222222-2222-2222-2222-222222222222"
MSCHEMA = f"fql_pytest_compat_{os.getpid()}"


@pytest.fixture(scope="module")
def compat_schema(fn, sample):
    """The sample views and the mutation fixtures' v_account."""
    from sample_registry import register_sample
    schema = register_sample(fn, sample)
    schema.add_view(f"{MSCHEMA}.v_account", "Account",
                    {"id": "UUID", "name": "String", "created_by": "String",
                     "tenant_id": "UUID", "current_tenant": "String"},
                    columns={"id": "uuid", "tenant_id": "uuid",
                             "data": "jsonb"})
    return schema


@pytest.fixture(scope="module")
def run_db(pool, compat_schema):
    """run_db(coroutine_function, context=None): a fresh AsyncRepository on
    a fresh event loop, wrapped in FraiseQLRepository(repo, context), passed
    to the coroutine function; returns what it returns."""
    def run(body, context=None):
        async def main():
            return await body(FraiseQLRepository(
                AsyncRepository(pool, compat_schema), context))
        return asyncio.run(main())
    return run


@pytest.fixture(scope="module")
def pg(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def users(sample):
    return f"{sample}.v_user"


def rows(pg, sql, params=()):
    return pg.execute(sql, params).fetchall()


def column(pg, sql, params=()):
    return [r[0] for r in rows(pg, sql, params)]


def data_of(body, field):
    assert isinstance(body, ResponseBytes)
    return json.loads(bytes(body), parse_float=Decimal)["data"][field]


# --------------------------------------------------------------------------
# find


def test_find_returns_the_body_of_filtered_ordered_rows(run_db, pg, users):
    body = run_db(lambda db: db.find(
        users, "people", where={"age": {"gte": 30}}, tenant_id=TENANT_1,
        order_by=[("age", "DESC"), ("id", "ASC")], limit=7, offset=2,
        selection="id age"))
    expected = [{"id": str(i), "age": a} for i, a in rows(pg, f"""
        SELECT id, (data->>'age')::int FROM {users}
        WHERE tenant_id = %s AND (data->>'age')::int >= 30
        ORDER BY (data->>'age')::int DESC, id ASC LIMIT 7 OFFSET 2""",
        (TENANT_1,))]
    assert len(expected) == 7
    assert data_of(body, "people") == expected
    # The body itself, ready for a router.
    assert isinstance(body, bytes) and body.content_type == "application/json"
    assert body.bytes == bytes(body) and type(bytes(body)) is bytes
    assert body.to_json() == {"data": {"people": expected}}


@pytest.mark.parametrize("order_by,sql", [
    ([("age", "DESC"), ("id", "ASC")], "(data->>'age')::int DESC, id ASC"),
    ({"age": "desc", "id": "asc"}, "(data->>'age')::int DESC, id ASC"),
    ([{"age": "DESC"}, {"id": "ASC"}], "(data->>'age')::int DESC, id ASC"),
    ("age DESC, id", "(data->>'age')::int DESC, id ASC"),
    (("email", "DESC"), "data->>'email' DESC"),
    ([("address.city_name", "ASC"), ("id", "DESC")],
     "data#>>'{address,city_name}' ASC, id DESC"),
    ([{"address": {"cityName": "DESC"}}, {"id": "ASC"}],
     "data#>>'{address,city_name}' DESC, id ASC"),
])
def test_order_by_forms(run_db, pg, users, order_by, sql):
    body = run_db(lambda db: db.find(users, "people", order_by=order_by,
                                     tenant_id=TENANT_2, selection="id",
                                     limit=40))
    expected = column(pg, f"SELECT id::text FROM {users} WHERE tenant_id = %s"
                          f" ORDER BY {sql} LIMIT 40", (TENANT_2,))
    assert [r["id"] for r in data_of(body, "people")] == expected


def test_order_by_text_is_parsed_never_pasted():
    for bad in ("age; DROP TABLE x", "age DESC NULLS FIRST", "lower(email)",
                "age DESC,", "'age'"):
        with pytest.raises(ValueError, match="order_by"):
            normalize_order_by(bad)
    assert normalize_order_by("a.b desc, c") == [{"a": {"b": "DESC"}},
                                                 {"c": "ASC"}]


def test_where_input_objects_and_column_filters_are_anded(run_db, pg, users):
    @dataclasses.dataclass
    class UserWhereInput:  # a generated WhereInput: unset fields are None
        age: dict = None
        email: dict = None
        is_active: dict = None

    class Converting:
        def _to_whereinput_dict(self):
            return {"age": {"lt": 40}}

    expected = column(pg, f"""SELECT id::text FROM {users}
        WHERE tenant_id = %s AND (data->>'age')::int < 40
          AND (data->>'is_active')::boolean ORDER BY id""", (TENANT_1,))
    assert expected
    for where in (UserWhereInput(age={"lt": 40}, is_active={"eq": True}),
                  {"age": {"lt": 40}, "is_active": {"eq": True}}):
        body = run_db(lambda db: db.find(users, "u", where=where,
                                         tenant_id=TENANT_1,
                                         order_by={"id": "ASC"},
                                         selection="id"))
        assert [r["id"] for r in data_of(body, "u")] == expected
    body = run_db(lambda db: db.find(users, "u", where=Converting(),
                                     tenant_id=uuid.UUID(TENANT_1),
                                     is_active=True, order_by={"id": "ASC"},
                                     selection="id"))
    assert [r["id"] for r in data_of(body, "u")] == expected


def test_none_column_filter_means_is_null(run_db, pg, users):
    count = run_db(lambda db: db.count(users, nickname=None))
    assert count == column(pg, f"SELECT count(*) FROM {users} "
                               "WHERE data->>'nickname' IS NULL")[0]


def test_group_by_is_refused(run_db, users):
    with pytest.raises(NotImplementedError, match="group_by"):
        run_db(lambda db: db.find(users, "u", group_by=["age"]))


def test_field_name_defaults_to_the_view_name(run_db, pg, users):
    body = run_db(lambda db: db.find(users, limit=1, order_by="id",
                                     selection="id"))
    first = column(pg, f"SELECT id::text FROM {users} ORDER BY id LIMIT 1")
    assert data_of(body, users) == [{"id": first[0]}]


# --------------------------------------------------------------------------
# find / find_one with a resolver's info (graphql-core's real executor)


def _captured_info(query_text, variables=None):
    """Runs query_text through graphql-core 2's executor on a schema whose
    root fields keep their resolver's info; returns {field name: info}."""
    graphql = pytest.importorskip("graphql")
    version = str(getattr(graphql, "__version__", "") or graphql.VERSION[0])
    if not version.startswith("2"):
        pytest.skip("the schema below uses graphql-core 2's classes")
    g = graphql
    captured = {}
    address = g.GraphQLObjectType("Address", fields={
        "cityName": g.GraphQLField(g.GraphQLString),
        "countryCode": g.GraphQLField(g.GraphQLString)})
    user = g.GraphQLObjectType("User", fields={
        "id": g.GraphQLField(g.GraphQLID),
        "firstName": g.GraphQLField(g.GraphQLString),
        "age": g.GraphQLField(g.GraphQLInt),
        "address": g.GraphQLField(address)})

    def keep(name, result):
        def resolve(root, info, **args):
            captured[name] = info
            return result
        return resolve

    query = g.GraphQLObjectType("Query", fields={
        "users": g.GraphQLField(g.GraphQLList(user),
                                resolver=keep("users", [])),
        "user": g.GraphQLField(user, args={"id": g.GraphQLArgument(g.GraphQLID)},
                               resolver=keep("user", None))})
    result = g.graphql(g.GraphQLSchema(query=query), query_text,
                       variable_values=variables)
    assert not result.errors, result.errors
    return captured


def test_find_takes_selection_and_field_name_from_info(run_db, pg, users):
    info = _captured_info("""query ($withAge: Boolean!) {
        people: users { id name: firstName age @include(if: $withAge)
                        ...Place } }
        fragment Place on User { address { cityName } }""",
                          {"withAge": False})["users"]
    body = run_db(lambda db: db.find(users, info=info, limit=4,
                                     order_by=[("id", "ASC")]))
    expected = [{"id": str(i), "name": n,
                 "address": None if c is None and a is None else {"cityName": c}}
                for i, n, a, c in rows(pg, f"""
        SELECT id, data->>'first_name', data->'address',
               data#>>'{{address,city_name}}'
        FROM {users} ORDER BY id LIMIT 4""")]
    # The alias is the response key; @include(if: false) dropped age.
    assert json.loads(bytes(body)) == {"data": {"people": expected}}
    assert list(json.loads(bytes(body))["data"]["people"][0]) == [
        "id", "name", "address"]
    # FraiseQL also finds info in its context under graphql_info.
    again = run_db(lambda db: db.find(users, limit=4, order_by="id"),
                   context={"graphql_info": info})
    assert bytes(again) == bytes(body)


def test_find_one(run_db, pg, users):
    info = _captured_info("{ user(id: 1) { id firstName } }")["user"]
    some_id, name = rows(pg, f"SELECT id, data->>'first_name' FROM {users} "
                             "ORDER BY id OFFSET 5 LIMIT 1")[0]
    body = run_db(lambda db: db.find_one(users, info=info, id=some_id))
    assert isinstance(body, ResponseBytes)
    assert json.loads(bytes(body)) == {"data": {"user": {
        "id": str(some_id), "firstName": name}}}
    # No row: None, as FraiseQL's find_one returns.
    assert run_db(lambda db: db.find_one(
        users, "user", id=uuid.UUID(int=0))) is None
    assert run_db(lambda db: db.find_one(
        users, "user", where={"age": {"gt": 10000}})) is None
    # The same id in another tenant is no row either.
    tenant = column(pg, f"SELECT tenant_id::text FROM {users} WHERE id = %s",
                    (some_id,))[0]
    other = TENANT_2 if tenant == TENANT_1 else TENANT_1
    assert run_db(lambda db: db.find_one(users, "user", id=some_id,
                                         tenant_id=other)) is None


# --------------------------------------------------------------------------
# count, exists, sum, avg, min, max, distinct, pluck


def test_count_and_exists(run_db, pg, users):
    expected = column(pg, f"SELECT count(*) FROM {users} WHERE tenant_id = %s"
                          " AND data->>'first_name' = 'Alice'", (TENANT_2,))[0]
    assert expected > 0
    assert run_db(lambda db: db.count(users, tenant_id=TENANT_2,
                                      where={"first_name": {"eq": "Alice"}})
                  ) == expected
    assert run_db(lambda db: db.count(users)) == column(
        pg, f"SELECT count(*) FROM {users}")[0]
    assert run_db(lambda db: db.exists(users, tenant_id=TENANT_2,
                                       first_name="Alice")) is True
    assert run_db(lambda db: db.exists(users, where={"age": {"gt": 1000}})
                  ) is False


def test_sum_and_avg_are_floats_and_zero_over_no_rows(run_db, pg, users):
    total, mean = rows(pg, f"""SELECT sum((data->>'age')::int),
        avg((data->>'balance')::numeric) FROM {users} WHERE tenant_id = %s""",
                       (TENANT_1,))[0]
    got_sum = run_db(lambda db: db.sum(users, "age", tenant_id=TENANT_1))
    got_avg = run_db(lambda db: db.avg(users, "balance", tenant_id=TENANT_1))
    assert type(got_sum) is float and got_sum == float(total)
    assert type(got_avg) is float and got_avg == float(mean)
    none = {"age": {"gt": 1000}}
    assert run_db(lambda db: db.sum(users, "age", where=none)) == 0.0
    assert run_db(lambda db: db.avg(users, "age", where=none)) == 0.0


def test_min_max_and_distinct(run_db, pg, users):
    low, high, first = rows(pg, f"""SELECT min((data->>'age')::int),
        max((data->>'age')::int), min((data->>'created_at')::timestamptz)
        FROM {users} WHERE tenant_id = %s""", (TENANT_2,))[0]
    assert run_db(lambda db: db.min(users, "age", tenant_id=TENANT_2)) == low
    assert run_db(lambda db: db.max(users, "age", tenant_id=TENANT_2)) == high
    got = run_db(lambda db: db.min(users, "created_at", tenant_id=TENANT_2))
    assert datetime.datetime.fromisoformat(got) == first
    assert run_db(lambda db: db.max(users, "age", where={
        "age": {"gt": 1000}})) is None
    cities = column(pg, f"""SELECT DISTINCT data#>>'{{address,city_name}}' c
        FROM {users} WHERE tenant_id = %s ORDER BY c""", (TENANT_2,))
    assert cities[-1] is None  # sorted, None last
    assert run_db(lambda db: db.distinct(users, "address.city_name",
                                         tenant_id=TENANT_2)) == cities


def test_pluck(run_db, pg, users):
    expected = column(pg, f"""SELECT data->>'email' FROM {users}
        WHERE (data->>'age')::int < 50 ORDER BY data->>'email' DESC
        LIMIT 6 OFFSET 3""")
    assert len(expected) == 6
    assert run_db(lambda db: db.pluck(
        users, "email", where={"age": {"lt": 50}}, order_by=[("email", "DESC")],
        limit=6, offset=3)) == expected
    cities = column(pg, f"""SELECT data#>>'{{address,city_name}}' FROM {users}
        WHERE tenant_id = %s ORDER BY id LIMIT 30""", (TENANT_2,))
    assert None in cities  # users without an address
    assert run_db(lambda db: db.pluck(users, "address.city_name",
                                      tenant_id=TENANT_2, order_by="id",
                                      limit=30)) == cities
    balances = [Decimal(b) for b in column(pg, f"""SELECT data->>'balance'
        FROM {users} ORDER BY id LIMIT 5""")]
    got = run_db(lambda db: db.pluck(users, "balance", order_by="id",
                                     limit=5))
    assert got == balances and all(isinstance(b, Decimal) for b in got
                                   if b != int(b))


# --------------------------------------------------------------------------
# aggregate


def test_aggregate_matches_sql_in_one_call(run_db, pg, users):
    aggregations = {
        "total": "COUNT(*)",
        "with_age": "count(age)",
        "cities": "COUNT(DISTINCT address.city_name)",
        "age_sum": "SUM(age)",
        "balance_avg": "AVG(balance)",
        "youngest": "MIN(age)",
        "oldest": "MAX( age )",
        "helper_sum": "SUM((data->'balance')::numeric)",
        "helper_count": "COUNT(DISTINCT data->'address'->>'country_code')",
        "latest": "MAX(created_at)",
    }
    # Both tenants: tenant 1 has users without an age, tenant 2 users
    # without an address, so COUNT(f) and COUNT(DISTINCT f) meet nulls.
    where = {"first_name": {"neq": "Bob"}}
    got = run_db(lambda db: db.aggregate(users, aggregations, where=where,
                                         is_active=True))
    (total, with_age, cities, age_sum, balance_avg, youngest, oldest,
     balance_sum, countries, latest) = rows(pg, f"""
        SELECT count(*), count(data->>'age'),
               count(DISTINCT data#>>'{{address,city_name}}'),
               sum((data->>'age')::int), avg((data->>'balance')::numeric),
               min((data->>'age')::int), max((data->>'age')::int),
               sum((data->>'balance')::numeric),
               count(DISTINCT data#>>'{{address,country_code}}'),
               max((data->>'created_at')::timestamptz)
        FROM {users} WHERE data->>'first_name' <> 'Bob'
          AND (data->>'is_active')::boolean""")[0]
    assert with_age < total  # some ages are null: COUNT(f) differs
    assert None in column(pg, f"""SELECT DISTINCT data#>>'{{address,city_name}}'
        FROM {users} WHERE (data->>'is_active')::boolean""")
    assert list(got) == list(aggregations)
    assert got["total"] == total and got["with_age"] == with_age
    assert got["cities"] == cities and got["helper_count"] == countries
    assert got["age_sum"] == age_sum
    assert got["balance_avg"] == balance_avg  # exact Decimal
    assert isinstance(got["balance_avg"], Decimal)
    assert got["youngest"] == youngest and got["oldest"] == oldest
    assert got["helper_sum"] == balance_sum
    assert datetime.datetime.fromisoformat(got["latest"]) == latest
    assert run_db(lambda db: db.aggregate(users, {})) == {}
    nothing = run_db(lambda db: db.aggregate(
        users, {"n": "COUNT(*)", "s": "SUM(age)"}, where={"age": {"gt": 999}}))
    assert nothing == {"n": 0, "s": None}


class _Recorder:
    """An AsyncRepository stand-in that records any call reaching it."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        async def call(*args, **kwargs):
            self.calls.append(name)
            raise AssertionError(f"{name} reached the repository")
        return call


@pytest.mark.parametrize("expression", [
    "SUM(age) - 1", "COUNT(*) FILTER (WHERE status = 'x')", "STDDEV(age)",
    "SUM(*)", "age", "SUM(age); DROP TABLE users", "MAX(data->>'a' || 'b')",
    "AVG(DISTINCT age)", "SUM(age))", "", "SUM(pg_sleep(1))",
    "MIN(lower(email))", "COUNT(1)", "SUM(data->>'a')::int",
    "MAX((data->'a')::regclass)", "SUM(\"age\")",
])
def test_aggregate_refuses_anything_outside_the_grammar(users, expression):
    recorder = _Recorder()
    with pytest.raises(ValueError) as error:
        asyncio.run(FraiseQLRepository(recorder).aggregate(
            users, {"ok": "COUNT(*)", "bad": expression}))
    assert repr(expression) in str(error.value)
    assert recorder.calls == []


def test_aggregate_names_an_unknown_field(run_db, users):
    with pytest.raises(ValueError, match=r"'bad': 'SUM\(nope\)'.*nope"):
        run_db(lambda db: db.aggregate(users, {"n": "COUNT(*)",
                                               "bad": "SUM(nope)"}))


def test_parse_aggregation_forms():
    assert parse_aggregation("count(*)") == ("COUNT", None, False)
    assert parse_aggregation("SUM((data->'amount')::numeric)") == (
        "SUM", "amount", False)
    assert parse_aggregation("AVG((data->>'price')::double precision)") == (
        "AVG", "price", False)
    assert parse_aggregation("COUNT(DISTINCT data->'a'->>'b')") == (
        "COUNT", "a.b", True)
    assert parse_aggregation("max(address.city_name)") == (
        "MAX", "address.city_name", False)


# --------------------------------------------------------------------------
# batch_exists


def test_batch_exists(run_db, pg, users):
    present = rows(pg, f"SELECT id, tenant_id::text FROM {users} "
                       "ORDER BY id LIMIT 4")
    missing = [uuid.UUID(int=1), "00000000-0000-0000-0000-000000000002"]
    ids = [present[0][0], str(present[1][0]).upper(), str(present[2][0]),
           present[3][0]] + missing
    got = run_db(lambda db: db.batch_exists(users, ids))
    assert got == {ids[0]: True, ids[1]: True, ids[2]: True, ids[3]: True,
                   missing[0]: False, missing[1]: False}
    # With a column filter: only those of the tenant exist.
    got = run_db(lambda db: db.batch_exists(users, ids, tenant_id=TENANT_1))
    assert got == {i: (k < 4 and present[k][1] == TENANT_1)
                   for k, i in enumerate(ids)}
    assert run_db(lambda db: db.batch_exists(users, [])) == {}
    # By another field.
    emails = column(pg, f"SELECT data->>'email' FROM {users} ORDER BY id "
                        "LIMIT 2")
    got = run_db(lambda db: db.batch_exists(users, emails + ["no@x.y"],
                                            field="email"))
    assert got == {emails[0]: True, emails[1]: True, "no@x.y": False}


# --------------------------------------------------------------------------
# paginate (CQRS)


def test_paginate_forward_through_every_page(run_db, pg, users):
    expected = column(pg, f"""SELECT data->>'email' FROM {users}
        WHERE tenant_id = %s ORDER BY data->>'email' DESC""", (TENANT_1,))

    async def walk(db):
        pages, after = [], None
        while True:
            page = await db.paginate(users, first=31, after=after,
                                     filters={"tenant_id": TENANT_1},
                                     order_by="email", order_direction="DESC",
                                     selection="email")
            pages.append(page)
            if not page["page_info"]["has_next_page"]:
                return pages
            after = page["page_info"]["end_cursor"]
    pages = run_db(walk)
    emails = [e["node"]["email"] for p in pages for e in p["edges"]]
    assert emails == expected
    assert len(pages) == -(-len(expected) // 31)
    for page in pages:
        assert set(page) == {"edges", "page_info", "total_count"}
        assert set(page["page_info"]) == {
            "has_next_page", "has_previous_page", "start_cursor",
            "end_cursor", "total_count"}
        assert page["total_count"] == len(expected)
        assert page["page_info"]["total_count"] == len(expected)
        assert page["page_info"]["start_cursor"] == page["edges"][0]["cursor"]
        assert page["page_info"]["end_cursor"] == page["edges"][-1]["cursor"]


def test_paginate_backward_defaults_and_no_total(run_db, pg, users):
    ordered = column(pg, f"SELECT id::text FROM {users} WHERE data->>"
                         "'first_name' = ANY(%s) ORDER BY id",
                     (["Alice", "Bob"],))
    page = run_db(lambda db: db.paginate(
        users, last=3, filters={"first_name": ["Alice", "Bob"]},
        include_total=False, selection="id"))
    assert [e["node"]["id"] for e in page["edges"]] == ordered[-3:]
    assert page["total_count"] is None
    assert "total_count" not in page["page_info"]
    assert page["page_info"]["has_previous_page"] is True
    earlier = run_db(lambda db: db.paginate(
        users, last=3, before=page["page_info"]["start_cursor"],
        filters={"first_name": ["Alice", "Bob"]}, selection="id"))
    assert [e["node"]["id"] for e in earlier["edges"]] == ordered[-6:-3]
    # first defaults to 20, ordered by id.
    default = run_db(lambda db: db.paginate(users, selection="id"))
    assert [e["node"]["id"] for e in default["edges"]] == column(
        pg, f"SELECT id::text FROM {users} ORDER BY id LIMIT 20")
    with pytest.raises(ValueError, match="both"):
        run_db(lambda db: db.paginate(users, first=1, last=1))
    with pytest.raises(ValueError, match="non-negative"):
        run_db(lambda db: db.paginate(users, first=-1))


# --------------------------------------------------------------------------
# execute_function, execute_function_with_context, transactions, context


@pytest.fixture(scope="module")
def accounts_schema(db_url):
    yield from mutation_fixtures(db_url, MSCHEMA)


def _function_row(db_url, sql, params, tenant=None):
    """The function's row as psycopg returns it (dict_row), in a
    transaction rolled back afterwards."""
    with psycopg.connect(db_url) as conn:
        if tenant:
            conn.execute("SELECT set_config('app.tenant_id', %s, true)",
                         (tenant,))
        row = conn.cursor(row_factory=psycopg.rows.dict_row).execute(
            sql, params).fetchone()
        conn.rollback()
        return row


def _stored(pg, account_id):
    return column(pg, f'SELECT data FROM "{MSCHEMA}".tb_account WHERE id = %s',
                  (account_id,))


def test_execute_function_with_context_returns_the_row(run_db, pg, db_url,
                                                       accounts_schema):
    account_id = str(uuid.uuid4())
    payload = {"id": account_id, "name": "Zoë", "email": "z@example.com",
               "balance": Decimal("100.50")}
    expected = _function_row(
        db_url, f'SELECT * FROM "{MSCHEMA}".create_account(%s, %s, %s::jsonb)',
        (TENANT_1, "alice", json.dumps({**payload, "balance": 100.50})),
        tenant=TENANT_1)
    got = run_db(lambda db: db.execute_function_with_context(
        f"{MSCHEMA}.create_account", [uuid.UUID(TENANT_1), "alice"], payload),
        context={"tenant_id": TENANT_1, "user_id": "alice",
                 "graphql_info": object(), "db": object()})
    assert got == expected
    assert got["entity"]["current_tenant"] == TENANT_1  # the context's SET
    assert _stored(pg, account_id)[0]["created_by"] == "alice"


def test_execute_function(run_db, db_url, accounts_schema):
    missing = str(uuid.uuid4())
    expected = _function_row(
        db_url, f'SELECT * FROM "{MSCHEMA}".rename_account(%s::jsonb)',
        (json.dumps({"id": missing, "name": "x"}),))
    assert expected["status"] == "not_found:account"
    got = run_db(lambda db: db.execute_function(
        f"{MSCHEMA}.rename_account", {"id": missing, "name": "x"}))
    assert got == expected
    assert run_db(lambda db: db.execute_function(f"{MSCHEMA}.no_row",
                                                 {})) == {}
    for bad in ("x; DROP TABLE y", "a.b.c", "fn()", ""):
        with pytest.raises(ValueError, match="Invalid function name"):
            run_db(lambda db: db.execute_function(bad, {}))


def test_a_raising_function_raises_and_writes_nothing(run_db, pg,
                                                     accounts_schema):
    account_id = str(uuid.uuid4())
    with pytest.raises(fraiseql_native.DatabaseError,
                       match="refused the name"):
        run_db(lambda db: db.execute_function_with_context(
            f"{MSCHEMA}.create_account", [TENANT_1, "eve"],
            {"id": account_id, "name": "raise"}),
            context={"tenant_id": TENANT_1})
    assert _stored(pg, account_id) == []


def test_query_timeout_from_the_context_bounds_a_call(run_db, pg,
                                                      accounts_schema):
    account_id = str(uuid.uuid4())
    with pytest.raises(fraiseql_native.QueryTimeoutError):
        run_db(lambda db: db.execute_function_with_context(
            f"{MSCHEMA}.create_account", [TENANT_1, "bob"],
            {"id": account_id, "name": "slow", "sleep": 3}),
            context={"tenant_id": TENANT_1, "query_timeout": 0.5})
    assert _stored(pg, account_id) == []


def test_transaction_commits_or_rolls_back(run_db, pg, accounts_schema):
    kept, dropped = str(uuid.uuid4()), str(uuid.uuid4())
    late = f"{MSCHEMA}.create_account_late"

    async def commit(db):
        async with db.transaction() as tx:
            row = await tx.execute_function(late, {"id": kept, "sleep": 0})
            assert row["status"] == "created"
            # Our own write is visible inside, not outside yet.
            assert await tx.exists(f"{MSCHEMA}.v_account", id=kept)
            assert _stored(pg, kept) == []
    run_db(commit, context={"tenant_id": TENANT_1})
    assert len(_stored(pg, kept)) == 1

    async def fail(db):
        async with db.transaction() as tx:
            await tx.execute_function(late, {"id": dropped, "sleep": 0})
            raise RuntimeError("undo")
    with pytest.raises(RuntimeError, match="undo"):
        run_db(fail)
    assert _stored(pg, dropped) == []

    async def work(tx, account_id, name):
        await tx.execute_function(late, {"id": account_id, "sleep": 0})
        return name
    third = str(uuid.uuid4())
    assert run_db(lambda db: db.run_in_transaction(work, third,
                                                   name="done")) == "done"
    assert len(_stored(pg, third)) == 1


def test_session_settings_of_the_context():
    db = FraiseQLRepository(_Recorder(), {
        "tenant_id": TENANT_1, "user_id": "u", "contact_id": "c",
        "is_super_admin": True, "app.region": "eu", "fraiseql.x": "1",
        "jwt.claims.sub": "s", "role": "reader", "query_timeout": 2,
        "graphql_info": object(), "db": object(), "nothing": None,
        "other": object()})
    assert db._options() == {"timeout": 2.0, "context": {
        "tenant_id": TENANT_1, "user_id": "u", "app.contact_id": "c",
        "app.is_super_admin": True, "app.region": "eu", "fraiseql.x": "1",
        "jwt.claims.sub": "s", "role": "reader"}}
    assert FraiseQLRepository(_Recorder(), {"user": "me"})._options() == {
        "context": {"app.contact_id": "me"}}


# --------------------------------------------------------------------------
# run


def test_run(run_db, pg, users):
    async def probe(db):
        return hasattr(db.get_pool(), "run")
    if not run_db(probe):
        pytest.skip("the core's Repository.run is not in this build")
    expected = rows(pg, f"SELECT data->>'email', (data->>'age')::int FROM "
                        f"{users} WHERE tenant_id = %s ORDER BY id LIMIT 3",
                    (TENANT_2,))
    got = run_db(lambda db: db.run(DatabaseQuery(
        f"SELECT data->>'email' AS email, (data->>'age')::int AS age FROM "
        f"{users} WHERE tenant_id = %(t)s ORDER BY id LIMIT 3",
        {"t": TENANT_2})))
    assert [(r["email"], r["age"]) for r in got] == expected
    got = run_db(lambda db: db.run(
        "SELECT current_setting('app.tenant_id', true) AS t, "
        "current_setting('jwt.claims.sub', true) AS sub, "
        "current_setting('app.contact_id', true) AS contact, "
        "%s::int + 1 AS n", [41]),
        context={"tenant_id": TENANT_1, "jwt.claims.sub": "s1",
                 "contact_id": "c1", "db": object()})
    assert got == [{"t": TENANT_1, "sub": "s1", "contact": "c1", "n": 42}]
    assert run_db(lambda db: db.run("SELECT 1 AS one", fetch=False)) == []


def test_convert_placeholders():
    assert convert_placeholders("SELECT %s, %s, '100%%'", [1, 2]) == (
        "SELECT $1, $2, '100%'", [1, 2])
    assert convert_placeholders("a = %(x)s OR b = %(y)s OR c = %(x)s",
                                {"x": 1, "y": 2}) == (
        "a = $1 OR b = $2 OR c = $1", [1, 2])
    assert convert_placeholders("SELECT '%s'", None) == ("SELECT '%s'", [])
    for sql, params in (("%s %s", [1]), ("%s", [1, 2]), ("%(x)s", [1]),
                        ("%s", {"x": 1}), ("%(y)s", {"x": 1})):
        with pytest.raises((TypeError, KeyError, IndexError)):
            convert_placeholders(sql, params)
    with pytest.raises(ValueError, match="lone %"):
        convert_placeholders("SELECT 5 % %s", [2])


# --------------------------------------------------------------------------
# the response type


def test_response_bytes_serves_itself_over_asgi():
    body = ResponseBytes(b'{"data":{"x":[1]}}')
    sent = []

    async def send(message):
        sent.append(message)
    asyncio.run(body({"type": "http"}, None, send))
    assert sent == [
        {"type": "http.response.start", "status": 200,
         "headers": [(b"content-type", b"application/json"),
                     (b"content-length", b"18")]},
        {"type": "http.response.body", "body": b'{"data":{"x":[1]}}'}]
    assert body.to_json() == {"data": {"x": [1]}}
    assert body == b'{"data":{"x":[1]}}' and "18 bytes" in repr(body)
