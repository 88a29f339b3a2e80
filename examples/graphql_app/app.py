"""A GraphQL-over-HTTP server on fraiseql_native: Starlette + uvicorn.

    PYTHONPATH=bazel-bin/pybind:tests/fixtures:. /usr/bin/python3 -m uvicorn \\
        --factory examples.graphql_app.app:create_app --port 8000 \\
        --loop uvloop --http httptools --no-access-log

Routes:
  /graphql         POST application/json {"query", "variables", "operationName"}
                   GET ?query=&variables=&operationName= (queries only)
  /schema.graphql  the schema (SDL) the engine serves
  /health          200 {"status":"ok"} once the engine is up
  /stats           the engine's counters (compiled, cache hits and misses,
                   fallbacks, errors), the call queue's and the pool's

Request context: the headers X-Tenant-Id (a UUID) and X-User-Id (an opaque
id) become the context {"tenant_id", "user_id"}: PostgreSQL settings
app.tenant_id / app.user_id for row-level security, and the context
arguments of mutations.

Status codes (GraphQL-over-HTTP, application/json responses): 200 for every
request that reached GraphQL, its errors included (unknown field, bad
variable, syntax error: they are in "errors"); 400 for a request that is not
a GraphQL request (malformed JSON, no query, variables not an object, a bad
X-Tenant-Id); 405 for a mutation over GET or another method; 413 for a body
over max_body_bytes; 415 for a POST that is not application/json; 500 when
the server itself failed (logged).

The /graphql handler is a plain ASGI callable under Starlette's router: it
reads the headers it needs from the scope and writes the engine's bytes
straight to `send`, with no Request/Response objects on the way. Results the
engine marks may_be_large (a list without a limit, or over 1000) are streamed
piece by piece (chunked transfer), so memory stays bounded; a client that
goes away cancels the query.

Threading: everything runs on the server's event loop. The pool, the
AsyncRepository (bound to that loop) and the engine are made in the lifespan
handler and dropped when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import re
import uuid
from typing import Any, Callable, Dict, Mapping, Optional, Sequence
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import fraiseql_native
from fraiseql_native import gql
from fraiseql_native.aio import AsyncRepository
# json.loads keeping each number's spelling (100.50 reaches the database as
# 100.50, not 100.5), as the engine's own paths do.
from fraiseql_native.gql.json_text import loads as _json_loads

__all__ = ["create_app", "GraphQLEndpoint"]

log = logging.getLogger("fraiseql_native.graphql_app")

DEFAULT_SCHEMA = "sample"
DEFAULT_POOL_SIZE = 8
DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_PLAN_CACHE_MODE = "force_generic_plan"
# X-User-Id: an opaque id (a UUID, a login, a subject claim), bounded.
_USER_ID = re.compile(r"[A-Za-z0-9._@:+=-]{1,128}")

_JSON = b"application/json"


# ---------------------------------------------------------------------------
# The sample configuration (what ci/serve runs).

def _sample_registry(module, schema_name):
    """tests/fixtures/sample_registry.py's register_sample: the sample views
    (User, Post, Comment) and the types Address, Author, Account."""
    from sample_registry import register_sample
    return register_sample(module, schema_name)


def _sample_mutations(schema_name):
    """createAccount over tests/fixtures/mutations.sql's create_account in
    `schema_name`, called with the request's tenant and user."""
    from sample_registry import sample_mutations
    return sample_mutations(gql, schema_name)


# ---------------------------------------------------------------------------
# Configuration from arguments and the environment.

def _load(spec: str, what: str) -> Any:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{what} must be 'module:attribute', got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"{what} {spec!r}: cannot import {module_name}: "
                         f"{e}") from e
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ValueError(f"{what} {spec!r}: {module_name} has no "
                         f"attribute {attr!r}") from None


def _int_env(name: str) -> Optional[int]:
    text = os.environ.get(name)
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {text!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


class _Config:
    """What create_app resolved, before anything connects."""

    def __init__(self, database_url, schema_name, registry, mutations, names,
                 pool_size, max_body_bytes):
        self.database_url = (database_url
                             or os.environ.get("FRAISEQL_DATABASE_URL"))
        if not self.database_url:
            raise ValueError("no database: pass database_url or set "
                             "FRAISEQL_DATABASE_URL")
        self.schema_name = (schema_name or os.environ.get("FRAISEQL_SCHEMA")
                            or DEFAULT_SCHEMA)
        registry_spec = os.environ.get("FRAISEQL_REGISTRY")
        if registry is None:
            registry = (_load(registry_spec, "FRAISEQL_REGISTRY")
                        if registry_spec else _sample_registry)
        self.registry = registry
        if mutations is None:
            spec = os.environ.get("FRAISEQL_MUTATIONS")
            if spec:
                mutations = _load(spec, "FRAISEQL_MUTATIONS")
            elif registry is _sample_registry:
                mutations = _sample_mutations
            else:
                # Another registry: the sample's mutation would name a
                # function and a type it does not have.
                mutations = ()
        if callable(mutations):
            mutations = mutations(self.schema_name)
        self.mutations = tuple(mutations)
        if names is None and os.environ.get("FRAISEQL_NAMES"):
            names = json.loads(os.environ["FRAISEQL_NAMES"])
        self.names = names
        self.pool_size = (pool_size or _int_env("FRAISEQL_POOL_SIZE")
                          or DEFAULT_POOL_SIZE)
        self.max_body_bytes = (max_body_bytes
                               or _int_env("FRAISEQL_MAX_BODY_BYTES")
                               or DEFAULT_MAX_BODY_BYTES)
        # The core runs one prepared statement per query shape, so a generic
        # plan serves every request of a shape. PostgreSQL's default (auto)
        # keeps re-planning statements whose LIMIT is a parameter: half the
        # database's time on a 10-row list over a view with a join.
        mode = os.environ.get("FRAISEQL_PLAN_CACHE_MODE",
                              DEFAULT_PLAN_CACHE_MODE)
        self.settings = {"plan_cache_mode": mode} if mode else {}


class _State:
    """The engine once the lifespan handler made it; None before/after."""
    __slots__ = ("engine", "repo", "pool", "sdl")

    def __init__(self):
        self.engine = None
        self.repo = None
        self.pool = None
        self.sdl = b""


# ---------------------------------------------------------------------------
# The /graphql endpoint.

def _error_body(message: str) -> bytes:
    return json.dumps({"errors": [{"message": message}]},
                      ensure_ascii=False).encode()


class _RequestError(Exception):
    """A request that is not a GraphQL request: answered with `status`."""

    def __init__(self, status: int, message: str,
                 headers: Sequence = ()) -> None:
        super().__init__(message)
        self.status = status
        self.headers = list(headers)


async def _read_body(receive, limit: int) -> bytes:
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _RequestError(400, "the client went away mid-body")
        body += message.get("body", b"")
        if len(body) > limit:
            raise _RequestError(413, f"request body over {limit} bytes")
        more = message.get("more_body", False)
    return body


def _parse_variables(value, where: str) -> Optional[dict]:
    if value is None or isinstance(value, dict):
        return value
    raise _RequestError(400, f"{where}: variables must be a JSON object or "
                             f"null, got {type(value).__name__}")


def _parse_post(body: bytes):
    try:
        doc = _json_loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise _RequestError(400, f"request body is not valid JSON: {e}")
    except RecursionError:
        raise _RequestError(400, "request body nests too deeply") from None
    if not isinstance(doc, dict):
        raise _RequestError(400, "request body must be a JSON object with "
                                 "'query', got " + type(doc).__name__)
    query = doc.get("query")
    if not isinstance(query, str) or not query.strip():
        raise _RequestError(400, "request body has no 'query' string"
                            if query is None or isinstance(query, str)
                            else "'query' must be a string, got "
                            + type(query).__name__)
    variables = _parse_variables(doc.get("variables"), "request body")
    operation = doc.get("operationName")
    if operation is not None and not isinstance(operation, str):
        raise _RequestError(400, "'operationName' must be a string or null")
    return query, variables, operation or None


def _parse_get(query_string: bytes):
    try:
        text = query_string.decode("utf-8")
    except UnicodeDecodeError:
        raise _RequestError(400, "the query string is not UTF-8") from None
    params = dict(parse_qsl(text, keep_blank_values=True))
    query = params.get("query")
    if not query or not query.strip():
        raise _RequestError(400, "GET /graphql needs a 'query' parameter")
    variables = None
    text = params.get("variables")
    if text:
        try:
            variables = _json_loads(text)
        except ValueError as e:
            raise _RequestError(400, f"the 'variables' parameter is not "
                                     f"valid JSON: {e}")
        except RecursionError:
            raise _RequestError(400, "the 'variables' parameter nests too "
                                     "deeply") from None
        variables = _parse_variables(variables, "the 'variables' parameter")
    return query, variables, params.get("operationName") or None


def _is_mutation(prepared) -> bool:
    """Whether a prepared document's operation is a mutation (compiled or
    left to graphql-core; a document that failed to compile has none)."""
    operation = getattr(prepared, "operation", None)
    return getattr(operation, "operation", None) == "mutation"


class GraphQLEndpoint:
    """The /graphql ASGI endpoint (see the module docstring)."""

    def __init__(self, state: _State, max_body_bytes: int) -> None:
        self._state = state
        self._limit = max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        try:
            await self._handle(scope, receive, send)
        except _RequestError as e:
            await _send_bytes(send, e.status, _error_body(str(e)), e.headers)

    async def _handle(self, scope, receive, send) -> None:
        engine = self._state.engine
        if engine is None:
            raise _RequestError(503, "the GraphQL engine is not running")
        method = scope["method"]
        content_type = b""
        content_length = None
        tenant = user = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                content_length = value
            elif name == b"x-tenant-id":
                tenant = value
            elif name == b"x-user-id":
                user = value
        context = None
        if tenant is not None or user is not None:
            context = _context(tenant, user)

        if method == "POST":
            media = content_type.split(b";", 1)[0].strip().lower()
            if media != _JSON:
                raise _RequestError(
                    415, "POST /graphql needs content-type application/json"
                    + (f", got {content_type.decode('latin-1')}"
                       if content_type else ""))
            if content_length is not None:
                try:
                    too_big = int(content_length) > self._limit
                except ValueError:
                    raise _RequestError(400, "content-length is not a number")
                if too_big:
                    raise _RequestError(
                        413, f"request body over {self._limit} bytes")
            query, variables, operation = _parse_post(
                await _read_body(receive, self._limit))
        elif method == "GET":
            query, variables, operation = _parse_get(scope["query_string"])
        else:
            raise _RequestError(405, f"method {method} not allowed on "
                                     "/graphql; use GET or POST",
                                [(b"allow", b"GET, POST")])

        # Compiled once per (document, operation name), then a cache hit;
        # a long document compiles off the event loop.
        prepared = await engine.prepare_async(query, operation)
        if method == "GET" and _is_mutation(prepared):
            raise _RequestError(
                405, "mutations are not allowed over GET; use POST",
                [(b"allow", b"POST")])
        if getattr(prepared, "may_be_large", False):
            await _stream(receive, send,
                          engine.stream(prepared, variables, context))
            return
        try:
            body = await engine.run(prepared, variables, context)
        except Exception:  # noqa: BLE001 - a server bug: logged, 500
            log.exception("engine.execute failed")
            raise _RequestError(500, "internal server error")
        await _send_bytes(send, 200, body)


def _context(tenant: Optional[bytes], user: Optional[bytes]) -> dict:
    context = {}
    if tenant is not None:
        text = tenant.decode("latin-1").strip()
        try:
            context["tenant_id"] = str(uuid.UUID(text))
        except ValueError:
            raise _RequestError(400, f"X-Tenant-Id must be a UUID, got "
                                     f"{text[:64]!r}") from None
    if user is not None:
        text = user.decode("latin-1").strip()
        if not _USER_ID.fullmatch(text):
            raise _RequestError(
                400, "X-User-Id must be 1 to 128 characters of A-Z a-z 0-9 "
                     f"._@:+=-, got {text[:64]!r}")
        context["user_id"] = text
    return context


async def _send_bytes(send, status: int, body: bytes,
                      extra_headers: Sequence = ()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", _JSON),
                            (b"content-length", str(len(body)).encode()),
                            *extra_headers]})
    await send({"type": "http.response.body", "body": body})


async def _wait_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _stream(receive, send, pieces) -> None:
    """Sends the engine's pieces as a chunked body. The first piece comes
    before the status line, so a failure before any byte is still a 500. A
    client that disconnects cancels the pump (and with it the query)."""
    iterator = pieces.__aiter__()
    try:
        try:
            first = await iterator.__anext__()
        except StopAsyncIteration:
            first = b""
        except Exception:  # noqa: BLE001 - a server bug: logged, 500
            log.exception("engine.stream failed before its first piece")
            raise _RequestError(500, "internal server error")
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", _JSON)]})
        await send({"type": "http.response.body", "body": first,
                    "more_body": True})

        async def pump():
            async for piece in iterator:
                await send({"type": "http.response.body", "body": piece,
                            "more_body": True})
            await send({"type": "http.response.body", "body": b""})

        pump_task = asyncio.ensure_future(pump())
        watch_task = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            await asyncio.wait({pump_task, watch_task},
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump_task, watch_task):
                task.cancel()
            await asyncio.gather(pump_task, watch_task,
                                 return_exceptions=True)
        if pump_task.done() and not pump_task.cancelled() \
                and pump_task.exception() is not None:
            # Headers are out: all we can do is log and cut the body short.
            log.error("engine.stream failed mid-body",
                      exc_info=pump_task.exception())
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


# ---------------------------------------------------------------------------
# The app.

def create_app(database_url: Optional[str] = None, *,
               schema_name: Optional[str] = None,
               registry: Optional[Callable] = None,
               mutations: Optional[Sequence] = None,
               names: Optional[Mapping[str, str]] = None,
               pool_size: Optional[int] = None,
               max_body_bytes: Optional[int] = None) -> Starlette:
    """The Starlette app. Each argument defaults from the environment:

    database_url    FRAISEQL_DATABASE_URL (required)
    schema_name     FRAISEQL_SCHEMA, default "sample"
    registry        FRAISEQL_REGISTRY "module:function", function(fraiseql_native,
                    schema_name) -> Schema; default
                    sample_registry:register_sample (tests/fixtures)
    mutations       FRAISEQL_MUTATIONS "module:attr", a sequence of
                    gql.Mutation or a function(schema_name) returning one;
                    default sample_registry.sample_mutations (createAccount)
                    with the default registry, none with another one
    names           FRAISEQL_NAMES, JSON {view: plural list field name}
    pool_size       FRAISEQL_POOL_SIZE, default 8 (the pool's max_size and
                    the calls that run at once)
    max_body_bytes  FRAISEQL_MAX_BODY_BYTES, default 1 MiB (over it: 413)
    (environment only) FRAISEQL_CURSOR_SECRET: the key Relay cursors are
                    signed with; set it when several processes serve one API
    (environment only) FRAISEQL_PLAN_CACHE_MODE: the pool's plan_cache_mode,
                    default force_generic_plan ("" keeps the server's)

    Nothing connects until the server starts (the lifespan handler)."""
    config = _Config(database_url, schema_name, registry, mutations, names,
                     pool_size, max_body_bytes)
    state = _State()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        state.pool = fraiseql_native.Pool(
            config.database_url, min_size=1, max_size=config.pool_size,
            settings=config.settings)
        schema = config.registry(fraiseql_native, config.schema_name)
        # Cursors signed with a shared secret stay valid across restarts
        # and across the workers of one deployment; without one, each
        # process signs with its own random key.
        secret = os.environ.get("FRAISEQL_CURSOR_SECRET") or None
        state.repo = AsyncRepository(state.pool, schema,
                                     cursor_secret=secret)
        # Binds the repository to this (the server's) loop, and fails the
        # start-up now if the database is not there.
        await state.repo.run("SELECT 1")
        state.engine = gql.Engine(state.repo, schema, names=config.names,
                                  mutations=config.mutations)
        state.sdl = state.engine.sdl.encode()
        log.info("GraphQL engine up on %s (schema %s, pool %d)",
                 _redact(config.database_url), config.schema_name,
                 config.pool_size)
        try:
            yield
        finally:
            state.engine = None
            state.repo.close()
            state.repo = None
            state.pool = None

    async def health(request):
        if state.engine is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def schema_graphql(request):
        return Response(state.sdl, media_type="text/plain; charset=utf-8")

    async def stats(request):
        if state.engine is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"engine": state.engine.stats(),
                             "queue": state.repo.queue_stats(),
                             "pool": state.pool.stats()})

    app = Starlette(
        routes=[
            Route("/graphql", GraphQLEndpoint(state, config.max_body_bytes)),
            Route("/health", health, methods=["GET"]),
            Route("/schema.graphql", schema_graphql, methods=["GET"]),
            Route("/stats", stats, methods=["GET"]),
        ],
        lifespan=lifespan)
    app.state.graphql = state
    return app


def _redact(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]*@", r"//\1:***@", url)
