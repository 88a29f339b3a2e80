// repository/: what Repository::RunSql checks in a caller's raw SQL text
// before sending it: that it holds one statement, which $n placeholders it
// uses, and where the statement ends (so that it can be wrapped in a WITH
// query). A lexer of PostgreSQL's quoting rules, not a parser: the server
// still judges the statement.
#ifndef FRAISEQL_REPOSITORY_RAW_SQL_H_
#define FRAISEQL_REPOSITORY_RAW_SQL_H_

#include "absl/strings/string_view.h"

namespace fraiseql {

struct RawSqlFacts {
  // Nothing but whitespace, comments and semicolons.
  bool empty = true;
  // A ';' is followed by more than whitespace, comments and semicolons.
  bool several = false;
  // The highest $n outside quotes and comments; 0 when none.
  int max_placeholder = 0;
  // The first statement, from its first token to the end of its last:
  // without the semicolons, whitespace and comments around it. Points into
  // the scanned text.
  absl::string_view body;
};

// Scans `sql` as PostgreSQL reads it: '...' strings ('' inside), E'...'
// strings (backslash escapes), "..." identifiers, $tag$...$tag$ strings,
// -- comments to the end of the line and nested /* */ comments; a '$'
// right after an identifier character is part of the identifier (a$1).
// Unterminated quotes or comments run to the end (the server then reports
// the error). Assumes standard_conforming_strings on (the default since
// PostgreSQL 9.1).
RawSqlFacts ScanRawSql(absl::string_view sql);

}  // namespace fraiseql

#endif  // FRAISEQL_REPOSITORY_RAW_SQL_H_
