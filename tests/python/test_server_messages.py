"""Server error messages never carry the caller's input (issue 9, audit item
8): whatever the SQLSTATE class and wherever the server quotes the input
(`time zone "…" not recognized`, `syntax error in tsquery: "…"`, jsonpath
syntax errors), the quoted text is withheld from the DatabaseError.

Each case sends a value that reaches the server and fails there; the
message must name the kind of error and contain no part of the value.
"""
import os

import psycopg
import pytest

from sample_registry import register_sample

SCHEMA = f"fql_pytest_messages_{os.getpid()}"
# Quotes inside: the server does not escape them in what it quotes.
SECRET = 'Secret/Zone & "x" ('


@pytest.fixture(scope="module")
def repo(fn, db_url):
    import subprocess
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[2]
    subprocess.run([str(root / "ci" / "sample-data"), "--rows", "20",
                    "--schema", SCHEMA, "--url", db_url],
                   check=True, stdout=subprocess.DEVNULL)
    with psycopg.connect(db_url, autocommit=True) as conn:
        # Views that feed a context value to the server where it is parsed.
        conn.execute(f"""
            CREATE VIEW "{SCHEMA}".v_zone AS
            SELECT md5('z')::uuid AS id,
                   jsonb_build_object('id', md5('z')::uuid, 'at',
                     (timestamptz '2024-01-01 00:00Z'
                        AT TIME ZONE current_setting('app.zone', true))::text)
                     AS data""")
        conn.execute(f"""
            CREATE VIEW "{SCHEMA}".v_number AS
            SELECT md5('n')::uuid AS id,
                   jsonb_build_object('id', md5('n')::uuid, 'n',
                     current_setting('app.number', true)::int) AS data""")
    schema = register_sample(fn, SCHEMA)
    schema.add_view(f"{SCHEMA}.v_zone", "Zone", {"id": "UUID", "at": "String"},
                    columns={"id": "uuid", "data": "jsonb"})
    schema.add_view(f"{SCHEMA}.v_number", "Number", {"id": "UUID", "n": "Int"},
                    columns={"id": "uuid", "data": "jsonb"})
    pool = fn.Pool(db_url, max_size=1)
    yield fn.Repository(pool, schema)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


CASES = [
    # (id, view, kwargs, sqlstate, message start)
    ("tsquery", "v_post", dict(where={"searchTsv": {"matches": SECRET}}),
     "42601", "query failed: syntax error in tsquery (value withheld)"),
    ("jsonpath", "v_user",
     dict(where={"preferences": {"pathExists": "$ ! " + SECRET.replace('"', "")
                                 .replace("(", "")}}),
     "42601",
     "query failed: syntax error at or near (value withheld) of jsonpath "
     "input"),
    ("regex", "v_user", dict(where={"lastName": {"matches": "(" + SECRET}}),
     "2201B", "query failed: invalid regular expression"),
    ("time zone", "v_zone", dict(context={"app.zone": SECRET}),
     "22023", "query failed: time zone (value withheld) not recognized"),
    ("integer", "v_number", dict(context={"app.number": SECRET}),
     "22P02",
     "query failed: invalid input syntax for type integer (value withheld)"),
]


@pytest.mark.parametrize("view,kwargs,sqlstate,start",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_server_message_withholds_the_input(fn, repo, view, kwargs, sqlstate,
                                            start):
    with pytest.raises(fn.DatabaseError) as err:
        repo.find(f"{SCHEMA}.{view}", selection="id", **kwargs)
    message = str(err.value)
    assert err.value.sqlstate == sqlstate, message
    assert message.startswith(start), message
    assert "Secret" not in message
    assert "Zone" not in message
    assert '"x"' not in message and "x\"" not in message
    # The failed call left the pool healthy.
    assert repo.count(f"{SCHEMA}.v_user") == 20
