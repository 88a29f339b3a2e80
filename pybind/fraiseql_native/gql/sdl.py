"""The GraphQL schema (SDL text) of a fraiseql_native.Schema.

    sdl = build_sdl(schema, names={"app.v_person": "people"},
                    mutations=[Mutation("createAccount", "app.create_account",
                                        {"id": "UUID!", "name": "String"},
                                        "CreateAccountSuccess",
                                        "CreateAccountError")])
    sdl.text                 # SDL that graphql-core 2 builds a schema from
    sdl.roots["users"]       # Root(field, kind, view, type_name, mutation)

Everything comes from the schema registry (Schema.describe()) and the
operator registry (fraiseql_native.operators(), read when build_sdl is
called: plugins and operators registered from Python are included). The
text is deterministic: the same registries give the same bytes.

Naming rules, for a view whose type is T:

- Root query fields. List: lowerFirst(plural(T)) (`User` -> `users`,
  `Category` -> `categories`, `Address` -> `addresses`), or the name given
  for the view in `names` (view name -> plural list field name). Single
  object: lowerFirst(T) (`user`), only when T has an `id` field of a
  scalar kind; its argument is `id: <that kind's scalar>!`. Connection:
  `<plural>Connection`, only when the view can be paginated (an `id` field
  of an orderable kind, or an `id` column of type uuid, an integer type,
  text or varchar: the planner's tiebreaker).

      users(where: UserWhereInput, orderBy: [UserOrderByInput!], limit: Int,
            offset: Int): [User!]!
      user(id: UUID!): User
      usersConnection(where: UserWhereInput, orderBy: [UserOrderByInput!],
                      first: Int, after: String, last: Int,
                      before: String): UserConnection!

  with `type UserConnection { edges: [UserEdge!]! pageInfo: PageInfo!
  totalCount: Int! }`, `type UserEdge { cursor: String! node: User! }` and
  one `type PageInfo`. orderBy is left out when T has no orderable field.
- Object types: every registered type (Schema.add_type) and every view
  type, fields nullable, in declaration order. Kinds String, Int, Float,
  Boolean and ID are the built-in scalars; Vector is [Float]; every other
  scalar kind is a custom scalar of its kind name (UUID, Email, Date,
  JSON, ...). FullText fields are filter-only: not in the object type.
- Filters: `<T>WhereInput` has one entry per filterable field, then
  `AND: [<T>WhereInput!]`, `OR: [<T>WhereInput!]` and `NOT: <T>WhereInput`.
  A scalar field of kind K takes `<K>Filter` (StringFilter, UUIDFilter,
  ...), a list field `<Elem>ListFilter` (StringListFilter; for a list of
  objects of type O, OListFilter), an object field of type O `<O>WhereInput`
  (O's fields, AND/OR/NOT, and the operators registered for Object fields,
  such as isnull, unless O has a field of that name). `<K>Filter` holds
  exactly the operators registered for kind K, by canonical name, in
  registration order, each typed by its graphql_type: `$field` is the
  field's own input type (`[String]` for a [String] field; JSON for an
  object), `$element` a list's element type; an empty graphql_type is JSON.
  A field whose kind has no operator is left out. When a registered type O
  is also a view's type, the view's root `<O>WhereInput` is the nested one
  (with the Object operators; the core rejects them at the root).
- A view with an operator allow-list gets its own filter types, prefixed
  with T: `<T><K>Filter`, `<T><Elem>ListFilter`, `<T><O>WhereInput` (its
  root filter stays `<T>WhereInput`), holding only the allowed operators.
- orderBy: `<T>OrderByInput` has an entry per orderable field: scalar
  kinds but JSON, List, Coordinate, Vector and FullText take
  `OrderDirection` (ASC DESC ASC_NULLS_FIRST ASC_NULLS_LAST
  DESC_NULLS_FIRST DESC_NULLS_LAST, the planner's spellings); an object
  field of type O takes `<O>OrderByInput` when O has an orderable field.
- Structured operator values have input types of their own, defined when
  an operator uses them: IpRangeInput {from, to} (inRange),
  RankThresholdInput {query, threshold} (rankGt ...), VectorDistanceInput
  and BitVectorDistanceInput {vector, threshold, comparison:
  DistanceComparison} (cosineDistance ..., hammingDistance ...),
  CoordinateInput {lat, lng} (Coordinate eq), DistanceWithinInput {lat,
  lng, meters} (distanceWithin). Any other name in a graphql_type that the
  SDL does not define is declared as a custom scalar.
- Mutations: Mutation(name, ...) gives `name(input: <Name>Input!):
  <Name>Result!` (Name = upperFirst(name)) with `input <Name>Input` holding
  the input keys in camelCase (the compiler sends the snake_case keys to the
  function), `union <Name>Result = <success_type> | <error_type>`, and the
  two object types: status, message, entityId, entityType: String, then
  `<entity_field>: <entity_type>` (or `entity: JSON`), updatedFields:
  [String], cascade: JSON, metadata: JSON; the error type also `code: Int`.
  An input kind is a scalar kind name, `[Kind]`, with `!` for a required
  value; a registered type name is taken as JSON.

Every name is checked once: two different definitions under one name (a
registered type called PageInfo, a view type named like a generated input
such as UserWhereInput, two root fields `users`) raise ValueError naming
both. Identical definitions from two places (two views of one type) are
one definition.
"""

import dataclasses
import re
from typing import Dict, Mapping, Optional, Sequence

from .. import _native

__all__ = ["Mutation", "Root", "Sdl", "build_sdl"]


@dataclasses.dataclass(frozen=True)
class Mutation:
    """A root mutation field over a PostgreSQL function returning the
    mutation_response type. `input` maps the JSONB input keys (snake_case)
    to kinds ("UUID!", "String", "[String]"); `context_args` name the
    request context entries the function takes before the input
    (tenant_id, user_id)."""
    name: str
    function: str
    input: Mapping[str, str]
    success_type: str
    error_type: str
    entity_field: str = ""
    entity_type: str = ""
    context_args: Sequence[str] = ()
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Root:
    """One root field: kind "list", "one", "connection" (over `view`, rows
    of `type_name`) or "mutation" (`mutation`; type_name its result
    union)."""
    field: str
    kind: str
    view: str
    type_name: str
    mutation: Optional[Mutation] = None


@dataclasses.dataclass(frozen=True)
class Sdl:
    text: str
    roots: Dict[str, Root]


_BUILTIN_SCALARS = ("String", "Int", "Float", "Boolean", "ID")
# Scalar kinds as where/schema.cc spells them (FieldKindName), List and
# Object aside.
_SCALAR_KINDS = (
    "String", "Email", "Hostname", "Int", "Float", "Decimal", "Port",
    "Boolean", "UUID", "ID", "Date", "DateTime", "IpAddress", "CIDR",
    "MacAddress", "LTree", "DateRange", "JSON", "FullText", "Vector",
    "Coordinate")
# Kinds the planner cannot order by (their SQL type is jsonb or tsvector).
_UNORDERABLE = {"JSON", "List", "Coordinate", "Vector", "FullText", "Object"}
# Kinds an `id` argument can take (a single value the planner compares).
_ID_KINDS = set(_SCALAR_KINDS) - _UNORDERABLE

_DIRECTIONS = ("ASC", "DESC", "ASC_NULLS_FIRST", "ASC_NULLS_LAST",
               "DESC_NULLS_FIRST", "DESC_NULLS_LAST")

# Input types of structured operator values (OperatorInfo::graphql_type in
# where/operator.h names them), as the operators' render functions read
# them.
_STRUCTURED = {
    "IpRangeInput": ("input", ["from: IpAddress!", "to: IpAddress!"]),
    "RankThresholdInput": ("input", ["query: String!", "threshold: Float!"]),
    "DistanceComparison": ("enum", ["lt", "lte", "gt", "gte"]),
    "VectorDistanceInput": ("input", [
        "vector: [Float!]!", "threshold: Float!",
        "comparison: DistanceComparison"]),
    # A bit string ("0101") or a list of 0/1 or booleans.
    "BitVectorDistanceInput": ("input", [
        "vector: JSON!", "threshold: Float!",
        "comparison: DistanceComparison"]),
    "CoordinateInput": ("input", ["lat: Float!", "lng: Float!"]),
    "DistanceWithinInput": ("input", [
        "lat: Float!", "lng: Float!", "meters: Float!"]),
}

_FIXED = {
    "PageInfo": ("type", ["hasNextPage: Boolean!", "hasPreviousPage: Boolean!",
                          "startCursor: String", "endCursor: String"]),
    "OrderDirection": ("enum", list(_DIRECTIONS)),
}

# Output order of the definitions: by category, then by name.
_CATEGORY = {"type": 0, "union": 1, "input": 2, "enum": 3, "scalar": 4}

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


def _lower_first(name):
    return name[:1].lower() + name[1:]


def _upper_first(name):
    return name[:1].upper() + name[1:]


def _plural(word):
    lower = word.lower()
    if lower.endswith("y") and len(word) > 1 and lower[-2] not in "aeiou":
        return word[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def _camel(key):
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _scalar(kind):
    """The GraphQL type of a scalar kind's values."""
    if kind == "Vector":
        return "[Float]"
    if kind == "FullText":
        return "String"
    return kind


def _is_graphql_name(name):
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


class _Builder:
    def __init__(self, described, operators, names, mutations):
        self.types = described["types"]
        self.views = described["views"]
        self.operators = operators
        self.names = dict(names or {})
        self.mutations = list(mutations)
        # name -> (category, body lines, origin); lines None: reserved.
        self.defs = {}
        self.used = set()  # type names referenced by definitions
        self.roots = {}    # query field -> (Root, field definition, origin)
        self.mutation_roots = {}  # mutation field -> the same
        self._reserve()

    # Definitions ---------------------------------------------------------

    def _reserve(self):
        for name in _BUILTIN_SCALARS:
            self.defs[name] = ("builtin", None, "the built-in scalar " + name)
        for name in _SCALAR_KINDS:
            if name not in _BUILTIN_SCALARS and name not in ("FullText",
                                                             "Vector"):
                self.defs[name] = ("reserved", None,
                                   f"the scalar of kind {name}")
        for name in _STRUCTURED:
            self.defs[name] = ("reserved", None,
                               f"the operator value input {name}")
        self.defs["PageInfo"] = ("reserved", None, "the connections' PageInfo")
        self.defs["OrderDirection"] = ("reserved", None,
                                       "the orderBy enum OrderDirection")
        self.defs["Query"] = ("reserved", None, "the root type Query")
        self.defs["Mutation"] = ("reserved", None, "the root type Mutation")

    def define(self, name, category, lines, origin):
        """Adds a definition; identical ones from two places are one."""
        existing = self.defs.get(name)
        if existing is not None:
            if existing[1] is None:
                raise ValueError(
                    f"GraphQL type name {name!r} of {origin} collides with "
                    f"{existing[2]}")
            if existing[0] != category or existing[1] != lines:
                raise ValueError(
                    f"GraphQL type name {name!r} of {origin} collides with "
                    f"{name!r} of {existing[2]}")
            return
        self.defs[name] = (category, lines, origin)

    def use(self, type_expression):
        self.used.update(_NAME.findall(type_expression))
        return type_expression

    def _define_used(self):
        """Defines what definitions use: PageInfo, OrderDirection, the
        structured inputs and the custom scalars."""
        done = set()
        while self.used - done:
            for name in sorted(self.used - done):
                done.add(name)
                category, lines, _ = self.defs.get(name, (None, None, None))
                if lines is not None or category == "builtin":
                    continue
                if name in _STRUCTURED or name in _FIXED:
                    category, body = (_STRUCTURED.get(name) or _FIXED[name])
                    self.defs[name] = (category, list(body), "")
                    if category != "enum":
                        for line in body:
                            self.use(line.split(":", 1)[1])
                else:
                    self.defs[name] = ("scalar", [], "")

    # Types of values -----------------------------------------------------

    def output_type(self, field):
        kind = field["kind"]
        if kind == "Object":
            return field["object_type"]
        if kind == "List":
            if field["element_kind"] == "Object":
                return f"[{field['object_type']}]"
            return f"[{_scalar(field['element_kind'])}]"
        return _scalar(kind)

    def element_input(self, field):
        if field["element_kind"] == "Object":
            return "JSON"
        return _scalar(field["element_kind"])

    def operator_type(self, op, field):
        """The operator's graphql_type with its placeholders resolved."""
        expression = op.get("graphql_type") or "JSON"
        kind = field["kind"]
        if kind == "List":
            element = self.element_input(field)
            own = f"[{element}]"
        else:
            own = "JSON" if kind == "Object" else _scalar(kind)
            element = own
        return (expression.replace("$element", element)
                .replace("$field", own))

    # Filters -------------------------------------------------------------

    def operators_for(self, kind, allowed):
        return [op for op in self.operators
                if kind in op["kinds"] and
                (not allowed or op["name"] in allowed or op["key"] in allowed)]

    def leaf_filter(self, field, prefix, allowed, origin):
        """The filter type name of a scalar or list field, or None when no
        operator applies to it."""
        kind = field["kind"]
        if kind == "List":
            element = (field["object_type"] if field["element_kind"] == "Object"
                       else field["element_kind"])
            name = f"{prefix}{element}ListFilter"
        else:
            name = f"{prefix}{kind}Filter"
        ops = self.operators_for(kind, allowed)
        if not ops:
            return None
        lines = [f"{op['name']}: {self.use(self.operator_type(op, field))}"
                 for op in ops]
        self.define(name, "input", lines, origin)
        return name

    def where_input(self, name, fields, type_name, prefix, allowed,
                    object_operators, origin):
        """Defines `name`, the filter of objects of type `type_name`."""
        lines = []
        for field in fields:
            if field["kind"] == "Object":
                nested = field["object_type"]
                filter_name = self.where_input(
                    f"{prefix}{nested}WhereInput", self.types[nested], nested,
                    prefix, allowed, True,
                    f"the filter of {nested} (field {field['name']} of "
                    f"{type_name})")
            else:
                filter_name = self.leaf_filter(
                    field, prefix, allowed,
                    f"the filter of field {field['name']} of {type_name}")
            if filter_name is not None:
                lines.append(f"{field['name']}: {self.use(filter_name)}")
        if object_operators:
            taken = {f["name"] for f in fields} | {f["key"] for f in fields}
            taken |= {"AND", "OR", "NOT"}
            for op in self.operators_for("Object", allowed):
                if op["name"] not in taken:
                    lines.append(
                        f"{op['name']}: "
                        f"{self.use(self.operator_type(op, {'kind': 'Object'}))}")
        lines += [f"AND: [{name}!]", f"OR: [{name}!]", f"NOT: {name}"]
        self.define(name, "input", lines, origin)
        return name

    def order_by_input(self, type_name, fields, origin):
        """Defines `<type_name>OrderByInput`; None when nothing orders."""
        lines = []
        for field in fields:
            if field["kind"] == "Object":
                nested = field["object_type"]
                nested_name = self.order_by_input(
                    nested, self.types[nested],
                    f"the orderBy of {nested} (field {field['name']} of "
                    f"{type_name})")
                if nested_name is not None:
                    lines.append(f"{field['name']}: {self.use(nested_name)}")
            elif field["kind"] not in _UNORDERABLE:
                lines.append(f"{field['name']}: {self.use('OrderDirection')}")
        if not lines:
            return None
        name = f"{type_name}OrderByInput"
        self.define(name, "input", lines, origin)
        return name

    # Types ---------------------------------------------------------------

    def object_type(self, type_name, fields, origin):
        lines = [f"{f['name']}: {self.use(self.output_type(f))}"
                 for f in fields if f["kind"] != "FullText"]
        if not lines:
            raise ValueError(f"type {type_name} of {origin} has no field to "
                             f"select (FullText fields are filter-only)")
        self.define(type_name, "type", lines, origin)

    def add_root(self, field, root, line, origin):
        if field in self.roots:
            raise ValueError(
                f"root field {field!r} of {origin} collides with "
                f"{field!r} of {self.roots[field][2]}")
        self.roots[field] = (root, line, origin)

    def paginates(self, view):
        for field in view["fields"]:
            if field["name"] == "id" or field["key"] == "id":
                return field["kind"] in _ID_KINDS
        for column, pg_type in view["columns"]:
            if column == "id":
                t = re.sub(r"\s+", " ", pg_type.strip().lower())
                t = re.sub(r"\(.*\)$", "", t).strip()
                return t in ("uuid", "smallint", "integer", "int", "int2",
                             "int4", "int8", "bigint", "text", "varchar",
                             "character varying")
        return False

    def view(self, view):
        type_name = view["type"]
        fields = view["fields"]
        view_name = view["name"]
        origin = f"view {view_name}"
        self.object_type(type_name, fields, f"the type of {origin}")
        allowed = set(view["allowed_operators"])
        prefix = type_name if allowed else ""
        where = self.where_input(
            f"{type_name}WhereInput", fields, type_name, prefix, allowed,
            type_name in self.types, f"the filter of {origin}")
        order_by = self.order_by_input(type_name, fields,
                                       f"the orderBy of {origin}")
        plural = self.names.get(view_name) or _lower_first(_plural(type_name))
        filters = f"where: {where}"
        if order_by is not None:
            filters += f", orderBy: [{order_by}!]"
        self.add_root(plural, Root(plural, "list", view_name, type_name),
                      f"{plural}({filters}, limit: Int, offset: Int): "
                      f"[{type_name}!]!", origin)
        id_field = next((f for f in fields if f["name"] == "id"), None)
        if id_field is not None and id_field["kind"] in _ID_KINDS:
            single = _lower_first(type_name)
            id_type = self.use(_scalar(id_field["kind"]))
            self.add_root(single, Root(single, "one", view_name, type_name),
                          f"{single}(id: {id_type}!): {type_name}", origin)
        if self.paginates(view):
            connection = f"{plural}Connection"
            self.define(f"{type_name}Connection", "type", [
                f"edges: [{type_name}Edge!]!", "pageInfo: PageInfo!",
                "totalCount: Int!"], f"the connection of {origin}")
            self.define(f"{type_name}Edge", "type", [
                "cursor: String!", f"node: {type_name}!"],
                f"the connection of {origin}")
            self.use("PageInfo")
            self.add_root(
                connection,
                Root(connection, "connection", view_name, type_name),
                f"{connection}({filters}, first: Int, after: String, "
                f"last: Int, before: String): {type_name}Connection!", origin)

    # Mutations -----------------------------------------------------------

    def input_kind(self, kind, origin):
        text = kind.strip()
        required = text.endswith("!")
        if required:
            text = text[:-1].strip()
        if text.startswith("[") and text.endswith("]"):
            inner = self.input_kind(text[1:-1], origin)
            return f"[{inner}]" + ("!" if required else "")
        if text in _SCALAR_KINDS:
            graphql_type = _scalar(text)
        elif text in self.types:
            graphql_type = "JSON"
        else:
            raise ValueError(
                f"unknown kind {kind!r} in {origin}: expected a scalar kind "
                f"({', '.join(_SCALAR_KINDS)}), a registered type, or [Kind], "
                f"with ! for a required value")
        return graphql_type + ("!" if required else "")

    def mutation(self, m):
        if not isinstance(m, Mutation):
            raise TypeError(f"mutations must be gql.sdl.Mutation, got "
                            f"{type(m).__name__}")
        origin = f"mutation {m.name}"
        for name in (m.name, m.success_type, m.error_type):
            if not _is_graphql_name(name):
                raise ValueError(f"invalid GraphQL name {name!r} in {origin}")
        if m.entity_field and not _is_graphql_name(m.entity_field):
            raise ValueError(f"invalid entity_field {m.entity_field!r} in "
                             f"{origin}")
        if m.success_type == m.error_type:
            raise ValueError(f"{origin}: success_type and error_type are both "
                             f"{m.success_type!r}")
        if m.name in self.mutation_roots:
            raise ValueError(f"mutation {m.name!r} is given twice")
        type_base = _upper_first(m.name)
        input_name = f"{type_base}Input"
        result_name = f"{type_base}Result"
        lines = []
        seen = {}
        for key, kind in m.input.items():
            field = _camel(key)
            if not _is_graphql_name(field):
                raise ValueError(f"input key {key!r} of {origin} is not a "
                                 f"GraphQL name in camelCase ({field!r})")
            if field in seen:
                raise ValueError(f"input keys {seen[field]!r} and {key!r} of "
                                 f"{origin} are both {field!r} in GraphQL")
            seen[field] = key
            lines.append(f"{field}: "
                         f"{self.use(self.input_kind(kind, f'{origin} input key {key!r}'))}")
        if not lines:
            raise ValueError(f"{origin} has no input keys")
        self.define(input_name, "input", lines, f"the input of {origin}")
        if m.entity_type:
            if m.entity_type not in self.defs or \
                    self.defs[m.entity_type][0] != "type":
                raise ValueError(f"entity_type {m.entity_type!r} of {origin} "
                                 f"is not a registered type or a view type")
        entity_type = self.use(m.entity_type or "JSON")
        common = ["status: String", "message: String", "entityId: String",
                  "entityType: String",
                  f"{m.entity_field or 'entity'}: {entity_type}",
                  "updatedFields: [String]", "cascade: JSON", "metadata: JSON"]
        self.use("JSON")
        self.define(m.success_type, "type", common,
                    f"the success type of {origin}")
        self.define(m.error_type, "type", common + ["code: Int"],
                    f"the error type of {origin}")
        self.define(result_name, "union", [m.success_type, m.error_type],
                    f"the result of {origin}")
        line = f"{m.name}(input: {input_name}!): {result_name}!"
        if m.description:
            line = "".join(f"# {text}\n  " for text in
                           m.description.strip().splitlines()) + line
        self.mutation_roots[m.name] = (
            Root(m.name, "mutation", "", result_name, m), line, origin)

    # The text ------------------------------------------------------------

    def build(self):
        for name, view_name in self.names.items():
            if name not in {v["name"] for v in self.views}:
                raise ValueError(f"names: {name!r} is not a registered view")
            if not _is_graphql_name(view_name):
                raise ValueError(f"names: {view_name!r} (for {name}) is not "
                                 f"a GraphQL name")
        if not self.views:
            raise ValueError("the schema has no views: a GraphQL schema needs "
                             "at least one query field")
        for type_name in sorted(self.types):
            self.object_type(type_name, self.types[type_name],
                             f"registered type {type_name}")
        for view in self.views:
            self.view(view)
        for m in self.mutations:
            self.mutation(m)
        self._define_used()

        out = ["schema {", "  query: Query"]
        if self.mutation_roots:
            out.append("  mutation: Mutation")
        out += ["}", "", "type Query {"]
        out += [f"  {line}" for _, line, _ in self.roots.values()]
        out += ["}", ""]
        if self.mutation_roots:
            out.append("type Mutation {")
            out += [f"  {line}" for _, line, _ in self.mutation_roots.values()]
            out += ["}", ""]
        definitions = sorted(
            ((_CATEGORY[category], name, category, lines)
             for name, (category, lines, _) in self.defs.items()
             if lines is not None),
            key=lambda d: (d[0], d[1]))
        for _, name, category, lines in definitions:
            if category == "scalar":
                out += [f"scalar {name}", ""]
            elif category == "union":
                out += [f"union {name} = {' | '.join(lines)}", ""]
            else:
                out.append(f"{category} {name} {{")
                out += [f"  {line}" for line in lines]
                out += ["}", ""]
        roots = {field: root for field, (root, _, _) in self.roots.items()}
        for field, (root, _, origin) in self.mutation_roots.items():
            if field in roots:
                # Sdl.roots maps a field name to what it runs, for both
                # root types: one name cannot mean both.
                raise ValueError(
                    f"mutation {field!r} has the name of the query field "
                    f"{field!r} of {self.roots[field][2]}; rename the "
                    "mutation (or the view's fields with names=)")
            roots[field] = root
        return Sdl("\n".join(out), roots)


def build_sdl(schema, *, names=None, mutations=()) -> Sdl:
    """The SDL of `schema` (a fraiseql_native.Schema) with the operators
    registered now and `mutations` (gql.sdl.Mutation). `names` maps a view
    name to its plural list field name. ValueError for a name collision, an
    unknown view in `names`, or a mutation that does not fit (see the
    module docstring)."""
    return _Builder(schema.describe(), _native.operators(), names,
                    mutations).build()
