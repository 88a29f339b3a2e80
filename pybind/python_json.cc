#include "pybind/python_json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace py = pybind11;

namespace fraiseql::pybind {
namespace {

// Path text kept in messages; deeper segments become "...".
constexpr size_t kMaxPathBytes = 160;
// Bytes of one dict key shown in a path.
constexpr size_t kMaxKeyInPath = 48;
// Ints beyond this are refused: their digits stay far below Python's
// int->str limit (4300 digits) and the planner's number handling.
constexpr long kMaxIntBits = 4096;
// PostgreSQL's numeric limits.
constexpr long long kMaxNumericIntegerDigits = 131072;
constexpr long long kMaxNumericFractionDigits = 16383;

constexpr absl::string_view kLoneSurrogate =
    "not valid Unicode (a lone surrogate)";

struct PythonTypes {
  py::handle decimal, uuid, date, time, int_type;
};

PythonTypes& MutableTypes() {
  static PythonTypes types;
  return types;
}

const PythonTypes& Types() { return MutableTypes(); }

// The UTF-8 of a str without copying (CPython caches it on the object);
// false, with no Python error left set, for a lone surrogate.
bool Utf8Of(py::handle text, absl::string_view* out) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
  if (data == nullptr) {
    PyErr_Clear();
    return false;
  }
  *out = absl::string_view(data, static_cast<size_t>(size));
  return true;
}

void AppendJsonString(absl::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (u < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[u >> 4]);
          out->push_back(kHex[u & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// A type's name for a message (class names are code, not input; still cut).
std::string TypeName(py::handle value) {
  std::string name = Py_TYPE(value.ptr())->tp_name;
  size_t dot = name.rfind('.');
  if (dot != std::string::npos) name = name.substr(dot + 1);
  if (name.size() > 40) name = name.substr(0, 40) + "...";
  return name;
}

// A dict key as a path segment: control characters shown as '?', cut at
// kMaxKeyInPath bytes (on a UTF-8 boundary).
std::string KeyForPath(absl::string_view key) {
  std::string shown;
  size_t n = key.size();
  bool cut = false;
  if (n > kMaxKeyInPath) {
    n = kMaxKeyInPath;
    while (n > 0 && (static_cast<unsigned char>(key[n]) & 0xC0) == 0x80) --n;
    cut = true;
  }
  shown.reserve(n + 4);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char u = static_cast<unsigned char>(key[i]);
    shown.push_back(u < 0x20 || u == 0x7f ? '?' : key[i]);
  }
  if (cut) shown.append("...");
  return shown;
}

// int's own decimal digits (a subclass's __str__ is not called); false when
// the int has more than kMaxIntBits bits.
bool IntDigits(py::handle value, std::string* digits) {
  const PythonTypes& types = Types();
  long bits = types.int_type.attr("bit_length")(value).cast<long>();
  if (bits > kMaxIntBits) return false;
  py::object text = py::reinterpret_steal<py::object>(
      PyLong_Type.tp_repr(value.ptr()));
  if (!text) throw py::error_already_set();
  *digits = text.cast<std::string>();
  return true;
}

class JsonWriter {
 public:
  JsonWriter(absl::string_view name, const PythonJsonLimits& limits,
             std::string* out)
      : name_(name), limits_(limits), out_(out), path_(name) {}

  absl::Status Write(py::handle value, int depth) {
    if (++elements_ > limits_.max_elements) return TooManyElements();
    if (value.is_none()) return Append("null");
    PyObject* o = value.ptr();
    if (PyBool_Check(o)) return Append(o == Py_True ? "true" : "false");
    if (PyLong_Check(o)) {
      std::string digits;
      if (!IntDigits(value, &digits)) {
        return Error(absl::StrCat("an int of more than ", kMaxIntBits,
                                  " bits"));
      }
      return Append(digits);
    }
    if (PyFloat_Check(o)) return WriteFloat(PyFloat_AsDouble(o));
    if (PyUnicode_Check(o)) return WriteStr(value, "a str");
    const PythonTypes& types = Types();
    if (py::isinstance(value, types.decimal)) return WriteDecimal(value);
    if (py::isinstance(value, types.uuid)) {
      return WriteStr(types.uuid.attr("__str__")(value), "a UUID");
    }
    if (py::isinstance(value, types.time) ||
        py::isinstance(value, types.date)) {
      py::object text = value.attr("isoformat")();
      if (!PyUnicode_Check(text.ptr())) {
        return Error(absl::StrCat("a ", TypeName(value),
                                  " whose isoformat() is not a str"));
      }
      return WriteStr(text, "a date");
    }
    if (PyDict_Check(o)) return WriteDict(value, depth);
    if (PyList_Check(o) || PyTuple_Check(o)) return WriteList(value, depth);
    return Error(absl::StrCat("a ", TypeName(value), " has no JSON form"));
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", name_, " at ", path_, ": ", what));
  }

  absl::Status TooManyElements() const {
    return Error(absl::StrCat("more than ", limits_.max_elements,
                              " values (max_elements)"));
  }

  absl::Status TooLarge() const {
    return Error(absl::StrCat("larger than ", limits_.max_bytes,
                              " bytes (max_bytes)"));
  }

  absl::Status Append(absl::string_view text) {
    out_->append(text.data(), text.size());
    return out_->size() > limits_.max_bytes ? TooLarge() : absl::OkStatus();
  }

  // Room for `n` more bytes before they are produced.
  bool Fits(size_t n) const {
    return n <= limits_.max_bytes && out_->size() <= limits_.max_bytes - n;
  }

  absl::Status WriteFloat(double d) {
    if (!std::isfinite(d)) {
      return Error("NaN and infinity have no JSON form");
    }
    // repr(): the shortest text that reads back as the same double.
    char* text = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, nullptr);
    if (text == nullptr) throw py::error_already_set();
    absl::Status status = Append(text);
    PyMem_Free(text);
    return status;
  }

  // `noun` names the value in messages ("a str").
  absl::Status WriteStr(py::handle text, absl::string_view noun) {
    // A code point is at least one byte: refuse a long str unencoded.
    if (static_cast<size_t>(PyUnicode_GetLength(text.ptr())) >
        limits_.max_bytes) {
      return TooLarge();
    }
    absl::string_view utf8;
    if (!Utf8Of(text, &utf8)) {
      return Error(absl::StrCat(noun, " that is ", kLoneSurrogate));
    }
    if (!Fits(utf8.size() + 2)) return TooLarge();
    // Neither a text parameter (libpq ends it there) nor jsonb (which
    // refuses \u0000) can hold a NUL.
    if (utf8.find('\0') != absl::string_view::npos) {
      return Error(absl::StrCat(noun, " that contains a NUL byte"));
    }
    AppendJsonString(utf8, out_);
    return out_->size() > limits_.max_bytes ? TooLarge() : absl::OkStatus();
  }

  absl::Status WriteDecimal(py::handle value) {
    const PythonTypes& types = Types();
    if (!types.decimal.attr("is_finite")(value).cast<bool>()) {
      return Error("NaN and infinity have no JSON form");
    }
    // Plain notation has about digits + |exponent| characters: bound it
    // before formatting Decimal("1e999999999").
    py::tuple parts = types.decimal.attr("as_tuple")(value);
    const size_t digits = py::len(parts[1]);
    py::object exponent = parts[2];
    if (!PyLong_Check(exponent.ptr())) {
      return Error("NaN and infinity have no JSON form");
    }
    int overflow = 0;
    long long e = PyLong_AsLongLongAndOverflow(exponent.ptr(), &overflow);
    if (overflow != 0 || !Fits(digits) ||
        !Fits(digits + static_cast<size_t>(std::llabs(e)) + 3)) {
      return TooLarge();
    }
    // PostgreSQL's numeric (and jsonb's numbers): up to 131072 digits
    // before the point and 16383 after it.
    const long long adjusted = e + static_cast<long long>(digits) - 1;
    if (digits > 0 && (adjusted >= kMaxNumericIntegerDigits ||
                       e < -kMaxNumericFractionDigits)) {
      return Error("a Decimal outside PostgreSQL's numeric range");
    }
    // Plain notation keeps the scale: Decimal("100.50") -> 100.50.
    return Append(
        types.decimal.attr("__format__")(value, "f").cast<std::string>());
  }

  // Enters a container: the cycle and depth checks come before any item is
  // read.
  absl::Status Enter(py::handle container, int depth, size_t items) {
    for (PyObject* open : open_) {
      if (open == container.ptr()) {
        return Error("a dict or list that contains itself");
      }
    }
    if (depth >= limits_.max_depth) {
      return Error(absl::StrCat("nesting deeper than ", limits_.max_depth,
                                " levels"));
    }
    if (items > limits_.max_elements - elements_) return TooManyElements();
    open_.push_back(container.ptr());
    return absl::OkStatus();
  }

  absl::Status WriteDict(py::handle value, int depth) {
    absl::Status entered =
        Enter(value, depth, static_cast<size_t>(PyDict_Size(value.ptr())));
    if (!entered.ok()) return entered;
    // A snapshot of the items: the walk calls Python code (isoformat(),
    // __str__ of subclasses) that could change the dict.
    py::list items = py::reinterpret_steal<py::list>(PyDict_Items(value.ptr()));
    if (!items) throw py::error_already_set();
    out_->push_back('{');
    bool first = true;
    for (py::handle item : items) {
      py::handle key = PyTuple_GET_ITEM(item.ptr(), 0);
      py::handle member = PyTuple_GET_ITEM(item.ptr(), 1);
      if (!PyUnicode_Check(key.ptr())) {
        return Error(absl::StrCat("keys must be str, got ", TypeName(key)));
      }
      absl::string_view utf8;
      if (!Utf8Of(key, &utf8)) {
        return Error(absl::StrCat("a key that is ", kLoneSurrogate));
      }
      if (!Fits(utf8.size() + 4)) return TooLarge();
      if (utf8.find('\0') != absl::string_view::npos) {
        return Error("a key that contains a NUL byte");
      }
      if (!first) out_->push_back(',');
      first = false;
      AppendJsonString(utf8, out_);
      out_->push_back(':');
      const size_t mark = PushPath(absl::StrCat(".", KeyForPath(utf8)));
      absl::Status status = Write(member, depth + 1);
      if (!status.ok()) return status;
      Restore(mark);
    }
    out_->push_back('}');
    open_.pop_back();
    return out_->size() > limits_.max_bytes ? TooLarge() : absl::OkStatus();
  }

  absl::Status WriteList(py::handle value, int depth) {
    // A tuple cannot change; a list is walked over a copy of its items.
    py::object items = py::reinterpret_borrow<py::object>(value);
    if (PyList_Check(value.ptr())) {
      items = py::reinterpret_steal<py::object>(
          PyList_GetSlice(value.ptr(), 0, PY_SSIZE_T_MAX));
      if (!items) throw py::error_already_set();
    }
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(items.ptr());
    absl::Status entered = Enter(value, depth, static_cast<size_t>(n));
    if (!entered.ok()) return entered;
    out_->push_back('[');
    for (Py_ssize_t i = 0; i < n; ++i) {
      if (i > 0) out_->push_back(',');
      const size_t mark = PushPath(absl::StrCat("[", i, "]"));
      absl::Status status =
          Write(PySequence_Fast_GET_ITEM(items.ptr(), i), depth + 1);
      if (!status.ok()) return status;
      Restore(mark);
    }
    out_->push_back(']');
    open_.pop_back();
    return out_->size() > limits_.max_bytes ? TooLarge() : absl::OkStatus();
  }

  // Appends a segment to the path (or "..." once it is long); returns the
  // length to restore.
  size_t PushPath(absl::string_view segment) {
    const size_t mark = path_.size();
    if (truncated_) return mark;
    if (path_.size() + segment.size() > kMaxPathBytes) {
      path_.append("...");
      truncated_ = true;
      truncated_at_ = mark;
    } else {
      path_.append(segment.data(), segment.size());
    }
    return mark;
  }

  // Undoes PushPath: the "..." goes once the path is back above the point
  // where it was cut.
  void Restore(size_t mark) {
    path_.resize(mark);
    if (truncated_ && mark <= truncated_at_) truncated_ = false;
  }

  const absl::string_view name_;
  const PythonJsonLimits& limits_;
  std::string* out_;
  std::string path_;
  bool truncated_ = false;
  size_t truncated_at_ = 0;
  size_t elements_ = 0;
  std::vector<PyObject*> open_;  // containers being walked, outermost first
};

}  // namespace

void InitPythonJson() {
  // Imported once at module import, under the GIL: a function-local static
  // initialised by an import could deadlock two threads (pybind11 docs).
  PythonTypes& types = MutableTypes();
  types.decimal = py::object(py::module_::import("decimal").attr("Decimal")).release();
  types.uuid = py::object(py::module_::import("uuid").attr("UUID")).release();
  types.date = py::object(py::module_::import("datetime").attr("date")).release();
  types.time = py::object(py::module_::import("datetime").attr("time")).release();
  types.int_type = py::handle(reinterpret_cast<PyObject*>(&PyLong_Type)).inc_ref();
}

absl::StatusOr<std::string> PythonToJson(py::handle value,
                                         absl::string_view name,
                                         const PythonJsonLimits& limits) {
  std::string json;
  JsonWriter writer(name, limits, &json);
  absl::Status status = writer.Write(value, 0);
  if (!status.ok()) return status;
  return json;
}

namespace {

// The UTF-8 of a str of at most `max_bytes`, checked by length before it is
// encoded. `too_large` ends the message naming the limit.
absl::StatusOr<std::string> BoundedUtf8(py::handle text, absl::string_view name,
                                        size_t max_bytes,
                                        absl::string_view too_large) {
  const auto error = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", name, ": ", too_large));
  };
  if (static_cast<size_t>(PyUnicode_GetLength(text.ptr())) > max_bytes) {
    return error();
  }
  absl::string_view utf8;
  if (!Utf8Of(text, &utf8)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", name, ": a str that is ", kLoneSurrogate));
  }
  if (utf8.size() > max_bytes) return error();
  return std::string(utf8);
}

}  // namespace

absl::StatusOr<std::string> PythonJsonText(py::handle text,
                                           absl::string_view name,
                                           size_t max_bytes) {
  return BoundedUtf8(text, name, max_bytes,
                     absl::StrCat("JSON text larger than ", max_bytes,
                                  " bytes (max_bytes)"));
}

absl::StatusOr<std::string> PythonStrUtf8(py::handle text,
                                          absl::string_view path,
                                          size_t max_bytes) {
  return BoundedUtf8(text, path, max_bytes,
                     absl::StrCat("larger than ", max_bytes, " bytes"));
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
PythonContext(py::handle context, const PythonContextLimits& limits) {
  const auto invalid = [](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("invalid context: ", what));
  };
  if (static_cast<size_t>(PyDict_Size(context.ptr())) > limits.max_keys) {
    return invalid(
        absl::StrCat("more than ", limits.max_keys, " keys (max_keys)"));
  }
  const PythonTypes& types = Types();
  py::list items = py::reinterpret_steal<py::list>(PyDict_Items(context.ptr()));
  if (!items) throw py::error_already_set();
  std::vector<std::pair<std::string, std::string>> entries;
  entries.reserve(py::len(items));
  for (py::handle item : items) {
    py::handle key = PyTuple_GET_ITEM(item.ptr(), 0);
    py::handle value = PyTuple_GET_ITEM(item.ptr(), 1);
    if (!PyUnicode_Check(key.ptr())) {
      return invalid(absl::StrCat("keys must be str, got ", TypeName(key)));
    }
    if (static_cast<size_t>(PyUnicode_GetLength(key.ptr())) >
        limits.max_key_bytes) {
      return invalid(absl::StrCat("a key larger than ", limits.max_key_bytes,
                                  " bytes (max_key_bytes)"));
    }
    absl::string_view name;
    if (!Utf8Of(key, &name)) {
      return invalid(absl::StrCat("a key that is ", kLoneSurrogate));
    }
    if (name.size() > limits.max_key_bytes) {
      return invalid(absl::StrCat("a key larger than ", limits.max_key_bytes,
                                  " bytes (max_key_bytes)"));
    }
    for (char c : name) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) {
        return invalid("a key that contains a control character");
      }
    }
    const auto bad_value = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid context at context.", name, ": ", what));
    };
    std::string text;
    PyObject* o = value.ptr();
    if (PyUnicode_Check(o)) {
      if (static_cast<size_t>(PyUnicode_GetLength(o)) >
          limits.max_value_bytes) {
        return bad_value(absl::StrCat("a value larger than ",
                                      limits.max_value_bytes,
                                      " bytes (max_value_bytes)"));
      }
      absl::string_view utf8;
      if (!Utf8Of(value, &utf8)) {
        return bad_value(absl::StrCat("a str that is ", kLoneSurrogate));
      }
      text = std::string(utf8);
    } else if (PyBool_Check(o)) {
      text = o == Py_True ? "True" : "False";
    } else if (PyLong_Check(o)) {
      if (!IntDigits(value, &text)) {
        return bad_value(absl::StrCat("an int of more than ", kMaxIntBits,
                                      " bits"));
      }
    } else if (py::isinstance(value, types.decimal)) {
      if (!types.decimal.attr("is_finite")(value).cast<bool>()) {
        return bad_value("NaN and infinity are not context values");
      }
      text = py::str(types.decimal.attr("__str__")(value)).cast<std::string>();
    } else if (py::isinstance(value, types.uuid)) {
      text = py::str(types.uuid.attr("__str__")(value)).cast<std::string>();
    } else if (value.is_none()) {
      return bad_value("None is not a context value; leave the key out");
    } else {
      return bad_value(absl::StrCat("a ", TypeName(value),
                                    " is not a context value; use str, int, "
                                    "bool, Decimal or UUID"));
    }
    if (text.size() > limits.max_value_bytes) {
      return bad_value(absl::StrCat("a value larger than ",
                                    limits.max_value_bytes,
                                    " bytes (max_value_bytes)"));
    }
    // libpq ends a text parameter at its first NUL: "acme\0evil" would be
    // set as "acme".
    if (text.find('\0') != std::string::npos) {
      return bad_value("a value contains a NUL byte");
    }
    entries.emplace_back(std::string(name), std::move(text));
  }
  return entries;
}

}  // namespace fraiseql::pybind
