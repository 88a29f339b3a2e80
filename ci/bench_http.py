"""ci/bench-http's peer benchmark over HTTP (run by ci/bench-http; see
docs/bench.md, "GraphQL over HTTP against PostGraphile").

Two servers on loopback over the same data (ci/bench_http_data.sql):
  ours    examples/graphql_app (Starlette on uvicorn, uvloop + httptools,
          one process) serving the JSONB views v_user, v_post, v_comment
          through fraiseql_native.gql (ci/bench_http_registry.py)
  theirs  PostGraphile (npm, in .bench-http/, one Node process) serving the
          tables users, posts, comments
and one load generator for both, autocannon (npm): POST JSON bodies, the
same connections and duration, interleaved (ours, theirs, ours, theirs ...)
after a warm-up of each. Both servers get the same PostgreSQL pool size.

Before any timing, each query's responses are compared after mapping
PostGraphile's field names to ours (allUsersList -> users, userByAuthorId
-> author, ...): same keys in the same order, same values (timestamps
compared as instants); the run stops with the first difference otherwise.

Where our time goes, measured beside the servers:
  http floor  the same uvicorn serving a trivial ASGI app that reads the
              request and returns a fixed body (the size of query `users`'s
              response): what the HTTP layer alone allows
  in-process  `await engine.execute(...)` in a loop, no HTTP: one at a time
              (latency) and from as many tasks as connections (throughput);
              `engine.prepare` of a cached document (the compile cache) and
              the same query through AsyncRepository.find (the core alone)

The last line of stdout is one JSON object of figures; everything else is
for people.
"""
import argparse
import asyncio
import collections
import datetime
import hashlib
import http.client
import json
import os
import pathlib
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA_SQL = ROOT / "ci" / "bench_http_data.sql"
NPM_DIR = ROOT / ".bench-http"
NODE_BIN = NPM_DIR / "node_modules" / ".bin"
POSTGRAPHILE_VERSION = "4.14.1"
AUTOCANNON_VERSION = "9.0.0"
PSQL = "/usr/bin/psql"
PYTHON = "/usr/bin/python3"

TARGET_RPS = 1.5  # ours at least 1.5x PostGraphile's rps on every query

DEFAULT_SIZES = dict(users=10000, posts=50000, comments=200000)


def log(msg):
    print(f"bench-http: {msg}", file=sys.stderr, flush=True)


def fail(msg):
    log(f"FAILED: {msg}")
    sys.exit(1)


# --- Queries ----------------------------------------------------------------

# One query, as each side spells it. `view`, `field` and `find` describe the
# same query for AsyncRepository.find (the in-process core measurement).
Query = collections.namedtuple(
    "Query", "key title ours theirs variables view field find")

# PostGraphile's names (default inflection, --simple-collections both) ->
# ours (the SDL contract: lowerFirst(plural(T)), lowerFirst(T), view fields).
RENAME = {
    "allUsersList": "users",
    "allPostsList": "posts",
    "allCommentsList": "comments",
    "userById": "user",
    "userByAuthorId": "author",
    "postByPostId": "post",
}


def user_id(users):
    """The uuid of the user that query `user` looks up: row 4242 of
    ci/bench_http_data.sql's row_uuid('user', i), or the middle row of a
    smaller table."""
    i = 4242 if users >= 4242 else max(1, users // 2)
    return str(uuid.UUID(hashlib.md5(f"bench_http:user:{i}".encode()).hexdigest()))


def queries(users):
    author = "id username fullName"
    return [
        Query("users", "20 users, 3 fields",
              "{ users(orderBy: [{id: ASC}], limit: 20) { id username fullName } }",
              "{ allUsersList(orderBy: PRIMARY_KEY_ASC, first: 20) "
              "{ id username fullName } }",
              None, "v_user", "users",
              dict(selection="id username fullName",
                   order_by=[{"id": "ASC"}], limit=20)),
        Query("comments", "20 comments with their author and post",
              "{ comments(orderBy: [{id: ASC}], limit: 20) { id body createdAt "
              f"author {{ {author} }} post {{ id title }} }} }}",
              "{ allCommentsList(orderBy: PRIMARY_KEY_ASC, first: 20) { id body "
              f"createdAt userByAuthorId {{ {author} }} postByPostId {{ id title }} }} }}",
              None, "v_comment", "comments",
              dict(selection=f"id body createdAt author {{ {author} }} "
                             "post { id title }",
                   order_by=[{"id": "ASC"}], limit=20)),
        Query("user", "one user by id (a variable)",
              "query UserById($id: UUID!) { user(id: $id) "
              "{ id username fullName email createdAt } }",
              "query UserById($id: UUID!) { userById(id: $id) "
              "{ id username fullName email createdAt } }",
              {"id": user_id(users)}, "v_user", "user",
              dict(selection="id username fullName email createdAt",
                   where={"id": {"eq": user_id(users)}}, one=True)),
        Query("published", "10 published posts (a filter)",
              "{ posts(where: {isPublished: {eq: true}}, orderBy: [{id: ASC}], "
              "limit: 10) { id title publishedAt } }",
              "{ allPostsList(condition: {isPublished: true}, "
              "orderBy: PRIMARY_KEY_ASC, first: 10) { id title publishedAt } }",
              None, "v_post", "posts",
              dict(selection="id title publishedAt",
                   where={"isPublished": {"eq": True}},
                   order_by=[{"id": "ASC"}], limit=10)),
        Query("big", "1,000 posts with their author",
              "{ posts(orderBy: [{id: ASC}], limit: 1000) { id title "
              f"isPublished publishedAt author {{ {author} }} }} }}",
              "{ allPostsList(orderBy: PRIMARY_KEY_ASC, first: 1000) { id title "
              f"isPublished publishedAt userByAuthorId {{ {author} }} }} }}",
              None, "v_post", "posts",
              dict(selection=f"id title isPublished publishedAt "
                             f"author {{ {author} }}",
                   order_by=[{"id": "ASC"}], limit=1000)),
    ]


def request_body(text, variables):
    body = {"query": text}
    if variables is not None:
        body["variables"] = variables
    return json.dumps(body, separators=(",", ":"))


# --- Equivalence ------------------------------------------------------------

def renamed(value):
    """PostGraphile's response with its field names mapped to ours."""
    if isinstance(value, dict):
        return {RENAME.get(k, k): renamed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v) for v in value]
    return value


def _instant(text):
    """A timestamp string as an aware datetime, else None."""
    if not isinstance(text, str) or len(text) < 19 or text[10] != "T":
        return None
    try:
        t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def first_difference(ours, theirs, path="$"):
    """None when the two decoded responses are equivalent: the same keys in
    the same order, equal values, strings that are both timestamps equal
    as instants; else (path, our value, their value)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        if list(ours) != list(theirs):
            return (path + " (keys)", list(ours), list(theirs))
        for k in ours:
            d = first_difference(ours[k], theirs[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return (path + " (length)", len(ours), len(theirs))
        for i, (a, b) in enumerate(zip(ours, theirs)):
            d = first_difference(a, b, f"{path}[{i}]")
            if d:
                return d
        return None
    if type(ours) is not type(theirs):
        return (path, ours, theirs)
    if ours != theirs:
        a, b = _instant(ours), _instant(theirs)
        if a is None or b is None or a != b:
            return (path, ours, theirs)
    return None


def check_equivalent(query, ours_body, theirs_body):
    """Raises SystemExit (the run fails) unless both responses hold data,
    no errors, a non-empty root, and the same data after renaming."""
    for side, body in (("ours", ours_body), ("PostGraphile", theirs_body)):
        try:
            doc = json.loads(body)
        except ValueError as e:
            fail(f"query {query.key}: {side} answered no JSON ({e}): "
                 f"{body[:300]!r}")
        if doc.get("errors") or not isinstance(doc.get("data"), dict):
            fail(f"query {query.key}: {side} answered errors: "
                 f"{body[:500].decode(errors='replace')}")
        root = next(iter(doc["data"].values()), None)
        if not root:
            fail(f"query {query.key}: {side}'s root field is empty "
                 f"({root!r}): the comparison would prove nothing")
    ours = json.loads(ours_body)
    theirs = renamed(json.loads(theirs_body))
    d = first_difference(ours, theirs)
    if d:
        fail(f"query {query.key}: the responses differ at {d[0]}: "
             f"ours {d[1]!r}, PostGraphile (renamed) {d[2]!r}")
    root = next(iter(ours["data"].values()))
    return len(root) if isinstance(root, list) else 1


# --- Servers ----------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, path, body, timeout=30.0):
    """(status, response bytes) of one POST on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body=body.encode(),
                     headers={"content-type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Server:
    """A server process we started, in its own process group; stop() ends
    that group only."""

    def __init__(self, name, cmd, env, port, log_path):
        self.name, self.port, self.log_path = name, port, log_path
        self.log_file = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT,
                                     stdout=self.log_file,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, probe_body, deadline_s=60.0):
        """Waits until a POST of probe_body to /graphql answers 200."""
        deadline = time.monotonic() + deadline_s
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail(f"{self.name} exited with status {self.proc.returncode} "
                     f"while starting; its log, {self.log_path}:\n"
                     f"{self.log_tail()}")
            try:
                status, body = post(self.port, "/graphql", probe_body, 5.0)
                if status == 200:
                    return
                last = f"HTTP {status}: {body[:200]!r}"
            except OSError as e:
                last = str(e)
            time.sleep(0.1)
        fail(f"{self.name} did not answer on 127.0.0.1:{self.port} within "
             f"{deadline_s:.0f} s (last: {last}); its log:\n{self.log_tail()}")

    def log_tail(self):
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def cpu_seconds(self):
        """User + system CPU seconds of the server process so far."""
        cpu = _proc_cpu_seconds(self.proc.pid)
        return float("nan") if cpu is None else cpu

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log_file.close()


def start_postgraphile(url, schema, pool_size, log_dir):
    port = free_port()
    cmd = [str(NODE_BIN / "postgraphile"), "-c", url, "-s", schema,
           "--simple-collections", "both", "--disable-query-log",
           "--disable-graphiql", "--host", "127.0.0.1", "--port", str(port),
           "--max-pool-size", str(pool_size)]
    env = dict(os.environ, NODE_ENV="production")
    return Server("PostGraphile", cmd, env, port, log_dir / "postgraphile.log")


def app_env(url, schema, pool_size):
    path = [str(ROOT / "bazel-bin" / "pybind"), str(ROOT / "ci"),
            str(ROOT / "tests" / "fixtures"), str(ROOT)]
    return dict(os.environ, PYTHONPATH=":".join(path),
                FRAISEQL_DATABASE_URL=url, FRAISEQL_SCHEMA=schema,
                FRAISEQL_REGISTRY="bench_http_registry:register",
                FRAISEQL_MUTATIONS="bench_http_registry:MUTATIONS",
                FRAISEQL_POOL_SIZE=str(pool_size))


def uvicorn_cmd(app, port, factory):
    return [PYTHON, "-m", "uvicorn", *(["--factory"] if factory else []), app,
            "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
            "--http", "httptools", "--no-access-log", "--log-level", "warning"]


def start_ours(url, schema, pool_size, log_dir):
    port = free_port()
    return Server("our app", uvicorn_cmd("examples.graphql_app.app:create_app",
                                         port, True),
                  app_env(url, schema, pool_size), port, log_dir / "app.log")


def start_floor(body_bytes, log_dir):
    port = free_port()
    env = app_env("", "", 1)
    env["BENCH_HTTP_FLOOR_BODY"] = body_bytes.decode()
    return Server("the HTTP floor", uvicorn_cmd("bench_http:floor_app", port,
                                                False),
                  env, port, log_dir / "floor.log")


async def floor_app(scope, receive, send):
    """The HTTP floor: reads the request, answers a fixed JSON body."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(_FLOOR_BODY)).encode())]})
    await send({"type": "http.response.body", "body": _FLOOR_BODY})


_FLOOR_BODY = os.environ.get("BENCH_HTTP_FLOOR_BODY",
                             '{"data":{"ok":true}}').encode()


# --- Load -------------------------------------------------------------------

def autocannon(port, body, connections, duration):
    """One autocannon run against 127.0.0.1:port/graphql; its figures."""
    cmd = [str(NODE_BIN / "autocannon"), "--json", "--no-progress",
           "-c", str(connections), "-d", str(duration), "-m", "POST",
           "-H", "content-type=application/json", "-b", body,
           f"http://127.0.0.1:{port}/graphql"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        fail(f"autocannon exited with {proc.returncode}: {proc.stderr[-1000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    bad = out["errors"] + out["timeouts"] + out["non2xx"]
    if bad:
        fail(f"autocannon on port {port}: {out['errors']} errors, "
             f"{out['timeouts']} timeouts, {out['non2xx']} non-2xx answers "
             f"of {out['requests']['total']} requests")
    return dict(rps=out["requests"]["average"],
                requests=out["requests"]["total"],
                p50=out["latency"]["p50"], p99=out["latency"]["p99"],
                seconds=out["duration"])


def our_errors(server):
    """Requests our app has answered with GraphQL errors so far (its
    /stats)."""
    with urllib.request.urlopen(
            f"http://127.0.0.1:{server.port}/stats", timeout=10) as response:
        return json.loads(response.read())["engine"]["errors"]


def _proc_cpu_seconds(pid):
    """User + system CPU seconds of a process so far; None when it is gone."""
    try:
        fields = (pathlib.Path(f"/proc/{pid}/stat").read_text()
                  .rsplit(")", 1)[1].split())
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PostgresCpu:
    """CPU seconds of the local PostgreSQL's backends (the children of the
    postmaster of ci/postgres's cluster, .pg/data), so that a run can tell
    the database's CPU per request. Unavailable (nan) for another server."""

    def __init__(self):
        try:
            self.postmaster = int((ROOT / ".pg" / "data" / "postmaster.pid")
                                  .read_text().split()[0])
        except (OSError, ValueError, IndexError):
            self.postmaster = None

    def snapshot(self):
        """{pid: CPU seconds} of the postmaster's children."""
        if self.postmaster is None:
            return None
        out = {}
        for entry in pathlib.Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1]
                           .split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == self.postmaster:
                cpu = _proc_cpu_seconds(entry.name)
                if cpu is not None:
                    out[entry.name] = cpu
        return out

    @staticmethod
    def spent(before, after):
        """CPU seconds spent between two snapshots (backends that started in
        between count from zero; those that ended are lost)."""
        if before is None or after is None:
            return float("nan")
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


PG_CPU = PostgresCpu()


def measure(server, body, connections, duration):
    cpu, db = server.cpu_seconds(), PG_CPU.snapshot()
    r = autocannon(server.port, body, connections, duration)
    n = max(1, r["requests"])
    r["cpu_us"] = (server.cpu_seconds() - cpu) / n * 1e6
    r["db_cpu_us"] = PG_CPU.spent(db, PG_CPU.snapshot()) / n * 1e6
    return r


def combine(runs):
    """The rounds of one side: mean rps, mean p50, worst p99."""
    return dict(rps=statistics.mean(r["rps"] for r in runs),
                p50=statistics.mean(r["p50"] for r in runs),
                p99=max(r["p99"] for r in runs),
                cpu_us=statistics.mean(r["cpu_us"] for r in runs),
                db_cpu_us=statistics.mean(r["db_cpu_us"] for r in runs),
                rounds=[dict(rps=r["rps"], p50=r["p50"], p99=r["p99"])
                        for r in runs])


# --- In process -------------------------------------------------------------

async def in_process(url, schema_name, qs, pool_size, tasks, seconds):
    """Per query, without HTTP: engine.execute and AsyncRepository.find /
    find_one of the same query (the core alone), each one at a time (median
    us) and from `tasks` tasks (ops/s, and the process's CPU us per op, its
    C++ worker threads included); engine.prepare of the cached document
    (the compile cache, median us)."""
    import fraiseql_native as fn
    from fraiseql_native.aio import AsyncRepository
    from fraiseql_native.gql import Engine
    import bench_http_registry

    schema = bench_http_registry.register(fn, schema_name)
    pool = fn.Pool(url, min_size=1, max_size=pool_size)
    repo = AsyncRepository(pool, schema)  # as the app makes them
    engine = Engine(repo, schema, mutations=())
    out = {}

    async def one_at_a_time(call):
        times = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end or len(times) < 5:
            start = time.perf_counter()
            await call()
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e6

    async def throughput(call):
        done = 0
        end = time.perf_counter() + seconds

        async def worker():
            nonlocal done
            while time.perf_counter() < end:
                await call()
                done += 1

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        cpu = time.process_time() - cpu
        return done / (time.perf_counter() - start), cpu / done * 1e6

    for q in qs:
        def execute(q=q):
            return engine.execute(q.ours, q.variables)
        body = await execute()
        if b'"errors"' in body:
            fail(f"in process, query {q.key}: {body[:300]!r}")
        kwargs = dict(q.find)
        find = repo.find_one if kwargs.pop("one", False) else repo.find

        def core(view=f"{schema_name}.{q.view}", kwargs=kwargs, find=find,
                 field=q.field):
            return find(view, field=field, **kwargs)
        if json.loads(await core()) != json.loads(body):
            fail(f"in process, query {q.key}: AsyncRepository.find answers "
                 "other data than engine.execute; fix Query.find")
        prepare_times = []
        for _ in range(2000):
            start = time.perf_counter()
            engine.prepare(q.ours, None)
            prepare_times.append(time.perf_counter() - start)
        r = dict(execute_us=await one_at_a_time(execute),
                 core_us=await one_at_a_time(core),
                 prepare_us=statistics.median(prepare_times) * 1e6)
        r["execute_ops"], r["execute_cpu_us"] = await throughput(execute)
        r["core_ops"], r["core_cpu_us"] = await throughput(core)
        out[q.key] = r
    return out


# --- Main -------------------------------------------------------------------

def load_data(url, schema, sizes, materialized=False):
    start = time.perf_counter()
    cmd = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"schema={schema}",
           "-v", f"materialized={int(materialized)}",
           "-d", url, "-f", str(DATA_SQL)]
    for k, v in sizes.items():
        cmd[-4:-4] = ["-v", f"{k}={v}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    log(f"loaded {sizes['users']} users, {sizes['posts']} posts, "
        f"{sizes['comments']} comments into {schema}"
        f"{' (materialized views)' if materialized else ''} "
        f"({time.perf_counter() - start:.1f} s)")


def views_materialized(url, schema):
    """Whether <schema>.v_post is a materialized view (what the data holds,
    whichever run loaded it)."""
    out = subprocess.run(
        [PSQL, "-X", "-At", "-d", url, "-c",
         f"SELECT count(*) FROM pg_matviews WHERE schemaname = '{schema}' "
         "AND matviewname = 'v_post'"], capture_output=True, text=True)
    return out.stdout.strip() == "1"


def installed_version(package):
    try:
        return json.loads((NPM_DIR / "node_modules" / package / "package.json")
                          .read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("FRAISEQL_DATABASE_URL"))
    parser.add_argument("--schema", default="bench_http")
    parser.add_argument("--load", action="store_true",
                        help="(re)load ci/bench_http_data.sql into --schema")
    for k, v in DEFAULT_SIZES.items():
        parser.add_argument(f"--{k}", type=int, default=v,
                            help=f"rows of {k} for --load (default {v})")
    parser.add_argument("--materialized", action="store_true",
                        help="with --load: the JSONB views as materialized "
                             "views (FraiseQL's table-backed pattern)")
    parser.add_argument("-c", "--connections", type=int, default=32)
    parser.add_argument("-d", "--duration", type=int, default=5,
                        help="seconds of each autocannon run")
    parser.add_argument("--rounds", type=int, default=2,
                        help="interleaved runs of each side per query")
    parser.add_argument("--warmup", type=int, default=2,
                        help="seconds of warm-up load per side and query")
    parser.add_argument("--pool-size", type=int, default=10,
                        help="PostgreSQL connections of each server "
                             "(PostGraphile's default, 10)")
    parser.add_argument("--query", action="append", default=None,
                        help="only this query (repeatable)")
    parser.add_argument("--check-only", action="store_true",
                        help="start both servers, check that they agree, "
                             "time nothing")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the HTTP floor and in-process figures")
    parser.add_argument("--log-dir", default=str(NPM_DIR / "logs"))
    args = parser.parse_args(argv)
    if not args.url:
        sys.exit("bench-http: no server: pass --url or set FRAISEQL_DATABASE_URL")
    version = installed_version("postgraphile")
    if version is None or installed_version("autocannon") is None:
        sys.exit(f"bench-http: PostGraphile or autocannon is not installed in "
                 f"{NPM_DIR}: run ci/bench-http (it installs them), or "
                 f"npm install --prefix .bench-http --save-exact "
                 f"postgraphile@{POSTGRAPHILE_VERSION} "
                 f"autocannon@{AUTOCANNON_VERSION}")
    sizes = {k: getattr(args, k) for k in DEFAULT_SIZES}
    if args.load:
        load_data(args.url, args.schema, sizes, args.materialized)
    qs = queries(args.users)
    if args.query:
        unknown = set(args.query) - {q.key for q in qs}
        if unknown:
            sys.exit(f"bench-http: unknown --query {sorted(unknown)}; "
                     f"queries: {[q.key for q in qs]}")
        qs = [q for q in qs if q.key in args.query]
    log_dir = pathlib.Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)

    servers = []
    try:
        theirs = start_postgraphile(args.url, args.schema, args.pool_size,
                                    log_dir)
        servers.append(theirs)
        ours = start_ours(args.url, args.schema, args.pool_size, log_dir)
        servers.append(ours)
        theirs.wait_ready(request_body(qs[0].theirs, qs[0].variables))
        ours.wait_ready(request_body(qs[0].ours, qs[0].variables))
        log(f"PostGraphile {version} on :{theirs.port}, ours on :{ours.port}")

        bodies = {}
        items = {}
        responses = {}
        for q in qs:
            ob, tb = (request_body(q.ours, q.variables),
                      request_body(q.theirs, q.variables))
            bodies[q.key] = (ob, tb)
            (so, ours_resp), (st, theirs_resp) = (post(ours.port, "/graphql", ob),
                                                  post(theirs.port, "/graphql", tb))
            if so != 200 or st != 200:
                fail(f"query {q.key}: HTTP {so} from ours, {st} from "
                     f"PostGraphile: {ours_resp[:300]!r} {theirs_resp[:300]!r}")
            responses[q.key] = ours_resp
            items[q.key] = dict(items=check_equivalent(q, ours_resp, theirs_resp),
                                bytes=len(ours_resp),
                                postgraphile_bytes=len(theirs_resp))
            log(f"{q.key}: equivalent ({items[q.key]['items']} items, "
                f"{len(ours_resp)} bytes ours, {len(theirs_resp)} theirs)")
        figures = {"postgraphile_version": version, "equivalent": True,
                   "queries": items}
        if args.check_only:
            print(json.dumps(figures, separators=(",", ":")), flush=True)
            return 0

        load_before = os.getloadavg()[0]
        for q in qs:
            for server, body in ((ours, bodies[q.key][0]),
                                 (theirs, bodies[q.key][1])):
                autocannon(server.port, body, args.connections, args.warmup)
        results = {}
        for q in qs:
            runs = {"ours": [], "theirs": []}
            sides = [("ours", ours, bodies[q.key][0]),
                     ("theirs", theirs, bodies[q.key][1])]
            for r in range(args.rounds):
                # Each side goes first in every other round.
                for side, server, body in (sides if r % 2 == 0
                                           else sides[::-1]):
                    errors = our_errors(ours) if side == "ours" else None
                    runs[side].append(measure(server, body, args.connections,
                                              args.duration))
                    if errors is not None and our_errors(ours) != errors:
                        # The app answers a failed root field with 200 and
                        # "errors": fast errors must not count as answers.
                        fail(f"query {q.key}: our server answered "
                             f"{our_errors(ours) - errors} requests with "
                             "GraphQL errors under load")
            results[q.key] = {s: combine(v) for s, v in runs.items()}
            o, t = results[q.key]["ours"], results[q.key]["theirs"]
            log(f"{q.key}: ours {o['rps']:.0f} rps, PostGraphile "
                f"{t['rps']:.0f} rps ({o['rps'] / t['rps']:.2f}x)")
        # Our server's figures are taken; the floor and the in-process
        # loops run with no other server up.
        for s in servers:
            s.stop()
        servers = []

        floor = inproc = None
        if not args.no_floor:
            floor_server = start_floor(responses[qs[0].key], log_dir)
            servers.append(floor_server)
            floor_server.wait_ready("{}")
            autocannon(floor_server.port, "{}", args.connections, args.warmup)
            floor = combine([measure(floor_server, bodies[qs[0].key][0],
                                     args.connections, args.duration)])
            floor["bytes"] = len(responses[qs[0].key])
            floor_server.stop()
            servers = []
            inproc = asyncio.run(in_process(
                args.url, args.schema, qs, args.pool_size, args.connections,
                max(1.0, args.duration / 2)))
        load_after = os.getloadavg()[0]
    finally:
        for s in servers:
            s.stop()

    figures.update(summary(results, floor, inproc, args, version,
                           [load_before, load_after]))
    print_table(qs, results, items, floor, inproc, args, figures)
    print(json.dumps(figures, separators=(",", ":")), flush=True)
    return 0


def summary(results, floor, inproc, args, version, loadavg):
    rps = {k: round(r["ours"]["rps"] / r["theirs"]["rps"], 3)
           for k, r in results.items()}
    p99 = {k: round(r["ours"]["p99"] / r["theirs"]["p99"], 3)
           for k, r in results.items()}
    figures = {
        "rps_vs_postgraphile": rps,
        "p99_vs_postgraphile": p99,
        "target_rps_met": all(v >= TARGET_RPS for v in rps.values()),
        "target_p99_met": all(v <= 1.0 for v in p99.values()),
        "postgraphile_version": version,
        "node_version": subprocess.run(["node", "--version"],
                                       capture_output=True,
                                       text=True).stdout.strip(),
        "connections": args.connections, "duration_s": args.duration,
        "rounds": args.rounds, "pool_size": args.pool_size,
        "materialized": views_materialized(args.url, args.schema),
        "sizes": {k: getattr(args, k) for k in DEFAULT_SIZES},
        "results": {k: {s: {m: round(v[m], 3) for m in ("rps", "p50", "p99",
                                                          "cpu_us", "db_cpu_us")}
                        for s, v in r.items()}
                    for k, r in results.items()},
        "loadavg": [round(x, 2) for x in loadavg],
    }
    if floor:
        figures["http_floor"] = {m: round(floor[m], 3)
                                 for m in ("rps", "p50", "p99", "cpu_us")}
    if inproc:
        figures["in_process"] = {k: {m: round(v, 3) for m, v in r.items()}
                                 for k, r in inproc.items()}
    return figures


def print_table(qs, results, items, floor, inproc, args, figures):
    print()
    print(f"GraphQL over HTTP, {args.connections} connections, "
          f"{args.rounds} x {args.duration} s per side, interleaved; "
          f"PostGraphile {figures['postgraphile_version']} on Node "
          f"{figures['node_version']}; our views "
          f"{'materialized' if figures['materialized'] else 'plain'}")
    print(f"{'query':10} {'items':>5} {'bytes':>7}  {'ours':>8} {'p50':>6} "
          f"{'p99':>6}  {'theirs':>8} {'p50':>6} {'p99':>6}  {'rps':>6} "
          f"{'p99':>6}  {'ours':>6} {'theirs':>6}  {'ours':>6} {'theirs':>6}")
    print(f"{'':10} {'':>5} {'':>7}  {'rps':>8} {'ms':>6} {'ms':>6}  "
          f"{'rps':>8} {'ms':>6} {'ms':>6}  {'ratio':>6} {'ratio':>6}  "
          f"{'cpu us':>6} {'cpu us':>6}  {'db us':>6} {'db us':>6}")
    for q in qs:
        r = results[q.key]
        o, t = r["ours"], r["theirs"]
        print(f"{q.key:10} {items[q.key]['items']:>5} {items[q.key]['bytes']:>7}  "
              f"{o['rps']:>8.0f} {o['p50']:>6.1f} {o['p99']:>6.1f}  "
              f"{t['rps']:>8.0f} {t['p50']:>6.1f} {t['p99']:>6.1f}  "
              f"{o['rps'] / t['rps']:>5.2f}x {o['p99'] / t['p99']:>5.2f}x  "
              f"{o['cpu_us']:>6.0f} {t['cpu_us']:>6.0f}  "
              f"{o['db_cpu_us']:>6.0f} {t['db_cpu_us']:>6.0f}")
    print()
    for q in qs:
        print(f"  {q.key:10} {q.title}")
    print("  rps: mean of the rounds; p50: mean; p99: the worst round's; "
          "cpu us: the server process's CPU time per request; db us: "
          "PostgreSQL's (its backends') CPU time per request")
    print("  responses checked equivalent (PostGraphile's names mapped to "
          "ours) before timing")
    if floor:
        print()
        print(f"http floor (the same uvicorn, a fixed {floor['bytes']}-byte "
              f"body): {floor['rps']:.0f} rps, p50 {floor['p50']:.1f} ms, "
              f"p99 {floor['p99']:.1f} ms, {floor['cpu_us']:.0f} us CPU per "
              f"request")
    if inproc:
        print()
        print(f"in process, no HTTP: engine.execute and the core alone "
              f"(AsyncRepository.find of the same query), one at a time and "
              f"from {args.connections} tasks; engine.prepare of the cached "
              "document (the compile cache):")
        print(f"{'query':10} {'execute':>8} {'core':>8}  {'execute':>8} "
              f"{'core':>8}  {'execute':>7} {'core':>7}  {'prepare':>7}")
        print(f"{'':10} {'us':>8} {'us':>8}  {'ops/s':>8} {'ops/s':>8}  "
              f"{'cpu us':>7} {'cpu us':>7}  {'us':>7}")
        for q in qs:
            r = inproc[q.key]
            print(f"{q.key:10} {r['execute_us']:>8.0f} {r['core_us']:>8.0f}  "
                  f"{r['execute_ops']:>8.0f} {r['core_ops']:>8.0f}  "
                  f"{r['execute_cpu_us']:>7.0f} {r['core_cpu_us']:>7.0f}  "
                  f"{r['prepare_us']:>7.2f}")
        print()
        print("where our server's CPU goes, us per request (cpu us of the "
              "HTTP run = core + engine + HTTP and app):")
        print(f"{'query':10} {'server':>7} {'core':>7} {'engine':>7} "
              f"{'http+app':>8}   (the http floor alone: "
              f"{floor['cpu_us']:.0f})")
        for q in qs:
            r, total = inproc[q.key], results[q.key]["ours"]["cpu_us"]
            print(f"{q.key:10} {total:>7.0f} {r['core_cpu_us']:>7.0f} "
                  f"{r['execute_cpu_us'] - r['core_cpu_us']:>7.0f} "
                  f"{total - r['execute_cpu_us']:>8.0f}")
    print()
    verdict = {True: "met", False: "MISSED"}
    print(f"targets: ours >= {TARGET_RPS:g}x PostGraphile's rps on every query: "
          f"{verdict[figures['target_rps_met']]}; p99 no worse: "
          f"{verdict[figures['target_p99_met']]}")
    print(f"machine: {os.cpu_count()} cores, load average "
          f"{figures['loadavg'][0]:.2f} before, {figures['loadavg'][1]:.2f} "
          "after (the servers, PostgreSQL and autocannon share these cores)")


if __name__ == "__main__":
    sys.exit(main())
