#include "where/typed_field.h"

#include <array>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "where/kind_value.h"
#include "where/sql_identifier.h"

namespace fraiseql::where {
namespace {

struct TypeAlias {
  absl::string_view spelled;
  absl::string_view canonical;
};

// PostgreSQL's spellings of the types this library knows, lower case, one
// space between words, without typmods.
constexpr std::array<TypeAlias, 36> kTypeAliases = {{
    {"smallint", "smallint"},
    {"int2", "smallint"},
    {"integer", "integer"},
    {"int", "integer"},
    {"int4", "integer"},
    {"bigint", "bigint"},
    {"int8", "bigint"},
    {"numeric", "numeric"},
    {"decimal", "numeric"},
    {"real", "real"},
    {"float4", "real"},
    {"double precision", "double precision"},
    {"float8", "double precision"},
    {"boolean", "boolean"},
    {"bool", "boolean"},
    {"text", "text"},
    {"character varying", "varchar"},
    {"varchar", "varchar"},
    {"character", "bpchar"},
    {"char", "bpchar"},
    {"bpchar", "bpchar"},
    {"uuid", "uuid"},
    {"date", "date"},
    {"timestamp with time zone", "timestamptz"},
    {"timestamptz", "timestamptz"},
    {"timestamp", "timestamp"},
    {"timestamp without time zone", "timestamp"},
    {"inet", "inet"},
    {"cidr", "cidr"},
    {"macaddr", "macaddr"},
    {"ltree", "ltree"},
    {"daterange", "daterange"},
    {"jsonb", "jsonb"},
    {"json", "json"},
    {"tsvector", "tsvector"},
    // float(p): p <= 24 is real, else double precision (see below).
    {"float", "double precision"},
}};

absl::string_view LookUpAlias(absl::string_view spelled) {
  for (const TypeAlias& alias : kTypeAliases) {
    if (alias.spelled == spelled) return alias.canonical;
  }
  return "";
}

bool IsIntegerType(absl::string_view type) {
  return type == "smallint" || type == "integer" || type == "bigint";
}

bool IsFloatType(absl::string_view type) {
  return type == "real" || type == "double precision";
}

// The type of values compared with a bare column of canonical type
// `column_type` behind a field of `kind`, or "" when the column's type does
// not serve the kind (typed_field.h has the table).
absl::string_view ColumnValueType(FieldKind kind,
                                  absl::string_view column_type) {
  if (column_type.empty()) return "";
  absl::string_view kind_type = SqlTypeForKind(kind);
  if (column_type == kind_type) return kind_type;
  switch (kind) {
    case FieldKind::kInt:
    case FieldKind::kPort:
      if (IsIntegerType(column_type)) return "bigint";
      if (IsFloatType(column_type)) return column_type;
      return "";
    case FieldKind::kFloat:
    case FieldKind::kDecimal:
      return IsFloatType(column_type) ? column_type : "";
    case FieldKind::kString:
    case FieldKind::kEmail:
    case FieldKind::kHostname:
      return column_type == "varchar" ? column_type : "";
    case FieldKind::kId:
      if (column_type == "varchar" || column_type == "uuid") {
        return column_type;
      }
      return IsIntegerType(column_type) ? "bigint" : "";
    case FieldKind::kDateTime:
      return column_type == "timestamp" ? "timestamptz" : "";
    case FieldKind::kIpAddress:
      return column_type == "cidr" ? "inet" : "";
    default:
      return "";
  }
}

const std::string* DeclaredType(const ViewDef& view, absl::string_view column) {
  for (const auto& [name, type] : view.columns) {
    if (name == column) return &type;
  }
  return nullptr;
}

}  // namespace

std::string CanonicalColumnType(absl::string_view declared) {
  std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(declared));
  // Array bounds: `[]` or `[4]`, any number of them (PostgreSQL ignores
  // both the count and the sizes).
  bool array = false;
  while (absl::EndsWith(s, "]")) {
    size_t open = s.rfind('[');
    if (open == std::string::npos) return "";
    for (size_t i = open + 1; i + 1 < s.size(); ++i) {
      if (!absl::ascii_isdigit(s[i])) return "";
    }
    s.resize(open);
    absl::StripTrailingAsciiWhitespace(&s);
    array = true;
  }
  // Typmods: `(20)`, `(10, 2)`, also inside `timestamp(3) with time zone`.
  std::string base;
  std::string typmod;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '(') {
      base.push_back(s[i]);
      continue;
    }
    size_t close = s.find(')', i);
    if (close == std::string::npos || !typmod.empty()) return "";
    typmod = s.substr(i + 1, close - i - 1);
    for (char c : typmod) {
      if (!absl::ascii_isdigit(c) && c != ',' && c != ' ') return "";
    }
    base.push_back(' ');
    i = close;
  }
  std::vector<absl::string_view> words =
      absl::StrSplit(base, ' ', absl::SkipEmpty());
  std::string spelled = absl::StrJoin(words, " ");
  if (absl::StartsWith(spelled, "pg_catalog.")) {
    spelled.erase(0, sizeof("pg_catalog.") - 1);
  }
  if (!array && absl::StartsWith(spelled, "_") && typmod.empty()) {
    // The internal name of an array type: _int4 is integer[].
    spelled.erase(0, 1);
    array = true;
  }
  absl::string_view canonical = LookUpAlias(spelled);
  if (canonical.empty()) return "";
  if (spelled == "float" && !typmod.empty()) {
    int precision;
    if (!absl::SimpleAtoi(typmod, &precision)) return "";
    canonical = precision <= 24 ? "real" : "double precision";
  }
  return array ? absl::StrCat(canonical, "[]") : std::string(canonical);
}

TypedField TypeField(const ViewDef& view, const FieldDef& field,
                     absl::string_view row_alias, absl::string_view jsonb_sql,
                     bool at_root) {
  absl::string_view kind_type = SqlTypeForKind(field.kind);
  TypedField out;
  if (!at_root || field.column.empty()) {
    out.sql = TypedJsonbValueSql(field.kind, jsonb_sql, field.key);
    out.value_type = std::string(kind_type);
    out.kind_sql = out.sql;
    return out;
  }
  std::string column =
      absl::StrCat(row_alias, ".", QuoteIdentifier(field.column));
  const std::string* declared = DeclaredType(view, field.column);
  std::string column_type =
      declared == nullptr ? std::string() : CanonicalColumnType(*declared);
  std::string cast =
      kind_type == "jsonb" && absl::EndsWith(column_type, "[]")
          ? absl::StrCat("to_jsonb(", column, ")")
          : absl::StrCat(column, "::", kind_type);
  absl::string_view value_type = ColumnValueType(field.kind, column_type);
  if (value_type.empty()) {
    out.sql = cast;
    out.value_type = std::string(kind_type);
    out.kind_sql = out.sql;
    return out;
  }
  out.sql = column;
  out.value_type = std::string(value_type);
  out.kind_sql = column_type == kind_type ? column : cast;
  return out;
}

}  // namespace fraiseql::where
