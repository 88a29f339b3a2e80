// tests/: the golden runner of the filter compiler. A golden file of
// `where` cases (where/testdata/*.golden, plugins/where/<family>/*.golden)
// is a list of blocks (tests/golden_file.h) with the keys:
//
//   view:   the view the case compiles against (default app.v_user)
//   where:  the `where` input, JSON
//   sql:    the SQL it must compile to (`<none>` for no condition), or
//   error:  the exact message of the input error it must give
//   params: the bound parameters, [["text","sql_type"], ...]
//   rows:   what it must return on the sample data (tests/fixtures), run on
//           PostgreSQL by tests/python/test_where_cases.py; ignored here
//
// Every case compiles against GoldenSchema() with every operator plugin
// linked into the test binary.
#ifndef FRAISEQL_TESTS_FILTER_GOLDEN_H_
#define FRAISEQL_TESTS_FILTER_GOLDEN_H_

#include <string>
#include <vector>

#include "where/schema.h"

namespace fraiseql::testing {

// The schema every golden file compiles against: app.v_user with one field
// of every kind (and the sample's field names), app.v_typed with real
// columns of many declared types, app.v_limited with an operator allow-list.
where::Schema GoldenSchema();

struct FilterCase {
  std::string file;
  int line = 0;
  std::string name;
  std::string view = "app.v_user";
  std::string where;
  std::string sql;
  std::string params;
  std::string error;
  std::string rows;
  // What makes the case unusable (an unknown key, no where:), or empty.
  std::string problem;
};

// Reads the cases of a golden file (a path from the workspace root). A case
// with an unknown key or without where: carries a `problem`.
std::vector<FilterCase> LoadFilterCases(const std::string& path);

// What a case gives today, in the golden file's spelling: either `sql` and
// `params`, or `error` (an input error's message). `problem` is set instead
// when the case cannot be compiled as a golden case (no such view, an error
// that is not an input error): never written into a file.
struct FilterOutcome {
  std::string sql;
  std::string params;
  std::string error;
  std::string problem;
};
FilterOutcome CompileFilterCase(const where::Schema& schema,
                                const FilterCase& c);

// Compiles the case and checks it against its sql/params or error, one gtest
// failure per mismatch, naming file:line and the case.
void CheckFilterCase(const where::Schema& schema, const FilterCase& c);

}  // namespace fraiseql::testing

#endif  // FRAISEQL_TESTS_FILTER_GOLDEN_H_
