// where/: how an operator plugin compiled into the binary (a Bazel target
// under plugins/where/<name>/, linked with alwayslink = True) adds itself to
// every registry made by MakeBuiltinOperatorRegistry().
//
//   absl::Status RegisterMyOperators(fraiseql::where::OperatorRegistry* r);
//   FRAISEQL_WHERE_OPERATOR_PLUGIN(my_operators, RegisterMyOperators);
#ifndef FRAISEQL_WHERE_OPERATOR_PLUGIN_H_
#define FRAISEQL_WHERE_OPERATOR_PLUGIN_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "where/operator.h"

namespace fraiseql::where {

using PluginRegisterFunction = absl::Status (*)(OperatorRegistry*);

struct LinkedPlugin {
  std::string name;
  PluginRegisterFunction register_function;
};

// Records a plugin at static-initialisation time. Returns true.
bool AddLinkedPlugin(const char* name, PluginRegisterFunction function);

// The plugins linked into this binary, in link order.
const std::vector<LinkedPlugin>& LinkedPlugins();

// Runs every linked plugin's registration; the first error wins, naming the
// plugin.
absl::Status RegisterLinkedPlugins(OperatorRegistry* registry);

}  // namespace fraiseql::where

#define FRAISEQL_WHERE_OPERATOR_PLUGIN(name, function)                \
  static const bool fraiseql_where_plugin_##name##_registered_ =      \
      ::fraiseql::where::AddLinkedPlugin(#name, function)

#endif  // FRAISEQL_WHERE_OPERATOR_PLUGIN_H_
