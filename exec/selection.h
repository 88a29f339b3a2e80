// exec/: the bottom of the pipeline's shared types. What the planner
// resolves one root field's selection into, and the response stage projects
// each of its rows with (response/projector.h): which JSONB keys to read
// from each row and under which response keys, in which order, to write
// them. Plain data: no stage's code, so the planner need not depend on the
// response stage to hand it over.
#ifndef FRAISEQL_EXEC_SELECTION_H_
#define FRAISEQL_EXEC_SELECTION_H_

#include <string>
#include <vector>

namespace fraiseql::exec {

// One selected field of an object, in selection (= output) order.
struct FieldSelection {
  enum class Kind {
    kScalar,    // any JSON value, re-emitted compact; objects keep their keys
    kObject,    // a nested object, or a list of them, projected by `fields`
    kJson,      // free-form JSON, re-emitted compact; inner keys not renamed
    kTypename,  // __typename: the enclosing object's type name
  };
  Kind kind = Kind::kScalar;
  // Alias or GraphQL name; final, emitted as is (JSON-escaped).
  std::string response_key;
  // JSONB key to read (unused for kTypename). Several fields may read the
  // same key (`a: name` and `b: name`).
  std::string source_key;
  // kObject: the nested object's GraphQL type name, for its __typename.
  std::string type_name;
  // kObject: the sub-selection. Empty: every key of the nested object is
  // emitted camelCased, in source order, recursively.
  std::vector<FieldSelection> fields;
  // kObject: every key of the nested object, as SelectionSet::select_all,
  // with `fields` as its overrides.
  bool select_all = false;
};

// The selection applied to every row of one root field.
struct SelectionSet {
  // GraphQL type name of the root objects (for __typename).
  std::string type_name;
  // No selection tree: every key of the row, camelCased, in source order,
  // recursively. `fields` may then override how some keys are written (the
  // schema's knowledge of the row): a kJson field's value is copied with its
  // inner keys untouched, a kObject field's value is projected by it (its
  // type's __typename, its own overrides when it is select_all too); both
  // under their response_key. Other kinds are ignored there.
  bool select_all = false;
  // The selection tree, in output order. With select_all false and no
  // fields, every row projects to {} (plus an injected __typename).
  std::vector<FieldSelection> fields;
};

}  // namespace fraiseql::exec

#endif  // FRAISEQL_EXEC_SELECTION_H_
