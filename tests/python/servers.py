"""Helpers for tests that start, stop and probe the project's own servers
(ci/postgres, its standby, ci/pgbouncer)."""
import pathlib
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import psycopg
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CI_POSTGRES = str(ROOT / "ci" / "postgres")


def ci_postgres(*args, timeout=180):
    """Runs ci/postgres with `args`; returns the CompletedProcess."""
    return subprocess.run([CI_POSTGRES, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def ci_postgres_ok(*args, timeout=180):
    """Runs ci/postgres; returns its last stdout line or fails the test with
    its output."""
    proc = ci_postgres(*args, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"`ci/postgres {' '.join(args)}` failed "
                    f"(exit {proc.returncode}):\n{proc.stderr}{proc.stdout}")
    lines = proc.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def port_of(url):
    return urlsplit(url).port


def wait_until(predicate, what, timeout=30.0):
    """Polls predicate() (backing off from 10 ms to 200 ms) until it returns
    a truthy value, which it returns; fails the test at the deadline.
    Database and OS errors count as "not yet"."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (psycopg.Error, OSError, RuntimeError) as e:
            last_error = e
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}"
                        + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def next_in_thread(it, result):
    """Starts a thread that calls next(it) once and appends the piece,
    "stop" or the exception's class name to `result`. Returns (thread,
    entered); `entered` is set by the thread's profile hook at the c_call
    event of next(), right before next() runs (see blocked_in_next)."""
    entered = threading.Event()

    def hook(frame, event, arg):
        if event == "c_call" and arg is next:
            entered.set()

    def run():
        sys.setprofile(hook)
        try:
            result.append(next(it))
        except StopIteration:
            result.append("stop")
        except Exception as e:  # noqa: BLE001 - the caller asserts it
            result.append(type(e).__name__)
        finally:
            sys.setprofile(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.caller = run.__code__  # the frame that calls next()
    thread.start()
    return thread, entered


def blocked_in_next(thread, entered):
    """Whether `thread` (from next_in_thread) sleeps inside next(), with the
    GIL released. Called with the GIL held, so the thread is not running
    Python: `entered` set with its top frame back in run() means it has
    left the hook and is in the C call (no bytecode runs between the c_call
    event and the call), and asleep (/proc state S) means it released the
    GIL and waits inside the stream, not on the GIL."""
    if not entered.is_set():
        return False
    frame = sys._current_frames().get(thread.ident)
    if frame is None or frame.f_code is not thread.caller:
        return False
    with open(f"/proc/self/task/{thread.native_id}/stat") as f:
        state = f.read().rsplit(")", 1)[1].split()[0]
    return state == "S"


def load_mutation_fixtures(db_url, schema):
    """(Re)creates `schema` with tests/fixtures/mutations.sql in it: the
    mutation_response type, the account tables and the mutation functions."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    subprocess.run(["psql", db_url, "-q", "-v", "ON_ERROR_STOP=1", "-v",
                    f"schema={schema}", "-f",
                    str(ROOT / "tests" / "fixtures" / "mutations.sql")],
                   check=True, stdout=subprocess.DEVNULL)



def mutation_fixtures(db_url, schema):
    """A pytest fixture's body: loads the mutation fixtures into `schema`,
    yields its name and drops it afterwards (`yield from
    mutation_fixtures(db_url, NAME)`)."""
    load_mutation_fixtures(db_url, schema)
    yield schema
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')