"""The network operators on a view of this module's own, run on PostgreSQL
through the native path: null and missing addresses, stored prefix lengths
and a CIDR field, which the shared sample data does not have. Expected rows
are computed here with Python's `ipaddress` module from the raw rows, never
from the SQL under test.

The cases on the shared sample users (every flag true and false, inSubnet,
inRange and every alias) are rows: cases in
plugins/where/network/network.golden, run by test_where_cases.py; the
errors are error: cases there."""
import ipaddress
import json

import psycopg
import pytest


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


def nets(*texts):
    return [ipaddress.ip_network(t) for t in texts]


# The documented ranges of each flag (see where/network_operators.cc).
RANGES = {
    "isPrivate": nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                      "127.0.0.0/8", "169.254.0.0/16", "fc00::/7",
                      "fe80::/10", "::1/128"),
    "isLoopback": nets("127.0.0.0/8", "::1/128"),
    "isLinkLocal": nets("169.254.0.0/16", "fe80::/10"),
    "isMulticast": nets("224.0.0.0/4", "ff00::/8"),
    "isDocumentation": nets("192.0.2.0/24", "198.51.100.0/24",
                            "203.0.113.0/24", "2001:db8::/32", "3fff::/20"),
    "isCarrierGrade": nets("100.64.0.0/10"),
}
NON_PUBLIC = [n for key in ("isPrivate", "isMulticast", "isDocumentation",
                            "isCarrierGrade") for n in RANGES[key]] + nets(
    "0.0.0.0/8", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4", "::/128")

FLAGS = sorted(RANGES) + ["isPublic", "isIPv4", "isIPv6"]


def subject(text, kind):
    """What the predicates are about, as an ip_network: the address of an
    IpAddress (its stored prefix length dropped), the network of a CIDR."""
    if kind == "IpAddress":
        return ipaddress.ip_network(ipaddress.ip_interface(text).ip)
    return ipaddress.ip_network(text)


def within(n, ranges):
    return any(n.version == r.version and n.subnet_of(r) for r in ranges)


def member(flag, n):
    """Whether the flag is true for a (non-null) subject."""
    if flag == "isIPv4":
        return n.version == 4
    if flag == "isIPv6":
        return n.version == 6
    if flag == "isPublic":
        return not any(n.version == r.version and n.overlaps(r)
                       for r in NON_PUBLIC)
    return within(n, RANGES[flag])


def in_subnet(n, subnet_text):
    subnet = ipaddress.ip_network(subnet_text, strict=False)
    return n.version == subnet.version and n.subnet_of(subnet)


def in_range(n, low, high):
    low, high = ipaddress.ip_address(low), ipaddress.ip_address(high)
    return (n.version == low.version
            and low <= n.network_address and n.broadcast_address <= high)


def expected(rows, key, kind, predicate):
    """Ids of rows with a value for `key` on which `predicate` holds: a
    null or missing address matches no network operator."""
    return sorted(r["id"] for r in rows
                  if r.get(key) is not None
                  and predicate(subject(r[key], kind)))


def test_a_wrong_value_is_an_input_error_before_sql(fn, repo, users):
    # The message is the golden case's; here, the exception class the
    # module raises for it, with no server involved.
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where={"ipAddress": {"inSubnet": "10.0.0.0/33"}})
    assert str(e.value) == (
        "invalid value at where.ipAddress.inSubnet: expected an IP network "
        "(address or address/prefix), got a string")
    assert e.value.sqlstate is None


# --- a view of our own: nulls, stored prefixes and a CIDR field -------------

NET_SCHEMA = "fql_pytest_where_network"

# (ip_address, network); None = JSON null, MISSING = key absent.
MISSING = object()
NET_ROWS = [
    ("192.168.1.5/24", "10.0.0.0/8"),
    (None, None),
    (MISSING, MISSING),
    ("10.1.2.3/4", "10.1.0.0/16"),        # a prefix shorter than 10.0.0.0/8
    ("8.8.8.8", "0.0.0.0/0"),             # everything: neither private nor public
    ("fe80::1/64", "fc00::/7"),
    ("2001:db8::1", "2001:db8::/32"),
    ("::1", "::1/128"),
    ("100.64.0.1", "100.64.0.0/16"),
    ("2606:4700::1", "2606:4700::/32"),
    ("224.0.0.251", "224.0.0.0/24"),
    ("172.31.255.255", "172.16.0.0/12"),
    ("10.0.0.255", "192.168.0.0/15"),     # overlaps a private range, not in one
    ("203.0.113.9/32", "8.8.8.0/24"),
    (MISSING, "10.0.0.0/24"),
    ("127.0.0.2", MISSING),
]


@pytest.fixture(scope="module")
def net(fn, db_url, pool):
    """Creates the view, yields (repository, view name, raw rows)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{NET_SCHEMA}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{NET_SCHEMA}"')
        conn.execute(f'CREATE TABLE "{NET_SCHEMA}".tb_net '
                     "(id uuid PRIMARY KEY, data jsonb NOT NULL)")
        conn.execute(f'CREATE VIEW "{NET_SCHEMA}".v_net AS '
                     f'SELECT id, data FROM "{NET_SCHEMA}".tb_net')
        for n, (ip, network) in enumerate(NET_ROWS, start=1):
            row_id = f"00000000-0000-4000-8000-{n:012d}"
            data = {"id": row_id}
            if ip is not MISSING:
                data["ip_address"] = ip
            if network is not MISSING:
                data["network"] = network
            conn.execute(f'INSERT INTO "{NET_SCHEMA}".tb_net VALUES (%s, %s)',
                         (row_id, json.dumps(data)))
        raw_rows = [json.loads(r[0]) for r in conn.execute(
            f'SELECT data::text FROM "{NET_SCHEMA}".v_net')]
    schema = fn.Schema()
    view = f"{NET_SCHEMA}.v_net"
    schema.add_view(view, "Net", {"id": "UUID", "ip_address": "IpAddress",
                                  "network": "CIDR"},
                    columns={"id": "uuid", "data": "jsonb"})
    yield fn.Repository(pool, schema), view, raw_rows
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{NET_SCHEMA}" CASCADE')


FIELDS = [("ipAddress", "ip_address", "IpAddress"),
          ("network", "network", "CIDR")]


@pytest.mark.parametrize("value", [True, False])
@pytest.mark.parametrize("flag", FLAGS)
@pytest.mark.parametrize("gql,key,kind", FIELDS, ids=[f[0] for f in FIELDS])
def test_flags_on_own_view(net, gql, key, kind, flag, value):
    repo, view, rows = net
    body = repo.find(view, where={gql: {flag: value}}, selection="id")
    assert ids(body) == expected(rows, key, kind,
                                 lambda n: member(flag, n) == value)


@pytest.mark.parametrize("gql,key,kind", FIELDS, ids=[f[0] for f in FIELDS])
def test_null_and_missing_match_neither_true_nor_false(net, gql, key, kind):
    repo, view, rows = net
    without = {r["id"] for r in rows if r.get(key) is None}
    with_value = {r["id"] for r in rows if r.get(key) is not None}
    assert len(without) >= 2
    for flag in FLAGS:
        yes = set(ids(repo.find(view, where={gql: {flag: True}},
                                selection="id")))
        no = set(ids(repo.find(view, where={gql: {flag: False}},
                               selection="id")))
        assert not yes & no, flag
        assert yes | no == with_value, flag


def test_ip_address_prefix_is_ignored(net):
    repo, view, rows = net
    # 10.1.2.3/4 is the address 10.1.2.3: private, in 10.0.0.0/8 (a plain
    # inet <<= would say no, its /4 being wider than /8), and in range.
    row = "00000000-0000-4000-8000-000000000004"
    for where in ({"isPrivate": True}, {"inSubnet": "10.0.0.0/8"},
                  {"inRange": {"from": "10.1.2.3", "to": "10.1.2.3"}}):
        assert row in ids(repo.find(view, where={"ipAddress": where},
                                    selection="id")), where


def test_cidr_flags_need_the_whole_network(net):
    repo, view, rows = net
    everything = "00000000-0000-4000-8000-000000000005"   # 0.0.0.0/0
    straddling = "00000000-0000-4000-8000-000000000013"   # 192.168.0.0/15
    for flag in ("isPrivate", "isPublic"):
        got = ids(repo.find(view, where={"network": {flag: True}},
                            selection="id"))
        assert everything not in got and straddling not in got, flag


SUBNETS_OWN = ["10.0.0.0/8", "10.0.0.0/16", "0.0.0.0/0", "192.168.0.0/16",
               "192.168.0.0/15", "fc00::/7", "fe80::/10", "::/0",
               "2001:db8::/32", "8.8.8.8/24"]


@pytest.mark.parametrize("subnet", SUBNETS_OWN)
@pytest.mark.parametrize("gql,key,kind", FIELDS, ids=[f[0] for f in FIELDS])
def test_in_subnet_on_own_view(net, gql, key, kind, subnet):
    repo, view, rows = net
    body = repo.find(view, where={gql: {"inSubnet": subnet}}, selection="id")
    assert ids(body) == expected(rows, key, kind,
                                 lambda n: in_subnet(n, subnet))


RANGES_OWN = [("10.0.0.0", "10.255.255.255"), ("0.0.0.0", "255.255.255.255"),
              ("10.1.0.0", "10.1.255.255"), ("192.168.0.0", "192.169.255.255"),
              ("8.8.8.0", "8.8.8.8"), ("::", "ffff::"),
              ("fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")]


@pytest.mark.parametrize("low,high", RANGES_OWN)
@pytest.mark.parametrize("gql,key,kind", FIELDS, ids=[f[0] for f in FIELDS])
def test_in_range_on_own_view(net, gql, key, kind, low, high):
    repo, view, rows = net
    body = repo.find(view, where={gql: {"inRange": {"from": low, "to": high}}},
                     selection="id")
    assert ids(body) == expected(rows, key, kind,
                                 lambda n: in_range(n, low, high))
