"""The pipeline's stages, bottom up (docs/architecture.md).

A library may depend only on libraries of its own stage or a lower one.
Each entry is (stage, packages, what it is); a package spec is a
package_group spec: "//x/..." is x and everything beneath it, "//x" is the
package x alone. Every package of the workspace but //tests, //docs and
//third_party belongs to exactly one stage.

Two checks use this list:
- ci/layers.py (test_layers.py) reads the library graph with bazel query
  and fails on any edge to a higher stage;
- stage_groups() makes one package_group per stage, "<stage>_and_above"
  (its packages, those of every higher stage, and //tests), and each
  package's default_visibility is its stage's group: a back-edge is a
  visibility error at build time.
"""

STAGES = [
    ("shared", ["//base/...", "//names/...", "//proto/...", "//exec/..."],
     "status helpers, the camelCase rule, the query definition (protobuf), the plan and request context every stage shares"),
    ("pool", ["//pool/..."], "connections and the pool"),
    ("where", ["//where/..."], "schema registry, operator registry, where -> SQL"),
    ("planner", ["//planner/..."], "a root field -> SQL, parameters, selection"),
    ("executor_interface", ["//plugins"], "the backend interface and registry"),
    ("stream", ["//stream/..."], "the native backend's libpq executor"),
    ("plugins", ["//plugins/backends/...", "//plugins/parity/...", "//plugins/where/..."],
     "backend plugins, WHERE operator plugins (one folder per family), the parity comparator"),
    ("response", ["//response/..."], "rows -> response bytes"),
    ("repository", ["//repository/..."], "the whole pipeline behind one call"),
    ("python", ["//pybind/..."], "the fraiseql_native module"),
]

def stage_groups():
    """One package_group per stage: "<stage>_and_above"."""
    for index, stage in enumerate(STAGES):
        packages = ["//tests/..."]
        for _, specs, _ in STAGES[index:]:
            packages += specs
        native.package_group(
            name = stage[0] + "_and_above",
            packages = packages,
        )
