// The network family (spec/where.md, section 2) on IpAddress and CIDR
// fields: inSubnet, inRange {from, to}, and the classification flags
// isPrivate, isPublic, isIPv4, isIPv6, isLoopback, isMulticast, isLinkLocal,
// isDocumentation, isCarrierGrade.
//
// What a predicate is about:
// - an IpAddress field is one address: its prefix length, if the stored
//   value has one (`192.168.1.5/24`, an interface address), is ignored, so
//   the SQL works on `host(x)::inet`;
// - a CIDR field is a network: it is in a subnet or a range when every one
//   of its addresses is (`x <<= subnet`).
//
// Flags take true or false, and false is honoured: `isPrivate: false`
// renders `NOT (...)`. Every predicate is strict in the field (NULL in,
// NULL out; `<<= ANY`, `&&`, family() and host() all are), so a row whose
// address is null or missing matches neither `true` nor `false`, like `neq`.
//
// The ranges are fixed constants written into the SQL as `inet[]` literals
// (not user input), so the SQL of a flag never varies.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "where/kind_value.h"
#include "where/operator.h"
#include "where/operator_plugin.h"

namespace fraiseql::where {
namespace {

const std::vector<FieldKind>& NetworkKinds() {
  static const auto* kinds =
      new std::vector<FieldKind>{FieldKind::kIpAddress, FieldKind::kCidr};
  return *kinds;
}

// The ranges behind each flag. Private follows the spec ("private ranges
// include IPv6 fc00::/7, fe80::/10, ::1"): RFC 1918, plus loopback and
// link-local in both families, plus unique-local IPv6.
const std::vector<std::string>& PrivateRanges() {
  static const auto* ranges = new std::vector<std::string>{
      "10.0.0.0/8",  "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
      "169.254.0.0/16", "fc00::/7",   "fe80::/10",      "::1/128"};
  return *ranges;
}
const std::vector<std::string>& LoopbackRanges() {
  static const auto* ranges =
      new std::vector<std::string>{"127.0.0.0/8", "::1/128"};
  return *ranges;
}
const std::vector<std::string>& LinkLocalRanges() {
  static const auto* ranges =
      new std::vector<std::string>{"169.254.0.0/16", "fe80::/10"};
  return *ranges;
}
const std::vector<std::string>& MulticastRanges() {
  static const auto* ranges =
      new std::vector<std::string>{"224.0.0.0/4", "ff00::/8"};
  return *ranges;
}
// TEST-NET-1/2/3 (RFC 5737) and the IPv6 documentation prefixes (RFC 3849,
// RFC 9637).
const std::vector<std::string>& DocumentationRanges() {
  static const auto* ranges = new std::vector<std::string>{
      "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32",
      "3fff::/20"};
  return *ranges;
}
// Shared address space for carrier-grade NAT (RFC 6598).
const std::vector<std::string>& CarrierGradeRanges() {
  static const auto* ranges = new std::vector<std::string>{"100.64.0.0/10"};
  return *ranges;
}
// Reserved or special ranges that are in no flag but are not public either:
// "this network", IETF protocol assignments, benchmarking, the reserved
// class E block with the limited broadcast, and the unspecified IPv6
// address.
const std::vector<std::string>& OtherReservedRanges() {
  static const auto* ranges = new std::vector<std::string>{
      "0.0.0.0/8", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4", "::/128"};
  return *ranges;
}
// Everything that is not public: the union of the above (loopback and
// link-local are inside the private list already).
std::vector<std::string> NonPublicRanges() {
  std::vector<std::string> all;
  for (const auto* list :
       {&PrivateRanges(), &MulticastRanges(), &DocumentationRanges(),
        &CarrierGradeRanges(), &OtherReservedRanges()}) {
    all.insert(all.end(), list->begin(), list->end());
  }
  return all;
}

std::string InetArrayLiteral(const std::vector<std::string>& ranges) {
  return absl::StrCat("'{", absl::StrJoin(ranges, ","), "}'::inet[]");
}

// The SQL the predicates work on: the address of an IpAddress field (prefix
// length dropped), the network of a CIDR field.
std::string Subject(const Operand& operand) {
  if (operand.kind == FieldKind::kIpAddress) {
    return absl::StrCat("host(", operand.typed_sql, ")::inet");
  }
  return operand.typed_sql;
}

OperatorInfo Info(absl::string_view key, absl::string_view name,
                  std::vector<std::string> aliases,
                  absl::string_view value_shape, absl::string_view graphql_type,
                  absl::string_view description, absl::string_view example) {
  OperatorInfo info;
  info.key = absl::StrCat("where.network.", key);
  info.name = std::string(name);
  info.aliases = std::move(aliases);
  info.kinds = NetworkKinds();
  info.value_shape = std::string(value_shape);
  info.graphql_type = std::string(graphql_type);
  info.description = std::string(description);
  info.example = std::string(example);
  return info;
}

absl::StatusOr<std::string> RenderInSubnet(const Operand& operand,
                                           const JsonValue& value,
                                           absl::string_view path,
                                           ParamList* params) {
  absl::StatusOr<Param> bound = BindValue(FieldKind::kIpAddress, value, path);
  if (!bound.ok()) {
    return ExpectedError(path, "an IP network (address or address/prefix)",
                         value);
  }
  Param param = *std::move(bound);
  // Bound as inet, not cidr: `'10.0.0.1/8'::cidr` is an error and a cidr
  // without a prefix takes a classful one ('10.0.0.0'::cidr is /8), while
  // inet `<<=` compares the first prefix-length bits only and reads a bare
  // address as /32 or /128.
  param.sql_type = "inet";
  return absl::StrCat(Subject(operand), " <<= ", params->Add(std::move(param)));
}

constexpr absl::string_view kRangeShape =
    "an object {from, to} of two IP addresses of the same family";

absl::Status RangeError(absl::string_view path, absl::string_view fact) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid value at ", path, ": ", fact, "; expected ", kRangeShape));
}

// One bound of inRange: an address without a prefix length.
absl::StatusOr<Param> BindBound(const JsonValue& value, absl::string_view path) {
  ASSIGN_OR_RETURN(Param param, BindValue(FieldKind::kIpAddress, value, path));
  if (param.text.find('/') != std::string::npos) {
    return ExpectedError(path, "an IPv4 or IPv6 address without a prefix length",
                         value);
  }
  return param;
}

absl::StatusOr<std::string> RenderInRange(const Operand& operand,
                                          const JsonValue& value,
                                          absl::string_view path,
                                          ParamList* params) {
  if (!value.is_object()) return ExpectedError(path, kRangeShape, value);
  const JsonValue* from = nullptr;
  const JsonValue* to = nullptr;
  for (const auto& [key, bound] : value.members()) {
    if (key == "from") {
      from = &bound;
    } else if (key == "to") {
      to = &bound;
    } else {
      return RangeError(path, absl::StrCat("unknown key '", key, "'"));
    }
  }
  // Both bounds are required: a null bound is not an open end.
  if (from == nullptr || from->is_null()) return RangeError(path, "missing 'from'");
  if (to == nullptr || to->is_null()) return RangeError(path, "missing 'to'");
  ASSIGN_OR_RETURN(Param low, BindBound(*from, absl::StrCat(path, ".from")));
  ASSIGN_OR_RETURN(Param high, BindBound(*to, absl::StrCat(path, ".to")));
  bool low_v6 = low.text.find(':') != std::string::npos;
  bool high_v6 = high.text.find(':') != std::string::npos;
  if (low_v6 != high_v6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value at ", path, ": 'from' is ", low_v6 ? "IPv6" : "IPv4",
        " and 'to' is ", high_v6 ? "IPv6" : "IPv4",
        "; both must be of the same family"));
  }
  // inet orders IPv4 before IPv6, so a same-family range never matches an
  // address of the other family.
  std::string low_sql = params->Add(std::move(low));
  std::string high_sql = params->Add(std::move(high));
  if (operand.kind == FieldKind::kIpAddress) {
    return absl::StrCat(Subject(operand), " BETWEEN ", low_sql, " AND ",
                        high_sql);
  }
  // A network is in the range when its first and last addresses are.
  return absl::StrCat("(host(", operand.typed_sql, ")::inet >= ", low_sql,
                      " AND host(broadcast(", operand.typed_sql,
                      "))::inet <= ", high_sql, ")");
}

// A flag: `member` is the SQL of "the field is in the flag's set"; true
// selects the rows where it holds (where it does not, for a negated flag
// such as isPublic), false the others.
RenderFunction Flag(std::function<std::string(const Operand&)> member,
                    bool negated) {
  return [member = std::move(member), negated](
             const Operand& operand, const JsonValue& value,
             absl::string_view path,
             ParamList*) -> absl::StatusOr<std::string> {
    if (!value.is_bool()) return ExpectedError(path, "true or false", value);
    std::string sql = member(operand);
    if (value.bool_value() != negated) return sql;
    return absl::StrCat("NOT (", sql, ")");
  };
}

RenderFunction WithinFlag(const std::vector<std::string>& ranges) {
  std::string array = InetArrayLiteral(ranges);
  return Flag(
      [array](const Operand& operand) {
        return absl::StrCat(Subject(operand), " <<= ANY(", array, ")");
      },
      /*negated=*/false);
}

RenderFunction FamilyFlag(int family) {
  return Flag(
      [family](const Operand& operand) {
        return absl::StrCat("family(", operand.typed_sql, ") = ", family);
      },
      /*negated=*/false);
}

std::string Described(absl::string_view what,
                      const std::vector<std::string>& ranges) {
  return absl::StrCat(what, " (", absl::StrJoin(ranges, ", "),
                      "). true: the address (for a CIDR field, the whole "
                      "network) is in one of these ranges; false: it has a "
                      "value that is not. Null or missing values match "
                      "neither.");
}

absl::Status RegisterBuiltinNetworkOperators(OperatorRegistry* registry) {
  constexpr absl::string_view kFlag = "true or false";
  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info("in_subnet", "inSubnet", {"in_subnet", "insubnet"},
           "a network address/prefix (a bare address is a /32 or /128)", "CIDR",
           "The address (for a CIDR field, the whole network) is inside the "
           "subnet, or equal to it. Bits after the prefix are ignored: "
           "192.168.1.77/24 means 192.168.1.0/24. The prefix length of a "
           "stored IpAddress value is ignored.",
           R"({"ipAddress": {"inSubnet": "192.168.0.0/16"}})"),
      RenderInSubnet)));
  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info(
          "in_range", "inRange", {"in_range", "inrange"},
          "{from, to}: two addresses of the same family, both required",
          "IpRangeInput",
          "The address is from `from` to `to`, both included, in address "
          "order (a stored prefix length is ignored); for a CIDR field, "
          "every address of the network is. An address of the other family "
          "never matches.",
          R"({"ipAddress": {"inRange": {"from": "10.0.0.1", "to": "10.0.0.99"}}})"),
      RenderInRange)));

  struct FlagSpec {
    absl::string_view key;
    absl::string_view name;
    std::vector<std::string> aliases;
    const std::vector<std::string>* ranges;
    absl::string_view what;
    absl::string_view example;
  };
  const FlagSpec flags[] = {
      {"is_private", "isPrivate", {"is_private", "isprivate"},
       &PrivateRanges(),
       "Private: RFC 1918, loopback, link-local and IPv6 unique-local",
       R"({"ipAddress": {"isPrivate": false}})"},
      {"is_loopback", "isLoopback", {"is_loopback", "isloopback"},
       &LoopbackRanges(), "Loopback",
       R"({"ipAddress": {"isLoopback": true}})"},
      {"is_multicast", "isMulticast", {"is_multicast", "ismulticast"},
       &MulticastRanges(), "Multicast",
       R"({"ipAddress": {"isMulticast": true}})"},
      {"is_link_local", "isLinkLocal", {"is_link_local", "islinklocal"},
       &LinkLocalRanges(), "Link-local",
       R"({"ipAddress": {"isLinkLocal": true}})"},
      {"is_documentation", "isDocumentation",
       {"is_documentation", "isdocumentation"}, &DocumentationRanges(),
       "Reserved for documentation (RFC 5737, RFC 3849, RFC 9637)",
       R"({"ipAddress": {"isDocumentation": false}})"},
      {"is_carrier_grade", "isCarrierGrade",
       {"is_carrier_grade", "iscarriergrade"}, &CarrierGradeRanges(),
       "Carrier-grade NAT shared address space (RFC 6598)",
       R"({"ipAddress": {"isCarrierGrade": true}})"},
  };
  for (const FlagSpec& f : flags) {
    RETURN_IF_ERROR(registry->Register(
        MakeOperator(Info(f.key, f.name, f.aliases, kFlag, "Boolean",
                          Described(f.what, *f.ranges), f.example),
                     WithinFlag(*f.ranges))));
  }

  std::vector<std::string> non_public = NonPublicRanges();
  std::string non_public_array = InetArrayLiteral(non_public);
  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info("is_public", "isPublic", {"is_public", "ispublic"}, kFlag, "Boolean",
           absl::StrCat(
               "Public: in none of the ranges of isPrivate, isMulticast, "
               "isDocumentation and isCarrierGrade, nor in the reserved ",
               absl::StrJoin(OtherReservedRanges(), ", "),
               ". true: the address (for a CIDR field, every address of the "
               "network) is public; false: it has a value and is not. Null "
               "or missing values match neither. IPv4-mapped IPv6 addresses "
               "are classified as IPv6."),
           R"({"ipAddress": {"isPublic": true}})"),
      Flag(
          [non_public_array](const Operand& operand) {
            // && (overlaps): a network is public only if no address of it
            // is special; for one address it is the same as <<=.
            return absl::StrCat(Subject(operand), " && ANY(", non_public_array,
                                ")");
          },
          /*negated=*/true))));
  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info("is_ipv4", "isIPv4", {"isIpv4", "is_ipv4", "isipv4"}, kFlag,
           "Boolean",
           "true: an IPv4 address or network; false: an IPv6 one. Null or "
           "missing values match neither.",
           R"({"ipAddress": {"isIPv4": true}})"),
      FamilyFlag(4))));
  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info("is_ipv6", "isIPv6", {"isIpv6", "is_ipv6", "isipv6"}, kFlag,
           "Boolean",
           "true: an IPv6 address or network (IPv4-mapped ones included); "
           "false: an IPv4 one. Null or missing values match neither.",
           R"({"network": {"isIPv6": false}})"),
      FamilyFlag(6))));
  return absl::OkStatus();
}

}  // namespace

FRAISEQL_WHERE_OPERATOR_PLUGIN_RANKED(network, 30,
                                      RegisterBuiltinNetworkOperators);

}  // namespace fraiseql::where
