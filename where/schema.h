// where/ + planner/: the schema registry. Views, their real columns and the
// typed fields of their JSONB documents, as the filter compiler, the planner
// and the response stage see them. Built once at start-up, read-only after.
#ifndef FRAISEQL_WHERE_SCHEMA_H_
#define FRAISEQL_WHERE_SCHEMA_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fraiseql::where {

// Every field kind of the filter language (spec/where.md, section 2).
enum class FieldKind {
  kString,
  kEmail,
  kHostname,
  kInt,
  kFloat,
  kDecimal,
  kPort,
  kBoolean,
  kUuid,
  kId,
  kDate,
  kDateTime,
  kIpAddress,
  kCidr,
  kMacAddress,
  kLTree,
  kDateRange,
  kJson,
  kList,
  kFullText,
  kVector,
  kCoordinate,
  kObject,
};

// The GraphQL spelling of a kind ("String", "DateTime", "IpAddress", ...).
absl::string_view FieldKindName(FieldKind kind);

// Parses a scalar kind name as spelled by FieldKindName (also accepts the
// common aliases "IPAddress", "Uuid", "JSONB", "Datetime"). "Object" and
// "List" are not scalar kinds and are rejected here.
absl::StatusOr<FieldKind> ParseScalarKind(absl::string_view name);

struct FieldDef {
  std::string name;  // GraphQL name (camelCase of `key`)
  std::string key;   // JSONB key (snake_case), or the column name
  FieldKind kind = FieldKind::kString;
  // kObject: the nested object type. kList of objects: the element type.
  std::string object_type;
  // kList: the element kind (kObject for a list of objects).
  FieldKind element_kind = FieldKind::kString;
  // Non-empty when the field is a real column of the view (filters use the
  // column, not the JSONB key).
  std::string column;
  // kObject fields only: the declared foreign-key column holding the related
  // object's id (`author` -> `author_id`). Filters on the object's `id` use
  // it; its other subfields filter the embedded JSONB object.
  std::string fk_column;
};

// A GraphQL object type: the fields of one JSONB object.
class ObjectType {
 public:
  ObjectType() = default;
  explicit ObjectType(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  const std::vector<FieldDef>& fields() const { return fields_; }

  // Looks a field up by GraphQL name (`firstName`) or JSONB key
  // (`first_name`); nullptr when unknown.
  const FieldDef* FindField(absl::string_view name) const;
  FieldDef* FindMutableField(absl::string_view name) {
    return const_cast<FieldDef*>(std::as_const(*this).FindField(name));
  }

  // Adds a field. AlreadyExists when the name or key is taken.
  absl::Status AddField(FieldDef field);

 private:
  std::string name_;
  std::vector<FieldDef> fields_;
};

// Up to `max_names` of `candidates` that are close to `typed`, closest
// first (ties in candidate order): for "did you mean" hints. Names are
// compared case-insensitively without underscores (so `first_name` is
// `firstName`), whole, and for dotted names ("app.v_user") also by the part
// after the last dot (`v_user` finds `app.v_user`). Close means at most
// max(1, n / 4) edits (insertions, deletions, substitutions, adjacent
// transpositions), n the length of `typed`'s part after its last dot.
// Linear in the total size of the candidates: `typed` is compared only
// with names of a similar length, so a huge `typed` costs nothing.
std::vector<std::string> SuggestNames(absl::string_view typed,
                                      const std::vector<std::string>& candidates,
                                      size_t max_names = 3);

// "; did you mean a, b or c?" for SuggestNames(typed, candidates), or ""
// when none is close. The candidates are schema names, never input.
std::string DidYouMean(absl::string_view typed,
                       const std::vector<std::string>& candidates);

// The hint of an unknown field's message, among the GraphQL names of
// `type`'s fields (DidYouMean).
std::string SuggestFields(absl::string_view typed, const ObjectType& type);

struct ViewDef {
  std::string name;          // SQL name, possibly schema-qualified
  std::string jsonb_column;  // "data" by default; empty: rows are whole columns
  // Real columns, name -> PostgreSQL type as declared, in declaration
  // order. The type decides how filters, orderBy and cursors compare a
  // field backed by the column (where/typed_field.h): bare, with values of
  // an index-friendly type, when it serves the field's kind; cast to the
  // kind's SQL type when it does not, or when it is empty (not declared)
  // or not a type listed there.
  std::vector<std::pair<std::string, std::string>> columns;
  ObjectType type;           // the GraphQL type of the rows
  // Operator names (canonical) or keys allowed in this view's filters;
  // empty: every registered operator.
  std::vector<std::string> allowed_operators;
  // Text search configuration of FullText operators on this view.
  std::string text_search_config = "english";
};

// A field as declared by a user: a JSONB key and a kind spelled as text.
// `kind` is a scalar kind name ("Int"), a registered object type name
// ("Address"), or a list of either in brackets ("[String]", "[Comment]").
struct FieldSpec {
  std::string key;
  std::string kind;
};

// Everything a view is registered with.
struct ViewSpec {
  std::string name;       // "app.v_user"
  std::string type_name;  // "User"
  std::string jsonb_column = "data";
  // name, PostgreSQL type ("integer", "varchar(20)", "text[]"); "" when
  // not declared. Declare the type so that the column's indexes can serve
  // filters and orderBy (ViewDef::columns).
  std::vector<std::pair<std::string, std::string>> columns;
  std::vector<FieldSpec> fields;
  // Object field key -> its foreign-key column (must be among `columns`).
  std::vector<std::pair<std::string, std::string>> foreign_keys;
  std::vector<std::string> allowed_operators;
  std::string text_search_config = "english";
};

// Holds the registered object types and views. Copyable: a Repository takes
// a snapshot, so later registrations never race with running queries.
// Thread-safety: not synchronised; reads of an unchanging schema are safe.
class Schema {
 public:
  // Registers an object type (a nested JSONB object). Its fields may refer to
  // types registered earlier. InvalidArgument for a bad name, key or kind;
  // AlreadyExists for a duplicate type or field.
  absl::Status AddObjectType(absl::string_view type_name,
                             const std::vector<FieldSpec>& fields);

  // Registers a view. `columns` are its real columns (name -> PostgreSQL
  // type, "" when not declared); a field whose key is a column name is
  // backed by that column. Types are not checked here: a type this library
  // does not know is legal and only costs index use (where/typed_field.h).
  // InvalidArgument for a bad name, key, kind or JSONB column not listed in
  // columns; AlreadyExists when the view is registered already.
  absl::Status AddView(
      absl::string_view view_name, absl::string_view type_name,
      absl::string_view jsonb_column,
      const std::vector<std::pair<std::string, std::string>>& columns,
      const std::vector<FieldSpec>& fields);

  // The same, with foreign keys, an operator allow-list and a text search
  // configuration. InvalidArgument also for a foreign key on a field that
  // is not an object, or whose column is not among `columns`, and for a
  // FullText field that is not a column.
  absl::Status AddView(const ViewSpec& spec);

  // nullptr when not registered.
  const ViewDef* FindView(absl::string_view view_name) const;
  const ObjectType* FindObjectType(absl::string_view type_name) const;

  // Names of the registered views, sorted.
  std::vector<std::string> ViewNames() const;

  // Names of the registered object types (AddObjectType), sorted.
  std::vector<std::string> ObjectTypeNames() const;

  // The hint of an unknown view's message: "; did you mean a.v_user?" for
  // up to three registered views close to `typed` (SuggestNames), else "".
  // Never the whole list: a message must not describe the schema.
  std::string SuggestViews(absl::string_view typed) const;

 private:
  absl::StatusOr<FieldDef> ResolveField(absl::string_view owner,
                                        const FieldSpec& spec) const;

  // Node-based maps: FieldDef and ObjectType addresses stay valid as the
  // schema grows, and a copy of the schema is a deep, independent snapshot.
  std::map<std::string, ObjectType, std::less<>> types_;
  std::map<std::string, ViewDef, std::less<>> views_;
};

}  // namespace fraiseql::where

#endif  // FRAISEQL_WHERE_SCHEMA_H_
