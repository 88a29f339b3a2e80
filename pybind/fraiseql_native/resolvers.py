"""Resolver glue: a graphql-core resolver's `info` to a Repository selection.

    from fraiseql_native.resolvers import selection_from_info

    def resolve_users(root, info, **args):
        body = repo.find("app.v_user", field="users",
                         selection=selection_from_info(info))
        return json.loads(body)["data"]["users"]

selection_from_info(info) reads the query the executor is running (the
root field's AST nodes, the named fragments and the variables) and returns
the selection text Repository.find/find_one/find_stream take
(`id name: firstName address { cityName __typename }`): what GraphQL would
resolve below that field, with fragments expanded, @skip/@include applied and
fields of the same response key merged, so the rows come back keyed exactly
as the executor will read them (use resolve_by_response_key as the field
resolver of the types the rows fill, so aliased fields are found).

Works with graphql-core 2 (info.field_asts) and graphql-core 3
(info.field_nodes); graphql itself is imported only when a fragment carries
a type condition that is not the field's own type name.
"""

__all__ = [
    "MAX_DEPTH",
    "MAX_FIELDS",
    "resolve_by_response_key",
    "response_key",
    "selection_from_info",
]

# Levels of `{ }` below the root field (the root's own selection is level
# 1). Deeper: ValueError. A fragment that spreads itself inside one of its
# fields ends here too.
MAX_DEPTH = 64
# Fields collected in total, every level, after fragments are expanded and
# before same-key fields merge (fragments reused at every level can grow a
# query exponentially; this bounds the work). More: ValueError.
MAX_FIELDS = 10000


def _field_nodes(info):
    """The AST nodes of the field being resolved (all with one response
    key): graphql-core 3's field_nodes or graphql-core 2's field_asts."""
    nodes = getattr(info, "field_nodes", None)
    if nodes is None:
        nodes = getattr(info, "field_asts", None)
    if nodes is None:
        raise TypeError("selection_from_info: info has neither field_nodes "
                        "(graphql-core 3) nor field_asts (graphql-core 2)")
    return list(nodes)


def response_key(node):
    """The response key of a field AST node: its alias, else its name."""
    alias = getattr(node, "alias", None)
    return alias.value if alias is not None else node.name.value


def resolve_by_response_key(source, info, **args):
    """A field resolver for rows written by the Repository: they are keyed
    by response key (the alias when there is one), while graphql-core's
    default resolver looks the field's name up. Pass it as the resolver of
    every field of the types the rows fill (or as the executor's default
    field resolver)."""
    key = response_key(_field_nodes(info)[0])
    if isinstance(source, dict):
        return source.get(key)
    return getattr(source, key, None)


def _named(type_):
    """The named type inside List/NonNull wrappers."""
    for _ in range(MAX_DEPTH * 4):
        inner = getattr(type_, "of_type", None)
        if inner is None:
            return type_
        type_ = inner
    raise ValueError("selection_from_info: type wrappers nested too deeply")


def _selections(node):
    selection_set = getattr(node, "selection_set", None)
    if selection_set is None:
        return ()
    return selection_set.selections or ()


def _kind(node):
    """"field", "spread" or "inline" for a selection of either version
    (graphql-core 2's Field/FragmentSpread/InlineFragment, 3's *Node)."""
    if hasattr(node, "alias"):
        return "field"
    if hasattr(node, "type_condition"):
        return "inline"
    return "spread"


def _condition(value, variables, where):
    """The boolean of an `if:` argument: a literal, or a variable."""
    if hasattr(value, "value"):  # BooleanValue (a variable has only a name)
        result = value.value
    else:
        name = value.name.value
        if variables is None or name not in variables:
            raise ValueError(f"selection_from_info: variable ${name} of a "
                             f"directive has no value, at {where}")
        result = variables[name]
    if not isinstance(result, bool):
        raise ValueError("selection_from_info: the 'if' of @skip/@include "
                         f"is not a Boolean, at {where}")
    return result


def _included(node, variables, where):
    """False when @skip(if: true) or @include(if: false) drops the node."""
    for directive in getattr(node, "directives", None) or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        value = None
        for argument in directive.arguments or ():
            if argument.name.value == "if":
                value = argument.value
        if value is None:
            raise ValueError(f"selection_from_info: @{name} without 'if', "
                             f"at {where}")
        condition = _condition(value, variables, where)
        if name == "skip" and condition:
            return False
        if name == "include" and not condition:
            return False
    return True


def _applies(condition, type_, schema, where):
    """Whether a fragment on type `condition` (None: no condition) applies
    to a field of type `type_` (a named type, or None when unknown)."""
    if condition is None:
        return True
    if type_ is not None and getattr(type_, "name", None) == condition:
        return True
    if type_ is None or schema is None:
        raise ValueError("selection_from_info: cannot tell whether a "
                         f"fragment on {condition} applies, at {where} "
                         "(the field's type is unknown)")
    import graphql  # only here: the module imports without graphql-core

    if not isinstance(type_, graphql.GraphQLObjectType):
        raise ValueError("selection_from_info: a fragment on another type "
                         f"than the abstract type {type_.name} cannot be "
                         f"read from one view, at {where}")
    target = schema.get_type(condition)
    if isinstance(target, graphql.GraphQLUnionType):
        return any(t.name == type_.name for t in target.types)
    if isinstance(target, graphql.GraphQLInterfaceType):
        return any(i.name == condition for i in type_.interfaces)
    return False  # another object type (or an unknown name): never applies


class _Field:
    __slots__ = ("name", "type", "nodes", "children")

    def __init__(self, name, type_):
        self.name = name
        self.type = type_
        self.nodes = []
        self.children = None  # response key -> _Field, once collected


def _field_type(parent, name):
    """The named type of field `name` on `parent` (None when unknown)."""
    if name.startswith("__") or parent is None:
        return None
    fields = getattr(parent, "fields", None)
    if fields is None:
        return None
    field = fields.get(name) if hasattr(fields, "get") else None
    return _named(field.type) if field is not None else None


def _collect(field, fragments, variables, schema, where, budget):
    """GraphQL's CollectFields over every node of `field`: its children in
    document order, by response key, with fragments expanded (each once per
    level, as the spec does) and @skip/@include applied. Iterative."""
    children = {}
    visited = set()
    active = set()  # names of the fragments being expanded
    # (iterator over selections, fragment name or None): the root nodes'
    # selections one after the other, in document order.
    stack = [(iter(_selections(node)), None) for node in reversed(field.nodes)]
    while stack:
        selections, fragment = stack[-1]
        node = next(selections, None)
        if node is None:
            stack.pop()
            if fragment is not None:
                active.remove(fragment)
            continue
        if not _included(node, variables, where):
            continue
        kind = _kind(node)
        if kind == "field":
            name = node.name.value
            if getattr(node, "arguments", None):
                raise ValueError("selection_from_info: arguments on fields "
                                 "below the root field are not supported, "
                                 f"at {where}.{response_key(node)}")
            budget[0] -= 1
            if budget[0] < 0:
                raise ValueError("selection_from_info: more than "
                                 f"{MAX_FIELDS} fields after fragments are "
                                 "expanded")
            key = response_key(node)
            child = children.get(key)
            if child is None:
                child = children[key] = _Field(
                    name, _field_type(field.type, name))
            elif child.name != name:
                raise ValueError(f"selection_from_info: '{key}' names both "
                                 f"{child.name} and {name}, at {where}")
            child.nodes.append(node)
        elif kind == "spread":
            name = node.name.value
            if name in active:
                raise ValueError(f"selection_from_info: fragment {name} "
                                 f"spreads itself, at {where}")
            if name in visited:
                continue
            definition = (fragments or {}).get(name)
            if definition is None:
                raise ValueError(f"selection_from_info: unknown fragment "
                                 f"{name}, at {where}")
            visited.add(name)
            condition = definition.type_condition
            if not _applies(condition.name.value if condition else None,
                            field.type, schema, where):
                continue
            active.add(name)
            stack.append((iter(_selections(definition)), name))
        else:  # inline fragment
            condition = node.type_condition
            if not _applies(condition.name.value if condition else None,
                            field.type, schema, where):
                continue
            stack.append((iter(_selections(node)), None))
    return children


def _walk_path(root, path):
    """The field at dotted `path` (field names) below `root`."""
    field = root
    for name in path.split("."):
        matches = [c for c in (field.children or {}).values()
                   if c.name == name]
        if len(matches) != 1:
            raise ValueError(f"selection_from_info: field_name {path!r}: "
                             f"{name} is selected {len(matches)} times")
        field = matches[0]
    return field


def _text(field):
    """Selection text of `field`'s children, without the enclosing braces.
    Iterative: a stack of (iterator over children, started)."""
    out = []
    stack = [iter(field.children.items())]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            if stack:
                out.append("}")
            continue
        key, child = item
        out.append(key if key == child.name else f"{key}: {child.name}")
        if child.children is not None:
            out.append("{")
            stack.append(iter(child.children.items()))
    return " ".join(out)


def selection_from_info(info, *, field_name=None, type_name=None):
    """The selection text of the field `info` resolves, for the Repository's
    `selection=`: aliases (`name: firstName`), nested selections, named and
    inline fragments (a type condition that does not apply to the field's
    type drops the fragment), @skip/@include with literals or variables
    (info.variable_values), __typename, and same-key fields merged as
    GraphQL merges them. The field's own arguments are not part of it.

    field_name: a dotted path of field names below the root field (e.g.
    "user" of a mutation payload, "edges.node" of a connection) whose
    selection to return instead; each name must be selected once.

    type_name: the object type the rows are, when the field's type is an
    interface or a union served by one view: fragments on that type (or on
    an interface or union it belongs to) apply, fragments on other types
    are dropped. Without it, a fragment on another type than an abstract
    field type's own raises ValueError.

    Returns None when the field has no sub-selection (a scalar field).
    ValueError: nesting deeper than MAX_DEPTH, more than MAX_FIELDS fields,
    a fragment that spreads itself, an unknown fragment or variable, a field
    below the root with arguments, two fields under one response key, or an
    object whose fields are all skipped (the selection language has no empty
    `{ }`)."""
    nodes = _field_nodes(info)
    if not nodes:
        raise ValueError("selection_from_info: info has no field nodes")
    fragments = getattr(info, "fragments", None) or {}
    variables = getattr(info, "variable_values", None)
    schema = getattr(info, "schema", None)
    root = _Field(nodes[0].name.value,
                  _named(getattr(info, "return_type", None)))
    if type_name is not None:
        import graphql

        root.type = schema.get_type(type_name) if schema is not None else None
        if not isinstance(root.type, graphql.GraphQLObjectType):
            raise ValueError("selection_from_info: type_name is not an "
                             "object type of the schema")
    root.nodes = nodes
    if not any(_selections(n) for n in nodes):
        return None
    budget = [MAX_FIELDS]
    # Breadth by an explicit stack: (field, depth, path for messages).
    stack = [(root, 1, response_key(nodes[0]))]
    while stack:
        field, depth, where = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError("selection_from_info: selection nested deeper "
                             f"than {MAX_DEPTH} levels, at {where}")
        field.children = _collect(field, fragments, variables, schema, where,
                                  budget)
        if not field.children:
            raise ValueError("selection_from_info: every field is skipped, "
                             f"at {where}; the selection cannot be empty")
        for key, child in field.children.items():
            if any(_selections(n) for n in child.nodes):
                stack.append((child, depth + 1, f"{where}.{key}"))
    if field_name is not None:
        root = _walk_path(root, field_name)
        if root.children is None:
            return None
    return _text(root)
