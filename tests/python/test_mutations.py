"""Mutations and transactions against a real server: a function taking JSONB
(and context arguments) returning mutation_response, committed on a success
status and rolled back on anything else; Repository.transaction() for
several statements at once. Every outcome is read back with psycopg."""
import json
import os
import uuid
from decimal import Decimal

import psycopg
import pytest

from servers import mutation_fixtures

SCHEMA = f"fql_pytest_mut_{os.getpid()}"
TENANT = "11111111-1111-1111-1111-111111111111"


@pytest.fixture(scope="module")
def mschema(db_url):
    yield from mutation_fixtures(db_url, SCHEMA)


@pytest.fixture(scope="module")
def mrepo(fn, pool, mschema):
    schema = fn.Schema()
    schema.add_view(f"{mschema}.v_account", "Account",
                    {"id": "UUID", "name": "String", "email": "String",
                     "balance": "Decimal", "created_by": "String",
                     "tenant_id": "UUID", "current_tenant": "String"},
                    columns={"id": "uuid", "tenant_id": "uuid", "data": "jsonb"})
    return fn.Repository(pool, schema)


@pytest.fixture
def db(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


def accounts(db, account_id):
    return db.execute(f'SELECT data FROM "{SCHEMA}".tb_account WHERE id = %s',
                      (account_id,)).fetchall()


def audits(db, account_id):
    return db.execute(f'SELECT count(*) FROM "{SCHEMA}".tb_audit '
                      "WHERE action = %s", (f"create {account_id}",)).fetchone()[0]


def create(mrepo, payload, **kwargs):
    args = dict(field="createAccount", success_type="CreateAccountSuccess",
                error_type="CreateAccountError", entity_field="account",
                entity_type="Account", context_args=["tenant_id", "user_id"],
                context={"tenant_id": TENANT, "user_id": "alice"})
    args.update(kwargs)
    return mrepo.mutate(f"{SCHEMA}.create_account", payload, **args)


SUCCESS_SEL = "__typename status message account { id name balance createdBy currentTenant __typename } updatedFields cascade metadata"
ERROR_SEL = "__typename code status message metadata"


def test_success_commits_and_writes_the_success_type(mrepo, db):
    account_id = str(uuid.uuid4())
    body = create(mrepo, {"id": account_id, "name": 'Zoë "Q" \\ Ünï',
                          "email": "z@example.com", "balance": Decimal("100.50")},
                  success_selection=SUCCESS_SEL, error_selection=ERROR_SEL)
    stored = accounts(db, account_id)
    assert len(stored) == 1
    data = stored[0][0]
    assert data["created_by"] == "alice"
    assert data["tenant_id"] == TENANT
    # The context travels as SET LOCAL: the function saw app.tenant_id.
    assert data["current_tenant"] == TENANT
    expected = (
        '{"data":{"createAccount":{"__typename":"CreateAccountSuccess",'
        '"status":"created","message":"account created","account":{'
        f'"id":"{account_id}","name":' + json.dumps(data["name"], ensure_ascii=False)
        + ',"balance":100.50,"createdBy":"alice",'
        f'"currentTenant":"{TENANT}","__typename":"Account"}},'
        '"updatedFields":["name","email"],"cascade":{"counts":1},'
        '"metadata":{"source_key":"kept_as_is"}}}}')
    assert body.decode() == expected


@pytest.mark.parametrize("status,code", [
    ("noop:already_there", 422), ("validation:email", 422),
    ("unauthorized:token", 401), ("forbidden:role", 403),
    ("not_found:owner", 404), ("conflict:version", 409),
    ("timeout:lock", 408), ("failed:internal", 500), ("weird", 500),
])
def test_error_status_rolls_back_and_writes_the_error_type(mrepo, db, status,
                                                           code):
    account_id = str(uuid.uuid4())
    body = create(mrepo, {"id": account_id, "name": "n", "status": status},
                  success_selection=SUCCESS_SEL, error_selection=ERROR_SEL)
    # The function inserted the account and an audit row before returning
    # the error status: both are gone.
    assert accounts(db, account_id) == []
    assert audits(db, account_id) == 0
    assert json.loads(body) == {"data": {"createAccount": {
        "__typename": "CreateAccountError", "code": code, "status": status,
        "message": "account created",
        "metadata": {"source_key": "kept_as_is"}}}}


@pytest.mark.parametrize("status", ["success", "created", "updated",
                                    "deleted", "updated:partial"])
def test_success_statuses_commit(mrepo, db, status):
    account_id = str(uuid.uuid4())
    body = json.loads(create(mrepo, {"id": account_id, "name": "n",
                                     "status": status}))
    assert len(accounts(db, account_id)) == 1
    assert body["data"]["createAccount"]["status"] == status


def test_conflict_from_the_function(mrepo, db):
    account_id = str(uuid.uuid4())
    create(mrepo, {"id": account_id, "name": "first"})
    body = json.loads(create(mrepo, {"id": account_id, "name": "second"},
                             error_selection="code message metadata",
                             success_selection="status"))
    assert body == {"data": {"createAccount": {
        "code": 409, "message": "an account with this id exists",
        "metadata": {"conflicting_id": account_id}}}}
    assert [r[0]["name"] for r in accounts(db, account_id)] == ["first"]
    assert audits(db, account_id) == 1  # the second attempt's was undone


def test_without_selection_every_field_is_written(mrepo):
    account_id = str(uuid.uuid4())
    body = json.loads(create(mrepo, {"id": account_id, "name": "all_fields"}))
    out = body["data"]["createAccount"]
    assert list(out) == ["status", "message", "entityId", "entityType",
                         "account", "updatedFields", "cascade", "metadata"]
    assert out["entityId"] == account_id
    assert out["account"]["createdBy"] == "alice"  # camelCased


def test_raising_function_rolls_back_and_raises(fn, mrepo, db, pool):
    account_id = str(uuid.uuid4())
    with pytest.raises(fn.DatabaseError) as err:
        create(mrepo, {"id": account_id, "name": "raise"})
    assert "create_account refused the name" in str(err.value)
    assert err.value.sqlstate == "P0001"
    assert audits(db, account_id) == 0
    # The pool is healthy: the next call works.
    assert json.loads(create(mrepo, {"id": str(uuid.uuid4()), "name": "ok"}))


def test_missing_context_argument_is_named(fn, mrepo):
    with pytest.raises(fn.InvalidInputError, match="context has no user_id"):
        create(mrepo, {"id": str(uuid.uuid4()), "name": "x"},
               context={"tenant_id": TENANT})


def test_bad_inputs_are_rejected_before_sending(fn, mrepo):
    with pytest.raises(fn.InvalidInputError, match="expected a JSON object"):
        create(mrepo, "[1, 2]")
    with pytest.raises(fn.InvalidInputError, match="invalid input"):
        create(mrepo, "{bad json")
    with pytest.raises(fn.InvalidInputError, match="invalid function name"):
        mrepo.mutate('x"; DROP TABLE y; --', {}, success_type="A",
                     error_type="B")
    with pytest.raises(fn.InvalidInputError, match="has no field 'nope'"):
        create(mrepo, {"id": str(uuid.uuid4())}, success_selection="nope")
    with pytest.raises(fn.InvalidInputError, match="unknown field 'nope' at .*account.nope on type Account"):
        create(mrepo, {"id": str(uuid.uuid4())},
               success_selection="account { nope }")


def test_not_found_status_and_no_row(fn, mrepo):
    body = json.loads(mrepo.mutate(
        f"{SCHEMA}.rename_account", {"id": str(uuid.uuid4()), "name": "x"},
        field="renameAccount", success_type="RenameSuccess",
        error_type="RenameError", entity_field="account",
        entity_type="Account", error_selection="__typename code status"))
    assert body == {"data": {"renameAccount": {
        "__typename": "RenameError", "code": 404,
        "status": "not_found:account"}}}
    with pytest.raises(fn.DatabaseError, match="returned no row; rolled back"):
        mrepo.mutate(f"{SCHEMA}.no_row", {}, success_type="A", error_type="B")


# Transactions.

def test_transaction_commits_several_mutations_at_once(mrepo, db):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    with mrepo.transaction(context={"tenant_id": TENANT, "user_id": "bob"}) as tx:
        create(tx, {"id": a, "name": "a"}, context=None)
        create(tx, {"id": b, "name": "b"}, context=None)
        # Visible inside, not outside, before the commit.
        inside = json.loads(tx.find(f"{SCHEMA}.v_account",
                                    where={"id": {"in": [a, b]}},
                                    selection="name", order_by=[{"name": "ASC"}]))
        assert inside == {"data": {"v_account": [{"name": "a"}, {"name": "b"}]}}
        assert accounts(db, a) == []
    assert len(accounts(db, a)) == 1 and len(accounts(db, b)) == 1
    assert accounts(db, a)[0][0]["created_by"] == "bob"
    assert not tx.open


def test_exception_in_the_block_rolls_everything_back(mrepo, db):
    a = str(uuid.uuid4())
    with pytest.raises(RuntimeError):
        with mrepo.transaction(context={"tenant_id": TENANT,
                                        "user_id": "bob"}) as tx:
            create(tx, {"id": a, "name": "a"}, context=None)
            raise RuntimeError("the caller changed its mind")
    assert accounts(db, a) == []
    assert audits(db, a) == 0


def test_error_status_in_a_transaction_undoes_only_that_mutation(mrepo, db):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    with mrepo.transaction(context={"tenant_id": TENANT, "user_id": "bob"}) as tx:
        create(tx, {"id": a, "name": "a"}, context=None)
        body = json.loads(create(tx, {"id": b, "name": "b",
                                      "status": "validation:name"},
                                 context=None))
        assert body["data"]["createAccount"]["code"] == 422
    assert len(accounts(db, a)) == 1
    assert accounts(db, b) == [] and audits(db, b) == 0


def test_failed_statement_aborts_the_transaction(fn, mrepo, db):
    a = str(uuid.uuid4())
    tx = mrepo.transaction(context={"tenant_id": TENANT, "user_id": "bob"})
    create(tx, {"id": a, "name": "a"}, context=None)
    with pytest.raises(fn.DatabaseError):
        # A raising function: its savepoint is rolled back, the rest stays.
        create(tx, {"id": str(uuid.uuid4()), "name": "raise"}, context=None)
    tx.commit()
    assert len(accounts(db, a)) == 1

    for first in (True, False):
        tx = mrepo.transaction()
        if not first:
            tx.count(f"{SCHEMA}.v_account")
        with pytest.raises(fn.DatabaseError):
            tx.count(f"{SCHEMA}.v_account",
                     where={"balance": {"gt": "1e999999"}})
        with pytest.raises(fn.TransactionError, match="aborted"):
            tx.count(f"{SCHEMA}.v_account")
        tx.rollback()
        assert not tx.open
    tx = mrepo.transaction()
    with pytest.raises(fn.DatabaseError):
        tx.count(f"{SCHEMA}.v_account", where={"balance": {"gt": "1e999999"}})
    with pytest.raises(fn.TransactionError, match="aborted"):
        tx.count(f"{SCHEMA}.v_account")
    with pytest.raises(fn.TransactionError, match="rolled back"):
        tx.commit()
    assert not tx.open
    with pytest.raises(fn.TransactionError, match="already ended"):
        tx.rollback()


def test_context_is_per_transaction(fn, mrepo, db):
    create(mrepo, {"id": str(uuid.uuid4()), "name": "counted"})
    stored = db.execute(f'SELECT count(*) FROM "{SCHEMA}".tb_account'
                        ).fetchone()[0]
    assert stored > 0
    with mrepo.transaction(context={"tenant_id": TENANT}) as tx:
        with pytest.raises(fn.InvalidInputError, match="context variables"):
            tx.count(f"{SCHEMA}.v_account", context={"user_id": "x"})
        # A timeout alone is fine: it is the call's deadline.
        assert tx.count(f"{SCHEMA}.v_account", timeout=5) == stored


def test_transaction_options(fn, mrepo, db):
    a = str(uuid.uuid4())
    with pytest.raises(fn.DatabaseError) as err:
        with mrepo.transaction(read_only=True,
                               context={"tenant_id": TENANT,
                                        "user_id": "r"}) as tx:
            create(tx, {"id": a, "name": "a"}, context=None)
    assert err.value.sqlstate == "25006"  # read-only transaction
    assert accounts(db, a) == []
    with pytest.raises(ValueError, match="isolation"):
        mrepo.transaction(isolation="chaos")
    with mrepo.transaction(isolation="serializable") as tx:
        assert tx.run("SELECT current_setting('transaction_isolation') "
                      "AS isolation") == [{"isolation": "serializable"}]
        assert tx.exists(f"{SCHEMA}.v_account") is bool(db.execute(
            f'SELECT count(*) FROM "{SCHEMA}".tb_account').fetchone()[0])


def test_abandoned_transaction_rolls_back_and_frees_its_connection(fn, mrepo, db, pool):
    a = str(uuid.uuid4())
    tx = mrepo.transaction(context={"tenant_id": TENANT, "user_id": "gc"})
    create(tx, {"id": a, "name": "a"}, context=None)
    del tx
    import gc
    gc.collect()
    assert accounts(db, a) == []
    assert pool.stats()["in_use"] == 0


def test_a_timeout_in_a_transaction_undoes_only_that_mutation(fn, mrepo, db):
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    tx = mrepo.transaction(context={"tenant_id": TENANT, "user_id": "t"})
    create(tx, {"id": a, "name": "a"}, context=None)
    with pytest.raises(fn.QueryTimeoutError):
        create(tx, {"id": b, "name": "b", "sleep": 5}, context=None,
               timeout=0.3)
    # Its savepoint was rolled back although its deadline had passed.
    create(tx, {"id": c, "name": "c"}, context=None)
    tx.commit()
    assert len(accounts(db, a)) == 1 and len(accounts(db, c)) == 1
    assert accounts(db, b) == [] and audits(db, b) == 0


def test_a_stream_open_on_a_transaction_makes_it_busy_not_hung(fn, mrepo, db):
    with psycopg.connect(db.info.dsn, autocommit=True) as conn:
        for i in range(40):
            conn.execute(f'INSERT INTO "{SCHEMA}".tb_account VALUES '
                         "(%s, %s, 'seed', jsonb_build_object('name', %s::text))",
                         (str(uuid.uuid4()), TENANT, f"seed {i}"))
    with pytest.raises(fn.TransactionError, match="busy"):
        with mrepo.transaction() as tx:
            it = tx.find_stream(f"{SCHEMA}.v_account", selection="name",
                                chunk_bytes=1)
            assert next(it).startswith(b'{"data":{"v_account":[')
            # The stream holds the transaction's connection: other calls
            # fail at once instead of waiting for it.
            with pytest.raises(fn.TransactionError, match="busy"):
                tx.count(f"{SCHEMA}.v_account")
            assert tx.open
    it.close()
    assert tx.open  # the commit in __exit__ was refused
    tx.rollback()
    assert not tx.open


def test_a_nested_transaction_that_failed_rolls_back_to_its_savepoint(
        fn, mrepo, db):
    a, c = str(uuid.uuid4()), str(uuid.uuid4())
    tx = mrepo.transaction(context={"tenant_id": TENANT, "user_id": "n"})
    create(tx, {"id": a, "name": "a"}, context=None)
    with pytest.raises(fn.TransactionError, match="rolled back to its savepoint"):
        with tx.transaction() as sp:
            with pytest.raises(fn.DatabaseError):
                sp.count(f"{SCHEMA}.v_account",
                         where={"balance": {"gt": "1e999999"}})
    # The outer transaction goes on.
    create(tx, {"id": c, "name": "c"}, context=None)
    tx.commit()
    assert len(accounts(db, a)) == 1 and len(accounts(db, c)) == 1
    with mrepo.transaction() as outer:
        with pytest.raises(fn.InvalidInputError, match="savepoint"):
            outer.transaction(isolation="serializable")


def test_server_errors_do_not_echo_the_value(fn, mrepo):
    secret = "not-a-uuid-but-a-secret"
    with pytest.raises(fn.DatabaseError) as err:
        create(mrepo, {"id": str(uuid.uuid4()), "name": "x"},
               context={"tenant_id": secret, "user_id": "u"})
    assert err.value.sqlstate == "22P02"
    assert "invalid input syntax for type uuid (value withheld)" in str(err.value)
    assert secret not in str(err.value)
