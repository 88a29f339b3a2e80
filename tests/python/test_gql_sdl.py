"""gql.sdl.build_sdl: the GraphQL schema text of the schema registry.

graphql-core 2 must build a schema from it, each kind's filter must hold
exactly the registered operators (plugins and Python operators included),
and the sample's SDL is a golden file (testdata/sample_schema.graphql) so
that any change is seen in review. Regenerate it with

    GOLDEN_UPDATE=1 PYTHONPATH=bazel-bin/pybind:tests/fixtures \\
        /usr/bin/python3 -m pytest tests/python/test_gql_sdl.py -q

The operator registry is process-global and other test modules register
operators into it, so what depends on the exact registry (the golden file,
the hard-coded operator lists, custom operators) is built in a fresh
interpreter.
"""
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import graphql
import pytest
from graphql.type.definition import (GraphQLEnumType, GraphQLInputObjectType,
                                     GraphQLScalarType, GraphQLUnionType)

import fraiseql_native
from conftest import documented_operator_keys, linked_families
from fraiseql_native.gql import sdl as gql_sdl
from fraiseql_native.gql.sdl import Mutation, Root, Sdl, build_sdl
from sample_registry import register_sample, sample_mutations

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "python" / "testdata" / "sample_schema.graphql"


def fresh(code):
    """Runs `code` in a new interpreter (a registry with the built-in
    operators and the linked plugins only) and returns its stdout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "bazel-bin" / "pybind"), str(ROOT / "tests" / "fixtures")])
    prelude = textwrap.dedent("""\
        import json, sys
        import fraiseql_native as fn
        from fraiseql_native import gql
        from fraiseql_native.gql.sdl import build_sdl, Mutation
        from sample_registry import register_sample, sample_mutations
        """)
    result = subprocess.run([sys.executable, "-c", prelude +
                             textwrap.dedent(code)],
                            env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def sample_text():
    """The sample's SDL with createAccount, from a fresh registry."""
    return fresh("""
        schema = register_sample(fn, "sample")
        sys.stdout.write(build_sdl(schema,
                                   mutations=sample_mutations(gql)).text)
        """)


@pytest.fixture(scope="module")
def sample_schema(sample_text):
    return graphql.build_ast_schema(graphql.parse(sample_text))


def fields_of(schema, name):
    """{field: type string} of an object or input type, in order."""
    return {f: str(d.type) for f, d in schema.get_type(name)
            .fields.items()}


def args_of(field):
    return {a: str(d.type) for a, d in field.args.items()}


def build(text):
    return graphql.build_ast_schema(graphql.parse(text))


def every_kind_schema(operators=None):
    """A schema with a view holding a field of every kind."""
    schema = fraiseql_native.Schema()
    schema.add_type("Place", {"name": "String", "spot": "Coordinate"})
    fields = {k.lower() + "_field": k for k in gql_sdl._SCALAR_KINDS}
    fields.update({"id": "ID", "place": "Place", "places": "[Place]",
                   "ints": "[Int]", "names": "[String]"})
    schema.add_view("app.v_all", "Everything", fields,
                    columns={"id": "text", "fulltext_field": "tsvector",
                             "data": "jsonb"},
                    operators=operators)
    return schema


# --- graphql-core builds it, and the golden file -------------------------

def test_the_sample_sdl_is_the_golden_file(sample_text):
    if os.environ.get("GOLDEN_UPDATE"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(sample_text)
    assert GOLDEN.exists(), f"{GOLDEN} is missing: run with GOLDEN_UPDATE=1"
    assert sample_text == GOLDEN.read_text(), (
        f"the sample SDL differs from {GOLDEN.relative_to(ROOT)}; if the "
        f"change is intended, regenerate it with GOLDEN_UPDATE=1 and review "
        f"the diff")


def test_graphql_core_builds_the_sample_sdl_with_a_mutation(sample_schema):
    query = sample_schema.get_query_type()
    assert set(query.fields) == {
        "users", "user", "usersConnection", "posts", "post",
        "postsConnection", "comments", "comment", "commentsConnection"}
    mutation = sample_schema.get_mutation_type()
    assert list(mutation.fields) == ["createAccount"]
    assert isinstance(sample_schema.get_type("CreateAccountResult"),
                      GraphQLUnionType)


def test_the_sdl_is_deterministic_whatever_the_registration_order():
    def schema(order):
        s = fraiseql_native.Schema()
        s.add_type("B", {"x": "Int"})
        s.add_type("A", {"y": "String"})
        for name in order:
            s.add_view(f"app.v_{name}", name.upper(), {"id": "UUID",
                                                       "a": "A", "b": "B"})
        return s
    first = build_sdl(schema(["p", "q"])).text
    assert first == build_sdl(schema(["p", "q"])).text
    assert first == build_sdl(schema(["q", "p"])).text


# --- root fields ---------------------------------------------------------

def test_root_fields_and_their_arguments(sample_schema):
    query = sample_schema.get_query_type()
    users = query.fields["users"]
    assert str(users.type) == "[User!]!"
    assert args_of(users) == {"where": "UserWhereInput",
                              "orderBy": "[UserOrderByInput!]",
                              "limit": "Int", "offset": "Int"}
    user = query.fields["user"]
    assert str(user.type) == "User"
    assert args_of(user) == {"id": "UUID!"}
    connection = query.fields["usersConnection"]
    assert str(connection.type) == "UserConnection!"
    assert args_of(connection) == {
        "where": "UserWhereInput", "orderBy": "[UserOrderByInput!]",
        "first": "Int", "after": "String", "last": "Int", "before": "String"}
    assert fields_of(sample_schema, "UserConnection") == {
        "edges": "[UserEdge!]!", "pageInfo": "PageInfo!",
        "totalCount": "Int!"}
    assert fields_of(sample_schema, "UserEdge") == {"cursor": "String!",
                                                    "node": "User!"}
    assert fields_of(sample_schema, "PageInfo") == {
        "hasNextPage": "Boolean!", "hasPreviousPage": "Boolean!",
        "startCursor": "String", "endCursor": "String"}


def test_roots_say_what_each_root_field_reads():
    schema = register_sample(fraiseql_native, "app")
    mutations = sample_mutations(gql_sdl, "app")
    sdl = build_sdl(schema, mutations=mutations)
    assert isinstance(sdl, Sdl)
    assert sdl.roots["users"] == Root("users", "list", "app.v_user", "User")
    assert sdl.roots["post"] == Root("post", "one", "app.v_post", "Post")
    assert sdl.roots["commentsConnection"] == Root(
        "commentsConnection", "connection", "app.v_comment", "Comment")
    assert sdl.roots["createAccount"] == Root(
        "createAccount", "mutation", "", "CreateAccountResult", mutations[0])
    assert len(sdl.roots) == 10


def test_object_types_hold_every_field_but_full_text(sample_schema):
    post = fields_of(sample_schema, "Post")
    assert post == {"id": "UUID", "tenantId": "UUID", "title": "String",
                    "body": "String", "author": "Author", "tags": "[String]",
                    "publishedAt": "DateTime", "viewCount": "Int",
                    "rating": "Decimal", "isPublished": "Boolean"}
    assert fields_of(sample_schema, "PostWhereInput")["searchTsv"] == \
        "FullTextFilter"
    assert fields_of(sample_schema, "Address")["coordinates"] == "Coordinate"
    for name in ("UUID", "Email", "Decimal", "Date", "DateTime", "IpAddress",
                 "MacAddress", "LTree", "DateRange", "JSON", "Coordinate"):
        assert isinstance(sample_schema.get_type(name), GraphQLScalarType)


def test_every_kind_has_its_output_type():
    schema = build(build_sdl(every_kind_schema()).text)
    fields = fields_of(schema, "Everything")
    expected = {"String": "String", "Int": "Int", "Float": "Float",
                "Boolean": "Boolean", "ID": "ID", "Vector": "[Float]",
                "UUID": "UUID", "CIDR": "CIDR", "Port": "Port",
                "Hostname": "Hostname"}
    for kind, graphql_type in expected.items():
        assert fields[kind.lower() + "Field"] == graphql_type, kind
    assert "fulltextField" not in fields
    assert fields["place"] == "Place"
    assert fields["places"] == "[Place]"
    assert fields["ints"] == "[Int]"
    # One of an ID kind, and the id column paginates.
    query = schema.get_query_type()
    assert args_of(query.fields["everything"]) == {"id": "ID!"}
    assert "everythingsConnection" in query.fields


def test_a_view_without_an_id_has_no_single_root_nor_connection():
    schema = fraiseql_native.Schema()
    schema.add_view("app.v_log", "LogLine", {"message": "String",
                                              "at": "DateTime"})
    sdl = build_sdl(schema)
    assert set(sdl.roots) == {"logLines"}
    # An id column is enough for a connection (the planner's tiebreaker).
    schema.add_view("app.v_event", "Event", {"message": "String"},
                    columns={"id": "bigint", "data": "jsonb"})
    assert {"events", "eventsConnection"} <= set(build_sdl(schema).roots)
    assert "event" not in build_sdl(schema).roots


# --- naming --------------------------------------------------------------

def test_plural_and_lower_first_names_and_overrides():
    schema = fraiseql_native.Schema()
    for view, type_name in [("app.v_category", "Category"),
                            ("app.v_address", "Address"),
                            ("app.v_key", "Key"), ("app.v_box", "Box"),
                            ("app.v_person", "Person")]:
        schema.add_view(view, type_name, {"id": "UUID"})
    sdl = build_sdl(schema, names={"app.v_person": "people"})
    for field in ("categories", "category", "categoriesConnection",
                  "addresses", "keys", "boxes", "people", "person",
                  "peopleConnection"):
        assert field in sdl.roots, field
    assert "persons" not in sdl.roots
    assert sdl.roots["people"].view == "app.v_person"
    build(sdl.text)


def test_names_must_name_registered_views_with_graphql_names():
    schema = register_sample(fraiseql_native, "app")
    with pytest.raises(ValueError, match="'app.v_usr' is not a registered "
                                         "view"):
        build_sdl(schema, names={"app.v_usr": "people"})
    with pytest.raises(ValueError, match="'all users' .* is not a GraphQL "
                                         "name"):
        build_sdl(schema, names={"app.v_user": "all users"})


# --- collisions ----------------------------------------------------------

def test_a_registered_type_named_page_info_collides():
    schema = register_sample(fraiseql_native, "app")
    schema.add_type("PageInfo", {"page": "Int"})
    with pytest.raises(ValueError) as error:
        build_sdl(schema)
    assert str(error.value) == (
        "GraphQL type name 'PageInfo' of registered type PageInfo collides "
        "with the connections' PageInfo")


def test_a_view_type_named_like_a_generated_input_collides():
    schema = register_sample(fraiseql_native, "app")
    schema.add_view("app.v_filter", "UserWhereInput", {"id": "UUID"})
    with pytest.raises(ValueError) as error:
        build_sdl(schema)
    message = str(error.value)
    assert "'UserWhereInput'" in message
    assert "view app.v_filter" in message and "view app.v_user" in message


def test_a_mutation_named_like_a_query_field_collides():
    schema = register_sample(fraiseql_native, "app")
    with pytest.raises(ValueError) as error:
        build_sdl(schema, mutations=[Mutation(
            "users", "app.make_users", {"id": "UUID"}, "MakeOk", "MakeErr")])
    assert "mutation 'users' has the name of the query field 'users'" in \
        str(error.value)


def test_a_type_named_like_a_kind_scalar_collides():
    schema = fraiseql_native.Schema()
    schema.add_view("app.v_x", "Decimal", {"id": "UUID"})
    with pytest.raises(ValueError, match="'Decimal' of the type of view "
                                         "app.v_x collides with the scalar of "
                                         "kind Decimal"):
        build_sdl(schema)


def test_two_views_of_one_type_share_it_but_not_their_root_fields():
    schema = fraiseql_native.Schema()
    schema.add_view("app.v_user", "User", {"name": "String"})
    schema.add_view("app.v_user_archive", "User", {"name": "String"})
    with pytest.raises(ValueError) as error:
        build_sdl(schema)
    assert str(error.value) == (
        "root field 'users' of view app.v_user_archive collides with 'users' "
        "of view app.v_user")
    sdl = build_sdl(schema, names={"app.v_user_archive": "archivedUsers"})
    assert sdl.text.count("type User {") == 1
    assert sdl.roots["archivedUsers"].view == "app.v_user_archive"
    build(sdl.text)


def test_two_views_of_one_type_with_other_fields_collide():
    schema = fraiseql_native.Schema()
    schema.add_view("app.v_a", "User", {"name": "String"})
    schema.add_view("app.v_b", "User", {"name": "String", "age": "Int"})
    with pytest.raises(ValueError, match="'User' of the type of view app.v_b "
                                         "collides with 'User' of the type of "
                                         "view app.v_a"):
        build_sdl(schema, names={"app.v_b": "others"})


def test_a_schema_without_views_is_refused():
    with pytest.raises(ValueError, match="no views"):
        build_sdl(fraiseql_native.Schema())


# --- filters -------------------------------------------------------------

def kind_filters(schema):
    """{kind: [operator names]} of every <Kind>Filter of a built schema."""
    out = {}
    for name, t in schema.get_type_map().items():
        if isinstance(t, GraphQLInputObjectType) and name.endswith("Filter") \
                and not name.endswith("ListFilter"):
            out[name[:-len("Filter")]] = list(t.fields)
    return out


def test_each_kind_filter_has_exactly_the_registered_operators():
    schema = build(build_sdl(every_kind_schema()).text)
    operators = fraiseql_native.operators()
    filters = kind_filters(schema)
    # Every scalar kind of the view has its filter.
    assert set(filters) == set(gql_sdl._SCALAR_KINDS)
    for kind, names in filters.items():
        assert names == [op["name"] for op in operators
                         if kind in op["kinds"]], kind
    for list_filter, element in (("IntListFilter", "Int"),
                                 ("StringListFilter", "String"),
                                 ("PlaceListFilter", "Place")):
        assert list(schema.get_type(list_filter).fields) == [
            op["name"] for op in operators if "List" in op["kinds"]]
    place = list(schema.get_type("PlaceWhereInput").fields)
    assert place == ["name", "spot"] + [
        op["name"] for op in operators if "Object" in op["kinds"]] + [
        "AND", "OR", "NOT"]


def test_filters_of_the_builtins_spot_check(sample_schema):
    # Hard-coded, from a fresh registry: a regression in operators() or in
    # a family's graphql_type shows here.
    assert fields_of(sample_schema, "UUIDFilter") == {
        "eq": "UUID", "neq": "UUID", "in": "[UUID!]", "nin": "[UUID!]",
        "isnull": "Boolean"}
    assert fields_of(sample_schema, "StringFilter") == {
        "eq": "String", "neq": "String", "in": "[String!]",
        "nin": "[String!]", "isnull": "Boolean", "contains": "String",
        "icontains": "String", "startsWith": "String",
        "istartsWith": "String", "endsWith": "String", "iendsWith": "String",
        "like": "String", "ilike": "String", "matches": "String",
        "imatches": "String", "notMatches": "String", "ieq": "String"}
    assert fields_of(sample_schema, "StringListFilter") == {
        "eq": "[String]", "neq": "[String]", "isnull": "Boolean",
        "contains": "[String!]", "containedBy": "[String!]",
        "overlaps": "[String!]", "lenEq": "Int", "lenNeq": "Int",
        "lenGt": "Int", "lenGte": "Int", "lenLt": "Int", "lenLte": "Int",
        "anyEq": "String", "allEq": "String"}
    # The other families are plugins: each is checked when it is linked.
    linked = linked_families(fraiseql_native)
    if "network" in linked:
        ip = fields_of(sample_schema, "IpAddressFilter")
        assert ip["inSubnet"] == "CIDR" and ip["inRange"] == "IpRangeInput"
        assert fields_of(sample_schema, "IpRangeInput") == {
            "from": "IpAddress!", "to": "IpAddress!"}
    if "date_range" in linked:
        assert fields_of(sample_schema, "DateRangeFilter")[
            "containsDate"] == "Date"
    if "ltree" in linked:
        assert fields_of(sample_schema, "LTreeFilter")["depthGt"] == "Int"
    if "json" in linked:
        assert fields_of(sample_schema, "JSONFilter")["hasAnyKeys"] == \
            "[String!]"
    if "full_text" in linked:
        assert fields_of(sample_schema, "FullTextFilter")["rankGt"] == \
            "RankThresholdInput"
    assert fields_of(sample_schema, "CoordinateFilter") == {
        "isnull": "Boolean", "eq": "CoordinateInput",
        "distanceWithin": "DistanceWithinInput"}
    assert fields_of(sample_schema, "AuthorWhereInput") == {
        "id": "UUIDFilter", "firstName": "StringFilter",
        "lastName": "StringFilter", "isnull": "Boolean",
        "AND": "[AuthorWhereInput!]", "OR": "[AuthorWhereInput!]",
        "NOT": "AuthorWhereInput"}


def test_vector_filters_use_the_distance_inputs():
    schema = build(build_sdl(every_kind_schema()).text)
    vector = fields_of(schema, "VectorFilter")
    assert vector["cosineDistance"] == "VectorDistanceInput"
    assert vector["hammingDistance"] == "BitVectorDistanceInput"
    assert fields_of(schema, "VectorDistanceInput") == {
        "vector": "[Float!]!", "threshold": "Float!",
        "comparison": "DistanceComparison"}
    comparison = schema.get_type("DistanceComparison")
    assert isinstance(comparison, GraphQLEnumType)
    assert [v.name for v in comparison.values] == ["lt", "lte", "gt", "gte"]


def test_every_builtin_operator_has_a_graphql_type():
    operators = fraiseql_native.operators()
    documented = documented_operator_keys()
    builtin = [op for op in operators if op["key"] in documented]
    assert documented and len(builtin) == len(documented)
    for op in builtin:
        assert op["graphql_type"], op["key"]


def test_the_case_insensitive_plugins_ieq_is_in_the_text_filters():
    schema = build(build_sdl(every_kind_schema()).text)
    for kind in ("String", "Email", "Hostname"):
        assert fields_of(schema, f"{kind}Filter")["ieq"] == "String", kind
    for kind in ("Int", "UUID", "JSON"):
        assert "ieq" not in fields_of(schema, f"{kind}Filter"), kind


def test_a_python_operator_appears_in_the_filters_of_its_kinds_only():
    out = json.loads(fresh("""
        def render(field, value, bind):
            return f"length({field.text}) > {bind(value, 'integer')}"
        fn.register_operator("where.test.sdl_longer", "longerThan",
                             ["String", "Email"], render, graphql_type="Int")
        fn.register_operator("where.test.sdl_any", "anything", ["Int"],
                             render)
        fn.register_operator("where.test.sdl_warm", "warmerThan", ["Float"],
                             render, graphql_type="[Celsius!]")
        schema = register_sample(fn, "sample")
        ops = {op["key"]: op["graphql_type"] for op in fn.operators()}
        print(json.dumps({"text": build_sdl(schema).text,
                          "graphql_type": ops["where.test.sdl_longer"]}))
        """))
    assert out["graphql_type"] == "Int"
    schema = build(out["text"])
    holders = sorted(name for name, t in schema.get_type_map().items()
                     if isinstance(t, GraphQLInputObjectType) and
                     "longerThan" in t.fields)
    assert holders == ["EmailFilter", "StringFilter"]
    assert fields_of(schema, "StringFilter")["longerThan"] == "Int"
    # No graphql_type: any JSON value.
    assert fields_of(schema, "IntFilter")["anything"] == "JSON"
    # An unknown name is declared as a custom scalar.
    assert fields_of(schema, "FloatFilter")["warmerThan"] == "[Celsius!]"
    assert isinstance(schema.get_type("Celsius"), GraphQLScalarType)


def test_register_operator_refuses_a_malformed_graphql_type():
    with pytest.raises(ValueError) as error:
        fraiseql_native.register_operator(
            "where.test.sdl_bad_type", "badType", ["Int"],
            lambda f, v, b: "TRUE", graphql_type="[Int")
    assert str(error.value) == (
        "invalid graphql_type '[Int' for operator where.test.sdl_bad_type: "
        "expected a GraphQL input type like String, [$field!] or $element")
    assert "where.test.sdl_bad_type" not in {
        op["key"] for op in fraiseql_native.operators()}


def test_a_view_with_an_allow_list_gets_its_own_filter_types():
    schema = fraiseql_native.Schema()
    schema.add_type("Address", {"city": "String", "zip": "Int"})
    schema.add_view("app.v_open", "Open", {"id": "UUID", "name": "String"})
    schema.add_view("app.v_shut", "Shut",
                    {"id": "UUID", "name": "String", "age": "Int",
                     "address": "Address", "tags": "[String]"},
                    operators=["eq", "where.string.starts_with"])
    built = build(build_sdl(schema).text)
    assert fields_of(built, "ShutWhereInput") == {
        "id": "ShutUUIDFilter", "name": "ShutStringFilter",
        "age": "ShutIntFilter", "address": "ShutAddressWhereInput",
        "tags": "ShutStringListFilter", "AND": "[ShutWhereInput!]",
        "OR": "[ShutWhereInput!]", "NOT": "ShutWhereInput"}
    assert fields_of(built, "ShutStringFilter") == {"eq": "String",
                                                    "startsWith": "String"}
    assert fields_of(built, "ShutIntFilter") == {"eq": "Int"}
    assert fields_of(built, "ShutStringListFilter") == {"eq": "[String]"}
    # isnull is not allowed: the nested filter has only the fields.
    assert fields_of(built, "ShutAddressWhereInput") == {
        "city": "ShutStringFilter", "zip": "ShutIntFilter",
        "AND": "[ShutAddressWhereInput!]", "OR": "[ShutAddressWhereInput!]",
        "NOT": "ShutAddressWhereInput"}
    # The other view keeps the shared filters with every operator.
    assert fields_of(built, "OpenWhereInput")["name"] == "StringFilter"
    assert "isnull" in fields_of(built, "StringFilter")


def test_fields_whose_kind_has_no_allowed_operator_are_left_out():
    schema = fraiseql_native.Schema()
    schema.add_view("app.v_t", "T", {"id": "UUID", "name": "String",
                                      "age": "Int"},
                    operators=["startsWith"])
    built = build(build_sdl(schema).text)
    assert fields_of(built, "TWhereInput") == {
        "name": "TStringFilter", "AND": "[TWhereInput!]",
        "OR": "[TWhereInput!]", "NOT": "TWhereInput"}


# --- orderBy -------------------------------------------------------------

def test_order_by_holds_the_orderable_fields(sample_schema):
    direction = sample_schema.get_type("OrderDirection")
    assert [v.name for v in direction.values] == [
        "ASC", "DESC", "ASC_NULLS_FIRST", "ASC_NULLS_LAST",
        "DESC_NULLS_FIRST", "DESC_NULLS_LAST"]
    user = fields_of(sample_schema, "UserOrderByInput")
    # JSON, lists (tags) and objects without an orderable field are out.
    assert "preferences" not in user and "tags" not in user
    assert user["address"] == "AddressOrderByInput"
    assert user["age"] == "OrderDirection"
    assert "coordinates" not in fields_of(sample_schema,
                                          "AddressOrderByInput")
    assert "searchTsv" not in fields_of(sample_schema, "PostOrderByInput")


def test_a_type_with_nothing_to_order_by_has_no_order_by():
    schema = fraiseql_native.Schema()
    schema.add_view("app.v_doc", "Doc", {"id": "JSON", "body": "JSON"})
    sdl = build_sdl(schema)
    assert "OrderByInput" not in sdl.text
    built = build(sdl.text)
    assert "orderBy" not in built.get_query_type().fields["docs"].args
    # A JSON id is no single root and cannot paginate.
    assert set(sdl.roots) == {"docs"}


# --- mutations -----------------------------------------------------------

def test_mutations(sample_schema):
    create = sample_schema.get_mutation_type().fields["createAccount"]
    assert str(create.type) == "CreateAccountResult!"
    assert args_of(create) == {"input": "CreateAccountInput!"}
    assert fields_of(sample_schema, "CreateAccountInput") == {
        "id": "UUID", "name": "String", "email": "String",
        "balance": "Decimal", "status": "String", "sleep": "Float"}
    result = sample_schema.get_type("CreateAccountResult")
    assert [t.name for t in result.types] == ["CreateAccountSuccess",
                                              "CreateAccountError"]
    success = {"status": "String", "message": "String",
               "entityId": "String", "entityType": "String",
               "account": "Account", "updatedFields": "[String]",
               "cascade": "JSON", "metadata": "JSON"}
    assert fields_of(sample_schema, "CreateAccountSuccess") == success
    assert fields_of(sample_schema, "CreateAccountError") == dict(
        success, code="Int")


def test_mutation_inputs_are_camel_case_with_required_and_list_kinds():
    schema = register_sample(fraiseql_native, "app")
    sdl = build_sdl(schema, mutations=[
        Mutation("tagPost", "app.tag_post",
                 {"post_id": "UUID!", "new_tags": "[String!]!",
                  "author": "Author"},
                 "TagPostOk", "TagPostFailed", description="Tags a post.\n"
                 "Twice if asked.")])
    built = build(sdl.text)
    assert fields_of(built, "TagPostInput") == {
        "postId": "UUID!", "newTags": "[String!]!", "author": "JSON"}
    assert fields_of(built, "TagPostOk")["entity"] == "JSON"
    assert "  # Tags a post.\n  # Twice if asked.\n  tagPost(input: " \
        "TagPostInput!): TagPostResult!" in sdl.text


def test_mutations_that_do_not_fit_are_refused():
    schema = register_sample(fraiseql_native, "app")

    def refused(match, **overrides):
        fields = dict(name="doIt", function="app.do_it",
                      input={"id": "UUID"}, success_type="DoItOk",
                      error_type="DoItError")
        fields.update(overrides)
        with pytest.raises(ValueError, match=match):
            build_sdl(schema, mutations=[Mutation(**fields)])

    refused("unknown kind 'Integer' in mutation doIt input key 'id'",
            input={"id": "Integer"})
    refused("entity_type 'Acount' of mutation doIt is not a registered type",
            entity_type="Acount")
    refused("'User' of the success type of mutation doIt collides with "
            "'User' of the type of view app.v_user", success_type="User")
    refused("success_type and error_type are both 'DoIt'",
            success_type="DoIt", error_type="DoIt")
    refused("invalid GraphQL name 'do it'", name="do it")
    with pytest.raises(ValueError, match="mutation 'doIt' is given twice"):
        m = Mutation("doIt", "app.do_it", {"id": "UUID"}, "DoItOk",
                     "DoItError")
        build_sdl(schema, mutations=[m, m])


# --- the arguments are usable: validation of real queries ----------------

VALID = [
    """{ users(where: {age: {gt: 30}, email: {ieq: "A@B.C"},
                        address: {cityName: {startsWith: "Par"}},
                        tags: {contains: ["dev"]},
                        OR: [{isActive: {eq: true}}, {nickname: {isnull: true}}]},
               orderBy: [{age: DESC_NULLS_LAST}, {address: {cityName: ASC}}],
               limit: 20, offset: 5) { id firstName address { cityName } } }""",
    """query($after: String, $where: UserWhereInput) {
         usersConnection(where: $where, orderBy: [{createdAt: DESC}],
                         first: 10, after: $after) {
           totalCount
           edges { cursor node { id email } }
           pageInfo { hasNextPage endCursor } } }""",
    """{ user(id: "6f1c0000-0000-4000-8000-000000000001") { id } }""",
    """{ users(where: {ipAddress: {inRange: {from: "10.0.0.1", to: "10.0.0.9"}},
                      availability: {containsDate: "2024-03-15"},
                      address: {coordinates: {distanceWithin:
                                {lat: 48.8, lng: 2.3, meters: 2000}}},
                      preferences: {contains: {theme: "dark"}}}) { id } }""",
    pytest.param(
        """{ users(where: {orgPath: {depthGt: 1,
                                     matchesAnyLquery: ["*.db"]}}) { id } }""",
        marks=pytest.mark.skipif(
            "ltree" not in linked_families(fraiseql_native),
            reason="the ltree plugin is not linked")),
    """{ posts(where: {searchTsv: {rankGt: {query: "x", threshold: 0.1}},
                      author: {id: {eq: "6f1c0000-0000-4000-8000-000000000001"}}})
         { title author { firstName } } }""",
    """mutation($in: CreateAccountInput!) { createAccount(input: $in) {
         __typename
         ... on CreateAccountSuccess { status account { id name } }
         ... on CreateAccountError { code message } } }""",
]

INVALID = [
    ('{ users(where: {age: {startsWith: "1"}}) { id } }', "startsWith"),
    ("{ users(orderBy: [{age: UP}]) { id } }", "UP"),
    ("{ users(orderBy: [{preferences: ASC}]) { id } }", "preferences"),
    ("{ usersConnection(limit: 3) { totalCount } }", "limit"),
    ("{ user { id } }", "id"),
    ("{ posts { searchTsv } }", "searchTsv"),
    ('{ users(where: {tags: {anyEq: 3}}) { id } }', "anyEq"),
]


@pytest.mark.parametrize("query", VALID)
def test_queries_using_every_argument_validate(sample_schema, query):
    assert graphql.validate(sample_schema, graphql.parse(query)) == []


@pytest.mark.parametrize("query,word", INVALID)
def test_wrong_arguments_do_not_validate(sample_schema, query, word):
    errors = graphql.validate(sample_schema, graphql.parse(query))
    assert errors and word in " ".join(e.message for e in errors)


# --- Schema.describe() ---------------------------------------------------

def test_describe_gives_the_registry_as_data():
    schema = register_sample(fraiseql_native, "app")
    schema.add_view("app.v_shut", "Shut", {"id": "UUID"},
                    operators=["eq"], text_search_config="simple")
    described = schema.describe()
    assert set(described) == {"types", "views"}
    assert described["types"]["Author"][1] == {
        "name": "firstName", "key": "first_name", "kind": "String",
        "object_type": "", "element_kind": "", "column": "",
        "fk_column": ""}
    views = {v["name"]: v for v in described["views"]}
    assert [v["name"] for v in described["views"]] == sorted(views)
    post = views["app.v_post"]
    assert post["type"] == "Post" and post["jsonb_column"] == "data"
    assert post["columns"][:2] == [["id", "uuid"], ["tenant_id", "uuid"]]
    fields = {f["name"]: f for f in post["fields"]}
    assert fields["id"]["column"] == "id"
    assert fields["author"] == {
        "name": "author", "key": "author", "kind": "Object",
        "object_type": "Author", "element_kind": "", "column": "",
        "fk_column": "author_id"}
    assert fields["tags"]["kind"] == "List"
    assert fields["tags"]["element_kind"] == "String"
    assert fields["searchTsv"]["kind"] == "FullText"
    assert post["allowed_operators"] == []
    assert views["app.v_shut"]["allowed_operators"] == ["eq"]
    assert views["app.v_shut"]["text_search_config"] == "simple"
