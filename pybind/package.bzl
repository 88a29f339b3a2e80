"""Lays out the fraiseql_native Python package in bazel-bin.

`python_package_files` copies Python sources into the package directory
next to the extension (`<package>/_native.so`), so that
PYTHONPATH=bazel-bin/pybind imports the built package: the module's own
sources keep their place under the package, plugin sources (from their
plugin folders) land in a subpackage."""

def _python_package_files_impl(ctx):
    outs = []
    for src in ctx.files.srcs:
        path = src.short_path
        if ctx.attr.strip_prefix and path.startswith(ctx.attr.strip_prefix):
            relative = path[len(ctx.attr.strip_prefix):]
        else:
            relative = src.basename
        if ctx.attr.out_dir:
            relative = ctx.attr.out_dir + "/" + relative
        out = ctx.actions.declare_file(relative)
        ctx.actions.run_shell(
            inputs = [src],
            outputs = [out],
            command = 'cp "$1" "$2"',
            arguments = [src.path, out.path],
            mnemonic = "CopyPythonSource",
        )
        outs.append(out)
    return [DefaultInfo(files = depset(outs))]

python_package_files = rule(
    implementation = _python_package_files_impl,
    doc = "Copies .py sources to <out_dir>/<path without strip_prefix>, " +
          "or <out_dir>/<basename> when the path lacks the prefix.",
    attrs = {
        "srcs": attr.label_list(allow_files = [".py", ".pyi", ".typed"]),
        "out_dir": attr.string(),
        "strip_prefix": attr.string(),
    },
)
