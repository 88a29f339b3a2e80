"""ci/demo's queries: each runs through fraiseql_native and through psycopg 3
with the Python transform the legacy path used, on the same SQL; prints the
responses, whether they agree, and the timings side by side."""
import argparse
import json
import os
import re
import statistics
import time
from decimal import Decimal

import fraiseql_native
import psycopg
from sample_registry import register_sample


def camel(name):
    return fraiseql_native.camel_case(name)


def legacy_project(value, selection, type_name):
    """What the Python path did per row: build dicts, rename keys, add
    __typename. `selection` is a list of (response_key, source_key, sub,
    sub_type)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [legacy_project(v, selection, type_name) for v in value]
    out = {}
    for key, source, sub, sub_type in selection:
        if source == "__typename":
            out[key] = type_name
        elif sub:
            out[key] = legacy_project(value.get(source), sub, sub_type)
        else:
            out[key] = value.get(source)
    return out


def first_difference(a, b, path="data"):
    """The JSON path and both values of the first difference, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            found = first_difference(a.get(key), b.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        if len(a) != len(b):
            return (f"{path} (length)", len(a), len(b))
        return None
    return None if a == b else (path, a, b)


def timed(fn, repeat):
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--schema", default="demo")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = os.environ["FRAISEQL_DATABASE_URL"]
    s = args.schema

    pool = fraiseql_native.Pool(url, min_size=1, max_size=4)
    repo = fraiseql_native.Repository(pool, register_sample(fraiseql_native, s))
    conn = psycopg.connect(url, autocommit=True)

    address = [("cityName", "city_name", None, None),
               ("__typename", "__typename", None, None)]
    author = [("firstName", "first_name", None, None),
              ("lastName", "last_name", None, None)]
    queries = [
        ("Users in Berlin aged 30-39, oldest first",
         f"{s}.v_user", "users", "User",
         dict(where={"age": {"gte": 30, "lt": 40},
                     "address": {"cityName": "Berlin"}},
              order_by=[{"age": "DESC"}, {"id": "ASC"}], limit=5),
         "id firstName lastName age home: address { cityName __typename } "
         "__typename",
         [("id", "id", None, None), ("firstName", "first_name", None, None),
          ("lastName", "last_name", None, None), ("age", "age", None, None),
          ("home", "address", address, "Address"),
          ("__typename", "__typename", None, None)]),
        ("Rich active users (balance > 900.00)",
         f"{s}.v_user", "users", "User",
         dict(where={"balance": {"gt": Decimal("900.00")},
                     "isActive": True},
              order_by=[{"balance": "DESC"}, {"id": "ASC"}], limit=5),
         "email balance",
         [("email", "email", None, None), ("balance", "balance", None, None)]),
        ("Latest published posts with their author",
         f"{s}.v_post", "posts", "Post",
         dict(where={"isPublished": True},
              order_by=[{"publishedAt": "DESC_NULLS_LAST"}, {"id": "ASC"}],
              limit=3),
         "title publishedAt author { firstName lastName }",
         [("title", "title", None, None),
          ("publishedAt", "published_at", None, None),
          ("author", "author", author, "Author")]),
        ("Every user, 6 fields (the big list)",
         f"{s}.v_user", "users", "User",
         dict(order_by=[{"id": "ASC"}]),
         "id firstName lastName email age balance",
         [("id", "id", None, None), ("firstName", "first_name", None, None),
          ("lastName", "last_name", None, None), ("email", "email", None, None),
          ("age", "age", None, None), ("balance", "balance", None, None)]),
    ]

    print()
    print(f"{'query':44} {'rows':>6} {'native ms':>10} {'psycopg ms':>11} "
          f"{'speed-up':>9}  same")
    summary = []
    for title, view, field, type_name, kwargs, selection, legacy_sel in queries:
        native, native_s = timed(
            lambda: repo.find(view, field=field, selection=selection, **kwargs),
            args.repeat)
        sql, params = repo.explain(view, **kwargs)
        # psycopg takes %s placeholders: the same statement, re-spelled.
        pg_sql = re.sub(r"\$\d+", "%s", sql.replace("%", "%%")).replace(
            "::text FROM", " FROM", 1)

        def legacy():
            rows = conn.execute(pg_sql, params).fetchall()
            body = {"data": {field: [legacy_project(r[0], legacy_sel, type_name)
                                     for r in rows]}}
            return json.dumps(body, separators=(",", ":"), ensure_ascii=False,
                              default=str).encode()

        legacy_body, legacy_s = timed(legacy, args.repeat)
        diff = first_difference(json.loads(native, parse_float=Decimal)["data"],
                                json.loads(legacy_body, parse_float=Decimal)["data"])
        same = diff is None
        n = len(json.loads(native)["data"][field])
        summary.append((title, n, native_s, legacy_s, same))
        shown = native.decode()
        if len(shown) > 600:
            shown = shown[:600] + f"... ({len(native):,} bytes)"
        print(f"\n# {title}\n{shown}")
        if diff:
            path, mine, theirs = diff
            print(f"  differs from the legacy path at {path}: native {mine}, "
                  f"psycopg {theirs}")
    print()
    print(f"{'query':44} {'rows':>6} {'native ms':>10} {'psycopg ms':>11} "
          f"{'speed-up':>9}  same")
    for title, n, native_s, legacy_s, same in summary:
        print(f"{title[:44]:44} {n:>6} {native_s * 1e3:>10.2f} "
              f"{legacy_s * 1e3:>11.2f} {legacy_s / native_s:>8.1f}x  "
              f"{'yes' if same else 'NO'}")
    print(f"\npool: {pool.stats()}")
    print("A difference above is the legacy path's: psycopg parses JSONB "
          "numbers as floats, so big decimals lose digits there.")


if __name__ == "__main__":
    main()
