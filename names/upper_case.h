// Part of the response stage: the Unicode upper-case mapping behind
// CamelCase (names/camel_case.h). A fixed table, so the result never
// depends on the process locale.
#ifndef FRAISEQL_NAMES_UPPER_CASE_H_
#define FRAISEQL_NAMES_UPPER_CASE_H_

namespace fraiseql::names::internal {

// Returns the simple (one code point) upper-case mapping of `code_point`
// (Unicode 14.0, every script: Latin, Greek, Cyrillic, Armenian, Georgian,
// Cherokee, Glagolitic, fullwidth forms, Deseret, Adlam...), or `code_point`
// itself when it has none, as towupper does: U+00DF ß, whose upper case is
// "SS", maps to itself; U+1F80 ᾀ maps to U+1F88 ᾈ, its simple mapping.
char32_t SimpleUpperCase(char32_t code_point);

}  // namespace fraiseql::names::internal

#endif  // FRAISEQL_NAMES_UPPER_CASE_H_
