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


def test_the_workspace_has_no_back_edge_and_a_current_doc():
    result = subprocess.run(["/usr/bin/python3", str(ROOT / "ci" / "layers.py"),
                             "--check"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no back-edge" in result.stdout


def test_a_back_edge_is_reported():
    layers = load_layers()
    edges = [
        ("//pool:pool", "//planner:planner"),     # up: refused
        ("//planner:planner", "//pool:pool"),     # down: fine
        ("//stream:stream", "//stream:other"),    # same package: fine
        ("//plugins:backend", "//plugins/backends/native:native"),  # up
        ("//tests:postgres_fixture", "//pybind:errors"),  # test support
    ]
    assert layers.problems(edges) == [
        "back-edge //plugins:backend -> //plugins/backends/native:native: "
        "executor interface may not depend on plugins (a higher stage)",
        "back-edge //pool:pool -> //planner:planner: pool may not depend on "
        "planner (a higher stage)"]


def test_a_package_in_no_stage_is_an_error():
    layers = load_layers()
    try:
        layers.stage_of("//newstage:lib")
    except SystemExit as error:
        assert "in no stage" in str(error)
    else:
        raise AssertionError("//newstage was given a stage")


def test_a_package_open_to_lower_stages_is_reported():
    layers = load_layers()
    own = 'package(default_visibility = ["//:planner_and_above"])'
    found = layers.visibility_problems({
        "planner/BUILD.bazel": own,                                   # fine
        "pool/BUILD.bazel": 'package(default_visibility = ["//visibility:private"])',
        "where/BUILD.bazel": 'package(default_visibility = ["//visibility:public"])',
        "repository/BUILD.bazel": own,                                # opens it
        "tests/BUILD.bazel": 'package(default_visibility = ["//visibility:public"])',
        "plugins/where/BUILD.bazel": 'visibility = ["//visibility:public"]',
        "stream/BUILD.bazel": 'visibility = ["//plugins/backends/native:__pkg__"]',
        "response/BUILD.bazel": 'visibility = ["//where/fuzz:__pkg__"]',
    })
    assert found == [
        "repository/BUILD.bazel: //:planner_and_above opens //repository "
        "(repository) to lower stages",
        "response/BUILD.bazel: //where/fuzz is given visibility of "
        "//response (response), a higher stage",
        "where/BUILD.bazel: a target or the package default is public; give "
        "it its stage's group, //:where_and_above"]


def test_the_stage_groups_follow_stages_bzl():
    # stages.bzl's STAGES is what ci/layers.py reads: the same order, and
    # the plugins stage is the folders under //plugins, not //plugins itself.
    layers = load_layers()
    names = [name for name, _, _ in layers.STAGES]
    assert names[0] == "shared" and names[-1] == "python"
    assert layers.stage_of("//plugins:backend")[1] == "executor interface"
    assert layers.stage_of("//plugins/where/ltree:ltree")[1] == "plugins"
