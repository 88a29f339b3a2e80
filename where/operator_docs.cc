#include "where/operator_docs.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace fraiseql::where {
namespace {

constexpr int kKindCount = static_cast<int>(FieldKind::kObject) + 1;

// Table cells are one line, and a `|` would end the cell even inside a code
// span (GitHub-flavoured Markdown reads `\|` as a literal bar there too).
std::string Cell(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r' || c == '\t') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// A code span that survives backticks in its text (CommonMark: a longer
// fence, padded with spaces when the text touches it).
std::string Code(absl::string_view text) {
  if (text.empty()) return "";
  size_t longest = 0;
  size_t run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  std::string fence(longest + 1, '`');
  absl::string_view pad =
      (longest > 0 && (text.front() == '`' || text.back() == '`')) ? " " : "";
  return absl::StrCat(fence, pad, Cell(text), pad, fence);
}

std::string Kinds(const std::vector<FieldKind>& kinds) {
  std::vector<FieldKind> distinct = kinds;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (static_cast<int>(distinct.size()) == kKindCount) return "every kind";
  return absl::StrJoin(kinds, ", ", [](std::string* out, FieldKind k) {
    absl::StrAppend(out, FieldKindName(k));
  });
}

std::string Row(const OperatorInfo& info) {
  std::vector<std::string> aliases;
  for (const std::string& alias : info.aliases) aliases.push_back(Code(alias));
  std::vector<std::string> cells = {
      Code(info.name),
      Code(info.key),
      absl::StrJoin(aliases, ", "),
      Kinds(info.kinds),
      Cell(info.value_shape),
      Code(info.graphql_type.empty() ? "JSON" : info.graphql_type),
      Cell(info.description),
      Code(info.example)};
  return absl::StrCat("| ", absl::StrJoin(cells, " | "), " |\n");
}

}  // namespace

std::string OperatorFamily(absl::string_view key) {
  std::vector<absl::string_view> parts = absl::StrSplit(key, '.');
  return std::string(parts.size() >= 3 ? parts[1] : parts[0]);
}

std::string OperatorReferenceMarkdown(const OperatorRegistry& registry) {
  std::vector<const Operator*> operators = registry.List();
  // Families in the order their first operator was registered.
  std::vector<std::string> families;
  std::map<std::string, std::vector<const OperatorInfo*>> by_family;
  for (const Operator* op : operators) {
    std::string family = OperatorFamily(op->info().key);
    auto [it, inserted] = by_family.try_emplace(family);
    if (inserted) families.push_back(family);
    it->second.push_back(&op->info());
  }

  std::string out;
  absl::StrAppend(
      &out, "# Filter operators\n\n",
      "<!-- Generated from the operator registry; do not edit. Regenerate "
      "from the workspace root with:\n     ",
      kRegenerateOperatorDocsCommand, " -->\n\n",
      "Every operator a `where` filter accepts, as registered in the operator "
      "registry: the built-in families and the plugins linked into the "
      "module. An operator is written `field: {operator: value}` and applies "
      "only to fields of the kinds listed; it also answers to its aliases "
      "(snake_case and other spellings). A `null` value means no condition. "
      "Views may restrict operators with an allow-list of names or keys. "
      "The GraphQL column is the value's input type in the generated schema "
      "(pybind/fraiseql_native/gql/sdl.py): `$field` stands for the field's "
      "own type, `$element` for a list field's element type.\n\n");
  if (operators.empty()) {
    absl::StrAppend(&out, "No operators are registered.\n");
    return out;
  }
  std::vector<std::string> links;
  for (const std::string& family : families) {
    links.push_back(absl::StrCat("[", family, "](#", family, ")"));
  }
  absl::StrAppend(&out, operators.size(),
                  operators.size() == 1 ? " operator in " : " operators in ",
                  families.size(),
                  families.size() == 1 ? " family: " : " families: ",
                  absl::StrJoin(links, ", "), ".\n");
  for (const std::string& family : families) {
    const std::vector<const OperatorInfo*>& infos = by_family[family];
    absl::StrAppend(&out, "\n## ", family, "\n\n", infos.size(),
                    infos.size() == 1 ? " operator.\n\n" : " operators.\n\n",
                    "| Operator | Key | Aliases | Kinds | Value | GraphQL "
                    "| Description | Example |\n",
                    "| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (const OperatorInfo* info : infos) absl::StrAppend(&out, Row(*info));
  }
  return out;
}

}  // namespace fraiseql::where
