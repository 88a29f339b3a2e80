"""JSON text of the Python values that cross the parity tools: call
arguments (recorded traffic) and the results of the value calls (count,
exists, sum, ..., compared as {"value": v}).

Decimals keep their exact digits (json.dumps would refuse them or go
through float); UUIDs, dates and times become their str()/isoformat text,
the form the module's own conversion sends to the server."""
import datetime
import decimal
import json
import re
import secrets
import uuid

# A Decimal is written as a marker string, then the marker (quotes
# included) is swapped for the number's digits. The token is random per
# process, so no string of the data can be mistaken for a marker.
_TOKEN = "\u0000dec" + secrets.token_hex(8) + ":"
_MARKER_RE = re.compile(re.escape(json.dumps(_TOKEN)[:-1]) + r'([^"]*)"')


def _default(value):
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError("a Decimal that is not finite has no JSON form")
        return _TOKEN + str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8")
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"a value of type {type(value).__name__} has no JSON form")


def dumps(value, *, sort_keys=False):
    """JSON text of `value` (compact, UTF-8 kept as is); Decimal digits are
    kept exactly. Raises ValueError/TypeError for a value without a JSON
    form."""
    text = json.dumps(value, default=_default, ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False,
                      sort_keys=sort_keys)
    if _TOKEN[1:4] in text:
        text = _MARKER_RE.sub(lambda m: m.group(1), text)
    return text


def loads(text):
    """Parses JSON text; numbers with a fraction or exponent become
    Decimal, so they reach the module with their exact digits."""
    return json.loads(text, parse_float=decimal.Decimal)


def result_json(value):
    """The JSON bytes a call's result is compared as: response bytes as
    they are, any other value as {"value": v}."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return dumps({"value": value}).encode("utf-8")
