// Prints the operator reference of the built-in registry (and every linked
// plugin) as Markdown. From the workspace root:
//
//   bazel run //where:operator_docs > docs/operators.md
#include <cstdio>
#include <string>

#include "where/operator.h"
#include "where/operator_docs.h"

int main() {
  std::string markdown = fraiseql::where::OperatorReferenceMarkdown(
      *fraiseql::where::MakeBuiltinOperatorRegistry());
  if (std::fwrite(markdown.data(), 1, markdown.size(), stdout) !=
          markdown.size() ||
      std::fflush(stdout) != 0) {
    std::perror("operator_docs: writing the reference");
    return 1;
  }
  return 0;
}
