// exec/: the bottom of the pipeline's shared types. What the planner hands
// to an executor: SQL text and its typed, bound parameters. Every backend
// plugin (plugins/backend.h) takes these and nothing from planner/, libpq
// or Protobuf.
#ifndef FRAISEQL_EXEC_PLAN_H_
#define FRAISEQL_EXEC_PLAN_H_

#include <string>
#include <vector>

namespace fraiseql::exec {

class RowSink;

// One bound parameter ($n in the SQL text). Values are always bound, never
// spliced into the SQL.
struct Param {
  std::string text;      // the value in PostgreSQL's text input format
  std::string sql_type;  // what the placeholder is cast to: numeric, uuid, ...
  bool is_null = false;

  bool operator==(const Param& o) const {
    return text == o.text && sql_type == o.sql_type && is_null == o.is_null;
  }
};

// One statement: SQL text with placeholders $1..$n, already followed by
// their casts ($3::numeric), and the n parameters in order.
struct Plan {
  std::string sql;
  std::vector<Param> params;
};

// One statement of a batch (plugins::Backend::ExecuteBatch), and where its
// rows go.
struct Statement {
  const Plan* plan = nullptr;
  // Receives the statement's rows; null: rows are discarded.
  RowSink* sink = nullptr;
  // A hint for backends that prepare statements by shape: off for
  // statements not worth preparing (transaction control: SAVEPOINT,
  // COMMIT, ...).
  bool prepare = true;
};

}  // namespace fraiseql::exec

#endif  // FRAISEQL_EXEC_PLAN_H_
