// planner/: the second stage. Turns one root field of a query definition into
// a Plan (SQL text plus typed bound parameters) for the executor, and the
// resolved selection tree (exec/selection.h) for the response stage. Nothing
// reaches the database before the whole root field has been checked here.
#ifndef FRAISEQL_PLANNER_PLANNER_H_
#define FRAISEQL_PLANNER_PLANNER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/lru_cache.h"
#include "exec/plan.h"
#include "exec/selection.h"
#include "planner/selection_text.h"
#include "proto/query.pb.h"
#include "where/filter.h"
#include "where/operator.h"
#include "where/params.h"
#include "where/schema.h"

namespace fraiseql::planner {

// What the executor runs: one statement. Its first result column is the
// row as JSON text (or, for value operations, the value as JSON text); a
// connection page has a second column, the row's order-key values. The same
// input shape always yields the same `sql`, so statements can be prepared
// and cached by it.
// SQL text and bound parameters: the executor's plan type (exec/plan.h).
using Plan = exec::Plan;

// The plan cache's counters (Planner::cache_stats).
using CacheStats = base::CacheStats;

// What a root field returns, and so how its rows are written.
enum class ResultShape {
  kList,        // rows -> [{...},...]
  kObject,      // the first row -> {...}, or null without one
  kConnection,  // rows + cursors -> {"edges":[...],"pageInfo":{...}}
  kValue,       // one row holding one JSON value (count, exists, sum, ...)
  kValueList,   // rows of JSON values -> [v,...] (distinct)
};

// Keyset pagination of a kConnection root.
struct ConnectionPlan {
  // The page size (`first` or `last`); the statement fetches one row more
  // to learn whether there is another page. Unset: every row between the
  // cursors, and no further page.
  std::optional<int64_t> page_size;
  // Paginating with `last`: the statement reads in reverse order, so rows
  // arrive last first and must be written reversed; the extra row means
  // hasPreviousPage instead of hasNextPage.
  bool backward = false;
  // The ordering's fingerprint, the key EncodeCursor signs this page's
  // cursors with (planner/cursor.h): 32 bytes derived from the cursor
  // secret. Secret key material: never sent to clients or logged.
  std::string cursor_fingerprint;
  // When totalCount was asked: `SELECT count(*)::text FROM <view> AS t
  // WHERE <filter>`, the filter's parameters only (cursors ignored).
  std::optional<Plan> total_count;
};

// What the stage that writes a root's rows compiles its selection into (the
// repository: a response::Projector), by PlannerOptions::compile_selection.
// The planner keeps it with the cached template and never looks inside.
class CompiledSelection {
 public:
  virtual ~CompiledSelection() = default;
};

// Compiles a selection (PlannerOptions::compile_selection).
using SelectionCompiler =
    std::function<std::shared_ptr<const CompiledSelection>(
        const exec::SelectionSet&)>;

struct RootPlan {
  std::string response_key;
  ResultShape shape = ResultShape::kList;
  Plan plan;
  // kList, kObject, kConnection: how to project each row. Shared with the
  // planner's cache; immutable.
  std::shared_ptr<const exec::SelectionSet> selection;
  // kList, kObject, kConnection: `selection` compiled once by
  // PlannerOptions::compile_selection, when the template was built; a
  // cached plan hands out the same one. Immutable; null for the value
  // shapes and without a compiler.
  std::shared_ptr<const CompiledSelection> compiled;
  // kConnection only.
  ConnectionPlan connection;
  // kValue, kValueList: numbers in the value are to be read as decimals
  // even when integral (Float and Decimal fields, avg); otherwise integral
  // numbers are integers (Int and Port fields, count).
  bool decimal_numbers = false;
};

// Bounds on orderBy input. Over a limit: InvalidArgument naming it, e.g.
// "invalid orderBy: more than 16 keys (limit max_order_by_keys)". The
// nesting of one entry is bounded too (16 levels of object fields).
struct OrderByLimits {
  // Bytes of orderBy JSON text, checked before it is parsed.
  size_t max_order_by_bytes = 64 * 1024;
  // Keys (fields ordered by) in total, over every entry and nested object;
  // checked as entries are read. The keys, the `id` tiebreaker and the
  // cursor values are the arguments of one jsonb_build_array call, which
  // PostgreSQL caps at 100. Each key may appear once: the same field twice
  // (by GraphQL name or JSONB key) is rejected, "orderBy key age given
  // twice".
  int max_order_by_keys = 16;
};

struct PlannerOptions {
  // Plans kept by input shape (see Planner); 0 turns the cache off.
  size_t cache_capacity = 1024;
  // Compiles the selection of a FIND root when its template is built, so
  // that a cached plan carries it compiled once per shape
  // (RootPlan::compiled). Called concurrently when templates are built
  // concurrently: must be thread-safe. Unset: RootPlan::compiled is null.
  SelectionCompiler compile_selection;
  // Bounds on a root's selection, given as text (planner/selection_text.h)
  // or as a tree: fields, aliases and depth (the byte limit applies to
  // text, which ParseSelectionText reads with its own limits).
  SelectionLimits selection;
  OrderByLimits order_by;
  // The key cursors are signed with (planner/cursor.h): any bytes, at
  // least 32 random ones recommended. Empty: a random secret made once per
  // process (ProcessCursorSecret). Every process of a deployment must be
  // given the same secret, or a cursor issued by one is rejected by the
  // others ("invalid cursor at after: the cursor belongs to another view or
  // orderBy, or was altered"), and cursors outlive a restart only with a
  // configured secret.
  std::string cursor_secret;
};

// Plans root fields against a schema and an operator registry, both of which
// must outlive it and stay unchanged. Thread-safe: PlanRoot may be called
// concurrently; the cache is its only mutable state, behind a mutex.
//
// The shape cache. Planning a root field has two parts. The values (every
// `where` value, cursors, limit, offset, first, last) are checked and bound
// on every call: the `where` input is always parsed and compiled, into its
// SQL condition and parameters. Everything else is the template, a function
// of the cache key alone and kept in an LRU cache:
//
//   key = view, operation, aggregate field, is_list, which of limit /
//         offset / first / after / last / before / totalCount are present,
//         the orderBy text, the selection tree, and the compiled `where`
//         SQL text (which holds no values, only $n placeholders).
//   template = the statement text(s) (orderBy compiled, keyset condition,
//         LIMIT/OFFSET placeholders, totalCount statement), the resolved
//         selection tree and its compiled form, the kinds and
//         fingerprint that cursor values are checked against, the result
//         shape.
//
// Keying on the compiled `where` SQL rather than on a value-erased copy of
// the input is what keeps the cache correct: values that change the SQL
// structure (`isnull: true` vs `false`, `in: []`, boolean network flags, a
// Python operator plugin's choices) change the key, and a hit can never
// return SQL of another structure. It costs nothing extra, since the values
// must be compiled and checked anyway. A hit skips orderBy parsing and
// resolution, selection resolution, aggregate field resolution and every
// string assembly of the statement. Only successful plans are cached; an
// input that fails planning fails again each time.
class Planner {
 public:
  Planner(const where::Schema& schema, const where::OperatorRegistry& operators,
          where::FilterLimits limits = {}, PlannerOptions options = {});
  ~Planner();
  Planner(const Planner&) = delete;
  Planner& operator=(const Planner&) = delete;

  // Plans `root`. Operation FIND: the view's rows filtered by `where_json`,
  // ordered by `order_by_json` (a list of {field: ASC|DESC|ASC_NULLS_FIRST|
  // ...}, nested paths as nested objects, typed by field kind), then
  //
  //   - `offset`/`limit` (bound parameters); a single-object root reads at
  //     most one row:
  //       SELECT t."data"::text FROM <view> AS t [WHERE <filter>]
  //       [ORDER BY <keys>] [LIMIT $n] [OFFSET $m]
  //   - or keyset pagination (any of first/after/last/before/totalCount):
  //     the order keys plus the view's `id` as a unique tiebreaker
  //     (appended unless already the last key), the cursors as an OR-chain
  //     over the keys that handles mixed ASC/DESC and NULLS FIRST/LAST
  //     (a null key value is a position like any other: after it come the
  //     non-null values under NULLS FIRST, nothing under NULLS LAST), and
  //     first+1 rows (or last+1 rows in reverse order):
  //       SELECT t."data"::text, jsonb_build_array(<keys>, t."id")::text
  //       FROM <view> AS t WHERE [<filter> AND] (<after>) [AND (<before>)]
  //       ORDER BY <keys>, t."id" ASC LIMIT $n
  //
  // COUNT: SELECT count(*)::text FROM <view> AS t [WHERE <filter>]
  // EXISTS: SELECT EXISTS(SELECT 1 FROM <view> AS t [WHERE ...])::text
  // SUM/AVG (Int, Float, Decimal, Port fields) and MIN/MAX (also Date,
  // DateTime, String, Email, Hostname, ID):
  //   SELECT to_jsonb(sum(<typed field>))::text FROM <view> AS t [WHERE ...]
  //   numbers as numeric (exact), dates as ISO strings, null over no rows.
  // DISTINCT (any field but objects, FullText and Vector): every distinct
  //   value, null included (last), ascending by the field's type, then
  //   `offset`/`limit`:
  //   SELECT to_jsonb(d.v)::text FROM (SELECT DISTINCT <typed field> AS v
  //   FROM <view> AS t [WHERE ...]) AS d ORDER BY d.v [LIMIT $n] [OFFSET $m]
  //
  // Cursors and the operator allow-list: the keyset condition of a cursor
  // compares the order keys with `>` and `<`, which are the `gt` and `lt`
  // operators of the filter language. On a view with an operator
  // allow-list (ViewDef::allowed_operators), `after`/`before` are accepted
  // only when the list grants every one of them that the condition uses
  // (which depends on the directions); otherwise InvalidArgument naming the
  // missing operators. A first page (first/last without a cursor) needs no
  // comparison and is always allowed.
  //
  // Returns NotFound for an unknown view (with at most three close names,
  // never the list of views) and InvalidArgument, naming the input path,
  // for anything else that is wrong in the input: among them a malformed,
  // altered or foreign cursor ("invalid cursor at after: ..."), first with
  // last, pagination with limit/offset or on a single object, a view
  // without an `id` to paginate on, an aggregate field of a kind that
  // cannot be aggregated, orderBy or pagination on a value operation, a
  // selection or orderBy over its limits (SelectionLimits, OrderByLimits).
  // Unknown fields are named with at most three close names ("did you mean
  // firstName?"), never the type's whole list.
  absl::StatusOr<RootPlan> PlanRoot(const v1::RootField& root) const;

  CacheStats cache_stats() const;

 private:
  struct Template;

  absl::StatusOr<std::shared_ptr<const Template>> BuildTemplate(
      const v1::RootField& root, const where::ViewDef& view,
      const std::string& condition, size_t where_params) const;

  const where::Schema& schema_;
  const where::OperatorRegistry& operators_;
  where::FilterLimits limits_;
  SelectionCompiler compile_selection_;
  SelectionLimits selection_limits_;
  OrderByLimits order_by_limits_;
  // PlannerOptions::cursor_secret, or the process's secret (or why there
  // is none: then only cursor pagination fails).
  absl::StatusOr<std::string> cursor_secret_;
  std::unique_ptr<base::LruCache<Template>> cache_;
};

}  // namespace fraiseql::planner

#endif  // FRAISEQL_PLANNER_PLANNER_H_
