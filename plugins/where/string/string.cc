// The string family (spec/where.md, section 2) on String, Email and Hostname
// fields: substring tests on the literal text (contains, startsWith,
// endsWith and their case-insensitive i-variants), LIKE patterns as given
// (like, ilike) and POSIX regular expressions (matches, imatches,
// notMatches).
//
// The substring tests escape `\`, `%` and `_` in the value before binding
// and put the whole LIKE pattern in the parameter (`%100\% \_real\_%`), so
// the SQL text is the same for every value. The escape character is
// PostgreSQL's default for LIKE, the backslash; no ESCAPE clause is written
// because `'\'` would be an unterminated literal under
// standard_conforming_strings = off, while the default holds under both
// settings (the pattern is a parameter, never a literal).
//
// Case-insensitive variants use ILIKE / ~*, which fold case as the
// database's LC_CTYPE does (with C.UTF-8 and other libc UTF-8 locales, every
// letter with a one-to-one lower case, not only ASCII).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "where/kind_value.h"
#include "where/operator.h"
#include "where/operator_plugin.h"

namespace fraiseql::where {
namespace {

const std::vector<FieldKind>& StringKinds() {
  static const auto* kinds = new std::vector<FieldKind>{
      FieldKind::kString, FieldKind::kEmail, FieldKind::kHostname};
  return *kinds;
}

// Where the literal text sits in the LIKE pattern.
enum class Anchor { kContains, kStartsWith, kEndsWith };

// The value with LIKE's wildcards and escape character escaped, so that the
// pattern matches exactly this text.
std::string EscapeLike(absl::string_view text) {
  std::string escaped;
  escaped.reserve(text.size() + 8);
  // Byte-wise is safe for UTF-8: the three special characters are ASCII and
  // never occur inside a multi-byte sequence.
  for (char c : text) {
    if (c == '\\' || c == '%' || c == '_') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return escaped;
}

// A string value as a text parameter: InvalidArgument for anything else
// (a number is not silently turned into text) and for a NUL character.
absl::StatusOr<Param> BindText(const JsonValue& value, absl::string_view path) {
  return BindValue(FieldKind::kString, value, path);
}

RenderFunction Substring(Anchor anchor, bool case_insensitive) {
  return [anchor, case_insensitive](
             const Operand& operand, const JsonValue& value,
             absl::string_view path,
             ParamList* params) -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(Param param, BindText(value, path));
    std::string pattern = EscapeLike(param.text);
    if (anchor != Anchor::kStartsWith) pattern.insert(0, "%");
    if (anchor != Anchor::kEndsWith) pattern.push_back('%');
    param.text = std::move(pattern);
    return absl::StrCat(operand.typed_sql,
                        case_insensitive ? " ILIKE " : " LIKE ",
                        params->Add(std::move(param)));
  };
}

// `operand <sql_operator> $n::text` with the value bound as given: a LIKE
// pattern or a regular expression. A malformed regular expression is
// reported by the server (SQLSTATE 2201B); only the type is checked here.
RenderFunction Pattern(std::string sql_operator) {
  return [sql_operator](const Operand& operand, const JsonValue& value,
                        absl::string_view path,
                        ParamList* params) -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(Param param, BindText(value, path));
    return absl::StrCat(operand.typed_sql, " ", sql_operator, " ",
                        params->Add(std::move(param)));
  };
}


absl::Status RegisterBuiltinStringOperators(OperatorRegistry* registry) {
  constexpr char kText[] = "a string, matched literally";
  constexpr char kLike[] =
      "a LIKE pattern (% any text, _ one character, \\ escapes)";
  constexpr char kRegex[] = "a POSIX regular expression";
  std::vector<OperatorSpec> specs = {
      {"contains",
       "contains",
       {},
       kText,
       "String",
       "Contains the text, case-sensitively. %, _ and \\ in the value are "
       "ordinary characters. Null and missing values do not match.",
       R"({"firstName": {"contains": "100%"}})",
       Substring(Anchor::kContains, false)},
      {"icontains",
       "icontains",
       {},
       kText,
       "String",
       "Contains the text, ignoring case (as ILIKE folds case in the "
       "database's locale). %, _ and \\ are ordinary characters.",
       R"({"email": {"icontains": "example.net"}})",
       Substring(Anchor::kContains, true)},
      {"starts_with",
       "startsWith",
       {"startswith", "starts_with"},
       kText,
       "String",
       "Starts with the text, case-sensitively; %, _ and \\ are ordinary "
       "characters.",
       R"({"lastName": {"startsWith": "O'"}})",
       Substring(Anchor::kStartsWith, false)},
      {"istarts_with",
       "istartsWith",
       {"istartswith", "istarts_with"},
       kText,
       "String",
       "Starts with the text, ignoring case; %, _ and \\ are ordinary "
       "characters.",
       R"({"hostname": {"istartsWith": "db-"}})",
       Substring(Anchor::kStartsWith, true)},
      {"ends_with",
       "endsWith",
       {"endswith", "ends_with"},
       kText,
       "String",
       "Ends with the text, case-sensitively; %, _ and \\ are ordinary "
       "characters.",
       R"({"email": {"endsWith": "@example.com"}})",
       Substring(Anchor::kEndsWith, false)},
      {"iends_with",
       "iendsWith",
       {"iendswith", "iends_with"},
       kText,
       "String",
       "Ends with the text, ignoring case; %, _ and \\ are ordinary "
       "characters.",
       R"({"email": {"iendsWith": "@EXAMPLE.NET"}})",
       Substring(Anchor::kEndsWith, true)},
      {"like",
       "like",
       {},
       kLike,
       "String",
       "Matches the SQL LIKE pattern as given (case-sensitive): % is any "
       "text, _ one character, \\ escapes the next character. The whole "
       "value must match.",
       R"({"firstName": {"like": "A%e"}})",
       Pattern("LIKE")},
      {"ilike",
       "ilike",
       {},
       kLike,
       "String",
       "Matches the LIKE pattern as given, ignoring case (ILIKE).",
       R"({"email": {"ilike": "%@example.net"}})",
       Pattern("ILIKE")},
      {"matches",
       "matches",
       {},
       kRegex,
       "String",
       "Matches the POSIX regular expression (PostgreSQL ~, case-sensitive, "
       "unanchored: use ^ and $ to anchor). A malformed expression is a "
       "database error (SQLSTATE 2201B).",
       R"({"email": {"matches": "^user[0-9]+@"}})",
       Pattern("~")},
      {"imatches",
       "imatches",
       {},
       kRegex,
       "String",
       "Matches the POSIX regular expression ignoring case (PostgreSQL ~*).",
       R"({"hostname": {"imatches": "^web-\\d+\\.prod$"}})",
       Pattern("~*")},
      {"not_matches",
       "notMatches",
       {"notmatches", "not_matches"},
       kRegex,
       "String",
       "Does not match the POSIX regular expression (PostgreSQL !~, "
       "case-sensitive). Null and missing values do not match.",
       R"({"firstName": {"notMatches": "^[A-M]"}})",
       Pattern("!~")},
  };
  return RegisterFamily(registry, "string", StringKinds(), std::move(specs));
}

}  // namespace

FRAISEQL_WHERE_OPERATOR_PLUGIN_RANKED(string, 20,
                                      RegisterBuiltinStringOperators);

}  // namespace fraiseql::where
