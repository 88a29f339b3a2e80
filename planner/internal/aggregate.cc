#include "planner/internal/aggregate.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "planner/internal/fields.h"
#include "where/sql_identifier.h"

namespace fraiseql::planner::internal {

using where::FieldDef;
using where::FieldKind;
using where::ObjectType;
using Operation = v1::RootField::Operation;

namespace {

bool IsNumberKind(FieldKind kind) {
  return kind == FieldKind::kInt || kind == FieldKind::kFloat ||
         kind == FieldKind::kDecimal || kind == FieldKind::kPort;
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

}  // namespace

absl::string_view OperationName(Operation op) {
  switch (op) {
    case v1::RootField::COUNT:
      return "count";
    case v1::RootField::EXISTS:
      return "exists";
    case v1::RootField::SUM:
      return "sum";
    case v1::RootField::AVG:
      return "avg";
    case v1::RootField::MIN:
      return "min";
    case v1::RootField::MAX:
      return "max";
    case v1::RootField::DISTINCT:
      return "distinct";
    default:
      return "find";
  }
}

bool IsDecimalKind(FieldKind kind) {
  return kind == FieldKind::kFloat || kind == FieldKind::kDecimal;
}

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
      jsonb_sql =
          absl::StrCat(jsonb_sql, "->", where::QuoteLiteral(field->key));
      at_root = false;
      continue;
    }
    if (!last) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid field at ", path, ": ", field->name, " is a ",
          where::FieldKindName(field->kind), " field and has no subfields"));
    }
    if (field->kind == FieldKind::kObject) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid field at ", path, ": ", field->name,
                       " is an object of type ", field->object_type,
                       "; name one of its fields (", dotted, ".<field>)"));
    }
    if (!CanAggregate(op, field->kind)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid field at ", path, ": cannot take the ", OperationName(op),
          " of ", where::FieldKindName(field->kind), " field ", field->name,
          "; ", OperationName(op), " takes ", AggregateKinds(op)));
    }
    // The kind's SQL type, whatever the column's: sums and averages are
    // exact numerics, instants are timestamptz.
    return ResolvedField{TypeField(view, *field, jsonb_sql, at_root).kind_sql,
                         field->kind};
  }
  return absl::InternalError("unreachable");
}

}  // namespace fraiseql::planner::internal
