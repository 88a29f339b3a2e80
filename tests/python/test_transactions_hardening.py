"""Hardening of mutations and transactions (issue 9): a mutation whose
deadline passes as it finishes reports what stays written; mutations from
several threads on one transaction are serialized; value calls obey
max_response_bytes. Every outcome is read back with psycopg."""
import json
import os
import threading
import uuid

import psycopg
import pytest

from servers import load_mutation_fixtures

SCHEMA = f"fql_pytest_txh_{os.getpid()}"
TENANT = "11111111-1111-1111-1111-111111111111"
JOIN_S = 60  # no thread of these tests may outlive this


@pytest.fixture(scope="module")
def hschema(db_url):
    load_mutation_fixtures(db_url, SCHEMA)
    with psycopg.connect(db_url, autocommit=True) as conn:
        # 20,000 distinct values of 40 bytes each: about 900 kB as a list.
        conn.execute(f"""
            CREATE TABLE "{SCHEMA}".tb_word AS
              SELECT jsonb_build_object('id', i, 'word', md5(i::text) || 'xxxxxxxx')
                     AS data
              FROM generate_series(1, 20000) i;
            CREATE VIEW "{SCHEMA}".v_word AS SELECT data FROM "{SCHEMA}".tb_word;
        """)
    yield SCHEMA
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


def make_schema(fn):
    schema = fn.Schema()
    schema.add_view(f"{SCHEMA}.v_account", "Account",
                    {"id": "UUID", "name": "String", "created_by": "String"},
                    columns={"id": "uuid", "tenant_id": "uuid", "data": "jsonb"})
    schema.add_view(f"{SCHEMA}.v_word", "Word", {"id": "Int", "word": "String"})
    return schema


@pytest.fixture(scope="module")
def hrepo(fn, db_url, hschema):
    pool = fn.Pool(db_url, min_size=1, max_size=4, acquire_timeout=10)
    return fn.Repository(pool, make_schema(fn))


@pytest.fixture
def db(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


def accounts(db, account_id):
    return db.execute(f'SELECT data FROM "{SCHEMA}".tb_account WHERE id = %s',
                      (account_id,)).fetchall()


def late(repo, account_id, **kwargs):
    """create_account_late: writes, then sleeps through its cancel."""
    return repo.mutate(f"{SCHEMA}.create_account_late",
                       {"id": account_id, "sleep": 3}, field="late",
                       success_type="LateSuccess", error_type="LateError",
                       success_selection="status", error_selection="status",
                       **kwargs)


def create(repo, account_id, name, **kwargs):
    return repo.mutate(f"{SCHEMA}.create_account",
                       {"id": account_id, "name": name}, field="c",
                       success_type="CreateSuccess", error_type="CreateError",
                       success_selection="status", error_selection="status",
                       context_args=["tenant_id", "user_id"], **kwargs)


# -- a mutation that finishes as its deadline passes ---------------------------

def test_late_mutation_in_a_transaction_reports_what_is_committed(fn, hrepo, db):
    """The function finishes after its deadline (it catches the cancel):
    before the fix the savepoint was neither released nor rolled back, a
    timeout was reported and the rows were committed with the transaction."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    tx = hrepo.transaction(context={"tenant_id": TENANT, "user_id": "t"})
    create(tx, a, "a")
    try:
        body, error = late(tx, b, timeout=0.2), None
    except fn.Error as e:
        body, error = None, e
    tx.commit()
    assert len(accounts(db, a)) == 1
    written = len(accounts(db, b)) == 1
    # What was reported is what stays: an error and nothing, or the success
    # and the rows.
    assert (error is not None) != written, (error, written)
    check_outcome(fn, body, error)


def check_outcome(fn, body, error):
    # The function's row came after the cancel, so it is reported as timed
    # out (and then nothing stays); a success must carry its body.
    if error is not None:
        assert type(error) is fn.QueryTimeoutError, repr(error)
    else:
        assert json.loads(body) == {"data": {"late": {"status": "created"}}}


def test_late_mutation_outside_a_transaction_reports_what_is_committed(
        fn, hrepo, db):
    b = str(uuid.uuid4())
    try:
        body, error = late(hrepo, b, timeout=0.2), None
    except fn.Error as e:
        body, error = None, e
    written = len(accounts(db, b)) == 1
    assert (error is not None) != written, (error, written)
    check_outcome(fn, body, error)


def test_mutation_timed_out_in_a_transaction_keeps_nothing(fn, hrepo, db):
    """pg_sleep longer than the timeout, not caught: a timeout, and none of
    the function's writes reach the committed transaction."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    tx = hrepo.transaction(context={"tenant_id": TENANT, "user_id": "t"})
    create(tx, a, "a")
    with pytest.raises(fn.QueryTimeoutError):
        tx.mutate(f"{SCHEMA}.create_account",
                  {"id": b, "name": "b", "sleep": 5}, field="c",
                  success_type="S", error_type="E",
                  context_args=["tenant_id", "user_id"], timeout=0.2)
    tx.commit()
    assert len(accounts(db, a)) == 1
    assert accounts(db, b) == []
    assert db.execute(f'SELECT count(*) FROM "{SCHEMA}".tb_audit WHERE action = %s',
                      (f"create {b}",)).fetchone()[0] == 0


# -- several threads on one transaction --------------------------------------

def test_mutations_from_threads_on_one_transaction_are_serialized(fn, hrepo, db):
    threads, per_thread = 4, 15
    ids = [[str(uuid.uuid4()) for _ in range(per_thread)] for _ in range(threads)]
    errors = []
    tx = hrepo.transaction(context={"tenant_id": TENANT, "user_id": "mt"})
    start = threading.Barrier(threads)

    def work(mine):
        start.wait()
        for i, account_id in enumerate(mine):
            try:
                # Every third one returns an error status: rolled back to its
                # savepoint, which must not undo another thread's work.
                status = "failed:forced" if i % 3 == 2 else "created"
                tx.mutate(f"{SCHEMA}.create_account",
                          {"id": account_id, "name": "t", "status": status},
                          field="c", success_type="S", error_type="E",
                          success_selection="status", error_selection="status",
                          context_args=["tenant_id", "user_id"])
            except BaseException as e:  # noqa: BLE001 - asserted below
                errors.append(e)

    workers = [threading.Thread(target=work, args=(ids[t],), daemon=True)
               for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(JOIN_S)
    assert not any(w.is_alive() for w in workers), "a thread hung"
    assert errors == [], [repr(e) for e in errors[:5]]
    tx.commit()
    for t in range(threads):
        for i, account_id in enumerate(ids[t]):
            assert len(accounts(db, account_id)) == (0 if i % 3 == 2 else 1), \
                (t, i)


# -- value calls obey max_response_bytes -------------------------------------

def test_distinct_over_the_cap_raises_response_too_large(fn, db_url, hschema):
    pool = fn.Pool(db_url, max_size=1, acquire_timeout=10)
    repo = fn.Repository(pool, make_schema(fn), max_response_bytes=10000)
    view = f"{SCHEMA}.v_word"
    with pytest.raises(fn.ResponseTooLargeError) as err:
        repo.distinct(view, "word")
    assert err.value.code == "RESOURCE_EXHAUSTED"
    assert "max_response_bytes" in str(err.value)
    # Under the cap it works, and the pool is healthy.
    assert len(repo.distinct(view, "word", limit=10)) == 10
    assert repo.count(view) == 20000
    assert repo.sum(view, "id") == 20000 * 20001 // 2
    stats = pool.stats()
    assert stats["in_use"] == 0 and stats["waiting"] == 0, stats
