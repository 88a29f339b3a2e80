#include "pybind/python_json.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace py = pybind11;

namespace fraiseql::pybind {
namespace {

void AppendString(const std::string& text, std::string* out) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  out->append(buffer.GetString(), buffer.GetSize());
}

struct PythonTypes {
  py::handle decimal, uuid, date, time;
};

PythonTypes& MutableTypes() {
  static PythonTypes types;
  return types;
}

const PythonTypes& Types() { return MutableTypes(); }

}  // namespace

void InitPythonJson() {
  // Imported once at module import, under the GIL: a function-local static
  // initialised by an import could deadlock two threads (pybind11 docs).
  PythonTypes& types = MutableTypes();
  types.decimal = py::object(py::module_::import("decimal").attr("Decimal")).release();
  types.uuid = py::object(py::module_::import("uuid").attr("UUID")).release();
  types.date = py::object(py::module_::import("datetime").attr("date")).release();
  types.time = py::object(py::module_::import("datetime").attr("time")).release();
}

void AppendPythonJson(py::handle value, const std::string& path,
                      std::string* out) {
  const PythonTypes& types = Types();
  py::handle decimal_type = types.decimal;
  py::handle uuid_type = types.uuid;
  py::handle date_type = types.date;
  py::handle time_type = types.time;

  if (value.is_none()) {
    out->append("null");
  } else if (py::isinstance<py::bool_>(value)) {
    out->append(value.cast<bool>() ? "true" : "false");
  } else if (py::isinstance<py::int_>(value)) {
    out->append(py::str(value).cast<std::string>());
  } else if (py::isinstance<py::float_>(value)) {
    double d = value.cast<double>();
    if (!std::isfinite(d)) {
      throw py::type_error(absl::StrCat(
          "invalid value at ", path, ": NaN and infinity have no JSON form"));
    }
    out->append(py::repr(value).cast<std::string>());
  } else if (py::isinstance<py::str>(value)) {
    AppendString(value.cast<std::string>(), out);
  } else if (py::isinstance(value, decimal_type)) {
    if (!value.attr("is_finite")().cast<bool>()) {
      throw py::type_error(absl::StrCat(
          "invalid value at ", path, ": NaN and infinity have no JSON form"));
    }
    // Plain notation keeps the scale: Decimal("100.50") -> 100.50.
    out->append(py::str(py::str("{:f}").attr("format")(value)).cast<std::string>());
  } else if (py::isinstance(value, uuid_type) ||
             py::isinstance(value, time_type)) {
    AppendString(py::str(value).cast<std::string>(), out);
  } else if (py::isinstance(value, date_type)) {
    AppendString(value.attr("isoformat")().cast<std::string>(), out);
  } else if (py::isinstance<py::dict>(value)) {
    out->push_back('{');
    bool first = true;
    for (auto item : value.cast<py::dict>()) {
      if (!py::isinstance<py::str>(item.first)) {
        throw py::type_error(absl::StrCat(
            "invalid key at ", path, ": keys must be str, got ",
            py::repr(item.first).cast<std::string>()));
      }
      std::string key = item.first.cast<std::string>();
      if (!first) out->push_back(',');
      first = false;
      AppendString(key, out);
      out->push_back(':');
      AppendPythonJson(item.second, absl::StrCat(path, ".", key), out);
    }
    out->push_back('}');
  } else if (py::isinstance<py::list>(value) ||
             py::isinstance<py::tuple>(value)) {
    out->push_back('[');
    size_t i = 0;
    for (py::handle item : value) {
      if (i > 0) out->push_back(',');
      AppendPythonJson(item, absl::StrCat(path, "[", i, "]"), out);
      ++i;
    }
    out->push_back(']');
  } else {
    throw py::type_error(absl::StrCat(
        "invalid value at ", path, ": ",
        py::str(value.get_type().attr("__name__")).cast<std::string>(),
        " has no JSON form; use str, int, float, bool, None, Decimal, UUID, "
        "date, datetime, dict or list"));
  }
}

}  // namespace fraiseql::pybind
