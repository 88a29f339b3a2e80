// The vector family (spec/where.md, section 2) on Vector fields (pgvector):
// a distance between the row's vector and a query vector compared with a
// threshold. The value is
//   {vector: [numbers], threshold: number, comparison: lt|lte|gt|gte}
// and renders `(x <=> $1::vector) <= $2::float8`, with pgvector's operators:
//   cosineDistance <=>   l2Distance <->   l1Distance <+>
//   innerProduct   <#>   (negated, see below)
//   hammingDistance <~>  jaccardDistance <%>   (bit vectors)
//
// Choices:
//   - comparison is optional: lte for the distances (within the threshold,
//     inclusive: hamming distances are whole numbers, and "within 3 bits"
//     includes 3), gte for innerProduct.
//   - innerProduct compares the inner product itself, `(x <#> v) * -1`:
//     pgvector's <#> returns the NEGATIVE inner product (so that smaller is
//     closer when ordering), which would make `threshold: 0.8` mean -0.8.
//     A WHERE threshold is evaluated row by row anyway (pgvector indexes
//     serve ORDER BY ... LIMIT, not WHERE), so the negation costs nothing.
//   - The query vector is bound as text in pgvector's input format
//     ([1,2.5,-3], the numbers as written), cast to vector: 1 to 16000
//     dimensions (pgvector's limit; not the `in` list limit, since common
//     embeddings have 1536 or 3072), each finite in single precision.
//     Hamming and Jaccard take a bit string ("0101") or a list of 0/1 or
//     booleans, bound as `$1::varbit` (implicitly cast to pgvector's bit
//     operands; bit(n) would put the length into the SQL text), 1 to 64000
//     bits.
//   - The operand: a vector column is used as it is (`t."embedding"`); the
//     compiler's typed_sql would cast it to the kind's SQL type (jsonb),
//     which pgvector types do not support. A jsonb column, or a JSONB key
//     holding a JSON array, is cast from its text: `(t."data"->>'e')::vector`
//     (`::varbit` for the bit operators, holding a "0101" string).
//     Columns of type halfvec or sparsevec would need a matching cast of
//     the parameter; the Operand does not say the column's declared type,
//     so they are not supported yet.
// Without the pgvector extension the server reports type "vector" does not
// exist (SQLSTATE 42704).
#include <cfloat>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "where/kind_value.h"
#include "where/operator.h"
#include "where/operator_plugin.h"

namespace fraiseql::where {
namespace {

constexpr int kMaxDimensions = 16000;
constexpr int kMaxBits = 64000;

enum class Element { kFloat, kBit };

// The operand as a pgvector value (see the file comment).
std::string VectorSql(const Operand& operand, Element element) {
  absl::string_view type = element == Element::kBit ? "varbit" : "vector";
  bool is_column = operand.field != nullptr && !operand.field->column.empty() &&
                   absl::EndsWith(operand.text_sql, "::text");
  if (!is_column) {
    // A JSONB key: text_sql is `parent->>'key'`.
    return absl::StrCat("(", operand.text_sql, ")::", type);
  }
  std::string column(absl::StripSuffix(operand.text_sql, "::text"));
  if (operand.typed_sql == column) {
    // The column is declared jsonb (the kind's SQL type): cast its text.
    return absl::StrCat("(", column, " #>> '{}')::", type);
  }
  return column;
}

// A query vector of numbers as pgvector text: [1,2.5,-3].
absl::StatusOr<Param> BindFloatVector(const JsonValue& value,
                                      const std::string& path) {
  if (!value.is_array() || value.items().empty()) {
    return ExpectedError(path, "a non-empty list of numbers", value);
  }
  if (value.items().size() > kMaxDimensions) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vector too long at ", path, ": ", value.items().size(),
        " dimensions, at most ", kMaxDimensions, " allowed"));
  }
  std::string text = "[";
  for (size_t i = 0; i < value.items().size(); ++i) {
    const JsonValue& item = value.items()[i];
    double number;
    if (!item.is_number() || !absl::SimpleAtod(item.text(), &number) ||
        !std::isfinite(number) || std::fabs(number) > FLT_MAX) {
      return ExpectedError(absl::StrCat(path, "[", i, "]"),
                           "a number within single-precision range", item);
    }
    if (i > 0) text.push_back(',');
    text += item.text();
  }
  text.push_back(']');
  return Param{std::move(text), "vector"};
}

// A query bit vector: "0101" or [0,1,0,1] or [false,true,...].
absl::StatusOr<Param> BindBitVector(const JsonValue& value,
                                    const std::string& path) {
  constexpr char kExpected[] =
      "a bit string like \"0101\" or a list of 0/1 or booleans";
  std::string bits;
  if (value.is_string()) {
    bits = value.text();
    if (bits.empty() || bits.find_first_not_of("01") != std::string::npos) {
      return ExpectedError(path, kExpected, value);
    }
  } else if (value.is_array() && !value.items().empty()) {
    if (value.items().size() > kMaxBits) {
      return absl::InvalidArgumentError(absl::StrCat(
          "vector too long at ", path, ": ", value.items().size(),
          " bits, at most ", kMaxBits, " allowed"));
    }
    for (size_t i = 0; i < value.items().size(); ++i) {
      const JsonValue& item = value.items()[i];
      if (item.is_bool()) {
        bits.push_back(item.bool_value() ? '1' : '0');
      } else if (item.is_number() &&
                 (item.text() == "0" || item.text() == "1")) {
        bits.push_back(item.text()[0]);
      } else {
        return ExpectedError(absl::StrCat(path, "[", i, "]"),
                             "0, 1, true or false", item);
      }
    }
  } else {
    return ExpectedError(path, kExpected, value);
  }
  if (bits.size() > kMaxBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("vector too long at ", path, ": ", bits.size(),
                     " bits, at most ", kMaxBits, " allowed"));
  }
  return Param{std::move(bits), "varbit"};
}

// `(x <op> $1::vector) <cmp> $2::float8`; `negate` for <#>.
RenderFunction Distance(std::string sql_operator, Element element,
                        bool negate) {
  return [sql_operator, element, negate](
             const Operand& operand, const JsonValue& value,
             absl::string_view path,
             ParamList* params) -> absl::StatusOr<std::string> {
    constexpr char kShape[] =
        "an object {vector, threshold, comparison: lt|lte|gt|gte}";
    if (!value.is_object()) return ExpectedError(path, kShape, value);
    const JsonValue* vector = nullptr;
    const JsonValue* threshold = nullptr;
    const JsonValue* comparison = nullptr;
    for (const auto& [key, member] : value.members()) {
      if (member.is_null()) continue;  // as if absent
      if (key == "vector") {
        vector = &member;
      } else if (key == "threshold") {
        threshold = &member;
      } else if (key == "comparison") {
        comparison = &member;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid value at ", path, ": unknown key '", key,
                         "'; expected ", kShape));
      }
    }
    const JsonValue null_value = JsonValue::Null();
    std::string vector_path = absl::StrCat(path, ".vector");
    absl::StatusOr<Param> bound =
        element == Element::kBit
            ? BindBitVector(vector ? *vector : null_value, vector_path)
            : BindFloatVector(vector ? *vector : null_value, vector_path);
    if (!bound.ok()) return bound.status();
    double number;
    if (threshold == nullptr || !threshold->is_number() ||
        !absl::SimpleAtod(threshold->text(), &number) ||
        !std::isfinite(number)) {
      return ExpectedError(absl::StrCat(path, ".threshold"), "a number",
                           threshold ? *threshold : null_value);
    }
    std::string sql_comparison = negate ? ">=" : "<=";
    if (comparison != nullptr) {
      std::string c = comparison->is_string() ? comparison->text() : "";
      if (c == "lt") {
        sql_comparison = "<";
      } else if (c == "lte") {
        sql_comparison = "<=";
      } else if (c == "gt") {
        sql_comparison = ">";
      } else if (c == "gte") {
        sql_comparison = ">=";
      } else {
        return ExpectedError(absl::StrCat(path, ".comparison"),
                             "one of lt, lte, gt, gte", *comparison);
      }
    }
    std::string distance =
        absl::StrCat("(", VectorSql(operand, element), " ", sql_operator, " ",
                     params->Add(*std::move(bound)), ")");
    if (negate) absl::StrAppend(&distance, " * -1");
    return absl::StrCat(distance, " ", sql_comparison, " ",
                        params->Add(Param{threshold->text(), "float8"}));
  };
}


absl::Status RegisterBuiltinVectorOperators(OperatorRegistry* registry) {
  constexpr char kFloats[] =
      "{vector: [numbers], threshold: number, comparison: lt|lte|gt|gte "
      "(default lte)}";
  constexpr char kBits[] =
      "{vector: \"0101\" or [0/1 or booleans], threshold: number, "
      "comparison: lt|lte|gt|gte (default lte)}";
  std::vector<OperatorSpec> specs = {
      {"cosine_distance",
       "cosineDistance",
       {"cosine_distance", "cosinedistance"},
       kFloats,
       "VectorDistanceInput",
       "Cosine distance (pgvector <=>, 0 to 2) to the vector compared with "
       "the threshold.",
       R"({"embedding": {"cosineDistance": )"
       R"({"vector": [0.1, 0.2], "threshold": 0.3}}})",
       Distance("<=>", Element::kFloat, false)},
      {"l2_distance",
       "l2Distance",
       {"l2_distance", "l2distance"},
       kFloats,
       "VectorDistanceInput",
       "Euclidean distance (pgvector <->) to the vector compared with the "
       "threshold.",
       R"({"embedding": {"l2Distance": )"
       R"({"vector": [0.1, 0.2], "threshold": 1.5, "comparison": "lt"}}})",
       Distance("<->", Element::kFloat, false)},
      {"l1_distance",
       "l1Distance",
       {"l1_distance", "l1distance"},
       kFloats,
       "VectorDistanceInput",
       "Taxicab distance (pgvector <+>, pgvector 0.7+) to the vector "
       "compared with the threshold.",
       R"({"embedding": {"l1Distance": )"
       R"({"vector": [0.1, 0.2], "threshold": 2}}})",
       Distance("<+>", Element::kFloat, false)},
      {"inner_product",
       "innerProduct",
       {"inner_product", "innerproduct"},
       "{vector: [numbers], threshold: number, comparison: lt|lte|gt|gte "
       "(default gte)}",
       "VectorDistanceInput",
       "Inner product with the vector (the negation of pgvector's <#>, so "
       "the threshold is the inner product itself) compared with the "
       "threshold; by default at least the threshold.",
       R"({"embedding": {"innerProduct": )"
       R"({"vector": [0.1, 0.2], "threshold": 0.8}}})",
       Distance("<#>", Element::kFloat, true)},
      {"hamming_distance",
       "hammingDistance",
       {"hamming_distance", "hammingdistance"},
       kBits,
       "BitVectorDistanceInput",
       "Hamming distance (pgvector <~>, bit vectors) to the bit string "
       "compared with the threshold.",
       R"({"embedding": {"hammingDistance": )"
       R"({"vector": "0101", "threshold": 1}}})",
       Distance("<~>", Element::kBit, false)},
      {"jaccard_distance",
       "jaccardDistance",
       {"jaccard_distance", "jaccarddistance"},
       kBits,
       "BitVectorDistanceInput",
       "Jaccard distance (pgvector <%>, bit vectors) to the bit string "
       "compared with the threshold.",
       R"({"embedding": {"jaccardDistance": )"
       R"({"vector": [1, 0, 1, 1], "threshold": 0.5}}})",
       Distance("<%>", Element::kBit, false)},
  };
  return RegisterFamily(registry, "vector", {FieldKind::kVector}, std::move(specs));
}

}  // namespace

FRAISEQL_WHERE_OPERATOR_PLUGIN_RANKED(vector, 90,
                                      RegisterBuiltinVectorOperators);

}  // namespace fraiseql::where
