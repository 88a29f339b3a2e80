"""GraphQL requests to response bytes over an AsyncRepository.

    engine = Engine(repo, schema, mutations=[...])
    body = await engine.execute(query, variables, operation_name, context)

`execute` returns the whole response body (`{"data":...}`, with `errors`
when something failed) and never raises for bad input. A document is
compiled once (compiler.py) and cached by its text and operation name (a
bounded LRU: `cache_size` documents, `cache_bytes` of document text;
documents that fail to compile are cached with their errors
too). A compiled query runs as one Repository.execute: every root field in
one round trip, its body written by the core. Mutations run their root
fields one after another (GraphQL's serial execution), each a
Repository.mutate in its own transaction. Introspection and the rest the
compiler leaves out run through graphql-core over the repository
(resolver_path.py), on a worker thread.

Errors, as the GraphQL spec writes them:
- a document that does not parse or validate, an unknown operation name,
  a bad variable: `{"errors":[{"message","locations"}]}` (no data);
- a root field the core refuses (an invalid argument value, a timeout, a
  database error): `{"errors":[{"message","locations","path"}],
  "data":null}` (root list fields are non-null, so the whole data is null).
"""

import asyncio
import json
from collections import OrderedDict
from decimal import Decimal

from .. import _native
from .compiler import (Api, CompileError, _json_argument, _order_by_argument,
                       reshape_connection)
from .json_text import RawNumber, dumps, loads
from .sdl import build_sdl

__all__ = ["Engine"]

_DATA_PREFIX = b'{"data":{'


def _errors_body(errors, data=False):
    body = {"errors": errors}
    if data:
        body["data"] = None
    return json.dumps(body, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


class Engine:
    """Compiles and runs GraphQL documents over `repo`, an
    fraiseql_native.aio.AsyncRepository (its schema is `schema`)."""

    def __init__(self, repo, schema, *, names=None, mutations=(),
                 cache_size=1000, cache_bytes=16 << 20,
                 max_document_bytes=None):
        sdl = build_sdl(schema, names=names, mutations=mutations)
        kwargs = {}
        if max_document_bytes is not None:
            kwargs["max_document_bytes"] = max_document_bytes
        self.api = Api(sdl, **kwargs)
        self.sdl = sdl.text
        self.repo = repo
        self.cache_size = cache_size
        self.cache_bytes = cache_bytes
        self._cache = OrderedDict()
        self._cached_bytes = 0
        self._resolver_path = None
        self._stats = dict(compiled=0, cache_hits=0, cache_misses=0,
                           fallbacks=0, errors=0)

    def stats(self):
        """compiled (documents compiled), cache_hits, cache_misses,
        fallbacks (requests run by graphql-core), errors (requests
        answered with errors)."""
        return dict(self._stats, cached=len(self._cache),
                    cached_bytes=self._cached_bytes)

    # Compiling ------------------------------------------------------------

    def prepare(self, query, operation_name=None):
        """The Compiled operation for a document, or the CompileError it
        gives; cached by (document, operation name)."""
        key = (query, operation_name)
        try:
            prepared = self._cache[key]
        except (KeyError, TypeError):
            prepared = None
        if prepared is not None:
            self._stats["cache_hits"] += 1
            self._cache.move_to_end(key)
            return prepared
        self._stats["cache_misses"] += 1
        try:
            prepared = self.api.compile(query, operation_name)
            self._stats["compiled"] += 1
        except CompileError as error:
            prepared = error
        if isinstance(query, str) and (operation_name is None or
                                       isinstance(operation_name, str)):
            self._cache[key] = prepared
            self._cached_bytes += len(query)
            while len(self._cache) > self.cache_size or \
                    self._cached_bytes > self.cache_bytes:
                (old, _), _ = self._cache.popitem(last=False)
                self._cached_bytes -= len(old)
        return prepared

    # Running --------------------------------------------------------------

    async def execute(self, query, variables=None, operation_name=None,
                      context=None):
        """The response body for one GraphQL request."""
        return await self.run(self.prepare(query, operation_name), variables,
                              context)

    async def run(self, prepared, variables=None, context=None):
        """The response body of a prepared document."""
        if isinstance(prepared, CompileError):
            self._stats["errors"] += 1
            return _errors_body(prepared.errors)
        try:
            values = prepared.coerce(variables)
            plan = None if prepared.kind == "fallback" \
                else prepared.plan(values)
        except CompileError as error:
            self._stats["errors"] += 1
            return _errors_body(error.errors)
        if prepared.kind == "fallback":
            self._stats["fallbacks"] += 1
            return await self._fallback(prepared, values, context)
        if prepared.kind == "mutation":
            return await self._mutate(prepared, plan, values, context)
        definition = prepared.definition(values, plan)
        try:
            body = await self.repo.execute(definition, context=context)
        except _native.Error as error:
            self._stats["errors"] += 1
            return self._root_error(prepared, plan, values, error)
        if any(root.reshape for root in plan):
            body = self._reshape(body, plan)
        return body

    async def stream(self, prepared, variables=None, context=None):
        """The response body of a prepared document as pieces (an async
        iterator of bytes): a compiled query without connection reshaping
        streams from the server in bounded memory; anything else is one
        piece."""
        plan = None
        if not isinstance(prepared, CompileError) and \
                prepared.kind == "query":
            try:
                values = prepared.coerce(variables)
                plan = prepared.plan(values)
            except CompileError:
                plan = None
        if plan is None or any(root.reshape for root in plan):
            yield await self.run(prepared, variables, context)
            return
        definition = prepared.definition(values, plan)
        started = False
        try:
            async for piece in self.repo.execute_stream(definition,
                                                        context=context):
                started = True
                yield piece
        except _native.Error as error:
            self._stats["errors"] += 1
            if started:
                # Part of the body is sent: the stream ends with the error,
                # so the client sees a cut response, never a wrong one.
                raise
            yield self._root_error(prepared, plan, values, error)

    def _root_error(self, prepared, plan, values, error):
        """The error body for a failed execute: the path is the root field
        the error belongs to (found by planning each root alone when there
        are several)."""
        culprit = plan[0]
        if len(plan) > 1 and isinstance(error, _native.InvalidInputError):
            for root in plan:
                if self._plans_alone(root, values) is not None:
                    culprit = root
                    break
        return _errors_body([{
            "message": str(error),
            "locations": prepared.source.locations(*culprit.nodes[:1]),
            "path": [culprit.key]}], data=True)

    def _plans_alone(self, root, values):
        """The error planning `root` alone gives, or None."""
        kwargs = {}
        for keyword, template in root.arguments.items():
            value = template.fill(values)
            if keyword == "where":
                value = _json_argument(value)
            elif keyword == "order_by":
                value = _order_by_argument(value)
            if value is not None:
                kwargs[keyword] = value
        try:
            self.repo.sync.explain(root.view, **kwargs)
        except _native.Error as error:
            return error
        return None

    @staticmethod
    def _reshape(body, plan):
        value = loads(body)
        data = value.get("data")
        if data is not None:
            for root in plan:
                if root.reshape is not None:
                    data[root.key] = reshape_connection(data.get(root.key),
                                                        root.reshape)
        return dumps(value).encode("utf-8")

    async def _mutate(self, prepared, plan, values, context):
        parts = []
        for root in plan:
            spec = root.mutation
            given = root.input.fill(values) if root.input is not None \
                else {}
            try:
                body = await self.repo.mutate(
                    spec.function, _input_keys(spec, given), field=root.key,
                    success_type=spec.success_type,
                    error_type=spec.error_type,
                    entity_field=spec.entity_field,
                    entity_type=spec.entity_type,
                    success_selection=root.success_selection,
                    error_selection=root.error_selection,
                    context_args=tuple(spec.context_args), context=context)
            except _native.Error as error:
                self._stats["errors"] += 1
                return _errors_body([{
                    "message": str(error),
                    "locations": prepared.source.locations(*root.nodes[:1]),
                    "path": [root.key]}], data=True)
            parts.append(body[len(_DATA_PREFIX):-2])
        return _DATA_PREFIX + b",".join(parts) + b"}}"

    async def _fallback(self, prepared, values, context):
        """graphql-core runs the document (on a worker thread: its
        resolvers make blocking Repository calls) with the variables
        already coerced."""
        if self._resolver_path is None:
            from .resolver_path import ResolverPath
            self._resolver_path = ResolverPath(self.api, self.repo.sync)
        return await asyncio.get_running_loop().run_in_executor(
            None, self._resolver_path.execute, prepared, values, context)


def _input_keys(spec, given):
    """The mutation input with its GraphQL (camelCase) field names turned
    back into the function's JSON keys."""
    if not isinstance(given, dict):
        return _exact(given)
    keys = {_native.camel_case(key): key for key in spec.input}
    return {keys.get(name, name): _exact(value)
            for name, value in given.items()}


def _exact(value):
    """RawNumber (a number as the client wrote it) as a Decimal, which the
    core writes into the JSON input digit for digit (`100.50`)."""
    if isinstance(value, RawNumber):
        return Decimal(value.text)
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return value
