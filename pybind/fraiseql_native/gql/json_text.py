"""JSON in and out without changing how numbers are spelled.

The native core copies numbers as text (`100.50` stays `100.50`, spec
response.md). Python paths that parse a body and write it again (the
graphql-core fallback, reshaped connections, argument literals) must do the
same, so that every path gives the same bytes:

    value = loads(body)     # floats become RawNumber, which keeps its text
    dumps(value)            # writes RawNumber and Decimal as their text

RawNumber is a float, so graphql-core's Float passes it through unchanged.
"""

import json
from decimal import Decimal

__all__ = ["RawNumber", "dumps", "loads"]


class RawNumber(float):
    """A JSON number with the text it was written with."""

    __slots__ = ("text",)

    def __new__(cls, text):
        number = super().__new__(cls, text)
        number.text = text
        return number


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def loads(data):
    """json.loads, with non-integer numbers as RawNumber; NaN, Infinity and
    -Infinity (which Python's json accepts) raise ValueError."""
    return json.loads(data, parse_float=RawNumber,
                      parse_constant=_no_constant)


_escape = json.JSONEncoder(ensure_ascii=False).encode


def _write(value, out):
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_escape(value))
    elif isinstance(value, RawNumber):
        out.append(value.text)
    elif isinstance(value, (int, Decimal)):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(repr(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(_escape(str(key)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def dumps(value):
    """Compact JSON text (no spaces, non-ASCII raw) in which RawNumber and
    Decimal keep their spelling. Recursion is bounded by the caller's input
    limits (documents and bodies are depth-limited before they get here)."""
    out = []
    _write(value, out)
    return "".join(out)
