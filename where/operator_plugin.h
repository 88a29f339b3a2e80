// where/: how an operator plugin compiled into the binary (a Bazel target
// under plugins/where/<name>/, linked with alwayslink = True) adds itself to
// every registry made by MakeBuiltinOperatorRegistry().
//
//   absl::Status RegisterMyOperators(fraiseql::where::OperatorRegistry* r);
//   FRAISEQL_WHERE_OPERATOR_PLUGIN(my_operators, RegisterMyOperators);
//
// The built-in families are plugins too (plugins/where/<family>/); they use
// FRAISEQL_WHERE_OPERATOR_PLUGIN_RANKED to fix their place in the registry
// (ranks 10..100, the order of docs/operators.md), ahead of other plugins
// (kDefaultPluginRank). The order never depends on link order.
#ifndef FRAISEQL_WHERE_OPERATOR_PLUGIN_H_
#define FRAISEQL_WHERE_OPERATOR_PLUGIN_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "where/operator.h"

namespace fraiseql::where {

using PluginRegisterFunction = absl::Status (*)(OperatorRegistry*);

inline constexpr int kDefaultPluginRank = 1000;

struct LinkedPlugin {
  std::string name;
  PluginRegisterFunction register_function;
  int rank = kDefaultPluginRank;
};

// Records a plugin at static-initialisation time. Returns true.
bool AddLinkedPlugin(const char* name, PluginRegisterFunction function,
                     int rank = kDefaultPluginRank);

// The plugins linked into this binary, by rank, then by name.
const std::vector<LinkedPlugin>& LinkedPlugins();

// Runs every linked plugin's registration; the first error wins, naming the
// plugin.
absl::Status RegisterLinkedPlugins(OperatorRegistry* registry);

}  // namespace fraiseql::where

#define FRAISEQL_WHERE_OPERATOR_PLUGIN(name, function)                \
  static const bool fraiseql_where_plugin_##name##_registered_ =      \
      ::fraiseql::where::AddLinkedPlugin(#name, function)

#define FRAISEQL_WHERE_OPERATOR_PLUGIN_RANKED(name, rank, function) \
  static const bool fraiseql_where_plugin_##name##_registered_ =    \
      ::fraiseql::where::AddLinkedPlugin(#name, function, rank)

#endif  // FRAISEQL_WHERE_OPERATOR_PLUGIN_H_
