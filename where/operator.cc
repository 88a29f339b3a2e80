#include "where/operator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

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

}  // namespace

absl::Status OperatorRegistry::Register(std::unique_ptr<Operator> op) {
  const OperatorInfo& info = op->info();
  std::vector<std::string> names = {info.name};
  names.insert(names.end(), info.aliases.begin(), info.aliases.end());
  for (const std::unique_ptr<Operator>& existing : operators_) {
    if (existing->info().key == info.key) {
      return absl::AlreadyExistsError(
          absl::StrCat("operator ", info.key, " is registered already"));
    }
  }
  for (const std::string& name : names) {
    if (auto it = by_name_.find(name); it != by_name_.end()) {
      return absl::AlreadyExistsError(
          absl::StrCat("operator name '", name, "' of ", info.key,
                       " is taken by ", it->second->info().key));
    }
  }
  for (const std::string& name : names) by_name_.emplace(name, op.get());
  operators_.push_back(std::move(op));
  return absl::OkStatus();
}

const Operator* OperatorRegistry::Find(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::string OperatorRegistry::Suggest(absl::string_view name) const {
  std::string best;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
  for (const auto& [candidate, op] : by_name_) {
    size_t d = EditDistance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = op->info().name;
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
  absl::Status status = RegisterBuiltinComparisonOperators(registry.get());
  // Built-in names are fixed at compile time: a clash is a programmer bug.
  if (!status.ok()) abort();
  return registry;
}

}  // namespace fraiseql::where
