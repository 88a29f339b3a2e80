#include "planner/planner.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "planner/cursor.h"
#include "where/kind_value.h"
#include "where/sql_identifier.h"
#include "where/typed_field.h"

namespace fraiseql::planner {
namespace {

using where::FieldDef;
using where::FieldKind;
using where::JsonValue;
using where::ObjectType;
using Operation = v1::RootField::Operation;

constexpr absl::string_view kRowAlias = "t";

// A few close names, never the type's whole list.
absl::Status UnknownField(absl::string_view name, absl::string_view path,
                          const ObjectType& type) {
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown field '", where::PrintableKey(name), "' at ", path,
      " on type ", type.name(), where::SuggestFields(name, type)));
}

// GraphQL field merging: fields with the same response key are one field
// (their sub-selections are merged); the same key on two different fields
// is an error. One hash lookup per field.
absl::StatusOr<google::protobuf::RepeatedPtrField<v1::Selection>>
MergeSameKeys(const google::protobuf::RepeatedPtrField<v1::Selection>& in,
              const std::string& path) {
  google::protobuf::RepeatedPtrField<v1::Selection> out;
  // Response key -> its index in `out` (RepeatedPtrField elements never
  // move, but indices are as cheap and obviously stable).
  absl::flat_hash_map<absl::string_view, int> index;
  index.reserve(in.size());
  for (const v1::Selection& s : in) {
    auto [it, inserted] = index.try_emplace(s.response_key(), out.size());
    v1::Selection* same = inserted ? nullptr : out.Mutable(it->second);
    if (same == nullptr) {
      *out.Add() = s;
    } else if (same->field_name() != s.field_name()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid selection at ", path, ".", s.response_key(), ": '",
          s.response_key(), "' names both ", same->field_name(), " and ",
          s.field_name(), "; give one of them another alias"));
    } else {
      for (const v1::Selection& sub : s.fields()) *same->add_fields() = sub;
    }
  }
  return out;
}

// What the schema knows of a row written without a selection (every key
// camelCased): JSON fields pass through untouched, objects carry their type
// (for __typename) and their own overrides.
std::vector<exec::FieldSelection> SelectAllOverrides(
    const where::Schema& schema, const ObjectType& type) {
  std::vector<exec::FieldSelection> overrides;
  for (const FieldDef& field : type.fields()) {
    const bool is_object = field.kind == FieldKind::kObject ||
                           (field.kind == FieldKind::kList &&
                            field.element_kind == FieldKind::kObject);
    if (field.kind != FieldKind::kJson && !is_object) continue;
    exec::FieldSelection out;
    out.response_key = field.name;
    out.source_key = field.key;
    if (field.kind == FieldKind::kJson) {
      out.kind = exec::FieldSelection::Kind::kJson;
    } else {
      const ObjectType* nested = schema.FindObjectType(field.object_type);
      if (nested == nullptr) continue;
      out.kind = exec::FieldSelection::Kind::kObject;
      out.type_name = nested->name();
      out.select_all = true;
      out.fields = SelectAllOverrides(schema, *nested);
    }
    overrides.push_back(std::move(out));
  }
  return overrides;
}

// The limits of a selection given as a tree, checked before it is merged
// or resolved: a walk (an explicit stack, no recursion) that stops at the
// first field over a limit, so its work is bounded by the limits, not by
// the input.
absl::Status CheckSelectionLimits(
    const google::protobuf::RepeatedPtrField<v1::Selection>& root,
    const SelectionLimits& limits) {
  struct Level {
    const google::protobuf::RepeatedPtrField<v1::Selection>* fields;
    int depth;  // levels of `{ }` around these fields
  };
  std::vector<Level> stack = {{&root, 0}};
  int fields = 0;
  int aliases = 0;
  while (!stack.empty()) {
    Level level = stack.back();
    stack.pop_back();
    if (level.depth > limits.max_selection_depth) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid selection: more than ", limits.max_selection_depth,
          " levels of nesting (limit max_selection_depth)"));
    }
    for (const v1::Selection& s : *level.fields) {
      if (++fields > limits.max_selection_fields) {
        return SelectionLimitError(limits.max_selection_fields, "fields",
                                   "max_selection_fields");
      }
      if (s.response_key() != s.field_name() &&
          ++aliases > limits.max_selection_aliases) {
        return SelectionLimitError(limits.max_selection_aliases, "aliases",
                                   "max_selection_aliases");
      }
      if (s.fields_size() > 0) stack.push_back({&s.fields(), level.depth + 1});
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<exec::FieldSelection>> ResolveSelection(
    const where::Schema& schema, const ObjectType& type,
    const google::protobuf::RepeatedPtrField<v1::Selection>& requested,
    const std::string& path) {
  ASSIGN_OR_RETURN(auto selections, MergeSameKeys(requested, path));
  std::vector<exec::FieldSelection> fields;
  for (const v1::Selection& s : selections) {
    std::string field_path = absl::StrCat(path, ".", s.response_key());
    exec::FieldSelection out;
    out.response_key = s.response_key();
    if (s.field_name() == "__typename") {
      if (s.fields_size() > 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid selection at ", field_path,
            ": __typename takes no sub-selection"));
      }
      out.kind = exec::FieldSelection::Kind::kTypename;
      fields.push_back(std::move(out));
      continue;
    }
    const FieldDef* field = type.FindField(s.field_name());
    if (field == nullptr) return UnknownField(s.field_name(), field_path, type);
    out.source_key = field->key;
    bool is_object = field->kind == FieldKind::kObject ||
                     (field->kind == FieldKind::kList &&
                      field->element_kind == FieldKind::kObject);
    if (is_object) {
      if (s.fields_size() == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid selection at ", field_path, ": ", field->name,
            " is of object type ", field->object_type,
            " and needs a sub-selection { ... }"));
      }
      const ObjectType* nested = schema.FindObjectType(field->object_type);
      out.kind = exec::FieldSelection::Kind::kObject;
      out.type_name = nested->name();
      ASSIGN_OR_RETURN(out.fields,
                       ResolveSelection(schema, *nested, s.fields(), field_path));
    } else {
      if (s.fields_size() > 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid selection at ", field_path, ": ", field->name, " is a ",
            where::FieldKindName(field->kind),
            " field and takes no sub-selection"));
      }
      out.kind = field->kind == FieldKind::kJson
                     ? exec::FieldSelection::Kind::kJson
                     : exec::FieldSelection::Kind::kScalar;
    }
    fields.push_back(std::move(out));
  }
  return fields;
}

// A field typed as the filter compiler types it (where/typed_field.h): a
// bare column where its declared type serves the kind, so that ORDER BY and
// keyset conditions can use the column's index.
where::TypedField TypeField(const where::ViewDef& view, const FieldDef& field,
                            absl::string_view jsonb_sql, bool at_root) {
  return where::TypeField(view, field, kRowAlias, jsonb_sql, at_root);
}

// --- orderBy -------------------------------------------------------------

struct Direction {
  bool descending = false;
  bool nulls_first = false;     // PostgreSQL's default: only with DESC
  bool explicit_nulls = false;  // NULLS FIRST/LAST was written
};

// One key of the ordering: a typed expression and its direction.
struct OrderKey {
  std::string sql;
  // The SQL type cursor values of this key are bound as (TypedField).
  std::string value_type;
  Direction direction;
  FieldKind kind = FieldKind::kString;
  std::string name;     // the input path, for cursor errors: "address.cityName"
  bool unique = false;  // the tiebreaker: never null, never equal
};

std::string RenderOrderKey(const OrderKey& key, bool reversed) {
  bool descending = key.direction.descending != reversed;
  bool nulls_first = key.direction.nulls_first != reversed;
  std::string out = absl::StrCat(key.sql, descending ? " DESC" : " ASC");
  if (key.direction.explicit_nulls) {
    out.append(nulls_first ? " NULLS FIRST" : " NULLS LAST");
  }
  return out;
}

std::string RenderOrderBy(const std::vector<OrderKey>& keys, bool reversed) {
  return absl::StrJoin(keys, ", ", [reversed](std::string* out,
                                              const OrderKey& key) {
    out->append(RenderOrderKey(key, reversed));
  });
}

absl::StatusOr<Direction> ParseDirection(const JsonValue& value,
                                         const std::string& path) {
  if (value.is_string()) {
    std::string d = absl::AsciiStrToUpper(value.text());
    if (d == "ASC") return Direction{false, false, false};
    if (d == "DESC") return Direction{true, true, false};
    if (d == "ASC_NULLS_FIRST") return Direction{false, true, true};
    if (d == "ASC_NULLS_LAST") return Direction{false, false, true};
    if (d == "DESC_NULLS_FIRST") return Direction{true, true, true};
    if (d == "DESC_NULLS_LAST") return Direction{true, false, true};
  }
  std::string shown = value.is_string()
                          ? absl::StrCat("'", absl::CHexEscape(value.text()), "'")
                          : std::string(value.TypeDescription());
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid order direction at ", path, ": expected ASC, DESC, "
      "ASC_NULLS_FIRST, ASC_NULLS_LAST, DESC_NULLS_FIRST or DESC_NULLS_LAST, "
      "got ", shown));
}

absl::Status TooManyOrderKeys(const OrderByLimits& limits) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid orderBy: more than ", limits.max_order_by_keys,
      " keys (limit max_order_by_keys)"));
}

// The keys of an ordering as they are compiled: each at most once, at most
// max_order_by_keys of them.
struct OrderKeys {
  const OrderByLimits& limits;
  std::vector<OrderKey> keys;
  absl::flat_hash_set<std::string> names;  // OrderKey::name, canonical
};

// Appends the keys of one orderBy object on `type`.
absl::Status CompileOrderObject(const where::Schema& schema,
                                const where::ViewDef& view,
                                const ObjectType& type,
                                const std::string& jsonb_sql, bool at_root,
                                const JsonValue& item, const std::string& path,
                                const std::string& name_prefix, int depth,
                                OrderKeys* out) {
  if (!item.is_object() || item.members().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid orderBy at ", path,
        ": expected an object {field: direction}, got ",
        item.is_object() ? "an empty object" : item.TypeDescription()));
  }
  if (depth > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("orderBy too deep at ", path));
  }
  for (const auto& [name, value] : item.members()) {
    std::string field_path =
        absl::StrCat(path, ".", where::PrintableKey(name));
    const FieldDef* field = type.FindField(name);
    if (field == nullptr) return UnknownField(name, field_path, type);
    std::string key_name = absl::StrCat(name_prefix, field->name);
    if (field->kind == FieldKind::kObject) {
      const ObjectType* nested = schema.FindObjectType(field->object_type);
      RETURN_IF_ERROR(CompileOrderObject(
          schema, view, *nested,
          absl::StrCat(jsonb_sql, "->", where::QuoteLiteral(field->key)),
          /*at_root=*/false, value, field_path, absl::StrCat(key_name, "."),
          depth + 1, out));
      continue;
    }
    absl::string_view sql_type = where::SqlTypeForKind(field->kind);
    if (sql_type == "jsonb" || sql_type == "tsvector") {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid orderBy at ", field_path, ": cannot order by ",
          where::FieldKindName(field->kind), " field ", field->name));
    }
    // By canonical name: `first_name` and `firstName` are one key.
    if (!out->names.insert(key_name).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid orderBy at ", field_path, ": orderBy key ", key_name,
          " given twice"));
    }
    if (static_cast<int64_t>(out->keys.size()) >=
        out->limits.max_order_by_keys) {
      return TooManyOrderKeys(out->limits);
    }
    OrderKey key;
    ASSIGN_OR_RETURN(key.direction, ParseDirection(value, field_path));
    where::TypedField typed = TypeField(view, *field, jsonb_sql, at_root);
    key.sql = std::move(typed.sql);
    key.value_type = std::move(typed.value_type);
    key.kind = field->kind;
    key.name = std::move(key_name);
    out->keys.push_back(std::move(key));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OrderKey>> CompileOrderBy(
    const where::Schema& schema, const where::ViewDef& view,
    absl::string_view order_by_json, const std::string& root_jsonb,
    const OrderByLimits& limits) {
  OrderKeys keys{limits, {}, {}};
  if (order_by_json.empty()) return std::move(keys.keys);
  if (order_by_json.size() > limits.max_order_by_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid orderBy: more than ", limits.max_order_by_bytes,
        " bytes (limit max_order_by_bytes)"));
  }
  absl::StatusOr<JsonValue> parsed = where::ParseJson(order_by_json, 40);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid orderBy input: ", parsed.status().message()));
  }
  if (parsed->is_null()) return std::move(keys.keys);
  if (parsed->is_array()) {
    // Every entry names at least one key: too many entries fail before any
    // is resolved.
    if (parsed->items().size() >
        static_cast<size_t>(std::max(0, limits.max_order_by_keys))) {
      return TooManyOrderKeys(limits);
    }
    for (size_t i = 0; i < parsed->items().size(); ++i) {
      RETURN_IF_ERROR(CompileOrderObject(
          schema, view, view.type, root_jsonb, true, parsed->items()[i],
          absl::StrCat("orderBy[", i, "]"), "", 1, &keys));
    }
  } else {
    RETURN_IF_ERROR(CompileOrderObject(schema, view, view.type, root_jsonb,
                                       true, *parsed, "orderBy", "", 1, &keys));
  }
  return std::move(keys.keys);
}

// The unique key that makes an ordering total: the view's `id` field, else
// its `id` column.
absl::StatusOr<OrderKey> Tiebreaker(const where::ViewDef& view,
                                    const std::string& root_jsonb) {
  OrderKey key;
  key.name = "id";
  key.unique = true;
  if (const FieldDef* id = view.type.FindField("id"); id != nullptr) {
    absl::string_view type = where::SqlTypeForKind(id->kind);
    if (type == "jsonb" || type == "tsvector") {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot paginate view ", view.name, ": its id field is of kind ",
          where::FieldKindName(id->kind), ", which cannot be ordered"));
    }
    where::TypedField typed = TypeField(view, *id, root_jsonb, /*at_root=*/true);
    key.sql = std::move(typed.sql);
    key.value_type = std::move(typed.value_type);
    key.kind = id->kind;
    return key;
  }
  for (const auto& [name, pg_type] : view.columns) {
    if (name != "id") continue;
    std::string t = where::CanonicalColumnType(pg_type);
    FieldDef column;
    column.key = column.column = "id";
    if (t == "uuid") {
      column.kind = FieldKind::kUuid;
    } else if (t == "smallint" || t == "integer" || t == "bigint") {
      column.kind = FieldKind::kInt;
    } else if (t == "text" || t == "varchar") {
      column.kind = FieldKind::kString;
    } else {
      break;
    }
    where::TypedField typed = TypeField(view, column, root_jsonb, true);
    key.sql = std::move(typed.sql);
    key.value_type = std::move(typed.value_type);
    key.kind = column.kind;
    return key;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot paginate view ", view.name,
      ": keyset pagination needs a unique `id` field or column (uuid, "
      "integer or text) to order rows with equal keys"));
}

// --- keyset conditions ---------------------------------------------------

// `key` strictly after (`after`) or before the cursor value `value` (a
// placeholder) in the ordering. A null value is a position too: under NULLS
// FIRST every non-null value comes after it; under NULLS LAST nothing does.
// Only AND/OR are used, so a SQL NULL anywhere counts as false.
std::string StrictlyBeyond(const OrderKey& key, const std::string& value,
                           bool after) {
  bool descending = key.direction.descending != !after;
  bool nulls_first = key.direction.nulls_first != !after;
  std::string compare =
      absl::StrCat(key.sql, descending ? " < " : " > ", value);
  if (key.unique) return compare;
  return absl::StrCat("(", compare, " OR (", value,
                      nulls_first ? " IS NULL AND " : " IS NOT NULL AND ",
                      key.sql, nulls_first ? " IS NOT NULL))" : " IS NULL))");
}

// Rows strictly after (or before) the cursor: the first key beyond, or equal
// and the rest beyond, nested: k1 > c1 OR (k1 = c1 AND (k2 > c2 OR ...)).
// Row-value comparison (k1, k2) > (c1, c2) would only serve one uniform
// direction without nulls.
// Written front to back into one string, the closing parentheses last:
// linear in the size of the keys.
std::string KeysetCondition(const std::vector<OrderKey>& keys,
                            const std::vector<std::string>& values,
                            bool after) {
  std::string sql;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    absl::StrAppend(&sql, "(", StrictlyBeyond(keys[i], values[i], after),
                    " OR (", keys[i].sql, " IS NOT DISTINCT FROM ", values[i],
                    " AND ");
  }
  sql.append(StrictlyBeyond(keys.back(), values.back(), after));
  for (size_t i = 0; i + 1 < keys.size(); ++i) sql.append("))");
  return sql;
}

// The filter operator a key's comparison in a keyset condition stands for:
// `gt` for `>`, `lt` for `<` (as StrictlyBeyond writes them).
absl::string_view CursorOperator(const OrderKey& key, bool after) {
  bool descending = key.direction.descending != !after;
  return descending ? "lt" : "gt";
}

bool Grants(const where::ViewDef& view, const where::Operator* op,
            absl::string_view name) {
  for (const std::string& allowed : view.allowed_operators) {
    if (allowed == name || (op != nullptr && allowed == op->info().key)) {
      return true;
    }
  }
  return false;
}

// A cursor compares the order keys as `gt`/`lt` filters would: on a view
// with an operator allow-list, every comparison the keyset conditions use
// must be granted (planner.h).
absl::Status CheckCursorOperators(const where::OperatorRegistry& operators,
                                  const where::ViewDef& view,
                                  const std::vector<OrderKey>& keys,
                                  bool after, bool before) {
  if (view.allowed_operators.empty()) return absl::OkStatus();
  std::vector<absl::string_view> missing;
  for (bool is_after : {true, false}) {
    if (is_after ? !after : !before) continue;
    for (const OrderKey& key : keys) {
      absl::string_view name = CursorOperator(key, is_after);
      if (std::find(missing.begin(), missing.end(), name) != missing.end() ||
          Grants(view, operators.Find(name, key.kind), name)) {
        continue;
      }
      missing.push_back(name);
    }
  }
  if (missing.empty()) return absl::OkStatus();
  std::sort(missing.begin(), missing.end());
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid cursor at ",
      after && before ? "after and before" : (after ? "after" : "before"),
      ": paging from a cursor compares the order keys with ",
      absl::StrJoin(missing, " and "), ", which the operator allow-list of "
      "view ", view.name, " does not grant (missing: ",
      absl::StrJoin(missing, ", "), ")"));
}

// Numbers the placeholders of a template after the `where` parameters, as
// ParamList::Add will when the values are bound in the same order.
class Placeholders {
 public:
  explicit Placeholders(size_t used) : next_(used + 1) {}
  std::string Next(absl::string_view sql_type) {
    return absl::StrCat("$", next_++, "::", sql_type);
  }
  size_t count() const { return next_ - 1; }

 private:
  size_t next_;
};

// --- aggregate fields ----------------------------------------------------

absl::string_view OperationName(Operation op) {
  switch (op) {
    case v1::RootField::COUNT: return "count";
    case v1::RootField::EXISTS: return "exists";
    case v1::RootField::SUM: return "sum";
    case v1::RootField::AVG: return "avg";
    case v1::RootField::MIN: return "min";
    case v1::RootField::MAX: return "max";
    case v1::RootField::DISTINCT: return "distinct";
    default: return "find";
  }
}

bool IsNumberKind(FieldKind kind) {
  return kind == FieldKind::kInt || kind == FieldKind::kFloat ||
         kind == FieldKind::kDecimal || kind == FieldKind::kPort;
}

bool IsDecimalKind(FieldKind kind) {
  return kind == FieldKind::kFloat || kind == FieldKind::kDecimal;
}

bool CanAggregate(Operation op, FieldKind kind) {
  switch (op) {
    case v1::RootField::SUM:
    case v1::RootField::AVG:
      return IsNumberKind(kind);
    case v1::RootField::MIN:
    case v1::RootField::MAX:
      return IsNumberKind(kind) || kind == FieldKind::kDate ||
             kind == FieldKind::kDateTime || kind == FieldKind::kString ||
             kind == FieldKind::kEmail || kind == FieldKind::kHostname ||
             kind == FieldKind::kId;
    case v1::RootField::DISTINCT:
      return kind != FieldKind::kObject && kind != FieldKind::kFullText &&
             kind != FieldKind::kVector;
    default:
      return false;
  }
}

absl::string_view AggregateKinds(Operation op) {
  switch (op) {
    case v1::RootField::SUM:
    case v1::RootField::AVG:
      return "Int, Float, Decimal or Port fields";
    case v1::RootField::MIN:
    case v1::RootField::MAX:
      return "Int, Float, Decimal, Port, Date, DateTime, String, Email, "
             "Hostname or ID fields";
    default:
      return "any field but objects, FullText and Vector";
  }
}

struct ResolvedField {
  std::string sql;
  FieldKind kind;
};

// Resolves the dotted path of an aggregate's field ("address.cityName").
absl::StatusOr<ResolvedField> ResolveAggregateField(
    const where::Schema& schema, const where::ViewDef& view, Operation op,
    absl::string_view dotted, const std::string& root_jsonb) {
  std::string path(OperationName(op));
  if (dotted.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid field at ", path,
        ": the operation needs a field, e.g. \"age\" or \"address.cityName\""));
  }
  const ObjectType* type = &view.type;
  std::string jsonb_sql = root_jsonb;
  bool at_root = true;
  std::vector<absl::string_view> segments = absl::StrSplit(dotted, '.');
  for (size_t i = 0; i < segments.size(); ++i) {
    absl::StrAppend(&path, ".", segments[i]);
    const FieldDef* field = type->FindField(segments[i]);
    if (field == nullptr) return UnknownField(segments[i], path, *type);
    bool last = i + 1 == segments.size();
    if (field->kind == FieldKind::kObject && !last) {
      type = schema.FindObjectType(field->object_type);
      jsonb_sql = absl::StrCat(jsonb_sql, "->", where::QuoteLiteral(field->key));
      at_root = false;
      continue;
    }
    if (!last) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid field at ", path, ": ", field->name, " is a ",
          where::FieldKindName(field->kind), " field and has no subfields"));
    }
    if (field->kind == FieldKind::kObject) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid field at ", path, ": ", field->name, " is an object of type ",
          field->object_type, "; name one of its fields (", dotted,
          ".<field>)"));
    }
    if (!CanAggregate(op, field->kind)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid field at ", path, ": cannot take the ", OperationName(op),
          " of ", where::FieldKindName(field->kind), " field ", field->name,
          "; ", OperationName(op), " takes ", AggregateKinds(op)));
    }
    // The kind's SQL type, whatever the column's: sums and averages are
    // exact numerics, instants are timestamptz.
    return ResolvedField{
        TypeField(view, *field, jsonb_sql, at_root).kind_sql, field->kind};
  }
  return absl::InternalError("unreachable");
}

// --- the cache key -------------------------------------------------------

void AppendPart(absl::string_view part, std::string* key) {
  absl::StrAppend(key, part.size(), ":", part);
}

void AppendSelection(
    const google::protobuf::RepeatedPtrField<v1::Selection>& selections,
    std::string* key) {
  key->push_back('{');
  for (const v1::Selection& s : selections) {
    AppendPart(s.response_key(), key);
    AppendPart(s.field_name(), key);
    if (s.fields_size() > 0) AppendSelection(s.fields(), key);
  }
  key->push_back('}');
}

// Everything the template depends on (see planner.h), unambiguously
// (length-prefixed). `condition` is the compiled `where` SQL.
std::string CacheKey(const v1::RootField& root, absl::string_view condition) {
  std::string key;
  key.reserve(condition.size() + root.view().size() +
              root.order_by_json().size() + root.aggregate_field().size() +
              32 + 16 * root.selection_size());
  char flags[] = {
      // Valid operations are checked before the lookup: 0..7 fit a digit.
      static_cast<char>('0' + root.operation()),
      root.is_list() ? 'L' : '-',
      root.has_limit() ? 'l' : '-',
      root.has_offset() ? 'o' : '-',
      root.has_first() ? 'f' : '-',
      root.has_after() ? 'a' : '-',
      root.has_last() ? 'z' : '-',
      root.has_before() ? 'b' : '-',
      root.include_total_count() ? 't' : '-',
      root.has_selection() ? 's' : '-',
  };
  key.append(flags, sizeof flags);
  AppendPart(root.view(), &key);
  AppendPart(root.aggregate_field(), &key);
  AppendPart(root.order_by_json(), &key);
  AppendPart(condition, &key);
  if (root.has_selection()) AppendSelection(root.selection(), &key);
  return key;
}

bool HasPagination(const v1::RootField& root) {
  return root.has_first() || root.has_after() || root.has_last() ||
         root.has_before() || root.include_total_count();
}

absl::Status NonNegative(absl::string_view what, int64_t value) {
  if (value >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid ", what, ": expected a non-negative number, got ", value));
}

}  // namespace

// The part of a plan that depends only on the cache key.
struct Planner::Template {
  ResultShape shape = ResultShape::kList;
  std::string sql;
  std::string count_sql;  // kConnection with totalCount
  std::shared_ptr<const exec::SelectionSet> selection;
  std::shared_ptr<const CompiledSelection> compiled;
  // kConnection: the order keys, tiebreaker last, that cursors hold.
  std::vector<OrderKey> cursor_keys;
  std::string fingerprint;
  bool backward = false;
  bool decimal_numbers = false;
  size_t param_count = 0;  // after binding every value
};

namespace {

where::Param CursorParam(const OrderKey& key) {
  return {"", key.value_type, false};
}

bool IsNumberType(absl::string_view sql_type) {
  return sql_type == "numeric" || sql_type == "bigint" || sql_type == "real" ||
         sql_type == "double precision";
}

// Binds the key values of one cursor, in key order.
absl::Status BindCursor(const std::string& cursor, absl::string_view argument,
                        const std::vector<OrderKey>& keys,
                        absl::string_view fingerprint,
                        where::ParamList* params) {
  ASSIGN_OR_RETURN(std::vector<JsonValue> values,
                   DecodeCursor(cursor, fingerprint, keys.size(), argument));
  for (size_t i = 0; i < keys.size(); ++i) {
    const OrderKey& key = keys[i];
    where::Param param = CursorParam(key);
    if (values[i].is_null()) {
      if (key.unique) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid cursor at ", argument, ": its ", key.name,
            " value is null"));
      }
      param.is_null = true;
      params->Add(std::move(param));
      continue;
    }
    // Numbers of any kind come back as any JSON number (and an ID held in
    // an integer column as a number); the value type checks the rest.
    FieldKind check =
        IsNumberType(key.value_type) ? FieldKind::kFloat : key.kind;
    absl::StatusOr<where::Param> bound =
        where::BindValueAs(check, key.value_type, values[i], "cursor");
    if (!bound.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid cursor at ", argument, ": its ", key.name,
          " value is not of kind ", where::FieldKindName(key.kind)));
    }
    param.text = std::move(bound->text);
    params->Add(std::move(param));
  }
  return absl::OkStatus();
}

}  // namespace

Planner::Planner(const where::Schema& schema,
                 const where::OperatorRegistry& operators,
                 where::FilterLimits limits, PlannerOptions options)
    : schema_(schema),
      operators_(operators),
      limits_(limits),
      compile_selection_(std::move(options.compile_selection)),
      selection_limits_(options.selection),
      order_by_limits_(options.order_by),
      cursor_secret_(
          options.cursor_secret.empty()
              ? ProcessCursorSecret()
              : absl::StatusOr<std::string>(std::move(options.cursor_secret))),
      cache_(
          std::make_unique<base::LruCache<Template>>(options.cache_capacity)) {}

Planner::~Planner() = default;

CacheStats Planner::cache_stats() const { return cache_->Stats(); }

absl::StatusOr<std::shared_ptr<const Planner::Template>>
Planner::BuildTemplate(const v1::RootField& root, const where::ViewDef& view,
                       const std::string& condition,
                       size_t where_params) const {
  auto t = std::make_shared<Template>();
  const Operation op = root.operation();
  const bool paginated = HasPagination(root);
  std::string root_jsonb =
      view.jsonb_column.empty()
          ? std::string()
          : absl::StrCat(kRowAlias, ".", where::QuoteIdentifier(view.jsonb_column));
  std::string from =
      absl::StrCat(" FROM ", where::QuoteQualifiedName(view.name), " AS ",
                   kRowAlias);
  std::string where_clause =
      condition.empty() ? std::string() : absl::StrCat(" WHERE ", condition);
  Placeholders placeholders(where_params);

  if (!v1::RootField::Operation_IsValid(op)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown operation ", static_cast<int>(op)));
  }
  if (op != v1::RootField::FIND) {
    absl::string_view name = OperationName(op);
    auto reject = [&](bool present, absl::string_view what) {
      return present ? absl::InvalidArgumentError(absl::StrCat(
                           what, " does not apply to ", name))
                     : absl::OkStatus();
    };
    RETURN_IF_ERROR(reject(!root.order_by_json().empty(), "orderBy"));
    RETURN_IF_ERROR(reject(paginated,
                           "pagination (first/after/last/before/totalCount)"));
    RETURN_IF_ERROR(reject(root.has_selection(), "a selection"));
    bool distinct = op == v1::RootField::DISTINCT;
    RETURN_IF_ERROR(reject(!distinct && root.has_limit(), "limit"));
    RETURN_IF_ERROR(reject(!distinct && root.has_offset(), "offset"));
    if (op == v1::RootField::COUNT || op == v1::RootField::EXISTS) {
      RETURN_IF_ERROR(reject(!root.aggregate_field().empty(), "a field"));
      t->shape = ResultShape::kValue;
      t->sql = op == v1::RootField::COUNT
                   ? absl::StrCat("SELECT count(*)::text", from, where_clause)
                   : absl::StrCat("SELECT EXISTS(SELECT 1", from, where_clause,
                                  ")::text");
    } else {
      ASSIGN_OR_RETURN(ResolvedField field,
                       ResolveAggregateField(schema_, view, op,
                                             root.aggregate_field(),
                                             root_jsonb));
      t->decimal_numbers =
          op == v1::RootField::AVG || IsDecimalKind(field.kind);
      if (distinct) {
        t->shape = ResultShape::kValueList;
        t->sql = absl::StrCat("SELECT to_jsonb(d.v)::text FROM (SELECT "
                              "DISTINCT ", field.sql, " AS v", from,
                              where_clause, ") AS d ORDER BY d.v");
        if (root.has_limit()) {
          absl::StrAppend(&t->sql, " LIMIT ", placeholders.Next("bigint"));
        }
        if (root.has_offset()) {
          absl::StrAppend(&t->sql, " OFFSET ", placeholders.Next("bigint"));
        }
      } else {
        t->shape = ResultShape::kValue;
        t->sql = absl::StrCat("SELECT to_jsonb(", name, "(", field.sql,
                              "))::text", from, where_clause);
      }
    }
    t->param_count = placeholders.count();
    return std::shared_ptr<const Template>(std::move(t));
  }

  // FIND: the selection, then the statement.
  auto selection = std::make_shared<exec::SelectionSet>();
  selection->type_name = view.type.name();
  if (root.has_selection()) {
    RETURN_IF_ERROR(CheckSelectionLimits(root.selection(), selection_limits_));
    ASSIGN_OR_RETURN(selection->fields,
                     ResolveSelection(schema_, view.type, root.selection(),
                                      absl::StrCat("selection.",
                                                   root.response_key())));
  } else {
    selection->select_all = true;
    selection->fields = SelectAllOverrides(schema_, view.type);
  }
  if (compile_selection_) t->compiled = compile_selection_(*selection);
  t->selection = std::move(selection);
  ASSIGN_OR_RETURN(std::vector<OrderKey> keys,
                   CompileOrderBy(schema_, view, root.order_by_json(),
                                  root_jsonb, order_by_limits_));
  // No ::text: the text result format already sends jsonb's text, and a
  // cast in the select list is computed for every row before a sort or a
  // LIMIT (the server then sorts the converted text, and may leave an
  // index that gives the order unused).
  std::string row =
      view.jsonb_column.empty() ? absl::StrCat("row_to_json(", kRowAlias, ")")
                                : root_jsonb;

  if (!paginated) {
    t->shape = root.is_list() ? ResultShape::kList : ResultShape::kObject;
    t->sql = absl::StrCat("SELECT ", row, from, where_clause);
    if (!keys.empty()) {
      absl::StrAppend(&t->sql, " ORDER BY ", RenderOrderBy(keys, false));
    }
    if (root.has_limit() && root.is_list()) {
      absl::StrAppend(&t->sql, " LIMIT ", placeholders.Next("bigint"));
    }
    if (!root.is_list()) absl::StrAppend(&t->sql, " LIMIT 1");
    if (root.has_offset()) {
      absl::StrAppend(&t->sql, " OFFSET ", placeholders.Next("bigint"));
    }
    t->param_count = placeholders.count();
    return std::shared_ptr<const Template>(std::move(t));
  }

  // A connection page.
  if (!root.is_list()) {
    return absl::InvalidArgumentError(
        "invalid pagination: first/after/last/before/totalCount need a list "
        "root field, not a single object");
  }
  if (root.has_limit() || root.has_offset()) {
    return absl::InvalidArgumentError(
        "invalid pagination: limit/offset cannot be combined with "
        "first/after/last/before/totalCount");
  }
  if (root.has_first() && root.has_last()) {
    return absl::InvalidArgumentError(
        "invalid pagination: first and last cannot be combined; page forward "
        "with first/after or backward with last/before");
  }
  ASSIGN_OR_RETURN(OrderKey tiebreaker, Tiebreaker(view, root_jsonb));
  if (!keys.empty() && keys.back().sql == tiebreaker.sql) {
    keys.back().unique = true;
  } else {
    keys.push_back(std::move(tiebreaker));
  }
  if (root.has_after() || root.has_before()) {
    RETURN_IF_ERROR(CheckCursorOperators(operators_, view, keys,
                                         root.has_after(), root.has_before()));
  }
  if (!cursor_secret_.ok()) return cursor_secret_.status();
  t->shape = ResultShape::kConnection;
  t->backward = root.has_last();
  t->fingerprint = CursorFingerprint(*cursor_secret_, view.name,
                                     RenderOrderBy(keys, false));

  std::vector<std::string> conditions;
  if (!condition.empty()) conditions.push_back(condition);
  for (bool after : {true, false}) {
    if (after ? !root.has_after() : !root.has_before()) continue;
    std::vector<std::string> values;
    for (const OrderKey& key : keys) {
      values.push_back(placeholders.Next(CursorParam(key).sql_type));
    }
    conditions.push_back(KeysetCondition(keys, values, after));
  }
  t->sql = absl::StrCat(
      "SELECT ", row, ", jsonb_build_array(",
      absl::StrJoin(keys, ", ",
                    [](std::string* out, const OrderKey& k) {
                      out->append(k.sql);
                    }),
      ")::text", from);
  if (!conditions.empty()) {
    absl::StrAppend(&t->sql, " WHERE ", absl::StrJoin(conditions, " AND "));
  }
  absl::StrAppend(&t->sql, " ORDER BY ", RenderOrderBy(keys, t->backward));
  if (root.has_first() || root.has_last()) {
    absl::StrAppend(&t->sql, " LIMIT ", placeholders.Next("bigint"));
  }
  if (root.include_total_count()) {
    t->count_sql = absl::StrCat("SELECT count(*)::text", from, where_clause);
  }
  t->cursor_keys = std::move(keys);
  t->param_count = placeholders.count();
  return std::shared_ptr<const Template>(std::move(t));
}

absl::StatusOr<RootPlan> Planner::PlanRoot(const v1::RootField& root) const {
  const where::ViewDef* view = schema_.FindView(root.view());
  if (view == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "unknown view '", where::PrintableKey(root.view()), "'",
        schema_.SuggestViews(root.view())));
  }
  // An unknown operation must fail here, before it could share a cache key.
  if (!v1::RootField::Operation_IsValid(root.operation())) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown operation ", static_cast<int>(root.operation())));
  }
  // The values: compiled and checked on every call.
  where::ParamList params;
  ASSIGN_OR_RETURN(std::string condition,
                   where::CompileWhereJson(*view, schema_, operators_,
                                           root.where_json(), kRowAlias,
                                           &params, limits_));
  const size_t where_params = params.params().size();

  // The template: from the cache by shape, or built (and cached).
  std::shared_ptr<const Template> t;
  std::string key;
  if (cache_->capacity() > 0) {
    key = CacheKey(root, condition);
    t = cache_->Find(key);
  }
  if (t == nullptr) {
    ASSIGN_OR_RETURN(t, BuildTemplate(root, *view, condition, where_params));
    if (cache_->capacity() > 0) cache_->Insert(std::move(key), t);
  } else {
#ifndef NDEBUG
    absl::StatusOr<std::shared_ptr<const Template>> fresh =
        BuildTemplate(root, *view, condition, where_params);
    assert(fresh.ok() && (*fresh)->sql == t->sql &&
           (*fresh)->count_sql == t->count_sql &&
           "a cached template differs from a fresh one: the cache key misses "
           "an input");
#endif
  }

  // The values outside `where`, in the order the template numbered them.
  if (root.has_after()) {
    RETURN_IF_ERROR(BindCursor(root.after(), "after", t->cursor_keys,
                               t->fingerprint, &params));
  }
  if (root.has_before()) {
    RETURN_IF_ERROR(BindCursor(root.before(), "before", t->cursor_keys,
                               t->fingerprint, &params));
  }
  if (root.has_limit()) RETURN_IF_ERROR(NonNegative("limit", root.limit()));
  if (root.has_offset()) RETURN_IF_ERROR(NonNegative("offset", root.offset()));
  RootPlan plan;
  if (t->shape == ResultShape::kConnection) {
    if (root.has_first() || root.has_last()) {
      int64_t size = root.has_first() ? root.first() : root.last();
      RETURN_IF_ERROR(NonNegative(root.has_first() ? "first" : "last", size));
      plan.connection.page_size = size;
      // One row more tells whether another page follows.
      int64_t fetch =
          size < std::numeric_limits<int64_t>::max() ? size + 1 : size;
      params.Add({absl::StrCat(fetch), "bigint"});
    }
  } else {
    if (root.has_limit() && t->shape != ResultShape::kObject) {
      params.Add({absl::StrCat(root.limit()), "bigint"});
    }
    if (root.has_offset()) params.Add({absl::StrCat(root.offset()), "bigint"});
  }
  if (params.params().size() != t->param_count) {
    return absl::InternalError(absl::StrCat(
        "planner bug: ", params.params().size(), " parameters bound, the "
        "statement has ", t->param_count));
  }

  plan.response_key = root.response_key();
  plan.shape = t->shape;
  plan.plan.sql = t->sql;
  plan.plan.params = params.Take();
  plan.selection = t->selection;
  plan.compiled = t->compiled;
  plan.decimal_numbers = t->decimal_numbers;
  if (t->shape == ResultShape::kConnection) {
    plan.connection.backward = t->backward;
    plan.connection.cursor_fingerprint = t->fingerprint;
    if (!t->count_sql.empty()) {
      plan.connection.total_count = Plan{
          t->count_sql,
          std::vector<where::Param>(plan.plan.params.begin(),
                                    plan.plan.params.begin() + where_params)};
    }
  }
  return plan;
}

}  // namespace fraiseql::planner

namespace fraiseql::planner {

absl::StatusOr<std::vector<exec::FieldSelection>> ResolveSelectionForType(
    const where::Schema& schema, absl::string_view type_name,
    const google::protobuf::RepeatedPtrField<v1::Selection>& selection,
    const std::string& path) {
  const ObjectType* type = schema.FindObjectType(type_name);
  if (type == nullptr) {
    for (const std::string& view : schema.ViewNames()) {
      const where::ViewDef* def = schema.FindView(view);
      if (def->type.name() == type_name) type = &def->type;
    }
  }
  if (type == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "unknown type '", type_name, "' at ", path,
        "; register it with add_type or as a view's type"));
  }
  RETURN_IF_ERROR(CheckSelectionLimits(selection, SelectionLimits()));
  return ResolveSelection(schema, *type, selection, path);
}

}  // namespace fraiseql::planner
