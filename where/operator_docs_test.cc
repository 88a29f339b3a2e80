#include "where/operator_docs.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace fraiseql::where {
namespace {

std::unique_ptr<Operator> Op(std::string key, std::string name,
                             std::vector<std::string> aliases,
                             std::vector<FieldKind> kinds,
                             std::string value_shape, std::string graphql_type,
                             std::string description, std::string example) {
  OperatorInfo info{std::move(key),         std::move(name),
                    std::move(aliases),     std::move(kinds),
                    std::move(value_shape), std::move(graphql_type),
                    std::move(description), std::move(example)};
  return MakeOperator(std::move(info),
                      [](const Operand&, const JsonValue&, absl::string_view,
                         ParamList*) -> absl::StatusOr<std::string> {
                        return std::string("TRUE");
                      });
}

TEST(OperatorFamily, IsTheSecondComponentOfTheKey) {
  EXPECT_EQ(OperatorFamily("where.string.starts_with"), "string");
  EXPECT_EQ(OperatorFamily("acme.geo.within.v2"), "geo");
  EXPECT_EQ(OperatorFamily("acme.within"), "acme");
}

TEST(OperatorReferenceMarkdown, OneSectionPerFamilyInRegistrationOrder) {
  OperatorRegistry registry;
  ASSERT_TRUE(registry
                  .Register(Op("where.string.starts_with", "startsWith",
                               {"startswith", "starts_with"},
                               {FieldKind::kString, FieldKind::kEmail},
                               "a string", "String", "Starts with the text.",
                               R"({"name": {"startsWith": "An"}})"))
                  .ok());
  ASSERT_TRUE(
      registry
          .Register(Op("where.vector.cosine_distance", "cosineDistance", {},
                       {FieldKind::kVector},
                       "{vector, threshold, comparison: lt|lte}", "",
                       "Cosine distance\ncompared to the threshold.",
                       R"({"e": {"cosineDistance": {"comparison": "lt|gt"}}})"))
          .ok());
  ASSERT_TRUE(registry
                  .Register(Op("where.string.like", "like", {},
                               {FieldKind::kString}, "a `LIKE` pattern",
                               "[$field!]", "Matches the pattern as given.",
                               "{\"name\": {\"like\": \"a`b\"}}"))
                  .ok());
  std::string md = OperatorReferenceMarkdown(registry);
  std::string tables = md.substr(md.find("3 operators in 2 families"));
  EXPECT_EQ(
      tables,
      "3 operators in 2 families: [string](#string), [vector](#vector).\n"
      "\n"
      "## string\n"
      "\n"
      "2 operators.\n"
      "\n"
      "| Operator | Key | Aliases | Kinds | Value | GraphQL | Description | "
      "Example |\n"
      "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
      "| `startsWith` | `where.string.starts_with` | `startswith`, "
      "`starts_with` | String, Email | a string | `String` | Starts with the "
      "text. | "
      "`{\"name\": {\"startsWith\": \"An\"}}` |\n"
      "| `like` | `where.string.like` |  | String | a `LIKE` pattern | "
      "`[$field!]` | Matches the pattern as given. | ``{\"name\": {\"like\": "
      "\"a`b\"}}`` |\n"
      "\n"
      "## vector\n"
      "\n"
      "1 operator.\n"
      "\n"
      "| Operator | Key | Aliases | Kinds | Value | GraphQL | Description | "
      "Example |\n"
      "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
      "| `cosineDistance` | `where.vector.cosine_distance` |  | Vector | "
      "{vector, threshold, comparison: lt\\|lte} | `JSON` | Cosine distance "
      "compared "
      "to the threshold. | `{\"e\": {\"cosineDistance\": {\"comparison\": "
      "\"lt\\|gt\"}}}` |\n");
  EXPECT_EQ(md.rfind("# Filter operators\n", 0), 0u);
  EXPECT_NE(md.find(std::string(kRegenerateOperatorDocsCommand)),
            std::string::npos);
}

TEST(OperatorReferenceMarkdown, EveryTableRowHasEightCells) {
  // Whatever the text, a row never gains or loses a column.
  std::string md = OperatorReferenceMarkdown(*MakeBuiltinOperatorRegistry());
  for (absl::string_view line : absl::StrSplit(md, '\n')) {
    if (line.empty() || line[0] != '|') continue;
    int bars = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++bars;
    }
    EXPECT_EQ(bars, 9) << line;
  }
}

TEST(OperatorReferenceMarkdown, SaysSoWhenEmpty) {
  OperatorRegistry registry;
  std::string md = OperatorReferenceMarkdown(registry);
  EXPECT_NE(md.find("No operators are registered.\n"), std::string::npos);
}

TEST(OperatorReferenceMarkdown, KindsCoveringEverythingReadEveryKind) {
  std::vector<FieldKind> all;
  for (int k = 0; k <= static_cast<int>(FieldKind::kObject); ++k) {
    all.push_back(static_cast<FieldKind>(k));
  }
  OperatorRegistry registry;
  ASSERT_TRUE(registry
                  .Register(Op("where.compare.isnull", "isnull", {}, all,
                               "true or false", "Boolean", "Null test.", ""))
                  .ok());
  EXPECT_NE(OperatorReferenceMarkdown(registry).find(
                "| `isnull` | `where.compare.isnull` |  | every kind | "),
            std::string::npos);
}

// docs/operators.md is generated; this keeps it in step with the registry.
TEST(OperatorDocsFile, MatchesTheRegistry) {
  std::ifstream in("docs/operators.md", std::ios::binary);
  ASSERT_TRUE(in.good()) << "docs/operators.md is not in the test's runfiles";
  std::stringstream file;
  file << in.rdbuf();
  std::string generated =
      OperatorReferenceMarkdown(*MakeBuiltinOperatorRegistry());
  if (file.str() == generated) return;
  std::vector<std::string> have = absl::StrSplit(file.str(), '\n');
  std::vector<std::string> want = absl::StrSplit(generated, '\n');
  size_t line = 0;
  while (line < have.size() && line < want.size() &&
         have[line] == want[line]) {
    ++line;
  }
  auto at = [](const std::vector<std::string>& lines, size_t i) {
    return i < lines.size() ? lines[i] : std::string("(end of text)");
  };
  ADD_FAILURE() << "docs/operators.md is out of date with the operator "
                   "registry. Regenerate it from the workspace root with:\n\n  "
                << kRegenerateOperatorDocsCommand
                << "\n\nFirst difference at line " << line + 1
                << ":\n  docs/operators.md: " << at(have, line)
                << "\n  generated:         " << at(want, line) << "\n";
}

}  // namespace
}  // namespace fraiseql::where
