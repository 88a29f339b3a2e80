// where/: the operator plugin interface and its registry. Every operator of the
// filter language, built-in or custom, is an Operator registered under a
// dotted key (`where.compare.eq`) with the GraphQL names it answers to and the
// field kinds it applies to. One name may serve several kinds through
// different operators (`contains` on String is a LIKE, on JSON a `@>`).
// A registry is filled at start-up and read-only afterwards.
#ifndef FRAISEQL_WHERE_OPERATOR_H_
#define FRAISEQL_WHERE_OPERATOR_H_

#include <functional>
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

class OperatorRegistry;

// What an operator renders against: one field of one row.
struct Operand {
  const FieldDef* field = nullptr;
  // The field's kind (kList for lists; see field->element_kind).
  FieldKind kind = FieldKind::kString;
  // The value typed for comparisons (where/typed_field.h):
  // `(t."data"->>'age')::numeric`, `t."data"->>'first_name'`,
  // `t."data"->'tags'` (jsonb) for JSONB keys; the bare column `t."age"`
  // when the column's declared type serves the kind, else the column cast
  // to the kind's SQL type (`t."age"::numeric`).
  std::string typed_sql;
  // The SQL type of values compared with typed_sql: the kind's SQL type
  // (SqlTypeForKind), or for a bare column one of the column's index
  // operator family (`bigint` for an Int on an integer column). Bind with
  // BindValueAs(kind, value_type, ...) so that the comparison stays
  // index-friendly; empty means the kind's type.
  std::string value_type;
  // The value as text: `t."data"->>'age'`, `t."id"::text`.
  std::string text_sql;
  // The value as jsonb: `t."data"->'age'`, `to_jsonb(t."id")`.
  std::string jsonb_sql;
  // Text search configuration for FullText operators (regconfig name).
  std::string text_search_config = "english";
  // The longest list an operator may accept (`in`, `hasAnyKeys`, ...).
  int max_list_items = 1000;
};

struct OperatorInfo {
  std::string key;                   // dotted registry key: where.compare.eq
  std::string name;                  // canonical GraphQL name: eq
  std::vector<std::string> aliases;  // other accepted spellings: ne, not_eq
  std::vector<FieldKind> kinds;      // kinds it applies to
  std::string value_shape;           // e.g. "one value of the field's kind"
  // The GraphQL input type of the operator's value, as the generated SDL
  // declares it in a field's filter input (`StringFilter { startsWith:
  // String }`). A type expression over built-in scalars (String, Int,
  // Float, Boolean, ID), kind scalars (FieldKindName: UUID, Date, JSON,
  // ...) and the structured inputs the SDL defines (IpRangeInput,
  // RankThresholdInput, VectorDistanceInput, BitVectorDistanceInput,
  // CoordinateInput, DistanceWithinInput; see
  // pybind/fraiseql_native/gql/sdl.py), with two placeholders:
  //   $field    the field's own input type (`[String]` for a List field)
  //   $element  a List field's element type; on other fields, the field's
  //             type
  // e.g. "$field", "[$field!]", "Boolean", "[String!]". Any other name is
  // declared as a custom scalar. Empty means "JSON" (any value).
  std::string graphql_type;
  std::string description;
  std::string example;               // a `where` input using it
};

// A filter operator. Implementations must be immutable and thread-safe.
class Operator {
 public:
  virtual ~Operator() = default;

  virtual const OperatorInfo& info() const = 0;

  // Renders a boolean SQL fragment for `operand <op> value`, adding values
  // to `params` (never pasting them into the text). `path` names the input
  // position (`where.age.gt`) for errors. Returns InvalidArgument, naming
  // `path` and what was expected, when the value does not fit.
  // Not called for a null value: a null operator value means no condition.
  virtual absl::StatusOr<std::string> Render(const Operand& operand,
                                             const JsonValue& value,
                                             absl::string_view path,
                                             ParamList* params) const = 0;
};

using RenderFunction = std::function<absl::StatusOr<std::string>(
    const Operand& operand, const JsonValue& value, absl::string_view path,
    ParamList* params)>;

// The usual aliases of a camelCase operator name: its snake_case and its
// all-lowercase spellings (`startsWith` -> starts_with, startswith), then
// `extra`, leaving out any that equal the name.
std::vector<std::string> NameSpellings(absl::string_view camel,
                                       std::vector<std::string> extra = {});

// One operator of a built-in family, as the family files list them.
struct OperatorSpec {
  std::string key;  // after the family prefix: "starts_with"
  std::string name;
  std::vector<std::string> aliases;
  std::string value_shape;
  std::string graphql_type;  // OperatorInfo::graphql_type
  std::string description;
  std::string example;
  RenderFunction render;
};

// Registers `specs` under keys `where.<family>.<key>`, each for `kinds`.
absl::Status RegisterFamily(OperatorRegistry* registry,
                            absl::string_view family,
                            const std::vector<FieldKind>& kinds,
                            std::vector<OperatorSpec> specs);

// An Operator from its description and a render function.
std::unique_ptr<Operator> MakeOperator(OperatorInfo info, RenderFunction render);

// Operators by name and kind. Copies share the (immutable) operators, so a
// Repository can take a snapshot cheaply. Not synchronised: register at
// start-up, then only read.
class OperatorRegistry {
 public:
  // Adds an operator. InvalidArgument for a key that is not dotted
  // lowercase, a name that is not a GraphQL name, or a graphql_type that is
  // not a type expression (names, $field, $element, [..], !); AlreadyExists
  // when the key is taken, or when its name or an alias already serves one
  // of its kinds.
  absl::Status Register(std::shared_ptr<const Operator> op);

  // The operator `name` (canonical or alias) for `kind`; nullptr when none.
  const Operator* Find(absl::string_view name, FieldKind kind) const;

  // True when some operator answers to `name`, whatever its kinds.
  bool Knows(absl::string_view name) const;

  // The kinds `name` applies to, over all operators answering to it.
  std::vector<FieldKind> KindsOf(absl::string_view name) const;

  // The closest known name, for "did you mean" hints; empty when none is
  // close.
  std::string Suggest(absl::string_view name) const;

  // All operators in registration order.
  std::vector<const Operator*> List() const;

 private:
  std::vector<std::shared_ptr<const Operator>> operators_;
  std::multimap<std::string, const Operator*, std::less<>> by_name_;
};

// A registry with every operator plugin linked into the binary (see
// where/operator_plugin.h): the built-in families when the binary links
// //plugins/where (each family is a plugin under plugins/where/<family>/),
// and any other plugin. Aborts on a clash between two linked plugins.
std::unique_ptr<OperatorRegistry> MakeBuiltinOperatorRegistry();

}  // namespace fraiseql::where

#endif  // FRAISEQL_WHERE_OPERATOR_H_
