"""Recording traffic (fraiseql_native.parity.Recorder): one JSON line per
call in the traffic format of spec/parity.md, values redacted by path,
written whole from many threads."""
import datetime
import decimal
import io
import json
import threading

import pytest

from fraiseql_native import parity
from fraiseql_native.parity import calls as calls_mod

FIXED = datetime.datetime(2026, 1, 2, 3, 4, 5, 678000,
                          tzinfo=datetime.timezone.utc)


def lines_of(buf):
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_each_call_is_forwarded_and_written_as_one_line(repo, users):
    buf = io.StringIO()
    rec = parity.Recorder(repo, buf, clock=lambda: FIXED)
    kwargs = dict(field="users", where={"age": {"gte": 30}},
                  order_by=[{"id": "ASC"}], limit=3,
                  selection="id name: firstName")
    assert rec.find(users, **kwargs) == repo.find(users, **kwargs)
    assert rec.count(users, where='{"age": {"lt": 40}}',
                     context={"tenant_id": "t1"}) == \
        repo.count(users, where={"age": {"lt": 40}})
    assert rec.max(users, "age") == repo.max(users, "age")
    lines = lines_of(buf)
    assert len(lines) == 3 == rec.recorded
    first = lines[0]
    assert set(first) == {"v", "call", "args", "latency_ms", "outcome", "ts"}
    assert first["v"] == 1 and first["call"] == "find"
    assert first["args"] == {"view": users, **kwargs}
    assert first["outcome"] == "ok"
    assert first["ts"] == "2026-01-02T03:04:05.678000Z"
    assert first["latency_ms"] > 0
    # JSON text arguments are written as JSON values; context as given.
    assert lines[1]["args"] == {"view": users, "where": {"age": {"lt": 40}}}
    assert lines[1]["context"] == {"tenant_id": "t1"}
    assert lines[2]["args"] == {"view": users, "field": "age"}


def test_decimals_keep_their_digits(repo, users):
    buf = io.StringIO()
    rec = parity.Recorder(repo, buf)
    big = decimal.Decimal("12345678901234567.89")
    rec.count(users, where={"balance": {"gte": big}})
    text = buf.getvalue()
    assert '"gte":12345678901234567.89' in text
    replayed = json.loads(text, parse_float=decimal.Decimal)
    assert replayed["args"]["where"]["balance"]["gte"] == big


def test_values_are_redacted_by_path(repo, users):
    buf = io.StringIO()
    rec = parity.Recorder(repo, buf, redact=[
        "args.where.email.eq", "context.user_id",
        "args.where.OR[*].firstName"])
    rec.find(users, field="users", selection="id",
             where={"email": {"eq": "secret@example.com"},
                    "OR": [{"firstName": {"eq": "Ann"}},
                            {"age": {"gt": 3}}]},
             context={"user_id": "u-42", "tenant_id": "t-1"})
    line = lines_of(buf)[0]
    assert "secret@example.com" not in buf.getvalue()
    assert "u-42" not in buf.getvalue() and "Ann" not in buf.getvalue()
    assert line["args"]["where"] == {
        "email": {"eq": "<redacted>"},
        "OR": [{"firstName": "<redacted>"}, {"age": {"gt": 3}}]}
    assert line["context"] == {"user_id": "<redacted>", "tenant_id": "t-1"}
    with pytest.raises(ValueError):
        parity.Recorder(repo, io.StringIO(), redact=["args..where"])


def test_errors_are_recorded_and_raised_unchanged(fn, repo, users):
    buf = io.StringIO()
    rec = parity.Recorder(repo, buf)
    with pytest.raises(fn.InvalidInputError):
        rec.find(users, where={"no_such_field": {"eq": 1}})
    line = lines_of(buf)[0]
    assert line["outcome"] == "InvalidInputError"
    assert line["args"]["where"] == {"no_such_field": {"eq": 1}}


def test_execute_writes_the_query_definition_as_protobuf_json(repo, users):
    query_pb2 = calls_mod.query_pb2()
    q = query_pb2.QueryDefinition()
    root = q.roots.add()
    root.response_key = "people"
    root.view = users
    root.is_list = True
    root.where_json = '{"age": {"gte": 18}}'
    root.order_by_json = '[{"id": "ASC"}]'
    root.limit = 2
    root.has_selection = True
    sel = root.selection.add()
    sel.response_key = "who"
    sel.field_name = "firstName"
    raw = q.SerializeToString()
    buf = io.StringIO()
    rec = parity.Recorder(repo, buf)
    assert rec.execute(raw) == repo.execute(raw)
    line = lines_of(buf)[0]
    assert line["call"] == "execute"
    assert set(line["args"]) == {"query"}
    assert line["args"]["query"]["roots"][0]["responseKey"] == "people"
    # Replay turns it back into the same message.
    back = calls_mod.call_args("execute", line["args"])["query_definition"]
    again = query_pb2.QueryDefinition()
    again.ParseFromString(back)
    assert again == q


def test_a_stream_is_written_when_its_body_ends(repo, users):
    buf = io.StringIO()
    rec = parity.Recorder(repo, buf)
    kwargs = dict(field="users", order_by=[{"id": "ASC"}], limit=20,
                  selection="id email")
    pieces = rec.find_stream(users, chunk_bytes=64, **kwargs)
    first = next(pieces)
    assert buf.getvalue() == ""          # not yet: the body is not read
    body = first + b"".join(pieces)
    assert body == repo.find(users, **kwargs)
    line = lines_of(buf)[0]
    assert line["call"] == "find_stream" and line["outcome"] == "ok"
    assert line["args"]["chunk_bytes"] == 64


def test_lines_are_whole_when_many_threads_record(repo, users, tmp_path):
    path = tmp_path / "traffic.jsonl"
    threads, per_thread = 8, 25
    with parity.Recorder(repo, str(path)) as rec:
        def work(n):
            for i in range(per_thread):
                rec.count(users, where={"age": {"gte": n * 100 + i}})
        pool = [threading.Thread(target=work, args=(n,))
                for n in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == threads * per_thread
    seen = sorted(line["args"]["where"]["age"]["gte"] for line in lines)
    assert seen == sorted(n * 100 + i for n in range(threads)
                          for i in range(per_thread))


class _Seconds:
    def __float__(self):
        return 30.0


class _FailingFile:
    def write(self, text):
        raise OSError("disk full")

    def flush(self):
        pass


def test_recording_failures_never_reach_the_caller(fn, repo, users, caplog):
    caplog.set_level("WARNING", logger="fraiseql_native.parity")
    expected = repo.count(users)
    # A value the call takes but JSON cannot write (a timeout that is an
    # object with __float__).
    buf = io.StringIO()
    rec = parity.Recorder(repo, buf)
    assert rec.count(users, timeout=_Seconds()) == expected
    assert rec.stats() == {"recorded": 0, "record_errors": 1}
    assert buf.getvalue() == ""
    # A file that cannot be written.
    broken = parity.Recorder(repo, _FailingFile())
    assert broken.count(users) == expected
    assert broken.record_errors == 1
    # A closed recorder: the call still returns its result...
    rec.close()
    assert rec.count(users) == expected
    with rec.find_stream(users, field="users", limit=2,
                         selection="id") as pieces:
        assert b"".join(pieces)
    # ...and a failing call raises its own exception, unchanged.
    with pytest.raises(fn.InvalidInputError) as raised:
        rec.find(users, where={"no_such_field": {"eq": 1}})
    assert raised.value.__context__ is None
    assert rec.stats() == {"recorded": 0, "record_errors": 4}
    assert len([r for r in caplog.records
                if "cannot record" in r.getMessage()]) == 5

