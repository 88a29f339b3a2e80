"""ci/demo's queries: each runs through fraiseql_native and through psycopg 3
with the Python transform the legacy path used, on the same SQL; prints the
responses, whether they agree, and the timings side by side."""
import argparse
import json
import os
import statistics
import time
from decimal import Decimal

import fraiseql_native
import psycopg
from legacy_transform import first_difference, legacy_body, psycopg_sql
from sample_registry import register_sample


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
        pg_sql = psycopg_sql(sql)

        def legacy():
            rows = conn.execute(pg_sql, params).fetchall()
            return legacy_body(field, [r[0] for r in rows], legacy_sel,
                               type_name)

        legacy_out, legacy_s = timed(legacy, args.repeat)
        diff = first_difference(json.loads(native, parse_float=Decimal)["data"],
                                json.loads(legacy_out, parse_float=Decimal)["data"])
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
