"""The wheel (//pybind/wheel:wheel, built by `bazel build //...`): a valid
PEP 427 archive that `pip install --no-index` accepts into a fresh venv of
/usr/bin/python3, from which the package imports (not from bazel-bin or
the repository) and runs a real query against the server."""
import base64
import csv
import hashlib
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import zipfile

import psycopg
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
WHEEL_DIR = ROOT / "bazel-bin" / "pybind" / "wheel"
BUILD_WHEEL = ROOT / "pybind" / "wheel" / "build_wheel.py"
PYTHON = "/usr/bin/python3"
SCHEMA = f"fql_pytest_wheel_{os.getpid()}"
# The version the BUILD file gives the wheel (older wheels may linger in
# bazel-bin after a version change: only this one is tested).
VERSION = re.search(r'^VERSION = "([^"]+)"$',
                    (ROOT / "pybind" / "wheel" / "BUILD.bazel").read_text(),
                    re.M).group(1)
DIST_INFO = f"fraiseql_native-{VERSION}.dist-info"
# Only a guard against a hang (pip, the venv, a query); never a bound the
# test measures.
HANG_GUARD = 600


def record_hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def clean_env(**extra):
    """The environment without anything that could put another copy of
    the package on the path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env.update(extra)
    return env


def run(args, cwd, **kw):
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                            timeout=HANG_GUARD, env=clean_env(), **kw)
    assert result.returncode == 0, (
        f"{args[:3]} failed ({result.returncode}):\n{result.stdout}\n"
        f"{result.stderr}")
    return result.stdout


@pytest.fixture(scope="module")
def wheel():
    wheels = sorted(WHEEL_DIR.glob(f"fraiseql_native-{VERSION}-*.whl"))
    if not wheels:
        pytest.fail(f"no fraiseql_native {VERSION} wheel in {WHEEL_DIR}: run "
                    "`bazel build //pybind/wheel:wheel` (ci/test builds "
                    "//...) first")
    assert len(wheels) == 1, f"several wheels in {WHEEL_DIR}: {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A fresh venv of /usr/bin/python3 (no system site packages) with the
    wheel installed."""
    base = tmp_path_factory.mktemp("wheel")
    env_dir = base / "venv"
    run([PYTHON, "-m", "venv", str(env_dir)], cwd=base)
    run([str(env_dir / "bin" / "pip"), "install", "--no-index", "--no-deps",
         str(wheel)], cwd=base)
    site = pathlib.Path(run(
        [str(env_dir / "bin" / "python"), "-I", "-c",
         "import sysconfig; print(sysconfig.get_paths()['platlib'])"],
        cwd=base).strip())
    return env_dir, site, base


@pytest.fixture(scope="module")
def things_view(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        conn.execute(f"""
            CREATE VIEW "{SCHEMA}".v_thing AS
              SELECT id, jsonb_build_object('id', id, 'name', name) AS data
              FROM (VALUES (1, 'anvil'), (2, 'rocket')) AS t(id, name)""")
    yield f"{SCHEMA}.v_thing"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


def test_wheel_is_named_for_this_interpreter(wheel):
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    assert wheel.name == (f"fraiseql_native-{VERSION}-{tag}-{tag}"
                          f"{sys.abiflags}-linux_x86_64.whl")


def test_wheel_metadata_and_record_describe_its_contents(wheel):
    dist_info = DIST_INFO
    with zipfile.ZipFile(wheel) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        data = {n: zf.read(n) for n in names}
        infos = zf.infolist()
    assert names[-1] == f"{dist_info}/RECORD"
    for needed in ("__init__.py", "_native.so", "_native.pyi", "py.typed",
                   "resolvers.py", "parity/__init__.py",
                   "plugins/__init__.py"):
        assert f"fraiseql_native/{needed}" in names
    assert all(n.startswith(("fraiseql_native/", f"{dist_info}/"))
               for n in names), names
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)

    metadata = data[f"{dist_info}/METADATA"].decode().splitlines()
    assert "Metadata-Version: 2.1" in metadata
    assert "Name: fraiseql_native" in metadata
    assert f"Version: {VERSION}" in metadata
    assert "Requires-Python: >=3.11" in metadata
    assert any(line.startswith("Summary: ") for line in metadata)
    wheel_file = data[f"{dist_info}/WHEEL"].decode().splitlines()
    assert "Wheel-Version: 1.0" in wheel_file
    assert "Root-Is-Purelib: false" in wheel_file
    assert any(line.startswith("Generator: ") for line in wheel_file)
    assert f"Tag: {'-'.join(wheel.stem.split('-')[2:])}" in wheel_file

    rows = list(csv.reader(io.StringIO(
        data[f"{dist_info}/RECORD"].decode())))
    listed = {r[0]: (r[1], r[2]) for r in rows}
    assert len(listed) == len(rows) == len(names)
    assert set(listed) == set(names)
    assert listed[f"{dist_info}/RECORD"] == ("", "")
    for name in names:
        if name != f"{dist_info}/RECORD":
            assert listed[name] == (record_hash(data[name]),
                                    str(len(data[name]))), name


def test_wheel_is_reproducible(wheel, tmp_path):
    """build_wheel.py over the same files writes the same bytes, and
    refuses a name carrying other tags than the interpreter's."""
    package = ROOT / "bazel-bin" / "pybind"
    with zipfile.ZipFile(wheel) as zf:
        files = [n for n in zf.namelist()
                 if n.startswith("fraiseql_native/")]
    again = tmp_path / wheel.name
    run([PYTHON, str(BUILD_WHEEL), "--out", str(again),
         "--name", "fraiseql_native", "--version", VERSION,
         "--strip-prefix", str(package)]
        + [str(package / f) for f in reversed(files)], cwd=tmp_path)
    assert again.read_bytes() == wheel.read_bytes()

    wrong = tmp_path / f"fraiseql_native-{VERSION}-cp39-cp39-linux_x86_64.whl"
    result = subprocess.run(
        [PYTHON, str(BUILD_WHEEL), "--out", str(wrong),
         "--name", "fraiseql_native", "--version", VERSION,
         "--strip-prefix", str(package)] + [str(package / f) for f in files],
        capture_output=True, text=True, timeout=HANG_GUARD, cwd=tmp_path)
    assert result.returncode != 0
    assert "other tags" in result.stderr
    assert not wrong.exists()


PROBE = r"""
import importlib.util, json, os, sys
import fraiseql_native

url, view = sys.argv[1], sys.argv[2]
schema = fraiseql_native.Schema()
schema.add_view(view, "Thing", {"id": "Int", "name": "String"},
                columns={"id": "integer", "data": "jsonb"})
pool = fraiseql_native.Pool(url, max_size=1, acquire_timeout=30)
repo = fraiseql_native.Repository(pool, schema)
many = repo.find(view, field="things", order_by=[{"id": "ASC"}])
one = repo.find_one(view, field="thing", where={"id": {"eq": 2}},
                    selection="name")
package = os.path.dirname(fraiseql_native.__file__)
print(json.dumps({
    "package": package,
    "extension": fraiseql_native._native.__file__,
    "backends": fraiseql_native.backends(),
    "installed": sorted(os.listdir(package)),
    "psycopg_visible": importlib.util.find_spec("psycopg") is not None,
    "many": many.decode(),
    "one": one.decode(),
    "count": repo.count(view),
}))
"""


def test_installed_package_imports_and_queries(venv, things_view, db_url):
    env_dir, site, base = venv
    cwd = base / "elsewhere"  # not the repository: nothing can shadow
    cwd.mkdir(exist_ok=True)
    out = json.loads(run([str(env_dir / "bin" / "python"), "-I", "-c", PROBE,
                          db_url, things_view], cwd=cwd))
    package = site / "fraiseql_native"
    assert pathlib.Path(out["package"]) == package
    assert pathlib.Path(out["extension"]) == package / "_native.so"
    assert not out["psycopg_visible"], "the venv sees system site packages"
    assert "native" in out["backends"]
    assert {"py.typed", "_native.pyi", "_native.so", "__init__.py"} <= set(
        out["installed"])
    assert out["many"] == ('{"data":{"things":[{"id":1,"name":"anvil"},'
                           '{"id":2,"name":"rocket"}]}}')
    assert out["one"] == '{"data":{"thing":{"name":"rocket"}}}'
    assert out["count"] == 2


def test_every_installed_file_is_in_the_record(venv):
    env_dir, site, base = venv
    dist_info = site / DIST_INFO
    rows = list(csv.reader(io.StringIO(
        (dist_info / "RECORD").read_text())))
    listed = {}
    for path, digest, size in rows:
        listed[(site / path).resolve()] = (digest, size)
    installed = [p.resolve() for d in (site / "fraiseql_native", dist_info)
                 for p in d.rglob("*") if p.is_file()]
    assert installed
    missing = [str(p) for p in installed if p not in listed]
    assert not missing, f"installed but not in RECORD: {missing}"
    record = (dist_info / "RECORD").resolve()
    for path in installed:
        digest, size = listed[path]
        # RECORD itself, and the .pyc files pip compiles at install, have no
        # digest; every file of the wheel has one.
        if path == record or path.suffix == ".pyc":
            continue
        assert digest, path
        data = path.read_bytes()
        assert (digest, size) == (record_hash(data), str(len(data))), path
    # pip agrees: `pip show -f` lists the package's files.
    shown = run([str(env_dir / "bin" / "pip"), "show", "-f",
                 "fraiseql_native"], cwd=base)
    assert "fraiseql_native/_native.so" in shown
    assert "fraiseql_native/py.typed" in shown
