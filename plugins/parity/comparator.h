// plugins/parity/: the comparator of responses. Parity tools (shadow traffic,
// replay) hand it two response bodies for the same call, one from the primary
// backend and one from the candidate, and it reports every place where a
// client would see something different, at its JSON path.
//
// Rules of comparison
//
// - Both bodies are parsed as JSON (RFC 8259, UTF-8). Numbers keep their
//   text, so nothing is rounded before it is compared; any number the grammar
//   allows is accepted, however long.
// - Objects: key order is ignored, unless check_key_order is set; then the
//   keys both sides have must come in the same relative order, else one
//   `key_order` difference at the object's path (values: the two key lists).
//   A key only in the primary is `missing_key` (missing in the candidate), a
//   key only in the candidate is `extra_key`. A key repeated within one object
//   keeps its last value, as PostgreSQL's jsonb and Python's json do.
// - Arrays: order is significant. Two arrays of the same length holding the
//   same elements in another order are one `array_order` difference at the
//   array's path, and nothing inside them is reported. (Elements are matched
//   by these rules, without ignore patterns or classifier rules, on arrays of
//   up to max_order_check_elements elements; longer arrays are compared
//   position by position.) Arrays of different lengths are one
//   `array_length` difference at the array's path, then their elements are
//   compared position by position up to the shorter length.
// - Numbers are compared by exact decimal value: sign, digits and exponent
//   are normalised, so the scale is ignored (`1.50` == `1.5` == `15e-1`,
//   `100` == `1e2`, `-0` == `0`). Numbers of different value are a `number`
//   difference. The `float64` classifier explains such a difference when both
//   numbers round to the same IEEE 754 binary64 double (what a JSON parser
//   that reads numbers as floats does: `12345678901234567.89` and
//   `12345678901234568`).
// - Strings are compared by their value after unescaping (`"\u00e9"` ==
//   `"é"`). Two strings that both parse as RFC 3339 timestamps with a `Z` or a
//   numeric offset (`2024-05-01T10:00:00+02:00`; a space may replace the `T`;
//   up to 9 fractional digits; offsets `+02`, `+0200` and `+02:00`) are
//   compared as instants: `2024-05-01T08:00:00Z` equals
//   `2024-05-01 10:00:00+02:00`. A timestamp without an offset is a plain
//   string. The `timestamp_precision` classifier explains two instants less
//   than one millisecond apart.
// - Different JSON types are a `type` difference: `true` is not `1`, `null`
//   is not `""`, `"1"` is not `1`. Other differences of strings and booleans
//   are `value` differences.
// - Ignore patterns name paths whose differences are counted as ignored and
//   not reported (everything below such a path is skipped too). A path is
//   written `data.users[3].balance`; a key that is empty or holds one of
//   `.[]"\*` or a control character is written `["a.b"]` (a JSON string). In
//   patterns, `*` stands for any one key and `[*]` for any one index
//   (`data.users[*].lastLoginAt`, `data.*.id`); `[3]` and `["a.b"]` name one
//   index or key. A pattern matches whole paths, one segment per segment.
//   Each ignored path that differs counts once in `ignored`. The root's path
//   is the empty string.
// - Rules name classifiers (ComparisonClassifiers()); a difference a rule's
//   classifier explains is reported under the first such rule's name and
//   counted as explained, never hidden. The comparison is `equal` when no
//   unexplained difference is left.
// - Differences are reported in document order of the primary (extra keys
//   after the primary's keys of the same object). Each carries the compact
//   JSON of both sides' values at its path (absent side: no value); with
//   `redact`, values are replaced by a marker of their type (`"<string>"`,
//   `"<number>"`, `"<boolean>"`, `"<null>"`, `"<object>"`,
//   `"<array of 3>"`). Every difference is counted; only the first
//   max_differences are kept (`truncated` says some were dropped).
//
// Work is linear in the size of both bodies, plus n log n for the order check
// of each array; nothing recurses on the input's depth, and bodies nested
// deeper than max_depth are refused.
//
// Thread-safety: a Comparator is immutable after Create; Compare is const and
// may run on many threads at once.
#ifndef FRAISEQL_PLUGINS_PARITY_COMPARATOR_H_
#define FRAISEQL_PLUGINS_PARITY_COMPARATOR_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fraiseql::parity {

// What kind of difference was found at a path.
enum class DifferenceKind {
  kValue,        // two strings or two booleans differ
  kNumber,       // two numbers differ in value
  kType,         // different JSON types
  kMissingKey,   // the key is in the primary, not in the candidate
  kExtraKey,     // the key is in the candidate, not in the primary
  kArrayLength,  // arrays of different lengths
  kArrayOrder,   // same elements, another order
  kKeyOrder,     // same keys, another order (only with check_key_order)
};

// "value", "number", "type", "missing_key", "extra_key", "array_length",
// "array_order", "key_order".
absl::string_view DifferenceKindName(DifferenceKind kind);

// A known difference: a difference that `classifier` (one of
// ComparisonClassifiers()) explains is reported under `name`.
struct ComparisonRule {
  std::string name;
  std::string classifier;
};

struct CompareOptions {
  // Report keys that come in another order (`key_order`).
  bool check_key_order = false;
  // Path patterns whose differences are ignored (see the rules above).
  std::vector<std::string> ignore;
  // Named rules; the first rule whose classifier explains a difference names
  // it.
  std::vector<ComparisonRule> rules;
  // Replace values in differences by a marker of their type.
  bool redact = false;
  // How many differences are kept (all are counted). 0 keeps none.
  int64_t max_differences = 100;
  // Bodies nested deeper than this (arrays and objects) are refused.
  int max_depth = 512;
  // Arrays longer than this are compared position by position only, without
  // the `array_order` check.
  size_t max_order_check_elements = 100000;
};

struct Difference {
  std::string path;  // `data.users[3].balance`; "" for the root
  DifferenceKind kind = DifferenceKind::kValue;
  // Compact JSON of each side's value at `path` (a marker when redacted);
  // nullopt on the side where the key is absent. For kKeyOrder, the object's
  // keys in order, as a JSON array of strings.
  std::optional<std::string> primary;
  std::optional<std::string> candidate;
  // Name of the rule that explains the difference; empty when unexplained.
  std::string rule;
};

struct Comparison {
  // The first max_differences differences found, in document order.
  std::vector<Difference> differences;
  int64_t unexplained = 0;  // differences no rule explains
  int64_t explained = 0;    // differences a rule explains
  int64_t ignored = 0;      // paths with differences that an ignore pattern named
  bool truncated = false;   // more differences were found than kept

  bool equal() const { return unexplained == 0; }
};

// A built-in classifier a rule may name.
struct ComparisonClassifier {
  absl::string_view name;
  absl::string_view description;
};

// `float64` and `timestamp_precision`.
const std::vector<ComparisonClassifier>& ComparisonClassifiers();

// Compares response bodies under fixed options.
class Comparator {
 public:
  // Checks and parses the options once. InvalidArgument for a malformed
  // ignore pattern (naming it), a rule with an unknown classifier or an empty
  // name (naming the rule), a negative max_differences or a max_depth below
  // 1.
  static absl::StatusOr<Comparator> Create(CompareOptions options);

  // Compares two JSON texts. InvalidArgument when a body is not JSON (naming
  // the side, `primary` or `candidate`, and the byte offset) or is nested
  // deeper than max_depth. Never echoes the bodies in messages.
  absl::StatusOr<Comparison> Compare(absl::string_view primary,
                                     absl::string_view candidate) const;

  struct Pattern;  // a parsed ignore pattern (comparator.cc)

  Comparator(Comparator&&) noexcept;
  Comparator& operator=(Comparator&&) noexcept;
  ~Comparator();

 private:
  Comparator();
  CompareOptions options_;
  std::vector<Pattern> patterns_;
  // Index into options_.rules of the first rule of each classifier, or -1.
  int float64_rule_ = -1;
  int timestamp_rule_ = -1;
};

// Comparator::Create(options) then Compare(primary, candidate).
absl::StatusOr<Comparison> Compare(absl::string_view primary,
                                   absl::string_view candidate,
                                   const CompareOptions& options);

}  // namespace fraiseql::parity

#endif  // FRAISEQL_PLUGINS_PARITY_COMPARATOR_H_
