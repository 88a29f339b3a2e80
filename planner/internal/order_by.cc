#include "planner/internal/order_by.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "planner/internal/fields.h"
#include "where/kind_value.h"
#include "where/sql_identifier.h"

namespace fraiseql::planner::internal {

using where::FieldDef;
using where::FieldKind;
using where::JsonValue;
using where::ObjectType;

namespace {

std::string RenderOrderKey(const OrderKey& key, bool reversed) {
  bool descending = key.direction.descending != reversed;
  bool nulls_first = key.direction.nulls_first != reversed;
  std::string out = absl::StrCat(key.sql, descending ? " DESC" : " ASC");
  if (key.direction.explicit_nulls) {
    out.append(nulls_first ? " NULLS FIRST" : " NULLS LAST");
  }
  return out;
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
  std::string shown =
      value.is_string() ? absl::StrCat("'", absl::CHexEscape(value.text()), "'")
                        : std::string(value.TypeDescription());
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid order direction at ", path,
      ": expected ASC, DESC, "
      "ASC_NULLS_FIRST, ASC_NULLS_LAST, DESC_NULLS_FIRST or DESC_NULLS_LAST, "
      "got ",
      shown));
}

absl::Status TooManyOrderKeys(const OrderByLimits& limits) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid orderBy: more than ", limits.max_order_by_keys,
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
    std::string field_path = absl::StrCat(path, ".", where::PrintableKey(name));
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
      return absl::InvalidArgumentError(
          absl::StrCat("invalid orderBy at ", field_path, ": orderBy key ",
                       key_name, " given twice"));
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

}  // namespace

std::string RenderOrderBy(const std::vector<OrderKey>& keys, bool reversed) {
  return absl::StrJoin(keys, ", ",
                       [reversed](std::string* out, const OrderKey& key) {
                         out->append(RenderOrderKey(key, reversed));
                       });
}

absl::StatusOr<std::vector<OrderKey>> CompileOrderBy(
    const where::Schema& schema, const where::ViewDef& view,
    absl::string_view order_by_json, const std::string& root_jsonb,
    const OrderByLimits& limits) {
  OrderKeys keys{limits, {}, {}};
  if (order_by_json.empty()) return std::move(keys.keys);
  if (order_by_json.size() > limits.max_order_by_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid orderBy: more than ", limits.max_order_by_bytes,
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
    where::TypedField typed =
        TypeField(view, *id, root_jsonb, /*at_root=*/true);
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

}  // namespace fraiseql::planner::internal
