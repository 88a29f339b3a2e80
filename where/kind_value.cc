#include "where/kind_value.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "where/sql_identifier.h"

namespace fraiseql::where {
namespace {

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// JSON number grammar, also used for numeric strings given to Decimal.
bool IsNumberLiteral(absl::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  size_t digits = i;
  while (i < s.size() && absl::ascii_isdigit(s[i])) ++i;
  if (i == digits) return false;
  if (i < s.size() && s[i] == '.') {
    size_t frac = ++i;
    while (i < s.size() && absl::ascii_isdigit(s[i])) ++i;
    if (i == frac) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp = i;
    while (i < s.size() && absl::ascii_isdigit(s[i])) ++i;
    if (i == exp) return false;
  }
  return i == s.size();
}

bool IsIntegerLiteral(absl::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  return AllDigits(s);
}

bool IsUuid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !absl::ascii_isxdigit(s[i])) return false;
  }
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool IsDate(absl::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  int y, m, d;
  if (!AllDigits(s.substr(0, 4)) || !AllDigits(s.substr(5, 2)) ||
      !AllDigits(s.substr(8, 2)) || !absl::SimpleAtoi(s.substr(0, 4), &y) ||
      !absl::SimpleAtoi(s.substr(5, 2), &m) ||
      !absl::SimpleAtoi(s.substr(8, 2), &d)) {
    return false;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  // PostgreSQL has no year 0 (1 BC is written with a BC suffix).
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  int max_day = kDays[m - 1] + (m == 2 && IsLeap(y) ? 1 : 0);
  return d <= max_day;
}

bool TwoDigitsInRange(absl::string_view s, int max) {
  int v;
  return s.size() == 2 && AllDigits(s) && absl::SimpleAtoi(s, &v) && v <= max;
}

// YYYY-MM-DD[Th]hh:mm[:ss[.fraction]][Z|±hh[:mm]]
bool IsDateTime(absl::string_view s) {
  if (s.size() < 16 || !IsDate(s.substr(0, 10))) return false;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
  absl::string_view rest = s.substr(11);
  if (!TwoDigitsInRange(rest.substr(0, 2), 23) || rest[2] != ':' ||
      !TwoDigitsInRange(rest.substr(3, 2), 59)) {
    return false;
  }
  rest.remove_prefix(5);
  if (!rest.empty() && rest[0] == ':') {
    if (!TwoDigitsInRange(rest.substr(1, 2), 60)) return false;
    rest.remove_prefix(3);
    if (!rest.empty() && rest[0] == '.') {
      size_t n = 1;
      while (n < rest.size() && absl::ascii_isdigit(rest[n])) ++n;
      if (n == 1) return false;
      rest.remove_prefix(n);
    }
  }
  if (rest.empty() || rest == "Z" || rest == "z") return true;
  if (rest[0] != '+' && rest[0] != '-') return false;
  rest.remove_prefix(1);
  if (!TwoDigitsInRange(rest.substr(0, 2), 15)) return false;
  rest.remove_prefix(2);
  if (rest.empty()) return true;
  if (rest[0] == ':') rest.remove_prefix(1);
  return TwoDigitsInRange(rest, 59);
}

// An IPv4/IPv6 address with an optional /prefix (inet input). With
// `network`, the form of a cidr: the prefix is required and no bit may be set
// past it (PostgreSQL rejects 10.0.0.1/8 as a cidr).
bool IsIpAddress(absl::string_view s, bool network) {
  std::string address(s);
  std::string prefix;
  bool has_prefix = false;
  if (size_t slash = address.find('/'); slash != std::string::npos) {
    has_prefix = true;
    prefix = address.substr(slash + 1);
    address.resize(slash);
  }
  unsigned char buf[16];
  int max_prefix;
  if (inet_pton(AF_INET, address.c_str(), buf) == 1) {
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), buf) == 1) {
    max_prefix = 128;
  } else {
    return false;
  }
  if (!has_prefix) return !network;
  int bits;
  if (!AllDigits(prefix) || !absl::SimpleAtoi(prefix, &bits) || bits < 0 ||
      bits > max_prefix) {
    return false;
  }
  if (!network) return true;
  for (int bit = bits; bit < max_prefix; ++bit) {
    if (buf[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

bool IsMacAddress(absl::string_view s) {
  std::vector<absl::string_view> parts = absl::StrSplit(s, absl::ByAnyChar(":-"));
  if (parts.size() != 6) return false;
  for (absl::string_view p : parts) {
    if (p.size() != 2 || !absl::ascii_isxdigit(p[0]) ||
        !absl::ascii_isxdigit(p[1])) {
      return false;
    }
  }
  return true;
}

bool IsLTree(absl::string_view s) {
  if (s.empty()) return true;  // the empty path is a valid ltree
  for (absl::string_view label : absl::StrSplit(s, '.')) {
    if (label.empty() || label.size() > 1000) return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '_' && c != '-') return false;
    }
  }
  return true;
}

bool IsDateRange(absl::string_view s) {
  if (s == "empty") return true;
  if (s.size() < 3) return false;
  if ((s.front() != '[' && s.front() != '(') ||
      (s.back() != ']' && s.back() != ')')) {
    return false;
  }
  std::vector<absl::string_view> bounds =
      absl::StrSplit(s.substr(1, s.size() - 2), ',');
  if (bounds.size() != 2) return false;
  for (absl::string_view b : bounds) {
    b = absl::StripAsciiWhitespace(b);
    if (!b.empty() && !IsDate(b)) return false;
  }
  return true;
}

}  // namespace

absl::Status ExpectedError(absl::string_view path, absl::string_view expected,
                           const JsonValue& got) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid value at ", path, ": expected ", expected, ", got ",
      got.TypeDescription()));
}

namespace {

// A value of the JSON type the kind takes, but not in the kind's form (a
// string that is no UUID, a number that is no integer). Neither message
// shows the value: it may be a secret, and it is the caller's own input.
absl::Status Expected(absl::string_view path, absl::string_view expected,
                      const JsonValue& got, bool right_json_type) {
  if (!right_json_type) return ExpectedError(path, expected, got);
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid value at ", path, ": expected ", expected, ", got ",
      got.TypeDescription(), " that does not fit"));
}

bool IsSigned64(absl::string_view literal) {
  int64_t unused;
  return IsIntegerLiteral(literal) && absl::SimpleAtoi(literal, &unused);
}

// A finite float8 (or float4) that PostgreSQL's input function accepts: it
// refuses overflow to infinity and underflow of a non-zero literal to 0.
bool IsFiniteFloat(absl::string_view literal, bool single) {
  std::string text(literal);
  errno = 0;
  char* end = nullptr;
  double value = single ? std::strtof(text.c_str(), &end)
                        : std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || std::isinf(value)) return false;
  if (value == 0 && errno == ERANGE) return false;
  return true;
}

// How a value of a kind must look to fit `value_type`, when that type takes
// less than the kind does (FitsValueType), after the kind's name.
absl::string_view ValueTypeForm(absl::string_view value_type) {
  if (value_type == "bigint") {
    return "that is a whole number within bigint's range";
  }
  if (value_type == "uuid") {
    return "that is a UUID (8-4-4-4-12 hexadecimal digits)";
  }
  if (value_type == "real") return "within real's range";
  if (value_type == "double precision") {
    return "within double precision's range";
  }
  return "that the type takes";
}

bool FitsValueType(absl::string_view value_type, absl::string_view text) {
  if (value_type == "bigint") return IsSigned64(text);
  if (value_type == "uuid") return IsUuid(text);
  if (value_type == "real") return IsFiniteFloat(text, true);
  if (value_type == "double precision") return IsFiniteFloat(text, false);
  return true;
}

}  // namespace

absl::string_view SqlTypeForKind(FieldKind kind) {
  switch (kind) {
    case FieldKind::kInt:
    case FieldKind::kFloat:
    case FieldKind::kDecimal:
    case FieldKind::kPort:
      return "numeric";
    case FieldKind::kBoolean:
      return "boolean";
    case FieldKind::kUuid:
      return "uuid";
    case FieldKind::kDate:
      return "date";
    case FieldKind::kDateTime:
      return "timestamptz";
    case FieldKind::kIpAddress:
      return "inet";
    case FieldKind::kCidr:
      return "cidr";
    case FieldKind::kMacAddress:
      return "macaddr";
    case FieldKind::kLTree:
      return "ltree";
    case FieldKind::kDateRange:
      return "daterange";
    case FieldKind::kJson:
    case FieldKind::kList:
    case FieldKind::kObject:
    case FieldKind::kCoordinate:
    case FieldKind::kVector:
      return "jsonb";
    case FieldKind::kFullText:
      return "tsvector";
    case FieldKind::kString:
    case FieldKind::kEmail:
    case FieldKind::kHostname:
    case FieldKind::kId:
      return "text";
  }
  return "text";
}

std::string TypedJsonbValueSql(FieldKind kind, absl::string_view parent_sql,
                               absl::string_view key) {
  absl::string_view type = SqlTypeForKind(kind);
  if (type == "jsonb") return absl::StrCat(parent_sql, "->", QuoteLiteral(key));
  std::string text = absl::StrCat(parent_sql, "->>", QuoteLiteral(key));
  if (type == "text") return text;
  return absl::StrCat("(", text, ")::", type);
}

namespace {

struct KindForm {
  FieldKind kind;
  absl::string_view name;  // with its article: "an Int"
  absl::string_view form;  // what its values look like
};

constexpr KindForm kKindForms[] = {
    {FieldKind::kString, "a String", ""},
    {FieldKind::kEmail, "an Email", "a string"},
    {FieldKind::kHostname, "a Hostname", "a string"},
    {FieldKind::kId, "an ID", "a string"},
    {FieldKind::kInt, "an Int", "a whole number"},
    {FieldKind::kPort, "a Port", "a whole number from 0 to 65535"},
    {FieldKind::kFloat, "a Float", "a number"},
    {FieldKind::kDecimal, "a Decimal", "a number or a numeric string"},
    {FieldKind::kBoolean, "a Boolean", "true or false"},
    {FieldKind::kUuid, "a UUID", "8-4-4-4-12 hexadecimal digits"},
    {FieldKind::kDate, "a Date", "YYYY-MM-DD"},
    {FieldKind::kDateTime, "a DateTime",
     "ISO 8601: YYYY-MM-DDThh:mm[:ss][zone]"},
    {FieldKind::kIpAddress, "an IpAddress", "an IPv4 or IPv6 address"},
    {FieldKind::kCidr, "a CIDR",
     "address/prefix, no bits set past the prefix"},
    {FieldKind::kMacAddress, "a MacAddress", "six hex pairs"},
    {FieldKind::kLTree, "an LTree",
     "labels of [A-Za-z0-9_-] joined by '.'"},
    {FieldKind::kDateRange, "a DateRange", "like [2024-01-01,2024-02-01)"},
    {FieldKind::kFullText, "a FullText", "a string"},
};

const KindForm& FormOf(FieldKind kind) {
  for (const KindForm& f : kKindForms) {
    if (f.kind == kind) return f;
  }
  return kKindForms[0];
}

}  // namespace

std::string KindExpectation(FieldKind kind) {
  const KindForm& f = FormOf(kind);
  if (f.form.empty()) return std::string(f.name);
  return absl::StrCat(f.name, " (", f.form, ")");
}

absl::StatusOr<Param> BindValue(FieldKind kind, const JsonValue& value,
                                absl::string_view path) {
  Param param;
  param.sql_type = std::string(SqlTypeForKind(kind));
  if (param.sql_type == "jsonb") {
    // jsonb cannot store NUL either: refuse it here, not at the server.
    absl::Status storable = CheckJsonStorable(value, std::string(path));
    if (!storable.ok()) return storable;
    param.text = value.ToJson();
    return param;
  }
  if (value.is_string() && value.text().find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value at ", path,
        ": text contains a NUL character, which PostgreSQL cannot store"));
  }
  // right_type: the JSON type the kind is written as; fits: and its form.
  bool right_type = value.is_string();
  bool fits = right_type;
  const std::string& text = value.text();
  switch (kind) {
    case FieldKind::kInt:
      right_type = value.is_number();
      fits = right_type && IsIntegerLiteral(text);
      break;
    case FieldKind::kPort: {
      int port;
      right_type = value.is_number();
      fits = right_type && AllDigits(text) && absl::SimpleAtoi(text, &port) &&
             port <= 65535;
      break;
    }
    case FieldKind::kFloat:
      right_type = fits = value.is_number();
      break;
    case FieldKind::kDecimal:
      right_type = value.is_number() || value.is_string();
      fits = value.is_number() || (value.is_string() && IsNumberLiteral(text));
      break;
    case FieldKind::kBoolean:
      right_type = fits = value.is_bool();
      break;
    case FieldKind::kUuid:
      fits = right_type && IsUuid(text);
      break;
    case FieldKind::kDate:
      fits = right_type && IsDate(text);
      break;
    case FieldKind::kDateTime:
      fits = right_type && IsDateTime(text);
      break;
    case FieldKind::kIpAddress:
      fits = right_type && IsIpAddress(text, false);
      break;
    case FieldKind::kCidr:
      fits = right_type && IsIpAddress(text, true);
      break;
    case FieldKind::kMacAddress:
      fits = right_type && IsMacAddress(text);
      break;
    case FieldKind::kLTree:
      fits = right_type && IsLTree(text);
      break;
    case FieldKind::kDateRange:
      fits = right_type && IsDateRange(text);
      break;
    default:  // the text kinds: any string
      break;
  }
  if (!fits) return Expected(path, KindExpectation(kind), value, right_type);
  if (kind == FieldKind::kBoolean) {
    param.text = value.bool_value() ? "true" : "false";
  } else {
    param.text = text;
  }
  return param;
}

absl::StatusOr<Param> BindValueAs(FieldKind kind, absl::string_view value_type,
                                  const JsonValue& value,
                                  absl::string_view path) {
  absl::StatusOr<Param> param = BindValue(kind, value, path);
  if (!param.ok() || value_type.empty() || value_type == param->sql_type) {
    return param;
  }
  if (!FitsValueType(value_type, param->text)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value at ", path, ": expected ", FormOf(kind).name, " ",
        ValueTypeForm(value_type), ", as its column is compared as ",
        value_type, ", got ", value.TypeDescription(), " that does not fit"));
  }
  param->sql_type = std::string(value_type);
  return param;
}

absl::StatusOr<Param> BindList(FieldKind kind, const JsonValue& value,
                               absl::string_view path, int max_items) {
  return BindListAs(kind, "", value, path, max_items);
}

absl::StatusOr<Param> BindListAs(FieldKind kind, absl::string_view value_type,
                                 const JsonValue& value,
                                 absl::string_view path, int max_items) {
  if (!value.is_array()) {
    return ExpectedError(
        path, absl::StrCat("a list of ", FieldKindName(kind), " values"),
        value);
  }
  if (static_cast<int>(value.items().size()) > max_items) {
    return absl::InvalidArgumentError(absl::StrCat(
        "list too long at ", path, ": ", value.items().size(),
        " items, at most ", max_items, " allowed"));
  }
  Param param;
  param.sql_type = absl::StrCat(
      value_type.empty() ? SqlTypeForKind(kind) : value_type, "[]");
  param.text = "{";
  for (size_t i = 0; i < value.items().size(); ++i) {
    std::string item_path = absl::StrCat(path, "[", i, "]");
    const JsonValue& item = value.items()[i];
    if (item.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid value at ", item_path, ": null is not allowed in a list"));
    }
    absl::StatusOr<Param> bound = BindValueAs(kind, value_type, item, item_path);
    if (!bound.ok()) return bound.status();
    if (i > 0) param.text.push_back(',');
    // Array literal element: always quoted, with " and \ escaped.
    param.text.push_back('"');
    for (char c : bound->text) {
      if (c == '"' || c == '\\') param.text.push_back('\\');
      param.text.push_back(c);
    }
    param.text.push_back('"');
  }
  param.text.push_back('}');
  return param;
}

namespace {
absl::Status NulError(absl::string_view path) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid value at ", path,
      ": text contains a NUL character, which PostgreSQL cannot store"));
}
}  // namespace

absl::Status CheckJsonStorable(const JsonValue& value, const std::string& path) {
  switch (value.type()) {
    case JsonValue::Type::kString:
      if (value.text().find('\0') != std::string::npos) return NulError(path);
      break;
    case JsonValue::Type::kArray:
      for (size_t i = 0; i < value.items().size(); ++i) {
        absl::Status status = CheckJsonStorable(
            value.items()[i], absl::StrCat(path, "[", i, "]"));
        if (!status.ok()) return status;
      }
      break;
    case JsonValue::Type::kObject:
      for (const auto& [key, member] : value.members()) {
        if (key.find('\0') != std::string::npos) return NulError(path);
        absl::Status status =
            CheckJsonStorable(member, absl::StrCat(path, ".", key));
        if (!status.ok()) return status;
      }
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

}  // namespace fraiseql::where
