#include "pybind/parity_bindings.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "plugins/parity/comparator.h"
#include "pybind/errors.h"
#include "pybind11/stl.h"

namespace py = pybind11;

namespace fraiseql::pybind {
namespace {

using parity::Comparison;
using parity::Difference;

// A body given as bytes, bytearray, memoryview or str (UTF-8). `storage`
// keeps a copy when the object could change while the GIL is released.
absl::string_view BodyText(const py::handle& body, const char* side,
                           std::string* storage) {
  if (PyBytes_Check(body.ptr())) {
    return absl::string_view(PyBytes_AS_STRING(body.ptr()),
                             static_cast<size_t>(PyBytes_GET_SIZE(body.ptr())));
  }
  if (PyUnicode_Check(body.ptr())) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(body.ptr(), &size);
    if (data == nullptr) throw py::error_already_set();
    return absl::string_view(data, static_cast<size_t>(size));
  }
  if (PyObject_CheckBuffer(body.ptr())) {
    py::buffer_info info = py::reinterpret_borrow<py::buffer>(body).request();
    if (info.ndim != 1 || info.itemsize != 1 || info.strides[0] != 1) {
      throw py::type_error(
          absl::StrCat(side, " must be bytes or str holding JSON"));
    }
    storage->assign(static_cast<const char*>(info.ptr),
                    static_cast<size_t>(info.size));
    return *storage;
  }
  throw py::type_error(
      absl::StrCat(side, " must be bytes or str holding JSON"));
}

// rules: an iterable of (name, classifier), or a mapping name -> classifier
// or name -> {"classifier": ..., ...} (a backend's known_differences).
std::vector<parity::ComparisonRule> Rules(const py::handle& rules) {
  std::vector<parity::ComparisonRule> out;
  if (rules.is_none()) return out;
  if (PyDict_Check(rules.ptr())) {
    for (auto item : py::reinterpret_borrow<py::dict>(rules)) {
      std::string name = py::cast<std::string>(item.first);
      py::handle spec = item.second;
      if (PyDict_Check(spec.ptr())) {
        py::dict fields = py::reinterpret_borrow<py::dict>(spec);
        if (!fields.contains("classifier")) {
          throw py::value_error(
              absl::StrCat("rule '", name, "' has no \"classifier\""));
        }
        spec = fields["classifier"];
      }
      out.push_back({std::move(name), py::cast<std::string>(spec)});
    }
    return out;
  }
  if (PyUnicode_Check(rules.ptr()) || PyBytes_Check(rules.ptr())) {
    throw py::type_error("rules must be (name, classifier) pairs or a dict");
  }
  for (py::handle rule : rules) {
    py::tuple pair =
        py::cast<py::tuple>(py::reinterpret_borrow<py::object>(rule));
    if (pair.size() != 2) {
      throw py::type_error("each rule must be a (name, classifier) pair");
    }
    out.push_back(
        {py::cast<std::string>(pair[0]), py::cast<std::string>(pair[1])});
  }
  return out;
}

std::vector<std::string> Patterns(const py::handle& ignore) {
  std::vector<std::string> out;
  if (ignore.is_none()) return out;
  if (PyUnicode_Check(ignore.ptr())) {
    throw py::type_error(
        "ignore must be an iterable of path patterns, not a str");
  }
  for (py::handle pattern : ignore)
    out.push_back(py::cast<std::string>(pattern));
  return out;
}

py::object OptionalText(const std::optional<std::string>& text) {
  if (!text.has_value()) return py::none();
  return py::str(*text);
}

py::object RuleOf(const Difference& d) {
  if (d.rule.empty()) return py::none();
  return py::str(d.rule);
}

py::dict DifferenceDict(const Difference& d) {
  py::dict out;
  out["path"] = d.path;
  out["kind"] = std::string(parity::DifferenceKindName(d.kind));
  out["primary"] = OptionalText(d.primary);
  out["candidate"] = OptionalText(d.candidate);
  out["rule"] = RuleOf(d);
  return out;
}

// Long values are cut in repr (never in the fields).
std::string Short(const std::optional<std::string>& text) {
  if (!text.has_value()) return "(absent)";
  constexpr size_t kMax = 60;
  if (text->size() <= kMax) return *text;
  // Cut on a UTF-8 boundary.
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>((*text)[cut]) & 0xC0) == 0x80)
    --cut;
  return absl::StrCat(text->substr(0, cut), "...");
}

}  // namespace

void DefineParity(pybind11::module_& m) {
  py::class_<Difference>(
      m, "Difference",
      "One difference between two responses: where (path), what kind, both "
      "sides' values as compact JSON text (None on the side where a key is "
      "absent; a type marker such as \"<string>\" when redacted) and the name "
      "of the rule that explains it (None when unexplained).")
      .def_readonly("path", &Difference::path,
                    "JSON path, e.g. data.users[3].balance ('' for the root).")
      .def_property_readonly(
          "kind",
          [](const Difference& d) {
            return std::string(parity::DifferenceKindName(d.kind));
          },
          "value, number, type, missing_key (in the candidate), extra_key (in "
          "the candidate), array_length, array_order or key_order.")
      .def_property_readonly(
          "primary",
          [](const Difference& d) { return OptionalText(d.primary); },
          "The primary's value at path as JSON text, or None.")
      .def_property_readonly(
          "candidate",
          [](const Difference& d) { return OptionalText(d.candidate); },
          "The candidate's value at path as JSON text, or None.")
      .def_property_readonly("rule", &RuleOf,
                             "Name of the rule that explains it, or None.")
      .def("to_dict", &DifferenceDict,
           "{'path', 'kind', 'primary', 'candidate', 'rule'}.")
      .def("__repr__", [](const Difference& d) {
        return absl::StrCat(
            "<Difference ", parity::DifferenceKindName(d.kind), " at ",
            d.path.empty() ? "(root)" : d.path, ": ", Short(d.primary), " -> ",
            Short(d.candidate),
            d.rule.empty() ? "" : absl::StrCat(" (rule ", d.rule, ")"), ">");
      });

  py::class_<Comparison>(
      m, "Comparison",
      "The result of compare(): equal is True when no unexplained difference "
      "is left; differences lists the first max_differences found (explained "
      "ones included, under their rule's name); unexplained, explained and "
      "ignored count all of them; truncated says some were not kept.")
      .def_property_readonly("equal", &Comparison::equal,
                             "No unexplained difference.")
      .def_readonly("differences", &Comparison::differences,
                    "The kept differences, in document order.")
      .def_readonly("unexplained", &Comparison::unexplained)
      .def_readonly("explained", &Comparison::explained)
      .def_readonly("ignored", &Comparison::ignored,
                    "Paths with differences that an ignore pattern named.")
      .def_readonly("truncated", &Comparison::truncated,
                    "More differences were found than max_differences.")
      .def(
          "to_dict",
          [](const Comparison& c) {
            py::dict out;
            out["equal"] = c.equal();
            out["unexplained"] = c.unexplained;
            out["explained"] = c.explained;
            out["ignored"] = c.ignored;
            out["truncated"] = c.truncated;
            py::list differences;
            for (const Difference& d : c.differences) {
              differences.append(DifferenceDict(d));
            }
            out["differences"] = differences;
            return out;
          },
          "{'equal', 'unexplained', 'explained', 'ignored', 'truncated', "
          "'differences': [Difference.to_dict(), ...]}.")
      .def("__bool__", &Comparison::equal)
      .def("__repr__", [](const Comparison& c) {
        return absl::StrCat("<Comparison equal=", c.equal() ? "True" : "False",
                            " unexplained=", c.unexplained,
                            " explained=", c.explained, " ignored=", c.ignored,
                            c.truncated ? " truncated" : "", ">");
      });

  m.def(
      "compare",
      [](py::object primary, py::object candidate, bool check_key_order,
         py::object ignore, py::object rules, bool redact,
         int64_t max_differences) {
        parity::CompareOptions options;
        options.check_key_order = check_key_order;
        options.ignore = Patterns(ignore);
        options.rules = Rules(rules);
        options.redact = redact;
        options.max_differences = max_differences;
        std::string primary_copy;
        std::string candidate_copy;
        absl::string_view a = BodyText(primary, "primary", &primary_copy);
        absl::string_view b = BodyText(candidate, "candidate", &candidate_copy);
        absl::StatusOr<Comparison> result = [&] {
          // `primary` and `candidate` stay referenced here; bytes and str are
          // immutable, other buffers were copied.
          py::gil_scoped_release release;
          return parity::Compare(a, b, options);
        }();
        if (!result.ok()) Raise(result.status());
        return *std::move(result);
      },
      py::arg("primary"), py::arg("candidate"), py::kw_only(),
      py::arg("check_key_order") = false, py::arg("ignore") = py::tuple(),
      py::arg("rules") = py::tuple(), py::arg("redact") = false,
      py::arg("max_differences") = 100,
      "Compares two response bodies (bytes or str holding JSON) as JSON "
      "values: object key order ignored unless check_key_order; array order "
      "significant (the same elements in another order are one array_order "
      "difference at the array's path); numbers by exact decimal value "
      "(1.50 == 1.5 == 15e-1); strings that both parse as RFC 3339 "
      "timestamps with an offset or Z compared as instants; true is not 1. "
      "ignore: path patterns such as 'data.users[*].lastLoginAt' or "
      "'data.*.id' ('*' any one key, '[*]' any index). rules: (name, "
      "classifier) pairs, or a dict name -> classifier or name -> "
      "{'classifier': ...} (a backend's known_differences); a difference a "
      "rule explains is reported under its name and counted as explained. "
      "redact: values become type markers. max_differences: how many "
      "differences are kept (all are counted). Invalid JSON, a malformed "
      "pattern or an unknown classifier raise InvalidInputError (a "
      "ValueError) naming the side and byte offset, the pattern or the rule. "
      "The GIL is released while comparing.");

  m.def(
      "comparison_classifiers",
      [] {
        py::dict out;
        for (const parity::ComparisonClassifier& c :
             parity::ComparisonClassifiers()) {
          out[py::str(std::string(c.name))] = std::string(c.description);
        }
        return out;
      },
      "The built-in classifiers a compare() rule may name, as a dict name -> "
      "description.");
}

}  // namespace fraiseql::pybind
