// Part of the response stage: turns one row's JSONB text into the JSON the
// GraphQL response carries for it, following a SelectionSet. The stream
// stage feeds it rows; ResponseWriter (response_writer.h) puts the results
// in the response envelope.
//
// The row is scanned once, without building a DOM. For each object the
// projector indexes where each selected key's value lies, then writes the
// selected fields in selection order under their response keys:
//
//   - a key missing from the row is written as null; when a key occurs twice
//     in a row the last occurrence wins (as in jsonb);
//   - kTypename writes the type name of the object it sits in, at any depth;
//   - kObject projects a nested object with its sub-selection, and a list
//     element by element (null elements stay null, lists of lists are
//     followed); a value of another shape passes through unchanged;
//   - kScalar and kJson values are copied, compacted, keys untouched;
//   - with no selection (SelectionSet::select_all, or a kObject field with
//     no sub-selection) every key is written camelCased, in source order,
//     recursively.
//
// Output is compact and canonical, so it is byte-for-byte deterministic:
// numbers and literals are copied as text (100.50, 12345678901234567890 and
// 1e400 are kept exactly); strings are re-escaped with '\"', '\\', '\b',
// '\f', '\n', '\r', '\t' and '\u00xx' for other control characters, and raw
// UTF-8 for everything else ('\u00e9' and '\ud83d\ude00' become raw UTF-8,
// '\/' becomes '/').
#ifndef FRAISEQL_RESPONSE_PROJECTOR_H_
#define FRAISEQL_RESPONSE_PROJECTOR_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "response/selection.h"

namespace fraiseql::response {
namespace internal {
struct ObjectPlan;
}  // namespace internal

// Projects rows of one root field. Immutable after construction: AppendRow
// may be called concurrently from any number of threads. Cheap to copy
// (copies share the compiled plan).
class Projector {
 public:
  // Compiles `selection` into a lookup plan. The selection is copied, so it
  // need not outlive the Projector.
  Projector(const SelectionSet& selection, ProjectionOptions options = {});

  // Appends the projected, compact JSON object for one row to *out. The row
  // is JSON text whose top-level value is an object, with any whitespace
  // (PostgreSQL's jsonb::text puts a space after ':' and ','). The whole row
  // is validated: RFC 8259 grammar, UTF-8 strings, paired surrogates in \u
  // escapes.
  //
  // Returns InvalidArgument when the row is not valid JSON ("row is not
  // valid JSON: <what> at byte <offset>") or its top-level value is not an
  // object ("row is not a JSON object: ..."); *out is then exactly as it was.
  absl::Status AppendRow(absl::string_view row_json, std::string* out) const;

 private:
  std::shared_ptr<const internal::ObjectPlan> root_;
};

}  // namespace fraiseql::response

#endif  // FRAISEQL_RESPONSE_PROJECTOR_H_
