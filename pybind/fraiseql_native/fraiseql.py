"""FraiseQL's repository API over fraiseql_native's async repository.

FraiseQL resolvers reach the database through `info.context["db"]`, a
`FraiseQLRepository(pool, context)` whose coroutines are named and called as
in FraiseQL's `fraiseql.db` (find, find_one, count, exists, sum, avg, min,
max, distinct, pluck, aggregate, batch_exists, paginate, execute_function,
execute_function_with_context, run, run_in_transaction). This class keeps
those names and arguments and runs every call through
`fraiseql_native.aio.AsyncRepository`:

    from fraiseql_native.aio import AsyncRepository
    from fraiseql_native.fraiseql import FraiseQLRepository

    repo = AsyncRepository(pool, schema)                # once per process
    db = FraiseQLRepository(repo, {"tenant_id": tenant, "user_id": user})
    body = await db.find("app.v_user", info=info, where={"age": {"gte": 18}},
                         order_by=[("created_at", "DESC")], limit=10,
                         tenant_id=tenant)             # a column filter
    return body                                         # ResponseBytes

What differs from FraiseQL, and why (docs/fraiseql-api.md has the table):

- Nothing is pasted into SQL. `aggregate` accepts an allow-listed grammar
  (COUNT(*), COUNT(f), COUNT(DISTINCT f), SUM(f), AVG(f), MIN(f), MAX(f)
  over schema fields, also in the `(data->'f')::numeric` form FraiseQL's
  aggregate helpers write); anything else raises ValueError naming the
  expression. `order_by` text is parsed as `field [ASC|DESC], ...`.
- The context goes to every call (reads included), through the core's
  validated `context=`: tenant_id, user_id, contact_id/is_super_admin (as
  app.contact_id/app.is_super_admin), any "app.*", "fraiseql.*" or
  "jwt.claims.*" key, and "role"; query_timeout becomes each call's timeout.
- Values parsed from a body keep numbers exact (int, or Decimal for a
  fraction), and UUIDs and dates are the strings JSON has; `sum` and `avg`
  return float as FraiseQL documents (0.0 over no rows).
"""
import builtins
import contextlib
import dataclasses
import datetime
import decimal
import enum
import json
import math
import re
import uuid
from collections.abc import Mapping

from . import resolvers

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "DatabaseQuery",
    "FraiseQLRepository",
    "ResponseBytes",
    "convert_placeholders",
    "parse_aggregation",
]

_MEDIA_TYPE = "application/json"


class ResponseBytes(bytes):
    """The GraphQL response body a find/find_one produced, as bytes.

    It is the body to send unchanged (FraiseQL's RustResponseBytes plays
    this role). Being `bytes`, it goes anywhere bytes go; it also carries
    what FraiseQL's type offers: `bytes(body)` / `body.bytes` (plain bytes),
    `content_type` ("application/json"), `schema_type` and `to_json()` (for
    tests). For a router:

    - Starlette: return it from an endpoint as is; it is an ASGI
      application that sends itself as a 200 application/json response.
    - FastAPI (which would serialise anything that is not a Response):
      `return body.to_response()` (a starlette.responses.Response), or
      `Response(content=body, media_type=body.content_type)`.
    """

    __slots__ = ()
    content_type = _MEDIA_TYPE
    media_type = _MEDIA_TYPE
    schema_type = None

    def __bytes__(self):
        return builtins.bytes.__getitem__(self, slice(None))

    @property
    def bytes(self):
        """The body as plain bytes (FraiseQL's RustResponseBytes.bytes)."""
        return self.__bytes__()

    def to_json(self):
        """The body parsed (numbers with a fraction as Decimal): for tests,
        not for serving."""
        return json.loads(self, parse_float=decimal.Decimal)

    def to_response(self, status_code=200, headers=None):
        """A starlette.responses.Response carrying the body unchanged."""
        from starlette.responses import Response  # only when asked for

        return Response(content=self.__bytes__(), status_code=status_code,
                        headers=headers, media_type=_MEDIA_TYPE)

    async def __call__(self, scope, receive, send):
        """ASGI: sends the body as a complete 200 application/json response
        (what a Starlette endpoint's return value is called with)."""
        body = self.__bytes__()
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", _MEDIA_TYPE.encode()),
                        (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body})

    def __repr__(self):
        head = builtins.bytes.__getitem__(self, slice(0, 100))
        return f"ResponseBytes({len(self)} bytes, {head!r})"


@dataclasses.dataclass
class DatabaseQuery:
    """FraiseQL's query object for run(): SQL text with psycopg-style
    placeholders (%s, %(name)s, %% for a literal %), its parameters, and
    whether rows are fetched."""

    statement: object
    params: object = None
    fetch_result: bool = True


# --------------------------------------------------------------------------
# Arguments: where, column filters, order_by.

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_FUNCTION = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?\Z")
# Keys of a FraiseQL context that are not session settings, never sent.
_NOT_SETTINGS = frozenset(("query_timeout", "graphql_info", "db", "mode",
                           "json_passthrough", "config", "user", "request",
                           "loader_registry", "authenticated"))
_SETTING_PREFIXES = ("app.", "fraiseql.", "jwt.claims.")


def _scalar(value, where):
    """A filter value as the core's where language takes it."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date,
                          datetime.time)):
        return value.isoformat()
    return value


def _where_object(where):
    """A where argument as a dict (or JSON text, passed through): FraiseQL's
    generated WhereInput objects (_to_whereinput_dict, or dataclasses whose
    None fields are unset) become plain dicts."""
    if where is None or isinstance(where, (dict, str)):
        return where
    if isinstance(where, Mapping):
        return dict(where)
    to_dict = getattr(where, "_to_whereinput_dict", None)
    if callable(to_dict):
        return to_dict()
    if dataclasses.is_dataclass(where) and not isinstance(where, type):
        return {field.name: getattr(where, field.name)
                for field in dataclasses.fields(where)
                if getattr(where, field.name) is not None
                and getattr(where, field.name) != {}}
    raise TypeError("where must be a dict, JSON text or a WhereInput object, "
                    f"got {type(where).__name__}")


def _column_filter(name, value):
    """`name=value` as a where entry: equality, or IS NULL for None."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"column filter {name!r} is not a field name")
    if value is None:
        return {name: {"isnull": True}}
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        raise TypeError(f"column filter {name}= takes one value (got "
                        f"{type(value).__name__}); use where= for lists")
    return {name: {"eq": _scalar(value, name)}}


def _merge_where(where, filters):
    """where AND each filter; None when there is nothing to filter by."""
    where = _where_object(where)
    parts = []
    if where:
        if isinstance(where, str):
            where = json.loads(where, parse_float=decimal.Decimal)
        parts.append(where)
    parts.extend(filters)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return {"AND": parts}


def _path_filter(path, condition):
    """{"a": {"b": condition}} for the dotted path "a.b"."""
    result = condition
    for name in reversed(path.split(".")):
        result = {name: result}
    return result


_ORDER_TERM = re.compile(
    r"\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"(?:\s+(ASC|DESC))?\s*\Z", re.IGNORECASE)


def _direction(value, where):
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, Mapping):  # a nested orderBy input
        return {key: _direction(inner, where) for key, inner in value.items()}
    if isinstance(value, enum.Enum):
        return _direction(value.value, where)
    raise TypeError(f"order_by: the direction of {where!r} must be 'ASC' or "
                    f"'DESC', got {type(value).__name__}")


def _order_entry(field, direction):
    if not isinstance(field, str):
        raise TypeError("order_by: a field name must be a str, got "
                        f"{type(field).__name__}")
    return _path_filter(field, _direction(direction, field)) \
        if "." in field else {field: _direction(direction, field)}


def _order_text(text):
    entries = []
    for term in text.split(","):
        match = _ORDER_TERM.match(term)
        if not match:
            raise ValueError(f"order_by: {term.strip()!r} is not "
                             "'field [ASC|DESC]'")
        entries.append(_order_entry(match.group(1),
                                    match.group(2) or "ASC"))
    return entries


def normalize_order_by(order_by):
    """FraiseQL's order_by forms as the core's list of {field: DIRECTION}:
    [("created_at", "DESC"), ...], ("created_at", "DESC"), {"a": "ASC",
    "b": "DESC"} (in key order), [{"a": "ASC"}, ...] (a GraphQL orderBy
    input, nested objects kept), or text "created_at DESC, id" (parsed,
    never pasted). Directions are upper-cased."""
    if order_by is None:
        return None
    if isinstance(order_by, str):
        return _order_text(order_by)
    if isinstance(order_by, tuple) and len(order_by) == 2 and all(
            isinstance(part, str) for part in order_by):
        return [_order_entry(*order_by)]
    if isinstance(order_by, Mapping):
        return [_order_entry(key, value) for key, value in order_by.items()]
    to_dict = getattr(order_by, "_to_dict", None) or getattr(
        order_by, "to_dict", None)
    if callable(to_dict):
        return normalize_order_by(to_dict())
    if isinstance(order_by, (list, tuple)):
        entries = []
        for item in order_by:
            if isinstance(item, str):
                entries.extend(_order_text(item))
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                entries.append(_order_entry(*item))
            elif isinstance(item, Mapping):
                entries.extend(_order_entry(key, value)
                               for key, value in item.items())
            else:
                raise TypeError("order_by: each entry must be (field, "
                                "direction), {field: direction} or text, "
                                f"got {type(item).__name__}")
        return entries
    raise TypeError("order_by must be a list of (field, direction), a dict, "
                    f"a list of dicts or text, got {type(order_by).__name__}")


# --------------------------------------------------------------------------
# JSON text for query definitions (execute): exact numbers, no floats
# invented, the boundary's own limits checked by the core afterwards.

def _json_text(value, depth=0):
    if depth > 64:
        raise ValueError("where: nested deeper than 64 levels")
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("where: NaN and infinity are not JSON numbers")
        return repr(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError("where: NaN and infinity are not JSON numbers")
        return str(value)
    if isinstance(value, Mapping):
        items = []
        for key, inner in value.items():
            if not isinstance(key, str):
                raise TypeError("where: keys must be str, got "
                                f"{type(key).__name__}")
            items.append(json.dumps(key, ensure_ascii=False) + ":"
                         + _json_text(inner, depth + 1))
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json_text(v, depth + 1) for v in value) + "]"
    scalar = _scalar(value, None)
    if scalar is not value:
        return _json_text(scalar, depth)
    raise TypeError(f"where: {type(value).__name__} is not a JSON value")


# --------------------------------------------------------------------------
# aggregate(): the allow-listed grammar.

AGGREGATE_FUNCTIONS = ("COUNT", "SUM", "AVG", "MIN", "MAX")

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_JSONB_STEP = r"\s*->>?\s*'(" + _NAME + r")'"
_AGGREGATE = re.compile(r"\s*(" + _NAME + r")\s*\((.*)\)\s*\Z", re.DOTALL)
_DISTINCT = re.compile(r"DISTINCT\s+(.*)\Z", re.IGNORECASE | re.DOTALL)
# (data->'a'->>'b')::numeric and data->'a' (FraiseQL's aggregate helpers);
# the cast is dropped: the core types the field from the schema.
_CASTS = ("numeric", "int", "integer", "bigint", "smallint", "float",
          "float8", "real", "double precision", "text", "date", "timestamp",
          "timestamptz", "jsonb")
_CAST = re.compile(r"(.*?)\s*::\s*(" + "|".join(
    re.escape(c).replace(r"\ ", r"\s+") for c in _CASTS) + r")\s*\Z",
    re.IGNORECASE | re.DOTALL)
_JSONB_PATH = re.compile(r"\s*" + _NAME + r"((?:" + _JSONB_STEP + r")+)\s*\Z")
_STEP = re.compile(_JSONB_STEP)


def _aggregate_field(text):
    """The dotted field path of an aggregate's argument, or None."""
    text = text.strip()
    cast = _CAST.match(text)
    if cast:
        text = cast.group(1).strip()
        if text.startswith("(") and text.endswith(")"):
            text = text[1:-1].strip()
    elif text.startswith("(") and text.endswith(")"):
        return _aggregate_field(text[1:-1])
    if _PATH.match(text):
        return text
    jsonb = _JSONB_PATH.match(text)
    if jsonb:
        return ".".join(_STEP.findall(jsonb.group(1)))
    return None


def parse_aggregation(expression):
    """One aggregate expression as (function, field, distinct): function
    is COUNT/SUM/AVG/MIN/MAX, field a dotted path or None for COUNT(*).
    Anything outside the grammar raises ValueError naming it."""
    if not isinstance(expression, str):
        raise ValueError(f"aggregate expression {expression!r} is not text")
    match = _AGGREGATE.match(expression)
    problem = None
    if match:
        function = match.group(1).upper()
        argument = match.group(2).strip()
        distinct = False
        if function not in AGGREGATE_FUNCTIONS:
            problem = f"{match.group(1)} is not one of " + ", ".join(
                AGGREGATE_FUNCTIONS)
        elif argument == "*":
            if function == "COUNT":
                return ("COUNT", None, False)
            problem = f"{function}(*) is not an aggregate"
        else:
            distinct_match = _DISTINCT.match(argument)
            if distinct_match:
                if function != "COUNT":
                    problem = "DISTINCT is allowed in COUNT only"
                argument = distinct_match.group(1)
                distinct = True
            field = _aggregate_field(argument)
            if problem is None and field is not None:
                return (function, field, distinct)
            problem = problem or f"{argument.strip()!r} is not a field"
    raise ValueError(
        f"aggregate expression {expression!r} is not allowed"
        + (f" ({problem})" if problem else "")
        + ": use COUNT(*), COUNT(field), COUNT(DISTINCT field), SUM(field), "
        "AVG(field), MIN(field) or MAX(field) over a schema field")


# --------------------------------------------------------------------------
# run(): psycopg placeholders to $n.

_PLACEHOLDER = re.compile(r"%(?:(%)|\(([^)]*)\)([sbt])|([sbt]))")


def convert_placeholders(sql, params):
    """psycopg's placeholders as PostgreSQL's: %s (and %b, %t) for a
    sequence, %(name)s for a mapping (a name used twice is one $n), %% a
    literal %. Without parameters (None) the text is left alone, as psycopg
    does. Returns (sql, list of values)."""
    if params is None:
        return sql, []
    named = isinstance(params, Mapping)
    values = []
    numbers = {}
    position = [0]

    def replace(match):
        if match.group(1):
            return "%"
        name = match.group(2)
        if name is not None:
            if not named:
                raise TypeError(f"run: %({name})s needs a mapping of params")
            if name not in params:
                raise KeyError(f"run: no parameter {name!r}")
            if name not in numbers:
                values.append(params[name])
                numbers[name] = len(values)
            return f"${numbers[name]}"
        if named:
            raise TypeError("run: %s needs a sequence of params")
        index = position[0]
        position[0] += 1
        if index >= len(params):
            raise IndexError("run: more %s placeholders than params")
        values.append(params[index])
        return f"${len(values)}"

    text = _PLACEHOLDER.sub(replace, sql)
    leftover = re.sub(_PLACEHOLDER, "", sql)
    if "%" in leftover:
        raise ValueError("run: a lone % in the query (write %% for a "
                         "literal %, as psycopg requires)")
    if not named and position[0] != len(params):
        raise IndexError(f"run: {len(params)} params for {position[0]} "
                         "placeholders")
    return text, values


def _statement_text(statement):
    """The SQL text of a str, or of a psycopg.sql Composable."""
    if isinstance(statement, str):
        return statement
    as_string = getattr(statement, "as_string", None)
    if callable(as_string):
        return as_string(None)
    raise TypeError("run: the statement must be SQL text or a psycopg.sql "
                    f"object, got {type(statement).__name__}")


# --------------------------------------------------------------------------

def _loads(body):
    return json.loads(body, parse_float=decimal.Decimal)


def _to_float(value):
    return 0.0 if value is None else float(value)


def _same_id(value):
    """A key to compare an id by: UUIDs (objects or text) canonically."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            return value
    return value


# mutation_response keys as the core writes them -> FraiseQL's row keys.
_MUTATION_KEYS = {"status": "status", "message": "message",
                  "entityId": "entity_id", "entityType": "entity_type",
                  "entity": "entity", "updatedFields": "updated_fields",
                  "cascade": "cascade", "metadata": "metadata"}


class FraiseQLRepository:
    """FraiseQL's repository (fraiseql.db.FraiseQLRepository) over a
    fraiseql_native.aio.AsyncRepository (or one of its transactions).

    `context` is FraiseQL's per-request context dict; its session settings
    go with every call (see _native.pyi's Context), query_timeout (seconds)
    is each call's timeout, graphql_info the default `info`."""

    def __init__(self, repo, context=None, *, _transaction=False):
        self._repo = repo
        self.context = dict(context or {})
        self._transaction = _transaction
        self._session = self._session_settings(self.context)
        self.query_timeout = self.context.get("query_timeout")

    # -- context ----------------------------------------------------------

    @staticmethod
    def _session_settings(context):
        """The settings of a FraiseQL context as the core's context=."""
        session = {}
        for key, value in context.items():
            if value is None or key in _NOT_SETTINGS:
                continue
            if key in ("tenant_id", "user_id", "role"):
                session[key] = value
            elif key in ("contact_id", "is_super_admin"):
                session["app." + key] = value
            elif isinstance(key, str) and key.startswith(_SETTING_PREFIXES):
                session[key] = value
        if "app.contact_id" not in session and isinstance(
                context.get("user"), (str, uuid.UUID)):
            session["app.contact_id"] = context["user"]  # FraiseQL's fallback
        return session or None

    def _options(self):
        options = {}
        if not self._transaction:
            options["context"] = self._session
        if self.query_timeout:
            options["timeout"] = float(self.query_timeout)
        return options

    def get_pool(self):
        """The AsyncRepository this class runs on."""
        return self._repo

    # -- helpers ----------------------------------------------------------

    def _where(self, kwargs, reserved=()):
        """Pops where= and the column filters out of kwargs."""
        where = kwargs.pop("where", None)
        for name in ("group_by", "aggregations"):
            if kwargs.get(name) is not None:
                raise NotImplementedError(
                    f"{name}= is not supported: use aggregate() for "
                    "aggregations over the filtered rows")
            kwargs.pop(name, None)
        filters = [_column_filter(name, kwargs.pop(name))
                   for name in [k for k in kwargs if k not in reserved]]
        return _merge_where(where, filters)

    def _info(self, info):
        if info is None:
            info = self.context.get("graphql_info")
        return info

    @staticmethod
    def _field_name(field_name, info, view_name):
        if field_name:
            return field_name
        if info is not None:
            nodes = getattr(info, "field_nodes", None) or getattr(
                info, "field_asts", None)
            if nodes:
                return resolvers.response_key(nodes[0])
            name = getattr(info, "field_name", None)
            if name:
                return name
        return view_name  # FraiseQL's default too

    @staticmethod
    def _selection(selection, info):
        if selection is not None:
            return selection
        if info is not None:
            return resolvers.selection_from_info(info)
        return None

    # -- reads returning the body -----------------------------------------

    _FIND_OWN = ("limit", "offset", "order_by", "selection", "first",
                 "after", "last", "before", "total_count")

    async def find(self, view_name, field_name=None, info=None, **kwargs):
        """The rows of `view_name` as the response body
        {"data":{field_name:[...]}} (ResponseBytes). kwargs: where, limit,
        offset, order_by, and column=value equality filters; also ours:
        selection (instead of info's), first/after/last/before/total_count
        (a Relay connection)."""
        info = self._info(info)
        own = {name: kwargs.pop(name) for name in self._FIND_OWN
               if name in kwargs}
        where = self._where(kwargs)
        if "order_by" in own:
            own["order_by"] = normalize_order_by(own["order_by"])
        own["selection"] = self._selection(own.get("selection"), info)
        body = await self._repo.find(
            view_name, field=self._field_name(field_name, info, view_name),
            where=where, **own, **self._options())
        return ResponseBytes(body)

    async def find_one(self, view_name, field_name=None, info=None,
                       **kwargs):
        """The first matching row as {"data":{field_name:{...}}}
        (ResponseBytes), or None when no row matches. kwargs: id=, where,
        order_by, offset, column filters; ours: selection."""
        info = self._info(info)
        own = {name: kwargs.pop(name) for name in ("order_by", "offset",
                                                   "selection")
               if name in kwargs}
        kwargs.pop("limit", None)  # find_one is LIMIT 1 anyway
        where = self._where(kwargs)
        if "order_by" in own:
            own["order_by"] = normalize_order_by(own["order_by"])
        own["selection"] = self._selection(own.get("selection"), info)
        field = self._field_name(field_name, info, view_name)
        body = await self._repo.find_one(view_name, field=field, where=where,
                                         **own, **self._options())
        if body.endswith(b":null}}"):
            parsed = json.loads(body)
            if "errors" not in parsed and parsed.get("data", {}).get(
                    field, 0) is None:
                return None
        return ResponseBytes(body)

    # -- values ---------------------------------------------------------

    async def count(self, view_name, **kwargs):
        """The number of matching rows (int)."""
        return await self._repo.count(view_name, where=self._where(kwargs),
                                      **self._options())

    async def exists(self, view_name, **kwargs):
        """Whether any row matches (bool)."""
        return await self._repo.exists(view_name, where=self._where(kwargs),
                                       **self._options())

    async def sum(self, view_name, field, **kwargs):
        """The sum of a number field as float; 0.0 over no rows."""
        return _to_float(await self._repo.sum(
            view_name, field, where=self._where(kwargs), **self._options()))

    async def avg(self, view_name, field, **kwargs):
        """The average of a number field as float; 0.0 over no rows."""
        return _to_float(await self._repo.avg(
            view_name, field, where=self._where(kwargs), **self._options()))

    async def min(self, view_name, field, **kwargs):
        """The smallest value (int, Decimal or text), None over no rows."""
        return await self._repo.min(view_name, field,
                                    where=self._where(kwargs),
                                    **self._options())

    async def max(self, view_name, field, **kwargs):
        """The largest value (int, Decimal or text), None over no rows."""
        return await self._repo.max(view_name, field,
                                    where=self._where(kwargs),
                                    **self._options())

    async def distinct(self, view_name, field, **kwargs):
        """The distinct values, sorted ascending (None last). Ours also
        takes limit= and offset=."""
        own = {name: kwargs.pop(name) for name in ("limit", "offset")
               if name in kwargs}
        return await self._repo.distinct(view_name, field,
                                         where=self._where(kwargs), **own,
                                         **self._options())

    async def pluck(self, view_name, field, **kwargs):
        """One field's value of each matching row, in order_by's order:
        kwargs where, limit, offset, order_by, column filters."""
        if not isinstance(field, str) or not _PATH.match(field):
            raise ValueError(f"pluck: {field!r} is not a field name")
        own = {name: kwargs.pop(name) for name in ("limit", "offset",
                                                   "order_by")
               if name in kwargs}
        if "order_by" in own:
            own["order_by"] = normalize_order_by(own["order_by"])
        where = self._where(kwargs)
        steps = field.split(".")
        selection = ""
        for step in reversed(steps):
            selection = f"v: {step}" + (f" {{ {selection} }}"
                                        if selection else "")
        body = await self._repo.find(view_name, field="rows", where=where,
                                     selection=selection, **own,
                                     **self._options())
        values = []
        for row in _loads(body)["data"]["rows"]:
            for _ in steps:
                row = row.get("v") if isinstance(row, dict) else None
            values.append(row)
        return values

    async def aggregate(self, view_name, aggregations, **kwargs):
        """Several aggregates over the matching rows in one round trip and
        one snapshot: {name: value} in the order given. Expressions follow
        the allow-listed grammar (parse_aggregation); ValueError names any
        other before anything runs."""
        if not aggregations:
            return {}
        if not isinstance(aggregations, Mapping):
            raise TypeError("aggregate: aggregations must be a dict of "
                            "name -> expression")
        parsed = {name: parse_aggregation(expression)
                  for name, expression in aggregations.items()}
        where = self._where(kwargs)
        from . import query_pb2  # the package's QueryDefinition

        operations = {"COUNT": query_pb2.RootField.COUNT,
                      "SUM": query_pb2.RootField.SUM,
                      "AVG": query_pb2.RootField.AVG,
                      "MIN": query_pb2.RootField.MIN,
                      "MAX": query_pb2.RootField.MAX}
        roots = []
        for index, (name, (function, field, distinct)) in enumerate(
                parsed.items()):
            root = query_pb2.RootField(response_key=f"a{index}",
                                       view=view_name)
            root_where = where
            if distinct:
                root.operation = query_pb2.RootField.DISTINCT
                root.aggregate_field = field
            else:
                root.operation = operations[function]
                if function == "COUNT" and field is not None:
                    root_where = _merge_where(
                        where, [_path_filter(field, {"isnull": False})])
                elif field is not None:
                    root.aggregate_field = field
            if root_where is not None:
                root.where_json = _json_text(root_where)
            roots.append(root)

        async def run(selected):
            definition = query_pb2.QueryDefinition(roots=selected)
            return _loads(await self._repo.execute(
                definition.SerializeToString(), **self._options()))

        try:
            response = await run(roots)
        except ValueError as error:  # InvalidInputError: whose is it?
            for (name, expression), root in zip(aggregations.items(), roots):
                try:
                    await run([root])
                except ValueError as own_error:
                    raise ValueError(f"aggregate {name!r}: {expression!r}: "
                                     f"{own_error}") from own_error
            raise error
        if response.get("errors"):
            raise ValueError(f"aggregate: {response['errors']}")
        data = response["data"]
        result = {}
        for index, (name, (function, field, distinct)) in enumerate(
                parsed.items()):
            value = data[f"a{index}"]
            if distinct:
                value = sum(1 for v in value if v is not None)
            result[name] = value
        return result

    async def batch_exists(self, view_name, ids, field="id", **kwargs):
        """{id: whether a matching row has it} for each of `ids`, in one
        query (the distinct values of `field` among them)."""
        ids = list(ids)
        if not ids:
            return {}
        if not isinstance(field, str) or not _PATH.match(field):
            raise ValueError(f"batch_exists: {field!r} is not a field name")
        where = self._where(kwargs)
        wanted = [_scalar(value, field) for value in ids]
        where = _merge_where(where, [_path_filter(field, {"in": wanted})])
        found = {_same_id(value) for value in await self._repo.distinct(
            view_name, field, where=where, **self._options())}
        return {value: _same_id(_scalar(value, field)) in found
                for value in ids}

    async def paginate(self, view_name, *, first=None, after=None, last=None,
                       before=None, filters=None, order_by="id",
                       order_direction="ASC", include_total=True, where=None,
                       selection=None, info=None, field_name=None):
        """FraiseQL's CQRS paginate: a dict with "edges" ([{"node",
        "cursor"}]), "page_info" (has_next_page, has_previous_page,
        start_cursor, end_cursor, and total_count when include_total) and
        "total_count" (None without include_total). Keyset pages over
        order_by (a field, with order_direction, or any order_by form) plus
        the view's id; cursors are ours (opaque, signed). first defaults to
        20. filters: {field: value} equality, a list meaning any of."""
        if first is not None and last is not None:
            raise ValueError("Cannot specify both 'first' and 'last'")
        if first is not None and first < 0:
            raise ValueError("'first' must be non-negative")
        if last is not None and last < 0:
            raise ValueError("'last' must be non-negative")
        if first is None and last is None:
            first = 20
        if isinstance(order_by, str) and _PATH.match(order_by):
            order = [_order_entry(order_by, order_direction)]
        else:
            order = normalize_order_by(order_by)
        conditions = []
        for key, value in (filters or {}).items():
            if isinstance(value, (list, tuple)):
                if not _IDENTIFIER.match(key):
                    raise ValueError(f"filter {key!r} is not a field name")
                conditions.append({key: {"in": [_scalar(v, key)
                                                for v in value]}})
            else:
                conditions.append(_column_filter(key, value))
        info = self._info(info)
        key = "page"
        body = await self._repo.find(
            view_name, field=key, where=_merge_where(where, conditions),
            order_by=order, first=first, after=after, last=last,
            before=before, total_count=bool(include_total),
            selection=self._selection(selection, info), **self._options())
        connection = _loads(body)["data"][key]
        info_in = connection["pageInfo"]
        page_info = {
            "has_next_page": info_in["hasNextPage"],
            "has_previous_page": info_in["hasPreviousPage"],
            "start_cursor": info_in["startCursor"],
            "end_cursor": info_in["endCursor"],
        }
        total = connection.get("totalCount") if include_total else None
        if include_total:
            page_info["total_count"] = total
        return {
            "edges": [{"node": edge["node"], "cursor": edge["cursor"]}
                      for edge in connection["edges"]],
            "page_info": page_info,
            "total_count": total,
        }

    # -- functions and raw SQL ------------------------------------------

    async def execute_function(self, function_name, input_data):
        """Calls function_name(input_data::jsonb) and returns its row as a
        dict ({} when it returns none)."""
        return await self.execute_function_with_context(function_name, [],
                                                        input_data)

    async def execute_function_with_context(self, function_name,
                                            context_args, input_data):
        """Calls function_name(context_args..., input_data::jsonb) and
        returns its row as a dict ({} when it returns none)."""
        if not isinstance(function_name, str) or not _FUNCTION.match(
                function_name):
            raise ValueError(f"Invalid function name: {function_name}")
        context_args = list(context_args or [])
        if hasattr(self._repo, "run"):
            placeholders = [f"${i + 1}" for i in range(len(context_args))]
            placeholders.append(f"${len(context_args) + 1}::jsonb")
            sql = (f"SELECT to_jsonb(r)::text AS row FROM {function_name}("
                   + ", ".join(placeholders) + ") AS r")
            params = [_scalar(v, None) for v in context_args]
            params.append(_json_text(input_data))
            rows = await self._repo.run(sql, params, **self._options())
            if not rows:
                return {}
            row = next(iter(rows[0].values()))
            return _loads(row) if isinstance(row, (str, bytes)) else row
        return await self._execute_function_by_mutate(
            function_name, context_args, input_data)

    async def _execute_function_by_mutate(self, function_name, context_args,
                                          input_data):
        """Without Repository.run: the core's mutate() with no selection
        writes every mutation_response field; the row is read back from
        it. The context values travel as app.fraiseql_arg_<n> settings."""
        names = [f"app.fraiseql_arg_{i}" for i in range(len(context_args))]
        options = self._options()
        if names:
            if self._transaction:
                raise NotImplementedError(
                    "execute_function_with_context in a transaction needs "
                    "Repository.run")
            options["context"] = dict(self._session or {})
            options["context"].update(
                (name, _scalar(value, name))
                for name, value in zip(names, context_args))
        from . import DatabaseError

        try:
            body = await self._repo.mutate(
                function_name, _json_text(input_data), field="result",
                success_type="Success", error_type="Error",
                context_args=names, **options)
        except DatabaseError as error:
            if "returned no row" in str(error):  # FraiseQL gives {}
                return {}
            raise
        written = _loads(body)
        if written.get("errors") and not written.get("data"):
            raise ValueError(f"{function_name}: {written['errors']}")
        result = (written.get("data") or {}).get("result")
        if not result:
            return {}
        return {row_key: result.get(key)
                for key, row_key in _MUTATION_KEYS.items()}

    async def run(self, query, params=None, *, fetch=True):
        """Raw parameterised SQL: a DatabaseQuery (statement, params,
        fetch_result), or SQL text and params, with psycopg's placeholders
        (%s, %(name)s) or PostgreSQL's ($1). Rows as dicts; [] without
        fetch."""
        if not isinstance(query, str) and hasattr(query, "statement"):
            params = getattr(query, "params", None)
            fetch = getattr(query, "fetch_result", True)
            query = query.statement
        text = _statement_text(query)
        if params is not None and not isinstance(params, Mapping) and "%" \
                not in text and len(params) > 0:
            values = list(params)  # already $n
        else:
            text, values = convert_placeholders(
                text, params if params else None)
        runner = getattr(self._repo, "run", None)
        if runner is None:
            raise NotImplementedError(
                "run() needs the core's Repository.run (raw SQL), which this "
                "build of fraiseql_native does not have")
        rows = await runner(text, [_scalar(v, None) for v in values],
                            fetch=fetch, **self._options())
        return list(rows) if fetch else []

    # -- transactions -----------------------------------------------------

    @contextlib.asynccontextmanager
    async def transaction(self, *, isolation="read_committed",
                          read_only=False):
        """`async with db.transaction() as tx:` where tx is a
        FraiseQLRepository whose calls all run in one transaction (with
        this context), committed at the end, rolled back on an
        exception."""
        if self._transaction:
            raise RuntimeError("already in a transaction")
        options = self._options()
        async with self._repo.transaction(isolation=isolation,
                                          read_only=read_only,
                                          **options) as tx:
            yield FraiseQLRepository(tx, self.context, _transaction=True)

    async def run_in_transaction(self, func, *args, **kwargs):
        """Awaits func(tx, *args, **kwargs) in a transaction and returns
        its result; tx is a FraiseQLRepository on the transaction (FraiseQL
        passes a psycopg connection instead). Rolled back if func raises."""
        async with self.transaction() as tx:
            return await func(tx, *args, **kwargs)
