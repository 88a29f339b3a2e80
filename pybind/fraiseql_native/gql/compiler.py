"""GraphQL documents compiled once into query definitions with variable slots.

    api = Api(sdl)                       # the schema (gql.sdl.build_sdl)
    op = api.compile(text, operation_name)
    op.kind                              # "query", "mutation" or "fallback"

A compiled query is one QueryDefinition (proto/query.proto) whose root
fields hold every constant argument already serialised; arguments that use
variables are slots filled per request (`op.definition(variables)` returns
the bytes Repository.execute takes: all roots, one round trip). Fragments
(named and inline), aliases, `__typename` and @skip/@include are resolved
here; @skip/@include on a variable give one plan per combination of those
variables' values, built on first use.

Compilation runs graphql-core's validation (all the spec's rules but
OverlappingFieldsCanBeMerged, which is quadratic in the number of fields;
the compiler checks same-key fields itself, in linear time, as it merges
them, over the whole document whatever @skip/@include say), so errors are
the spec's: `{"message", "locations"}`. Variables are coerced per request
by the spec's rules (`_coercer`: `Variable "$id" got invalid value ...`),
and literals are shaped by their declared types.

What the compiler does not cover is executed by graphql-core over the
repository (resolver_path.py): introspection (`__schema`, `__type`) and
connections selecting `edges` or `node` under two response keys.

Limits (linear work for any input): documents over `max_document_bytes`
are refused before parsing; fields collected over all fragment expansions
(before same-key merging) are bounded by `max_fields`; nesting by
`max_depth`.
"""

import math
from collections import OrderedDict
from decimal import Decimal

import graphql

if not str(getattr(graphql, "__version__", "2")).startswith("2."):
    raise ImportError(
        "fraiseql_native.gql is built on graphql-core 2 (Debian 12's "
        f"python3-graphql-core); graphql-core {graphql.__version__} is "
        "installed, whose AST and validation API differ. "
        "fraiseql_native.resolvers works with both.")

from graphql.language import ast as gast  # noqa: E402
from graphql.language.location import get_location
from graphql.type.definition import (GraphQLEnumType, GraphQLList,
                                     GraphQLNonNull, GraphQLScalarType,
                                     GraphQLUnionType)
from graphql.validation.rules import specified_rules
from graphql.utils.type_comparators import do_types_overlap
from graphql.utils.type_from_ast import type_from_ast
from graphql.validation.rules.overlapping_fields_can_be_merged import \
    OverlappingFieldsCanBeMerged
from graphql.validation.rules.possible_fragment_spreads import \
    PossibleFragmentSpreads

from .json_text import RawNumber, dumps

__all__ = ["Api", "CompileError", "Compiled", "MAX_DEPTH", "MAX_FIELDS"]

MAX_DOCUMENT_BYTES = 100 * 1024
MAX_FIELDS = 10000
MAX_DEPTH = 64



class _PossibleFragmentSpreads(PossibleFragmentSpreads):
    """graphql-core 2.3 compares an inline fragment's type with the
    enclosing field's wrapped type (`[User!]!`) and refuses `... on User`
    inside a list; this compares the named types, as the spec does."""

    def enter_InlineFragment(self, node, key, parent, path, ancestors):
        if node.type_condition is None:
            return
        schema = self.context.get_schema()
        frag_type = type_from_ast(schema, node.type_condition)
        parent_type = self.context.get_parent_type()
        if frag_type and parent_type and \
                not do_types_overlap(schema, frag_type, _named(parent_type)):
            self.context.report_error(graphql.GraphQLError(
                self.type_incompatible_anon_spread_message(
                    _named(parent_type), frag_type), [node]))


_RULES = [_PossibleFragmentSpreads if r is PossibleFragmentSpreads else r
          for r in specified_rules if r is not OverlappingFieldsCanBeMerged]
_BUILTIN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}

# QueryDefinition.roots and RootField field numbers (proto/query.proto).
_ROOTS = 1
_WHERE, _ORDER_BY, _LIMIT, _OFFSET = 4, 5, 6, 7
_FIRST, _AFTER, _LAST, _BEFORE = 12, 13, 14, 15

_KEYWORDS = {"orderBy": "order_by"}
_CANONICAL_PAGE_INFO = ["hasNextPage", "hasPreviousPage", "startCursor",
                        "endCursor"]


class CompileError(Exception):
    """A document that cannot run: `errors` is the response's error list."""

    def __init__(self, errors):
        super().__init__(errors[0]["message"] if errors else "invalid")
        self.errors = errors


def _literal(node):
    """A custom scalar's literal as a Python value (JSON-like)."""
    if isinstance(node, gast.ObjectValue):
        return {f.name.value: _literal(f.value) for f in node.fields}
    if isinstance(node, gast.ListValue):
        return [_literal(v) for v in node.values]
    if isinstance(node, gast.IntValue):
        return int(node.value)
    if isinstance(node, gast.FloatValue):
        return RawNumber(node.value)
    if isinstance(node, (gast.StringValue, gast.EnumValue, gast.BooleanValue)):
        return node.value
    return None


def _identity(value):
    return value


def patch_custom_scalars(schema):
    """graphql-core 2's build_ast_schema gives custom scalars functions that
    serialise to None and parse to False; ours carry values through as they
    are (the core checks them against the field's kind). Unions resolve
    their member from the `__typename` of the value."""
    for type_ in schema.get_type_map().values():
        if isinstance(type_, GraphQLScalarType) and \
                type_.name not in _BUILTIN_SCALARS:
            type_.serialize = _identity
            type_.parse_value = _identity
            type_.parse_literal = _literal
        elif isinstance(type_, GraphQLUnionType):
            members = {t.name: t for t in type_.types}
            type_.resolve_type = (
                lambda value, info, members=members:
                members.get(value.get("__typename"))
                if isinstance(value, dict) else None)


def _named(type_):
    while isinstance(type_, (GraphQLList, GraphQLNonNull)):
        type_ = type_.of_type
    return type_


def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_bytes(number, value):
    """One RootField field in protobuf wire format: int64 or string."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value & 0xFFFFFFFFFFFFFFFF)
    data = value.encode("utf-8")
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _message(number, body):
    return _varint(number << 3 | 2) + _varint(len(body)) + body


class _Source:
    """The document text and its locations."""

    def __init__(self, text):
        self.source = graphql.Source(text)

    def locations(self, *nodes):
        out = []
        for node in nodes:
            if node is not None and node.loc is not None:
                loc = get_location(self.source, node.loc.start)
                out.append({"line": loc.line, "column": loc.column})
        return out

    def error(self, message, *nodes):
        error = {"message": message}
        locations = self.locations(*nodes)
        if locations:
            error["locations"] = locations
        return error


def _format(error):
    """graphql-core's GraphQLError as a response error."""
    out = {"message": str(error.message)}
    locations = error.locations
    if locations:
        out["locations"] = [{"line": l.line, "column": l.column}
                            for l in locations]
    return out


# -- values -------------------------------------------------------------------

class _Template:
    """An argument value that may hold variables: `fill(variables)` gives
    the value. Static ones hold their value."""

    __slots__ = ("static", "value", "fill")

    def __init__(self, static, value=None, fill=None):
        self.static = static
        self.value = value
        self.fill = fill if fill is not None else (lambda v, x=value: x)


def _template(node, type_=None):
    """The template of a value in the document, shaped by its input type
    `type_` (graphql-core's, None when unknown) as the spec's input
    coercion does: a single value where a list is expected becomes a list
    of one, an Int literal for an ID becomes its string."""
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(node, gast.Variable):
        name = node.name.value
        return _Template(False, fill=lambda v, n=name: v.get(n))
    if isinstance(type_, GraphQLList) and \
            not isinstance(node, gast.ListValue):
        item = _template(node, type_.of_type)
        if item.static:
            return _Template(True, [item.value])
        return _Template(False, fill=lambda v, f=item.fill: [f(v)])
    if isinstance(node, gast.ListValue):
        item_type = type_.of_type if isinstance(type_, GraphQLList) else None
        items = [_template(v, item_type) for v in node.values]
        if all(t.static for t in items):
            return _Template(True, [t.value for t in items])
        fills = [t.fill for t in items]
        return _Template(False, fill=lambda v: [f(v) for f in fills])
    if isinstance(node, gast.ObjectValue):
        fields = getattr(type_, "fields", None) or {}
        items = []
        for f in node.fields:
            field = fields.get(f.name.value)
            items.append((f.name.value,
                          _template(f.value, field.type if field else None)))
        if all(t.static for _, t in items):
            return _Template(True, {k: t.value for k, t in items})
        fills = [(k, t.fill) for k, t in items]
        return _Template(False, fill=lambda v: {k: f(v) for k, f in fills})
    if isinstance(node, gast.IntValue) and \
            getattr(type_, "name", None) == "ID":
        return _Template(True, node.value)
    return _Template(True, _literal(node))


# -- variables ----------------------------------------------------------------

class _Invalid(Exception):
    def __init__(self, reason, path):
        super().__init__(reason)
        self.reason = reason
        self.path = path


def _shown(value):
    try:
        text = dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = repr(type(value).__name__)
    return text if len(text) <= 100 else text[:97] + "..."


_MAX_INT = 2 ** 31 - 1


def _scalar_coercer(name):
    def integer(value, path):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value != int(value):
            raise _Invalid(f"Int cannot represent non-integer value: "
                           f"{_shown(value)}", path)
        if not -_MAX_INT - 1 <= value <= _MAX_INT:
            raise _Invalid(f"Int cannot represent non 32-bit signed integer "
                           f"value: {_shown(value)}", path)
        return int(value)

    def floating(value, path):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or value != value or value in (float("inf"), float("-inf")):
            raise _Invalid(f"Float cannot represent non numeric value: "
                           f"{_shown(value)}", path)
        return value

    def string(value, path):
        if not isinstance(value, str):
            raise _Invalid(f"String cannot represent a non string value: "
                           f"{_shown(value)}", path)
        return value

    def boolean(value, path):
        if not isinstance(value, bool):
            raise _Invalid(f"Boolean cannot represent a non boolean value: "
                           f"{_shown(value)}", path)
        return value

    def identifier(value, path):
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _Invalid(f"ID cannot represent value: {_shown(value)}",
                           path)
        return str(value)

    def custom(value, path):
        # The core checks the value against the field's kind (a UUID, a
        # date, ...) and names the input path when it does not fit.
        return value

    return {"Int": integer, "Float": floating, "String": string,
            "Boolean": boolean, "ID": identifier}.get(name, custom)


def _named_coercer(schema, type_):
    if isinstance(type_, GraphQLScalarType):
        scalar = _scalar_coercer(type_.name)
        return lambda value, path: None if value is None \
            else scalar(value, path)
    if isinstance(type_, GraphQLEnumType):
        names = {v.name for v in type_.values}

        def enum(value, path):
            if value is None:
                return None
            if not isinstance(value, str) or value not in names:
                raise _Invalid(f"Value {_shown(value)} does not exist in "
                               f"\"{type_.name}\" enum.", path)
            return value
        return enum
    fields = {}

    def input_object(value, path):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _Invalid(f"Expected type \"{type_.name}\" to be an "
                           "object.", path)
        if not fields:
            for name, field in type_.fields.items():
                fields[name] = (field.type, None)
        out = {}
        for key, item in value.items():
            entry = fields.get(key)
            if entry is None:
                raise _Invalid(f"Field \"{key}\" is not defined by type "
                               f"\"{type_.name}\".", path)
            field_type, coerce = entry
            if coerce is None:
                coerce = _coercer(schema, field_type)
                fields[key] = (field_type, coerce)
            out[key] = coerce(item, f"{path}.{key}")
        for name, (field_type, _) in fields.items():
            if isinstance(field_type, GraphQLNonNull) and \
                    out.get(name) is None:
                raise _Invalid(f"Field \"{name}\" of required type "
                               f"\"{field_type}\" was not provided.", path)
        return out
    return input_object


def _coercer(schema, type_):
    """A function (value, path) -> coerced value for an input type (a
    variable's or an input field's), raising _Invalid. Input object fields
    get theirs on first use, so recursive types (AND/OR/NOT) cost nothing
    until a value uses them."""
    if isinstance(type_, GraphQLNonNull):
        inner = _coercer(schema, type_.of_type)

        def non_null(value, path):
            if value is None:
                raise _Invalid(f"Expected non-nullable type \"{type_}\" "
                               "not to be null.", path)
            return inner(value, path)
        return non_null
    if isinstance(type_, GraphQLList):
        inner = _coercer(schema, type_.of_type)

        def as_list(value, path):
            if value is None:
                return None
            if isinstance(value, list):
                return [inner(item, f"{path}[{i}]")
                        for i, item in enumerate(value)]
            return [inner(value, path)]
        return as_list
    return _named_coercer(schema, type_)


# -- selections ---------------------------------------------------------------

class _Field:
    """Fields of one response key, merged: `nodes` all share the name and
    arguments; `children` is their merged sub-selection (an OrderedDict of
    key -> _Field) once collected."""

    __slots__ = ("key", "name", "nodes", "children")

    def __init__(self, key, name):
        self.key = key
        self.name = name
        self.nodes = []
        self.children = None


def _printed_arguments(node):
    return sorted((a.name.value, graphql.print_ast(a.value))
                  for a in node.arguments or ())


class _Collector:
    """Collects and merges fields, expanding fragments and applying
    @skip/@include for given condition values (None: keep every field, for
    the static merge check)."""

    def __init__(self, source, fragments, conditions):
        self.source = source
        self.fragments = fragments
        self.conditions = conditions
        self.count = 0

    def included(self, node):
        if self.conditions is None:
            return True
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            value = directive.arguments[0].value if directive.arguments \
                else None
            if isinstance(value, gast.Variable):
                flag = bool(self.conditions.get(value.name.value))
            else:
                flag = bool(getattr(value, "value", False))
            if (name == "skip") == flag:
                return False
        return True

    def collect(self, selection_set, type_names, out, depth):
        """Adds the fields of `selection_set` that apply to an object of
        one of `type_names` to `out` (OrderedDict key -> _Field)."""
        if depth > MAX_DEPTH:
            raise CompileError([self.source.error(
                f"the document nests selections deeper than {MAX_DEPTH} "
                "levels")])
        for sel in selection_set.selections:
            if not self.included(sel):
                continue
            if isinstance(sel, gast.Field):
                self.count += 1
                if self.count > MAX_FIELDS:
                    raise CompileError([self.source.error(
                        f"the document selects more than {MAX_FIELDS} "
                        "fields once its fragments are expanded", sel)])
                key = sel.alias.value if sel.alias else sel.name.value
                field = out.get(key)
                if field is None:
                    field = out[key] = _Field(key, sel.name.value)
                elif field.name != sel.name.value or \
                        _printed_arguments(field.nodes[0]) != \
                        _printed_arguments(sel):
                    raise CompileError([self.source.error(
                        f'Fields "{key}" conflict because they select '
                        "different fields or arguments under one response "
                        "key. Use different aliases on the fields to fetch "
                        "both if this was intentional.",
                        field.nodes[0], sel)])
                field.nodes.append(sel)
            elif isinstance(sel, gast.FragmentSpread):
                fragment = self.fragments[sel.name.value]
                if fragment.type_condition.name.value in type_names:
                    self.collect(fragment.selection_set, type_names, out,
                                 depth + 1)
            else:  # InlineFragment
                if sel.type_condition is None or \
                        sel.type_condition.name.value in type_names:
                    self.collect(sel.selection_set, type_names, out,
                                 depth + 1)
        return out

    def children(self, field, type_names, depth):
        """The merged sub-selection of `field` (cached on it)."""
        if field.children is None:
            out = OrderedDict()
            for node in field.nodes:
                if node.selection_set is not None:
                    self.collect(node.selection_set, type_names, out,
                                 depth + 1)
            field.children = out
        return field.children


# -- plans --------------------------------------------------------------------

class _Root:
    """One root field of a query plan."""

    __slots__ = ("key", "view", "kind", "static", "slots", "arguments",
                 "nodes", "reshape", "typename")

    def __init__(self, key, view, nodes, kind="list", typename=None):
        self.key = key
        self.kind = kind        # the Root kind: "list", "one", "connection"
        self.typename = typename  # a root `__typename`: the type's name
        self.view = view
        self.arguments = {}     # explain()'s keyword -> _Template
        self.static = b""       # serialised RootField: the constant part
        self.slots = []         # (field number, converter, _Template)
        self.nodes = nodes
        self.reshape = None     # connection shape, when not the native one


class _MutationRoot:
    __slots__ = ("key", "mutation", "input", "success_selection",
                 "error_selection", "empty", "nodes", "typename")

    def __init__(self, key, nodes, mutation=None, typename=None):
        self.key = key
        self.nodes = nodes
        self.mutation = mutation
        self.typename = typename
        self.input = None
        self.success_selection = self.error_selection = ""
        # Outcome types of which nothing is selected: asked for with
        # `__typename` (a selection cannot be empty), written as {}.
        self.empty = ()


def mutation_input(spec, given):
    """A mutation's input as the function takes it: GraphQL (camelCase)
    field names turned back into its JSON keys, and numbers as the client
    wrote them (RawNumber as a Decimal, which the core writes digit for
    digit: 100.50 stays 100.50)."""
    from .. import _native
    if not isinstance(given, dict):
        return _exact(given)
    keys = {_native.camel_case(key): key for key in spec.input}
    return {keys.get(name, name): _exact(value)
            for name, value in given.items()}


def _exact(value):
    if isinstance(value, RawNumber):
        return Decimal(value.text)
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return value


def _json_argument(value):
    return dumps(value) if value is not None else None


def _order_by_argument(value):
    if value is None:
        return None
    return dumps(value if isinstance(value, list) else [value])


def _plain(value):
    return value


class Compiled:
    """A compiled operation. `kind`: "query", "mutation" or "fallback"
    (graphql-core runs it: `document` and `operation_name` are kept)."""

    def __init__(self, api, kind, document, operation, source):
        self.api = api
        self.kind = kind
        self.document = document
        self.operation = operation
        self.operation_name = (operation.name.value
                               if operation is not None and operation.name
                               else None)
        self.source = source
        self.variable_definitions = (list(operation.variable_definitions or ())
                                     if operation is not None else [])
        self.condition_variables = ()
        self.may_be_large = False
        self._plans = {}
        self._coercers = None

    # Variables ------------------------------------------------------------

    def coerce(self, variables):
        """The operation's variables coerced to their declared types,
        defaults applied (the spec's CoerceVariableValues). Raises
        CompileError naming the variable and what was wrong."""
        if not self.variable_definitions:
            return {}
        if variables is None:
            variables = {}
        elif not isinstance(variables, dict):
            raise CompileError([{"message": "variables must be a JSON "
                                            "object"}])
        if self._coercers is None:
            schema = self.api.schema
            self._coercers = []
            for d in self.variable_definitions:
                type_ = type_from_ast(schema, d.type)
                self._coercers.append((d.variable.name.value,
                                       _coercer(schema, type_), type_, d))
        values = {}
        for name, coerce, type_, definition in self._coercers:
            if name not in variables:
                if definition.default_value is not None:
                    values[name] = _template(definition.default_value,
                                             type_).value
                elif isinstance(type_, GraphQLNonNull):
                    raise CompileError([self.source.error(
                        f'Variable "${name}" of required type "{type_}" '
                        "was not provided.", definition)])
                continue
            try:
                # A value given as null stays null (a default applies only
                # to a missing value); a non-null type refuses it.
                values[name] = coerce(variables[name], "")
            except RecursionError:
                raise CompileError([self.source.error(
                    f'Variable "${name}" nests too deeply', definition)])
            except _Invalid as error:
                where = f" at \"{name}{error.path}\"" if error.path else ""
                raise CompileError([self.source.error(
                    f'Variable "${name}" got invalid value '
                    f"{_shown(variables[name])}{where}; {error.reason}",
                    definition)])
        return values

    def plan(self, variables):
        """The plan for these (coerced) variables' @skip/@include values."""
        key = tuple(bool(variables.get(n)) for n in self.condition_variables)
        plan = self._plans.get(key)
        if plan is None:
            conditions = dict(zip(self.condition_variables, key))
            plan = self.api._build(self, conditions)
            if len(self._plans) < 64:
                self._plans[key] = plan
        return plan

    def definition(self, variables, plan=None):
        """QueryDefinition bytes for (coerced) variables."""
        if plan is None:
            plan = self.plan(variables)
        parts = []
        for root in plan:
            if root.typename is not None:
                continue
            body = root.static
            for number, convert, template in root.slots:
                value = convert(template.fill(variables))
                if value is not None:
                    body += _field_bytes(number, value)
            parts.append(_message(_ROOTS, body))
        return b"".join(parts)


class Api:
    """A GraphQL schema from gql.sdl and the compiler over it."""

    def __init__(self, sdl, *, max_document_bytes=MAX_DOCUMENT_BYTES):
        self.sdl = sdl
        self.roots = sdl.roots
        self.schema = graphql.build_ast_schema(graphql.parse(sdl.text))
        patch_custom_scalars(self.schema)
        self.max_document_bytes = max_document_bytes
        self._query_pb2 = None

    # Compiling ------------------------------------------------------------

    def compile(self, text, operation_name=None):
        """A Compiled operation, or CompileError with the spec's errors."""
        if not isinstance(text, str) or not text.strip():
            raise CompileError([{"message": "the request has no query "
                                            "document"}])
        if len(text) > self.max_document_bytes:
            raise CompileError([{"message":
                                 f"the query document is over "
                                 f"{self.max_document_bytes} bytes"}])
        source = _Source(text)
        try:
            document = graphql.parse(source.source)
        except graphql.GraphQLError as error:
            raise CompileError([_format(error)])
        except RecursionError:
            raise CompileError([{"message": "the query document nests too "
                                            "deeply"}])
        try:
            errors = graphql.validate(self.schema, document, _RULES)
        except RecursionError:
            raise CompileError([{"message": "the query document nests too "
                                            "deeply"}])
        if errors:
            raise CompileError([_format(e) for e in errors])
        operation = self._operation(document, operation_name, source)
        fragments = {d.name.value: d for d in document.definitions
                     if isinstance(d, gast.FragmentDefinition)}
        if operation.operation == "subscription":
            raise CompileError([source.error("subscriptions are not "
                                             "supported", operation)])
        kind = operation.operation
        compiled = Compiled(self, kind, document, operation, source)
        compiled.fragments = fragments
        # The static merge check, every field included; finds what the
        # compiler leaves to graphql-core.
        collector = _Collector(source, fragments, None)
        root_type = self.schema.get_mutation_type() if kind == "mutation" \
            else self.schema.get_query_type()
        roots = collector.collect(operation.selection_set, {root_type.name},
                                  OrderedDict(), 0)
        self._check_merges(collector, roots, root_type, 0)
        if self._needs_fallback(roots, collector, kind):
            compiled.kind = "fallback"
            return compiled
        compiled.condition_variables = tuple(sorted(
            self._condition_variables(document)))
        compiled.may_be_large = any(
            f.name in self.roots and
            self.roots[f.name].kind in ("list", "connection") and
            self._unbounded(f) for f in roots.values())
        if not compiled.condition_variables:
            compiled._plans[()] = self._build(compiled, {})
        return compiled

    def _operation(self, document, name, source):
        operations = [d for d in document.definitions
                      if isinstance(d, gast.OperationDefinition)]
        if name:
            for op in operations:
                if op.name is not None and op.name.value == name:
                    return op
            raise CompileError([{"message":
                                 f'Unknown operation named "{name}".'}])
        if len(operations) != 1:
            raise CompileError([{"message": "Must provide operation name if "
                                            "query contains multiple "
                                            "operations."}])
        return operations[0]

    @staticmethod
    def _condition_variables(document):
        names = set()

        def visit(node):
            for directive in getattr(node, "directives", None) or ():
                if directive.name.value in ("skip", "include"):
                    for argument in directive.arguments or ():
                        if isinstance(argument.value, gast.Variable):
                            names.add(argument.value.name.value)
            selection_set = getattr(node, "selection_set", None)
            if selection_set is not None:
                for sel in selection_set.selections:
                    stack.append(sel)

        stack = list(document.definitions)
        while stack:
            visit(stack.pop())
        return names

    def _unbounded(self, field):
        for node in field.nodes:
            for argument in node.arguments or ():
                if argument.name.value in ("limit", "first", "last"):
                    value = argument.value
                    if isinstance(value, gast.IntValue) and \
                            int(value.value) <= 1000:
                        return False
        return True

    def _check_merges(self, collector, fields, type_, depth):
        """Merges every selection of the document with every field
        included, so that fields under one response key that differ are
        refused whatever @skip/@include say (the spec's validation is
        static). Linear: each field is collected once (MAX_FIELDS)."""
        for field in fields.values():
            if field.name.startswith("__"):
                continue
            field_type = _named(type_.fields[field.name].type)
            if isinstance(field_type, GraphQLUnionType):
                names = {field_type.name} | {t.name for t in field_type.types}
                children = collector.children(field, names, depth + 1)
                for member in field_type.types:
                    self._check_merges(
                        collector, OrderedDict(
                            (k, f) for k, f in children.items()
                            if f.name in member.fields or
                            f.name.startswith("__")), member, depth + 1)
            elif hasattr(field_type, "fields"):
                children = collector.children(field, {field_type.name},
                                              depth + 1)
                self._check_merges(collector, children, field_type,
                                   depth + 1)

    def _needs_fallback(self, roots, collector, kind):
        for field in roots.values():
            if field.name == "__typename":
                continue  # a constant: the root type's name
            if field.name.startswith("__"):
                return True  # introspection
            if kind == "mutation":
                continue
            root = self.roots[field.name]
            if root.kind != "connection":
                continue
            type_ = _named(self.schema.get_query_type()
                           .fields[field.name].type)
            children = collector.children(field, {type_.name}, 1)
            edges = [c for c in children.values() if c.name == "edges"]
            if len(edges) > 1:
                return True
            if edges:
                edge_type = _named(type_.fields["edges"].type)
                nodes = [c for c in collector.children(
                    edges[0], {edge_type.name}, 2).values()
                    if c.name == "node"]
                if len(nodes) > 1:
                    return True
        return False

    # Plans ----------------------------------------------------------------

    def _build(self, compiled, conditions):
        """The plan of `compiled` for @skip/@include `conditions`."""
        collector = _Collector(compiled.source, compiled.fragments,
                               conditions)
        if compiled.kind == "mutation":
            return self._build_mutation(compiled, collector)
        query_type = self.schema.get_query_type()
        roots = collector.collect(compiled.operation.selection_set,
                                  {query_type.name}, OrderedDict(), 0)
        plan = []
        for field in roots.values():
            if field.name == "__typename":
                plan.append(_Root(field.key, None, field.nodes,
                                  typename=query_type.name))
                continue
            spec = self.roots[field.name]
            type_ = _named(query_type.fields[field.name].type)
            plan.append(self._root(compiled, collector, field, spec, type_))
        return plan

    def _pb2(self):
        if self._query_pb2 is None:
            from .. import query_pb2
            self._query_pb2 = query_pb2
        return self._query_pb2

    def _selection(self, collector, children, type_, message, depth):
        """Adds `children` (merged fields on `type_`) to the repeated
        Selection `message`."""
        for child in children.values():
            selection = message.add(response_key=child.key,
                                    field_name=child.name)
            if child.name == "__typename":
                continue
            field_type = _named(type_.fields[child.name].type)
            if hasattr(field_type, "fields") and \
                    not isinstance(field_type, GraphQLUnionType):
                grand = collector.children(child, {field_type.name},
                                           depth + 1)
                self._selection(collector, grand, field_type,
                                selection.fields, depth + 1)

    @staticmethod
    def _arguments(field, parent_type):
        """The arguments of a root field as templates, shaped by their
        declared types."""
        definitions = parent_type.fields[field.name].args
        return {a.name.value: _template(
                    a.value, definitions[a.name.value].type
                    if a.name.value in definitions else None)
                for a in field.nodes[0].arguments or ()}

    def _root(self, compiled, collector, field, spec, type_):
        pb = self._pb2()
        message = pb.RootField(response_key=field.key, view=spec.view,
                               has_selection=True)
        root = _Root(field.key, spec.view, field.nodes, kind=spec.kind)
        arguments = self._arguments(field, self.schema.get_query_type())
        slots = []
        if spec.kind == "one":
            message.is_list = False
            id_template = arguments["id"]
            where = _Template(False, fill=lambda v, t=id_template:
                              {"id": {"eq": t.fill(v)}})
            if id_template.static:
                where = _Template(True, {"id": {"eq": id_template.value}})
            slots.append((_WHERE, _json_argument, where))
            root.arguments["where"] = where
            node_type = type_
            node_children = collector.children(field, {type_.name}, 1)
        else:
            message.is_list = True
            for name, number, convert in (
                    ("where", _WHERE, _json_argument),
                    ("orderBy", _ORDER_BY, _order_by_argument),
                    ("limit", _LIMIT, _plain), ("offset", _OFFSET, _plain),
                    ("first", _FIRST, _plain), ("after", _AFTER, _plain),
                    ("last", _LAST, _plain), ("before", _BEFORE, _plain)):
                if name in arguments:
                    slots.append((number, convert, arguments[name]))
                    root.arguments[_KEYWORDS.get(name, name)] = \
                        arguments[name]
            if spec.kind == "connection":
                node_type, node_children = self._connection(
                    collector, field, type_, root, message)
            else:
                node_type = type_
                node_children = collector.children(field, {type_.name}, 1)
        self._selection(collector, node_children, node_type,
                        message.selection, 1)
        static = message.SerializeToString()
        for number, convert, template in slots:
            if template.static:
                value = convert(template.value)
                if value is not None:
                    static += _field_bytes(number, value)
            else:
                root.slots.append((number, convert, template))
        root.static = static
        return root

    def _connection(self, collector, field, type_, root, message):
        """The node type and node selection of a connection root; sets
        include_total_count, and root.reshape when the selected shape is
        not the one the core writes (edges {cursor node} pageInfo {all
        four} [totalCount], no aliases)."""
        children = collector.children(field, {type_.name}, 1)
        edge_type = _named(type_.fields["edges"].type)
        node_type = _named(edge_type.fields["node"].type)
        page_type = _named(type_.fields["pageInfo"].type)
        node_children = OrderedDict()
        shape = []
        for child in children.values():
            if child.name == "edges":
                edge_shape = []
                for grand in collector.children(
                        child, {edge_type.name}, 2).values():
                    if grand.name == "node":
                        node_children = collector.children(
                            grand, {node_type.name}, 3)
                    edge_shape.append((grand.key, grand.name, None))
                shape.append((child.key, "edges", edge_shape))
            elif child.name == "pageInfo":
                page_shape = [(g.key, g.name, None) for g in
                              collector.children(child, {page_type.name},
                                                 2).values()]
                shape.append((child.key, "pageInfo", page_shape))
            else:
                shape.append((child.key, child.name, None))
            if child.name == "totalCount":
                message.include_total_count = True
        canonical = [("edges", "edges", [("cursor", "cursor", None),
                                         ("node", "node", None)]),
                     ("pageInfo", "pageInfo",
                      [(n, n, None) for n in _CANONICAL_PAGE_INFO])]
        if message.include_total_count:
            canonical.append(("totalCount", "totalCount", None))
        if shape != canonical:
            root.reshape = (shape, type_.name, edge_type.name,
                            page_type.name)
        return node_type, node_children

    # Mutations ------------------------------------------------------------

    def _build_mutation(self, compiled, collector):
        mutation_type = self.schema.get_mutation_type()
        roots = collector.collect(compiled.operation.selection_set,
                                  {mutation_type.name}, OrderedDict(), 0)
        plan = []
        for field in roots.values():
            if field.name == "__typename":
                plan.append(_MutationRoot(field.key, field.nodes,
                                          typename=mutation_type.name))
                continue
            spec = self.roots[field.name].mutation
            root = _MutationRoot(field.key, field.nodes, spec)
            root.input = self._arguments(field, mutation_type).get("input")
            result_type = _named(mutation_type.fields[field.name].type)
            texts, empty = [], []
            for type_name in (spec.success_type, spec.error_type):
                children = OrderedDict()
                for node in field.nodes:
                    collector.collect(node.selection_set,
                                      {type_name, result_type.name},
                                      children, 1)
                text = self._selection_text(
                    collector, children, self.schema.get_type(type_name), 1)
                if not text:
                    text = "__typename"
                    empty.append(type_name)
                texts.append(text)
            root.success_selection, root.error_selection = texts
            root.empty = tuple(empty)
            plan.append(root)
        return plan

    def _selection_text(self, collector, children, type_, depth):
        parts = []
        for child in children.values():
            head = child.name if child.key == child.name \
                else f"{child.key}: {child.name}"
            if child.name != "__typename":
                field_type = _named(type_.fields[child.name].type)
                if hasattr(field_type, "fields"):
                    grand = collector.children(child, {field_type.name},
                                               depth + 1)
                    head += " { " + self._selection_text(
                        collector, grand, field_type, depth + 1) + " }"
            parts.append(head)
        return " ".join(parts)


def reshape_connection(value, shape):
    """A connection value as the core writes it (edges with cursor and
    node, the whole pageInfo, totalCount) in the selected `shape`."""
    fields, type_name, edge_type, page_type = shape
    if value is None:
        return None
    out = {}
    for key, name, sub in fields:
        if name == "edges":
            edges = []
            for edge in value["edges"]:
                item = {}
                for k, n, _ in sub:
                    item[k] = edge_type if n == "__typename" else edge[n]
                edges.append(item)
            out[key] = edges
        elif name == "pageInfo":
            page = value["pageInfo"]
            out[key] = {k: page_type if n == "__typename" else page[n]
                        for k, n, _ in sub}
        elif name == "__typename":
            out[key] = type_name
        else:
            out[key] = value.get(name)
    return out
