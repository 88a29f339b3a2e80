// where/: the operator reference, generated from an operator registry (the
// registry lists every operator with its description and an example, see
// spec/where.md section 5). docs/operators.md is this text for the built-in
// registry: `bazel run //where:operator_docs > docs/operators.md` regenerates
// it, and //where:operator_docs_test fails when it is out of date.
#ifndef FRAISEQL_WHERE_OPERATOR_DOCS_H_
#define FRAISEQL_WHERE_OPERATOR_DOCS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "where/operator.h"

namespace fraiseql::where {

// The command that regenerates docs/operators.md, for messages.
inline constexpr absl::string_view kRegenerateOperatorDocsCommand =
    "bazel run //where:operator_docs > docs/operators.md";

// The family of an operator key: its second component when it has three or
// more (`where.string.starts_with` -> "string"), else its first
// (`acme.within` -> "acme").
std::string OperatorFamily(absl::string_view key);

// Renders the registry as a Markdown document: a short introduction, then
// one section per family (families in the order their first operator was
// registered) with a table row per operator in registration order: name,
// key, aliases, kinds, value shape, GraphQL input type (OperatorInfo::
// graphql_type, "JSON" when empty), description and example. `|` in a cell
// is escaped and line breaks become spaces, so any text keeps the table
// intact. Deterministic: the same registry always gives the same bytes.
std::string OperatorReferenceMarkdown(const OperatorRegistry& registry);

}  // namespace fraiseql::where

#endif  // FRAISEQL_WHERE_OPERATOR_DOCS_H_
