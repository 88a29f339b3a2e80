"""The GraphQL app (examples/graphql_app) over HTTP: a live uvicorn server on
a free port, driven with httpx. Queries, variables, fragments, aliases,
directives, connections, mutations and their rollbacks, every request and
GraphQL error, the tenant header reaching PostgreSQL, GET, a large streamed
list, introspection and /schema.graphql.

The server serves the session's sample schema (conftest `sample`) with the
default registry, and the mutation fixtures (tests/fixtures/mutations.sql)
loaded into a scratch schema of this module (FRAISEQL_MUTATIONS). Every
expected value comes from psycopg with SQL written here (or conftest's `raw`
rows), never from the app."""
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import graphql
import httpx
import psycopg
import pytest

from servers import mutation_fixtures

ROOT = pathlib.Path(__file__).resolve().parents[2]
ACCOUNTS = f"fql_pytest_gqlhttp_{os.getpid()}"
TENANT = "11111111-1111-1111-1111-111111111111"
START_TIMEOUT = 60.0
# Shared by the server and the reference path, so that cursors compare.
CURSOR_SECRET = "test_gql_http cursor secret, 32 bytes or more"

# FRAISEQL_MUTATIONS for the server: the sample's createAccount over the
# fixtures in this module's scratch schema.
CONFIG_MODULE = f'''
from fraiseql_native import gql
from sample_registry import sample_mutations

MUTATIONS = sample_mutations(gql, "{ACCOUNTS}")
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def accounts(db_url):
    yield from mutation_fixtures(db_url, ACCOUNTS)


@pytest.fixture(scope="module")
def server(db_url, sample, accounts, tmp_path_factory):
    """The app under uvicorn on a free port; its base URL. The server's
    output goes to a log shown when it fails to start."""
    config_dir = tmp_path_factory.mktemp("gql_http")
    (config_dir / "gql_http_config.py").write_text(CONFIG_MODULE)
    log_path = config_dir / "server.log"
    env = dict(os.environ,
               PYTHONPATH=os.pathsep.join([
                   str(ROOT / "bazel-bin" / "pybind"),
                   str(ROOT / "tests" / "fixtures"), str(ROOT),
                   str(config_dir)]),
               FRAISEQL_DATABASE_URL=db_url, FRAISEQL_SCHEMA=sample,
               FRAISEQL_MUTATIONS="gql_http_config:MUTATIONS",
               FRAISEQL_POOL_SIZE="4", FRAISEQL_CURSOR_SECRET=CURSOR_SECRET)
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory",
             "examples.graphql_app.app:create_app", "--host", "127.0.0.1",
             "--port", str(port), "--loop", "uvloop", "--http", "httptools",
             "--no-access-log"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the app exited with {proc.returncode} before "
                            f"answering /health:\n{log_path.read_text()}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not answer {url}/health within "
                            f"{START_TIMEOUT} s:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


# The resolver path (graphql-core over the blocking Repository), set by the
# autouse fixture below: every successful query posted here is also run
# through it, and the bodies must be the same bytes.
_REFERENCE = {}


@pytest.fixture(scope="module", autouse=True)
def reference(fn, db_url, schema, accounts):
    from fraiseql_native import gql
    from fraiseql_native.gql.compiler import Api
    from fraiseql_native.gql.resolver_path import ResolverPath
    from sample_registry import sample_mutations
    api = Api(gql.build_sdl(schema,
                            mutations=sample_mutations(gql, accounts)))
    # The app's pool settings (examples/graphql_app: generic plans), so that
    # a query without orderBy reads its rows in the same order on both.
    pool = fn.Pool(db_url, max_size=2,
                   settings={"plan_cache_mode": "force_generic_plan"})
    _REFERENCE["api"] = api
    _REFERENCE["path"] = ResolverPath(
        api, fn.Repository(pool, schema, cursor_secret=CURSOR_SECRET))
    _REFERENCE["checked"] = 0
    yield
    _REFERENCE.clear()


def same_as_reference(response, query, variables, operation_name):
    """Compares a successful query's body with the resolver path's."""
    if not _REFERENCE or response.status_code != 200 or \
            b'"errors"' in response.content:
        return
    compiled = _REFERENCE["api"].compile(query, operation_name)
    if compiled.kind != "query":
        return  # mutations write: run once only
    expected = _REFERENCE["path"].execute(
        compiled, compiled.coerce(variables), None)
    assert response.content == expected, query
    _REFERENCE["checked"] += 1


def post(client, query, variables=None, operation_name=None, headers=None):
    body = {"query": query}
    if variables is not None:
        body["variables"] = variables
    if operation_name is not None:
        body["operationName"] = operation_name
    response = client.post("/graphql", json=body, headers=headers)
    same_as_reference(response, query, variables, operation_name)
    return response


def ok_json(response):
    """The JSON body of a 200 application/json response (Decimal numbers)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return json.loads(response.content, parse_float=Decimal)


def data_of(response):
    value = ok_json(response)
    assert "errors" not in value, value
    return value["data"]


def errors_of(response):
    value = ok_json(response)
    assert value.get("errors"), value
    return value


def camel(key):
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def user_rows(pg, sample, where="true", params=()):
    """v_user rows as psycopg reads them: {id: data} (exact numbers)."""
    cur = pg.execute(f"SELECT data::text FROM {sample}.v_user WHERE {where}",
                     params)
    rows = [json.loads(r[0], parse_float=Decimal) for r in cur]
    return {r["id"]: r for r in rows}


def some_user(pg, sample, n=1):
    """n users that have an age and an address (ordered by id)."""
    cur = pg.execute(
        f"SELECT data::text FROM {sample}.v_user WHERE data ? 'age' AND "
        "data->'age' <> 'null' AND data->'address' <> 'null' ORDER BY id "
        "LIMIT %s", (n,))
    return [json.loads(r[0], parse_float=Decimal) for r in cur]


# --- queries ----------------------------------------------------------------

def test_health_and_a_post_query_give_the_rows_psycopg_reads(
        client, pg, sample):
    assert client.get("/health").json() == {"status": "ok"}
    expected = user_rows(pg, sample, "(data->>'age')::int >= 100")
    assert expected, "the sample has users aged 100 or more"
    response = post(client, "{ users(where: {age: {gte: 100}}, limit: 1000) "
                            "{ id firstName age balance } }")
    assert int(response.headers["content-length"]) == len(response.content)
    got = data_of(response)["users"]
    assert sorted(u["id"] for u in got) == sorted(expected)
    for u in got:
        row = expected[u["id"]]
        assert u == {"id": row["id"], "firstName": row["first_name"],
                     "age": row["age"], "balance": row["balance"]}
        assert list(u) == ["id", "firstName", "age", "balance"]


def test_variables_fill_arguments_and_filters(client, pg, sample):
    wanted = sorted(user_rows(pg, sample, "(data->>'age')::int < 20"))[:5]
    query = ("query Pick($ids: [UUID!], $n: Int) { users(where: {id: {in: "
             "$ids}}, limit: $n) { id email } }")
    got = data_of(post(client, query, {"ids": wanted, "n": 3}))["users"]
    assert len(got) == 3
    rows = user_rows(pg, sample, "data->>'id' = ANY(%s)", (wanted,))
    for u in got:
        assert u == {"id": u["id"], "email": rows[u["id"]]["email"]}
    got = data_of(post(client, query, {"ids": wanted, "n": 10}))["users"]
    assert sorted(u["id"] for u in got) == wanted


def test_named_and_inline_fragments_aliases_and_typename(client, pg, sample):
    one, two = some_user(pg, sample, 2)
    query = """
      query Two($a: UUID!) {
        first: user(id: $a) { ...Names ... on User { years: age } __typename }
        second: user(id: "%s") { who: firstName address { cityName __typename } }
      }
      fragment Names on User { given: firstName lastName }
    """ % two["id"]
    data = data_of(post(client, query, {"a": one["id"]}))
    assert data == {
        "first": {"given": one["first_name"], "lastName": one["last_name"],
                  "years": one["age"], "__typename": "User"},
        "second": {"who": two["first_name"],
                   "address": {"cityName": two["address"]["city_name"],
                               "__typename": "Address"}}}
    assert list(data) == ["first", "second"]
    assert list(data["first"]) == ["given", "lastName", "years", "__typename"]


def test_include_and_skip_with_literals_and_variables(client, pg, sample):
    (row,) = some_user(pg, sample)
    query = """query($yes: Boolean!, $no: Boolean!) {
      user(id: "%s") { id firstName @include(if: $yes) lastName @skip(if: $yes)
                       age @include(if: $no) email @skip(if: false)
                       nickname @include(if: false) } }""" % row["id"]
    user = data_of(post(client, query, {"yes": True, "no": False}))["user"]
    assert user == {"id": row["id"], "firstName": row["first_name"],
                    "email": row["email"]}
    user = data_of(post(client, query, {"yes": False, "no": True}))["user"]
    assert user == {"id": row["id"], "lastName": row["last_name"],
                    "age": row["age"], "email": row["email"]}


def test_nested_objects_and_several_roots_in_one_request(client, pg, sample):
    post_row = json.loads(pg.execute(
        f"SELECT data::text FROM {sample}.v_post ORDER BY id LIMIT 1"
    ).fetchone()[0], parse_float=Decimal)
    (user,) = some_user(pg, sample)
    query = """{ post(id: "%s") { title author { id firstName } }
                 user(id: "%s") { email } }""" % (post_row["id"], user["id"])
    assert data_of(post(client, query)) == {
        "post": {"title": post_row["title"],
                 "author": {"id": post_row["author"]["id"],
                            "firstName": post_row["author"]["first_name"]}},
        "user": {"email": user["email"]}}


def test_a_missing_row_is_null(client):
    data = data_of(post(client, '{ user(id: "%s") { id } }' % uuid.uuid4()))
    assert data == {"user": None}


def test_connection_pages_follow_the_id_order_with_a_total(client, pg, sample):
    ids = [r[0] for r in pg.execute(
        f"SELECT id::text FROM {sample}.v_user ORDER BY id LIMIT 7")]
    total = pg.execute(f"SELECT count(*) FROM {sample}.v_user").fetchone()[0]
    query = """query($after: String) { usersConnection(first: 4, after: $after) {
      totalCount edges { cursor node { id } }
      pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
    page1 = data_of(post(client, query, {"after": None}))["usersConnection"]
    assert page1["totalCount"] == total
    assert [e["node"]["id"] for e in page1["edges"]] == ids[:4]
    assert page1["pageInfo"]["hasNextPage"] is True
    assert page1["pageInfo"]["endCursor"] == page1["edges"][-1]["cursor"]
    page2 = data_of(post(client, query, {
        "after": page1["pageInfo"]["endCursor"]}))["usersConnection"]
    assert [e["node"]["id"] for e in page2["edges"][:3]] == ids[4:7]


def test_operation_name_picks_one_of_several_operations(client, pg, sample):
    one, two = some_user(pg, sample, 2)
    document = ('query A { user(id: "%s") { id } } '
                'query B { user(id: "%s") { id } }' % (one["id"], two["id"]))
    assert data_of(post(client, document, operation_name="B")) == {
        "user": {"id": two["id"]}}
    error = errors_of(post(client, document))["errors"][0]
    assert "operation name" in error["message"]


def test_get_runs_a_query_and_gives_the_post_bytes(client, pg, sample):
    (row,) = some_user(pg, sample)
    query = "query($id: UUID!) { user(id: $id) { id firstName age } }"
    variables = {"id": row["id"]}
    response = client.get("/graphql", params={
        "query": query, "variables": json.dumps(variables)})
    assert data_of(response) == {"user": {
        "id": row["id"], "firstName": row["first_name"], "age": row["age"]}}
    assert response.content == post(client, query, variables).content
    # Non-ASCII text travels percent-encoded as UTF-8.
    expected = user_rows(pg, sample, "data->>'first_name' = %s", ("Zoë",))
    assert expected, "the sample has users named Zoë"
    response = client.get("/graphql", params={
        "query": 'query($n: String) { users(where: {firstName: {eq: $n}}, '
                 "limit: 1000) { id firstName } }",
        "variables": json.dumps({"n": "Zoë"})})
    got = data_of(response)["users"]
    assert sorted(u["id"] for u in got) == sorted(expected)
    assert {u["firstName"] for u in got} == {"Zoë"}


# --- mutations ----------------------------------------------------------------

CREATE = """mutation($input: CreateAccountInput!) {
  createAccount(input: $input) {
    __typename
    ... on CreateAccountSuccess { status message
      account { id name balance createdBy currentTenant tenantId } }
    ... on CreateAccountError { status code message }
  } }"""


def account_rows(pg, account_id):
    return pg.execute(
        f'SELECT tenant_id::text, created_by, data::text FROM "{ACCOUNTS}".'
        "tb_account WHERE id = %s", (account_id,)).fetchall()


def audits(pg, account_id):
    return pg.execute(f'SELECT count(*) FROM "{ACCOUNTS}".tb_audit WHERE '
                      "action = %s", (f"create {account_id}",)).fetchone()[0]


def test_mutation_commits_with_the_tenant_and_user_from_the_headers(
        client, pg):
    account_id = str(uuid.uuid4())
    # Written by hand so that the balance is the JSON number 100.50 (its
    # value is checked; the mutation path does not keep its spelling yet).
    body = ('{"query": %s, "variables": {"input": {"id": "%s", "name": '
            '"Zo\\u00eb \\"Q\\"", "email": "z@example.com", '
            '"balance": 100.50}}}' % (json.dumps(CREATE), account_id))
    response = client.post("/graphql", content=body.encode(), headers={
        "content-type": "application/json", "X-Tenant-Id": TENANT,
        "X-User-Id": "alice"})
    result = data_of(response)["createAccount"]
    assert result == {
        "__typename": "CreateAccountSuccess", "status": "created",
        "message": "account created",
        "account": {"id": account_id, "name": "Zoë \"Q\"",
                    "balance": Decimal("100.50"), "createdBy": "alice",
                    "currentTenant": TENANT, "tenantId": TENANT}}
    ((tenant, created_by, data),) = account_rows(pg, account_id)
    data = json.loads(data, parse_float=Decimal)
    # The tenant reached the function as its argument and as the
    # app.tenant_id setting (current_setting inside the function).
    assert (tenant, created_by) == (TENANT, "alice")
    assert data["current_tenant"] == TENANT
    assert data["balance"] == Decimal("100.50")
    assert data["name"] == "Zoë \"Q\""


def test_an_error_status_rolls_back_and_comes_back_as_the_error_type(
        client, pg):
    account_id = str(uuid.uuid4())
    headers = {"X-Tenant-Id": TENANT, "X-User-Id": "bob"}
    first = data_of(post(client, CREATE, {"input": {
        "id": account_id, "name": "first"}}, headers=headers))
    assert first["createAccount"]["__typename"] == "CreateAccountSuccess"
    assert audits(pg, account_id) == 1
    again = data_of(post(client, CREATE, {"input": {
        "id": account_id, "name": "second"}}, headers=headers))
    assert again == {"createAccount": {
        "__typename": "CreateAccountError", "status": "conflict:duplicate_id",
        "code": 409, "message": "an account with this id exists"}}
    # The duplicate's audit insert was rolled back; the first account stays.
    assert audits(pg, account_id) == 1
    ((_, _, data),) = account_rows(pg, account_id)
    assert json.loads(data)["name"] == "first"


def test_a_raising_mutation_is_a_graphql_error_and_writes_nothing(client, pg):
    account_id = str(uuid.uuid4())
    value = errors_of(post(client, CREATE, {"input": {
        "id": account_id, "name": "raise"}},
        headers={"X-Tenant-Id": TENANT, "X-User-Id": "carol"}))
    (error,) = value["errors"]
    assert "create_account refused the name" in error["message"]
    assert error["path"] == ["createAccount"]
    assert error["locations"] == [{"line": 2, "column": 3}]
    assert value.get("data") is None
    assert account_rows(pg, account_id) == []
    assert audits(pg, account_id) == 0


def test_a_mutation_over_get_is_405_and_does_not_run(client, pg):
    account_id = str(uuid.uuid4())
    response = client.get("/graphql", params={
        "query": CREATE,
        "variables": json.dumps({"input": {"id": account_id, "name": "g"}})},
        headers={"X-Tenant-Id": TENANT, "X-User-Id": "dave"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "POST" in response.json()["errors"][0]["message"]
    assert account_rows(pg, account_id) == []
    assert audits(pg, account_id) == 0


# --- GraphQL errors (200, the spec's error format) ---------------------------

def test_an_unknown_field_is_named_with_its_location(client):
    value = errors_of(post(client, "{ users(limit: 1) {\n  id\n  nosuch } }"))
    (error,) = value["errors"]
    assert "nosuch" in error["message"] and "User" in error["message"]
    assert error["locations"] == [{"line": 3, "column": 3}]
    assert "data" not in value


def test_an_unknown_root_field_is_an_error(client):
    (error,) = errors_of(post(client, "{ nothing { id } }"))["errors"]
    assert "nothing" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 3}]


def test_a_bad_variable_value_is_named(client):
    value = errors_of(post(client, "query($n: Int) { users(limit: $n) { id } }",
                           {"n": "many"}))
    (error,) = value["errors"]
    assert "$n" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 7}]
    assert "data" not in value


def test_a_missing_required_variable_is_an_error(client):
    (error,) = errors_of(post(
        client, "query($id: UUID!) { user(id: $id) { id } }"))["errors"]
    assert "$id" in error["message"]


def test_an_argument_of_the_wrong_type_is_an_error(client):
    (error,) = errors_of(post(
        client, '{ users(limit: "ten") { id } }'))["errors"]
    assert "limit" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 16}]


def test_an_argument_the_core_refuses_has_the_root_path(client):
    value = errors_of(post(client, "{ users(limit: 1) { id }\n"
                                   "  posts(limit: -1) { id } }"))
    (error,) = value["errors"]
    assert "limit" in error["message"]
    assert error["path"] == ["posts"]
    assert error["locations"] == [{"line": 2, "column": 3}]
    assert value["data"] is None


def test_a_syntax_error_has_its_location(client):
    value = errors_of(post(client, "{ users(limit: 1) { id }"))
    (error,) = value["errors"]
    assert "Syntax Error" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 25}]


# --- requests that are not GraphQL requests ----------------------------------

def request_error(response, status, *words):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    (error,) = response.json()["errors"]
    for word in words:
        assert word in error["message"], error
    return error


@pytest.mark.parametrize("body,words", [
    (b'{"query": "{ users { id } }"', ("not valid JSON",)),
    (b"\xff\xfe", ("not valid JSON",)),
    (b'["{ users { id } }"]', ("JSON object", "list")),
    (b'{"variables": {}}', ("no 'query'",)),
    (b'{"query": ""}', ("no 'query'",)),
    (b'{"query": 7}', ("'query' must be a string",)),
    (b'{"query": "{ users { id } }", "variables": [1]}', ("variables",)),
    (b'{"query": "{ users { id } }", "operationName": 3}', ("operationName",)),
    (b'{"query": "query ($n: Int) { users(limit: $n) { id } }", '
     b'"variables": {"n": NaN}}', ("not valid JSON", "NaN")),
    (b'{"query": "{ users { id } }", "variables": {"n": -Infinity}}',
     ("not valid JSON", "Infinity")),
    (b'{"query": "{ users { id } }", "variables": ' + b"[" * 100000 +
     b"]" * 100000 + b"}", ("nests too deeply",)),
])
def test_a_malformed_post_body_is_400(client, body, words):
    request_error(client.post("/graphql", content=body, headers={
        "content-type": "application/json"}), 400, *words)


def test_get_without_a_query_or_with_bad_variables_is_400(client):
    request_error(client.get("/graphql"), 400, "query")
    request_error(client.get("/graphql", params={
        "query": "{ users(limit: 1) { id } }", "variables": "{nope"}),
        400, "variables", "not valid JSON")
    request_error(client.get("/graphql", params={
        "query": "{ users(limit: 1) { id } }",
        "variables": "[" * 5000 + "]" * 5000}),
        400, "variables", "nests too deeply")


def test_a_post_that_is_not_json_is_415(client):
    request_error(client.post("/graphql", content=b"query={ users { id } }",
                              headers={"content-type":
                                       "application/x-www-form-urlencoded"}),
                  415, "application/json")


def test_a_body_over_the_limit_is_413(client):
    big = b'{"query": "{ users(limit: 1) { id } }", "pad": "' \
        + b"x" * (1 << 20) + b'"}'
    request_error(client.post("/graphql", content=big, headers={
        "content-type": "application/json"}), 413, "bytes")


def test_a_chunked_body_over_the_limit_is_413(client):
    """No content-length: the limit holds while the body is read."""
    def pieces():
        yield b'{"query": "{ users(limit: 1) { id } }", "pad": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'
    request_error(client.post("/graphql", content=pieces(), headers={
        "content-type": "application/json"}), 413, "bytes")


def test_other_methods_are_405(client):
    response = client.put("/graphql", content=b"{}")
    request_error(response, 405, "PUT")
    assert response.headers["allow"] == "GET, POST"


@pytest.mark.parametrize("headers,words", [
    ({"X-Tenant-Id": "tenant-1"}, ("X-Tenant-Id", "UUID", "tenant-1")),
    ({"X-Tenant-Id": ""}, ("X-Tenant-Id", "UUID")),
    ({"X-Tenant-Id": TENANT, "X-User-Id": "a b"}, ("X-User-Id",)),
    ({"X-User-Id": "x" * 129}, ("X-User-Id",)),
])
def test_bad_context_headers_are_400_and_run_nothing(client, pg, headers,
                                                      words):
    account_id = str(uuid.uuid4())
    request_error(post(client, CREATE, {"input": {"id": account_id}},
                       headers=headers), 400, *words)
    assert audits(pg, account_id) == 0


# --- big results, introspection, the schema ---------------------------------

def test_a_list_without_limit_streams_every_row_exactly_once(
        client, raw):
    fields = ("id first_name last_name email age balance score is_active "
              "birth_date created_at tags nickname").split()
    query = "{ users { %s address { cityName postalCode } } }" % " ".join(
        camel(f) for f in fields)
    with client.stream("POST", "/graphql", json={"query": query}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in response.headers
        body = response.read()
    got = json.loads(body, parse_float=Decimal)["data"]["users"]
    expected = {row["id"]: row for row in raw["v_user"]}
    assert len(got) == len(expected) == len({u["id"] for u in got})
    for user in got:
        row = expected[user["id"]]
        want = {camel(f): row.get(f) for f in fields}
        address = row.get("address")
        want["address"] = None if address is None else {
            "cityName": address.get("city_name"),
            "postalCode": address.get("postal_code")}
        assert user == want


def test_introspection_runs_through_graphql_core(client):
    data = data_of(post(client, """{ __schema { queryType { name }
        mutationType { name } }
        __type(name: "User") { name fields { name } } }"""))
    assert data["__schema"] == {"queryType": {"name": "Query"},
                                "mutationType": {"name": "Mutation"}}
    names = {f["name"] for f in data["__type"]["fields"]}
    assert {"id", "firstName", "address", "tags"} <= names
    assert data["__type"]["name"] == "User"


def test_schema_graphql_is_the_sdl_graphql_core_builds(client):
    response = client.get("/schema.graphql")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    schema = graphql.build_ast_schema(graphql.parse(response.text))
    query = schema.get_query_type().fields
    assert {"users", "user", "usersConnection", "posts", "comments"} <= set(
        query)
    assert "createAccount" in schema.get_mutation_type().fields


def test_zz_queries_were_checked_against_the_resolver_path():
    """Runs last in this module: the comparison above did run."""
    assert _REFERENCE["checked"] >= 10, _REFERENCE["checked"]


def test_stats_count_compilations_hits_and_errors(client):
    def stats():
        response = client.get("/stats")
        assert response.status_code == 200
        return response.json()

    before = stats()
    query = "{ users(limit: 1) { id } } # stats probe %s" % uuid.uuid4()
    for _ in range(3):
        data_of(post(client, query))
    errors_of(post(client, '{ users(where: {id: {eq: "nope"}}) { id } }'))
    after = stats()
    engine = {k: after["engine"][k] - before["engine"][k]
              for k in ("compiled", "cache_hits", "errors")}
    assert engine["compiled"] >= 1 and engine["cache_hits"] >= 2
    assert engine["errors"] >= 1
    assert after["pool"]["max_size"] == 4
    assert after["queue"]["completed_total"] > before["queue"][
        "completed_total"]
