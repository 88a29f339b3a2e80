#include "pybind/bytes_landing.h"

#include <algorithm>
#include <cstring>

namespace py = pybind11;

namespace fraiseql::pybind {

std::shared_ptr<BytesLanding> BytesLanding::Make(size_t capacity,
                                                 size_t min_bytes,
                                                 py::object* bytes) {
  if (capacity < min_bytes ||
      capacity > static_cast<size_t>(PY_SSIZE_T_MAX) - 64) {
    return nullptr;
  }
  // Not zeroed: the pages are first touched when the body is written.
  PyObject* object =
      PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(capacity));
  if (object == nullptr) throw py::error_already_set();
  *bytes = py::reinterpret_steal<py::object>(object);
  return std::shared_ptr<BytesLanding>(
      new BytesLanding(PyBytes_AS_STRING(object), capacity));
}

void BytesLanding::Append(absl::string_view bytes) {
  if (overflow_.empty()) {
    const size_t fit = std::min(bytes.size(), capacity_ - size_);
    std::memcpy(data_ + size_, bytes.data(), fit);
    size_ += fit;
    bytes.remove_prefix(fit);
  }
  overflow_.append(bytes.data(), bytes.size());
}

void BytesLanding::Truncate(size_t size) {
  if (size <= size_) {
    size_ = size;
    overflow_.clear();
  } else {
    overflow_.resize(size - size_);
  }
}

py::object BytesLanding::Take(py::object bytes) {
  const size_t size = size_ + overflow_.size();
  PyObject* object = bytes.release().ptr();
  // The only reference (Make's), so it is resized in place: shrinking a
  // large block remaps it, without a copy; it grows only by the overflow.
  if (_PyBytes_Resize(&object, static_cast<Py_ssize_t>(size)) != 0) {
    throw py::error_already_set();  // the object is gone
  }
  std::memcpy(PyBytes_AS_STRING(object) + size_, overflow_.data(),
              overflow_.size());
  return py::reinterpret_steal<py::object>(object);
}

}  // namespace fraiseql::pybind
