"""The network operators (inSubnet, inRange and the flags isPrivate,
isPublic, isIPv4, isIPv6, isLoopback, isMulticast, isLinkLocal,
isDocumentation, isCarrierGrade, with their aliases) run on PostgreSQL
through the native path. Expected rows are computed here with Python's
`ipaddress` module from the raw rows, never from the SQL under test.

Two data sets: the shared sample users (every `ip_address` set, one
category per `i % 14`), and a small view of this module's own with null and
missing addresses, stored prefix lengths and a CIDR field."""
import hashlib
import ipaddress
import json
import uuid

import psycopg
import pytest


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


def user_id(i):
    return str(uuid.UUID(hashlib.md5(f"user-{i}".encode()).hexdigest()))


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

ALIASES = {
    "isPrivate": ["is_private", "isprivate"],
    "isPublic": ["is_public", "ispublic"],
    "isIPv4": ["isIpv4", "is_ipv4", "isipv4"],
    "isIPv6": ["isIpv6", "is_ipv6", "isipv6"],
    "isLoopback": ["is_loopback", "isloopback"],
    "isMulticast": ["is_multicast", "ismulticast"],
    "isLinkLocal": ["is_link_local", "islinklocal"],
    "isDocumentation": ["is_documentation", "isdocumentation"],
    "isCarrierGrade": ["is_carrier_grade", "iscarriergrade"],
    "inSubnet": ["in_subnet", "insubnet"],
    "inRange": ["in_range", "inrange"],
}


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


# --- the shared sample users ------------------------------------------------

@pytest.mark.parametrize("value", [True, False])
@pytest.mark.parametrize("flag", FLAGS)
def test_flag_on_sample_users(repo, users, raw, flag, value):
    body = repo.find(users, where={"ipAddress": {flag: value}}, selection="id")
    want = expected(raw["v_user"], "ip_address", "IpAddress",
                    lambda n: member(flag, n) == value)
    assert ids(body) == want
    # Both sides are populated in the sample data: false is not ignored.
    assert 0 < len(want) < len(raw["v_user"])


# Categories of the sample data by i % 14 (tests/fixtures/README.md), an
# oracle independent of the range lists above.
CATEGORY_FLAGS = {
    "isPrivate": {0, 1, 2, 4, 7, 10, 11, 12},
    "isPublic": {3, 13},
    "isLoopback": {4, 12},
    "isLinkLocal": {7, 11},
    "isMulticast": {8},
    "isDocumentation": {5, 9},
    "isCarrierGrade": {6},
    "isIPv4": set(range(9)),
    "isIPv6": set(range(9, 14)),
}


@pytest.mark.parametrize("flag", sorted(CATEGORY_FLAGS))
def test_flags_match_the_documented_categories(repo, users, raw, flag):
    n_users = len(raw["v_user"])
    yes = sorted(user_id(i) for i in range(1, n_users + 1)
                 if i % 14 in CATEGORY_FLAGS[flag])
    no = sorted(user_id(i) for i in range(1, n_users + 1)
                if i % 14 not in CATEGORY_FLAGS[flag])
    assert ids(repo.find(users, where={"ipAddress": {flag: True}},
                         selection="id")) == yes
    assert ids(repo.find(users, where={"ipAddress": {flag: False}},
                         selection="id")) == no


def test_is_private_false_is_honoured(repo, users, raw):
    private = ids(repo.find(users, where={"ipAddress": {"isPrivate": True}},
                            selection="id"))
    public_side = ids(repo.find(users, where={"ipAddress": {"isPrivate": False}},
                                selection="id"))
    assert private and public_side
    assert not set(private) & set(public_side)
    assert len(private) + len(public_side) == len(raw["v_user"])
    assert user_id(3) in public_side      # 8.8.0.3
    assert user_id(1) in private          # 192.168.0.1


def test_ipv6_private_ranges(repo, users, raw):
    body = repo.find(users, where={"ipAddress": {"isPrivate": True,
                                                 "isIPv6": True}},
                     selection="id")
    got = ids(body)
    # fc00::a (ULA), fe80::b (link-local) and ::1 (loopback) are private ...
    assert {user_id(10), user_id(11), user_id(12)} <= set(got)
    # ... 2001:db8::9 (documentation) and 2606:4700:: (public) are not.
    assert user_id(9) not in got and user_id(13) not in got
    assert got == expected(
        raw["v_user"], "ip_address", "IpAddress",
        lambda n: n.version == 6 and within(n, RANGES["isPrivate"]))


SUBNETS = ["192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "8.8.0.0/16",
           "0.0.0.0/0", "::/0", "fc00::/7", "fe80::/10", "2001:db8::/32",
           "::1/128", "127.0.0.1", "192.168.0.77/16", "224.0.0.0/24",
           "192.168.0.0/24"]


@pytest.mark.parametrize("subnet", SUBNETS)
def test_in_subnet_on_sample_users(repo, users, raw, subnet):
    body = repo.find(users, where={"ipAddress": {"inSubnet": subnet}},
                     selection="id")
    want = expected(raw["v_user"], "ip_address", "IpAddress",
                    lambda n: in_subnet(n, subnet))
    assert ids(body) == want
    assert want


RANGES_IN = [("192.168.0.0", "192.168.0.200"), ("10.0.0.0", "10.0.0.255"),
             ("0.0.0.0", "255.255.255.255"), ("8.8.0.50", "8.8.0.60"),
             ("2001:db8::", "2001:db8::ff"), ("::", "ffff::"),
             ("fc00::a", "fc00::a"), ("::1", "::1")]


@pytest.mark.parametrize("low,high", RANGES_IN)
def test_in_range_on_sample_users(repo, users, raw, low, high):
    body = repo.find(users, where={"ipAddress": {"inRange": {"from": low,
                                                             "to": high}}},
                     selection="id")
    want = expected(raw["v_user"], "ip_address", "IpAddress",
                    lambda n: in_range(n, low, high))
    assert ids(body) == want
    assert want


def test_in_range_is_inclusive_and_same_family(repo, users, raw):
    # A range of one address includes it (both bounds are inclusive).
    body = repo.find(users, where={"ipAddress": {"inRange": {
        "from": "127.0.0.1", "to": "127.0.0.1"}}}, selection="id")
    assert ids(body) == sorted(r["id"] for r in raw["v_user"]
                               if r["ip_address"] == "127.0.0.1")
    # The whole IPv6 space holds no IPv4 address.
    body = repo.find(users, where={"ipAddress": {"inRange": {
        "from": "::", "to": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}}},
                     selection="id")
    assert ids(body) == expected(raw["v_user"], "ip_address", "IpAddress",
                                 lambda n: n.version == 6)


@pytest.mark.parametrize("op,aliases", sorted(ALIASES.items()))
def test_aliases_mean_the_same(repo, users, raw, op, aliases):
    value = {"inSubnet": "192.168.0.0/16",
             "inRange": {"from": "10.0.0.0", "to": "10.255.255.255"}}.get(
                 op, False)
    first = ids(repo.find(users, where={"ipAddress": {op: value}},
                          selection="id"))
    assert first
    for name in aliases:
        assert ids(repo.find(users, where={"ipAddress": {name: value}},
                             selection="id")) == first, name


@pytest.mark.parametrize("where,message", [
    ({"ipAddress": {"isPrivate": "false"}},
     "invalid value at where.ipAddress.isPrivate: expected true or false, "
     "got a string"),
    ({"ipAddress": {"is_ipv4": 1}},
     "invalid value at where.ipAddress.is_ipv4: expected true or false, got "
     "a number"),
    ({"ipAddress": {"inSubnet": "10.0.0.0/33"}},
     "invalid value at where.ipAddress.inSubnet: expected an IP network "
     "(address or address/prefix), got a string"),
    ({"ipAddress": {"inRange": {"from": "10.0.0.1"}}},
     "invalid value at where.ipAddress.inRange: missing 'to'; expected an "
     "object {from, to} of two IP addresses of the same family"),
    ({"ipAddress": {"inRange": {"from": "10.0.0.1", "to": "::1"}}},
     "invalid value at where.ipAddress.inRange: 'from' is IPv4 and 'to' is "
     "IPv6; both must be of the same family"),
    ({"ipAddress": {"inRange": {"from": "10.0.0.1", "to": "10.0.0.300"}}},
     "invalid value at where.ipAddress.inRange.to: expected an IpAddress (an "
     "IPv4 or IPv6 address), got a string that does not fit"),
    ({"firstName": {"isPrivate": True}},
     "operator 'isPrivate' at where.firstName.isPrivate does not apply to "
     "String field firstName; it applies to IpAddress, CIDR"),
])
def test_wrong_values_are_rejected(fn, repo, users, where, message):
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where=where)
    assert str(e.value) == message


def test_same_shape_gives_same_sql(repo, users):
    a = repo.explain(users, where={"ipAddress": {"inSubnet": "10.0.0.0/8",
                                                 "isPrivate": True}})
    b = repo.explain(users, where={"ipAddress": {"inSubnet": "fc00::/7",
                                                 "isPrivate": True}})
    assert a[0] == b[0] and a[1] != b[1]
    # The flag's value picks the SQL, never a parameter.
    c = repo.explain(users, where={"ipAddress": {"inSubnet": "fc00::/7",
                                                 "isPrivate": False}})
    assert c[0] != b[0] and "NOT (" in c[0]


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
