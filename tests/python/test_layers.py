"""ci/layers.py: the build graph's stages depend only downward, and
docs/architecture.md is the graph's current table."""
import importlib.util
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_layers():
    spec = importlib.util.spec_from_file_location("layers",
                                                  ROOT / "ci" / "layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_workspace_has_no_new_back_edge_and_a_current_doc():
    result = subprocess.run(["/usr/bin/python3", str(ROOT / "ci" / "layers.py"),
                             "--check"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no new back-edge" in result.stdout


def test_a_back_edge_is_reported_and_a_gone_exception_too():
    layers = load_layers()
    edges = list(layers.KNOWN_BACK_EDGES) + [
        ("//pool:pool", "//planner:planner"),     # up: refused
        ("//planner:planner", "//pool:pool"),     # down: fine
        ("//stream:stream", "//stream:other"),    # same package: fine
        ("//tests:postgres_fixture", "//pybind:errors"),  # test support
    ]
    found = layers.problems(edges)
    assert found == ["back-edge //pool:pool -> //planner:planner: pool may "
                     "not depend on planner (a higher stage)"]
    gone = layers.problems(edges[1:])
    assert any("no longer a dependency" in line for line in gone)


def test_a_package_in_no_stage_is_an_error():
    layers = load_layers()
    try:
        layers.stage_of("//newstage:lib")
    except SystemExit as error:
        assert "in no stage" in str(error)
    else:
        raise AssertionError("//newstage was given a stage")
