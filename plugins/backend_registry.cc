#include "plugins/backend_registry.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fraiseql::plugins {
namespace {

constexpr size_t kMaxNameBytes = 64;

bool IsValidName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  if (!absl::ascii_islower(name[0]) && !absl::ascii_isdigit(name[0])) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace

absl::Status BackendRegistry::Register(absl::string_view name,
                                       BackendFactory factory) {
  if (!IsValidName(name)) {
    return absl::InvalidArgumentError(
        "invalid backend name: expected [a-z0-9][a-z0-9._-]*, at most 64 "
        "bytes");
  }
  if (!factory) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid backend '", name, "': no factory"));
  }
  absl::MutexLock lock(&mu_);
  if (!factories_.emplace(std::string(name), std::move(factory)).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("backend '", name, "' is already registered"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Backend>> BackendRegistry::Create(
    absl::string_view name, const BackendConfig& config) const {
  BackendFactory factory;
  {
    absl::MutexLock lock(&mu_);
    auto it = factories_.find(name);
    if (it != factories_.end()) factory = it->second;
  }
  if (!factory) {
    // Quoted only when it is a well-formed name (no stray bytes to echo).
    return absl::NotFoundError(absl::StrCat(
        "unknown backend",
        IsValidName(name) ? absl::StrCat(" '", name, "'") : std::string(),
        "; registered: ", absl::StrJoin(Names(), ", ")));
  }
  // Outside the lock: a factory may take long (opening connections) or
  // register further backends.
  absl::StatusOr<std::shared_ptr<Backend>> backend = factory(config);
  if (backend.ok() && *backend == nullptr) {
    return absl::InternalError(
        absl::StrCat("backend '", name, "': the factory returned nothing"));
  }
  return backend;
}

std::vector<std::string> BackendRegistry::Names() const {
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    names.reserve(factories_.size());
    for (const auto& [name, factory] : factories_) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace fraiseql::plugins
