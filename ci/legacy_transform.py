"""The legacy Python path, as ci/demo and ci/bench run it beside the native
one: the statement re-spelled for psycopg, the per-row transform (dicts,
renamed keys, selection order, __typename, nested objects) and the body
encoded with json.dumps. (Responses are compared with fraiseql_native.compare.)

One copy, imported by ci/bench.py (and the bench's smoke test). ci/demo
runs the old path as the legacy-psycopg backend instead."""
import json
import re


def legacy_project(value, selection, type_name):
    """What the Python path did per row: build dicts, rename keys, add
    __typename. `selection` is a list of (response_key, source_key, sub,
    sub_type)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [legacy_project(v, selection, type_name) for v in value]
    out = {}
    for key, source, sub, sub_type in selection:
        if source == "__typename":
            out[key] = type_name
        elif sub:
            out[key] = legacy_project(value.get(source), sub, sub_type)
        else:
            out[key] = value.get(source)
    return out


def legacy_body(field, values, selection, type_name, is_list=True):
    """The response body the legacy path sent for `values` (the rows' parsed
    JSON): {"data":{field:[...]}}, or {"data":{field:{...}|null}} for a
    single object (the first value, if any)."""
    if is_list:
        data = [legacy_project(v, selection, type_name) for v in values]
    else:
        data = legacy_project(values[0], selection, type_name) if values else None
    return json.dumps({"data": {field: data}}, separators=(",", ":"),
                      ensure_ascii=False, default=str).encode()


def psycopg_sql(sql):
    """The native statement (from Repository.explain) for psycopg: %s
    placeholders instead of $n. It selects the jsonb column itself, so
    psycopg parses it into Python objects as the legacy path did."""
    return re.sub(r"\$\d+", "%s", sql.replace("%", "%%"))
