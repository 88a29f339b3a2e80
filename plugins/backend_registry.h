// plugins/: backends as plugins, by name. A Repository is made over a
// backend chosen by name (`native`, `legacy-psycopg`, or one a user
// registers from C++ or Python); the registry turns the name and a
// configuration into a backend.
//
// One registry is built at start-up: RegisterBuiltinBackends
// (plugins/backends/builtin_backends.h) adds the backends linked into the
// binary, one line each; Python plugins (fraiseql_native.register_backend)
// add theirs when the module or the plugin is imported.
#ifndef FRAISEQL_PLUGINS_BACKEND_REGISTRY_H_
#define FRAISEQL_PLUGINS_BACKEND_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "plugins/backend.h"
#include "pool/pool.h"

namespace fraiseql::plugins {

// What a backend is made from.
struct BackendConfig {
  // The connection pool the Repository was given; native backends run on
  // it. Never null.
  std::shared_ptr<pool::Pool> pool;
  // The pool's connection string (URL, libpq keywords, or empty for libpq's
  // PG* variables), for backends that open connections of their own.
  std::string url;
  // The statement_timeout of a call whose context gives none (zero: none),
  // the Repository's statement_timeout.
  absl::Duration statement_timeout = absl::Seconds(30);
  // Backend-specific options, as text (e.g. native's "chunk_rows" = "256").
  // A factory rejects a key it does not know (InvalidArgument naming it).
  std::map<std::string, std::string> options;
};

// Makes a backend from `config`. Errors: InvalidArgument for a bad option.
using BackendFactory = std::function<absl::StatusOr<std::shared_ptr<Backend>>(
    const BackendConfig& config)>;

// Thread-safe. Names are lowercase [a-z0-9][a-z0-9._-]* up to 64 bytes.
class BackendRegistry {
 public:
  // InvalidArgument for a malformed name; AlreadyExists when `name` is
  // registered.
  absl::Status Register(absl::string_view name, BackendFactory factory);

  // The backend `name` makes from `config`. NotFound naming the registered
  // backends when no backend has that name; the factory's errors.
  absl::StatusOr<std::shared_ptr<Backend>> Create(
      absl::string_view name, const BackendConfig& config) const;

  // Registered names, sorted.
  std::vector<std::string> Names() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, BackendFactory> factories_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace fraiseql::plugins

#endif  // FRAISEQL_PLUGINS_BACKEND_REGISTRY_H_
