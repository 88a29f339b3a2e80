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
- a root field the core refuses (an invalid argument value):
  `{"errors":[{"message","locations","path"}],"data":...}`: a nullable root
  (`user(id:)`) is null and the other roots run again without it; a list
  root is non-null, so its error nulls the whole data;
- a failure not tied to one root field (a timeout, a database error): the
  error without a path (unless there is one root) and `"data":null`.
"""

import asyncio
import json
from collections import OrderedDict

from .. import _native
from .compiler import (Api, CompileError, _json_argument, _order_by_argument,
                       mutation_input, reshape_connection)
from .json_text import dumps, loads
from .sdl import build_sdl

__all__ = ["Engine"]

_DATA_PREFIX = b'{"data":{'
# Documents longer than this compile on a worker thread (prepare_async).
OFF_LOOP_DOCUMENT_BYTES = 4096


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
        prepared = self._cached(query, operation_name)
        if prepared is None:
            prepared = self._store(query, operation_name,
                                   self._compile(query, operation_name))
        return prepared

    async def prepare_async(self, query, operation_name=None):
        """prepare(), compiling a document longer than
        OFF_LOOP_DOCUMENT_BYTES on a worker thread: compiling a 100 KiB
        document takes about half a second, which would stall every other
        request on the loop."""
        prepared = self._cached(query, operation_name)
        if prepared is not None:
            return prepared
        if isinstance(query, str) and len(query) > OFF_LOOP_DOCUMENT_BYTES:
            compiled = await asyncio.get_running_loop().run_in_executor(
                None, self._compile, query, operation_name)
        else:
            compiled = self._compile(query, operation_name)
        return self._store(query, operation_name, compiled)

    def _cached(self, query, operation_name):
        key = (query, operation_name)
        try:
            prepared = self._cache[key]
        except (KeyError, TypeError):
            self._stats["cache_misses"] += 1
            return None
        self._stats["cache_hits"] += 1
        self._cache.move_to_end(key)
        return prepared

    def _compile(self, query, operation_name):
        try:
            return self.api.compile(query, operation_name)
        except CompileError as error:
            return error

    def _store(self, query, operation_name, prepared):
        if not isinstance(prepared, CompileError):
            self._stats["compiled"] += 1
        key = (query, operation_name)
        if isinstance(query, str) and key not in self._cache and \
                (operation_name is None or isinstance(operation_name, str)):
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
        return await self.run(await self.prepare_async(query, operation_name),
                              variables, context)

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
        return await self._query(prepared, plan, values, context)

    async def stream(self, prepared, variables=None, context=None):
        """The response body of a prepared document as pieces (an async
        iterator of bytes): a compiled query whose body the core writes
        whole (no connection to reshape, no root __typename) streams from
        the server in bounded memory; anything else is one piece."""
        plan = None
        if not isinstance(prepared, CompileError) and \
                prepared.kind == "query":
            try:
                values = prepared.coerce(variables)
                plan = prepared.plan(values)
            except CompileError:
                plan = None
        if not plan or any(root.reshape or root.typename for root in plan):
            yield await self.run(prepared, variables, context)
            return
        definition = prepared.definition(values, plan)
        started = False
        try:
            async for piece in self.repo.execute_stream(definition,
                                                        context=context):
                started = True
                yield piece
        except _native.Error:
            if started:
                # Part of the body is sent: the stream ends with the error,
                # so the client sees a cut response, never a wrong one.
                self._stats["errors"] += 1
                raise
            # Nothing sent yet: the answer is what run() gives (the error,
            # with the other root fields when the failed one is nullable).
            yield await self._query(prepared, plan, values, context)

    async def _query(self, prepared, plan, values, context):
        """Runs a query plan: one execute for every root field. When the
        core refuses one nullable root field (a `user(id:)` with a bad id),
        that field is null with its error and the others run again
        without it, as GraphQL resolves fields independently; a list root
        is non-null, so its error nulls the whole data."""
        roots = [root for root in plan if root.typename is None]
        values_of = {}
        errors = []
        while roots:
            try:
                body = await self.repo.execute(
                    prepared.definition(values, roots), context=context)
                break
            except _native.Error as error:
                self._stats["errors"] += 1
                culprit = self._culprit(roots, values, error)
                errors.append(self._field_error(prepared, culprit, error,
                                                len(roots) == 1 or
                                                culprit is not None))
                if culprit is None or culprit.kind != "one":
                    return _errors_body(errors, data=True)
                values_of[culprit.key] = None
                roots = [r for r in roots if r is not culprit]
        else:
            body = b'{"data":{}}'
        if not errors and not any(r.reshape or r.typename for r in plan):
            return body
        value = loads(body)
        data = value.get("data") or {}
        # The core's own errors (a row that is not valid JSON nulls its
        # field) stay, after ours.
        errors += value.get("errors") or []
        out = {}
        for root in plan:
            if root.typename is not None:
                out[root.key] = root.typename
            elif root.key in values_of:
                out[root.key] = None
            elif root.reshape is not None:
                out[root.key] = reshape_connection(data.get(root.key),
                                                   root.reshape)
            else:
                out[root.key] = data.get(root.key)
        body = {"errors": errors, "data": out} if errors else {"data": out}
        return dumps(body).encode("utf-8")

    def _culprit(self, roots, values, error):
        """The root field `error` belongs to: the only one, or the first
        that fails to plan alone (an invalid argument); None when the
        error cannot be tied to one (a timeout, a database error)."""
        if len(roots) == 1:
            return roots[0]
        if isinstance(error, _native.InvalidInputError):
            for root in roots:
                if self._plans_alone(root, values) is not None:
                    return root
        return None

    @staticmethod
    def _field_error(prepared, root, error, tied):
        """A response error: tied to `root` (its path and location), or to
        the whole operation when `tied` is false."""
        if not tied or root is None:
            return {"message": str(error),
                    "locations": prepared.source.locations(
                        prepared.operation)}
        return {"message": str(error),
                "locations": prepared.source.locations(*root.nodes[:1]),
                "path": [root.key]}

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

    async def _mutate(self, prepared, plan, values, context):
        """Runs the mutation fields one after another (GraphQL's serial
        execution); the first that fails ends the operation (its result
        type is non-null, so data is null)."""
        parts = []
        for root in plan:
            if root.typename is not None:
                parts.append(b'"%s":"%s"' % (root.key.encode(),
                                              root.typename.encode()))
                continue
            spec = root.mutation
            given = root.input.fill(values) if root.input is not None \
                else {}
            try:
                body = await self.repo.mutate(
                    spec.function, mutation_input(spec, given),
                    field=root.key, success_type=spec.success_type,
                    error_type=spec.error_type,
                    entity_field=spec.entity_field,
                    entity_type=spec.entity_type,
                    success_selection=root.success_selection,
                    error_selection=root.error_selection,
                    context_args=tuple(spec.context_args), context=context)
            except _native.Error as error:
                self._stats["errors"] += 1
                return _errors_body([self._field_error(prepared, root, error,
                                                       True)], data=True)
            part = body[len(_DATA_PREFIX):-2]
            for type_name in root.empty:
                # Nothing of this outcome selected: `{}`, not the
                # __typename asked for in its place.
                if part == b'"%s":{"__typename":"%s"}' % (
                        root.key.encode(), type_name.encode()):
                    part = b'"%s":{}' % root.key.encode()
            parts.append(part)
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
