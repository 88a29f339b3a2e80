"""Builds the fraiseql_native wheel (PEP 427) from the files Bazel laid out
for the package (//pybind:fraiseql_native).

    build_wheel.py --out DIST/fraiseql_native-0.1.0-cp311-cp311-linux_x86_64.whl \
        --name fraiseql_native --version 0.1.0 --strip-prefix bazel-out/k8-opt/bin/pybind/ \
        FILE...

Each FILE is stored at its path without --strip-prefix (so
fraiseql_native/_native.so, fraiseql_native/__init__.py, ...). The tags
come from the interpreter running this script (it must be the one the
extension was built for, /usr/bin/python3); the output's file name must
carry exactly those tags, so a wheel is never named for another Python.
The archive is deterministic: sorted entries, fixed timestamps and modes,
the .dist-info directory last with RECORD as its last entry."""
import argparse
import base64
import hashlib
import importlib.machinery
import os
import sys
import sysconfig
import zipfile

# Zip cannot store dates before 1980; every entry gets this one.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
GENERATOR = "fraiseql-native build_wheel.py 1.0"
SUMMARY = "GraphQL response bytes from PostgreSQL views, natively"
REQUIRES_PYTHON = ">=3.11"


def fail(message):
    print(f"build_wheel.py: {message}", file=sys.stderr)
    sys.exit(1)


def interpreter_tags():
    """(python tag, abi tag, platform tag) of the running CPython."""
    if sys.implementation.name != "cpython":
        fail("the wheel must be built by CPython (the extension is CPython's)")
    version = f"{sys.version_info.major}{sys.version_info.minor}"
    python_tag = f"cp{version}"
    abi_tag = f"cp{version}{sys.abiflags}"
    platform_tag = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return python_tag, abi_tag, platform_tag


def record_hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def zip_entry(name, executable=False):
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so external_attr holds the mode
    mode = 0o755 if executable else 0o644
    info.external_attr = (0o100000 | mode) << 16  # regular file
    return info


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--strip-prefix", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)

    python_tag, abi_tag, platform_tag = interpreter_tags()
    tag = f"{python_tag}-{abi_tag}-{platform_tag}"
    expected = f"{args.name}-{args.version}-{tag}.whl"
    if os.path.basename(args.out) != expected:
        fail(f"the output is named for other tags than this interpreter's "
             f"({expected} expected): change the wheel's name in "
             f"pybind/wheel/BUILD.bazel")

    prefix = args.strip_prefix.rstrip("/") + "/"
    members = {}
    for path in args.files:
        if not path.startswith(prefix):
            fail(f"a package file lies outside --strip-prefix: {path}")
        arcname = path[len(prefix):]
        if not arcname.startswith(args.name + "/"):
            fail(f"a file lies outside the package directory: {arcname}")
        if arcname in members:
            fail(f"a file is given twice: {arcname}")
        members[arcname] = path
    if not members:
        fail("no package files")

    # The extension must be importable by this interpreter under its name.
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    extensions = [a for a in members if a.endswith(".so")]
    if not extensions:
        fail(f"the package has no extension module ({args.name}/*.so)")
    for arcname in extensions:
        if not any(arcname.endswith(s) for s in suffixes):
            fail(f"this interpreter would not import the extension: {arcname}")
    for needed in ("__init__.py", "py.typed"):
        if f"{args.name}/{needed}" not in members:
            fail(f"the package lacks {args.name}/{needed}")
    if not any(a.endswith(".pyi") for a in members):
        fail("the package has no .pyi stubs")

    dist_info = f"{args.name}-{args.version}.dist-info"
    metadata = (
        "Metadata-Version: 2.1\n"
        f"Name: {args.name}\n"
        f"Version: {args.version}\n"
        f"Summary: {SUMMARY}\n"
        f"Requires-Python: {REQUIRES_PYTHON}\n"
    ).encode()
    wheel = (
        "Wheel-Version: 1.0\n"
        f"Generator: {GENERATOR}\n"
        "Root-Is-Purelib: false\n"
        f"Tag: {tag}\n"
    ).encode()
    top_level = f"{args.name}\n".encode()

    entries = []  # (arcname, bytes, executable)
    for arcname in sorted(members):
        with open(members[arcname], "rb") as f:
            entries.append((arcname, f.read(), arcname.endswith(".so")))
    entries.append((f"{dist_info}/METADATA", metadata, False))
    entries.append((f"{dist_info}/WHEEL", wheel, False))
    entries.append((f"{dist_info}/top_level.txt", top_level, False))

    record_lines = [f"{name},{record_hash(data)},{len(data)}"
                    for name, data, _ in entries]
    record_lines.append(f"{dist_info}/RECORD,,")
    record = ("\n".join(record_lines) + "\n").encode()

    tmp = args.out + ".tmp"
    with zipfile.ZipFile(tmp, "w") as zf:
        for name, data, executable in entries:
            zf.writestr(zip_entry(name, executable), data)
        zf.writestr(zip_entry(f"{dist_info}/RECORD"), record)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
