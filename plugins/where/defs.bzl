"""where_operator_family: the targets of a built-in operator family folder."""

load("@rules_cc//cc:defs.bzl", "cc_library", "cc_test")

def where_operator_family(name):
    """The plugin and its golden test, in plugins/where/<name>/.

    `name` is the cc_library of <name>.cc (alwayslink: it registers itself
    from a static initialiser, which the linker would otherwise drop);
    `name`_golden_test runs <name>.golden, the family's one file of cases
    (tests/filter_golden.h), with every plugin linked. The cases with rows:
    also run on PostgreSQL (tests/python/test_where_cases.py).

    Args:
      name: the family, also its folder's name.
    """
    cc_library(
        name = name,
        srcs = [name + ".cc"],
        alwayslink = True,
        deps = [
            "//base:status",
            "//where",
            "@system//:absl",
        ],
    )
    cc_test(
        name = name + "_golden_test",
        args = ["$(rootpath %s.golden)" % name],
        data = [name + ".golden"],
        deps = [
            "//plugins/where",
            "//tests:filter_golden_main",
        ],
    )
