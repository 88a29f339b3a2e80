"""Operator plugins: the C++ example plugin linked into the module, custom
operators registered from Python, the operator listing and allow-lists."""
import json

import pytest

from conftest import documented_operator_keys


def emails(body):
    (rows,) = json.loads(body)["data"].values()
    return sorted(r["email"] for r in rows)


def test_operators_lists_builtins_and_linked_plugins(fn):
    ops = {o["key"]: o for o in fn.operators()}
    documented = documented_operator_keys()
    assert documented and documented <= set(ops), documented - set(ops)
    eq = ops["where.compare.eq"]
    assert eq["name"] == "eq" and "Int" in eq["kinds"] and eq["example"]
    ieq = ops["where.example.ieq"]
    assert ieq["aliases"] == ["iEq", "i_eq"]
    assert set(ieq["kinds"]) == {"String", "Email", "Hostname"}
    for op in ops.values():
        assert op["description"] and op["example"], op["key"]
        json.loads(op["example"])  # every example is a valid where input


def test_cpp_plugin_runs_on_the_server(repo, users, raw):
    target = next(r["email"] for r in raw["v_user"] if r["email"] != r["email"].lower())
    expected = sorted(r["email"] for r in raw["v_user"]
                      if r["email"].lower() == target.lower())
    # Some rows match and some do not: a filter that ignored its value, or
    # matched nothing, would fail.
    assert 0 < len(expected) < len(raw["v_user"])
    body = repo.find(users, where={"email": {"ieq": target.swapcase()}},
                     selection="email")
    assert emails(body) == expected


def test_python_operator_renders_at_plan_time(fn, pool, schema, users, raw):
    calls = []

    def render(field, value, bind):
        calls.append((field.name, field.kind, value))
        if not isinstance(value, int) or value < 0:
            raise ValueError("expected a non-negative integer")
        return f"length({field.text}) > {bind(str(value), 'integer')}"

    fn.register_operator("where.test.longer_than", "longerThan",
                         ["String", "Email"], render,
                         aliases=["longer_than"],
                         description="Text longer than N characters.",
                         example='{"email": {"longerThan": 20}}')
    repo = fn.Repository(pool, schema)  # snapshots the registry
    sql, params = repo.explain(users, where={"email": {"longer_than": 18}})
    assert sql.endswith("WHERE length(t.\"data\"->>'email') > $1::integer")
    assert params == ["18"]
    expected = sorted(r["email"] for r in raw["v_user"]
                      if len(r["email"]) > 18)
    assert 0 < len(expected) < len(raw["v_user"])  # the filter splits them
    body = repo.find(users, where={"email": {"longerThan": 18}},
                     selection="email")
    assert emails(body) == expected
    assert calls[-1] == ("email", "Email", 18)
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where={"email": {"longerThan": -1}})
    assert str(e.value) == ("invalid value at where.email.longerThan: "
                            "expected a non-negative integer")


def test_duplicate_operator_names_are_refused(fn):
    def render(field, value, bind):
        return "TRUE"

    with pytest.raises(ValueError) as e:
        fn.register_operator("where.test.eq_again", "eq", ["Int"], render)
    assert "taken by where.compare.eq" in str(e.value)
    with pytest.raises(ValueError) as e:
        fn.register_operator("where.example.ieq", "ieq2", ["Int"], render)
    assert "registered already" in str(e.value)
    with pytest.raises(ValueError):
        fn.register_operator("Not Dotted", "x", ["Int"], render)
    with pytest.raises(ValueError):
        fn.register_operator("where.test.bad_kind", "x", ["Integer"], render)


def test_registrations_after_a_repository_do_not_change_it(fn, pool, schema,
                                                           users):
    repo = fn.Repository(pool, schema)
    fn.register_operator("where.test.always", "always", ["Int"],
                         lambda field, value, bind: "TRUE")
    with pytest.raises(fn.InvalidInputError):
        repo.find(users, where={"age": {"always": 1}})
    assert fn.Repository(pool, schema).explain(
        users, where={"age": {"always": 1}})[0].endswith("WHERE TRUE")


def test_view_allow_list(fn, pool, sample, raw):
    schema = fn.Schema()
    schema.add_view(f"{sample}.v_user", "User",
                    {"age": "Int", "email": "Email"},
                    columns={"id": "uuid", "data": "jsonb"},
                    operators=["eq", "where.compare.in"])
    repo = fn.Repository(pool, schema)
    body = repo.find(f"{sample}.v_user", where={"age": {"in": [30]}},
                     selection="age")
    expected = [r for r in raw["v_user"] if r.get("age") == 30]
    assert 0 < len(expected) < len(raw["v_user"])
    assert json.loads(body)["data"]["v_user"] == [{"age": 30}] * len(expected)
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(f"{sample}.v_user", where={"age": {"gt": 3}})
    assert str(e.value) == (f"operator 'gt' at where.age.gt is not allowed on "
                            f"view {sample}.v_user; allowed: eq, "
                            "where.compare.in")


def test_bind_is_checked_and_expires_with_the_call(fn, pool, schema, users):
    kept = []

    def render(field, value, bind):
        kept.append(bind)
        if value == "bad-type":
            return f"{field.text} = {bind(value, 'text); DROP TABLE x; --')}"
        return f"{field.text} = {bind(value)}"

    fn.register_operator("where.test.kept_bind", "keptBind", ["String"],
                         render)
    repo = fn.Repository(pool, schema)
    repo.explain(users, where={"firstName": {"keptBind": "Ann"}})
    with pytest.raises(ValueError, match="after render"):
        kept[-1]("late", "text")
    with pytest.raises(fn.InvalidInputError, match="invalid sql_type"):
        repo.explain(users, where={"firstName": {"keptBind": "bad-type"}})


def test_python_operator_binds_with_the_columns_value_type(fn, pool, schema,
                                                           users, raw):
    # `id` is a real uuid column: `typed` is the bare column, so the value
    # must be bound as a uuid (field.value_type), not as text.
    seen = []

    def render(field, value, bind):
        seen.append((field.typed, field.value_type))
        return f"{field.typed} <> {bind(value, field.value_type)}"

    fn.register_operator("where.test.not_this_id", "notThisId", ["UUID", "ID"],
                         render)
    repo = fn.Repository(pool, schema)
    first = raw["v_user"][0]["id"]
    body = repo.find(users, where={"id": {"notThisId": first}}, selection="id")
    ids = [r["id"] for r in json.loads(body)["data"]["v_user"]]
    assert first not in ids and len(ids) == len(raw["v_user"]) - 1
    assert seen == [('t."id"', "uuid")]
