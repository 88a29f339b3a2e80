"""The coordinate operators through the module: what a golden case cannot
say.

Which users each coordinate operator returns on the sample data
(User.address.coordinates: eq, distanceWithin with every spelling, near and
far radii, the antimeridian and the pole) is written as `rows:` cases in
plugins/where/coordinate/coordinate.golden, run on PostgreSQL by
test_where_cases.py. Here: a bad value fails before any SQL, as the
module's InvalidInputError without a sqlstate."""
import pytest

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
