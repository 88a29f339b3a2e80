// Planner::BuildTemplate: the statement text(s) and everything else of a
// plan that depends only on its cache key (see Planner in planner.h).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "planner/cursor.h"
#include "planner/internal/aggregate.h"
#include "planner/internal/fields.h"
#include "planner/internal/keyset.h"
#include "planner/internal/order_by.h"
#include "planner/internal/plan_template.h"
#include "planner/internal/selection.h"
#include "planner/planner.h"
#include "where/sql_identifier.h"

namespace fraiseql::planner {
namespace {

using internal::CheckCursorOperators;
using internal::CheckSelectionLimits;
using internal::CompileOrderBy;
using internal::CursorParam;
using internal::IsDecimalKind;
using internal::KeysetCondition;
using internal::kRowAlias;
using internal::OperationName;
using internal::OrderKey;
using internal::RenderOrderBy;
using internal::ResolveAggregateField;
using internal::ResolvedField;
using internal::ResolveSelection;
using internal::SelectAllOverrides;
using internal::Tiebreaker;
using Operation = v1::RootField::Operation;

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

bool HasPagination(const v1::RootField& root) {
  return root.has_first() || root.has_after() || root.has_last() ||
         root.has_before() || root.include_total_count();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Planner::Template>> Planner::BuildTemplate(
    const v1::RootField& root, const where::ViewDef& view,
    const std::string& condition, size_t where_params) const {
  auto t = std::make_shared<Template>();
  const Operation op = root.operation();
  const bool paginated = HasPagination(root);
  std::string root_jsonb =
      view.jsonb_column.empty()
          ? std::string()
          : absl::StrCat(kRowAlias, ".",
                         where::QuoteIdentifier(view.jsonb_column));
  std::string from = absl::StrCat(
      " FROM ", where::QuoteQualifiedName(view.name), " AS ", kRowAlias);
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
      return present ? absl::InvalidArgumentError(
                           absl::StrCat(what, " does not apply to ", name))
                     : absl::OkStatus();
    };
    RETURN_IF_ERROR(reject(!root.order_by_json().empty(), "orderBy"));
    RETURN_IF_ERROR(
        reject(paginated, "pagination (first/after/last/before/totalCount)"));
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
      ASSIGN_OR_RETURN(
          ResolvedField field,
          ResolveAggregateField(schema_, view, op, root.aggregate_field(),
                                root_jsonb));
      t->decimal_numbers =
          op == v1::RootField::AVG || IsDecimalKind(field.kind);
      if (distinct) {
        t->shape = ResultShape::kValueList;
        t->sql = absl::StrCat(
            "SELECT to_jsonb(d.v)::text FROM (SELECT "
            "DISTINCT ",
            field.sql, " AS v", from, where_clause, ") AS d ORDER BY d.v");
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
    ASSIGN_OR_RETURN(
        selection->fields,
        ResolveSelection(schema_, view.type, root.selection(),
                         absl::StrCat("selection.", root.response_key())));
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
  std::string row = view.jsonb_column.empty()
                        ? absl::StrCat("row_to_json(", kRowAlias, ")")
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
  t->fingerprint =
      CursorFingerprint(*cursor_secret_, view.name, RenderOrderBy(keys, false));

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
  t->sql = absl::StrCat("SELECT ", row, ", jsonb_build_array(",
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

}  // namespace fraiseql::planner
