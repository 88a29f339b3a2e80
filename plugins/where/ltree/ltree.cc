// The ltree family (spec/where.md, section 2): hierarchy tests (`@>`, `<@`),
// pattern matches (lquery `~`, ltxtquery `@`, lquery[] `?`) and depth
// comparisons on nlevel(). Needs PostgreSQL's ltree extension.
//
// Patterns are checked here against the grammar of the ltree module
// (contrib/ltree/ltree_io.c and ltxtquery_io.c), so that a malformed pattern
// is an input error naming its path, not a server syntax error. The grammar
// and limits are those of PostgreSQL 16, as for ltree values (kind_value.cc):
// labels of ASCII letters, digits, `_` and `-`, up to 1000 characters. Older
// servers accept less (no `-`, labels up to 255 characters) and answer such a
// pattern with SQLSTATE 42601 or 42622; nothing valid on any server is
// rejected here.
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "where/kind_value.h"
#include "where/operator.h"
#include "where/operator_plugin.h"

namespace fraiseql::where {
namespace {

// Limits of the ltree module (ltree.h): LTREE_LABEL_MAX_CHARS,
// LTREE_MAX_LEVELS / LQUERY_MAX_LEVELS, and for ltxtquery the operand length
// (one byte) and the offsets of operands (two bytes) in its binary form.
constexpr size_t kMaxLabelChars = 1000;
constexpr int kMaxLevels = 65535;
constexpr size_t kMaxWordBytes = 255;
constexpr size_t kMaxWordsBytes = 65535;
// makepol() keeps at most 32 pending operators per parenthesis level.
constexpr size_t kMaxPendingOperators = 32;
// Parentheses recurse in the server's parser; stay far from its stack limit.
constexpr size_t kMaxNesting = 64;

constexpr absl::string_view kLqueryExpected =
    "an lquery pattern like acme.*{1,2}.db";
constexpr absl::string_view kLtxtqueryExpected =
    "an ltxtquery like 'backend & !frontend'";

bool IsLabelChar(char c) {
  return absl::ascii_isalnum(c) || c == '_' || c == '-';
}

bool IsFlag(char c) { return c == '@' || c == '*' || c == '%'; }

std::string At(size_t pos) { return absl::StrCat(" at character ", pos + 1); }


// What is wrong with the input at `pos`: an unexpected character, or the
// end. The character is not shown: messages never echo a bound value.
std::string Unexpected(absl::string_view s, size_t pos,
                       absl::string_view expected) {
  if (pos >= s.size())
    return absl::StrCat("unexpected end, expected ", expected);
  return absl::StrCat("unexpected character", At(pos), ", expected ",
                      expected);
}

// A level count `{n}`, `{n,}`, `{,m}`, `{n,m}` or `{,}` starting at `*i`
// (on the `{`); n <= m <= 65535. Advances past the `}`.
std::string CountProblem(absl::string_view s, size_t* i) {
  ++*i;  // '{'
  auto number = [&](int* out) -> std::string {
    size_t start = *i;
    while (*i < s.size() && absl::ascii_isdigit(s[*i])) ++*i;
    absl::string_view digits = s.substr(start, *i - start);
    while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
    if (digits.size() > 5 || !absl::SimpleAtoi(digits, out) ||
        *out > kMaxLevels) {
      return absl::StrCat("level count above ", kMaxLevels, At(start));
    }
    return "";
  };
  int low = 0;
  if (*i < s.size() && absl::ascii_isdigit(s[*i])) {
    if (std::string p = number(&low); !p.empty()) return p;
    if (*i < s.size() && s[*i] == '}') {
      ++*i;
      return "";
    }
    if (*i >= s.size() || s[*i] != ',') return Unexpected(s, *i, "',' or '}'");
  } else if (*i >= s.size() || s[*i] != ',') {
    return Unexpected(s, *i, "a digit or ','");
  }
  ++*i;
  if (*i < s.size() && absl::ascii_isdigit(s[*i])) {
    size_t start = *i;
    int high = 0;
    if (std::string p = number(&high); !p.empty()) return p;
    if (low > high) {
      return absl::StrCat(
          "level count with its low limit above its high limit", At(start));
    }
  }
  if (*i >= s.size() || s[*i] != '}')
    return Unexpected(s, *i, "a digit or '}'");
  ++*i;
  return "";
}

// Checks `s` against the lquery grammar (parse_lquery): levels joined by
// '.', each `*` or `[!]label[flags](|label[flags])*`, flags any of `@*%`,
// then an optional level count. Returns what is wrong and where, or "".
std::string LqueryProblem(absl::string_view s) {
  if (s.empty()) return "empty pattern";
  size_t i = 0;
  for (int levels = 1;; ++levels) {
    if (levels > kMaxLevels) {
      return absl::StrCat("more than ", kMaxLevels, " levels");
    }
    if (i < s.size() && s[i] == '*') {
      ++i;
    } else {
      absl::string_view expected = "a label, '!' or '*'";
      if (i < s.size() && s[i] == '!') {
        ++i;
        expected = "a label";
      }
      for (;;) {
        size_t start = i;
        while (i < s.size() && IsLabelChar(s[i])) ++i;
        if (i == start) {
          if (i < s.size() && (s[i] == '.' || s[i] == '|')) {
            return absl::StrCat("empty label", At(i));
          }
          return Unexpected(s, i, expected);
        }
        if (i - start > kMaxLabelChars) {
          return absl::StrCat("label longer than ", kMaxLabelChars,
                              " characters", At(start));
        }
        while (i < s.size() && IsFlag(s[i])) ++i;
        if (i < s.size() && s[i] == '|') {
          ++i;
          expected = "a label";
          continue;
        }
        break;
      }
    }
    if (i < s.size() && s[i] == '{') {
      if (std::string p = CountProblem(s, &i); !p.empty()) return p;
    }
    if (i == s.size()) return "";
    if (s[i] != '.') return Unexpected(s, i, "'.'");
    ++i;
    if (i == s.size()) return absl::StrCat("empty label", At(i - 1));
  }
}

// Checks `s` against the ltxtquery grammar (gettoken_query and makepol):
// words (label characters, then flags `@*%`) joined by `&` and `|`, `!`
// before a word or a parenthesis, parentheses balanced. Returns what is
// wrong and where, or "".
std::string LtxtqueryProblem(absl::string_view s) {
  std::vector<std::vector<char>> pending(1);  // operators per parenthesis
  size_t words_bytes = 0;
  bool want_operand = true;
  size_t i = 0;
  auto push = [&](char op) -> std::string {
    std::vector<char>& stack = pending.back();
    if (op == '|' && !stack.empty()) return "";  // emitted at once
    if (stack.size() == kMaxPendingOperators) {
      return absl::StrCat("more than ", kMaxPendingOperators,
                          " operators waiting for their operands", At(i));
    }
    stack.push_back(op);
    return "";
  };
  auto operand_done = [&] {
    std::vector<char>& stack = pending.back();
    while (!stack.empty() && (stack.back() == '&' || stack.back() == '!')) {
      stack.pop_back();
    }
  };
  for (;;) {
    if (want_operand) {
      if (i == s.size()) {
        return words_bytes == 0 && pending.size() == 1 && pending.back().empty()
                   ? std::string("empty query")
                   : Unexpected(s, i, "a word");
      }
      char c = s[i];
      if (c == '!') {
        if (std::string p = push('!'); !p.empty()) return p;
        ++i;
      } else if (c == '(') {
        if (pending.size() > kMaxNesting) {
          return absl::StrCat("more than ", kMaxNesting, " nested parentheses",
                              At(i));
        }
        pending.emplace_back();
        ++i;
      } else if (IsLabelChar(c)) {
        size_t start = i;
        while (i < s.size() && IsLabelChar(s[i])) ++i;
        if (i - start > kMaxWordBytes) {
          return absl::StrCat("word longer than ", kMaxWordBytes, " characters",
                              At(start));
        }
        words_bytes += i - start + 1;
        if (words_bytes > kMaxWordsBytes) return "query too long";
        while (i < s.size() && IsFlag(s[i])) ++i;
        if (i < s.size() && IsLabelChar(s[i]) && IsFlag(s[i - 1])) {
          return absl::StrCat("word characters after a flag", At(i));
        }
        operand_done();
        want_operand = false;
      } else if (absl::ascii_isspace(c)) {
        ++i;
      } else {
        return Unexpected(s, i, "a word, '!' or '('");
      }
    } else {
      if (i == s.size()) {
        if (pending.size() > 1) return "unclosed '('";
        return "";
      }
      char c = s[i];
      if (c == '&' || c == '|') {
        if (std::string p = push(c); !p.empty()) return p;
        want_operand = true;
        ++i;
      } else if (c == ')') {
        if (pending.size() == 1) return absl::StrCat("unmatched ')'", At(i));
        pending.pop_back();
        operand_done();
        ++i;
      } else if (c == ' ') {
        ++i;
      } else {
        return Unexpected(s, i, "'&', '|' or ')'");
      }
    }
  }
}

// A pattern string: a string without NUL that `problem` accepts.
absl::StatusOr<Param> BindPattern(const JsonValue& value,
                                  absl::string_view path,
                                  absl::string_view expected,
                                  std::string (*problem)(absl::string_view),
                                  absl::string_view sql_type) {
  if (!value.is_string()) return ExpectedError(path, expected, value);
  if (value.text().find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value at ", path,
        ": text contains a NUL character, which PostgreSQL cannot store"));
  }
  if (std::string p = problem(value.text()); !p.empty()) {
    absl::Status error = ExpectedError(path, expected, value);
    return absl::InvalidArgumentError(
        absl::StrCat(error.message(), " (", p, ")"));
  }
  Param param;
  param.text = value.text();
  param.sql_type = std::string(sql_type);
  return param;
}

absl::StatusOr<std::string> RenderMatchesAny(const Operand& operand,
                                             const JsonValue& value,
                                             absl::string_view path,
                                             ParamList* params) {
  if (!value.is_array()) {
    return ExpectedError(path, "a list of lquery patterns", value);
  }
  if (static_cast<int>(value.items().size()) > operand.max_list_items) {
    return absl::InvalidArgumentError(
        absl::StrCat("list too long at ", path, ": ", value.items().size(),
                     " items, at most ", operand.max_list_items, " allowed"));
  }
  // One lquery[] parameter: the SQL does not depend on the list length, and
  // `? '{}'` is false, so an empty list matches nothing.
  Param param;
  param.sql_type = "lquery[]";
  param.text = "{";
  for (size_t i = 0; i < value.items().size(); ++i) {
    std::string item_path = absl::StrCat(path, "[", i, "]");
    const JsonValue& item = value.items()[i];
    if (item.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid value at ", item_path, ": null is not allowed in a list"));
    }
    ASSIGN_OR_RETURN(Param bound, BindPattern(item, item_path, kLqueryExpected,
                                              LqueryProblem, "lquery"));
    if (i > 0) param.text.push_back(',');
    param.text.push_back('"');
    for (char c : bound.text) {
      if (c == '"' || c == '\\') param.text.push_back('\\');
      param.text.push_back(c);
    }
    param.text.push_back('"');
  }
  param.text.push_back('}');
  return absl::StrCat(operand.typed_sql, " ? ", params->Add(std::move(param)));
}

OperatorInfo Info(absl::string_view key, absl::string_view name,
                  std::vector<std::string> aliases,
                  absl::string_view value_shape, absl::string_view graphql_type,
                  absl::string_view description, absl::string_view example) {
  OperatorInfo info;
  info.key = absl::StrCat("where.ltree.", key);
  info.name = std::string(name);
  info.aliases = std::move(aliases);
  info.kinds = {FieldKind::kLTree};
  info.value_shape = std::string(value_shape);
  info.graphql_type = std::string(graphql_type);
  info.description = std::string(description);
  info.example = std::string(example);
  return info;
}

absl::Status RegisterBuiltinLTreeOperators(OperatorRegistry* registry) {
  // Hierarchy: PostgreSQL's @> and <@ include the path itself.
  struct Hierarchy {
    absl::string_view key, name;
    const char* sql;
    absl::string_view description, example;
  };
  const Hierarchy hierarchy[] = {
      {"ancestor_of", "ancestorOf", "@>",
       "The path is an ancestor of the given path or equal to it "
       "(ltree @>): acme.eng is an ancestor of acme.eng.backend.",
       R"({"orgPath": {"ancestorOf": "acme.eng.backend"}})"},
      {"descendant_of", "descendantOf", "<@",
       "The path is a descendant of the given path or equal to it "
       "(ltree <@): acme.eng.backend is a descendant of acme.eng.",
       R"({"orgPath": {"descendantOf": "acme.eng"}})"},
  };
  for (const Hierarchy& h : hierarchy) {
    std::string sql = h.sql;
    RETURN_IF_ERROR(registry->Register(MakeOperator(
        Info(h.key, h.name, NameSpellings(h.name), "an ltree path (a.b.c)",
             "$field", h.description, h.example),
        [sql](const Operand& operand, const JsonValue& value,
              absl::string_view path,
              ParamList* params) -> absl::StatusOr<std::string> {
          ASSIGN_OR_RETURN(Param param,
                           BindValue(FieldKind::kLTree, value, path));
          return absl::StrCat(operand.typed_sql, " ", sql, " ",
                              params->Add(std::move(param)));
        })));
  }

  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info("matches_lquery", "matchesLquery", NameSpellings("matchesLquery"),
           "an lquery pattern", "String",
           "The path matches an lquery pattern (ltree ~): labels, `*` for "
           "any labels, `{n,m}` counts, `a|b` alternatives, `!` negation, "
           "and the label flags `@` (case-insensitive), `*` (prefix), `%` "
           "(words separated by _).",
           R"({"orgPath": {"matchesLquery": "acme.*{1}.backend*"}})"),
      [](const Operand& operand, const JsonValue& value, absl::string_view path,
         ParamList* params) -> absl::StatusOr<std::string> {
        ASSIGN_OR_RETURN(Param param, BindPattern(value, path, kLqueryExpected,
                                                  LqueryProblem, "lquery"));
        return absl::StrCat(operand.typed_sql, " ~ ",
                            params->Add(std::move(param)));
      })));

  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info("matches_ltxtquery", "matchesLtxtquery",
           NameSpellings("matchesLtxtquery"), "an ltxtquery", "String",
           "The path matches an ltxtquery (ltree @): words matched against "
           "the path's labels in any position, joined by & | ! and "
           "parentheses, with the flags @ * % as in lquery.",
           R"({"orgPath": {"matchesLtxtquery": "eng & !frontend"}})"),
      [](const Operand& operand, const JsonValue& value, absl::string_view path,
         ParamList* params) -> absl::StatusOr<std::string> {
        ASSIGN_OR_RETURN(Param param,
                         BindPattern(value, path, kLtxtqueryExpected,
                                     LtxtqueryProblem, "ltxtquery"));
        return absl::StrCat(operand.typed_sql, " @ ",
                            params->Add(std::move(param)));
      })));

  RETURN_IF_ERROR(registry->Register(MakeOperator(
      Info("matches_any_lquery", "matchesAnyLquery",
           NameSpellings("matchesAnyLquery"), "a list of lquery patterns",
           "[String!]",
           "The path matches at least one of the lquery patterns (ltree ? "
           "lquery[]); an empty list matches nothing.",
           R"({"orgPath": {"matchesAnyLquery": ["*.db", "globex.*"]}})"),
      RenderMatchesAny)));

  // Depth: nlevel(), the number of labels (0 for the empty path).
  struct Depth {
    absl::string_view key, name;
    const char* sql;
    absl::string_view legacy;
    absl::string_view description;
  };
  const Depth depths[] = {
      {"depth_eq", "depthEq", "=", "nlevelEq", "Has exactly this many labels."},
      {"depth_neq", "depthNeq", "<>", "nlevelNeq",
       "Does not have this many labels."},
      {"depth_gt", "depthGt", ">", "nlevelGt", "Has more labels than this."},
      {"depth_gte", "depthGte", ">=", "nlevelGte",
       "Has at least this many labels."},
      {"depth_lt", "depthLt", "<", "nlevelLt", "Has fewer labels than this."},
      {"depth_lte", "depthLte", "<=", "nlevelLte",
       "Has at most this many labels."},
  };
  for (const Depth& d : depths) {
    // The legacy generator's nlevel_* names, in every spelling.
    std::vector<std::string> legacy = NameSpellings(d.legacy);
    legacy.insert(legacy.begin(), std::string(d.legacy));
    std::string sql = d.sql;
    RETURN_IF_ERROR(registry->Register(MakeOperator(
        Info(d.key, d.name, NameSpellings(d.name, legacy),
             "a non-negative integer (a number of labels)", "Int",
             absl::StrCat(d.description,
                          " The depth is nlevel(path): acme.eng has 2."),
             absl::StrCat(R"({"orgPath": {")", d.name, R"(": 2}})")),
        [sql](const Operand& operand, const JsonValue& value,
              absl::string_view path,
              ParamList* params) -> absl::StatusOr<std::string> {
          int depth;
          if (!value.is_number() || value.text().empty() ||
              value.text()[0] == '-' ||
              !absl::SimpleAtoi(value.text(), &depth) || depth < 0) {
            return ExpectedError(
                path, "a non-negative integer (a number of labels)", value);
          }
          Param param;
          param.text = absl::StrCat(depth);
          param.sql_type = "integer";
          return absl::StrCat("nlevel(", operand.typed_sql, ") ", sql, " ",
                              params->Add(std::move(param)));
        })));
  }
  return absl::OkStatus();
}

}  // namespace

FRAISEQL_WHERE_OPERATOR_PLUGIN_RANKED(ltree, 40, RegisterBuiltinLTreeOperators);

}  // namespace fraiseql::where
