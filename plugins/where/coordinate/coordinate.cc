// The coordinate family (spec/where.md, section 2). A Coordinate is a JSONB
// object {"lat": <degrees>, "lng": <degrees>}; both operators read its two
// numbers as float8. distanceWithin needs PostgreSQL's cube and
// earthdistance extensions.
//
// Distances are great-circle distances on earthdistance's sphere (radius
// earth() = 6378168 m): within 0.12 % of the haversine distance on the mean
// Earth radius (6371.0 km), inside the 0.5 % the spec allows. The condition
// is earthdistance's documented indexable form: an earth_box() containment
// test, which a GiST index on ll_to_earth(lat, lng) of the same expressions
// can serve, refined by the exact earth_distance() test.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "where/kind_value.h"
#include "where/operator.h"
#include "where/operator_plugin.h"
#include "where/sql_identifier.h"

namespace fraiseql::where {
namespace {

// One required number of a coordinate value, with its closed range.
struct NumberKey {
  absl::string_view name;
  absl::string_view expected;
  double min;
  double max;
};

constexpr NumberKey kLat{"lat", "a latitude in degrees from -90 to 90", -90,
                         90};
constexpr NumberKey kLng{"lng", "a longitude in degrees from -180 to 180", -180,
                         180};
constexpr NumberKey kMeters{"meters", "a distance in meters, 0 or more", 0,
                            std::numeric_limits<double>::infinity()};

// Checks an object holding exactly `keys`, each a number in its range, and
// returns one float8 parameter per key, in the order of `keys` (so the SQL
// does not depend on the input's key order).
absl::StatusOr<std::vector<Param>> BindNumbers(
    const JsonValue& value, absl::string_view path,
    const std::vector<NumberKey>& keys) {
  std::string names =
      absl::StrJoin(keys, ", ", [](std::string* out, const NumberKey& k) {
        absl::StrAppend(out, k.name);
      });
  if (!value.is_object()) {
    return ExpectedError(path, absl::StrCat("an object {", names, "}"), value);
  }
  for (const auto& [key, member] : value.members()) {
    bool known = false;
    for (const NumberKey& k : keys) known = known || k.name == key;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value at ", path, ".", key,
                       ": unknown key, expected one of ", names));
    }
  }
  std::vector<Param> params;
  for (const NumberKey& k : keys) {
    std::string key_path = absl::StrCat(path, ".", k.name);
    const JsonValue* member = nullptr;
    for (const auto& [key, v] : value.members()) {
      if (key == k.name) member = &v;
    }
    if (member == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid value at ", key_path, ": missing, expected ", k.expected));
    }
    double number;
    if (!member->is_number() || !absl::SimpleAtod(member->text(), &number) ||
        !std::isfinite(number) || number < k.min || number > k.max) {
      return ExpectedError(key_path, k.expected, *member);
    }
    Param param;
    // The literal as written, except that whatever reads as zero is sent as
    // 0: PostgreSQL rejects a literal that underflows (1e-400).
    param.text = number == 0 ? "0" : member->text();
    param.sql_type = "float8";
    params.push_back(std::move(param));
  }
  return params;
}

// The stored coordinate's two numbers.
std::string StoredNumber(const Operand& operand, absl::string_view key) {
  return absl::StrCat("(", operand.typed_sql, "->>", QuoteLiteral(key),
                      ")::float8");
}

absl::StatusOr<std::string> RenderEq(const Operand& operand,
                                     const JsonValue& value,
                                     absl::string_view path,
                                     ParamList* params) {
  ASSIGN_OR_RETURN(std::vector<Param> bound,
                   BindNumbers(value, path, {kLat, kLng}));
  std::string lat = params->Add(std::move(bound[0]));
  std::string lng = params->Add(std::move(bound[1]));
  return absl::StrCat("(", StoredNumber(operand, "lat"), " = ", lat, " AND ",
                      StoredNumber(operand, "lng"), " = ", lng, ")");
}

absl::StatusOr<std::string> RenderDistanceWithin(const Operand& operand,
                                                 const JsonValue& value,
                                                 absl::string_view path,
                                                 ParamList* params) {
  ASSIGN_OR_RETURN(std::vector<Param> bound,
                   BindNumbers(value, path, {kLat, kLng, kMeters}));
  std::string lat = params->Add(std::move(bound[0]));
  std::string lng = params->Add(std::move(bound[1]));
  std::string meters = params->Add(std::move(bound[2]));
  std::string stored =
      absl::StrCat("ll_to_earth(", StoredNumber(operand, "lat"), ", ",
                   StoredNumber(operand, "lng"), ")");
  std::string centre = absl::StrCat("ll_to_earth(", lat, ", ", lng, ")");
  return absl::StrCat("(earth_box(", centre, ", ", meters, ") @> ", stored,
                      " AND earth_distance(", stored, ", ", centre,
                      ") <= ", meters, ")");
}

OperatorInfo Info(absl::string_view key, absl::string_view name,
                  std::vector<std::string> aliases,
                  absl::string_view value_shape, absl::string_view graphql_type,
                  absl::string_view description, absl::string_view example) {
  OperatorInfo info;
  info.key = absl::StrCat("where.coordinate.", key);
  info.name = std::string(name);
  info.aliases = std::move(aliases);
  info.kinds = {FieldKind::kCoordinate};
  info.value_shape = std::string(value_shape);
  info.graphql_type = std::string(graphql_type);
  info.description = std::string(description);
  info.example = std::string(example);
  return info;
}

absl::Status RegisterBuiltinCoordinateOperators(OperatorRegistry* registry) {
  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info("eq", "eq", {}, "an object {lat, lng} in degrees", "CoordinateInput",
           "The same point: both numbers equal as float8.",
           R"({"location": {"eq": {"lat": 48.8566, "lng": 2.3522}}})"),
      RenderEq)));
  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info("distance_within", "distanceWithin",
           {"distance_within", "distancewithin"},
           "an object {lat, lng, meters}: a centre in degrees and a radius",
           "DistanceWithinInput",
           "The point lies within `meters` of the centre, by great-circle "
           "distance on earthdistance's sphere of radius 6378168 m (within "
           "0.12 % of the haversine distance on the mean Earth radius). "
           "Needs the cube and earthdistance extensions; a GiST index on "
           "ll_to_earth(lat, lng) serves it.",
           R"({"location": {"distanceWithin": )"
           R"({"lat": 48.8566, "lng": 2.3522, "meters": 2000}}})"),
      RenderDistanceWithin)));
  return absl::OkStatus();
}

}  // namespace

FRAISEQL_WHERE_OPERATOR_PLUGIN_RANKED(coordinate, 100,
                                      RegisterBuiltinCoordinateOperators);

}  // namespace fraiseql::where
