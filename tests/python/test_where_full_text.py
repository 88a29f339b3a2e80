"""The full text operators (matches, plainQuery, phraseQuery, websearchQuery,
rankGt ... rankCdLte) on Post.searchTsv (the search_tsv tsvector column,
text search configuration english), run on PostgreSQL through the native
path.

The oracle is independent of the SQL under test: the matching ids come from
queries written here by hand and run through psycopg, and rank thresholds
are applied in Python to the ranks psycopg reads, both rounded to float4
(ts_rank returns a real; psycopg reads its shortest text into a double)."""
import json
import struct

import psycopg
import pytest


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


def real(x):
    """x rounded to a float4, as PostgreSQL stores a real."""
    return struct.unpack("f", struct.pack("f", x))[0]


@pytest.fixture
def posts(sample):
    return f"{sample}.v_post"


@pytest.fixture(scope="module")
def oracle(db_url, sample):
    with psycopg.connect(db_url, autocommit=True) as conn:
        def run(function, query):
            cur = conn.execute(
                f"SELECT id::text FROM {sample}.v_post "
                f"WHERE search_tsv @@ {function}('english', %s)", (query,))
            return sorted(r[0] for r in cur)

        def ranks(function, query):
            cur = conn.execute(
                f"SELECT id::text, {function}(search_tsv, "
                f"plainto_tsquery('english', %s)) FROM {sample}.v_post",
                (query,))
            return {r[0]: real(r[1]) for r in cur}

        run.ranks = ranks
        yield run


def find(repo, posts, where):
    return ids(repo.find(posts, where={"searchTsv": where}, selection="id"))


def assert_split(expected, raw):
    # The data must make the case meaningful: some rows on each side.
    assert 0 < len(expected) < len(raw["v_post"])


@pytest.mark.parametrize("query", [
    "run", "marathon & !garlic", "garlic | zürich", "perform:*",
    "(query & planning) | café", "run <2> marathon", "stem <-> make",
    "!draft",
])
def test_matches_to_tsquery(repo, posts, raw, oracle, query):
    expected = oracle("to_tsquery", query)
    assert find(repo, posts, {"matches": query}) == expected
    assert_split(expected, raw)


def test_matches_stems_in_english(repo, posts, raw, oracle):
    # The english configuration stems: run, runs, running, runners are one
    # lexeme, so every spelling finds the same posts.
    base = find(repo, posts, {"matches": "run"})
    for spelling in ("runs", "running"):
        assert find(repo, posts, {"matches": spelling}) == base
    assert base == oracle("to_tsquery", "run")


@pytest.mark.parametrize("op", ["plainQuery", "plain_query", "plainquery"])
@pytest.mark.parametrize("query", [
    "olive oil", "garlic olive oil marathon", "Zoë José", "query planning",
    "the", "100% _safe_",
])
def test_plain_query(repo, posts, raw, oracle, op, query):
    expected = oracle("plainto_tsquery", query)
    assert find(repo, posts, {op: query}) == expected
    if query not in ("the", "garlic olive oil marathon"):
        assert_split(expected, raw)


@pytest.mark.parametrize("op", ["phraseQuery", "phrase_query", "phrasequery"])
@pytest.mark.parametrize("query", [
    "running a marathon", "marathon running", "olive oil", "query planning",
])
def test_phrase_query(repo, posts, raw, oracle, op, query):
    expected = oracle("phraseto_tsquery", query)
    assert find(repo, posts, {op: query}) == expected


def test_phrase_order_matters(repo, posts, raw):
    forward = find(repo, posts, {"phraseQuery": "olive oil"})
    assert forward
    assert find(repo, posts, {"phraseQuery": "oil olive"}) == []


@pytest.mark.parametrize("op", ["websearchQuery", "websearch_query",
                                "websearchquery"])
@pytest.mark.parametrize("query", [
    '"query planning" -draft', "garlic or marathon", "run -marathon",
    "café zürich", '"olive oil',  # unbalanced quote: still no error
])
def test_websearch_query(repo, posts, raw, oracle, op, query):
    expected = oracle("websearch_to_tsquery", query)
    assert find(repo, posts, {op: query}) == expected
    assert_split(expected, raw)


def rank_cases():
    cases = []
    for stem, function in (("rank", "ts_rank"), ("rankCd", "ts_rank_cd")):
        for suffix, compare in (("Gt", lambda r, t: r > t),
                                ("Gte", lambda r, t: r >= t),
                                ("Lt", lambda r, t: r < t),
                                ("Lte", lambda r, t: r <= t)):
            cases.append((stem + suffix, function, compare))
    return cases


@pytest.mark.parametrize("op,function,compare", rank_cases(),
                         ids=[c[0] for c in rank_cases()])
@pytest.mark.parametrize("query", ["marathon running", "run"])
def test_rank_thresholds(repo, posts, raw, oracle, op, function, compare,
                         query):
    ranks = oracle.ranks(function, query)
    matching = sorted({r for r in ranks.values() if r > 0})
    assert matching
    # A threshold equal to an occurring rank (its float4 value) tells > from
    # >=; one below every positive rank, and 0 (rows without any word of
    # the query rank 0), split the rows too.
    for threshold in (matching[len(matching) // 2], 0,
                      matching[0] / 2):
        expected = sorted(i for i, r in ranks.items()
                          if compare(r, real(threshold)))
        got = find(repo, posts, {op: {"query": query,
                                      "threshold": threshold}})
        assert got == expected, (op, threshold)


def test_rank_boundary_is_exact(repo, posts, raw, oracle):
    ranks = oracle.ranks("ts_rank", "run")
    top = max(ranks.values())
    at_top = sorted(i for i, r in ranks.items() if r == top)
    assert at_top
    assert find(repo, posts, {"rankGte": {"query": "run",
                                          "threshold": top}}) == at_top
    assert find(repo, posts, {"rankGt": {"query": "run",
                                         "threshold": top}}) == []


def test_rank_aliases(repo, posts, oracle):
    ranks = oracle.ranks("ts_rank_cd", "marathon")
    threshold = sorted(set(ranks.values()))[-1] / 2
    expected = sorted(i for i, r in ranks.items() if r > real(threshold))
    assert expected
    for op in ("rankCdGt", "rank_cd_gt", "rankcdgt"):
        assert find(repo, posts, {op: {"query": "marathon",
                                       "threshold": threshold}}) == expected


def test_combines_with_other_fields(repo, posts, raw, oracle):
    where = {"isPublished": True,
             "OR": [{"searchTsv": {"plainQuery": "garlic"}},
                    {"NOT": {"searchTsv": {"matches": "run"}}}]}
    published = {r["id"] for r in raw["v_post"] if r["is_published"] is True}
    garlic = set(oracle("plainto_tsquery", "garlic"))
    run = set(oracle("to_tsquery", "run"))
    everything = {r["id"] for r in raw["v_post"]}
    expected = sorted(published & (garlic | (everything - run)))
    assert ids(repo.find(posts, where=where, selection="id")) == expected
    assert_split(expected, raw)


def test_hostile_queries_are_only_values(repo, posts, raw, oracle):
    hostile = "'); DROP TABLE tb_post; -- \\ \" & | ! <->"
    assert find(repo, posts, {"websearchQuery": hostile}) == oracle(
        "websearch_to_tsquery", hostile)
    assert find(repo, posts, {"plainQuery": hostile}) == oracle(
        "plainto_tsquery", hostile)
    # ts_rank scores every row having some word of the query (here "post").
    ranks = oracle.ranks("ts_rank", hostile)
    assert find(repo, posts, {"rankGt": {"query": hostile, "threshold": 0}}) \
        == sorted(i for i, r in ranks.items() if r > 0)
    # The table is still there.
    assert len(ids(repo.find(posts, selection="id"))) == len(raw["v_post"])


def test_malformed_to_tsquery_is_the_servers_error(fn, repo, posts, raw):
    with pytest.raises(fn.DatabaseError) as e:
        find(repo, posts, {"matches": "run walk"})
    assert e.value.sqlstate == "42601"
    assert e.value.code == "INVALID_ARGUMENT"
    # The pool is fine afterwards.
    assert len(ids(repo.find(posts, selection="id"))) == len(raw["v_post"])


@pytest.mark.parametrize("where,message", [
    ({"matches": 3},
     "invalid value at where.searchTsv.matches: expected a text search "
     "query (a string), got a number"),
    ({"rankGt": {"query": "run"}},
     "invalid value at where.searchTsv.rankGt.threshold: expected a number "
     "(a rank, compared as a real), got null"),
    ({"rankCdLte": {"query": "run", "threshold": 0.1, "weights": [1]}},
     "invalid value at where.searchTsv.rankCdLte: unknown key 'weights'; "
     "expected an object {query: a string, threshold: a number}"),
    ({"websearchQuery": "a\u0000b"},
     "invalid where at where.searchTsv.websearchQuery: a str that contains a NUL byte"),
])
def test_bad_values_fail_before_sql(fn, repo, posts, where, message):
    with pytest.raises(fn.InvalidInputError) as e:
        find(repo, posts, where)
    assert str(e.value) == message
    assert e.value.sqlstate is None
