// tests/: main() of a filter golden test. Each argument is a golden file
// (tests/filter_golden.h), and each of its cases is one test,
// <file>.<line>_<name>.
//
// To write what the compiler gives today into the source file (new cases,
// or after a deliberate change), run the test with Bazel and GOLDEN_UPDATE:
//
//   GOLDEN_UPDATE=1 bazel run //plugins/where/ltree:ltree_golden_test
//
// Each case's sql:/params: or error: lines are replaced (written after its
// where: line); comments, rows: and everything else stay as they are.
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/filter_golden.h"

namespace fraiseql::testing {
namespace {

class FilterCaseTest : public ::testing::Test {
 public:
  FilterCaseTest(const where::Schema* schema, FilterCase c)
      : schema_(schema), case_(std::move(c)) {}

  void TestBody() override { CheckFilterCase(*schema_, case_); }

 private:
  const where::Schema* schema_;
  FilterCase case_;
};

std::string TestName(const FilterCase& c) {
  std::string name = absl::StrCat("line", c.line, "_");
  for (char ch : c.name) {
    name.push_back(absl::ascii_isalnum(static_cast<unsigned char>(ch)) ? ch
                                                                       : '_');
  }
  return name.substr(0, 120);
}

// Rewrites `path` under the workspace with today's outcome of each case;
// writes nothing (and returns false) when a case has a problem.
bool UpdateFile(const where::Schema& schema, const std::string& workspace,
                const std::string& path) {
  std::map<int, FilterOutcome> outcomes;  // by the line of the case's `==`
  for (const FilterCase& c : LoadFilterCases(path)) {
    FilterOutcome outcome = CompileFilterCase(schema, c);
    std::string problem = c.problem.empty() ? outcome.problem : c.problem;
    if (!problem.empty()) {
      fprintf(stderr, "%s:%d: %s: %s; nothing written\n", path.c_str(), c.line,
              c.name.c_str(), problem.c_str());
      return false;
    }
    outcomes[c.line] = std::move(outcome);
  }
  std::string full = absl::StrCat(workspace, "/", path);
  std::ifstream in(full);
  if (!in) {
    fprintf(stderr, "cannot read %s\n", full.c_str());
    return false;
  }
  std::vector<std::string> out;
  const FilterOutcome* current = nullptr;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (absl::StartsWith(line, "==")) {
      auto it = outcomes.find(number);
      current = it == outcomes.end() ? nullptr : &it->second;
    }
    if (current != nullptr &&
        (absl::StartsWith(line, "sql:") || absl::StartsWith(line, "params:") ||
         absl::StartsWith(line, "error:"))) {
      continue;
    }
    out.push_back(line);
    if (current != nullptr && absl::StartsWith(line, "where:")) {
      if (!current->error.empty()) {
        out.push_back(absl::StrCat("error: ", current->error));
      } else {
        out.push_back(absl::StrCat("sql: ", current->sql));
        if (current->params != "[]") {
          out.push_back(absl::StrCat("params: ", current->params));
        }
      }
    }
  }
  std::ofstream(full) << absl::StrJoin(out, "\n") << "\n";
  printf("updated %s (%zu cases)\n", path.c_str(), outcomes.size());
  return true;
}

}  // namespace
}  // namespace fraiseql::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  using fraiseql::testing::FilterCase;
  static const fraiseql::where::Schema* schema =
      new fraiseql::where::Schema(fraiseql::testing::GoldenSchema());
  const char* update = std::getenv("GOLDEN_UPDATE");
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  if (update != nullptr && *update != '\0') {
    if (workspace == nullptr) {
      fprintf(stderr,
              "GOLDEN_UPDATE needs `bazel run` (to find the sources)\n");
      return 2;
    }
    bool ok = true;
    for (int i = 1; i < argc; ++i) {
      ok &= fraiseql::testing::UpdateFile(*schema, workspace, argv[i]);
    }
    return ok ? 0 : 1;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: %s GOLDEN_FILE...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    std::vector<FilterCase> cases = fraiseql::testing::LoadFilterCases(argv[i]);
    if (cases.empty()) {
      fprintf(stderr, "%s has no cases\n", argv[i]);
      return 1;
    }
    std::string suite = argv[i];
    suite = suite.substr(suite.rfind('/') + 1);
    suite = suite.substr(0, suite.find('.'));
    for (FilterCase& c : cases) {
      std::string name = fraiseql::testing::TestName(c);
      ::testing::RegisterTest(
          suite.c_str(), name.c_str(), nullptr, nullptr, c.file.c_str(), c.line,
          [c = std::move(c)]() -> ::testing::Test* {
            return new fraiseql::testing::FilterCaseTest(schema, c);
          });
    }
  }
  return RUN_ALL_TESTS();
}
