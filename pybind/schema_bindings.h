// pybind/: fraiseql_native.Schema, over where::Schema.
#ifndef FRAISEQL_PYBIND_SCHEMA_BINDINGS_H_
#define FRAISEQL_PYBIND_SCHEMA_BINDINGS_H_

#include <optional>
#include <string>
#include <vector>

#include "pybind11/pybind11.h"
#include "where/schema.h"

namespace fraiseql::pybind {

// Python-side schema: a Schema being filled; Repositories take snapshots.
class PySchema {
 public:
  void AddType(const std::string& name, const pybind11::dict& fields);
  void AddView(const std::string& name, const std::string& type_name,
               const pybind11::dict& fields, const pybind11::dict& columns,
               const std::string& jsonb_column,
               const pybind11::dict& foreign_keys,
               std::optional<std::vector<std::string>> operators,
               const std::string& text_search_config);
  void Load(const std::string& path);
  void LoadJson(const std::string& text);
  std::vector<std::string> Views() const { return schema_.ViewNames(); }
  const where::Schema& schema() const { return schema_; }

 private:
  where::Schema schema_;
};

void DefineSchema(pybind11::module_& m);

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_SCHEMA_BINDINGS_H_
