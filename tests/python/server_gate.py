"""A gate on the server, for the tests that prove a call into the module
releases the GIL or runs beside another call (test_slice.py,
test_planner_features.py).

The gated view's query waits on an advisory lock that the test holds, so a
call into the module stays in flight until the test opens the gate, and is
seen doing so: its backend waits on the lock in pg_stat_activity. While the
gate is closed nothing ends the call but the Repository's statement_timeout
(a hang breaker only a broken module meets), so whatever the test's own
Python threads do between seeing the call wait and opening the gate happens
during the call. A module that kept the GIL during the call would let no
other Python thread run until it returned: the test would never see it
wait. Order of events, not time."""
import threading
import uuid

import psycopg

from servers import wait_until


class Gate:
    """A view `view` over the sample users whose query waits while the gate
    is closed; calls through pools with application_name `app` are the ones
    counted by waiting()."""

    def __init__(self, db_url, sample):
        self.db_url = db_url
        self.key = uuid.uuid4().int % 2 ** 62
        tag = uuid.uuid4().hex[:8]
        self.app = f"fql-pytest-gate-{tag}"
        self.view = f"{sample}.v_user_gated_{tag}"
        function = f'"{sample}"."gate_{tag}"'
        with psycopg.connect(db_url, autocommit=True) as conn:
            # The uncorrelated sub-select runs once per statement (an
            # InitPlan), before the first row.
            conn.execute(f"""
                CREATE FUNCTION {function}() RETURNS boolean
                LANGUAGE plpgsql VOLATILE AS $$
                BEGIN
                  PERFORM pg_advisory_xact_lock_shared({self.key});
                  RETURN true;
                END $$;
                CREATE VIEW "{sample}"."v_user_gated_{tag}" AS
                  SELECT id, data FROM "{sample}".v_user
                  WHERE (SELECT {function}());
            """)
        self._locker = None

    def register(self, schema):
        """Adds the view to a fraiseql_native.Schema (type GatedUser)."""
        schema.add_view(self.view, "GatedUser", {"id": "UUID"},
                        columns={"id": "uuid", "data": "jsonb"})
        return schema

    def repository(self, fn):
        """A Repository over the view, with a pool of two whose calls
        waiting() counts."""
        pool = fn.Pool(self.db_url, min_size=0, max_size=2,
                       acquire_timeout=30, application_name=self.app)
        return fn.Repository(pool, self.register(fn.Schema()),
                             statement_timeout=60)

    def close(self):
        self._locker = psycopg.connect(self.db_url, autocommit=True)
        self._locker.execute("SELECT pg_advisory_lock(%s)", (self.key,))

    def open(self):
        if self._locker is not None:
            self._locker.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            self._locker.close()
            self._locker = None

    def waiting(self):
        """How many backends of `app` wait on the gate now."""
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = %s AND wait_event_type = 'Lock' "
                "AND wait_event = 'advisory'", (self.app,)).fetchone()[0]

    def __enter__(self):
        self.close()
        return self

    def __exit__(self, *exc):
        self.open()


class Call(threading.Thread):
    """Runs f() once in a thread, recording its result or exception."""

    def __init__(self, f):
        super().__init__(daemon=True)
        self.f, self.result, self.error = f, None, None
        self.done = False

    def run(self):
        try:
            self.result = self.f()
        except BaseException as e:  # noqa: BLE001 - asserted by the test
            self.error = e
        finally:
            self.done = True

    def started(self):
        self.start()
        return self

    def finish(self, timeout=60.0):
        self.join(timeout)
        assert not self.is_alive(), f"the call hung (> {timeout}s)"
        return self


class Counter(threading.Thread):
    """A pure-Python loop counting while it holds the GIL."""

    def __init__(self):
        super().__init__(daemon=True)
        self.value = 0
        self._stopping = False

    def run(self):
        while not self._stopping:
            self.value += 1

    def stop(self):
        self._stopping = True
        self.join()


def assert_in_flight_together(gate, calls):
    """While `calls` (started, each a call through the gate) are all waiting
    on the closed gate at once, another Python thread counts a thousand
    steps and this one reads pg_stat_activity; then the gate opens. Fails if
    a call ended before that (it could only end by its statement_timeout or
    an error) or if they never all wait together."""
    want = len(calls)
    wait_until(lambda: gate.waiting() == want or any(c.done for c in calls),
               f"{want} calls to wait on the gate at once", timeout=60.0)
    ended = [(c.result, c.error) for c in calls if c.done]
    assert not ended, f"a call ended with the gate closed: {ended}"
    counter = Counter()
    counter.start()
    try:
        wait_until(lambda: counter.value >= 1000,
                   "the counting thread to count during the calls",
                   timeout=60.0)
    finally:
        counter.stop()
    # Still in flight: the counting happened during the calls.
    assert gate.waiting() == want
    assert not any(c.done for c in calls)
