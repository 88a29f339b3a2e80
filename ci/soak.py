"""The soak run behind ci/soak: mixed load from several threads on one pool for
N minutes, with every response checked, then a verdict on errors and memory.

Each operation checks what it got back (bodies parse as JSON and have the
asked shape; a transaction sees its own writes and a rolled-back one leaves
nothing), so a wrong answer counts as an error, not only an exception.
Expected rejections (bad input, a deliberately short timeout) are counted
apart from errors."""
import argparse
import json
import os
import random
import sys
import threading
import time
import uuid

import fraiseql_native as fn
from sample_registry import register_sample

TENANT = "22222222-2222-2222-2222-222222222222"


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


class Failure(Exception):
    """A response that is not what the operation expects."""


class Soak:
    def __init__(self, args):
        self.args = args
        url = os.environ["FRAISEQL_DATABASE_URL"]
        self.pool = fn.Pool(url, min_size=2, max_size=args.pool_size,
                            acquire_timeout=30)
        schema = register_sample(fn, args.schema)
        m = args.mutation_schema
        schema.add_view(f"{m}.v_account", "Account",
                        {"id": "UUID", "name": "String", "email": "String",
                         "balance": "Decimal", "created_by": "String",
                         "tenant_id": "UUID", "current_tenant": "String"},
                        columns={"id": "uuid", "tenant_id": "uuid",
                                 "data": "jsonb"})
        self.repo = fn.Repository(self.pool, schema,
                                  max_response_bytes=64 << 20)
        self.users = f"{args.schema}.v_user"
        self.posts = f"{args.schema}.v_post"
        self.accounts = f"{m}.v_account"
        self.create_fn = f"{m}.create_account"
        body = json.loads(self.repo.find(self.users, field="u",
                                         selection="id", limit=500))
        self.user_ids = [u["id"] for u in body["data"]["u"]]
        self.post_count = self.repo.count(self.posts)
        self.lock = threading.Lock()
        self.ops = {}
        self.expected = 0
        self.errors = 0
        self.error_samples = []
        # Committed accounts are counted, not kept: the run's own
        # bookkeeping must not grow with it. They carry this run's user.
        self.user = f"soak-{uuid.uuid4()}"
        self.committed = 0
        self.stop = threading.Event()

    # --- operations -------------------------------------------------------

    def op_list(self, rnd):
        age = rnd.randint(18, 80)
        body = json.loads(self.repo.find(
            self.users, field="users", where={"age": {"gte": age}},
            order_by=[{"age": "DESC"}], limit=50,
            selection="id name: firstName age address { cityName }"))
        rows = body["data"]["users"]
        if any(r["age"] < age for r in rows) or len(rows) > 50:
            raise Failure("list: a row outside the filter or the limit")

    def op_find_one(self, rnd):
        uid = rnd.choice(self.user_ids)
        body = json.loads(self.repo.find_one(
            self.users, field="user", where={"id": {"eq": uid}},
            selection="id email tags"))
        if body["data"]["user"] is None or body["data"]["user"]["id"] != uid:
            raise Failure("find_one: not the row asked for")

    def op_connection(self, rnd):
        order = [{"viewCount": rnd.choice(["ASC", "DESC"])}]
        sel = "id"  # the node's selection; edges and pageInfo always come
        first = json.loads(self.repo.find(self.posts, field="posts",
                                          order_by=order, first=20,
                                          selection=sel))["data"]["posts"]
        after = first["pageInfo"]["endCursor"]
        second = json.loads(self.repo.find(self.posts, field="posts",
                                           order_by=order, first=20,
                                           after=after, selection=sel))
        ids1 = {e["node"]["id"] for e in first["edges"]}
        ids2 = {e["node"]["id"] for e in second["data"]["posts"]["edges"]}
        if ids1 & ids2:
            raise Failure("connection: the second page repeats the first")

    def op_values(self, rnd):
        age = rnd.randint(18, 80)
        n = self.repo.count(self.users, where={"age": {"gte": age}})
        ages = self.repo.distinct(self.users, "age",
                                  where={"age": {"gte": age}})
        if not isinstance(n, int) or any(a is not None and a < age
                                         for a in ages):
            raise Failure("values: count or distinct outside the filter")

    def op_stream(self, rnd):
        pieces = []
        with self.repo.find_stream(self.posts, field="posts",
                                   selection="id title",
                                   chunk_bytes=16384) as it:
            for piece in it:
                pieces.append(piece)
        rows = json.loads(b"".join(pieces))["data"]["posts"]
        if len(rows) != self.post_count:
            raise Failure(f"stream: {len(rows)} rows, expected "
                          f"{self.post_count}")

    def create(self, target, account_id, **extra):
        payload = {"id": account_id, "name": "soak", "balance": "1.50",
                   "email": "soak@example.com"}
        payload.update(extra.pop("payload", {}))
        return json.loads(target.mutate(
            self.create_fn, payload, field="createAccount",
            success_type="CreateAccountSuccess",
            error_type="CreateAccountError", entity_field="account",
            entity_type="Account", context_args=["tenant_id", "user_id"],
            success_selection="__typename account { id }",
            error_selection="__typename code", **extra))

    def op_mutate(self, rnd):
        account_id = str(uuid.uuid4())
        body = self.create(self.repo, account_id,
                           context={"tenant_id": TENANT, "user_id": self.user})
        result = body["data"]["createAccount"]
        if result["__typename"] != "CreateAccountSuccess":
            raise Failure("mutate: not a success")
        with self.lock:
            self.committed += 1

    def op_transaction(self, rnd):
        ids = [str(uuid.uuid4()) for _ in range(2)]
        roll_back = rnd.random() < 0.3
        try:
            with self.repo.transaction(
                    context={"tenant_id": TENANT, "user_id": self.user}) as tx:
                for account_id in ids:
                    self.create(tx, account_id)
                seen = tx.count(self.accounts, where={"id": {"in": ids}})
                if seen != 2:
                    raise Failure("transaction: its own writes not seen")
                if roll_back:
                    raise KeyError("roll back")
        except KeyError:
            pass
        n = self.repo.count(self.accounts, where={"id": {"in": ids}})
        if n != (0 if roll_back else 2):
            raise Failure(f"transaction: {n} of 2 rows after "
                          f"{'rollback' if roll_back else 'commit'}")
        if not roll_back:
            with self.lock:
                self.committed += len(ids)

    def op_rejected(self, rnd):
        """Inputs that must be refused, and a mutation past its timeout."""
        kind = rnd.randrange(3)
        try:
            if kind == 0:
                self.repo.find(self.users, where={"noSuchField": {"eq": 1}})
            elif kind == 1:
                d = {"age": {"eq": 1}}
                for _ in range(500):
                    d = {"AND": [d]}
                self.repo.find(self.users, where=d)
            else:
                self.create(self.repo, str(uuid.uuid4()),
                            payload={"sleep": 2}, timeout=0.05,
                            context={"tenant_id": TENANT, "user_id": self.user})
        except (fn.InvalidInputError, fn.QueryTimeoutError):
            with self.lock:
                self.expected += 1
            return
        raise Failure(f"rejected: input kind {kind} was accepted")

    OPS = [("list", 6), ("find_one", 6), ("connection", 3), ("values", 3),
           ("stream", 1), ("mutate", 3), ("transaction", 2), ("rejected", 1)]

    # --- driver ------------------------------------------------------------

    def worker(self, seed):
        rnd = random.Random(seed)
        names = [n for n, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        while not self.stop.is_set():
            name = rnd.choices(names, weights)[0]
            try:
                getattr(self, "op_" + name)(rnd)
            except Exception as e:  # noqa: BLE001: every failure is counted
                with self.lock:
                    self.errors += 1
                    if len(self.error_samples) < 10:
                        self.error_samples.append(
                            f"{name}: {type(e).__name__}: {e}")
            with self.lock:
                self.ops[name] = self.ops.get(name, 0) + 1

    def total_ops(self):
        with self.lock:
            return sum(self.ops.values())

    def run(self):
        a = self.args
        duration = a.minutes * 60.0
        warmup = max(30.0, duration / 5) if duration >= 60 else duration / 3
        threads = [threading.Thread(target=self.worker, args=(i,), daemon=True)
                   for i in range(a.threads)]
        start = time.monotonic()
        for t in threads:
            t.start()
        samples = []  # (elapsed s, rss MB)
        last_ops, last_t = 0, start
        print(f"{'t (s)':>7} {'ops':>8} {'ops/s':>7} {'errors':>6} "
              f"{'rss MB':>7}  pool", flush=True)
        while True:
            now = time.monotonic()
            remaining = start + duration - now
            if remaining <= 0:
                break
            time.sleep(min(a.interval, remaining))
            now = time.monotonic()
            ops = self.total_ops()
            rss = rss_mb()
            samples.append((now - start, rss))
            s = self.pool.stats()
            print(f"{now - start:7.0f} {ops:8d} "
                  f"{(ops - last_ops) / (now - last_t):7.0f} "
                  f"{self.errors:6d} {rss:7.1f}  size={s['size']} "
                  f"idle={s['idle']} in_use={s['in_use']} "
                  f"waiting={s['waiting']} timeouts={s['timeouts']} "
                  f"errors={s['errors']} opened={s['opened']} "
                  f"closed={s['closed']}", flush=True)
            last_ops, last_t = ops, now
        self.stop.set()
        for t in threads:
            t.join(timeout=60)
        elapsed = time.monotonic() - start

        # Every committed mutation is there, and nothing else of this run
        # (rolled back, failed or timed out).
        found = self.repo.count(self.accounts,
                                where={"createdBy": {"eq": self.user}})
        if found != self.committed:
            self.errors += 1
            self.error_samples.append(
                f"read-back: {found} accounts, {self.committed} committed")

        after_warmup = [r for t, r in samples if t >= warmup]
        base = after_warmup[0] if after_warmup else rss_mb()
        end = samples[-1][1] if samples else rss_mb()
        growth = end - base
        limit = max(16.0, 0.1 * base)
        stats = self.pool.stats()
        healthy = stats["in_use"] == 0 and stats["waiting"] == 0
        ok = self.errors == 0 and growth <= limit and healthy
        ops = self.total_ops()
        print(f"ci/soak: {ops} operations in {elapsed:.0f} s "
              f"({ops / elapsed:.0f}/s) from {a.threads} threads; "
              f"{self.errors} errors, {self.expected} expected rejections; "
              f"RSS {base:.1f} MB after warm-up ({warmup:.0f} s), "
              f"{end:.1f} MB at the end ({growth:+.1f} MB, limit "
              f"{limit:.0f}); pool {'healthy' if healthy else 'NOT idle'}",
              flush=True)
        for sample in self.error_samples:
            print(f"ci/soak: error: {sample}", flush=True)
        print(json.dumps({
            "ops": ops, "seconds": round(elapsed, 1),
            "ops_per_s": round(ops / elapsed, 1), "threads": a.threads,
            "by_op": self.ops, "errors": self.errors,
            "expected_rejections": self.expected,
            "committed_accounts": self.committed,
            "rss_mb_after_warmup": round(base, 1),
            "rss_mb_end": round(end, 1), "rss_growth_mb": round(growth, 1),
            "rss_mb_samples": [round(r, 1) for _, r in samples],
            "pool": {k: v for k, v in stats.items() if k != "last_error"},
            "ok": ok}), flush=True)
        return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--interval", type=float, default=30.0)
    p.add_argument("--pool-size", type=int, default=8)
    p.add_argument("--schema", default="soak")
    p.add_argument("--mutation-schema", default="soak_mut")
    a = p.parse_args()
    if a.minutes <= 0 or a.threads < 1 or a.interval <= 0:
        p.error("--minutes, --threads and --interval must be positive")
    sys.exit(Soak(a).run())


if __name__ == "__main__":
    main()
