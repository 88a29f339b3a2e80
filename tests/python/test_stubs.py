"""The .pyi stubs describe the module as it is: every public class, function
and method of fraiseql_native is in pybind/fraiseql_native/_native.pyi, and the stubs
name nothing the module lacks."""
import ast
import pathlib

STUB = (pathlib.Path(__file__).resolve().parents[2] / "pybind" /
        "fraiseql_native" / "_native.pyi")


def stub_names():
    tree = ast.parse(STUB.read_text())
    top, members = set(), {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            top.add(node.name)
        if isinstance(node, ast.ClassDef):
            names = set()
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    names.add(item.name)
                elif isinstance(item, ast.AnnAssign):
                    names.add(item.target.id)
            members[node.name] = (names, [b.id for b in node.bases
                                          if isinstance(b, ast.Name)])
    return top, members


def test_stubs_match_the_module(fn):
    top, members = stub_names()
    # The extension's names (the package adds its Python submodules).
    public = {n for n in dir(fn._native) if not n.startswith("_")}
    assert public - top == set(), "missing from the stubs"
    assert top - public == set(), "in the stubs but not in the module"
    for name, (names, bases) in members.items():
        cls = getattr(fn, name)
        if issubclass(cls, BaseException):
            continue
        inherited = set().union(*(members[b][0] for b in bases if b in members))
        actual = {n for n in vars(cls) if not n.startswith("_")}
        assert actual - names - inherited == set(), f"{name}: missing from the stubs"
        assert names - {n for n in dir(cls)} - {"__init__"} == set(), \
            f"{name}: in the stubs but not in the module"
