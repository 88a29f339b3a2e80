"""The hostile input table and the positions it is placed in, for
test_hostile_input.py (issue 9, part 4).

Kept apart from the test file so that one subprocess can import it to run the
cases that may kill a process (deep nesting, cycles, huge values): run as
`python hostile_values.py DB_URL SAMPLE_SCHEMA HOSTILE_SCHEMA` it reads
"value_id position_id" lines on stdin and writes one JSON outcome per line.

A value is a factory (huge and cyclic values are built only where they run).
A position places a value in one argument a caller controls and makes the
call; `judge` says whether the outcome is acceptable:
  - fraiseql_native.InvalidInputError, or
  - the call ran and its result checks out (the value was bound: rows equal
    the ones computed here from the raw sample data, echoes equal the value),
  - TypeError only where the Python argument has the wrong type (pybind11
    rejects it, or it has no JSON form: see `Position.type_ok`),
  - a few outcomes particular to a position (QueryTimeoutError for tiny
    timeouts; an undefined function or type for a well-formed function name
    or bind() sql_type: the server's answer to an identifier, not a syntax
    error).
Never another DatabaseError (a syntax error means user text reached SQL),
never another exception (RuntimeError, UnicodeError, a plain ValueError, an
object's own exception), never a crash, never a connection left in use. A
value holding NUL or a lone surrogate must never run where it is sent to the
server, and an InvalidInputError never repeats a bound value.

The whole table goes into the main positions (FULL_POSITIONS); the others
take CORE, a sample with every group; FRAISEQL_HOSTILE_FULL=1 runs every
value everywhere (~15,000 cases, minutes instead of a minute).
"""
import datetime
import json
import os
import pathlib
import re
import sys
import uuid
from decimal import Decimal

ROOT = pathlib.Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- values --

class Boom(Exception):
    """Raised by the hostile objects below (never caught by the module)."""


class StrRaises:
    def __str__(self):
        raise Boom("__str__ raised")

    __repr__ = __str__


class StrNotStr:
    def __str__(self):
        return 42  # str() raises TypeError


class ReprRaises:
    def __repr__(self):
        raise Boom("__repr__ raised")


class LyingInt(int):
    """An int whose text is JSON that narrows the filter it sits in."""

    def __str__(self):
        return f'{int(self)},"lt":-1000'

    __repr__ = __str__


class LyingFloat(float):
    def __str__(self):
        return f'{float(self)!r},"lt":-1000'

    __repr__ = __str__


class LyingDecimal(Decimal):
    def __format__(self, spec):
        return f'{Decimal(self)},"lt":-1000'

    def __str__(self):
        return self.__format__("")


class IntStrRaises(int):
    def __str__(self):
        raise Boom("int __str__ raised")

    __repr__ = __str__


class StrSubclass(str):
    def __str__(self):
        raise Boom("str subclass __str__ raised")


class DictSubclass(dict):
    def items(self):
        raise Boom("items raised")

    def __iter__(self):
        raise Boom("__iter__ raised")


class LenLies(list):
    def __len__(self):
        return 10 ** 9


def deep_dict(n):
    v = {"a": 1}
    for _ in range(n):
        v = {"a": v}
    return v


def deep_list(n):
    v = [1]
    for _ in range(n):
        v = [v]
    return v


def and_nest(n):
    v = {"firstName": {"eq": "x"}}
    for _ in range(n):
        v = {"AND": [v]}
    return v


def cycle_dict():
    d = {"a": 1}
    d["self"] = d
    return d


def cycle_list():
    lst = [1]
    lst.append(lst)
    return lst


def cycle_mixed():
    d = {"eq": []}
    d["eq"].append({"in": d})
    return d


class HV:
    """A hostile value: id, factory, group, isolate (run in a subprocess)."""

    def __init__(self, id, make, group, isolate=False):
        self.id, self.make, self.group, self.isolate = id, make, group, isolate
        self._value = None
        self._made = False

    def value(self):
        if self.isolate:
            return self.make()  # big: built where it runs, never kept
        if not self._made:
            self._value, self._made = self.make(), True
        return self._value


VALUES = []
_seen = set()


def add(group, id, make, isolate=False):
    assert id not in _seen, id
    _seen.add(id)
    VALUES.append(HV(id, make, group, isolate))


def const(v):
    return lambda: v


# SQL fragments, quotes, backslashes, placeholders, casts, comments.
for i, s in enumerate([
        "'; DROP TABLE x; --", "1 OR 1=1", "' OR '1'='1", "' OR 1=1 --",
        '" OR ""="', "1' AND pg_sleep(10) IS NULL --", "$1", "$0", "$2",
        "$99999", "::text", "::regclass", "$1::text", "/*", "*/", "/* x */",
        "--", "-- comment\n", ";", "; SELECT 1", "E'\\x00'", "U&'\\0000'",
        "$$", "$$x$$", "$tag$ x $tag$", "1; DELETE FROM t", "UNION SELECT NULL",
        "' UNION SELECT usename FROM pg_user --", "') OR ('a'='a",
        "x') OR true --", "\\'", "%", "_", "%_%", "\\%", "\\_", "\\", "\\\\",
        "'", "''", "'''", '"', '""', "`", "text or true",
        "integer is not null or true", "x union select y", "null", "NULL",
        "true", "current_user", "pg_sleep(10)", "(SELECT 1)", "ARRAY[1]", "?",
        "%(name)s", ":name", "E'\\''", "data->>'x'", 't."data"',
        'id"; DROP TABLE x; --', "a.b.c", "pg_catalog.pg_sleep", "app.v_user",
        "../../etc/passwd", "${jndi:ldap://x}", "<script>alert(1)</script>",
        "\\u0000", "\\x00", "\\n", "'\\''", "0'XOR(if(now()=sysdate(),1,0))XOR'Z",
        "admin'--", "1)) OR ((1=1", "ORDER BY 1--", "' AND 1=CAST(version() AS int)--",
        "\\\\'; --", "@@version", "{{7*7}}", "0x41", "1e309", "-1", "+1"]):
    add("sql", f"sql_{i:02d}", const(s))

# NUL.
for i, s in enumerate(["a\x00b", "\x00", "x\x00", "\x00'; DROP TABLE x; --",
                       "a" + "\x00" * 10, "acme\x00evil", "\x00" * 100]):
    add("nul", f"nul_{i}", const(s))

# Invalid UTF-8 (surrogateescape) and lone surrogates.
for i, s in enumerate(["\udcff", "a\udcffb", b"\xff\xfe\xc3".decode(
        "utf-8", "surrogateescape"), "\ud800", "\udfff", "\ud83d",
        "x\udc00\ud800y"]):
    add("surrogate", f"surrogate_{i}", const(s))

# Control characters.
for i, s in enumerate(["\x01", "\x07", "\x08", "\x1b[31mred\x1b[0m", "\r\n",
                       "\t", "\x7f", "\x85", "\u2028", "\u2029", "\x0b\x0c",
                       "a\rb", "".join(chr(c) for c in range(1, 32))]):
    add("control", f"control_{i:02d}", const(s))

# Empty and whitespace.
for i, s in enumerate(["", " ", "   ", "\t\n", "\u00a0", "\u3000", "\ufeff",
                       "\ufeffid", " id "]):
    add("blank", f"blank_{i}", const(s))

# Unicode oddities.
for i, s in enumerate([
        "\u202e", "abc\u202edef", "\u200d", "\u200b", "a\u200bb",
        "\U0001F469\u200d\U0001F469\u200d\U0001F467", "\U0001F600",
        "\U0010FFFF", "\ufffd", "\uffff", "\u00e9", "e\u0301", "\u0130",
        "\u00df", "\u2126", "\uff21\uff22\uff23", "\ufb01", "\U0001D54F",
        "a" + "\u0301" * 50, "\u0645\u0631\u062d\u0628\u0627",
        "f\u0456rstName", "first\u200bName", "\u202aLTR", "\ue000"]):
    add("unicode", f"unicode_{i:02d}", const(s))

# Long identifiers.
for i, s in enumerate(["a" * 63, "a" * 64, "a" * 10000, "firstName" * 1000,
                       "x." * 1000, "_" * 64, "A" * 256]):
    add("long", f"long_{i}", const(s))

# Format strings.
for i, s in enumerate(["%s%n", "%s%s%s%s%s", "{0}", "{}", "{__class__}",
                       "%x%x%x", "%n", "{0!r:>10}", "%(x)s", "%%", "%c%d"]):
    add("format", f"format_{i:02d}", const(s))

# Strings that look like JSON.
for i, s in enumerate(["{}", "[]", '{"eq": 1}', '{"$gt": ""}', '{"AND": []}',
                       "[1,2", '"quoted"', "1e999", "-0", "NaN", "Infinity",
                       '{"firstName": {"eq": "x"}}', '{"a":1,"a":2}',
                       '{"__proto__": {}}',
                       # JSON text whose escapes decode to what text cannot
                       # hold: lone surrogates, NUL.
                       '{"firstName": {"eq": "\\udcff"}}',
                       '{"name": "\\udcff", "k": "\\ud800"}',
                       '{"name": "\\u0000"}', '"\\udfff"']):
    add("jsonish", f"jsonish_{i:02d}", const(s))

# Numbers.
for i, n in enumerate([0, -1, 1, 30, 2 ** 31 - 1, 2 ** 31, -2 ** 31 - 1,
                       2 ** 53 + 1, 2 ** 62, 2 ** 63 - 1, 2 ** 63, -2 ** 63, -2 ** 63 - 1,
                       2 ** 64, 10 ** 400, -10 ** 400, 10 ** 5000]):
    add("int", f"int_{i:02d}", const(n))
for i, f in enumerate([1e308 * 10, float("-inf"), float("nan"), -0.0, 1e-320,
                       5e-324, 1.7976931348623157e308, 0.1, -1.5]):
    add("float", f"float_{i}", const(f))
for i, d in enumerate(["NaN", "sNaN", "Infinity", "-Infinity", "1e999999",
                       "-0", "1E+400", "1E-400", "100.50", "-1e-999999"]):
    add("decimal", f"decimal_{i}", const(Decimal(d)))
add("bool", "bool_true", const(True))
add("bool", "bool_false", const(False))
add("none", "none", const(None))
add("odd", "complex", const(complex(1, 2)))

# Containers, odd types, hostile objects.
for vid, make in [
        ("list_empty", lambda: []), ("dict_empty", lambda: {}),
        ("list_none", lambda: [None]), ("list_list", lambda: [[]]),
        ("dict_blank_key", lambda: {"": ""}), ("dict_eq", lambda: {"eq": 1}),
        ("dict_and", lambda: {"AND": []}), ("dict_ne_none", lambda: {"$ne": None}),
        ("list_mixed", lambda: [1, "a", None, True, 1.5]),
        ("tuple", lambda: ("a",)),
        ("dict_int_key", lambda: {1: "a"}), ("dict_none_key", lambda: {None: 1}),
        ("dict_tuple_key", lambda: {("a",): 1}),
        ("set_empty", lambda: set()), ("set", lambda: {1, 2}),
        ("frozenset", lambda: frozenset({"a"})),
        ("bytes_empty", lambda: b""), ("bytes", lambda: b"x"),
        ("bytes_invalid", lambda: b"\xff\xfe"), ("bytes_sql", lambda: b"'; DROP TABLE x; --"),
        ("bytes_nul", lambda: b"a\x00b"),
        ("bytearray", lambda: bytearray(b"x")),
        ("memoryview", lambda: memoryview(b"x")),
        ("object", lambda: object()), ("str_raises", lambda: StrRaises()),
        ("str_not_str", lambda: StrNotStr()), ("repr_raises", lambda: ReprRaises()),
        ("lying_int", lambda: LyingInt(30)), ("lying_float", lambda: LyingFloat(30.0)),
        ("lying_decimal", lambda: LyingDecimal("30")),
        ("int_str_raises", lambda: IntStrRaises(30)),
        ("str_subclass", lambda: StrSubclass("x")),
        ("dict_subclass", lambda: DictSubclass(a=1)),
        ("list_len_lies", lambda: LenLies([1])),
        ("uuid", lambda: uuid.UUID(int=0)),
        ("date_min", lambda: datetime.date(1, 1, 1)),
        ("datetime_max", lambda: datetime.datetime.max),
        ("time", lambda: datetime.time(23, 59, 59, 999999)),
        ("type", lambda: int), ("function", lambda: (lambda: 1)),
        ("ellipsis", lambda: ...), ("exception", lambda: Boom("x")),
        ("range", lambda: range(3)), ("generator", lambda: (i for i in range(3))),
        ("deep_dict_100", lambda: deep_dict(100)),
        ("deep_list_100", lambda: deep_list(100)),
        ("and_nest_100", lambda: and_nest(100)),
        ("wide_dict_10k", lambda: {f"k{i}": i for i in range(10000)}),
        ("order_by_1000", lambda: [{"firstName": "ASC"}] * 1000),
        ("order_by_1000_keys", lambda: [
            {k: "ASC"} for k in ["age", "firstName", "lastName", "email",
                                 "balance"] * 200]),
]:
    add("object", vid, make)

# Deep nesting, cycles and huge values: each runs in a subprocess.
for vid, make in [
        ("deep_dict_10k", lambda: deep_dict(10_000)),
        ("deep_dict_200k", lambda: deep_dict(200_000)),
        ("deep_list_10k", lambda: deep_list(10_000)),
        ("deep_list_200k", lambda: deep_list(200_000)),
        ("and_nest_10k", lambda: and_nest(10_000)),
        ("and_nest_200k", lambda: and_nest(200_000)),
        ("cycle_dict", cycle_dict), ("cycle_list", cycle_list),
        ("cycle_mixed", cycle_mixed),
        ("list_1m", lambda: ["x"] * 1_000_000),
        ("str_1mb", lambda: "a" * (1 << 20)),
        ("str_10mb", lambda: "a" * (10 << 20)),
        ("quotes_1mb", lambda: "'\\\"" * (1 << 18)),
        ("selection_1m_tokens", lambda: "id " * 1_000_000),
        ("selection_100k_aliases", lambda: " ".join(
            f"a{i}: id" for i in range(100_000))),
        ("selection_deep_10k", lambda: "address { " * 10_000 + "}" * 10_000),
]:
    add("huge", vid, make, isolate=True)

# chunk_bytes values that may abort the process: a subprocess each.
for vid, n in [("chunk_2_20", 1 << 20), ("chunk_2_31", 1 << 31),
              ("chunk_2_40", 1 << 40), ("chunk_2_62", 1 << 62),
              ("chunk_int64_max", 2 ** 63 - 1)]:
    add("chunk", vid, const(n), isolate=True)

VALUE_BY_ID = {v.id: v for v in VALUES}


# ------------------------------------------------------- value properties --

def walk(v):
    """Every object inside v (dict keys and values, list items), without
    recursion and visiting each container once (cycles end)."""
    seen = set()
    stack = [v]
    while stack:
        x = stack.pop()
        yield x
        if isinstance(x, (dict, list, tuple)):
            if id(x) in seen:
                continue
            seen.add(id(x))
            if isinstance(x, dict):
                for k, item in dict.items(x):
                    stack.append(k)
                    stack.append(item)
            else:
                stack.extend(list.__iter__(x) if isinstance(x, list)
                             else tuple.__iter__(x))


def has_nul(v):
    return any((isinstance(x, str) and "\x00" in x) or
               (isinstance(x, (bytes, bytearray)) and b"\x00" in x)
               for x in walk(v))


def encodable(s):
    try:
        str.encode(s, "utf-8")
        return True
    except UnicodeEncodeError:
        return False


def has_surrogate(v):
    return any(isinstance(x, str) and not encodable(x) for x in walk(v))


def has_json_form(v):
    """What the JSON conversion can represent (cycles and depth aside: those
    must be InvalidInputError, not TypeError)."""
    for x in walk(v):
        if x is None or isinstance(x, (bool, int, str, list, tuple,
                                       uuid.UUID, datetime.date,
                                       datetime.time)):
            continue
        if isinstance(x, float):
            if x != x or x in (float("inf"), float("-inf")):
                return False
            continue
        if isinstance(x, Decimal):
            if not Decimal.is_finite(x):
                return False
            continue
        if isinstance(x, dict):
            if not all(isinstance(k, str) for k in dict.keys(x)):
                return False
            continue
        return False
    return True


def pybind_str_ok(v):
    """pybind11 converts v to std::string: str encodable as UTF-8, or bytes."""
    return (isinstance(v, str) and encodable(v)) or isinstance(v, bytes)


def pybind_int64_ok(v):
    return isinstance(v, int) and -2 ** 63 <= v < 2 ** 63


def pybind_double_ok(v):
    if isinstance(v, (str, bytes, bytearray)) or v is None:
        return False
    try:
        float(v)
        return True
    except Exception:
        return False


def str_ok(v):
    """Context values: anything str() turns into encodable text."""
    if v is None:
        return False
    try:
        s = str(v)
    except Exception:
        return False
    return isinstance(s, str) and encodable(s)


# ------------------------------------------------------------- harness --

USER_SELECTION = "id firstName"


class Harness:
    """The repositories and data the positions run against."""

    def __init__(self, fn, db_url, sample, hschema, raw_users):
        self.fn = fn
        self.sample = sample
        self.hschema = hschema
        self.users = f"{sample}.v_user"
        self.ctx_view = f"{hschema}.v_ctx"
        self.echo = f"{hschema}.echo_input"
        self.raw = raw_users
        self.pool = fn.Pool(db_url, min_size=1, max_size=4, acquire_timeout=10)
        register_plugins(fn)
        schema = make_schema(fn, sample, hschema)
        self.repo = fn.Repository(self.pool, schema)
        # The Python operators render per call, never from a cached plan.
        self.plugin_repo = fn.Repository(self.pool, schema, plan_cache_size=0)
        named = [r for r in raw_users if r.get("first_name")]
        self.real_first = named[0]["first_name"]
        self.real_last = next(r["last_name"] for r in raw_users
                              if r.get("last_name"))

    def ids(self, predicate):
        return sorted(r["id"] for r in self.raw if predicate(r))


def make_schema(fn, sample, hschema):
    sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
    from sample_registry import register_sample
    schema = register_sample(fn, sample)
    schema.add_view(f"{hschema}.v_ctx", "Ctx",
                    {"tenant": "String", "user": "String", "hostile": "String"})
    schema.add_view(f"{hschema}.v_account", "Account",
                    {"id": "UUID", "name": "String", "email": "String",
                     "balance": "Decimal", "created_by": "String",
                     "tenant_id": "UUID", "current_tenant": "String"},
                    columns={"id": "uuid", "tenant_id": "uuid", "data": "jsonb"})
    schema.add_type("Echo", {"tenant": "String", "user": "String",
                             "input": "JSON"})
    return schema


# The mutation the positions call: returns its arguments, never raises for
# any jsonb (a function that raises is not what is under test).
ECHO_SQL = """
CREATE FUNCTION "{schema}".echo_input(input_tenant text, input_user text,
                                      input_payload jsonb)
RETURNS "{schema}".mutation_response LANGUAGE sql AS $$
  SELECT ROW('success', 'echoed', NULL, 'Echo',
             jsonb_build_object('tenant', input_tenant, 'user', input_user,
                                'input', input_payload),
             NULL, NULL, NULL)::"{schema}".mutation_response
$$"""


# bind() arguments for the Python operators, by token (the filter value).
BIND = {}
BIND_TYPE_ERRORS = []
_registered = []


def _render_bind_value(field, value, bind):
    try:
        placeholder = bind(BIND[value], "text")
    except TypeError as e:
        BIND_TYPE_ERRORS.append(e)
        raise ValueError("bind() refused the type of its value")
    return f"{field.text} = {placeholder}"


def _render_bind_type(field, value, bind):
    try:
        placeholder = bind("x", BIND[value])
    except TypeError as e:
        BIND_TYPE_ERRORS.append(e)
        raise ValueError("bind() refused the type of its sql_type")
    return f"{field.text} = {placeholder}"


def register_plugins(fn):
    if _registered:
        return
    # Described, with a valid example: tests that list every operator check
    # both (the registry is process-wide).
    fn.register_operator(
        "where.test.hostile_bind_value", "hostileBindValue", ["String"],
        _render_bind_value,
        description="Test operator: binds a hostile value as text.",
        example='{"firstName": {"hostileBindValue": "t0"}}')
    fn.register_operator(
        "where.test.hostile_bind_type", "hostileBindType", ["String"],
        _render_bind_type,
        description="Test operator: binds 'x' with a hostile sql_type.",
        example='{"firstName": {"hostileBindType": "t0"}}')
    _registered.append(True)


def load_raw_users(db_url, sample):
    import psycopg
    with psycopg.connect(db_url) as conn:
        cur = conn.execute(f"SELECT data::text FROM {sample}.v_user")
        return [json.loads(r[0], parse_float=Decimal) for r in cur]


def json_contains(a, b):
    """jsonb's @> below the top level (as test_where_json.py)."""
    if isinstance(b, dict):
        return isinstance(a, dict) and all(
            k in a and json_contains(a[k], v) for k, v in b.items())
    if isinstance(b, list):
        return isinstance(a, list) and all(
            any(json_contains(x, y) for x in a) for y in b)
    if isinstance(a, (dict, list)):
        return False
    num = (int, float, Decimal)
    if (isinstance(a, num) and not isinstance(a, bool) and
            isinstance(b, num) and not isinstance(b, bool)):
        return Decimal(str(a)) == Decimal(repr(b) if isinstance(b, float)
                                          else int.__repr__(b)
                                          if isinstance(b, int) else
                                          Decimal.__str__(b))
    return type(a) is type(b) and a == b


def rows_of(body):
    doc = json.loads(body)
    assert "errors" not in doc, doc.get("errors")
    (rows,) = doc["data"].values()
    return rows


def row_ids(body):
    return sorted(r["id"] for r in rows_of(body))


def plain_str(v):
    return type(v) is str


# ------------------------------------------------------------ positions --
#
# Each runner makes the call with v placed, then checks a result that came
# back: it returns a list of problems (empty: the value was bound safely).

POSITIONS = {}


class Position:
    def __init__(self, id, run, *, type_ok, bound, str_only=False,
                 numbers_only=False, isolated=False, extra=None,
                 applies=None):
        self.id = id
        self.run = run
        # type_ok(v): v has a Python type this argument takes. Otherwise a
        # TypeError is accepted (pybind11's, or "has no JSON form").
        self.type_ok = type_ok
        # The value is sent to the server (NUL and lone surrogates must be
        # refused, never run; never echoed in a message).
        self.bound = bound
        self.str_only = str_only        # only str values fit (text splicing)
        self.numbers_only = numbers_only
        self.isolated = isolated        # also takes the subprocess values
        self.extra = extra or (lambda outcome, v: False)
        self.applies = applies


def position(id, **kw):
    def deco(run):
        POSITIONS[id] = Position(id, run, **kw)
        return run
    return deco


def json_ok(build):
    """type_ok for arguments converted to JSON: build(v) is the argument."""
    return lambda v: has_json_form(build(v))


def expect_ids(h, body, predicate):
    got = row_ids(body)
    want = h.ids(predicate)
    if got != want:
        return [f"rows differ from the bound filter: got {len(got)}, "
                f"expected {len(want)}"]
    return []


def _first(r):
    return r.get("first_name")


# Filter values.

@position("where.eq", type_ok=json_ok(lambda v: {"eq": v}), bound=True,
          isolated=True)
def _where_eq(h, v):
    body = h.repo.find(h.users, where={"firstName": {"eq": v}},
                       selection=USER_SELECTION)
    if plain_str(v):
        return expect_ids(h, body, lambda r: _first(r) == v)
    rows_of(body)
    return []


@position("where.shorthand", type_ok=json_ok(lambda v: v), bound=True)
def _where_short(h, v):
    body = h.repo.find(h.users, where={"firstName": v},
                       selection=USER_SELECTION)
    if plain_str(v):
        return expect_ids(h, body, lambda r: _first(r) == v)
    rows_of(body)
    return []


@position("where.in", type_ok=json_ok(lambda v: [v]), bound=True,
          isolated=True)
def _where_in(h, v):
    body = h.repo.find(h.users, where={"firstName": {"in": [v, h.real_first]}},
                       selection=USER_SELECTION)
    if plain_str(v):
        return expect_ids(h, body,
                          lambda r: _first(r) in (v, h.real_first))
    rows_of(body)
    return []


@position("where.in_list", type_ok=json_ok(lambda v: v), bound=True,
          isolated=True)
def _where_in_list(h, v):
    body = h.repo.find(h.users, where={"firstName": {"in": v}},
                       selection=USER_SELECTION)
    if isinstance(v, list) and all(plain_str(x) for x in v):
        return expect_ids(h, body, lambda r: _first(r) in v)
    rows_of(body)
    return []


@position("where.nested", type_ok=json_ok(lambda v: v), bound=True)
def _where_nested(h, v):
    body = h.repo.find(h.users, where={"address": {"cityName": {"eq": v}}},
                       selection=USER_SELECTION)
    if plain_str(v):
        return expect_ids(h, body, lambda r: isinstance(r.get("address"), dict)
                          and r["address"].get("city_name") == v)
    rows_of(body)
    return []


@position("where.contains", type_ok=json_ok(lambda v: v), bound=True)
def _where_contains(h, v):
    body = h.repo.find(h.users, where={"firstName": {"contains": v}},
                       selection=USER_SELECTION)
    if plain_str(v):
        return expect_ids(h, body, lambda r: isinstance(_first(r), str)
                          and v in _first(r))
    rows_of(body)
    return []


@position("where.or_not", type_ok=json_ok(lambda v: v), bound=True)
def _where_or_not(h, v):
    body = h.repo.find(h.users, where={"OR": [
        {"firstName": {"eq": v}},
        {"NOT": {"lastName": {"neq": h.real_last}}}]},
        selection=USER_SELECTION)
    if plain_str(v):
        return expect_ids(h, body, lambda r: _first(r) == v or
                          r.get("last_name") == h.real_last)
    rows_of(body)
    return []


def _int_value(v):
    return (isinstance(v, int) and not isinstance(v, bool)
            and type(v) in (int, LyingInt))


@position("where.int", type_ok=json_ok(lambda v: v), bound=True)
def _where_int(h, v):
    body = h.repo.find(h.users, where={"age": {"eq": v}},
                       selection=USER_SELECTION)
    if _int_value(v):
        return expect_ids(h, body, lambda r: r.get("age") == int(v))
    rows_of(body)
    return []


def _decimal_of(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return Decimal(int.__repr__(v))
    if isinstance(v, float):
        return Decimal(float.__repr__(v))
    if isinstance(v, Decimal) and Decimal.is_finite(v):
        return Decimal(Decimal.__str__(v))
    return None


@position("where.decimal", type_ok=json_ok(lambda v: v), bound=True)
def _where_decimal(h, v):
    body = h.repo.find(h.users, where={"balance": {"lt": v}},
                       selection=USER_SELECTION)
    try:
        d = _decimal_of(v)
    except ValueError:  # beyond Python's int-to-text digit limit
        d = None
    if d is not None:
        return expect_ids(h, body, lambda r: r.get("balance") is not None
                          and Decimal(str(r["balance"])) < d)
    rows_of(body)
    return []


def _prefs(r):
    p = r.get("preferences")
    return p if isinstance(p, dict) else None


@position("where.json_has_key", type_ok=json_ok(lambda v: v), bound=True)
def _where_json_has_key(h, v):
    body = h.repo.find(h.users, where={"preferences": {"hasKey": v}},
                       selection="id")
    if plain_str(v):
        return expect_ids(h, body, lambda r: _prefs(r) is not None
                          and v in _prefs(r))
    rows_of(body)
    return []


@position("where.json_key", type_ok=json_ok(lambda v: {v: 1}), bound=True,
          applies=lambda v: _hashable(v))
def _where_json_key(h, v):
    body = h.repo.find(h.users, where={"preferences": {"contains": {v: 1}}},
                       selection="id")
    if plain_str(v):
        return expect_ids(h, body, lambda r: _prefs(r) is not None
                          and json_contains(_prefs(r), {v: 1}))
    rows_of(body)
    return []


@position("where.json_value", type_ok=json_ok(lambda v: v), bound=True,
          isolated=True)
def _where_json_value(h, v):
    body = h.repo.find(h.users, where={"preferences": {"contains": {"theme": v}}},
                       selection="id")
    if plain_str(v):
        return expect_ids(h, body, lambda r: _prefs(r) is not None
                          and json_contains(_prefs(r), {"theme": v}))
    rows_of(body)
    return []


@position("stream.where", type_ok=json_ok(lambda v: v), bound=True)
def _stream_where(h, v):
    with h.repo.find_stream(h.users, where={"firstName": {"eq": v}},
                            selection=USER_SELECTION, chunk_bytes=512) as it:
        body = b"".join(it)
    if plain_str(v):
        return expect_ids(h, body, lambda r: _first(r) == v)
    rows_of(body)
    return []


@position("count.where", type_ok=json_ok(lambda v: v), bound=True)
def _count_where(h, v):
    n = h.repo.count(h.users, where={"lastName": {"eq": v}})
    if plain_str(v):
        want = len(h.ids(lambda r: r.get("last_name") == v))
        if n != want:
            return [f"count {n}, expected {want}"]
    return []


# Names: fields, operators, whole arguments.

def _hashable(v):
    try:
        hash(v)
        return True
    except TypeError:
        return False


def _ran(body):
    json.loads(body)
    return []


@position("where.field_name", type_ok=json_ok(lambda v: {v: 1}), bound=False,
          applies=_hashable, isolated=True)
def _where_field_name(h, v):
    return _ran(h.repo.find(h.users, where={v: {"eq": 1}}, selection="id"))


@position("where.nested_field_name", type_ok=json_ok(lambda v: {v: 1}),
          bound=False, applies=_hashable)
def _where_nested_field_name(h, v):
    return _ran(h.repo.find(h.users, where={"address": {v: {"eq": "x"}}},
                            selection="id"))


@position("where.operator_name", type_ok=json_ok(lambda v: {v: 1}),
          bound=False, applies=_hashable)
def _where_operator_name(h, v):
    return _ran(h.repo.find(h.users, where={"firstName": {v: "x"}},
                            selection="id"))


@position("where.whole", type_ok=lambda v: v is None or isinstance(v, str)
          or has_json_form(v), bound=True, isolated=True)
def _where_whole(h, v):
    return _ran(h.repo.find(h.users, where=v, selection="id"))


@position("order_by.key", type_ok=json_ok(lambda v: {v: 1}), bound=False,
          applies=_hashable)
def _order_key(h, v):
    return _ran(h.repo.find(h.users, order_by=[{v: "ASC"}], selection="id",
                            limit=3))


@position("order_by.direction", type_ok=json_ok(lambda v: v), bound=False)
def _order_dir(h, v):
    return _ran(h.repo.find(h.users, order_by=[{"firstName": v}],
                            selection="id", limit=3))


@position("order_by.whole", type_ok=lambda v: v is None or isinstance(v, str)
          or has_json_form(v), bound=False, isolated=True)
def _order_whole(h, v):
    return _ran(h.repo.find(h.users, order_by=v, selection="id", limit=3))


@position("order_by.paged", type_ok=json_ok(lambda v: v), bound=False)
def _order_paged(h, v):
    return _ran(h.repo.find(h.users, order_by=[{"age": v}], first=2,
                            selection="id"))


# Selection text.

@position("selection.whole", type_ok=lambda v: v is None or isinstance(v, str),
          bound=False, isolated=True)
def _selection_whole(h, v):
    return _ran(h.repo.find(h.users, selection=v, limit=2))


@position("selection.field", type_ok=lambda v: True, bound=False,
          str_only=True, isolated=True)
def _selection_field(h, v):
    return _ran(h.repo.find(h.users, selection=f"id {v}", limit=2))


@position("selection.alias", type_ok=lambda v: True, bound=False,
          str_only=True, isolated=True)
def _selection_alias(h, v):
    body = h.repo.find(h.users, selection=f"{v}: firstName id", limit=2)
    return _ran(body)


@position("selection.nested", type_ok=lambda v: True, bound=False,
          str_only=True)
def _selection_nested(h, v):
    return _ran(h.repo.find(h.users, selection=f"id address {{ {v} }}",
                            limit=2))


@position("selection.mutation", type_ok=lambda v: True, bound=False,
          str_only=True)
def _selection_mutation(h, v):
    return _mutate(h, {"name": "sel"}, success_selection=f"message {v}")[1]


# View, response key, value-call field.

@position("view", type_ok=pybind_str_ok, bound=False, isolated=True)
def _view(h, v):
    return _ran(h.repo.find(v, selection="id", limit=1))


@position("view.count", type_ok=pybind_str_ok, bound=False)
def _view_count(h, v):
    h.repo.count(v)
    return []


def _key_problems(body, v):
    doc = json.loads(body)
    (key,) = doc["data"].keys()
    if key != v:
        return ["the response key is not the field name given"]
    return []


@position("find.field", type_ok=lambda v: v is None or pybind_str_ok(v),
          bound=False, isolated=True)
def _find_field(h, v):
    body = h.repo.find(h.users, field=v, selection="id", limit=1)
    return _key_problems(body, v) if plain_str(v) else _ran(body)


@position("value_call.field", type_ok=pybind_str_ok, bound=False)
def _value_field(h, v):
    h.repo.max(h.users, v)
    return []


@position("distinct.field", type_ok=pybind_str_ok, bound=False)
def _distinct_field(h, v):
    h.repo.distinct(h.users, v, limit=3)
    return []


# Context.

def _ctx_rows(h, **kw):
    body = h.repo.find(h.ctx_view, field="ctx", selection="tenant user hostile",
                       **kw)
    return json.loads(body)["data"]["ctx"]


@position("context.name", type_ok=lambda v: isinstance(v, str), bound=False,
          applies=_hashable)
def _context_name(h, v):
    _ctx_rows(h, context={v: "x"})
    return []


@position("context.app_name", type_ok=lambda v: True, bound=False,
          str_only=True)
def _context_app_name(h, v):
    _ctx_rows(h, context={"app." + v: "x"})
    return []


def _texts(v):
    """The text a value may reach the server as: str(v), or for subclasses
    of int, float, Decimal and str the text of the value itself."""
    texts = set()
    try:
        texts.add(str(v))
    except Exception:  # noqa: BLE001
        pass
    for base, text in ((bool, None), (int, int.__repr__),
                       (float, float.__repr__), (Decimal, Decimal.__str__),
                       (str, str.__str__)):
        if isinstance(v, base):
            if text is not None:
                try:
                    texts.add(text(v))
                except ValueError:  # past Python's int-to-text digit limit
                    pass
            break
    return texts


def _echo(got, v, what):
    texts = _texts(v)
    if got not in texts:
        want = max((len(t) for t in texts), default=0)
        return [f"{what} on the server differs from the value given "
                f"({len(got or '')} vs {want} characters)"]
    return []


@position("context.tenant_id", type_ok=str_ok, bound=True, isolated=True)
def _context_tenant(h, v):
    (row,) = _ctx_rows(h, context={"tenant_id": v})
    return _echo(row["tenant"], v, "app.tenant_id")


@position("context.app_value", type_ok=str_ok, bound=True, isolated=True)
def _context_app_value(h, v):
    (row,) = _ctx_rows(h, context={"app.hostile": v, "user_id": "u"})
    return _echo(row["hostile"], v, "app.hostile")


@position("context.whole", type_ok=lambda v: v is None or isinstance(v, dict),
          bound=True)
def _context_whole(h, v):
    _ctx_rows(h, context=v)
    return []


@position("context.stream", type_ok=str_ok, bound=True)
def _context_stream(h, v):
    with h.repo.find_stream(h.ctx_view, field="ctx", selection="user",
                            context={"user_id": v}) as it:
        body = b"".join(it)
    (row,) = json.loads(body)["data"]["ctx"]
    return _echo(row["user"], v, "app.user_id")


@position("transaction.context", type_ok=str_ok, bound=True)
def _transaction_context(h, v):
    with h.repo.transaction(context={"tenant_id": v}) as tx:
        body = tx.find(h.ctx_view, field="ctx", selection="tenant")
    (row,) = json.loads(body)["data"]["ctx"]
    return _echo(row["tenant"], v, "app.tenant_id in a transaction")


@position("transaction.isolation", type_ok=pybind_str_ok, bound=False)
def _transaction_isolation(h, v):
    with h.repo.transaction(isolation=v) as tx:
        tx.count(h.ctx_view)
    return []


# Cursors, timeouts, numbers.

@position("cursor.after", type_ok=lambda v: v is None or pybind_str_ok(v),
          bound=False, isolated=True)
def _after(h, v):
    return _ran(h.repo.find(h.users, first=2, after=v, selection="id"))


@position("cursor.before", type_ok=lambda v: v is None or pybind_str_ok(v),
          bound=False)
def _before(h, v):
    return _ran(h.repo.find(h.users, last=2, before=v, selection="id",
                            order_by=[{"age": "DESC"}]))


def _timeout_extra(outcome, v):
    return outcome == "QueryTimeoutError"


def _number_value(v):
    return isinstance(v, (int, float, Decimal)) or v is None


@position("timeout", type_ok=lambda v: v is None or pybind_double_ok(v),
          bound=False, extra=_timeout_extra, numbers_only=True)
def _timeout(h, v):
    h.repo.count(h.users, timeout=v)
    return []


@position("timeout.stream", type_ok=lambda v: v is None or pybind_double_ok(v),
          bound=False, extra=_timeout_extra, numbers_only=True)
def _timeout_stream(h, v):
    with h.repo.find_stream(h.users, selection="id", timeout=v) as it:
        return _ran(b"".join(it))


@position("timeout.transaction",
          type_ok=lambda v: v is None or pybind_double_ok(v), bound=False,
          extra=_timeout_extra, numbers_only=True)
def _timeout_tx(h, v):
    with h.repo.transaction(timeout=v) as tx:
        tx.count(h.users)
    return []


@position("timeout.commit", type_ok=lambda v: v is None or pybind_double_ok(v),
          bound=False, extra=_timeout_extra, numbers_only=True)
def _timeout_commit(h, v):
    tx = h.repo.transaction()
    try:
        tx.count(h.users)
        tx.commit(timeout=v)
    finally:
        if tx.open:
            tx.rollback()
    return []


def _int_position(id, call, optional=True):
    @position(id, type_ok=lambda v: (optional and v is None)
              or pybind_int64_ok(v),
              bound=False, numbers_only=True,
              isolated=id.startswith("chunk_bytes"))
    def run(h, v):
        return call(h, v)
    return run


_int_position("limit", lambda h, v: _ran(h.repo.find(h.users, limit=v,
                                                     selection="id")))
_int_position("offset", lambda h, v: _ran(h.repo.find(h.users, offset=v,
                                                      limit=2,
                                                      selection="id")))
_int_position("first", lambda h, v: _ran(h.repo.find(h.users, first=v,
                                                     selection="id")))
_int_position("last", lambda h, v: _ran(h.repo.find(h.users, last=v,
                                                    selection="id")))
_int_position("distinct.limit", lambda h, v: (
    h.repo.distinct(h.users, "age", limit=v), [])[1])
_int_position("distinct.offset", lambda h, v: (
    h.repo.distinct(h.users, "age", offset=v), [])[1])


def _chunk_bytes(h, v):
    with h.repo.find_stream(h.users, selection="id", limit=5,
                            chunk_bytes=v) as it:
        return _ran(b"".join(it))


_int_position("chunk_bytes", _chunk_bytes, optional=False)


# Mutations (the echo function: its entity is its arguments).

TENANT = "11111111-1111-1111-1111-111111111111"


def _mutate(h, input, **kw):
    args = dict(field="echo", success_type="EchoOk", error_type="EchoError",
                entity_field="echo", entity_type="Echo",
                context_args=["tenant_id", "user_id"],
                context={"tenant_id": TENANT, "user_id": "alice"},
                success_selection="__typename status echo { tenant user input }",
                error_selection="__typename code")
    args.update(kw)
    body = h.repo.mutate(h.echo, input, **args)
    return json.loads(body), []


def _echoed(doc):
    """The echo entity of a successful call, or None."""
    (out,) = doc["data"].values()
    if not isinstance(out, dict) or out.get("__typename") != "EchoOk":
        return None
    return out.get("echo")


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?"
                         r"(\[\])?")


def identifier_like(v):
    """A (schema.)name, as the server's undefined-object answers may come
    from; anything else reaching the server changed the statement."""
    if isinstance(v, (bytes, bytearray)):
        try:
            v = bytes(v).decode("ascii")
        except UnicodeDecodeError:
            return False
    return isinstance(v, str) and _IDENTIFIER.fullmatch(v) is not None


def undefined_object(codes):
    return lambda outcome, v: (outcome in codes) and identifier_like(v)


# A function name the module takes is quoted as one identifier: the
# server's "does not exist" (42883, 3F000) is then the answer, whatever the
# text (an unquoted name would give a syntax error instead).
@position("mutate.function", type_ok=pybind_str_ok, bound=False,
          extra=lambda outcome, v: outcome in ("DatabaseError:42883",
                                               "DatabaseError:3F000"))
def _mutate_function(h, v):
    json.loads(h.repo.mutate(v, {"name": "x"}, success_type="A",
                             error_type="B"))
    return []


def _plain_json(v):
    """v when it is plain JSON data (comparable after a round trip)."""
    return all(x is None or type(x) in (str, int, bool, dict, list)
               for x in walk(v))


@position("mutate.input_value", type_ok=json_ok(lambda v: v), bound=True,
          isolated=True)
def _mutate_input_value(h, v):
    echo = _echoed(_mutate(h, {"name": v})[0])
    if echo is None:
        return ["the mutation did not succeed"]
    if _plain_json(v) and not isinstance(v, (dict, list)) \
            and echo["input"] != {"name": v}:
        return ["the input the function got differs from the value given"]
    return []


@position("mutate.input_key", type_ok=json_ok(lambda v: {v: 1}), bound=True,
          applies=_hashable)
def _mutate_input_key(h, v):
    echo = _echoed(_mutate(h, {v: 1, "k": "key"})[0])
    if echo is None:
        return ["the mutation did not succeed"]
    if plain_str(v) and echo["input"] != {v: 1, "k": "key"}:
        return ["the input the function got differs from the input given"]
    return []


@position("mutate.input_whole",
          type_ok=lambda v: v is not None and (isinstance(v, str)
                                               or has_json_form(v)),
          bound=True, isolated=True)
def _mutate_input_whole(h, v):
    echo = _echoed(_mutate(h, v)[0])
    if echo is None:
        return ["the mutation did not succeed"]
    return []


@position("mutate.context_arg", type_ok=str_ok, bound=True, isolated=True)
def _mutate_context_arg(h, v):
    echo = _echoed(_mutate(h, {"name": "ctx"},
                           context={"tenant_id": TENANT, "user_id": v})[0])
    if echo is None:
        return ["the mutation did not succeed"]
    return _echo(echo["user"], v, "the user_id argument")


@position("mutate.context_args_name", type_ok=pybind_str_ok, bound=False)
def _mutate_context_args_name(h, v):
    _mutate(h, {"name": "x"}, context_args=[v, "user_id"],
            context={"user_id": "u"})
    return []


@position("mutate.field", type_ok=lambda v: v is None or pybind_str_ok(v),
          bound=False)
def _mutate_field(h, v):
    doc, _ = _mutate(h, {"name": "f"}, field=v)
    if plain_str(v) and list(doc["data"]) != [v]:
        return ["the response key is not the field name given"]
    return []


@position("mutate.success_type", type_ok=pybind_str_ok, bound=False)
def _mutate_success_type(h, v):
    doc, _ = _mutate(h, {"name": "t"}, success_type=v)
    (out,) = doc["data"].values()
    if plain_str(v) and out.get("__typename") != v:
        return ["__typename is not the success type given"]
    return []


@position("mutate.entity_field", type_ok=pybind_str_ok, bound=False)
def _mutate_entity_field(h, v):
    _mutate(h, {"name": "e"}, entity_field=v, success_selection=None,
            error_selection=None)
    return []


# Python operator plugins: bind(value, "text") and bind("x", sql_type).

def _plugin(h, op, v, check):
    token = f"t{len(BIND)}"
    BIND[token] = v
    errors_before = len(BIND_TYPE_ERRORS)
    try:
        body = h.plugin_repo.find(h.users, where={"firstName": {op: token}},
                                  selection=USER_SELECTION)
    except h.fn.InvalidInputError:
        if len(BIND_TYPE_ERRORS) > errors_before:
            raise TypeError("bind() raised TypeError") from None
        raise
    finally:
        del BIND[token]
    return check(body)


@position("plugin.bind_value", type_ok=lambda v: v is None or isinstance(
    v, str) or has_json_form(v), bound=True, isolated=True)
def _plugin_bind_value(h, v):
    def check(body):
        if plain_str(v):
            return expect_ids(h, body, lambda r: _first(r) == v)
        rows_of(body)
        return []
    return _plugin(h, "hostileBindValue", v, check)


# bind() pastes sql_type after "::" unquoted: a (schema.)name that does not
# exist (42704, 3F000) is the server's answer, as for an unknown function;
# for anything else, or a syntax error (42601), the text changed the
# statement.
@position("plugin.bind_type", type_ok=pybind_str_ok, bound=False,
          extra=undefined_object(("DatabaseError:42704",
                                  "DatabaseError:3F000")))
def _plugin_bind_type(h, v):
    return _plugin(h, "hostileBindType", v, lambda body: (rows_of(body), [])[1])


# execute(): a serialized QueryDefinition skips the Python conversions and
# the selection-text parser, so its strings are placed directly.

def _json_text(v):
    """JSON text of v as json.dumps writes it (lone surrogates and NUL as
    escapes), or None when v has no JSON form for it."""
    try:
        return json.dumps(v, allow_nan=False)
    except Exception:  # noqa: BLE001 - objects that raise: not applicable
        return None


def _query(view, response_key="u", **root_fields):
    import query_pb2
    query = query_pb2.QueryDefinition()
    root = query.roots.add()
    root.view = view
    root.response_key = response_key
    root.is_list = True
    for name, value in root_fields.items():
        if name == "selection":
            root.has_selection = True
            for key, field in value:
                s = root.selection.add()
                s.response_key = key
                s.field_name = field
        else:
            setattr(root, name, value)
    return query.SerializeToString()


def _proto_str(v):
    return type(v) is str and encodable(v)


@position("execute.where_json", type_ok=lambda v: True, bound=True,
          applies=lambda v: _json_text({"eq": v}) is not None)
def _execute_where_json(h, v):
    body = h.repo.execute(_query(
        h.users, where_json=_json_text({"firstName": {"eq": v}}),
        selection=[("id", "id"), ("firstName", "firstName")]))
    if plain_str(v):
        return expect_ids(h, body, lambda r: _first(r) == v)
    rows_of(body)
    return []


@position("where.json_text", type_ok=lambda v: True, bound=True,
          applies=lambda v: _json_text({"eq": v}) is not None)
def _where_json_text(h, v):
    body = h.repo.find(h.users, where=_json_text({"firstName": {"eq": v}}),
                       selection=USER_SELECTION)
    if plain_str(v):
        return expect_ids(h, body, lambda r: _first(r) == v)
    rows_of(body)
    return []


@position("execute.order_by_json", type_ok=lambda v: True, bound=False,
          applies=lambda v: _json_text([{"firstName": v}]) is not None)
def _execute_order_by_json(h, v):
    return _ran(h.repo.execute(_query(
        h.users, order_by_json=_json_text([{"firstName": v}]), limit=2,
        selection=[("id", "id")])))


@position("execute.alias", type_ok=lambda v: True, bound=False,
          applies=_proto_str)
def _execute_alias(h, v):
    body = h.repo.execute(_query(h.users, selection=[(v, "firstName")],
                                 limit=2))
    rows = rows_of(body)
    if any(list(r) != [v] for r in rows):
        return ["the rows are not keyed by the alias given"]
    return []


@position("execute.field_name", type_ok=lambda v: True, bound=False,
          applies=_proto_str)
def _execute_field_name(h, v):
    return _ran(h.repo.execute(_query(h.users, selection=[("x", v)],
                                      limit=2)))


@position("execute.view", type_ok=lambda v: True, bound=False,
          applies=_proto_str)
def _execute_view(h, v):
    return _ran(h.repo.execute(_query(v, selection=[("id", "id")], limit=1)))


@position("execute.response_key", type_ok=lambda v: True, bound=False,
          applies=_proto_str)
def _execute_response_key(h, v):
    body = h.repo.execute(_query(h.users, response_key=v,
                                 selection=[("id", "id")], limit=1))
    return _key_problems(body, v)


# execute(bytes).

@position("execute", type_ok=lambda v: isinstance(v, bytes), bound=False)
def _execute(h, v):
    return _ran(h.repo.execute(v))


# ------------------------------------------------------------- pairs --

NUMBERISH = ("int", "float", "decimal", "bool", "none", "odd")

# The whole table goes into these positions; the others take CORE, a sample
# with every group and every kind of object (the whole table everywhere is
# ~15,000 cases and 5 minutes: set FRAISEQL_HOSTILE_FULL=1 for it).
FULL_POSITIONS = {
    "where.eq", "where.in", "where.json_key", "where.field_name",
    "selection.alias", "view", "context.tenant_id", "mutate.input_value",
    "plugin.bind_value", "plugin.bind_type", "execute.where_json"}
FULL_EVERYWHERE = os.environ.get("FRAISEQL_HOSTILE_FULL") == "1"
CORE = {
    "sql_00", "sql_01", "sql_06", "sql_10", "sql_13", "sql_20", "sql_22",
    "sql_29", "sql_33", "sql_36", "sql_38", "sql_41", "sql_44", "sql_47",
    "sql_60", "nul_0", "nul_5", "surrogate_0", "surrogate_3", "control_03",
    "control_12", "blank_0", "blank_1", "blank_6", "unicode_00", "unicode_05",
    "unicode_20", "long_1", "long_2", "format_00", "format_02", "jsonish_02",
    "jsonish_05", "jsonish_12", "jsonish_14", "jsonish_15", "jsonish_16",
    "jsonish_17", "int_03", "int_09", "int_10", "int_14",
    "int_16", "float_0", "float_2", "decimal_0", "decimal_2", "bool_true",
    "none", "dict_empty", "list_mixed", "dict_int_key", "set",
    "bytes_invalid", "bytes_nul", "str_raises", "lying_int",
    "int_str_raises", "deep_dict_100", "and_nest_100", "order_by_1000"}
# Number positions take every number and odd type, and this sample of the
# rest.
SAMPLE_NON_NUMBERS = {"sql_00", "sql_06", "nul_0", "surrogate_0", "blank_0",
                      "unicode_06", "jsonish_07", "jsonish_09", "format_00",
                      "dict_empty", "list_mixed", "set", "bytes", "str_raises",
                      "lying_int", "int_str_raises", "lying_float", "uuid"}
# pybind11 turns a Decimal into an int digit by digit before refusing it:
# 1e999999 costs ~20 s of CPU per call. Kept out of the int arguments (a
# finding of the suite, in its report), not out of the others.
SLOW_FOR_PYBIND_INT = {"decimal_4", "decimal_9"}

# chunk_bytes values that may abort the process run in the subprocess.
BIG_CHUNK = 1 << 20


def applies(pos, hv, v):
    """Whether the in-process value hv (built: v) goes in pos."""
    if pos.str_only and type(v) is not str:
        return False
    if pos.numbers_only:
        if not (hv.group in NUMBERISH or hv.id in SAMPLE_NON_NUMBERS):
            return False
        if hv.id in SLOW_FOR_PYBIND_INT and not pos.id.startswith("timeout"):
            return False
    elif not (FULL_EVERYWHERE or pos.id in FULL_POSITIONS or hv.id in CORE):
        return False
    if (pos.id == "chunk_bytes" and isinstance(v, int)
            and not isinstance(v, bool) and v >= BIG_CHUNK):
        return False
    if pos.applies is not None and not pos.applies(v):
        return False
    return True


# Which subprocess values go where (decided without building them).
_ISOLATED_STR = {"str_1mb", "str_10mb", "quotes_1mb"}
_ISOLATED_SELECTION = {"selection_1m_tokens", "selection_100k_aliases",
                       "selection_deep_10k"}
_ISOLATED_WHERE = {"and_nest_10k", "and_nest_200k"}


def _isolated_applies(pos, hv):
    if not pos.isolated:
        return False
    if hv.group == "chunk" or pos.id == "chunk_bytes":
        return hv.group == "chunk" and pos.id == "chunk_bytes"
    if hv.id in _ISOLATED_SELECTION:
        return pos.id == "selection.whole"
    if hv.id in _ISOLATED_WHERE:
        return pos.id in ("where.whole", "plugin.bind_value",
                          "mutate.input_whole", "where.json_value")
    if hv.id == "list_1m":
        return pos.id in ("where.in_list", "where.whole", "order_by.whole")
    if hv.id in _ISOLATED_STR:
        return True
    # Deep and cyclic containers: where a container can go.
    return not (pos.str_only or pos.id in (
        "view", "cursor.after", "find.field", "selection.whole",
        "where.field_name"))


def pairs(isolated):
    """(value id, position id) of every case, in table order."""
    out = []
    for hv in VALUES:
        if hv.isolate != isolated:
            continue
        v = None if hv.isolate else hv.value()
        for pos in POSITIONS.values():
            ok = (_isolated_applies(pos, hv) if hv.isolate
                  else applies(pos, hv, v))
            if ok:
                out.append((hv.id, pos.id))
    return out


# -------------------------------------------------------------- judging --

def run_case(h, value_id, position_id):
    """Runs one case; returns its outcome as a dict (JSON-able)."""
    hv = VALUE_BY_ID[value_id]
    pos = POSITIONS[position_id]
    v = hv.value()
    result = _call(h, pos, v)
    result["problems"] = judge(pos, v, result)
    result["case"] = [value_id, position_id]
    return result


def _call(h, pos, v):
    fn = h.fn
    try:
        problems = pos.run(h, v)
        return {"outcome": "ok", "problems": problems, "message": ""}
    except fn.Error as e:
        name = type(e).__name__
        if isinstance(e, fn.DatabaseError) and type(e) is fn.DatabaseError:
            name = f"DatabaseError:{e.sqlstate}"
        return {"outcome": name, "problems": [], "message": _safe_text(e)}
    except TypeError as e:
        return {"outcome": "TypeError", "problems": [],
                "message": _safe_text(e)}
    except Exception as e:  # noqa: BLE001 - every other one is a failure
        return {"outcome": type(e).__name__, "problems": [],
                "message": _safe_text(e)}


def _safe_text(e):
    try:
        return str(e)[:500]
    except Exception:  # noqa: BLE001
        return f"<{type(e).__name__} with no printable message>"


def judge(pos, v, result):
    """Problems with an outcome (empty: acceptable)."""
    outcome = result["outcome"]
    problems = list(result.get("problems", []))
    dangerous = pos.bound and (has_nul(v) or has_surrogate(v))
    if outcome == "ok":
        if dangerous:
            problems.append("ran with a value holding NUL or a lone surrogate "
                            "instead of InvalidInputError")
        return problems
    if outcome == "InvalidInputError":
        msg = result.get("message", "")
        if (pos.bound and type(v) is str and len(v) >= 8 and len(set(v)) >= 3
                and v in msg):
            problems.append("the message repeats the bound value")
        return problems
    if outcome == "TypeError" and not pos.type_ok(v):
        return problems
    if pos.extra(outcome, v):
        return problems
    problems.append(f"{outcome}: {result.get('message', '')[:300]}")
    return problems


# ------------------------------------------------------------ subprocess --

def _child_main(argv):
    db_url, sample, hschema = argv[1:4]
    sys.path.insert(0, str(ROOT / "bazel-bin" / "pybind"))
    sys.path.insert(0, str(ROOT / "bazel-bin" / "proto"))
    import fraiseql_native
    h = Harness(fraiseql_native, db_url, sample, hschema,
                load_raw_users(db_url, sample))
    out = sys.stdout
    for line in sys.stdin:
        value_id, position_id = line.split()
        out.write(json.dumps({"start": [value_id, position_id]}) + "\n")
        out.flush()
        result = run_case(h, value_id, position_id)
        result["in_use"] = h.pool.stats()["in_use"]
        out.write(json.dumps(result) + "\n")
        out.flush()
    del h
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv))
