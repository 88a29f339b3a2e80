"""The same GraphQL schema run by graphql-core, with resolvers over a
(blocking) Repository: the path for what the compiler does not cover
(introspection, `__typename` on the root) and the reference the compiled
path is tested against.

Each root field is one Repository call: list and single fields ask for
their selection (resolvers.selection_from_info, rows keyed by response key);
connections and mutations ask for every field and graphql-core picks the
selected ones by field name. Rows are parsed with numbers kept as written
(json_text), so both paths give the same bytes.
"""

import json

import graphql
from graphql.execution import execute
from graphql.type.scalars import GraphQLFloat

from ..resolvers import response_key, selection_from_info
from .compiler import (_json_argument, _named, _order_by_argument,
                       mutation_input, patch_custom_scalars)
from .json_text import RawNumber, dumps

__all__ = ["ResolverPath"]


class _ByName(dict):
    """A row written without a selection: keys are field names."""


def _load(body, key, by_name=False):
    hook = _ByName if by_name else None
    return json.loads(body, parse_float=RawNumber,
                      object_hook=hook)["data"][key]


def _as_float(value):
    """graphql-core's Float writes a whole number as `62.0`; the core copies
    the database's `62`. A RawNumber keeps it (and is a float)."""
    if type(value) is int:
        return RawNumber(str(value))
    if isinstance(value, list):
        return [_as_float(v) for v in value]
    return value


def _resolve_field(source, info, **args):
    if isinstance(source, _ByName):
        value = source.get(info.field_name)
    elif isinstance(source, dict):
        value = source.get(response_key(info.field_asts[0]))
    else:
        return None
    if _named(info.return_type) is GraphQLFloat:
        return _as_float(value)
    return value


class ResolverPath:
    """graphql-core over `repo` (a fraiseql_native.Repository) for the
    schema of `api` (compiler.Api)."""

    def __init__(self, api, repo):
        self.repo = repo
        self.schema = graphql.build_ast_schema(graphql.parse(api.sdl.text))
        patch_custom_scalars(self.schema)
        for type_ in self.schema.get_type_map().values():
            if type_.name.startswith("__") or not hasattr(type_, "fields") \
                    or not hasattr(type_, "interfaces"):
                continue
            for field in type_.fields.values():
                field.resolver = _resolve_field
        query = self.schema.get_query_type()
        for name, field in query.fields.items():
            root = api.roots.get(name)
            if root is not None:
                field.resolver = self._query_resolver(root)
        mutation = self.schema.get_mutation_type()
        if mutation is not None:
            for name, field in mutation.fields.items():
                field.resolver = self._mutation_resolver(
                    api.roots[name].mutation)

    def _query_resolver(self, root):
        repo, view = self.repo, root.view

        def resolve(source, info, **args):
            key = response_key(info.field_asts[0])
            context = info.context
            if root.kind == "one":
                body = repo.find_one(
                    view, field=key,
                    where=_json_argument({"id": {"eq": args["id"]}}),
                    selection=selection_from_info(info), context=context)
                return _load(body, key)
            kwargs = dict(where=_json_argument(args.get("where")),
                          order_by=_order_by_argument(args.get("orderBy")))
            if root.kind == "list":
                body = repo.find(view, field=key, limit=args.get("limit"),
                                 offset=args.get("offset"),
                                 selection=selection_from_info(info),
                                 context=context, **kwargs)
                return _load(body, key)
            body = repo.find(view, field=key, first=args.get("first"),
                             after=args.get("after"), last=args.get("last"),
                             before=args.get("before"), total_count=True,
                             context=context, **kwargs)
            return _load(body, key, by_name=True)

        return resolve

    def _mutation_resolver(self, spec):
        repo = self.repo
        def resolve(source, info, **args):
            key = response_key(info.field_asts[0])
            body = repo.mutate(
                spec.function, mutation_input(spec, args.get("input") or {}),
                field=key,
                success_type=spec.success_type, error_type=spec.error_type,
                entity_field=spec.entity_field, entity_type=spec.entity_type,
                context_args=tuple(spec.context_args), context=info.context)
            value = _load(body, key, by_name=True)
            if isinstance(value, dict) and "__typename" not in value:
                # Written without a selection: only the error outcome has
                # a code. The union resolves from __typename.
                value["__typename"] = spec.error_type if "code" in value \
                    else spec.success_type
            return value

        return resolve

    def execute(self, compiled, variables, context):
        """The response body of `compiled` (a compiler.Compiled), run by
        graphql-core."""
        result = execute(self.schema, compiled.document,
                         context_value=context, variable_values=variables,
                         operation_name=compiled.operation_name)
        out = {}
        if result.errors:
            out["errors"] = [self._error(e) for e in result.errors]
        if not result.invalid:
            out["data"] = result.data
        return dumps(out).encode("utf-8")

    @staticmethod
    def _error(error):
        message = getattr(error, "message", None) or str(error)
        original = getattr(error, "original_error", None)
        if original is not None:
            message = str(original)
        formatted = {"message": message}
        locations = getattr(error, "locations", None)
        if locations:
            formatted["locations"] = [{"line": l.line, "column": l.column}
                                      for l in locations]
        path = getattr(error, "path", None)
        if path:
            formatted["path"] = list(path)
        return formatted
