// where/: the operator plugin interface and its registry. Every operator of the
// filter language, built-in or custom, is an Operator registered under a
// dotted key (`where.compare.eq`) with the GraphQL names it answers to.
// The registry is built once at start-up and read-only afterwards.
#ifndef FRAISEQL_WHERE_OPERATOR_H_
#define FRAISEQL_WHERE_OPERATOR_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "where/json_value.h"
#include "where/params.h"
#include "where/schema.h"

namespace fraiseql::where {

// What an operator renders against: one field of one row.
struct Operand {
  const FieldDef* field = nullptr;
  // The kind the operator sees: the field's kind.
  FieldKind kind = FieldKind::kString;
  // SQL of the value typed for its kind: `(t."data"->>'age')::numeric`,
  // `t."data"->>'first_name'`, `t."id"`.
  std::string typed_sql;
  // SQL of the raw JSONB value (`t."data"->'age'`); empty for a column.
  std::string jsonb_sql;
};

struct OperatorInfo {
  std::string key;                   // dotted registry key: where.compare.eq
  std::string name;                  // canonical GraphQL name: eq
  std::vector<std::string> aliases;  // other accepted spellings: ne, not_eq
  std::vector<FieldKind> kinds;      // kinds it applies to
  std::string value_shape;           // e.g. "a value of the field's kind"
  std::string description;
  std::string example;               // a `where` input using it
};

// A filter operator. Implementations must be immutable and thread-safe.
class Operator {
 public:
  virtual ~Operator() = default;

  virtual const OperatorInfo& info() const = 0;

  // Renders `operand <op> value` as a boolean SQL fragment, adding values to
  // `params` (never pasting them into the text). `path` names the input
  // position (`where.age.gt`) for errors. Returns InvalidArgument, naming
  // `path` and what was expected, when the value does not fit.
  // Not called for a null value: a null operator value means no condition.
  virtual absl::StatusOr<std::string> Render(const Operand& operand,
                                             const JsonValue& value,
                                             absl::string_view path,
                                             ParamList* params) const = 0;
};

class OperatorRegistry {
 public:
  // Adds an operator. AlreadyExists when its key, name or an alias is taken.
  absl::Status Register(std::unique_ptr<Operator> op);

  // Looks up by GraphQL name or alias; nullptr when unknown.
  const Operator* Find(absl::string_view name) const;

  // The closest known name, for "did you mean" hints; empty when none is
  // close.
  std::string Suggest(absl::string_view name) const;

  // All operators in registration order.
  std::vector<const Operator*> List() const;

 private:
  std::vector<std::unique_ptr<Operator>> operators_;
  std::map<std::string, const Operator*, std::less<>> by_name_;
};

// Registers eq, neq, gt, gte, lt, lte for the scalar kinds (typed: numbers
// compare as numbers, dates as dates, ...), and eq/neq on JSON and lists
// (as JSON values).
absl::Status RegisterBuiltinComparisonOperators(OperatorRegistry* registry);

// A registry with every built-in operator.
std::unique_ptr<OperatorRegistry> MakeBuiltinOperatorRegistry();

}  // namespace fraiseql::where

#endif  // FRAISEQL_WHERE_OPERATOR_H_
