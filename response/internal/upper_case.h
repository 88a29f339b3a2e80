// Part of the response stage: the Unicode upper-case mapping behind
// CamelCase (response/camel_case.h). A fixed table, so the result never
// depends on the process locale.
#ifndef FRAISEQL_RESPONSE_INTERNAL_UPPER_CASE_H_
#define FRAISEQL_RESPONSE_INTERNAL_UPPER_CASE_H_

namespace fraiseql::response::internal {

// Returns the simple (one code point) upper-case mapping of `code_point`, or
// `code_point` itself when it has none. Covers ASCII, Latin-1 Supplement,
// Latin Extended-A and -B, IPA Extensions, Greek and Coptic, Cyrillic,
// Cyrillic Supplement, Armenian and Latin Extended Additional; everything
// else maps to itself. Letters whose upper case is several code points
// (U+00DF ß -> "SS") map to themselves, as towupper does.
char32_t SimpleUpperCase(char32_t code_point);

}  // namespace fraiseql::response::internal

#endif  // FRAISEQL_RESPONSE_INTERNAL_UPPER_CASE_H_
