// Part of the response stage: the append-only byte sink the projector writes
// a row into. It writes through a raw pointer into the caller's std::string
// (growing it in steps) instead of paying a std::string::append call per
// token, and trims the string to what was written when it goes away.
#ifndef FRAISEQL_RESPONSE_INTERNAL_OUTPUT_BUFFER_H_
#define FRAISEQL_RESPONSE_INTERNAL_OUTPUT_BUFFER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/base/attributes.h"
#include "absl/strings/string_view.h"

namespace fraiseql::response::internal {

// Appends to `*out`, which must not be touched by anyone else while the
// buffer lives. On destruction `*out` holds its original bytes followed by
// everything appended and not truncated away. Not thread-safe.
class OutputBuffer {
 public:
  // `size_hint`: expected number of bytes to append.
  OutputBuffer(std::string* out, size_t size_hint)
      : out_(out), start_(out->size()), pos_(start_) {
    Grow(size_hint);
  }
  OutputBuffer(const OutputBuffer&) = delete;
  OutputBuffer& operator=(const OutputBuffer&) = delete;
  ~OutputBuffer() { out_->resize(pos_); }

  // Returns a pointer to at least `n` writable bytes at the end; call
  // Advance with the number actually written.
  ABSL_ATTRIBUTE_ALWAYS_INLINE char* Reserve(size_t n) {
    if (ABSL_PREDICT_FALSE(capacity_ - pos_ < n)) Grow(n);
    return data_ + pos_;
  }
  void Advance(size_t n) { pos_ += n; }

  ABSL_ATTRIBUTE_ALWAYS_INLINE void Append(const char* bytes, size_t n) {
    CopyBytes(Reserve(n), bytes, n);
    pos_ += n;
  }
  void Append(absl::string_view bytes) { Append(bytes.data(), bytes.size()); }
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Push(char c) {
    *Reserve(1) = c;
    ++pos_;
  }

  // Bytes of *out, including those that were there before.
  size_t size() const { return pos_; }
  // Drops everything after the first `size` bytes (size <= this->size()).
  void Truncate(size_t size) { pos_ = size; }
  // Size of *out when the buffer was created.
  size_t start() const { return start_; }

 private:
  // Most tokens are short: fixed-size moves instead of a memcpy call.
  ABSL_ATTRIBUTE_ALWAYS_INLINE static void CopyBytes(char* dest,
                                                     const char* src,
                                                     size_t n) {
    if (n > 16) {
      std::memcpy(dest, src, n);
    } else if (n >= 8) {
      uint64_t head, tail;
      std::memcpy(&head, src, 8);
      std::memcpy(&tail, src + n - 8, 8);
      std::memcpy(dest, &head, 8);
      std::memcpy(dest + n - 8, &tail, 8);
    } else if (n >= 4) {
      uint32_t head, tail;
      std::memcpy(&head, src, 4);
      std::memcpy(&tail, src + n - 4, 4);
      std::memcpy(dest, &head, 4);
      std::memcpy(dest + n - 4, &tail, 4);
    } else if (n > 0) {
      dest[0] = src[0];
      dest[n / 2] = src[n / 2];
      dest[n - 1] = src[n - 1];
    }
  }

  ABSL_ATTRIBUTE_NOINLINE void Grow(size_t n) {
    // Grow the region of this buffer geometrically; std::string grows its
    // own capacity geometrically underneath, so a long response keeps
    // amortized O(1) appends.
    const size_t extra = std::max(n, (pos_ - start_) + 256);
    out_->resize(pos_ + extra);
    data_ = &(*out_)[0];
    capacity_ = out_->size();
  }

  std::string* out_;
  size_t start_;
  size_t pos_;
  char* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace fraiseql::response::internal

#endif  // FRAISEQL_RESPONSE_INTERNAL_OUTPUT_BUFFER_H_
