"""Fixtures for the Python tests of fraiseql_native. They run against the
real PostgreSQL named by FRAISEQL_DATABASE_URL (ci/test starts one), on
sample data loaded into a schema of their own."""
import json
from decimal import Decimal
import os
import pathlib
import re
import subprocess
import sys

import psycopg
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
sys.path.insert(0, str(ROOT / "bazel-bin" / "pybind"))
sys.path.insert(0, str(ROOT / "bazel-bin" / "proto"))

import fraiseql_native  # noqa: E402
from sample_registry import register_sample  # noqa: E402

# Per run, so that two runs on one server never drop each other's data.
SAMPLE_SCHEMA = f"fql_pytest_sample_{os.getpid()}"
SAMPLE_ROWS = 300


def documented_operator_keys():
    """The operator keys of docs/operators.md, which is generated from the
    registry of the plugins the module links (//plugins/where)."""
    text = (ROOT / "docs" / "operators.md").read_text()
    return set(re.findall(r"^\| `[^`]+` \| `([^`]+)` \|", text, re.M))


def linked_families(module):
    """The operator families linked into the module ("ltree", ...): a
    family is a removable plugin (plugins/where/<family>/), so a test of
    several families checks the ones that are there."""
    return {op["key"].split(".")[1] for op in module.operators()}


@pytest.fixture(scope="session")
def fn():
    return fraiseql_native


@pytest.fixture(scope="session")
def db_url():
    url = os.environ.get("FRAISEQL_DATABASE_URL")
    if not url:
        pytest.fail("FRAISEQL_DATABASE_URL is not set: run ci/test, or "
                    "`export FRAISEQL_DATABASE_URL=$(ci/postgres start | tail -1)`")
    return url


@pytest.fixture(scope="session")
def sample(db_url):
    """Loads the shared sample data into its own schema, once per run."""
    subprocess.run(
        [str(ROOT / "ci" / "sample-data"), "--rows", str(SAMPLE_ROWS),
         "--schema", SAMPLE_SCHEMA, "--url", db_url],
        check=True, stdout=subprocess.DEVNULL)
    yield SAMPLE_SCHEMA
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SAMPLE_SCHEMA}" CASCADE')


@pytest.fixture(scope="session")
def raw(db_url, sample):
    """The sample rows as psycopg returns them (an independent path), by view."""
    rows = {}
    with psycopg.connect(db_url) as conn:
        for view in ("v_user", "v_post", "v_comment"):
            # Decimal keeps every number exact (100.50 stays 100.50).
            cur = conn.execute(f"SELECT data::text FROM {sample}.{view}")
            rows[view] = [json.loads(r[0], parse_float=Decimal)
                          for r in cur]
    return rows


@pytest.fixture(scope="session")
def schema(fn, sample):
    return register_sample(fn, sample)


@pytest.fixture(scope="session")
def pool(fn, db_url):
    return fn.Pool(db_url, min_size=1, max_size=4, acquire_timeout=5)


@pytest.fixture(scope="session")
def repo(fn, pool, schema):
    return fn.Repository(pool, schema)


@pytest.fixture
def users(sample):
    return f"{sample}.v_user"
