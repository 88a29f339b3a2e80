"""fraiseql_native.resolvers.selection_from_info under graphql-core's real
executor: a real schema whose root resolvers build the selection from
`info`, fetch the rows from a real Repository over the shared sample data
and hand them to the executor. Each test checks the selection text and that
the executor's result is exactly what Repository.find returns for it (so
aliases, __typename and fragments line up key for key, in order)."""
import json

import pytest

graphql = pytest.importorskip("graphql")

from fraiseql_native.resolvers import (  # noqa: E402
    MAX_DEPTH, MAX_FIELDS, resolve_by_response_key, selection_from_info)

GRAPHQL_MAJOR = int(str(getattr(graphql, "__version__", None)
                        or graphql.VERSION[0]).split(".")[0])
needs_graphql2 = pytest.mark.skipif(
    GRAPHQL_MAJOR != 2, reason="graphql-core 2's schema classes and executor")

ORDER = [{"id": "ASC"}]


def _field(type_, **kwargs):
    return graphql.GraphQLField(type_, resolver=resolve_by_response_key,
                                **kwargs)


def _rows(repo, view, selection, limit):
    body = repo.find(view, field="users", selection=selection,
                     order_by=ORDER, limit=limit)
    return json.loads(body)["data"]["users"]


@pytest.fixture(scope="module")
def gql(repo, sample):
    """(schema, run): graphql-core 2 types mirroring the sample's User and
    Address; run(query, variables) executes it and returns (result, the
    selections the root resolvers built)."""
    if GRAPHQL_MAJOR != 2:
        pytest.skip("graphql-core 2's schema classes and executor")
    users = f"{sample}.v_user"
    g = graphql
    entity = g.GraphQLInterfaceType(
        "Entity", fields={"id": g.GraphQLField(g.GraphQLID)},
        resolve_type=lambda value, info: user)
    address = g.GraphQLObjectType("Address", fields={
        "street": _field(g.GraphQLString),
        "cityName": _field(g.GraphQLString),
        "postalCode": _field(g.GraphQLString),
        "countryCode": _field(g.GraphQLString),
    })
    user = g.GraphQLObjectType("User", interfaces=[entity], fields={
        "id": _field(g.GraphQLID),
        "firstName": _field(g.GraphQLString),
        "lastName": _field(g.GraphQLString),
        "email": _field(g.GraphQLString),
        "age": _field(g.GraphQLInt),
        "address": _field(address),
    })
    # Entity's other implementation, served by no view.
    org = g.GraphQLObjectType("Org", interfaces=[entity], fields={
        "id": g.GraphQLField(g.GraphQLID),
        "title": g.GraphQLField(g.GraphQLString),
    })
    search = g.GraphQLUnionType("SearchResult", types=[user, address],
                                resolve_type=lambda value, info: user)
    page = g.GraphQLObjectType("UserPage", fields={
        "items": g.GraphQLField(g.GraphQLList(user)),
    })
    tree = g.GraphQLObjectType("Tree", fields=lambda: {
        "leaf": g.GraphQLField(g.GraphQLString, args={
            "upper": g.GraphQLArgument(g.GraphQLBoolean)}),
        "child": g.GraphQLField(tree),
    })
    limit_arg = {"limit": g.GraphQLArgument(g.GraphQLInt)}

    def fetch(info, limit, **kwargs):
        selection = selection_from_info(info, **kwargs)
        info.context["selections"].append(selection)
        return _rows(repo, users, selection, limit)

    def resolve_tree(root, info):
        info.context["selections"].append(selection_from_info(info))
        return None

    query = g.GraphQLObjectType("Query", fields={
        "users": g.GraphQLField(
            g.GraphQLList(user), args=limit_arg,
            resolver=lambda root, info, limit: fetch(info, limit)),
        "entities": g.GraphQLField(
            g.GraphQLList(entity), args=limit_arg,
            resolver=lambda root, info, limit: fetch(info, limit,
                                                     type_name="User")),
        "search": g.GraphQLField(
            g.GraphQLList(search), args=limit_arg,
            resolver=lambda root, info, limit: fetch(info, limit,
                                                     type_name="User")),
        "page": g.GraphQLField(
            page, args=limit_arg,
            resolver=lambda root, info, limit: {
                "items": fetch(info, limit, field_name="items")}),
        "tree": g.GraphQLField(tree, resolver=resolve_tree),
    })
    schema = g.GraphQLSchema(query=query, types=[search, org])

    def run(query_text, variables=None, validate=True):
        context = {"selections": []}
        if validate:
            result = g.graphql(schema, query_text, context_value=context,
                               variable_values=variables)
        else:  # graphql.execute does not validate (for invalid documents)
            result = g.execute(schema, g.parse(query_text),
                               context_value=context,
                               variable_values=variables)
        return result, context["selections"]

    return schema, run


def _check(run, repo, users, query_text, expected_selection, variables=None,
           field="users", limit=3):
    """Runs the query; the selection is `expected_selection`, and the
    result is, key order included, Repository.find's rows for it."""
    result, selections = run(query_text, variables)
    assert not result.errors, result.errors
    assert selections == [expected_selection]
    rows = _rows(repo, users, expected_selection, limit)
    assert len(rows) == limit
    got = result.data[field]
    assert json.dumps(got) == json.dumps(rows)
    return got


@needs_graphql2
def test_plain_fields_nested_and_root_arguments_left_out(gql, repo, users):
    _, run = gql
    got = _check(run, repo, users,
                 "{ users(limit: 3) { id firstName address { cityName } } }",
                 "id firstName address { cityName }")
    assert all(set(r) == {"id", "firstName", "address"} for r in got)


@needs_graphql2
def test_aliases_and_typename(gql, repo, users):
    _, run = gql
    got = _check(
        run, repo, users,
        "{ users(limit: 3) { key: id name: firstName __typename "
        "home: address { town: cityName __typename } kind: __typename } }",
        "key: id name: firstName __typename home: address { town: cityName "
        "__typename } kind: __typename")
    assert got[0]["__typename"] == got[0]["kind"] == "User"
    homes = [r["home"] for r in got if r["home"] is not None]
    assert homes and all(h["__typename"] == "Address" for h in homes)


@needs_graphql2
def test_named_fragments_merge_with_fields_in_document_order(gql, repo,
                                                             users):
    _, run = gql
    _check(run, repo, users, """
        query { users(limit: 3) { id ...Names address { street } ...Home } }
        fragment Names on User { firstName last: lastName }
        fragment Home on User { address { cityName ...Codes } id }
        fragment Codes on Address { postalCode countryCode }
        """,
           "id firstName last: lastName address { street cityName "
           "postalCode countryCode }")


@needs_graphql2
def test_inline_fragments_with_and_without_condition(gql, repo, users):
    _, run = gql
    _check(run, repo, users, """
        { users(limit: 3) {
            ... on User { email address { ... on Address { cityName } } }
            ... on Entity { id }
            ... on SearchResult { ... on User { age } }
            address { ... { street } ... @include(if: true) { cityName } }
        } }""",
           "email address { cityName street } id age")
    # (graphql-core 2's validation refuses `... { }` directly inside a list
    # field, "can never be of type [User]": its bug, hence under address.)


@needs_graphql2
def test_condition_on_another_type_drops_the_fragment(gql, repo, users):
    # An interface and a union field served by the User view: fragments on
    # Org and Address do not apply and are dropped.
    _, run = gql
    _check(run, repo, users, """
        { entities(limit: 3) {
            id __typename
            ... on User { firstName }
            ... on Org { title }
        } }""",
           "id __typename firstName", field="entities")
    _check(run, repo, users, """
        { search(limit: 3) {
            __typename
            ... on Address { street }
            ... AsUser
        } }
        fragment AsUser on User { id email }""",
           "__typename id email", field="search")


@needs_graphql2
def test_abstract_type_without_type_name_refuses_foreign_fragments():
    # Not through a Repository: the type's fragments cannot be decided.
    if GRAPHQL_MAJOR != 2:
        pytest.skip("graphql-core 2")
    g = graphql
    seen = []
    thing = g.GraphQLObjectType("Thing", fields={
        "id": g.GraphQLField(g.GraphQLID)})
    other = g.GraphQLObjectType("Other", fields={
        "id": g.GraphQLField(g.GraphQLID)})
    union = g.GraphQLUnionType("Either", types=[thing, other],
                               resolve_type=lambda value, info: thing)

    def resolve(root, info):
        seen.append(selection_from_info(info))
        return []

    schema = g.GraphQLSchema(query=g.GraphQLObjectType("Query", fields={
        "either": g.GraphQLField(g.GraphQLList(union), resolver=resolve)}))
    ok = g.graphql(schema, "{ either { __typename } }")
    assert not ok.errors and seen == ["__typename"]
    bad = g.graphql(schema, "{ either { ... on Thing { id } } }")
    assert len(bad.errors) == 1
    assert "abstract type Either" in str(bad.errors[0])


@needs_graphql2
def test_skip_and_include_with_literals(gql, repo, users):
    _, run = gql
    _check(run, repo, users, """
        { users(limit: 3) {
            id
            email @include(if: true)
            age @include(if: false)
            firstName @skip(if: true)
            lastName @skip(if: false)
            address @skip(if: false) @include(if: true) {
              cityName street @skip(if: true) }
            ... on User @skip(if: true) { nope: firstName }
            ...More @include(if: false)
        } }
        fragment More on User { postal: address { postalCode } }""",
           "id email lastName address { cityName }")


@needs_graphql2
def test_skip_and_include_with_variables(gql, repo, users):
    _, run = gql
    query_text = """
        query Q($withEmail: Boolean!, $noAge: Boolean = true) {
          users(limit: 3) {
            id email @include(if: $withEmail) age @skip(if: $noAge)
            ... on User @include(if: $withEmail) { firstName }
          }
        }"""
    _check(run, repo, users, query_text, "id email firstName",
           variables={"withEmail": True})
    _check(run, repo, users, query_text, "id",
           variables={"withEmail": False})
    _check(run, repo, users, query_text, "id email age firstName",
           variables={"withEmail": True, "noAge": False})


@needs_graphql2
def test_same_response_key_merges(gql, repo, users):
    _, run = gql
    _check(run, repo, users, """
        { users(limit: 3) {
            home: address { cityName }
            id
            home: address { street cityName }
            id
            ... on User { home: address { postalCode } }
        } }""",
           "home: address { cityName street postalCode } id")
    # Two root fields under one key: graphql-core hands both nodes in info.
    _check(run, repo, users, """
        { users(limit: 3) { id } users(limit: 3) { address { cityName } } }""",
           "id address { cityName }")


@needs_graphql2
def test_field_name_selects_below_the_root(gql, repo, users):
    _, run = gql
    result, selections = run(
        "{ page(limit: 3) { items { id name: firstName } } }")
    assert not result.errors, result.errors
    assert selections == ["id name: firstName"]
    assert json.dumps(result.data["page"]["items"]) == json.dumps(
        _rows(repo, users, "id name: firstName", 3))


@needs_graphql2
def test_depth_limit(gql):
    _, run = gql

    def nested(levels):
        # `tree { ... }` is level 1; each `child { }` adds one.
        return ("{ tree { " + "child { " * (levels - 1) + "leaf"
                + " }" * (levels - 1) + " } }")

    result, selections = run(nested(MAX_DEPTH))
    assert not result.errors, result.errors
    assert selections[0].count("child {") == MAX_DEPTH - 1
    result, selections = run(nested(MAX_DEPTH + 1))
    assert selections == []
    assert len(result.errors) == 1
    assert f"deeper than {MAX_DEPTH} levels" in str(result.errors[0])


@needs_graphql2
def test_fragment_cycles_are_refused(gql):
    # Invalid GraphQL (validation refuses it), so executed unvalidated.
    _, run = gql
    result, _ = run("""
        { tree { ...A } }
        fragment A on Tree { leaf ...B }
        fragment B on Tree { ...A }""", validate=False)
    assert len(result.errors) == 1
    assert "fragment A spreads itself" in str(result.errors[0])
    # Through a field: every level expands it again, until the depth limit.
    result, _ = run("""
        { tree { ...T } }
        fragment T on Tree { leaf child { ...T } }""", validate=False)
    assert len(result.errors) == 1
    assert f"deeper than {MAX_DEPTH} levels" in str(result.errors[0])


@needs_graphql2
def test_field_budget_bounds_fragment_expansion(gql):
    # Valid GraphQL whose fragments double the fields at each level: 2**14
    # leaves from a query of a few hundred bytes. Executed unvalidated only
    # to keep graphql-core's own overlap validation out of the test's time.
    _, run = gql
    levels = 14
    fragments = "".join(
        f"fragment F{i} on Tree {{ leaf child {{ ...F{i + 1} }} "
        f"other: child {{ ...F{i + 1} }} }}\n" for i in range(levels))
    fragments += f"fragment F{levels} on Tree {{ leaf }}\n"
    result, selections = run("{ tree { ...F0 } }\n" + fragments,
                             validate=False)
    assert selections == []
    assert len(result.errors) == 1
    assert f"more than {MAX_FIELDS} fields" in str(result.errors[0])
    # Two levels stay under the budget and give the expanded text.
    small = "".join(
        f"fragment F{i} on Tree {{ leaf child {{ ...F{i + 1} }} "
        f"other: child {{ ...F{i + 1} }} }}\n" for i in range(2))
    small += "fragment F2 on Tree { leaf }\n"
    result, selections = run("{ tree { ...F0 } }\n" + small)
    assert not result.errors, result.errors
    inner = "leaf child { leaf } other: child { leaf }"
    assert selections == [f"leaf child {{ {inner} }} other: child {{ {inner} }}"]


@needs_graphql2
def test_arguments_below_the_root_are_refused(gql):
    # The selection language has no arguments: a nested field taking some
    # cannot be fetched as asked.
    _, run = gql
    result, selections = run("{ tree { child { leaf(upper: true) } } }")
    assert selections == []
    assert len(result.errors) == 1
    assert ("arguments on fields below the root field are not supported, "
            "at tree.child.leaf") in str(result.errors[0])


@needs_graphql2
def test_all_fields_skipped_is_an_error(gql):
    _, run = gql
    result, _ = run("{ users(limit: 3) { id @skip(if: true) } }")
    assert len(result.errors) == 1
    assert "every field is skipped" in str(result.errors[0])


def test_graphql_core_3(repo, users):
    """graphql-core 3's info (field_nodes), with its own executor; runs only
    where graphql-core 3 is installed (Debian 12 ships 2)."""
    if GRAPHQL_MAJOR < 3:
        pytest.skip("graphql-core 3 is not installed")
    g = graphql
    schema = g.build_schema("""
        type Address { cityName: String street: String }
        type User { id: ID firstName: String address: Address }
        type Query { users(limit: Int): [User] }""")
    selections = []

    def resolve_users(root, info, limit):
        selection = selection_from_info(info)
        selections.append(selection)
        return _rows(repo, users, selection, limit)

    schema.query_type.fields["users"].resolve = resolve_users
    result = g.graphql_sync(
        schema, """
        query Q($s: Boolean!) { users(limit: 3) {
          key: id ...F address { town: cityName street @skip(if: $s) } } }
        fragment F on User { firstName }""",
        variable_values={"s": True}, field_resolver=resolve_by_response_key)
    assert not result.errors, result.errors
    assert selections == ["key: id firstName address { town: cityName }"]
    assert json.dumps(result.data["users"]) == json.dumps(
        _rows(repo, users, selections[0], 3))
