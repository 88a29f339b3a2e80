// The full text family (spec/where.md, section 2) on FullText fields, a
// tsvector column of the view (`t."search_tsv"`): matches (to_tsquery
// syntax), plainQuery, phraseQuery and websearchQuery (plainto_,
// phraseto_, websearch_to_tsquery), and rank thresholds (rankGt ...
// rankLte with ts_rank, rankCdGt ... rankCdLte with ts_rank_cd, both on
// plainto_tsquery of the query).
//
// The text search configuration is the view's (ViewDef::text_search_config,
// default english). It is bound as a `$n::regconfig` parameter like the
// query, so the SQL text never depends on either and no name is pasted
// into SQL; an unknown configuration is the server's error (SQLSTATE
// 42704). The functions are STABLE, so a GIN index on the column still
// serves `@@`.
//
// Only the type of the query is checked here. to_tsquery has a syntax of
// its own (`run & !walk`, `super:*`, `'new york' <-> city`); a malformed
// query is a server error (SQLSTATE 42601, InvalidArgument). The other
// three never fail on user text: websearchQuery is the one for search
// boxes.
//
// Rank thresholds compare the rank as PostgreSQL returns it, a real
// (float4), with the threshold bound as real too, so `rankGte: 0.1` keeps
// a rank that prints as 0.1. The threshold is all that is tested: ts_rank
// also scores rows having only some of the query's words (0 when they have
// none), so rankGt does not imply a match and rankLt keeps rows that do not
// match at all; add plainQuery with the same text to require a match.
#include <cfloat>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "where/kind_value.h"
#include "where/operator.h"
#include "where/operator_plugin.h"

namespace fraiseql::where {
namespace {

absl::StatusOr<Param> BindQuery(const JsonValue& value,
                                absl::string_view path) {
  if (!value.is_string()) {
    return ExpectedError(path, "a text search query (a string)", value);
  }
  if (value.text().find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value at ", path,
        ": text contains a NUL character, which PostgreSQL cannot store"));
  }
  return Param{value.text(), "text"};
}

Param ConfigParam(const Operand& operand) {
  return Param{operand.text_search_config.empty()
                   ? std::string("english")
                   : operand.text_search_config,
               "regconfig"};
}

// `x @@ <function>($1::regconfig, $2::text)`.
RenderFunction Query(std::string function) {
  return [function](const Operand& operand, const JsonValue& value,
                    absl::string_view path,
                    ParamList* params) -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(Param query, BindQuery(value, path));
    std::string config = params->Add(ConfigParam(operand));
    return absl::StrCat(operand.typed_sql, " @@ ", function, "(", config,
                        ", ", params->Add(std::move(query)), ")");
  };
}

// `<rank_function>(x, plainto_tsquery($1::regconfig, $2::text)) <op>
// $3::real` for a value {query, threshold}.
RenderFunction Rank(std::string rank_function, std::string sql_operator) {
  return [rank_function, sql_operator](
             const Operand& operand, const JsonValue& value,
             absl::string_view path,
             ParamList* params) -> absl::StatusOr<std::string> {
    constexpr absl::string_view kShape =
        "an object {query: a string, threshold: a number}";
    if (!value.is_object()) return ExpectedError(path, kShape, value);
    JsonValue query = JsonValue::Null();
    JsonValue threshold = JsonValue::Null();
    for (const auto& [key, member] : value.members()) {
      if (key == "query") {
        query = member;
      } else if (key == "threshold") {
        threshold = member;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid value at ", path, ": unknown key '", key,
            "'; expected ", kShape));
      }
    }
    ASSIGN_OR_RETURN(Param query_param,
                     BindQuery(query, absl::StrCat(path, ".query")));
    double number;
    if (!threshold.is_number() ||
        !absl::SimpleAtod(threshold.text(), &number) ||
        !std::isfinite(number) || std::fabs(number) > FLT_MAX) {
      return ExpectedError(absl::StrCat(path, ".threshold"),
                           "a number (a rank, compared as a real)",
                           threshold);
    }
    std::string config = params->Add(ConfigParam(operand));
    std::string query_sql = params->Add(std::move(query_param));
    return absl::StrCat(rank_function, "(", operand.typed_sql,
                        ", plainto_tsquery(", config, ", ", query_sql, ")) ",
                        sql_operator, " ",
                        params->Add(Param{threshold.text(), "real"}));
  };
}


absl::Status RegisterBuiltinFullTextOperators(OperatorRegistry* registry) {
  const std::string kQuery = "a text search query (a string)";
  std::vector<OperatorSpec> specs = {
      {"matches",
       "matches",
       {},
       "a to_tsquery query (a string)",
       "String",
       "Matches the query in to_tsquery syntax (& | ! <-> :* and "
       "parentheses), in the view's text search configuration; a malformed "
       "query is a database error (SQLSTATE 42601).",
       R"({"searchTsv": {"matches": "run & !walk"}})",
       Query("to_tsquery")},
      {"plain_query",
       "plainQuery",
       {"plain_query", "plainquery"},
       kQuery,
       "String",
       "Matches every word of the text (plainto_tsquery: words ANDed, "
       "punctuation ignored).",
       R"({"searchTsv": {"plainQuery": "garlic olive oil"}})",
       Query("plainto_tsquery")},
      {"phrase_query",
       "phraseQuery",
       {"phrase_query", "phrasequery"},
       kQuery,
       "String",
       "Matches the words of the text in this order, adjacent "
       "(phraseto_tsquery).",
       R"({"searchTsv": {"phraseQuery": "running a marathon"}})",
       Query("phraseto_tsquery")},
      {"websearch_query",
       "websearchQuery",
       {"websearch_query", "websearchquery"},
       kQuery,
       "String",
       "Matches a search-engine style query: \"quoted phrases\", or, -word "
       "(websearch_to_tsquery; never a syntax error).",
       R"({"searchTsv": {"websearchQuery": "\"query planning\" -draft"}})",
       Query("websearch_to_tsquery")},
  };
  // rankGt ... rankLte (ts_rank) and rankCdGt ... rankCdLte (ts_rank_cd).
  struct Comparison {
    const char* suffix;  // camelCase: Gt
    const char* snake;   // gt
    const char* sql;
    const char* words;
  };
  const Comparison comparisons[] = {{"Gt", "gt", ">", "greater than"},
                                    {"Gte", "gte", ">=", "at least"},
                                    {"Lt", "lt", "<", "less than"},
                                    {"Lte", "lte", "<=", "at most"}};
  for (bool cover_density : {false, true}) {
    const std::string function = cover_density ? "ts_rank_cd" : "ts_rank";
    const std::string stem = cover_density ? "rankCd" : "rank";
    const std::string snake_stem = cover_density ? "rank_cd_" : "rank_";
    const std::string lower_stem = cover_density ? "rankcd" : "rank";
    for (const Comparison& c : comparisons) {
      std::string name = absl::StrCat(stem, c.suffix);
      std::string snake = absl::StrCat(snake_stem, c.snake);
      specs.push_back(OperatorSpec{
          snake,
          name,
          {snake, absl::StrCat(lower_stem, c.snake)},
          "an object {query: a string, threshold: a number}",
          "RankThresholdInput",
          absl::StrCat(
              "The ", function, cover_density ? " (cover density)" : "",
              " of the row for the words of the query (plainto_tsquery) is ",
              c.words,
              " the threshold, compared as a real. Rows with only some of the "
              "words score too, rows with none 0; combine with plainQuery to "
              "require a match."),
          absl::StrCat(R"({"searchTsv": {")", name,
                       R"(": {"query": "marathon", "threshold": 0.05}}})"),
          Rank(function, c.sql)});
    }
  }
  return RegisterFamily(registry, "full_text", {FieldKind::kFullText},
                        std::move(specs));
}

}  // namespace

FRAISEQL_WHERE_OPERATOR_PLUGIN_RANKED(full_text, 80,
                                      RegisterBuiltinFullTextOperators);

}  // namespace fraiseql::where
