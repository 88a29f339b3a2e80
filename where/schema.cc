#include "where/schema.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "names/camel_case.h"
#include "where/sql_identifier.h"

namespace fraiseql::where {
namespace {

struct KindName {
  FieldKind kind;
  absl::string_view name;
};

constexpr std::array<KindName, 23> kKindNames = {{
    {FieldKind::kString, "String"},       {FieldKind::kEmail, "Email"},
    {FieldKind::kHostname, "Hostname"},   {FieldKind::kInt, "Int"},
    {FieldKind::kFloat, "Float"},         {FieldKind::kDecimal, "Decimal"},
    {FieldKind::kPort, "Port"},           {FieldKind::kBoolean, "Boolean"},
    {FieldKind::kUuid, "UUID"},           {FieldKind::kId, "ID"},
    {FieldKind::kDate, "Date"},           {FieldKind::kDateTime, "DateTime"},
    {FieldKind::kIpAddress, "IpAddress"}, {FieldKind::kCidr, "CIDR"},
    {FieldKind::kMacAddress, "MacAddress"}, {FieldKind::kLTree, "LTree"},
    {FieldKind::kDateRange, "DateRange"}, {FieldKind::kJson, "JSON"},
    {FieldKind::kList, "List"},           {FieldKind::kFullText, "FullText"},
    {FieldKind::kVector, "Vector"},       {FieldKind::kCoordinate, "Coordinate"},
    {FieldKind::kObject, "Object"},
}};

bool IsGraphQLName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = c == '_' || absl::ascii_isalpha(c) ||
              (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

}  // namespace

absl::string_view FieldKindName(FieldKind kind) {
  for (const KindName& k : kKindNames) {
    if (k.kind == kind) return k.name;
  }
  return "?";
}

absl::StatusOr<FieldKind> ParseScalarKind(absl::string_view name) {
  if (name == "IPAddress") return FieldKind::kIpAddress;
  if (name == "Uuid") return FieldKind::kUuid;
  if (name == "JSONB" || name == "Json") return FieldKind::kJson;
  if (name == "Datetime") return FieldKind::kDateTime;
  for (const KindName& k : kKindNames) {
    if (k.name == name && k.kind != FieldKind::kObject &&
        k.kind != FieldKind::kList) {
      return k.kind;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown field kind '", name, "'"));
}

const FieldDef* ObjectType::FindField(absl::string_view name) const {
  for (const FieldDef& f : fields_) {
    if (f.name == name || f.key == name) return &f;
  }
  return nullptr;
}

absl::Status ObjectType::AddField(FieldDef field) {
  if (FindField(field.name) != nullptr || FindField(field.key) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat(
        "field '", field.key, "' is declared twice on type ", name_));
  }
  fields_.push_back(std::move(field));
  return absl::OkStatus();
}

absl::StatusOr<FieldDef> Schema::ResolveField(absl::string_view owner,
                                              const FieldSpec& spec) const {
  std::string where = absl::StrCat(owner, ".", spec.key);
  if (spec.key.empty() || spec.key.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid field key on ", owner, ": keys must be non-empty text"));
  }
  FieldDef field;
  field.key = spec.key;
  field.name = names::CamelCase(spec.key);
  if (!IsGraphQLName(field.name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid field key '", spec.key, "' on ", owner,
        ": its GraphQL name '", field.name, "' is not a valid GraphQL name"));
  }
  absl::string_view kind = absl::StripAsciiWhitespace(spec.kind);
  bool is_list = absl::StartsWith(kind, "[") && absl::EndsWith(kind, "]");
  if (is_list) {
    kind = absl::StripAsciiWhitespace(kind.substr(1, kind.size() - 2));
    // GraphQL non-null markers carry no meaning for filtering.
    if (absl::EndsWith(kind, "!")) kind.remove_suffix(1);
  }
  FieldKind resolved;
  std::string object_type;
  if (const ObjectType* type = FindObjectType(kind); type != nullptr) {
    resolved = FieldKind::kObject;
    object_type = type->name();
  } else {
    absl::StatusOr<FieldKind> scalar = ParseScalarKind(kind);
    if (!scalar.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown kind '", spec.kind, "' for field ", where,
          "; expected a scalar kind (String, Int, Decimal, DateTime, ...), "
          "a registered object type, or a list of either in brackets"));
    }
    resolved = *scalar;
  }
  if (is_list) {
    field.kind = FieldKind::kList;
    field.element_kind = resolved;
  } else {
    field.kind = resolved;
  }
  field.object_type = object_type;
  return field;
}

absl::Status Schema::AddObjectType(absl::string_view type_name,
                                   const std::vector<FieldSpec>& fields) {
  if (!IsGraphQLName(type_name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid type name '", type_name, "': expected a GraphQL name"));
  }
  if (FindObjectType(type_name) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("type ", type_name, " is registered already"));
  }
  ObjectType type{std::string(type_name)};
  for (const FieldSpec& spec : fields) {
    absl::StatusOr<FieldDef> field = ResolveField(type_name, spec);
    if (!field.ok()) return field.status();
    absl::Status added = type.AddField(*std::move(field));
    if (!added.ok()) return added;
  }
  types_.emplace(std::string(type_name), std::move(type));
  return absl::OkStatus();
}

absl::Status Schema::AddView(
    absl::string_view view_name, absl::string_view type_name,
    absl::string_view jsonb_column,
    const std::vector<std::pair<std::string, std::string>>& columns,
    const std::vector<FieldSpec>& fields) {
  ViewSpec spec;
  spec.name = std::string(view_name);
  spec.type_name = std::string(type_name);
  spec.jsonb_column = std::string(jsonb_column);
  spec.columns = columns;
  spec.fields = fields;
  return AddView(spec);
}

absl::Status Schema::AddView(const ViewSpec& spec) {
  const std::string& view_name = spec.name;
  const std::string& type_name = spec.type_name;
  if (absl::Status name_ok = ValidateQualifiedName(view_name); !name_ok.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid view name: ", name_ok.message()));
  }
  if (FindView(view_name) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("view ", view_name, " is registered already"));
  }
  if (!IsGraphQLName(type_name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid type name '", type_name, "' for view ",
                     view_name, ": expected a GraphQL name"));
  }
  ViewDef view;
  view.name = view_name;
  view.jsonb_column = spec.jsonb_column;
  view.type = ObjectType(type_name);
  view.allowed_operators = spec.allowed_operators;
  view.text_search_config = spec.text_search_config;
  if (absl::Status ok = ValidateQualifiedName(spec.text_search_config);
      !ok.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid text search configuration for view ", view_name, ": ",
        ok.message()));
  }
  for (const auto& [column, pg_type] : spec.columns) {
    if (absl::Status ok = ValidateIdentifier(column); !ok.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid column of view ", view_name, ": ", ok.message()));
    }
    view.columns.emplace_back(column, pg_type);
  }
  auto has_column = [&](absl::string_view name) {
    for (const auto& c : view.columns) {
      if (c.first == name) return true;
    }
    return false;
  };
  auto column_list = [&] {
    return absl::StrJoin(view.columns, ", ",
                         [](std::string* out, const auto& c) {
                           absl::StrAppend(out, c.first);
                         });
  };
  if (!view.jsonb_column.empty() && !view.columns.empty() &&
      !has_column(view.jsonb_column)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "view ", view_name, " names JSONB column '", view.jsonb_column,
        "', which is not among its columns (", column_list(), ")"));
  }
  for (const FieldSpec& field_spec : spec.fields) {
    absl::StatusOr<FieldDef> field = ResolveField(type_name, field_spec);
    if (!field.ok()) return field.status();
    if (has_column(field->key) && field->key != view.jsonb_column) {
      field->column = field->key;
    } else if (view.jsonb_column.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "field ", type_name, ".", field_spec.key, " of view ", view_name,
          " is not a column, and the view has no JSONB column"));
    } else if (field->kind == FieldKind::kFullText) {
      return absl::InvalidArgumentError(absl::StrCat(
          "FullText field ", type_name, ".", field_spec.key, " of view ",
          view_name, " must be a tsvector column of the view"));
    }
    absl::Status added = view.type.AddField(*std::move(field));
    if (!added.ok()) return added;
  }
  for (const auto& [key, column] : spec.foreign_keys) {
    FieldDef* field = view.type.FindMutableField(key);
    if (field == nullptr || field->kind != FieldKind::kObject) {
      return absl::InvalidArgumentError(absl::StrCat(
          "foreign key '", key, "' of view ", view_name,
          ": expected an object field of type ", type_name));
    }
    if (!has_column(column)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "foreign key '", key, "' of view ", view_name, " names column '",
          column, "', which is not among its columns (", column_list(), ")"));
    }
    field->fk_column = column;
  }
  views_.emplace(view_name, std::move(view));
  return absl::OkStatus();
}

const ViewDef* Schema::FindView(absl::string_view view_name) const {
  auto it = views_.find(view_name);
  return it == views_.end() ? nullptr : &it->second;
}

const ObjectType* Schema::FindObjectType(absl::string_view type_name) const {
  auto it = types_.find(type_name);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<std::string> Schema::ViewNames() const {
  std::vector<std::string> names;
  for (const auto& [name, view] : views_) names.push_back(name);
  return names;
}

std::vector<std::string> Schema::ObjectTypeNames() const {
  std::vector<std::string> names;
  for (const auto& [name, type] : types_) names.push_back(name);
  return names;
}

std::string Schema::SuggestViews(absl::string_view typed) const {
  return DidYouMean(typed, ViewNames());
}

namespace {

// Lower case, without underscores: `first_name` and `firstName` compare
// equal.
std::string Folded(absl::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c != '_') out.push_back(absl::ascii_tolower(c));
  }
  return out;
}

absl::string_view AfterLastDot(absl::string_view name) {
  size_t dot = name.rfind('.');
  return dot == absl::string_view::npos ? name : name.substr(dot + 1);
}

// Edit distance with adjacent transpositions (optimal string alignment:
// `fristName` is one edit from `firstName`), or `bound + 1` when it is
// certainly above `bound` (the lengths differ by more): then nothing is
// computed, so a long `a` costs nothing against short names.
size_t BoundedEditDistance(absl::string_view a, absl::string_view b,
                           size_t bound) {
  size_t gap = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (gap > bound) return bound + 1;
  std::vector<size_t> before(b.size() + 1), previous(b.size() + 1),
      current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    before.swap(previous);
    previous.swap(current);
  }
  return previous[b.size()];
}

}  // namespace

std::vector<std::string> SuggestNames(absl::string_view typed,
                                      const std::vector<std::string>& candidates,
                                      size_t max_names) {
  const std::string whole = Folded(typed);
  const std::string last = Folded(AfterLastDot(typed));
  // Judged on the name itself: a shared schema prefix makes no two view
  // names close.
  const size_t bound = std::max<size_t>(1, last.size() / 4);
  std::vector<std::pair<size_t, size_t>> close;  // distance, candidate index
  for (size_t i = 0; i < candidates.size(); ++i) {
    size_t d = BoundedEditDistance(whole, Folded(candidates[i]), bound);
    absl::string_view candidate_last = AfterLastDot(candidates[i]);
    if (last.size() != whole.size() ||
        candidate_last.size() != candidates[i].size()) {
      d = std::min(d, BoundedEditDistance(last, Folded(candidate_last), bound));
    }
    if (d <= bound) close.emplace_back(d, i);
  }
  std::stable_sort(close.begin(), close.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> names;
  for (size_t i = 0; i < close.size() && names.size() < max_names; ++i) {
    names.push_back(candidates[close[i].second]);
  }
  return names;
}

std::string DidYouMean(absl::string_view typed,
                       const std::vector<std::string>& candidates) {
  std::vector<std::string> names = SuggestNames(typed, candidates);
  if (names.empty()) return "";
  std::string list = names.back();
  if (names.size() > 1) {
    names.pop_back();
    list = absl::StrCat(absl::StrJoin(names, ", "), " or ", list);
  }
  return absl::StrCat("; did you mean ", list, "?");
}

std::string SuggestFields(absl::string_view typed, const ObjectType& type) {
  std::vector<std::string> names;
  names.reserve(type.fields().size());
  for (const FieldDef& field : type.fields()) names.push_back(field.name);
  return DidYouMean(typed, names);
}

}  // namespace fraiseql::where
