"""The coordinate operators run on PostgreSQL through the native path, on
User.address.coordinates ({"lat", "lng"} in degrees). Expected rows are
computed here in Python from the raw sample data: exact equality for eq, the
haversine distance on the mean Earth radius for distanceWithin. The spec
asks for great-circle distances exact to 0.5 %, so rows whose distance lies
within 0.5 % of the radius may fall on either side; every other row must
agree exactly."""
from decimal import Decimal
import json
import math

import pytest

MEAN_EARTH_RADIUS_M = 6371008.8
TOLERANCE = 0.005

CITIES = {  # the sample data's city centres (tests/fixtures/README.md)
    "Paris": (48.8566, 2.3522),
    "Berlin": (52.52, 13.405),
    "New York": (40.7128, -74.006),
    "São Paulo": (-23.5505, -46.6333),
    "Tokyo": (35.6762, 139.6503),
    "London": (51.5074, -0.1278),
}


def ids(body):
    doc = json.loads(body)
    (rows,) = doc["data"].values()
    return sorted(r["id"] for r in rows)


def coordinates(row):
    return (row.get("address") or {}).get("coordinates")


def haversine(lat1, lng1, lat2, lng2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * \
        math.sin(dl / 2) ** 2
    return 2 * MEAN_EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def within(repo, users, lat, lng, meters):
    where = {"address": {"coordinates": {"distanceWithin": {
        "lat": lat, "lng": lng, "meters": meters}}}}
    return ids(repo.find(users, where=where, selection="id"))


def check_distance(raw, got, lat, lng, meters):
    """Asserts `got` against the haversine expectation; returns the sure
    matches and the number of rows in the 0.5 % band."""
    inside, outside, band = set(), set(), 0
    for r in raw["v_user"]:
        c = coordinates(r)
        if c is None:
            outside.add(r["id"])
            continue
        d = haversine(float(c["lat"]), float(c["lng"]), lat, lng)
        if abs(d - meters) <= TOLERANCE * meters:
            band += 1
        elif d < meters:
            inside.add(r["id"])
        else:
            outside.add(r["id"])
    got = set(got)
    assert inside <= got, sorted(inside - got)
    assert not (got & outside), sorted(got & outside)
    return inside, band


@pytest.mark.parametrize("city", sorted(CITIES))
def test_two_km_of_a_centre_is_that_city(repo, users, raw, city):
    lat, lng = CITIES[city]
    got = within(repo, users, lat, lng, 2000)
    inside, band = check_distance(raw, got, lat, lng, 2000)
    # Every sample address is under 600 m from its centre.
    expected = sorted(r["id"] for r in raw["v_user"]
                      if coordinates(r) is not None
                      and r["address"]["city_name"] == city)
    assert got == expected and sorted(inside) == expected and band == 0


def test_thousand_km_of_paris(repo, users, raw):
    lat, lng = CITIES["Paris"]
    got = within(repo, users, lat, lng, 1_000_000)
    inside, band = check_distance(raw, got, lat, lng, 1_000_000)
    cities = {r["address"]["city_name"] for r in raw["v_user"]
              if r["id"] in got}
    assert cities == {"Paris", "London", "Berlin"} and band == 0


@pytest.mark.parametrize("lat,lng,meters", [
    (52.52, 13.405, 300),          # part of Berlin's scatter
    (48.8566, 2.3522, 350),        # part of Paris's
    (-23.5505, -46.6333, 420.5),   # part of São Paulo's
    (51.0, 4.0, 350_000),          # between cities: London, Paris
    (40.7128, -74.006, 6_000_000),   # New York: Paris, London, Sevilla
    (35.6762, 139.6503, 11_000_000),  # Tokyo: New York across the Pacific
    (0.0, 180.0, 12_000_000),        # a centre on the antimeridian
    (89.9, -179.9, 5_000_000),       # near the pole: Europe, not New York
])
def test_distance_within_agrees_with_haversine(repo, users, raw, lat, lng,
                                               meters):
    got = within(repo, users, lat, lng, meters)
    inside, band = check_distance(raw, got, lat, lng, meters)
    with_address = sum(1 for r in raw["v_user"] if coordinates(r) is not None)
    assert band <= with_address // 10  # the check is not vacuous


def test_distance_within_splits_a_city(repo, users, raw):
    # The radius cuts through Berlin's scatter: some of its users in, some out.
    lat, lng = CITIES["Berlin"]
    got = set(within(repo, users, lat, lng, 300))
    berlin = {r["id"] for r in raw["v_user"] if coordinates(r) is not None
              and r["address"]["city_name"] == "Berlin"}
    assert got and got < berlin


def test_half_the_circumference_reaches_every_address(repo, users, raw):
    got = within(repo, users, -10.0, 100.0, 20_100_000)
    assert got == sorted(r["id"] for r in raw["v_user"]
                         if coordinates(r) is not None)


def test_zero_meters_and_eq_find_the_exact_point(repo, users, raw):
    row = next(r for r in raw["v_user"][5:] if coordinates(r) is not None)
    c = coordinates(row)
    assert isinstance(c["lat"], Decimal)  # keeps the stored digits
    expected = sorted(
        r["id"] for r in raw["v_user"] if coordinates(r) is not None
        and float(coordinates(r)["lat"]) == float(c["lat"])
        and float(coordinates(r)["lng"]) == float(c["lng"]))
    assert row["id"] in expected
    assert within(repo, users, c["lat"], c["lng"], 0) == expected
    eq = {"address": {"coordinates": {"eq": {"lat": c["lat"],
                                             "lng": c["lng"]}}}}
    assert ids(repo.find(users, where=eq, selection="id")) == expected
    # A point a millionth of a degree away is another point.
    near = {"address": {"coordinates": {"eq": {
        "lat": c["lat"] + Decimal("0.000001"), "lng": c["lng"]}}}}
    assert row["id"] not in ids(repo.find(users, where=near, selection="id"))


def test_spellings_are_the_same_operator(repo, users):
    lat, lng = CITIES["London"]
    want = within(repo, users, lat, lng, 2000)
    assert want
    for name in ("distance_within", "distancewithin"):
        where = {"address": {"coordinates": {name: {
            "lat": lat, "lng": lng, "meters": 2000}}}}
        assert ids(repo.find(users, where=where, selection="id")) == want


def test_coordinates_combine_with_other_fields(repo, users, raw):
    lat, lng = CITIES["Paris"]
    where = {"OR": [
        {"address": {"coordinates": {"distanceWithin": {
            "lat": lat, "lng": lng, "meters": 5000}}}, "age": {"gt": 50}},
        {"NOT": {"address": {"coordinates": {"distanceWithin": {
            "lat": lat, "lng": lng, "meters": 3_000_000}}}}},
    ]}

    def near(r, meters):
        c = coordinates(r)
        return c is not None and haversine(float(c["lat"]), float(c["lng"]),
                                           lat, lng) <= meters

    # NOT of an unknown (no address) is unknown: those rows do not match.
    expected = sorted(
        r["id"] for r in raw["v_user"]
        if (near(r, 5000) and r.get("age") is not None and r["age"] > 50)
        or (coordinates(r) is not None and not near(r, 3_000_000)))
    assert ids(repo.find(users, where=where, selection="id")) == expected
    assert 0 < len(expected) < len(raw["v_user"])


P = "where.address.coordinates.distanceWithin"


@pytest.mark.parametrize("value,message", [
    ({"lat": 48.85, "lng": 2.35},
     f"invalid value at {P}.meters: missing, expected a distance in meters, "
     "0 or more"),
    ({"lat": 48.85, "lng": 2.35, "meters": -5},
     f"invalid value at {P}.meters: expected a distance in meters, 0 or "
     "more, got a number"),
    ({"lat": 48.85, "lng": 2.35, "meters": "5"},
     f"invalid value at {P}.meters: expected a distance in meters, 0 or "
     "more, got a string"),
    ({"lat": 91, "lng": 2.35, "meters": 5},
     f"invalid value at {P}.lat: expected a latitude in degrees from -90 to "
     "90, got a number"),
    ({"lat": 48.85, "lng": 180.5, "meters": 5},
     f"invalid value at {P}.lng: expected a longitude in degrees from -180 "
     "to 180, got a number"),
    ({"lat": 48.85, "lng": 2.35, "meters": 5, "unit": "km"},
     f"invalid value at {P}.unit: unknown key, expected one of lat, lng, "
     "meters"),
    ([48.85, 2.35, 5],
     f"invalid value at {P}: expected an object {{lat, lng, meters}}, got a "
     "list"),
])
def test_bad_values_fail_before_sql(fn, repo, users, value, message):
    where = {"address": {"coordinates": {"distanceWithin": value}}}
    with pytest.raises(fn.InvalidInputError) as e:
        repo.find(users, where=where, selection="id")
    assert str(e.value) == message
    assert e.value.sqlstate is None


def test_haversine_helper_agrees_with_known_distances():
    # Paris to London is about 344 km, to Berlin about 878 km.
    paris, london, berlin = CITIES["Paris"], CITIES["London"], CITIES["Berlin"]
    assert abs(haversine(*paris, *london) - 343_900) < 1_000
    assert abs(haversine(*paris, *berlin) - 877_500) < 1_500
    assert haversine(0, 179.5, 0, -179.5) == pytest.approx(111_195, rel=1e-3)
