#include "response/projector.h"

#include <algorithm>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "response/internal/json_text.h"
#include "response/internal/output_buffer.h"
#include "response/internal/projection_plan.h"

namespace fraiseql::response {
namespace {

using internal::FieldPlan;
using internal::JsonScanner;
using internal::ObjectPlan;
using internal::OutputBuffer;
using Kind = FieldSelection::Kind;

// Lists of lists of objects are followed this deep; deeper arrays pass
// through unchanged. Bounds the recursion, which input could otherwise
// drive.
constexpr int kMaxListNesting = 32;

// Where a selected key's value lies in the row (begin == nullptr: absent).
struct ValueSpan {
  const char* begin = nullptr;
  const char* end = nullptr;
  bool has_escapes = false;  // strings only
  bool indexed = false;      // an object already indexed into its block
};

using SpanBlock = absl::InlinedVector<ValueSpan, 16>;

// Writes one row. Every method that scans takes `p` at the first byte of a
// value and returns one past its end, or nullptr once the scanner has
// recorded an error.
class RowWriter {
 public:
  RowWriter(JsonScanner* scanner, OutputBuffer* out)
      : scanner_(*scanner), out_(*out) {}

  // `p` at '{'. Validates the object (the first pass over it) before
  // writing anything for it.
  const char* WriteObject(const ObjectPlan& plan, const char* p) {
    if (plan.select_all) return WriteAllMembers(plan, p);
    SpanBlock block(plan.block_size);
    const char* end = IndexMembers(plan, p, block.data());
    if (end == nullptr || !WriteIndexed(plan, block.data())) return nullptr;
    return end;
  }

 private:
  // First pass over an object (`p` at '{'): validates it and records where
  // the value of every key the plan reads lies, in `block` (see
  // ObjectPlan::block_size). Inline objects are indexed on the way.
  const char* IndexMembers(const ObjectPlan& plan, const char* p,
                           ValueSpan* block) {
    p = scanner_.SkipWhitespace(p + 1);
    if (p < scanner_.end() && *p == '}') return p + 1;
    std::string decoded_key;
    for (;;) {
      if (p == scanner_.end() || *p != '"') {
        return scanner_.FailExpected(p, "expected '\"' to start an object key");
      }
      bool key_has_escapes = false;
      const char* key_end = scanner_.SkipString(p, &key_has_escapes);
      if (key_end == nullptr) return nullptr;
      int slot;
      if (!key_has_escapes) {
        slot = plan.FindSlot(
            absl::string_view(p + 1, static_cast<size_t>(key_end - p - 2)));
      } else {
        decoded_key.clear();
        internal::DecodeValidatedString(p, key_end, &decoded_key);
        slot = plan.FindSlot(decoded_key);
      }
      p = scanner_.SkipWhitespace(key_end);
      if (p == scanner_.end() || *p != ':') {
        return scanner_.FailExpected(p, "expected ':' after an object key");
      }
      p = scanner_.SkipWhitespace(p + 1);
      ValueSpan value;
      value.begin = p;
      const char c = p < scanner_.end() ? *p : '\0';
      if (c == '"') {
        value.end = scanner_.SkipString(p, &value.has_escapes);
      } else if ((c >= '0' && c <= '9') || c == '-') {
        value.end = scanner_.SkipNumber(p);
      } else if (c == '{' && slot >= 0 &&
                 plan.slots[slot].inline_object != nullptr) {
        const ObjectPlan& inline_object = *plan.slots[slot].inline_object;
        ValueSpan* child = block + plan.slots[slot].child_offset;
        if (block[slot].begin != nullptr) {  // a duplicate key: start over
          std::fill(child, child + inline_object.block_size, ValueSpan());
        }
        value.end = IndexMembers(inline_object, p, child);
        value.indexed = true;
      } else {
        value.end = scanner_.SkipValue(p);
      }
      if (value.end == nullptr) return nullptr;
      if (slot >= 0) block[slot] = value;  // the last duplicate wins
      p = scanner_.SkipWhitespace(value.end);
      if (p < scanner_.end() && *p == ',') {
        p = scanner_.SkipWhitespace(p + 1);
      } else if (p < scanner_.end() && *p == '}') {
        return p + 1;
      } else {
        return scanner_.FailExpected(
            p, "expected ',' or '}' after an object member");
      }
    }
  }

  // Second pass: writes the object indexed in `block`.
  bool WriteIndexed(const ObjectPlan& plan, const ValueSpan* block) {
    out_.Push('{');
    bool first = true;
    if (!plan.typename_member.empty()) {
      out_.Append(plan.typename_member);
      first = false;
    }
    for (const FieldPlan& field : plan.fields) {
      const std::string& prefix = field.member_prefix;
      out_.Append(prefix.data() + first, prefix.size() - first);
      first = false;
      if (field.kind == Kind::kTypename) {
        out_.Append(field.type_name_json);
        continue;
      }
      const ValueSpan& value = block[field.slot];
      if (value.begin == nullptr) {
        out_.Append("null", 4);
      } else if (value.indexed) {
        if (!WriteIndexed(*field.object,
                          block + plan.slots[field.slot].child_offset)) {
          return false;
        }
      } else if (field.kind == Kind::kObject) {
        if (WriteProjected(*field.object, value.begin, 0) == nullptr) {
          return false;
        }
      } else if (!WriteVerbatim(value)) {
        return false;
      }
    }
    out_.Push('}');
    return true;
  }

  // Select-all mode, in one pass: validates and writes every member of the
  // object at `p` with its key camelCased.
  const char* WriteAllMembers(const ObjectPlan& plan, const char* p) {
    out_.Push('{');
    bool first = true;
    if (!plan.typename_member.empty()) {
      out_.Append(plan.typename_member);
      first = false;
    }
    p = scanner_.SkipWhitespace(p + 1);
    if (p < scanner_.end() && *p == '}') {
      out_.Push('}');
      return p + 1;
    }
    for (;;) {
      if (p == scanner_.end() || *p != '"') {
        return scanner_.FailExpected(p, "expected '\"' to start an object key");
      }
      const FieldPlan* override_field = FindOverride(plan, p);
      if (override_field != nullptr) {
        // The key as the schema names it; the member prefix has the comma.
        bool has_escapes = false;
        p = scanner_.SkipString(p, &has_escapes);
        if (p == nullptr) return nullptr;
        out_.Append(absl::string_view(override_field->member_prefix)
                        .substr(first ? 1 : 0));
      } else {
        if (!first) out_.Push(',');
        p = scanner_.CopyKeyCamelCase(p, &out_);
        if (p == nullptr) return nullptr;
        out_.Push(':');
      }
      first = false;
      p = scanner_.SkipWhitespace(p);
      if (p == scanner_.end() || *p != ':') {
        return scanner_.FailExpected(p, "expected ':' after an object key");
      }
      const char* value = scanner_.SkipWhitespace(p + 1);
      if (override_field == nullptr) {
        p = scanner_.CopyValueCamelCaseKeys(value, &out_);
      } else if (override_field->kind == Kind::kJson) {
        p = scanner_.CopyValue(value, &out_);
      } else {
        p = value < scanner_.end() ? WriteProjected(*override_field->object,
                                                    value, 0)
                                   : scanner_.CopyValue(value, &out_);
      }
      if (p == nullptr) return nullptr;
      p = scanner_.SkipWhitespace(p);
      if (p < scanner_.end() && *p == ',') {
        p = scanner_.SkipWhitespace(p + 1);
      } else if (p < scanner_.end() && *p == '}') {
        out_.Push('}');
        return p + 1;
      } else {
        return scanner_.FailExpected(
            p, "expected ',' or '}' after an object member");
      }
    }
  }

  // In select-all mode: the override for the key starting at `p` (a '"'),
  // or null. Keys with escapes never match (schema keys are plain).
  const FieldPlan* FindOverride(const ObjectPlan& plan, const char* p) const {
    if (plan.fields.empty()) return nullptr;
    const char* end = p + 1;
    const char* limit = std::min(scanner_.end(), end + 256);
    while (end < limit && *end != '"' && *end != '\\') ++end;
    if (end == limit || *end != '"') return nullptr;
    const int slot = plan.FindSlot(absl::string_view(p + 1, end - p - 1));
    return slot < 0 ? nullptr : &plan.fields[slot];
  }

  // A kObject field's value: an object is projected, a list element by
  // element; anything else passes through.
  const char* WriteProjected(const ObjectPlan& plan, const char* p,
                             int list_nesting) {
    if (*p == '{') return WriteObject(plan, p);
    if (*p == '[' && list_nesting < kMaxListNesting) {
      return WriteProjectedList(plan, p, list_nesting + 1);
    }
    return scanner_.CopyValue(p, &out_);
  }

  const char* WriteProjectedList(const ObjectPlan& plan, const char* p,
                                 int list_nesting) {
    out_.Push('[');
    p = scanner_.SkipWhitespace(p + 1);
    if (p < scanner_.end() && *p == ']') {
      out_.Push(']');
      return p + 1;
    }
    for (;;) {
      if (p == scanner_.end()) {
        return scanner_.FailExpected(p, "expected a value");
      }
      p = WriteProjected(plan, p, list_nesting);
      if (p == nullptr) return nullptr;
      p = scanner_.SkipWhitespace(p);
      if (p < scanner_.end() && *p == ',') {
        out_.Push(',');
        p = scanner_.SkipWhitespace(p + 1);
      } else if (p < scanner_.end() && *p == ']') {
        out_.Push(']');
        return p + 1;
      } else {
        return scanner_.FailExpected(
            p, "expected ',' or ']' after an array element");
      }
    }
  }

  // A value indexed (and so validated) by IndexMembers.
  bool WriteVerbatim(const ValueSpan& value) {
    const char c = *value.begin;
    if (c == '"') {
      internal::CopyValidatedString(value.begin, value.end, value.has_escapes,
                                    &out_);
      return true;
    }
    if (c == '{' || c == '[') {
      return scanner_.CopyValue(value.begin, &out_) != nullptr;
    }
    // Numbers and literals are copied as text.
    out_.Append(value.begin, static_cast<size_t>(value.end - value.begin));
    return true;
  }

  JsonScanner& scanner_;
  OutputBuffer& out_;
};

// How a top-level value that is not an object starts, for the error; nullptr
// when `c` cannot start a JSON value at all.
const char* DescribeNonObject(char c) {
  if (c == '[') return "an array";
  if (c == '"') return "a string";
  if (c == 't' || c == 'f') return "a boolean";
  if (c == 'n') return "null";
  if (c == '-' || (c >= '0' && c <= '9')) return "a number";
  return nullptr;
}

}  // namespace

Projector::Projector(const SelectionSet& selection, ProjectionOptions options)
    : root_(internal::CompilePlan(selection, options)) {}

absl::Status Projector::AppendRow(absl::string_view row_json,
                                  std::string* out) const {
  JsonScanner scanner(row_json);
  OutputBuffer buffer(out, row_json.size() + 64);
  const char* p = scanner.SkipWhitespace(scanner.begin());
  if (p == scanner.end()) {
    scanner.Fail(p, "unexpected end of input");
  } else if (*p != '{') {
    if (const char* kind = DescribeNonObject(*p)) {
      buffer.Truncate(buffer.start());
      return absl::InvalidArgumentError(
          absl::StrCat("row is not a JSON object: found ", kind, " at byte ",
                       p - scanner.begin()));
    }
    scanner.Fail(p, "expected a value");
  } else {
    p = RowWriter(&scanner, &buffer).WriteObject(*root_, p);
    if (p != nullptr) {
      p = scanner.SkipWhitespace(p);
      if (p != scanner.end()) {
        scanner.Fail(p, "unexpected characters after the object");
      }
    }
  }
  if (scanner.failed()) {
    buffer.Truncate(buffer.start());
    return scanner.status();
  }
  return absl::OkStatus();
}

}  // namespace fraiseql::response
