"""No session state of one caller reaches the next (issue 9, audit item 4).

Functions that change the session (set_config(..., false), SET ROLE,
SET search_path) are called through a view and through repo.mutate; then,
on a pool of one connection, the next call (with and without context) must
see the startup state: no app.tenant_id, the login role, the default
search_path. Directly and through PgBouncer in transaction pooling mode
(where the server connection is shared by every client).
"""
import json
import os
import pathlib
import subprocess

import psycopg
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CI = ROOT / "ci"
SCHEMA = f"fql_pytest_session_{os.getpid()}"
ROLE = f"fql_pytest_session_role_{os.getpid()}"


def run_ci(*args):
    proc = subprocess.run([str(CI / args[0]), *args[1:]], capture_output=True,
                          text=True, timeout=180)
    if proc.returncode != 0:
        pytest.fail(f"`ci/{' '.join(args)}` failed (exit {proc.returncode}):\n"
                    f"{proc.stderr}{proc.stdout}")
    lines = proc.stdout.strip().splitlines()
    return lines[-1] if lines else ""


@pytest.fixture(scope="module")
def urls():
    """{"direct": url, "pgbouncer": url} with this module's objects."""
    was_running = subprocess.run([str(CI / "pgbouncer"), "status"],
                                 capture_output=True).returncode == 0
    bouncer = run_ci("pgbouncer", "start")  # also starts the embedded server
    direct = run_ci("postgres", "url")
    with psycopg.connect(direct, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        conn.execute(f'DROP ROLE IF EXISTS "{ROLE}"')
        conn.execute(f'CREATE ROLE "{ROLE}"')
        conn.execute(f'GRANT "{ROLE}" TO CURRENT_USER')
        conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        conn.execute(f'GRANT USAGE ON SCHEMA "{SCHEMA}" TO "{ROLE}"')
        conn.execute(f"""
            CREATE TYPE "{SCHEMA}".mutation_response AS (
              status text, message text, entity_id text, entity_type text,
              entity jsonb, updated_fields text[], cascade jsonb,
              metadata jsonb)""")
        # What each poisoning function leaves on the session.
        bodies = {
            "config": "PERFORM set_config('app.tenant_id', 'A', false);",
            "role": f"SET ROLE \"{ROLE}\";",
            "path": "SET search_path = pg_catalog;",
        }
        for name, body in bodies.items():
            conn.execute(f"""
                CREATE FUNCTION "{SCHEMA}".poison_{name}() RETURNS int
                LANGUAGE plpgsql AS $$ BEGIN {body} RETURN 1; END $$""")
            conn.execute(f"""
                CREATE VIEW "{SCHEMA}".v_poison_{name} AS
                SELECT md5('{name}')::uuid AS id,
                       jsonb_build_object('id', md5('{name}')::uuid,
                         'done', "{SCHEMA}".poison_{name}()) AS data""")
        conn.execute(f"""
            CREATE FUNCTION "{SCHEMA}".poison_mutation(input jsonb)
            RETURNS "{SCHEMA}".mutation_response LANGUAGE plpgsql AS $$
            BEGIN
              PERFORM set_config('app.tenant_id', input->>'tenant', false);
              EXECUTE format('SET ROLE %I', input->>'role');
              SET search_path = pg_catalog;
              RETURN ROW('success', 'poisoned', NULL, NULL, NULL, NULL, NULL,
                         NULL)::"{SCHEMA}".mutation_response;
            END $$""")
        # What the next caller sees; readable under the role too, so that a
        # leftover role shows as a wrong value rather than an error.
        conn.execute(f"""
            CREATE VIEW "{SCHEMA}".v_probe AS
            SELECT md5('probe')::uuid AS id,
                   jsonb_build_object('id', md5('probe')::uuid,
                     'tenant', coalesce(current_setting('app.tenant_id', true),
                                        ''),
                     'role', current_user::text,
                     'path', current_setting('search_path')) AS data""")
        conn.execute(f'GRANT SELECT ON "{SCHEMA}".v_probe TO "{ROLE}"')
        user = conn.execute("SELECT current_user::text").fetchone()[0]
    yield {"direct": direct, "pgbouncer": bouncer, "user": user}
    with psycopg.connect(direct, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        # A leftover SET ROLE on a PgBouncer server connection would keep
        # the role in use: end those sessions first.
        conn.execute(f"""SELECT pg_terminate_backend(pid, 5000)
                         FROM pg_stat_activity WHERE current_user = '{ROLE}'
                         AND pid <> pg_backend_pid()""")
        conn.execute(f'DROP ROLE IF EXISTS "{ROLE}"')
    if not was_running:
        run_ci("pgbouncer", "stop")


@pytest.fixture(scope="module")
def schema(fn, urls):
    schema = fn.Schema()
    for name in ("config", "role", "path"):
        schema.add_view(f"{SCHEMA}.v_poison_{name}", f"Poison{name}",
                        {"id": "UUID", "done": "Int"},
                        columns={"id": "uuid", "data": "jsonb"})
    schema.add_view(f"{SCHEMA}.v_probe", "Probe",
                    {"id": "UUID", "tenant": "String", "role": "String",
                     "path": "String"},
                    columns={"id": "uuid", "data": "jsonb"})
    return schema


def probe(repo, context):
    body = repo.find(f"{SCHEMA}.v_probe", field="p",
                     selection="tenant role path", context=context)
    return json.loads(body)["data"]["p"][0]


def poison(repo, how, context):
    if how == "mutation":
        body = json.loads(repo.mutate(
            f"{SCHEMA}.poison_mutation", {"tenant": "A", "role": ROLE},
            field="poison", success_type="PoisonSuccess",
            error_type="PoisonError", success_selection="__typename message",
            error_selection="__typename message", context=context))
        assert body["data"]["poison"]["__typename"] == "PoisonSuccess", body
    else:
        body = json.loads(repo.find(f"{SCHEMA}.v_poison_{how}", field="x",
                                    selection="done", context=context))
        assert body["data"]["x"] == [{"done": 1}]


@pytest.mark.parametrize("mode", ["direct", "pgbouncer"])
@pytest.mark.parametrize("how", ["config", "role", "path", "mutation"])
@pytest.mark.parametrize("poison_context", [None, {"user_id": "p"}],
                         ids=["poison-no-context", "poison-context"])
def test_session_state_does_not_reach_the_next_call(fn, urls, schema, mode,
                                                    how, poison_context):
    pool = fn.Pool(urls[mode], min_size=0, max_size=1, acquire_timeout=10)
    repo = fn.Repository(pool, schema, pgbouncer=(mode == "pgbouncer"))
    clean = {"tenant": "", "role": urls["user"], "path": '"$user", public'}
    assert probe(repo, None) == clean
    for next_context in (None, {"user_id": "u"}):
        poison(repo, how, poison_context)
        assert probe(repo, next_context) == clean, (how, next_context)
    # A transaction starts from the startup state too.
    poison(repo, how, poison_context)
    with repo.transaction() as tx:
        body = json.loads(tx.find(f"{SCHEMA}.v_probe", field="p",
                                  selection="tenant role path"))
    assert body["data"]["p"][0] == clean
    stats = pool.stats()
    assert stats["in_use"] == 0 and stats["size"] == 1
