"""Redaction of values in a traffic record by path pattern.

A pattern is a dotted path into the record ("args.where.email.eq",
"context.user_id", "args.input.password"): `*` matches any one key,
`[*]` any index of a list, `[3]` one index, and `**` any number of keys
and indices (zero or more), e.g. "args.where.**.email". Matched values are
replaced by "<redacted>"."""
import re

REDACTED = "<redacted>"
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\*|\d+)\]|(\.)")


def parse(pattern):
    """A pattern as a list of steps: ("key", name), ("any_key",),
    ("index", n), ("any_index",), ("deep",). ValueError when malformed."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("a redaction pattern is a non-empty string")
    steps = []
    pos = 0
    expect_name = True
    while pos < len(pattern):
        m = _SEGMENT.match(pattern, pos)
        if m is None:
            raise ValueError(f"malformed redaction pattern at offset {pos}")
        if m.group(1) is not None:
            name = m.group(1)
            if not expect_name:
                raise ValueError(
                    f"malformed redaction pattern at offset {pos}")
            if name == "**":
                steps.append(("deep",))
            elif name == "*":
                steps.append(("any_key",))
            else:
                steps.append(("key", name))
            expect_name = False
        elif m.group(2) is not None:
            if expect_name and steps:
                raise ValueError(
                    f"malformed redaction pattern at offset {pos}")
            idx = m.group(2)
            steps.append(("any_index",) if idx == "*" else ("index", int(idx)))
            expect_name = False
        else:
            if expect_name:
                raise ValueError(
                    f"malformed redaction pattern at offset {pos}")
            expect_name = True
        pos = m.end()
    if expect_name:
        raise ValueError("malformed redaction pattern: ends with '.'")
    return steps


def _children(node):
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, list):
        return list(enumerate(node))
    return []


def apply(document, patterns):
    """Replaces, in place, every value of `document` (dicts and lists)
    matched by one of `patterns` (strings or parsed steps). Returns the
    number of values replaced. Explicit stack; each (node, step) pair is
    visited once."""
    replaced = 0
    for pattern in patterns:
        steps = parse(pattern) if isinstance(pattern, str) else pattern
        stack = [(document, 0)]
        seen = set()
        while stack:
            node, i = stack.pop()
            key = (id(node), i)
            if key in seen:
                continue
            seen.add(key)
            if i == len(steps):
                continue
            step = steps[i]
            last = i + 1 == len(steps)
            targets = []
            if step[0] == "deep":
                stack.append((node, i + 1))
                for k, child in _children(node):
                    if isinstance(child, (dict, list)):
                        stack.append((child, i))
                    if last:
                        targets.append(k)
                    else:
                        stack.append((child, i + 1))
                # "**" as a last step redacts every child value.
                if last:
                    for k in targets:
                        if node[k] != REDACTED:
                            node[k] = REDACTED
                            replaced += 1
                continue
            if step[0] == "key" and isinstance(node, dict) and \
                    step[1] in node:
                targets = [step[1]]
            elif step[0] == "any_key" and isinstance(node, dict):
                targets = list(node)
            elif step[0] == "index" and isinstance(node, list) and \
                    step[1] < len(node):
                targets = [step[1]]
            elif step[0] == "any_index" and isinstance(node, list):
                targets = list(range(len(node)))
            for k in targets:
                if last:
                    if node[k] != REDACTED:
                        node[k] = REDACTED
                        replaced += 1
                else:
                    stack.append((node[k], i + 1))
    return replaced
