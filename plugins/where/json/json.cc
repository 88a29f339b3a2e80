// The JSON family (spec/where.md, section 2) on JSON fields, whose operand
// is a jsonb value (`t."data"->'preferences'`): key tests (hasKey,
// hasAnyKeys, hasAllKeys), containment (contains, containedBy) and SQL/JSON
// path tests (pathExists, pathMatch). eq/neq (JSON value equality) and
// isnull belong to the comparison family.
//
// Each operator is one jsonb operator with one bound parameter, so a GIN
// index on the expression (jsonb_ops; jsonb_path_ops for @>, @? and @@)
// can serve it, and the SQL text is the same whatever the value. The
// semantics are PostgreSQL's, unchanged:
//   - hasKey and friends are `?`, `?|`, `?&`: top-level keys of an object,
//     or string elements of an array. hasAnyKeys: [] matches nothing,
//     hasAllKeys: [] every row with a value (`?&` of no keys is true).
//   - contains / containedBy are `@>` / `<@`: nested, partial containment
//     (`{"notifications": {"push": true}}` is contained in the whole
//     preferences object); numbers compare as numbers (12 = 12.0).
//   - pathExists / pathMatch are `@?` / `@@` (lax mode unless the path says
//     strict). `@@` of a path that yields no boolean is null: no match.
//     The path is checked lightly here (a string whose brackets and quotes
//     balance, with no `$variable`, which could never be bound); the server
//     parses it, and a syntax error there is SQLSTATE 42601
//     (InvalidArgument).
// jsonb cannot hold a NUL character (\u0000): such values are rejected
// before any SQL is sent, naming the position inside the value.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "where/kind_value.h"
#include "where/operator.h"
#include "where/operator_plugin.h"

namespace fraiseql::where {
namespace {

// One key: a string without NUL.
absl::StatusOr<Param> BindKey(const JsonValue& value, absl::string_view path) {
  if (!value.is_string()) return ExpectedError(path, "a key (a string)", value);
  RETURN_IF_ERROR(CheckJsonStorable(value, std::string(path)));
  return Param{value.text(), "text"};
}

// A list of keys as one text[] parameter (the SQL does not depend on its
// length).
absl::StatusOr<Param> BindKeys(const Operand& operand, const JsonValue& value,
                               absl::string_view path) {
  if (!value.is_array()) {
    return ExpectedError(path, "a list of keys (strings)", value);
  }
  return BindList(FieldKind::kString, value, path, operand.max_list_items);
}

enum class PathCheck { kOk, kMalformed, kVariable };

// A light check of a SQL/JSON path: not blank, brackets and double-quoted
// strings balanced, no `$name` / `$"name"` variable (nothing could bind
// it: the server would fail with "could not find jsonpath variable").
PathCheck CheckJsonPath(absl::string_view path) {
  if (absl::StripAsciiWhitespace(path).empty()) return PathCheck::kMalformed;
  std::vector<char> open;
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '"') {
      for (++i; i < path.size() && path[i] != '"'; ++i) {
        if (path[i] == '\\') ++i;
      }
      if (i >= path.size()) return PathCheck::kMalformed;
    } else if (c == '(' || c == '[') {
      open.push_back(c);
    } else if (c == ')' || c == ']') {
      if (open.empty() || open.back() != (c == ')' ? '(' : '[')) {
        return PathCheck::kMalformed;
      }
      open.pop_back();
    } else if (c == '$' && i + 1 < path.size() &&
               (absl::ascii_isalpha(path[i + 1]) || path[i + 1] == '_' ||
                path[i + 1] == '"')) {
      return PathCheck::kVariable;
    }
  }
  return open.empty() ? PathCheck::kOk : PathCheck::kMalformed;
}

absl::StatusOr<Param> BindJsonPath(const JsonValue& value,
                                   absl::string_view path) {
  constexpr char kExpected[] =
      "a SQL/JSON path with balanced brackets and quotes, like "
      "$.theme or $.tags[*] ? (@ == \"dev\")";
  if (!value.is_string()) return ExpectedError(path, kExpected, value);
  RETURN_IF_ERROR(CheckJsonStorable(value, std::string(path)));
  switch (CheckJsonPath(value.text())) {
    case PathCheck::kOk:
      break;
    case PathCheck::kMalformed:
      return ExpectedError(path, kExpected, value);
    case PathCheck::kVariable:
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid value at ", path,
          ": SQL/JSON path variables ($name) are not supported; write the "
          "value into the path"));
  }
  return Param{value.text(), "jsonpath"};
}

// `operand <sql_operator> $n::<type>` with the value bound by `bind`.
template <typename Bind>
RenderFunction Binary(std::string sql_operator, Bind bind) {
  return [sql_operator, bind](
             const Operand& operand, const JsonValue& value,
             absl::string_view path,
             ParamList* params) -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(Param param, bind(operand, value, path));
    return absl::StrCat(operand.typed_sql, " ", sql_operator, " ",
                        params->Add(std::move(param)));
  };
}

absl::StatusOr<Param> BindOneKey(const Operand&, const JsonValue& value,
                                 absl::string_view path) {
  return BindKey(value, path);
}

absl::StatusOr<Param> BindDocument(const Operand&, const JsonValue& value,
                                   absl::string_view path) {
  RETURN_IF_ERROR(CheckJsonStorable(value, std::string(path)));
  return Param{value.ToJson(), "jsonb"};
}

absl::StatusOr<Param> BindPath(const Operand&, const JsonValue& value,
                               absl::string_view path) {
  return BindJsonPath(value, path);
}


absl::Status RegisterBuiltinJsonOperators(OperatorRegistry* registry) {
  std::vector<OperatorSpec> specs = {
      {"has_key",
       "hasKey",
       {"has_key", "haskey"},
       "a key (a string)",
       "String",
       "The object has this top-level key (PostgreSQL ?; on an array: a "
       "string element equal to it).",
       R"({"preferences": {"hasKey": "beta_opt_in"}})",
       Binary("?", BindOneKey)},
      {"has_any_keys",
       "hasAnyKeys",
       {"has_any_keys", "hasanykeys"},
       "a list of keys (strings)",
       "[String!]",
       "The object has at least one of the top-level keys (PostgreSQL ?|); "
       "an empty list matches nothing.",
       R"({"preferences": {"hasAnyKeys": ["beta_opt_in", "theme"]}})",
       Binary("?|", BindKeys)},
      {"has_all_keys",
       "hasAllKeys",
       {"has_all_keys", "hasallkeys"},
       "a list of keys (strings)",
       "[String!]",
       "The object has every one of the top-level keys (PostgreSQL ?&); an "
       "empty list matches every row with a value.",
       R"({"preferences": {"hasAllKeys": ["theme", "language"]}})",
       Binary("?&", BindKeys)},
      {"contains",
       "contains",
       {},
       "any JSON value",
       "JSON",
       "Contains the JSON value (PostgreSQL @>): nested and partial for "
       "objects, every given element for arrays, numbers compared as "
       "numbers.",
       R"({"preferences": {"contains": {"notifications": {"push": true}}}})",
       Binary("@>", BindDocument)},
      {"contained_by",
       "containedBy",
       {"contained_by", "containedby"},
       "any JSON value",
       "JSON",
       "Is contained in the JSON value (PostgreSQL <@): every key and value "
       "of the field also occurs in it.",
       R"({"preferences": )"
       R"({"containedBy": {"theme": "dark", "language": "en"}}})",
       Binary("<@", BindDocument)},
      {"path_exists",
       "pathExists",
       {"path_exists", "pathexists"},
       "a SQL/JSON path (a string)",
       "String",
       "The SQL/JSON path returns at least one item (PostgreSQL @?, lax "
       "mode unless the path starts with strict). Variables ($name) are not "
       "supported.",
       R"({"preferences": )"
       R"json({"pathExists": "$.recentSearches[*] ? (@ == \"zoë\")"}})json",
       Binary("@?", BindPath)},
      {"path_match",
       "pathMatch",
       {"path_match", "pathmatch"},
       "a SQL/JSON path predicate (a string)",
       "String",
       "The SQL/JSON path predicate is true (PostgreSQL @@); a path that "
       "yields no boolean does not match.",
       R"({"preferences": {"pathMatch": "$.fontSize >= 14"}})",
       Binary("@@", BindPath)},
  };
  return RegisterFamily(registry, "json", {FieldKind::kJson}, std::move(specs));
}

}  // namespace

FRAISEQL_WHERE_OPERATOR_PLUGIN_RANKED(json, 60, RegisterBuiltinJsonOperators);

}  // namespace fraiseql::where
