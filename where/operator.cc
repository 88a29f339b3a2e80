#include "where/operator.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "where/operator_plugin.h"

namespace fraiseql::where {
namespace {

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

bool IsDottedKey(absl::string_view key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  for (char c : key) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' ||
          c == '.')) {
      return false;
    }
  }
  return key.find("..") == absl::string_view::npos &&
         key.find('.') != absl::string_view::npos;
}

bool IsName(absl::string_view name) {
  if (name.empty() || absl::ascii_isdigit(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

// One type of OperatorInfo::graphql_type from `*pos`: a name or a
// placeholder ($field, $element), or a list `[...]`, then an optional `!`.
bool ParseTypeExpression(absl::string_view text, size_t* pos, int depth) {
  if (*pos >= text.size() || depth > 8) return false;
  if (text[*pos] == '[') {
    ++*pos;
    if (!ParseTypeExpression(text, pos, depth + 1)) return false;
    if (*pos >= text.size() || text[*pos] != ']') return false;
    ++*pos;
  } else {
    bool placeholder = text[*pos] == '$';
    if (placeholder) ++*pos;
    size_t start = *pos;
    while (*pos < text.size() &&
           (absl::ascii_isalnum(text[*pos]) || text[*pos] == '_')) {
      ++*pos;
    }
    absl::string_view name = text.substr(start, *pos - start);
    if (!IsName(name)) return false;
    if (placeholder && name != "field" && name != "element") return false;
  }
  if (*pos < text.size() && text[*pos] == '!') ++*pos;
  return true;
}

bool IsTypeExpression(absl::string_view text) {
  size_t pos = 0;
  return ParseTypeExpression(text, &pos, 0) && pos == text.size();
}

class FunctionOperator : public Operator {
 public:
  FunctionOperator(OperatorInfo info, RenderFunction render)
      : info_(std::move(info)), render_(std::move(render)) {}
  const OperatorInfo& info() const override { return info_; }
  absl::StatusOr<std::string> Render(const Operand& operand,
                                     const JsonValue& value,
                                     absl::string_view path,
                                     ParamList* params) const override {
    return render_(operand, value, path, params);
  }

 private:
  OperatorInfo info_;
  RenderFunction render_;
};


}  // namespace

std::vector<std::string> NameSpellings(absl::string_view camel,
                                       std::vector<std::string> extra) {
  std::string snake, lower;
  for (char c : camel) {
    if (absl::ascii_isupper(c)) snake.push_back('_');
    snake.push_back(absl::ascii_tolower(c));
    lower.push_back(absl::ascii_tolower(c));
  }
  std::vector<std::string> out;
  for (const std::string& s : {snake, lower}) {
    if (s != camel && (out.empty() || out.back() != s)) out.push_back(s);
  }
  for (std::string& s : extra) out.push_back(std::move(s));
  return out;
}

absl::Status RegisterFamily(OperatorRegistry* registry,
                            absl::string_view family,
                            const std::vector<FieldKind>& kinds,
                            std::vector<OperatorSpec> specs) {
  for (OperatorSpec& spec : specs) {
    OperatorInfo info;
    info.key = absl::StrCat("where.", family, ".", spec.key);
    info.name = std::move(spec.name);
    info.aliases = std::move(spec.aliases);
    info.kinds = kinds;
    info.value_shape = std::move(spec.value_shape);
    info.graphql_type = std::move(spec.graphql_type);
    info.description = std::move(spec.description);
    info.example = std::move(spec.example);
    RETURN_IF_ERROR(registry->Register(
        MakeOperator(std::move(info), std::move(spec.render))));
  }
  return absl::OkStatus();
}

std::unique_ptr<Operator> MakeOperator(OperatorInfo info,
                                       RenderFunction render) {
  return std::make_unique<FunctionOperator>(std::move(info), std::move(render));
}

absl::Status OperatorRegistry::Register(std::shared_ptr<const Operator> op) {
  const OperatorInfo& info = op->info();
  if (!IsDottedKey(info.key)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid operator key '", info.key,
        "': expected dotted lowercase, like where.text.ieq"));
  }
  std::vector<std::string> names = {info.name};
  names.insert(names.end(), info.aliases.begin(), info.aliases.end());
  for (const std::string& name : names) {
    if (!IsName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid name '", name, "' for operator ", info.key,
          ": expected letters, digits and underscores"));
    }
  }
  if (!info.graphql_type.empty() && !IsTypeExpression(info.graphql_type)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid graphql_type '", info.graphql_type, "' for operator ",
        info.key,
        ": expected a GraphQL input type like String, [$field!] or "
        "$element"));
  }
  if (info.kinds.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("operator ", info.key, " applies to no field kind"));
  }
  for (const auto& existing : operators_) {
    if (existing->info().key == info.key) {
      return absl::AlreadyExistsError(
          absl::StrCat("operator ", info.key, " is registered already"));
    }
  }
  for (const std::string& name : names) {
    for (FieldKind kind : info.kinds) {
      if (const Operator* taken = Find(name, kind); taken != nullptr) {
        return absl::AlreadyExistsError(absl::StrCat(
            "operator name '", name, "' of ", info.key, " on ",
            FieldKindName(kind), " fields is taken by ", taken->info().key));
      }
    }
  }
  for (const std::string& name : names) by_name_.emplace(name, op.get());
  operators_.push_back(std::move(op));
  return absl::OkStatus();
}

const Operator* OperatorRegistry::Find(absl::string_view name,
                                       FieldKind kind) const {
  auto [begin, end] = by_name_.equal_range(name);
  for (auto it = begin; it != end; ++it) {
    const std::vector<FieldKind>& kinds = it->second->info().kinds;
    if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) {
      return it->second;
    }
  }
  return nullptr;
}

bool OperatorRegistry::Knows(absl::string_view name) const {
  return by_name_.find(name) != by_name_.end();
}

std::vector<FieldKind> OperatorRegistry::KindsOf(absl::string_view name) const {
  std::vector<FieldKind> kinds;
  auto [begin, end] = by_name_.equal_range(name);
  for (auto it = begin; it != end; ++it) {
    for (FieldKind k : it->second->info().kinds) {
      if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) {
        kinds.push_back(k);
      }
    }
  }
  std::sort(kinds.begin(), kinds.end());
  return kinds;
}

std::string OperatorRegistry::Suggest(absl::string_view name) const {
  std::string best;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
  for (const auto& [candidate, op] : by_name_) {
    size_t d = EditDistance(absl::AsciiStrToLower(name),
                            absl::AsciiStrToLower(candidate));
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::vector<const Operator*> OperatorRegistry::List() const {
  std::vector<const Operator*> list;
  for (const auto& op : operators_) list.push_back(op.get());
  return list;
}

std::unique_ptr<OperatorRegistry> MakeBuiltinOperatorRegistry() {
  auto registry = std::make_unique<OperatorRegistry>();
  absl::Status status = RegisterLinkedPlugins(registry.get());
  // Built-in and linked names are fixed at build time: a clash is a bug in
  // the build, caught by the first test that makes a registry.
  if (!status.ok()) {
    fprintf(stderr, "fraiseql: operator registry: %s\n",
            std::string(status.message()).c_str());
    abort();
  }
  return registry;
}

namespace {
std::vector<LinkedPlugin>* MutableLinkedPlugins() {
  static auto* plugins = new std::vector<LinkedPlugin>();
  return plugins;
}
}  // namespace

bool AddLinkedPlugin(const char* name, PluginRegisterFunction function,
                     int rank) {
  std::vector<LinkedPlugin>* plugins = MutableLinkedPlugins();
  LinkedPlugin plugin{name, function, rank};
  auto before = [](const LinkedPlugin& a, const LinkedPlugin& b) {
    return a.rank != b.rank ? a.rank < b.rank : a.name < b.name;
  };
  plugins->insert(
      std::upper_bound(plugins->begin(), plugins->end(), plugin, before),
      std::move(plugin));
  return true;
}

const std::vector<LinkedPlugin>& LinkedPlugins() {
  return *MutableLinkedPlugins();
}

absl::Status RegisterLinkedPlugins(OperatorRegistry* registry) {
  for (const LinkedPlugin& plugin : LinkedPlugins()) {
    absl::Status status = plugin.register_function(registry);
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("plugin ", plugin.name, ": ",
                                       status.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace fraiseql::where
