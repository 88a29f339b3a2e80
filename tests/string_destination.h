// A response::Destination that keeps the landed body in a string and counts
// the pieces it arrived in, so a test can see that bytes really left the
// writer before the body was finished.
#ifndef FRAISEQL_TESTS_STRING_DESTINATION_H_
#define FRAISEQL_TESTS_STRING_DESTINATION_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "response/response_writer.h"

namespace fraiseql::testing {

class StringDestination : public response::Destination {
 public:
  void Append(absl::string_view bytes) override {
    bytes_.append(bytes.data(), bytes.size());
    ++pieces_;
  }
  void Truncate(size_t size) override {
    EXPECT_LE(size, bytes_.size()) << "Truncate past the end";
    bytes_.resize(size);
    ++truncations_;
  }
  const std::string& bytes() const { return bytes_; }
  int pieces() const { return pieces_; }
  int truncations() const { return truncations_; }

 private:
  std::string bytes_;
  int pieces_ = 0;
  int truncations_ = 0;
};

}  // namespace fraiseql::testing

#endif  // FRAISEQL_TESTS_STRING_DESTINATION_H_
