"""Query shapes: a call, its view (or function) and the structure of its
arguments with the values stripped (where keys and operators, order_by
keys and directions, the selection text, which pagination arguments are
set). Calls of one shape run the same SQL text with other parameters, so
the report groups them.

shape(call, args, context) -> (id, label): `id` is stable (a hash of the
structure), `label` short and readable."""
import hashlib
import json
import re

from . import values

MAX_DEPTH = 64
_LABEL_MAX = 96
_SPACES = re.compile(r"\s+")
# Keys of a where/order_by dict that hold values rather than structure when
# their value is a scalar or a list of scalars.
_STRIP = "?"


def _skeleton(value, depth=0):
    """The structure of a where/input value: dict keys kept, scalars and
    lists of scalars replaced by "?", lists of dicts kept item by item.
    Depth-limited (inputs past MAX_DEPTH are cut with "...")."""
    if depth >= MAX_DEPTH:
        return "..."
    if isinstance(value, dict):
        return {str(k): _skeleton(v, depth + 1) for k, v in sorted(
            value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, dict) for v in value):
            return [_skeleton(v, depth + 1) for v in value]
        return _STRIP
    return _STRIP


def _parsed(value):
    if isinstance(value, str):
        try:
            return values.loads(value)
        except ValueError:
            return value
    return value


def _order_keys(order_by):
    """[(key, DIRECTION), ...] of an order_by (list of {key: dir} or one
    dict)."""
    order_by = _parsed(order_by)
    if order_by is None:
        return []
    items = order_by if isinstance(order_by, list) else [order_by]
    out = []
    for item in items:
        if isinstance(item, dict):
            for k, v in item.items():
                out.append([str(k), v if isinstance(v, str) else _STRIP])
        else:
            out.append([_STRIP])
    return out


def _selection_text(text):
    if text is None:
        return None
    return _SPACES.sub(" ", str(text)).strip()


def _where_label(skeleton, limit=6):
    """Dotted leaf paths of a where skeleton ("age.gte", "_or")."""
    paths = []
    stack = [("", skeleton)]
    while stack and len(paths) < limit + 1:
        prefix, node = stack.pop()
        if isinstance(node, dict) and node:
            for k in sorted(node, reverse=True):
                stack.append((f"{prefix}.{k}" if prefix else k, node[k]))
        elif isinstance(node, list):
            paths.append(prefix + f"[{len(node)}]")
        else:
            paths.append(prefix)
    more = len(paths) > limit
    return ",".join(paths[:limit]) + (",…" if more else "")


def _selection_tree_text(fields, depth=0):
    if depth >= MAX_DEPTH:
        return "..."
    parts = []
    for f in fields or []:
        name = f.get("fieldName", "")
        key = f.get("responseKey", name)
        text = name if key == name else f"{key}: {name}"
        if f.get("fields"):
            text += " { " + _selection_tree_text(f["fields"], depth + 1) + " }"
        parts.append(text)
    return " ".join(parts)


def _root_structure(root):
    where = root.get("whereJson")
    order = root.get("orderByJson")
    return {
        "key": root.get("responseKey"),
        "view": root.get("view"),
        "operation": root.get("operation", "FIND"),
        "is_list": bool(root.get("isList")),
        "where": _skeleton(_parsed(where)) if where else None,
        "order_by": _order_keys(order) if order else [],
        "selection": (_selection_tree_text(root.get("selection"))
                      if root.get("hasSelection") else None),
        "aggregate_field": root.get("aggregateField"),
        "set": sorted(k for k in ("limit", "offset", "first", "after", "last",
                                  "before") if k in root),
        "total_count": bool(root.get("includeTotalCount")),
    }


def structure(call, args, context=None):
    """The shape's structure (a JSON-ready dict). `args` is the record's
    args (an execute's query as protobuf JSON under "query")."""
    args = args or {}
    out = {"call": call}
    if call in ("execute", "execute_stream"):
        query = args.get("query") or {}
        out["roots"] = [_root_structure(r) for r in query.get("roots", [])]
    elif call == "mutate":
        out["function"] = args.get("function")
        out["input"] = _skeleton(_parsed(args.get("input")))
        for key in ("field", "success_type", "error_type", "entity_field",
                    "entity_type"):
            out[key] = args.get(key)
        out["success_selection"] = _selection_text(
            args.get("success_selection"))
        out["error_selection"] = _selection_text(args.get("error_selection"))
        out["context_args"] = list(args.get("context_args") or ())
    else:
        out["view"] = args.get("view")
        if "field" in args:
            out["field"] = args.get("field")
        where = args.get("where")
        out["where"] = _skeleton(_parsed(where)) if where is not None else None
        if args.get("order_by") is not None:
            out["order_by"] = _order_keys(args.get("order_by"))
        if args.get("selection") is not None:
            out["selection"] = _selection_text(args.get("selection"))
        out["set"] = sorted(k for k in ("limit", "offset", "first", "after",
                                        "last", "before")
                            if args.get(k) is not None)
        if args.get("total_count"):
            out["total_count"] = True
    out["context"] = sorted(str(k) for k in (context or {}))
    return out


def _label(st):
    call = st["call"]
    if call in ("execute", "execute_stream"):
        roots = st.get("roots", [])
        inner = []
        for r in roots[:3]:
            op = r["operation"].lower()
            text = f"{r['key']}={op} {r['view']}"
            if r["where"]:
                text += " where{" + _where_label(r["where"]) + "}"
            if r["order_by"]:
                text += " order{" + ",".join(o[0] for o in r["order_by"]) + "}"
            if r["set"]:
                text += " " + ",".join(r["set"])
            inner.append(text)
        if len(roots) > 3:
            inner.append(f"+{len(roots) - 3}")
        return f"{call}[" + "; ".join(inner) + "]"
    if call == "mutate":
        return f"mutate {st.get('function')} -> {st.get('field')}"
    text = f"{call} {st.get('view')}"
    if st.get("field"):
        text += f" {st['field']}"
    if st.get("where"):
        text += " where{" + _where_label(st["where"]) + "}"
    if st.get("order_by"):
        text += " order{" + ",".join(o[0] for o in st["order_by"]) + "}"
    if st.get("set"):
        text += " " + ",".join(st["set"])
    if st.get("total_count"):
        text += " totalCount"
    return text


def shape(call, args, context=None):
    """(id, label) of a call's shape; see the module comment."""
    st = structure(call, args, context)
    canonical = json.dumps(st, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)
    digest = hashlib.sha1(canonical.encode("utf-8")).hexdigest()[:10]
    label = _label(st)
    if st.get("selection"):
        label += " {" + st["selection"] + "}"
    if len(label) > _LABEL_MAX:
        label = label[:_LABEL_MAX - 1] + "…"
    return digest, label
