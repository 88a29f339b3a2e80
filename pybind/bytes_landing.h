// pybind/: the bytes object a big response body lands in as it is written
// (response::Destination), so that find() and execute() return it without
// copying the whole body into a new bytes at the end.
#ifndef FRAISEQL_PYBIND_BYTES_LANDING_H_
#define FRAISEQL_PYBIND_BYTES_LANDING_H_

#include <Python.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "pybind11/pybind11.h"
#include "response/response_writer.h"

namespace fraiseql::pybind {

// The destination of one call's body: a bytes object made with the GIL
// when the call is prepared, at the size Repository::BodySizeHint gives;
// written without the GIL while the call runs (no Python code can see it
// yet); cut to the body's size when the call finishes (Take). A body
// larger than the bytes goes on in a string, appended at the end.
//
// The call's run (without the GIL) holds the BytesLanding; its finish
// holds the bytes object, which therefore outlives every write.
class BytesLanding : public response::Destination {
 public:
  // With the GIL. Null (no landing) below `min_bytes`: a small body is
  // copied at no cost that matters.
  static std::shared_ptr<BytesLanding> Make(size_t capacity, size_t min_bytes,
                                            pybind11::object* bytes);

  void Append(absl::string_view bytes) override;
  void Truncate(size_t size) override;

  // With the GIL, once the call has run: `bytes` (from Make) holding the
  // body, as the call's result.
  pybind11::object Take(pybind11::object bytes);

 private:
  BytesLanding(char* data, size_t capacity)
      : data_(data), capacity_(capacity) {}

  char* data_;  // the bytes object's buffer
  size_t capacity_;
  size_t size_ = 0;       // of data_ written
  std::string overflow_;  // what did not fit, after data_
};

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_BYTES_LANDING_H_
