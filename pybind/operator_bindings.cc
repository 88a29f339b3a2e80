#include "pybind/operator_bindings.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "pybind/python_json.h"
#include "pybind11/stl.h"
#include "where/kind_value.h"
#include "where/operator_plugin.h"

namespace py = pybind11;

namespace fraiseql::pybind {
namespace {

absl::Mutex registry_mu;

std::shared_ptr<where::OperatorRegistry>& Registry()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(registry_mu) {
  static auto* registry = new std::shared_ptr<where::OperatorRegistry>(
      where::MakeBuiltinOperatorRegistry());
  return *registry;
}

// A PostgreSQL type name as bind() may cast to, by a strict grammar (it is
// pasted after `::`): an identifier [a-z_][a-z0-9_]* of at most 63 bytes,
// optionally qualified by one schema identifier (an unqualified name or
// the schema must not be a reserved key word), or one of the multi-word
// built-in names below; then optionally one `[]`. No type modifiers, no
// quoting, no other spaces. A grammar rather than a fixed list so that
// extension and user types (ltree, app.status) stay usable.
bool IsSqlIdentifier(absl::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

// PostgreSQL's fully reserved key words (Appendix C): never a type name
// (`$1::null` is a syntax error).
bool IsReservedWord(absl::string_view word) {
  static constexpr absl::string_view kReserved[] = {
      "all", "analyse", "analyze", "and", "any", "array", "as", "asc",
      "asymmetric", "both", "case", "cast", "check", "collate", "column",
      "constraint", "create", "current_catalog", "current_date",
      "current_role", "current_time", "current_timestamp", "current_user",
      "default", "deferrable", "desc", "distinct", "do", "else", "end",
      "except", "false", "fetch", "for", "foreign", "from", "grant", "group",
      "having", "in", "initially", "intersect", "into", "lateral", "leading",
      "limit", "localtime", "localtimestamp", "not", "null", "offset", "on",
      "only", "or", "order", "placing", "primary", "references", "returning",
      "select", "session_user", "some", "symmetric", "system_user", "table",
      "then", "to", "trailing", "true", "union", "unique", "user", "using",
      "variadic", "when", "where", "window", "with",
  };
  for (absl::string_view reserved : kReserved) {
    if (word == reserved) return true;
  }
  return false;
}

bool IsSqlTypeName(absl::string_view type) {
  static constexpr absl::string_view kMultiWord[] = {
      "double precision",         "character varying",
      "bit varying",              "timestamp with time zone",
      "timestamp without time zone", "time with time zone",
      "time without time zone",
  };
  absl::ConsumeSuffix(&type, "[]");
  for (absl::string_view name : kMultiWord) {
    if (type == name) return true;
  }
  const size_t dot = type.find('.');
  const absl::string_view first = type.substr(0, dot);
  if (!IsSqlIdentifier(first) || IsReservedWord(first)) return false;
  if (dot == absl::string_view::npos) return true;
  return IsSqlIdentifier(type.substr(dot + 1));
}

// Bounds of one bound value from a Python operator.
constexpr PythonJsonLimits kBindLimits{64, 10000, 1 << 20};

// What a Python renderer receives as `field`.
struct PyField {
  std::string name;
  std::string kind;
  std::string typed;  // SQL of the value typed for its kind
  std::string text;   // SQL of the value as text
  std::string jsonb;  // SQL of the value as jsonb
  std::string value_type;  // SQL type to bind values compared with `typed`
};

// Converts a JsonValue back to a Python value (numbers exact: int or
// Decimal).
py::object ToPython(const where::JsonValue& v) {
  switch (v.type()) {
    case where::JsonValue::Type::kNull:
      return py::none();
    case where::JsonValue::Type::kBool:
      return py::bool_(v.bool_value());
    case where::JsonValue::Type::kNumber: {
      const std::string& t = v.text();
      if (t.find_first_of(".eE") == std::string::npos) {
        return py::module_::import("builtins").attr("int")(t);
      }
      return py::module_::import("decimal").attr("Decimal")(t);
    }
    case where::JsonValue::Type::kString:
      return py::str(v.text());
    case where::JsonValue::Type::kArray: {
      py::list list;
      for (const auto& item : v.items()) list.append(ToPython(item));
      return std::move(list);
    }
    case where::JsonValue::Type::kObject: {
      py::dict dict;
      for (const auto& [key, item] : v.members()) dict[py::str(key)] = ToPython(item);
      return std::move(dict);
    }
  }
  return py::none();
}

// An operator whose renderer is a Python callable:
//   render(field, value, bind) -> str
// where bind(value, sql_type) adds a parameter and returns its placeholder.
// Runs at plan time only, with the GIL taken for the call.
class PythonOperator : public where::Operator {
 public:
  PythonOperator(where::OperatorInfo info, py::object render)
      : info_(std::move(info)), render_(std::move(render)) {}

  ~PythonOperator() override {
    py::gil_scoped_acquire gil;
    render_ = py::object();
  }

  const where::OperatorInfo& info() const override { return info_; }

  absl::StatusOr<std::string> Render(const where::Operand& operand,
                                     const where::JsonValue& value,
                                     absl::string_view path,
                                     where::ParamList* params) const override {
    py::gil_scoped_acquire gil;
    try {
      PyField field{operand.field != nullptr ? operand.field->name : "",
                    std::string(where::FieldKindName(operand.kind)),
                    operand.typed_sql, operand.text_sql, operand.jsonb_sql,
                    operand.value_type.empty()
                        ? std::string(where::SqlTypeForKind(operand.kind))
                        : operand.value_type};
      // bind() may outlive this call if the renderer keeps it: it then
      // refuses instead of writing into a finished ParamList.
      auto live = std::make_shared<where::ParamList*>(params);
      auto bind = py::cpp_function(
          [live, path = std::string(path)](const py::object& v,
                                           const std::string& sql_type) {
            if (*live == nullptr) {
              throw py::value_error("bind() used after render() returned");
            }
            if (!IsSqlTypeName(sql_type)) {
              throw py::value_error(
                  "bind(): invalid sql_type; expected a type name such as "
                  "text, integer, numeric[], pg_catalog.text or double "
                  "precision");
            }
            where::Param p;
            p.sql_type = sql_type;
            absl::StatusOr<std::string> text;
            if (v.is_none()) {
              p.is_null = true;
            } else if (py::isinstance<py::str>(v)) {
              text = PythonStrUtf8(v, "bind() value", kBindLimits.max_bytes);
            } else {
              text = PythonToJson(v, "bind() value", kBindLimits);
            }
            if (!p.is_null) {
              if (!text.ok()) {
                throw py::value_error(std::string(text.status().message()));
              }
              // libpq ends a text parameter at its first NUL.
              if (text->find('\0') != std::string::npos) {
                throw py::value_error(
                    "bind(): a value contains a NUL byte");
              }
              p.text = *std::move(text);
            }
            return (*live)->Add(std::move(p));
          },
          py::arg("value"), py::arg("sql_type") = "text");
      struct Expire {
        std::shared_ptr<where::ParamList*> live;
        ~Expire() { *live = nullptr; }
      } expire{live};
      py::object sql = render_(py::cast(field), ToPython(value), bind);
      if (!py::isinstance<py::str>(sql)) {
        return absl::InternalError(absl::StrCat(
            "operator ", info_.key, ": render returned ",
            py::str(sql.get_type().attr("__name__")).cast<std::string>(),
            ", expected str"));
      }
      return sql.cast<std::string>();
    } catch (py::error_already_set& e) {
      // A ValueError from the renderer is the user's input being wrong.
      bool bad_input = e.matches(PyExc_ValueError);
      // The exception's own text, without the traceback e.what() carries.
      std::string what = py::str(e.value()).cast<std::string>();
      if (!bad_input) {
        what = absl::StrCat(
            py::str(e.type().attr("__name__")).cast<std::string>(), ": ",
            what);
      }
      return bad_input ? absl::InvalidArgumentError(absl::StrCat(
                             "invalid value at ", path, ": ", what))
                       : absl::InternalError(absl::StrCat(
                             "operator ", info_.key, " failed: ", what));
    }
  }

 private:
  where::OperatorInfo info_;
  py::object render_;
};

}  // namespace

std::shared_ptr<const where::OperatorRegistry> OperatorRegistrySnapshot() {
  absl::MutexLock lock(&registry_mu);
  return std::make_shared<const where::OperatorRegistry>(*Registry());
}

void DefineOperatorBindings(py::module_& m) {
  py::class_<PyField>(m, "OperatorField",
                      "The field a custom operator renders against.")
      .def_readonly("name", &PyField::name, "GraphQL name")
      .def_readonly("kind", &PyField::kind, "field kind, e.g. 'String'")
      .def_readonly("typed", &PyField::typed,
                    "SQL of the value typed for its kind")
      .def_readonly("text", &PyField::text, "SQL of the value as text")
      .def_readonly("jsonb", &PyField::jsonb, "SQL of the value as jsonb")
      .def_readonly("value_type", &PyField::value_type,
                    "SQL type to bind values compared with `typed` "
                    "(bind(v, field.value_type)): the kind's type, or for a "
                    "real column one its index accepts (bigint for an Int "
                    "on an integer column)");

  m.def(
      "operators",
      []() {
        std::shared_ptr<const where::OperatorRegistry> registry =
            OperatorRegistrySnapshot();
        py::list list;
        for (const where::Operator* op : registry->List()) {
          const where::OperatorInfo& info = op->info();
          py::dict d;
          d["key"] = info.key;
          d["name"] = info.name;
          d["aliases"] = info.aliases;
          std::vector<std::string> kinds;
          for (where::FieldKind k : info.kinds) {
            kinds.emplace_back(where::FieldKindName(k));
          }
          d["kinds"] = kinds;
          d["value"] = info.value_shape;
          d["graphql_type"] = info.graphql_type;
          d["description"] = info.description;
          d["example"] = info.example;
          list.append(d);
        }
        return list;
      },
      "Every registered operator: key, name, aliases, kinds, value, "
      "graphql_type (the value's GraphQL input type, with $field and "
      "$element placeholders; empty means JSON), description, example.");

  m.def(
      "register_operator",
      [](const std::string& key, const std::string& name,
         const std::vector<std::string>& kinds, py::object render,
         const std::vector<std::string>& aliases,
         const std::string& description, const std::string& example,
         const std::string& value, const std::string& graphql_type) {
        if (!PyCallable_Check(render.ptr())) {
          throw py::type_error("render must be callable: render(field, value, bind) -> str");
        }
        where::OperatorInfo info;
        info.key = key;
        info.name = name;
        info.aliases = aliases;
        for (const std::string& k : kinds) {
          absl::StatusOr<where::FieldKind> kind =
              k == "Object" ? absl::StatusOr<where::FieldKind>(
                                  where::FieldKind::kObject)
              : k == "List" ? absl::StatusOr<where::FieldKind>(
                                  where::FieldKind::kList)
                            : where::ParseScalarKind(k);
          if (!kind.ok()) {
            throw py::value_error(absl::StrCat(
                "register_operator ", key, ": ", kind.status().message()));
          }
          info.kinds.push_back(*kind);
        }
        info.description = description;
        info.example = example;
        info.value_shape = value;
        info.graphql_type = graphql_type;
        absl::MutexLock lock(&registry_mu);
        absl::Status status = Registry()->Register(
            std::make_shared<PythonOperator>(std::move(info), render));
        if (!status.ok()) {
          throw py::value_error(std::string(status.message()));
        }
      },
      py::arg("key"), py::arg("name"), py::arg("kinds"), py::arg("render"),
      py::arg("aliases") = std::vector<std::string>(),
      py::arg("description") = "", py::arg("example") = "",
      py::arg("value") = "", py::arg("graphql_type") = "",
      "Registers a filter operator for Repositories created afterwards. "
      "render(field, value, bind) -> SQL text runs at plan time: use "
      "field.typed/text/jsonb for the field and bind(value, sql_type) for "
      "every value (it returns the placeholder). Raise ValueError for a "
      "value that does not fit. graphql_type is the value's GraphQL input type "
      "in the generated schema (String, [$field!], $element, ...; empty: "
      "JSON). Duplicate keys or names, or a graphql_type that is no type "
      "expression, raise ValueError.");
}

}  // namespace fraiseql::pybind
