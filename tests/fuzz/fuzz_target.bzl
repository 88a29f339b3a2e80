"""fuzz_target: a libFuzzer target and the regression test of its corpus."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_test")

def fuzz_target(name, srcs, deps, corpus, dict = None, **kwargs):
    """Declares a fuzz target `name` and the test `name`_corpus_test.

    `name` is the fuzzer: with --config=fuzz (ci/fuzz) it links libFuzzer;
    in other builds it runs the files given as arguments once (a
    reproducer). Manual: only ci/fuzz builds it.

    `name`_corpus_test runs every file of `corpus` (a directory of this
    package) once, in every build (normal, --config=asan, --config=tsan), so
    the seeds are regression inputs and the target keeps compiling.

    Args:
      name: the fuzzer's name.
      srcs: sources; one defines LLVMFuzzerTestOneInput.
      deps: what they use.
      corpus: the seed corpus directory, relative to the package.
      dict: optional libFuzzer dictionary (a file of the package), for ci/fuzz.
      **kwargs: passed to both rules (copts, ...).
    """
    corpus_files = native.glob([corpus + "/**"])
    data = corpus_files + ([dict] if dict else [])
    cc_binary(
        name = name,
        testonly = True,
        srcs = srcs,
        deps = deps + select({
            "//tests/fuzz:libfuzzer": ["//tests/fuzz:libfuzzer_main"],
            "//conditions:default": ["//tests/fuzz:corpus_main"],
        }),
        data = data,
        tags = ["manual", "fuzz_target"],
        **kwargs
    )
    cc_test(
        name = name + "_corpus_test",
        srcs = srcs,
        deps = deps + ["//tests/fuzz:corpus_main"],
        data = corpus_files,
        args = [native.package_name() + "/" + corpus],
        **kwargs
    )
