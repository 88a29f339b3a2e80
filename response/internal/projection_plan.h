// Part of the response stage: a SelectionSet compiled for the projector.
// Everything that does not depend on the row is computed here once: the
// escaped "key": prefixes, the __typename members, and a key -> slot lookup
// so that indexing a row's object costs one length check (and rarely one
// memcmp) per key.
#ifndef FRAISEQL_RESPONSE_INTERNAL_PROJECTION_PLAN_H_
#define FRAISEQL_RESPONSE_INTERNAL_PROJECTION_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "response/selection.h"

namespace fraiseql::response::internal {

struct ObjectPlan;

// memcmp(a, b, n) == 0 for the short keys of JSON objects, without a call.
inline bool BytesEqual(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    uint64_t x, y;
    for (size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      if (x != y) return false;
    }
    std::memcpy(&x, a + n - 8, 8);
    std::memcpy(&y, b + n - 8, 8);
    return x == y;
  }
  if (n >= 4) {
    uint32_t x, y, z, w;
    std::memcpy(&x, a, 4);
    std::memcpy(&y, b, 4);
    std::memcpy(&z, a + n - 4, 4);
    std::memcpy(&w, b + n - 4, 4);
    return x == y && z == w;
  }
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

struct FieldPlan {
  FieldSelection::Kind kind = FieldSelection::Kind::kScalar;
  // `,"responseKey":` (JSON-escaped); the comma is skipped for the first
  // member of an object.
  std::string member_prefix;
  // kTypename: the quoted type name. Otherwise unused.
  std::string type_name_json;
  // Index of source_key in ObjectPlan::slot_keys; -1 for kTypename.
  int slot = -1;
  // kObject: how to project the nested objects.
  std::unique_ptr<ObjectPlan> object;
};

// How a slot's value is indexed in the first pass over its object.
struct SlotPlan {
  // Set when the slot is read by exactly one field, a kObject with a
  // sub-selection: an object value is then indexed in the same pass as its
  // parent (its spans at child_offset in the parent's span block) instead
  // of being skipped and scanned again when written.
  const ObjectPlan* inline_object = nullptr;
  uint32_t child_offset = 0;
};

// How to write one object: either every key camelCased (select_all) or the
// fields in order.
struct ObjectPlan {
  // Returns the slot of `key`, or -1 when no field reads it.
  int FindSlot(absl::string_view key) const {
    const size_t length = key.size();
    if (length + 1 >= length_begin.size()) return -1;
    for (uint32_t i = length_begin[length]; i < length_begin[length + 1]; ++i) {
      const uint32_t slot = slots_by_length[i];
      if (BytesEqual(slot_keys[slot].data(), key.data(), length)) {
        return static_cast<int>(slot);
      }
    }
    return -1;
  }

  bool select_all = false;
  // `"__typename":"Type"` written before everything else, or empty.
  std::string typename_member;
  std::vector<FieldPlan> fields;
  // Distinct source keys read by `fields`; a row's values are indexed by
  // slot.
  std::vector<std::string> slot_keys;
  std::vector<SlotPlan> slots;  // parallel to slot_keys
  // Spans needed to index one object: one per slot, then the blocks of the
  // inline objects.
  uint32_t block_size = 0;
  // Slots sorted by key length: those of length n are
  // slots_by_length[length_begin[n] .. length_begin[n + 1]).
  std::vector<uint32_t> length_begin;
  std::vector<uint32_t> slots_by_length;
};

// Compiles the root plan of `selection`.
std::unique_ptr<ObjectPlan> CompilePlan(const SelectionSet& selection,
                                        const ProjectionOptions& options);

}  // namespace fraiseql::response::internal

#endif  // FRAISEQL_RESPONSE_INTERNAL_PROJECTION_PLAN_H_
