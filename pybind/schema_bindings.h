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
  // The registered types and views as plain data, for generators such as
  // the SDL (fraiseql_native.gql.sdl): {"types": {name: [field...]},
  // "views": [{"name", "type", "jsonb_column", "columns": [[name, type]...],
  // "fields": [field...], "allowed_operators": [...],
  // "text_search_config"}]}, views sorted by name, fields in declaration
  // order; field = {"name", "key", "kind", "object_type", "element_kind",
  // "column", "fk_column"} with kind a FieldKindName ("List", "Object"
  // included), element_kind "" unless a List, object_type "" unless an
  // Object or a List of objects.
  pybind11::dict Describe() const;
  const where::Schema& schema() const { return schema_; }

 private:
  where::Schema schema_;
};

void DefineSchema(pybind11::module_& m);

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_SCHEMA_BINDINGS_H_
