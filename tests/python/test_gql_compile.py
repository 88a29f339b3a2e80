"""fraiseql_native.gql: compiled GraphQL documents against graphql-core over
the repository (the resolver path), and the spec's errors.

Every query of QUERIES runs twice on the sample data: compiled (one
Repository.execute) and through graphql-core with resolvers over the
blocking Repository (resolver_path.py). The bodies must be the same bytes.
Some are also checked against rows read with psycopg, an independent path.
"""

import asyncio
import json
import os
from decimal import Decimal

import psycopg
import pytest

from fraiseql_native import aio, gql
from fraiseql_native.gql import compiler
from fraiseql_native.gql.resolver_path import ResolverPath
from sample_registry import sample_mutations
from servers import mutation_fixtures

MSCHEMA = f"fql_pytest_gql_{os.getpid()}"
TENANT = "11111111-1111-1111-1111-111111111111"
USER = "22222222-2222-2222-2222-222222222222"


@pytest.fixture(scope="module")
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def mutation_schema(db_url):
    yield from mutation_fixtures(db_url, MSCHEMA)


@pytest.fixture(scope="module")
def engine(fn, db_url, schema, mutation_schema):
    pool = fn.Pool(db_url, min_size=1, max_size=4, acquire_timeout=10)
    return gql.Engine(aio.AsyncRepository(pool, schema), schema,
                      mutations=sample_mutations(gql, mutation_schema))


@pytest.fixture(scope="module")
def reference(engine):
    """The resolver path (graphql-core + the blocking Repository)."""
    return ResolverPath(engine.api, engine.repo.sync)


def run(loop, engine, query, variables=None, operation_name=None,
        context=None):
    body = loop.run_until_complete(
        engine.execute(query, variables, operation_name, context))
    assert isinstance(body, bytes)
    return body


def by_reference(engine, reference, query, variables=None,
                 operation_name=None):
    compiled = engine.api.compile(query, operation_name)
    return reference.execute(compiled, variables, None)


def first_ids(raw, view, n):
    return sorted(r["id"] for r in raw[view])[:n]


USER_FIELDS = """fragment UserParts on User {
  id firstName email age balance score isActive birthDate createdAt
  tags ipAddress macAddress orgPath availability preferences
  address { cityName postalCode coordinates __typename }
}"""

QUERIES = [
    ("list with orderBy and limit",
     "{ users(orderBy: [{id: ASC}], limit: 5) { id firstName } }", None),
    ("every kind of field through a named fragment",
     "query Q { users(orderBy: {id: DESC}, limit: 7) { ...UserParts } }\n"
     + USER_FIELDS, None),
    ("aliases, also on an object field and twice on one field",
     "{ people: users(orderBy: [{id: ASC}], limit: 3) { key: id id "
     "name: firstName home: address { city: cityName } } }", None),
    ("inline fragments with and without a type condition",
     "{ users(orderBy: [{id: ASC}], limit: 3) { ... on User { id } "
     "... { lastName } } }", None),
    ("__typename at every depth",
     "{ posts(orderBy: [{id: ASC}], limit: 3) { __typename id "
     "author { __typename firstName } } }", None),
    ("several roots, one of them a single object",
     "query Two($id: UUID!) { u: user(id: $id) { id email } "
     "posts(orderBy: [{id: ASC}], limit: 2) { title } "
     "comments(orderBy: [{id: ASC}], limit: 2) { body author { id } } }",
     "FIRST_USER"),
    ("variables in where, orderBy, limit and offset",
     "query V($min: Int, $order: [UserOrderByInput!], $n: Int, $skip: Int) {"
     " users(where: {age: {gte: $min}}, orderBy: $order, limit: $n, "
     "offset: $skip) { id age } }",
     {"min": 40, "order": [{"age": "DESC"}, {"id": "ASC"}], "n": 6,
      "skip": 2}),
    ("a whole where object in a variable, nested AND/OR/NOT",
     "query W($w: UserWhereInput) { users(where: $w, orderBy: [{id: ASC}]) "
     "{ id } }",
     {"w": {"OR": [{"age": {"lt": 25}}, {"address": {"cityName":
            {"startsWith": "Ber"}}}], "NOT": {"isActive": {"eq": False}}}}),
    ("@include and @skip on literals and variables",
     "query D($a: Boolean!, $b: Boolean!) { users(orderBy: [{id: ASC}], "
     "limit: 2) { id firstName @include(if: $a) lastName @skip(if: $b) "
     "email @skip(if: true) age @include(if: true) } }",
     {"a": False, "b": False}),
    ("the same document with the other condition values",
     "query D($a: Boolean!, $b: Boolean!) { users(orderBy: [{id: ASC}], "
     "limit: 2) { id firstName @include(if: $a) lastName @skip(if: $b) "
     "email @skip(if: true) age @include(if: true) } }",
     {"a": True, "b": True}),
    ("a single object that is not there",
     '{ user(id: "00000000-0000-0000-0000-000000000000") { id } }', None),
    ("a connection as the core writes it",
     "{ usersConnection(first: 3, orderBy: [{age: ASC}]) { edges { cursor "
     "node { id age } } pageInfo { hasNextPage hasPreviousPage startCursor "
     "endCursor } totalCount } }", None),
    ("a connection in a client's shape (reshaped)",
     "{ usersConnection(first: 2) { pageInfo { endCursor hasNextPage } "
     "n: totalCount edges { node { id } } __typename } }", None),
    ("an empty result",
     '{ users(where: {firstName: {eq: "nobody at all"}}) { id } }', None),
    ("numbers and strings as the database wrote them",
     "{ users(where: {balance: {gt: 100.50}}, orderBy: [{balance: DESC}], "
     "limit: 5) { balance score preferences } }", None),
    ("a filter on an embedded foreign-key object",
     "query P($author: UUID) { posts(where: {author: {id: {eq: $author}}}, "
     "orderBy: [{id: ASC}]) { id author { id } } }", "FIRST_USER_AS_AUTHOR"),
]


def variables_for(spec, raw):
    first = first_ids(raw, "v_user", 1)[0]
    if spec == "FIRST_USER":
        return {"id": first}
    if spec == "FIRST_USER_AS_AUTHOR":
        return {"author": sorted(r["author"]["id"] for r in raw["v_post"]
                                 if r.get("author"))[0]}
    return spec


@pytest.mark.parametrize("name,query,variables", QUERIES,
                         ids=[q[0] for q in QUERIES])
def test_compiled_bytes_equal_the_resolver_path(loop, engine, reference, raw,
                                                name, query, variables):
    variables = variables_for(variables, raw)
    compiled = run(loop, engine, query, variables)
    expected = by_reference(engine, reference, query, variables)
    assert b'"errors"' not in compiled, compiled
    assert compiled == expected
    assert engine.api.compile(query).kind == "query"


def test_rows_match_psycopg(loop, engine, raw, db_url, sample):
    body = json.loads(run(loop, engine, """
        { users(where: {age: {gte: 30}, email: {endsWith: ".com"}},
                orderBy: [{age: DESC}, {id: ASC}]) { id age email } }"""),
        parse_float=Decimal)
    expected = sorted(
        (r for r in raw["v_user"]
         if r.get("age") is not None and r["age"] >= 30 and
         (r.get("email") or "").endswith(".com")),
        key=lambda r: r["id"])
    expected.sort(key=lambda r: r["age"], reverse=True)
    assert [u["id"] for u in body["data"]["users"]] == \
        [r["id"] for r in expected]
    assert len(expected) > 0 and len(expected) < len(raw["v_user"])


def test_compiled_runs_every_root_in_one_execute(loop, engine, raw):
    calls = []
    original = engine.repo.execute

    def counting(definition, **kwargs):
        calls.append(definition)
        return original(definition, **kwargs)

    engine.repo.execute = counting
    try:
        body = json.loads(run(loop, engine, "{ a: users(limit: 1) { id } "
                              "b: posts(limit: 1) { id } c: comments(limit: "
                              "1) { id } }"))
    finally:
        del engine.repo.execute
    assert list(body["data"]) == ["a", "b", "c"]
    assert len(calls) == 1


def test_documents_are_compiled_once(loop, engine):
    query = "{ users(limit: 1) { id } } # cache probe"
    before = engine.stats()
    for _ in range(3):
        run(loop, engine, query)
    after = engine.stats()
    assert after["compiled"] - before["compiled"] == 1
    assert after["cache_hits"] - before["cache_hits"] == 2


def test_the_cache_is_bounded(fn, schema):
    pool = fn.Pool(os.environ["FRAISEQL_DATABASE_URL"], max_size=1)
    small = gql.Engine(aio.AsyncRepository(pool, schema), schema,
                       cache_size=3)
    for i in range(10):
        small.prepare("{ users(limit: %d) { id } }" % i)
    assert small.stats()["cached"] == 3
    small.prepare("{ users(limit: 9) { id } }")
    assert small.stats()["cache_hits"] == 1


def test_the_cache_is_bounded_in_bytes(fn, schema):
    pool = fn.Pool(os.environ["FRAISEQL_DATABASE_URL"], max_size=1)
    small = gql.Engine(aio.AsyncRepository(pool, schema), schema,
                       cache_bytes=1000)
    padding = "#" + "x" * 300 + "\n"
    for i in range(10):
        small.prepare(padding + "{ users(limit: %d) { id } }" % i)
    stats = small.stats()
    assert stats["cached"] == 3 and stats["cached_bytes"] <= 1000


# -- mutations -----------------------------------------------------------------

CREATE = """mutation Create($input: CreateAccountInput!) {
  createAccount(input: $input) {
    __typename
    ... on CreateAccountSuccess { status message account { id name balance } }
    ... on CreateAccountError { status code message }
  }
}"""


def account_row(db_url, account_id):
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            f'SELECT tenant_id::text, created_by, data::text FROM '
            f'"{MSCHEMA}".tb_account WHERE id = %s', (account_id,)).fetchone()
    return row


def test_mutation_writes_and_answers_with_the_selection(loop, engine, db_url):
    account = "a0000000-0000-0000-0000-000000000001"
    body = json.loads(run(loop, engine, CREATE, {"input": {
        "id": account, "name": "Ann", "email": "ann@example.com",
        "balance": "10.50"}}, context={"tenant_id": TENANT,
                                        "user_id": USER}))
    assert body == {"data": {"createAccount": {
        "__typename": "CreateAccountSuccess", "status": "created",
        "message": "account created",
        "account": {"id": account, "name": "Ann", "balance": "10.50"}}}}
    tenant, created_by, data = account_row(db_url, account)
    assert (tenant, created_by) == (TENANT, USER)
    assert json.loads(data)["current_tenant"] == TENANT


def test_mutation_error_outcome_rolls_back(loop, engine, db_url):
    account = "a0000000-0000-0000-0000-000000000002"
    body = json.loads(run(loop, engine, CREATE, {"input": {
        "id": account, "name": "Bo", "status": "conflict:forced"}},
        context={"tenant_id": TENANT, "user_id": USER}))
    assert body["data"]["createAccount"] == {
        "__typename": "CreateAccountError", "status": "conflict:forced",
        "code": 409, "message": "account created"}
    assert account_row(db_url, account) is None


def test_two_mutation_fields_run_in_order(loop, engine, db_url):
    query = """mutation { a: createAccount(input: {id: "a0000000-0000-0000-0000-000000000003", name: "A"}) { __typename }
                          b: createAccount(input: {id: "a0000000-0000-0000-0000-000000000003", name: "B"}) { __typename ... on CreateAccountError { status } } }"""
    body = json.loads(run(loop, engine, query,
                          context={"tenant_id": TENANT, "user_id": USER}))
    assert body == {"data": {
        "a": {"__typename": "CreateAccountSuccess"},
        "b": {"__typename": "CreateAccountError",
              "status": "conflict:duplicate_id"}}}


def test_raising_mutation_is_a_field_error(loop, engine, db_url):
    account = "a0000000-0000-0000-0000-000000000004"
    body = json.loads(run(loop, engine, CREATE, {"input": {
        "id": account, "name": "raise"}},
        context={"tenant_id": TENANT, "user_id": USER}))
    assert body["data"] is None
    (error,) = body["errors"]
    assert "refused the name" in error["message"]
    assert error["path"] == ["createAccount"]
    assert error["locations"] == [{"line": 2, "column": 3}]
    assert account_row(db_url, account) is None


# -- errors ----------------------------------------------------------------------

def errors_of(loop, engine, query, variables=None, operation_name=None):
    body = json.loads(run(loop, engine, query, variables, operation_name))
    assert "errors" in body, body
    return body


def test_syntax_error(loop, engine):
    body = errors_of(loop, engine, "{ users(limit: 1) { id }")
    assert "data" not in body
    (error,) = body["errors"]
    assert "Syntax Error" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 25}]


def test_unknown_field_names_the_field_and_its_place(loop, engine):
    body = errors_of(loop, engine, "{\n  users(limit: 1) {\n    id\n    "
                                   "nickName\n  }\n}")
    assert "data" not in body
    (error,) = body["errors"]
    assert 'Cannot query field "nickName" on type "User"' in error["message"]
    assert error["locations"] == [{"line": 4, "column": 5}]


def test_invalid_argument_literal(loop, engine):
    body = errors_of(loop, engine, '{ users(limit: "ten") { id } }')
    (error,) = body["errors"]
    assert 'Argument "limit" has invalid value' in error["message"]
    assert error["locations"] == [{"line": 1, "column": 16}]


def test_unknown_operator_is_a_validation_error(loop, engine):
    body = errors_of(loop, engine,
                     '{ users(where: {age: {startsWith: "1"}}) { id } }')
    assert 'startsWith' in body["errors"][0]["message"]


def test_bad_variable_value(loop, engine):
    body = errors_of(loop, engine, "query ($n: Int) { users(limit: $n) "
                                   "{ id } }", {"n": "many"})
    assert "data" not in body
    (error,) = body["errors"]
    assert error["message"].startswith('Variable "$n" got invalid value')
    assert error["locations"] == [{"line": 1, "column": 8}]


def test_missing_required_variable(loop, engine):
    body = errors_of(loop, engine, "query ($id: UUID!) { user(id: $id) "
                                   "{ id } }", {})
    assert 'Variable "$id" of required type "UUID!" was not provided' in \
        body["errors"][0]["message"]


def test_variables_must_be_an_object(loop, engine):
    body = errors_of(loop, engine, "query ($n: Int) { users(limit: $n) "
                                   "{ id } }", ["not", "an", "object"])
    assert "variables" in body["errors"][0]["message"]


def test_value_the_core_refuses_is_a_field_error_with_its_path(loop, engine):
    query = ('{ ok: users(limit: 1) { id }\n'
             '  bad: users(where: {id: {eq: "not-a-uuid"}}) { id } }')
    body = errors_of(loop, engine, query)
    assert body["data"] is None
    (error,) = body["errors"]
    assert "where.id.eq" in error["message"]
    assert error["path"] == ["bad"]
    assert error["locations"] == [{"line": 2, "column": 3}]


def test_negative_limit_is_a_field_error(loop, engine):
    body = errors_of(loop, engine, "{ users(limit: -1) { id } }")
    assert body["errors"][0]["path"] == ["users"]
    assert "limit" in body["errors"][0]["message"]


def test_operation_name(loop, engine):
    doc = "query A { users(limit: 1) { id } } query B { posts(limit: 1) " \
          "{ id } }"
    assert list(json.loads(run(loop, engine, doc, None, "B"))["data"]) == \
        ["posts"]
    assert "Must provide operation name" in \
        errors_of(loop, engine, doc)["errors"][0]["message"]
    assert 'Unknown operation named "C"' in \
        errors_of(loop, engine, doc, None, "C")["errors"][0]["message"]


def test_conflicting_fields_under_one_key(loop, engine):
    body = errors_of(loop, engine, "{ users(limit: 1) { x: id x: email } }")
    assert 'Fields "x" conflict' in body["errors"][0]["message"]
    assert len(body["errors"][0]["locations"]) == 2


def test_subscriptions_are_refused(loop, engine):
    body = errors_of(loop, engine, "subscription { users { id } }")
    assert body["errors"]


@pytest.mark.parametrize("query", [None, "", "   ", 42])
def test_no_document(loop, engine, query):
    assert errors_of(loop, engine, query)["errors"][0]["message"]


# -- what graphql-core runs ------------------------------------------------------

def test_introspection_falls_back_to_graphql_core(loop, engine):
    before = engine.stats()["fallbacks"]
    body = json.loads(run(loop, engine, "{ __schema { queryType { name } } "
                                        "__type(name: \"User\") { name } }"))
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}},
                             "__type": {"name": "User"}}}
    assert engine.stats()["fallbacks"] == before + 1


def test_root_typename_gives_the_resolver_paths_bytes(loop, engine,
                                                     reference):
    query = "{ __typename users(orderBy: [{id: ASC}], limit: 2) { id } }"
    assert run(loop, engine, query) == by_reference(engine, reference, query)


def test_a_connection_with_two_edges_keys_falls_back(loop, engine, reference):
    query = ("{ usersConnection(first: 2) { a: edges { node { id } } "
             "b: edges { cursor } } }")
    assert engine.api.compile(query).kind == "fallback"
    before = engine.stats()["fallbacks"]
    body = run(loop, engine, query)
    assert engine.stats()["fallbacks"] == before + 1
    assert json.loads(body)["data"]["usersConnection"]["a"][0]["node"]["id"]


# -- hostile documents -----------------------------------------------------------

def test_document_over_the_size_limit(loop, engine):
    query = "{ users(limit: 1) { id } }" + " " * (compiler.MAX_DOCUMENT_BYTES)
    assert "bytes" in errors_of(loop, engine, query)["errors"][0]["message"]


def test_fragments_that_multiply_stop_at_the_field_limit(loop, engine):
    parts = ["fragment F0 on User { id firstName }"]
    for i in range(1, 25):
        parts.append(f"fragment F{i} on User {{ ...F{i - 1} ...F{i - 1} }}")
    query = "{ users(limit: 1) { ...F24 } }\n" + "\n".join(parts)
    body = errors_of(loop, engine, query)
    assert "more than" in body["errors"][0]["message"]


def test_deep_nesting_is_an_error_not_a_crash(loop, engine):
    query = "{ users(limit: 1) " + "{ address " * 3000 + "}" * 3001 + " }"
    assert errors_of(loop, engine, query)["errors"]
    query = "{ users(where: " + "{AND: [" * 3000 + "]}" * 3000 + ") { id } }"
    assert errors_of(loop, engine, query)["errors"]


@pytest.mark.parametrize("variables,reason", [
    ({"n": "10"}, "Int cannot represent non-integer value: \"10\""),
    ({"n": 1.5}, "Int cannot represent non-integer value: 1.5"),
    ({"n": 2 ** 31}, "non 32-bit signed integer"),
    ({"n": True}, "Int cannot represent non-integer value: true"),
])
def test_int_variables_follow_the_spec(loop, engine, variables, reason):
    body = errors_of(loop, engine, "query ($n: Int) { users(limit: $n) "
                                   "{ id } }", variables)
    assert reason in body["errors"][0]["message"]


def test_whole_float_is_an_int(loop, engine):
    body = json.loads(run(loop, engine, "query ($n: Int) { users(limit: $n) "
                                        "{ id } }", {"n": 2.0}))
    assert len(body["data"]["users"]) == 2


@pytest.mark.parametrize("variables,reason", [
    ({"w": {"age": {"gte": 1}, "nickName": {"eq": "x"}}},
     'Field "nickName" is not defined by type "UserWhereInput"'),
    ({"w": {"age": {"gte": "old"}}}, 'at "w.age.gte"; Int cannot'),
    ({"w": {"OR": [{"age": {"eq": 1}}, 7]}},
     'at "w.OR[1]"; Expected type "UserWhereInput" to be an object'),
    ({"w": "age > 3"}, 'Expected type "UserWhereInput" to be an object'),
])
def test_input_object_variables_name_the_bad_place(loop, engine, variables,
                                                   reason):
    body = errors_of(loop, engine, "query ($w: UserWhereInput) { users("
                                   "where: $w) { id } }", variables)
    assert reason in body["errors"][0]["message"], body


def test_enum_variable(loop, engine):
    body = errors_of(loop, engine, "query ($o: [UserOrderByInput!]) { users("
                                   "orderBy: $o, limit: 1) { id } }",
                     {"o": [{"age": "UPWARDS"}]})
    assert 'Value "UPWARDS" does not exist in "OrderDirection" enum' in \
        body["errors"][0]["message"]


def test_deeply_nested_variable_is_an_error(loop, engine):
    where = {}
    for _ in range(5000):
        where = {"NOT": where}
    body = errors_of(loop, engine, "query ($w: UserWhereInput) { users("
                                   "where: $w) { id } }", {"w": where})
    assert "nests too deeply" in body["errors"][0]["message"]


def test_stream_gives_the_bytes_of_execute(loop, engine):
    query = "{ users(orderBy: [{id: ASC}]) { id firstName address { " \
            "cityName } } posts(orderBy: [{id: ASC}]) { id title } }"
    prepared = engine.prepare(query)
    assert prepared.may_be_large

    async def pieces():
        return [p async for p in engine.stream(prepared)]
    streamed = loop.run_until_complete(pieces())
    assert b"".join(streamed) == run(loop, engine, query)


def test_mutation_through_graphql_core_gives_the_compiled_shape(
        loop, engine, reference, db_url):
    """The resolver path (the reference) calls Repository.mutate without a
    selection and picks the fields by name; the union resolves from the
    written outcome (only errors carry a code)."""
    account = "a0000000-0000-0000-0000-000000000005"
    compiled = engine.api.compile(CREATE)
    body = json.loads(reference.execute(compiled, compiled.coerce({"input": {
        "id": account, "name": "Cy", "balance": "1.10"}}),
        {"tenant_id": TENANT, "user_id": USER}))
    assert body == {"data": {"createAccount": {
        "__typename": "CreateAccountSuccess", "status": "created",
        "message": "account created",
        "account": {"id": account, "name": "Cy", "balance": "1.10"}}}}
    assert account_row(db_url, account)[0] == TENANT


# -- review findings (each failed before its fix) ----------------------------------

def test_mutation_selecting_one_outcome_only(loop, engine, db_url):
    account = "a0000000-0000-0000-0000-000000000007"
    query = ('mutation { createAccount(input: {id: "%s", name: "Ed", '
             'balance: 2.50}) { ... on CreateAccountSuccess { account { '
             'balance } } } }' % account)
    body = json.loads(run(loop, engine, query,
                          context={"tenant_id": TENANT, "user_id": USER}))
    assert body == {"data": {"createAccount": {"account": {
        "balance": 2.50}}}}, body
    assert '"balance": 2.50' in account_row(db_url, account)[2]
    query = ('mutation { createAccount(input: {id: "%s", name: "Ed"}) { '
             '... on CreateAccountSuccess { status } } }' % account)
    body = json.loads(run(loop, engine, query,
                          context={"tenant_id": TENANT, "user_id": USER}))
    assert body == {"data": {"createAccount": {}}}, body


@pytest.mark.parametrize("query,variables", [
    ("{ users(limit: 1) @skip(if: true) { id } }", None),
    ("query ($s: Boolean!) { users(limit: 1) @skip(if: $s) { id } }",
     {"s": True}),
])
def test_every_root_skipped_is_empty_data(loop, engine, query, variables):
    assert run(loop, engine, query, variables) == b'{"data":{}}'


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 1e400])
def test_non_finite_int_variable_is_an_error(loop, engine, value):
    body = errors_of(loop, engine, "query ($n: Int) { users(limit: $n) "
                                   "{ id } }", {"n": value})
    assert "Int cannot represent" in body["errors"][0]["message"]


def test_json_text_refuses_nan_and_infinity():
    from fraiseql_native.gql.json_text import loads
    for text in ('{"n": NaN}', '{"n": Infinity}', '[-Infinity]'):
        with pytest.raises(ValueError):
            loads(text)


def test_error_on_a_nullable_root_keeps_the_others(loop, engine, reference):
    query = ('{ user(id: "not-a-uuid") { id }\n'
             '  users(limit: 1, orderBy: [{id: ASC}]) { id } }')
    body = json.loads(run(loop, engine, query))
    assert body["data"]["user"] is None
    assert len(body["data"]["users"]) == 1
    (error,) = body["errors"]
    assert error["path"] == ["user"]
    assert error["locations"] == [{"line": 1, "column": 3}]
    assert run(loop, engine, query) == by_reference(engine, reference, query)


def test_single_value_where_a_list_is_expected(loop, engine, reference, raw):
    age = raw["v_user"][0]["age"]
    query = ("{ users(where: {age: {in: %d}}, orderBy: [{id: ASC}]) "
             "{ id age } }" % age)
    body = json.loads(run(loop, engine, query))
    assert body["data"]["users"] and \
        all(u["age"] == age for u in body["data"]["users"])
    assert run(loop, engine, query) == by_reference(engine, reference, query)


def test_nested_conflicts_are_refused_whatever_the_directives(loop, engine):
    for query, variables in [
            ("query ($a: Boolean!) { users(limit: 1) { x: id "
             "x: firstName @include(if: $a) } }", {"a": False}),
            ("{ users(limit: 1) { x: id x: firstName @include(if: false) "
             "} }", None),
            ("{ users(limit: 1) { address { c: cityName c: street } } }",
             None)]:
        body = errors_of(loop, engine, query, variables)
        assert 'Fields "' in body["errors"][0]["message"], body


def test_root_typename_is_compiled(loop, engine):
    query = ("{ __typename users(orderBy: [{id: ASC}], limit: 2) { id } "
             "t2: __typename }")
    assert engine.api.compile(query).kind == "query"
    body = json.loads(run(loop, engine, query))
    assert list(body["data"]) == ["__typename", "users", "t2"]
    assert body["data"]["__typename"] == body["data"]["t2"] == "Query"


def test_explicit_null_overrides_a_default(loop, engine):
    body = json.loads(run(loop, engine, "query ($n: Int = 1) { users(limit: "
                                        "$n, orderBy: [{id: ASC}]) { id } }",
                          {"n": None}))
    assert len(body["data"]["users"]) > 1
    body = errors_of(loop, engine, "query ($n: Int! = 1) { users(limit: $n) "
                                   "{ id } }", {"n": None})
    assert 'Variable "$n"' in body["errors"][0]["message"]


def test_mutation_through_graphql_core_keeps_number_spelling(
        loop, engine, reference, db_url):
    account = "a0000000-0000-0000-0000-000000000008"
    compiled = engine.api.compile(
        'mutation { createAccount(input: {id: "%s", name: "Flo", '
        'balance: 3.50}) { __typename } }' % account)
    reference.execute(compiled, {}, {"tenant_id": TENANT, "user_id": USER})
    assert '"balance": 3.50' in account_row(db_url, account)[2]


def test_root_typename_in_a_mutation(loop, engine):
    query = ('mutation { t: __typename createAccount(input: {id: '
             '"a0000000-0000-0000-0000-000000000009", name: "Gus"}) '
             '{ __typename } }')
    body = json.loads(run(loop, engine, query,
                          context={"tenant_id": TENANT, "user_id": USER}))
    assert body == {"data": {"t": "Mutation", "createAccount": {
        "__typename": "CreateAccountSuccess"}}}


def test_a_long_document_compiles_off_the_event_loop(loop, engine):
    """While a long document compiles, other tasks on the loop run. The
    document fails validation, so nothing else in its request awaits: had
    it compiled on the loop, the ticker would not tick before it ends."""
    from fraiseql_native.gql.engine import OFF_LOOP_DOCUMENT_BYTES
    fields = " ".join(f"f{i}: id" for i in range(OFF_LOOP_DOCUMENT_BYTES))
    query = "{ users(limit: 1) { %s nope } }" % fields
    assert len(query) > OFF_LOOP_DOCUMENT_BYTES

    async def main():
        ticks = 0
        done = False

        async def ticker():
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        start = ticks
        body = await engine.execute(query)
        seen = ticks - start
        done = True
        await task
        return body, seen

    body, seen = loop.run_until_complete(main())
    assert b'Cannot query field \\"nope\\"' in body
    assert seen > 0


def test_errors_the_core_writes_survive_reshaping_and_recovery(
        loop, fn, db_url, sample, mutation_schema):
    """A row that is not valid JSON makes only its field null, with an error
    the core writes into the body; answers the engine rebuilds (a root
    __typename, a connection in a client's shape, a nullable root that
    failed) keep that error."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'''
            CREATE VIEW "{mutation_schema}".v_cut AS
            SELECT id, CASE WHEN id = (SELECT id FROM "{sample}".tb_user
                                       ORDER BY id LIMIT 1)
                            THEN left(data::text, -1) ELSE data::text END
                       AS data
            FROM "{sample}".tb_user''')
    schema = fn.Schema()
    schema.add_view(f"{mutation_schema}.v_cut", "Cut",
                    {"id": "UUID", "first_name": "String"},
                    columns={"id": "uuid", "data": "text"})
    pool = fn.Pool(db_url, max_size=1)
    cut = gql.Engine(aio.AsyncRepository(pool, schema), schema)
    for query in (
            "{ __typename cuts(orderBy: [{id: ASC}], limit: 1) { id } }",
            "{ cutsConnection(first: 1) { edges { node { id } } } }",
            '{ cut(id: "nope") { id } cuts(orderBy: [{id: ASC}], limit: 1) '
            '{ id } }'):
        body = json.loads(loop.run_until_complete(cut.execute(query)))
        messages = [e["message"] for e in body.get("errors", [])]
        assert any("row is not valid JSON" in m for m in messages), body
