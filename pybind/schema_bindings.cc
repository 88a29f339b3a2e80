#include "pybind/schema_bindings.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pybind/errors.h"
#include "pybind11/stl.h"
#include "where/schema_file.h"

namespace py = pybind11;

namespace fraiseql::pybind {
namespace {

std::vector<std::pair<std::string, std::string>> Pairs(const py::dict& dict,
                                                       const char* what) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (auto item : dict) {
    if (!py::isinstance<py::str>(item.first) ||
        !py::isinstance<py::str>(item.second)) {
      throw py::type_error(absl::StrCat(what, " must map str to str"));
    }
    pairs.emplace_back(item.first.cast<std::string>(),
                       item.second.cast<std::string>());
  }
  return pairs;
}

std::vector<where::FieldSpec> FieldSpecs(const py::dict& fields,
                                         const std::string& owner) {
  std::vector<where::FieldSpec> specs;
  for (auto item : fields) {
    if (!py::isinstance<py::str>(item.first) ||
        !py::isinstance<py::str>(item.second)) {
      throw py::type_error(
          absl::StrCat("fields of ", owner,
                       " must map JSONB keys (str) to kinds (str), e.g. "
                       "{'first_name': 'String', 'tags': '[String]'}"));
    }
    specs.push_back(
        {item.first.cast<std::string>(), item.second.cast<std::string>()});
  }
  return specs;
}

py::dict DescribeField(const where::FieldDef& field) {
  py::dict d;
  d["name"] = field.name;
  d["key"] = field.key;
  d["kind"] = std::string(where::FieldKindName(field.kind));
  d["object_type"] = field.object_type;
  d["element_kind"] =
      field.kind == where::FieldKind::kList
          ? std::string(where::FieldKindName(field.element_kind))
          : std::string();
  d["column"] = field.column;
  d["fk_column"] = field.fk_column;
  return d;
}

py::list DescribeFields(const where::ObjectType& type) {
  py::list fields;
  for (const where::FieldDef& field : type.fields()) {
    fields.append(DescribeField(field));
  }
  return fields;
}

}  // namespace

py::dict PySchema::Describe() const {
  py::dict types;
  for (const std::string& name : schema_.ObjectTypeNames()) {
    types[py::str(name)] = DescribeFields(*schema_.FindObjectType(name));
  }
  py::list views;
  for (const std::string& name : schema_.ViewNames()) {
    const where::ViewDef& view = *schema_.FindView(name);
    py::dict d;
    d["name"] = view.name;
    d["type"] = view.type.name();
    d["jsonb_column"] = view.jsonb_column;
    py::list columns;
    for (const auto& [column, type] : view.columns) {
      py::list pair;
      pair.append(column);
      pair.append(type);
      columns.append(pair);
    }
    d["columns"] = columns;
    d["fields"] = DescribeFields(view.type);
    d["allowed_operators"] = view.allowed_operators;
    d["text_search_config"] = view.text_search_config;
    views.append(d);
  }
  py::dict out;
  out["types"] = types;
  out["views"] = views;
  return out;
}

void PySchema::AddType(const std::string& name, const py::dict& fields) {
  RaiseIfError(schema_.AddObjectType(name, FieldSpecs(fields, name)));
}

void PySchema::AddView(const std::string& name, const std::string& type_name,
                       const py::dict& fields, const py::dict& columns,
                       const std::string& jsonb_column,
                       const py::dict& foreign_keys,
                       std::optional<std::vector<std::string>> operators,
                       const std::string& text_search_config) {
  where::ViewSpec spec;
  spec.name = name;
  spec.type_name = type_name;
  spec.jsonb_column = jsonb_column;
  spec.columns = Pairs(columns, "columns");
  spec.fields = FieldSpecs(fields, type_name);
  spec.foreign_keys = Pairs(foreign_keys, "foreign_keys");
  if (operators.has_value()) spec.allowed_operators = *operators;
  spec.text_search_config = text_search_config;
  RaiseIfError(schema_.AddView(spec));
}

void PySchema::Load(const std::string& path) {
  RaiseIfError(where::LoadSchemaFile(path, &schema_));
}

void PySchema::LoadJson(const std::string& text) {
  RaiseIfError(where::LoadSchemaJson(text, &schema_));
}

void DefineSchema(py::module_& m) {
  py::class_<PySchema>(m, "Schema",
                       "Registered views and object types. Field kinds: "
                       "String, Int, Float, Decimal, Boolean, UUID, ID, Date, "
                       "DateTime, IpAddress, MacAddress, LTree, DateRange, "
                       "JSON, ..., a registered type name, or [Kind].")
      .def(py::init<>())
      .def("add_type", &PySchema::AddType, py::arg("name"), py::arg("fields"),
           "Registers a nested object type: fields maps JSONB keys to kinds.")
      .def("add_view", &PySchema::AddView, py::arg("name"),
           py::arg("type_name"), py::arg("fields"),
           py::arg("columns") = py::dict(), py::arg("jsonb_column") = "data",
           py::arg("foreign_keys") = py::dict(),
           py::arg("operators") = py::none(),
           py::arg("text_search_config") = "english",
           "Registers a view (e.g. 'app.v_user') whose rows are of GraphQL "
           "type `type_name`. columns maps real columns to PostgreSQL types; "
           "a field whose key is a column filters on that column. "
           "foreign_keys maps an object field to its FK column "
           "({'author': 'author_id'}); operators, when given, is the "
           "allow-list of operator names or keys for this view's filters.")
      .def("load", &PySchema::Load, py::arg("path"),
           "Registers the types and views of a JSON schema file "
           "({\"types\": {...}, \"views\": [...]}, see "
           "where/schema_file.h); errors name the place in the file.")
      .def("load_json", &PySchema::LoadJson, py::arg("text"),
           "Like load(), from JSON text.")
      .def("views", &PySchema::Views, "Names of the registered views.")
      .def("describe", &PySchema::Describe,
           "The registered types and views as plain data: {'types': {name: "
           "[field, ...]}, 'views': [{'name', 'type', 'jsonb_column', "
           "'columns': [[name, pg_type], ...], 'fields': [field, ...], "
           "'allowed_operators': [...], 'text_search_config'}]} (views "
           "sorted by name), each field {'name' (GraphQL), 'key' (JSONB), "
           "'kind' ('String', ..., 'List', 'Object'), 'object_type', "
           "'element_kind' (Lists only, else ''), 'column', 'fk_column'}.");
}

}  // namespace fraiseql::pybind
