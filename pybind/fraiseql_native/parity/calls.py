"""The Repository calls the parity tools know: which are compared, how a
call's arguments become the keyword dict of a traffic record and back,
and how a call is run from a record."""
import base64

from . import values

# Calls whose result is compared (shadowed, replayed).
COMPARED_CALLS = ("find", "find_one", "count", "exists", "sum", "avg", "min",
                  "max", "distinct", "execute")
# Calls recorded and replayed whose body is a stream of pieces (joined).
STREAM_CALLS = ("find_stream", "execute_stream")
# Calls that write; replay runs them in a transaction it rolls back, so both
# backends start from the same rows.
WRITE_CALLS = ("mutate",)
RECORDED_CALLS = COMPARED_CALLS + STREAM_CALLS + WRITE_CALLS

# Positional parameters of each call, in order (the rest are keyword-only).
POSITIONAL = {
    "find": ("view",),
    "find_one": ("view",),
    "count": ("view",),
    "exists": ("view",),
    "sum": ("view", "field"),
    "avg": ("view", "field"),
    "min": ("view", "field"),
    "max": ("view", "field"),
    "distinct": ("view", "field"),
    "execute": ("query_definition",),
    "find_stream": ("view",),
    "execute_stream": ("query_definition",),
    "mutate": ("function", "input"),
}

_query_pb2 = None


def query_pb2():
    """The generated module of proto/query.proto (//proto:query_proto_py):
    fraiseql_native.query_pb2 when the package carries it, else query_pb2
    from sys.path, else bazel-bin/proto beside the built package."""
    global _query_pb2
    if _query_pb2 is not None:
        return _query_pb2
    try:
        from fraiseql_native import query_pb2 as module  # type: ignore
    except ImportError:
        try:
            import query_pb2 as module  # type: ignore
        except ImportError:
            import importlib.util
            import pathlib
            here = pathlib.Path(__file__).resolve()
            candidates = [p / "proto" / "query_pb2.py" for p in here.parents]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise ImportError(
                    "query_pb2 not found: build //proto:query_proto_py and "
                    "put bazel-bin/proto on PYTHONPATH") from None
            spec = importlib.util.spec_from_file_location("query_pb2", found)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
    _query_pb2 = module
    return module


def bind(call, args, kwargs):
    """The call's arguments as one keyword dict (positional ones named),
    without `context`; returns (arguments, context)."""
    names = POSITIONAL.get(call, ())
    if len(args) > len(names):
        raise TypeError(f"{call}() takes at most {len(names)} positional "
                        f"arguments ({len(args)} given)")
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key in bound:
            raise TypeError(f"{call}() got multiple values for argument "
                            f"'{key}'")
        bound[key] = value
    context = bound.pop("context", None)
    return bound, context


def split(call, bound):
    """A keyword dict back into (positional args, keyword args)."""
    names = POSITIONAL.get(call, ())
    kwargs = dict(bound)
    args = []
    for name in names:
        if name not in kwargs:
            break
        args.append(kwargs.pop(name))
    return tuple(args), kwargs


def record_args(call, bound):
    """The JSON-ready form of a call's keyword dict for a traffic record:
    a QueryDefinition becomes {"query": <protobuf JSON>}."""
    out = dict(bound)
    if call in ("execute", "execute_stream") and "query_definition" in out:
        raw = out.pop("query_definition")
        out["query"] = query_definition_to_dict(raw)
    return out


def query_definition_to_dict(raw):
    from google.protobuf import json_format
    module = query_pb2()
    message = module.QueryDefinition()
    message.ParseFromString(bytes(raw))
    return json_format.MessageToDict(message)


def query_definition_from_dict(data):
    from google.protobuf import json_format
    module = query_pb2()
    message = module.QueryDefinition()
    json_format.ParseDict(data, message)
    return message.SerializeToString()


def call_args(call, args):
    """A traffic record's args back into the keyword dict of the call."""
    out = dict(args)
    if call in ("execute", "execute_stream"):
        if "query" in out:
            out["query_definition"] = query_definition_from_dict(
                out.pop("query"))
        elif "query_b64" in out:
            out["query_definition"] = base64.b64decode(out.pop("query_b64"))
    return out


def run(repo, call, bound, context=None):
    """Runs one call on `repo` and returns its result as the JSON bytes that
    are compared (a streamed body joined; a mutation in a transaction that is
    rolled back). Exceptions propagate."""
    if call == "mutate":
        args, kwargs = split(call, bound)
        tx = repo.transaction(context=context)
        try:
            body = values.result_json(tx.mutate(*args, **kwargs))
        except BaseException:
            try:
                tx.rollback()
            except Exception:  # noqa: BLE001 - the mutation's error wins
                pass
            raise
        tx.rollback()
        return body
    args, kwargs = split(call, bound)
    if context is not None:
        kwargs["context"] = context
    if call in STREAM_CALLS:
        with getattr(repo, call)(*args, **kwargs) as pieces:
            return b"".join(pieces)
    return values.result_json(getattr(repo, call)(*args, **kwargs))


def error_class(exc):
    """The name a call's exception is reported under."""
    return type(exc).__name__
