#include "repository/raw_sql.h"

#include <climits>
#include <cstddef>

namespace fraiseql {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// PostgreSQL's identifier characters (any byte >= 0x80 too: UTF-8 letters).
bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c) || c == '$'; }

// The index just past a quoted span that opens at `i` with `quote`;
// `backslash`: E'' strings, where \ escapes the next byte.
size_t SkipQuoted(absl::string_view sql, size_t i, char quote, bool backslash) {
  for (++i; i < sql.size(); ++i) {
    if (backslash && sql[i] == '\\') {
      ++i;
    } else if (sql[i] == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        ++i;  // '' or "" inside
      } else {
        return i + 1;
      }
    }
  }
  return sql.size();
}

// Past a /* comment */ opening at `i`; they nest.
size_t SkipBlockComment(absl::string_view sql, size_t i) {
  int depth = 0;
  while (i < sql.size()) {
    if (sql.compare(i, 2, "/*") == 0) {
      ++depth;
      i += 2;
    } else if (sql.compare(i, 2, "*/") == 0) {
      i += 2;
      if (--depth == 0) return i;
    } else {
      ++i;
    }
  }
  return sql.size();
}

// The length of a dollar-quote tag ($$ or $tag$) opening at `i`, 0 if none.
size_t DollarTag(absl::string_view sql, size_t i) {
  size_t j = i + 1;
  if (j < sql.size() && IsIdentStart(sql[j])) {
    while (j < sql.size() && IsIdentChar(sql[j]) && sql[j] != '$') ++j;
  }
  return j < sql.size() && sql[j] == '$' ? j - i + 1 : 0;
}

}  // namespace

RawSqlFacts ScanRawSql(absl::string_view sql) {
  RawSqlFacts facts;
  size_t body_begin = 0;  // the first statement's first token
  size_t body_end = 0;    // past its last token
  bool after_semicolon = false;
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    if (sql.compare(i, 2, "--") == 0) {
      while (i < sql.size() && sql[i] != '\n') ++i;
      continue;
    }
    if (sql.compare(i, 2, "/*") == 0) {
      i = SkipBlockComment(sql, i);
      continue;
    }
    if (c == ';') {
      if (!facts.empty) after_semicolon = true;
      ++i;
      continue;
    }
    // A token: part of the statement.
    if (after_semicolon) {
      facts.several = true;
      break;
    }
    if (facts.empty) body_begin = i;
    facts.empty = false;
    const bool after_ident = i > 0 && IsIdentChar(sql[i - 1]);
    if (c == '\'') {
      const bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                           !(i > 1 && IsIdentChar(sql[i - 2]));
      i = SkipQuoted(sql, i, '\'', escapes);
    } else if (c == '"') {
      i = SkipQuoted(sql, i, '"', false);
    } else if (c == '$' && !after_ident && i + 1 < sql.size() &&
               IsDigit(sql[i + 1])) {
      size_t j = i + 1;
      int n = 0;
      while (j < sql.size() && IsDigit(sql[j])) {
        n = n > (INT_MAX - 9) / 10 ? INT_MAX : n * 10 + (sql[j] - '0');
        ++j;
      }
      if (n > facts.max_placeholder) facts.max_placeholder = n;
      i = j;
    } else if (size_t tag = c == '$' && !after_ident ? DollarTag(sql, i) : 0;
               tag > 0) {
      const size_t close = sql.find(sql.substr(i, tag), i + tag);
      i = close == absl::string_view::npos ? sql.size() : close + tag;
    } else if (IsIdentChar(c)) {
      while (i < sql.size() && IsIdentChar(sql[i])) ++i;
    } else {
      ++i;
    }
    body_end = i;
  }
  facts.body = sql.substr(body_begin, body_end - body_begin);
  return facts;
}

}  // namespace fraiseql
