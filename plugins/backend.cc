#include "plugins/backend.h"

namespace fraiseql::plugins {

std::string BeginSql(const TransactionOptions& options) {
  std::string sql = "BEGIN ISOLATION LEVEL ";
  switch (options.isolation) {
    case TransactionOptions::Isolation::kReadCommitted:
      sql += "READ COMMITTED";
      break;
    case TransactionOptions::Isolation::kRepeatableRead:
      sql += "REPEATABLE READ";
      break;
    case TransactionOptions::Isolation::kSerializable:
      sql += "SERIALIZABLE";
      break;
  }
  if (options.read_only) sql += " READ ONLY";
  return sql;
}

}  // namespace fraiseql::plugins
