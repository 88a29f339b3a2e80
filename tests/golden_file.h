// tests/: the reader shared by the golden, data-driven tests (where/testdata,
// planner/testdata). A file is a list of blocks:
//
//   # a comment
//   == the case's name
//   key: value            (one line each; `key:` alone is an empty value)
//
// and parameters are spelled [["text","sql_type"], ...] ([null, ...] for
// NULL), so a file reads as data.
#ifndef FRAISEQL_TESTS_GOLDEN_FILE_H_
#define FRAISEQL_TESTS_GOLDEN_FILE_H_

#include <string>
#include <utility>
#include <vector>

#include "where/params.h"

namespace fraiseql::testing {

struct GoldenBlock {
  std::string file;
  int line = 0;  // of the `==` line
  std::string name;
  std::vector<std::pair<std::string, std::string>> fields;  // in file order
};

// Reads `path` (relative to the workspace root, as Bazel runs tests). Fails
// the calling test for an unreadable file, text before the first block, or
// a line that is not `key: value`.
std::vector<GoldenBlock> ReadGoldenFile(const std::string& path);

// Parameters as the golden files spell them.
std::string FormatGoldenParams(const std::vector<where::Param>& params);

}  // namespace fraiseql::testing

#endif  // FRAISEQL_TESTS_GOLDEN_FILE_H_
