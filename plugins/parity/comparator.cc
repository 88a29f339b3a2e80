#include "plugins/parity/comparator.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace fraiseql::parity {

// A parsed ignore pattern: one segment per path segment (patterns have no
// "any depth" wildcard, so a pattern alive at depth d has matched exactly d
// segments).
struct Comparator::Pattern {
  struct Segment {
    enum Kind { kKey, kAnyKey, kIndex, kAnyIndex } kind;
    std::string key;
    size_t index = 0;
  };
  std::vector<Segment> segments;
};

namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();

// --- The tree ---------------------------------------------------------------
//
// Our own parser rather than RapidJSON: RapidJSON 1.1.0 refuses numbers beyond
// the range of a double even when it keeps them as text
// (kParseErrorNumberTooBig), and a PostgreSQL numeric can have 131072 digits;
// parity must compare exactly those. Nodes are stored in pre-order, so every
// child's index is larger than its parent's.

enum class Type : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };

struct Node {
  Type type = Type::kNull;
  uint32_t count = 0;  // children of an array or object
  size_t first_child = kNone;
  size_t next_sibling = kNone;
  // A number's text, a string's unescaped value, and the member's key when
  // the parent is an object: views into the body, or into `owned` when
  // unescaping changed them.
  absl::string_view text;
  absl::string_view key;
};

struct Tree {
  std::vector<Node> nodes;  // nodes[0] is the root
  std::deque<std::string> owned;  // unescaped strings (stable addresses)
};

class Parser {
 public:
  Parser(absl::string_view text, int max_depth, absl::string_view side)
      : text_(text), max_depth_(max_depth), side_(side) {}

  absl::Status Parse(Tree* tree);

 private:
  absl::Status Error(size_t at, absl::string_view why) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid JSON in the ", side_, " body at byte ", at, ": ", why));
  }
  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t' ||
            text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  absl::Status ParseString(absl::string_view* out, Tree* tree);
  absl::Status UnescapeString(absl::string_view* out, Tree* tree);
  absl::Status ParseNumber(absl::string_view* out);
  absl::Status ParseLiteral(absl::string_view word);

  absl::string_view text_;
  int max_depth_;
  absl::string_view side_;
  size_t pos_ = 0;
};

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the well-formed UTF-8 sequence starting at s[0] (a byte >= 0x80),
// or 0 when it is not one (overlong forms, surrogates, beyond U+10FFFF).
size_t Utf8SequenceLength(absl::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // beyond U+10FFFF
    return 4;
  }
  return 0;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads 4 hex digits at text[at]; -1 when they are not.
int32_t ReadHex4(absl::string_view text, size_t at) {
  if (at + 4 > text.size()) return -1;
  int32_t v = 0;
  for (size_t i = 0; i < 4; ++i) {
    int h = HexValue(text[at + i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// Most strings need no unescaping: they are views into the body.
absl::Status Parser::ParseString(absl::string_view* out, Tree* tree) {
  const size_t start = pos_ + 1;
  size_t run = start;
  while (run < text_.size()) {
    unsigned char c = static_cast<unsigned char>(text_[run]);
    if (c == '"') {
      *out = text_.substr(start, run - start);
      pos_ = run + 1;
      return absl::OkStatus();
    }
    if (c == '\\' || c < 0x20 || c >= 0x80) break;
    ++run;
  }
  return UnescapeString(out, tree);
}

absl::Status Parser::UnescapeString(absl::string_view* view, Tree* tree) {
  std::string value;
  std::string* out = &value;
  ++pos_;  // the opening quote
  while (true) {
    size_t run = pos_;
    while (run < text_.size()) {
      unsigned char c = static_cast<unsigned char>(text_[run]);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++run;
    }
    out->append(text_.data() + pos_, run - pos_);
    pos_ = run;
    if (pos_ >= text_.size()) return Error(pos_, "unterminated string");
    unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c == '"') {
      ++pos_;
      tree->owned.push_back(std::move(value));
      *view = tree->owned.back();
      return absl::OkStatus();
    }
    if (c < 0x20) return Error(pos_, "control character in a string");
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(text_.substr(pos_));
      if (n == 0) return Error(pos_, "invalid UTF-8");
      out->append(text_.data() + pos_, n);
      pos_ += n;
      continue;
    }
    // A backslash.
    if (pos_ + 1 >= text_.size()) return Error(pos_, "unterminated string");
    char e = text_[pos_ + 1];
    switch (e) {
      case '"': out->push_back('"'); break;
      case '\\': out->push_back('\\'); break;
      case '/': out->push_back('/'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'u': {
        int32_t unit = ReadHex4(text_, pos_ + 2);
        if (unit < 0) return Error(pos_, "invalid \\u escape");
        if (unit >= 0xDC00 && unit <= 0xDFFF) {
          return Error(pos_, "lone low surrogate escape");
        }
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          int32_t low = -1;
          if (pos_ + 7 < text_.size() && text_[pos_ + 6] == '\\' &&
              text_[pos_ + 7] == 'u') {
            low = ReadHex4(text_, pos_ + 8);
          }
          if (low < 0xDC00 || low > 0xDFFF) {
            return Error(pos_, "high surrogate escape without its low half");
          }
          AppendUtf8(0x10000 + ((static_cast<uint32_t>(unit) - 0xD800) << 10) +
                         (static_cast<uint32_t>(low) - 0xDC00),
                     out);
          pos_ += 12;
          continue;
        }
        AppendUtf8(static_cast<uint32_t>(unit), out);
        pos_ += 6;
        continue;
      }
      default:
        return Error(pos_, "invalid escape");
    }
    pos_ += 2;
  }
}

absl::Status Parser::ParseNumber(absl::string_view* out) {
  const size_t start = pos_;
  const auto digit = [&](size_t i) {
    return i < text_.size() && text_[i] >= '0' && text_[i] <= '9';
  };
  if (text_[pos_] == '-') ++pos_;
  if (!digit(pos_)) return Error(pos_, "expected a digit");
  if (text_[pos_] == '0') {
    ++pos_;
  } else {
    while (digit(pos_)) ++pos_;
  }
  if (pos_ < text_.size() && text_[pos_] == '.') {
    ++pos_;
    if (!digit(pos_)) return Error(pos_, "expected a digit after '.'");
    while (digit(pos_)) ++pos_;
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) {
      ++pos_;
    }
    if (!digit(pos_)) return Error(pos_, "expected a digit in the exponent");
    while (digit(pos_)) ++pos_;
  }
  *out = text_.substr(start, pos_ - start);
  return absl::OkStatus();
}

absl::Status Parser::ParseLiteral(absl::string_view word) {
  if (text_.substr(pos_, word.size()) != word) {
    return Error(pos_, "expected a value");
  }
  pos_ += word.size();
  return absl::OkStatus();
}

absl::Status Parser::Parse(Tree* tree) {
  enum class State { kValue, kArrayFirst, kObjectFirst, kKey, kColon, kAfterValue, kDone };
  struct Frame {
    size_t node;
    size_t last_child;
  };
  std::vector<Node>& nodes = tree->nodes;
  std::vector<Frame> stack;
  State state = State::kValue;
  absl::string_view key;
  nodes.reserve(text_.size() / 16 + 1);

  // Appends a node as the next child of the open container (or as the root).
  const auto add = [&](Type type) -> size_t {
    size_t index = nodes.size();
    nodes.emplace_back();
    nodes[index].type = type;
    if (!stack.empty()) {
      Frame& parent = stack.back();
      Node& p = nodes[parent.node];
      if (p.type == Type::kObject) nodes[index].key = key;
      if (parent.last_child == kNone) {
        p.first_child = index;
      } else {
        nodes[parent.last_child].next_sibling = index;
      }
      parent.last_child = index;
      ++p.count;
    }
    return index;
  };
  const auto after_value = [&] {
    state = stack.empty() ? State::kDone : State::kAfterValue;
  };

  while (true) {
    SkipSpace();
    if (state == State::kDone) {
      if (pos_ != text_.size()) return Error(pos_, "unexpected text after the value");
      return absl::OkStatus();
    }
    if (pos_ >= text_.size()) return Error(pos_, "unexpected end of text");
    const char c = text_[pos_];
    switch (state) {
      case State::kArrayFirst:
        if (c == ']') {
          ++pos_;
          stack.pop_back();
          after_value();
          break;
        }
        state = State::kValue;
        break;  // the value is read on the next turn
      case State::kObjectFirst:
        if (c == '}') {
          ++pos_;
          stack.pop_back();
          after_value();
          break;
        }
        state = State::kKey;
        break;
      case State::kKey:
        if (c != '"') return Error(pos_, "expected a key");
        RETURN_IF_ERROR(ParseString(&key, tree));
        state = State::kColon;
        break;
      case State::kColon:
        if (c != ':') return Error(pos_, "expected ':'");
        ++pos_;
        state = State::kValue;
        break;
      case State::kAfterValue: {
        const bool in_object = nodes[stack.back().node].type == Type::kObject;
        if (c == ',') {
          ++pos_;
          state = in_object ? State::kKey : State::kValue;
        } else if (c == (in_object ? '}' : ']')) {
          ++pos_;
          stack.pop_back();
          after_value();
        } else {
          return Error(pos_, in_object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        break;
      }
      case State::kValue: {
        if (c == '{' || c == '[') {
          if (stack.size() >= static_cast<size_t>(max_depth_)) {
            return absl::InvalidArgumentError(
                absl::StrCat("the ", side_, " body is nested deeper than ",
                             max_depth_, " levels at byte ", pos_));
          }
          size_t index = add(c == '{' ? Type::kObject : Type::kArray);
          stack.push_back({index, kNone});
          ++pos_;
          state = c == '{' ? State::kObjectFirst : State::kArrayFirst;
          break;
        }
        if (c == '"') {
          absl::string_view value;
          RETURN_IF_ERROR(ParseString(&value, tree));
          nodes[add(Type::kString)].text = value;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
          absl::string_view value;
          RETURN_IF_ERROR(ParseNumber(&value));
          nodes[add(Type::kNumber)].text = value;
        } else if (c == 't') {
          RETURN_IF_ERROR(ParseLiteral("true"));
          add(Type::kTrue);
        } else if (c == 'f') {
          RETURN_IF_ERROR(ParseLiteral("false"));
          add(Type::kFalse);
        } else if (c == 'n') {
          RETURN_IF_ERROR(ParseLiteral("null"));
          add(Type::kNull);
        } else {
          return Error(pos_, "expected a value");
        }
        after_value();
        break;
      }
      case State::kDone:
        break;
    }
  }
}

// --- Numbers ----------------------------------------------------------------

// Appends the exact decimal value of a JSON number's text, as a canonical
// string: "0", or an optional '-', the significant digits without leading or
// trailing zeros, 'e' and the power of ten of the last digit. Exponents beyond +-10^17
// (not a realistic body) keep their digits as written.
void AppendCanonicalDecimal(absl::string_view text, std::string* out) {
  // text is a valid JSON number: -? int (. frac)? ([eE] [+-]? exp)?
  size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) ++i;
  const size_t int_begin = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  const size_t int_end = i;
  size_t frac_begin = i;
  size_t frac_end = i;
  if (i < text.size() && text[i] == '.') {
    frac_begin = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    frac_end = i;
  }
  bool exponent_negative = false;
  absl::string_view exponent_digits;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      exponent_negative = text[i] == '-';
      ++i;
    }
    while (i + 1 < text.size() && text[i] == '0') ++i;
    exponent_digits = text.substr(i);
  }
  // The significant digits run from the first non-zero digit to the last one,
  // across the '.' if any.
  const auto is_nonzero = [&](size_t k) { return text[k] >= '1' && text[k] <= '9'; };
  size_t first = kNone;
  for (size_t k = int_begin; k < frac_end && first == kNone; ++k) {
    if (k != int_end && is_nonzero(k)) first = k;
  }
  if (first == kNone) {
    out->push_back('0');
    return;
  }
  size_t last = frac_end;
  while (!(last - 1 != int_end && is_nonzero(last - 1))) --last;
  --last;  // the last non-zero digit
  // Exponent of the last significant digit = exp - (fraction digits after it
  // and before the end) ... written relative to the last digit's position.
  int64_t position;  // the power of ten of the digit at `last`
  if (last < int_end) {
    position = static_cast<int64_t>(int_end - 1 - last);
  } else {
    position = -static_cast<int64_t>(last - frac_begin + 1);
  }
  if (negative) out->push_back('-');
  if (first < int_end && last > int_end) {
    out->append(text.data() + first, int_end - first);
    out->append(text.data() + frac_begin, last + 1 - frac_begin);
  } else {
    out->append(text.data() + first, last + 1 - first);
  }
  out->push_back('e');
  if (exponent_digits.size() > 17) {
    // Not a realistic body: the exponent's digits as written.
    absl::StrAppend(out, exponent_negative ? "-" : "+", exponent_digits, "+",
                    position);
    return;
  }
  int64_t exponent = 0;
  for (char d : exponent_digits) exponent = exponent * 10 + (d - '0');
  if (exponent_negative) exponent = -exponent;
  absl::StrAppend(out, exponent + position);
}

// Both numbers read as IEEE binary64 doubles are the same double.
bool SameFloat64(absl::string_view a, absl::string_view b) {
  double x = 0;
  double y = 0;
  if (!absl::SimpleAtod(a, &x) || !absl::SimpleAtod(b, &y)) return false;
  return x == y;
}

// --- Timestamps -------------------------------------------------------------

struct Instant {
  int64_t seconds = 0;  // since 1970-01-01T00:00:00Z
  int32_t nanos = 0;
};

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// An RFC 3339 timestamp with a Z or a numeric offset: YYYY-MM-DD, 'T', 't' or
// ' ', hh:mm:ss, up to 9 fractional digits, then Z, +hh, +hhmm or +hh:mm.
bool ParseInstant(absl::string_view s, Instant* out) {
  if (s.size() < 20 || s.size() > 40) return false;
  size_t i = 0;
  const auto number = [&](size_t width, int* value) {
    if (i + width > s.size()) return false;
    int v = 0;
    for (size_t k = 0; k < width; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *value = v;
    i += width;
    return true;
  };
  const auto expect = [&](char c) {
    if (i >= s.size() || s[i] != c) return false;
    ++i;
    return true;
  };
  int year, month, day, hour, minute, second;
  if (!number(4, &year) || !expect('-') || !number(2, &month) || !expect('-') ||
      !number(2, &day)) {
    return false;
  }
  if (i >= s.size() || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) return false;
  ++i;
  if (!number(2, &hour) || !expect(':') || !number(2, &minute) || !expect(':') ||
      !number(2, &second)) {
    return false;
  }
  int32_t nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (++digits > 9) return false;
      nanos = nanos * 10 + (s[i] - '0');
      ++i;
    }
    if (digits == 0) return false;
    for (int k = digits; k < 9; ++k) nanos *= 10;
  }
  int offset_seconds = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const int sign = s[i] == '-' ? -1 : 1;
    ++i;
    int oh = 0;
    int om = 0;
    if (!number(2, &oh)) return false;
    if (i < s.size()) {
      expect(':');
      if (!number(2, &om)) return false;
    }
    if (oh > 23 || om > 59) return false;
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return false;  // no offset: a plain string
  }
  if (i != s.size()) return false;
  static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDaysIn[month - 1] + (month == 2 && leap ? 1 : 0)) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  out->seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 +
                 minute * 60 + second - offset_seconds;
  out->nanos = nanos;
  return true;
}

// |a - b| < 1 ms.
bool WithinMillisecond(const Instant& a, const Instant& b) {
  const int64_t seconds = a.seconds - b.seconds;
  if (seconds > 1 || seconds < -1) return false;
  int64_t nanos = seconds * 1000000000 + (a.nanos - b.nanos);
  if (nanos < 0) nanos = -nanos;
  return nanos < 1000000;
}

// --- Canonical identities ----------------------------------------------------
//
// Every node of both trees gets an id such that two nodes have the same id
// exactly when they are equal under the rules (numbers by value, timestamps as
// instants, key order ignored unless checked). Nodes are interned bottom-up
// (children have larger indices, so a reverse scan sees them first); the
// interned key of a container holds its children's ids, so the total work is
// linear plus the sorting of each object's keys.

class Interner {
 public:
  // Numbers, instants and containers, by their canonical key.
  uint32_t Intern(const std::string& key) {
    auto it = ids_.try_emplace(key, next_);
    if (it.second) ++next_;
    return it.first->second;
  }
  // Plain strings, by a view that outlives the interner (no copy).
  uint32_t InternString(absl::string_view text) {
    auto it = strings_.try_emplace(text, next_);
    if (it.second) ++next_;
    return it.first->second;
  }

 private:
  uint32_t next_ = 0;
  absl::flat_hash_map<std::string, uint32_t> ids_;
  absl::flat_hash_map<absl::string_view, uint32_t> strings_;
};

void AppendU32(uint32_t v, std::string* out) {
  char bytes[4];
  std::memcpy(bytes, &v, 4);
  out->append(bytes, 4);
}

// An object's members with repeated keys resolved (the last value wins, at the
// first key's position), in text order.
struct Member {
  absl::string_view key;
  size_t node;
};

std::vector<Member> Members(const Tree& tree, size_t object) {
  std::vector<Member> members;
  members.reserve(tree.nodes[object].count);
  if (tree.nodes[object].count <= 8) {
    for (size_t c = tree.nodes[object].first_child; c != kNone;
         c = tree.nodes[c].next_sibling) {
      auto same = std::find_if(members.begin(), members.end(), [&](const Member& m) {
        return m.key == tree.nodes[c].key;
      });
      if (same == members.end()) {
        members.push_back({tree.nodes[c].key, c});
      } else {
        same->node = c;
      }
    }
    return members;
  }
  absl::flat_hash_map<absl::string_view, size_t> seen;
  for (size_t c = tree.nodes[object].first_child; c != kNone;
       c = tree.nodes[c].next_sibling) {
    auto [it, inserted] = seen.try_emplace(tree.nodes[c].key, members.size());
    if (inserted) {
      members.push_back({tree.nodes[c].key, c});
    } else {
      members[it->second].node = c;
    }
  }
  return members;
}

std::vector<size_t> Children(const Tree& tree, size_t node) {
  std::vector<size_t> children;
  children.reserve(tree.nodes[node].count);
  for (size_t c = tree.nodes[node].first_child; c != kNone;
       c = tree.nodes[c].next_sibling) {
    children.push_back(c);
  }
  return children;
}

std::vector<uint32_t> InternTree(const Tree& tree, bool key_order,
                                 Interner* interner) {
  std::vector<uint32_t> ids(tree.nodes.size());
  std::string key;
  for (size_t n = tree.nodes.size(); n-- > 0;) {
    const Node& node = tree.nodes[n];
    key.clear();
    switch (node.type) {
      case Type::kNull: key = "z"; break;
      case Type::kFalse: key = "f"; break;
      case Type::kTrue: key = "t"; break;
      case Type::kNumber:
        key = "n";
        AppendCanonicalDecimal(node.text, &key);
        break;
      case Type::kString: {
        Instant instant;
        if (!ParseInstant(node.text, &instant)) {
          ids[n] = interner->InternString(node.text);
          continue;
        }
        key = absl::StrCat("i", instant.seconds, ".", instant.nanos);
        break;
      }
      case Type::kArray:
        key = "a";
        for (size_t c = node.first_child; c != kNone; c = tree.nodes[c].next_sibling) {
          AppendU32(ids[c], &key);
        }
        break;
      case Type::kObject: {
        std::vector<Member> members = Members(tree, n);
        if (!key_order) {
          std::sort(members.begin(), members.end(),
                    [](const Member& a, const Member& b) { return a.key < b.key; });
        }
        key = "o";
        for (const Member& m : members) {
          AppendU32(static_cast<uint32_t>(m.key.size()), &key);
          key.append(m.key.data(), m.key.size());
          AppendU32(ids[m.node], &key);
        }
        break;
      }
    }
    ids[n] = interner->Intern(key);
  }
  return ids;
}

// --- Writing values ----------------------------------------------------------

void AppendJsonString(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

// Compact JSON of a subtree (repeated keys kept as written), without
// recursion.
std::string WriteValue(const Tree& tree, size_t root) {
  std::string out;
  struct Step {
    size_t node;
    size_t next;  // the next child to write, or kNone when all were written
    bool first;
  };
  std::vector<Step> stack;
  const auto open = [&](size_t n) {
    const Node& node = tree.nodes[n];
    switch (node.type) {
      case Type::kNull: out.append("null"); return;
      case Type::kFalse: out.append("false"); return;
      case Type::kTrue: out.append("true"); return;
      case Type::kNumber: out.append(node.text.data(), node.text.size()); return;
      case Type::kString: AppendJsonString(node.text, &out); return;
      case Type::kArray: out.push_back('['); break;
      case Type::kObject: out.push_back('{'); break;
    }
    stack.push_back({n, node.first_child, true});
  };
  open(root);
  while (!stack.empty()) {
    Step& step = stack.back();
    const Node& node = tree.nodes[step.node];
    if (step.next == kNone) {
      out.push_back(node.type == Type::kObject ? '}' : ']');
      stack.pop_back();
      continue;
    }
    const size_t child = step.next;
    if (!step.first) out.push_back(',');
    step.first = false;
    step.next = tree.nodes[child].next_sibling;
    if (node.type == Type::kObject) {
      AppendJsonString(tree.nodes[child].key, &out);
      out.push_back(':');
    }
    open(child);  // may push: `step` is not used after this
  }
  return out;
}

std::string RedactedValue(const Tree& tree, size_t n) {
  const Node& node = tree.nodes[n];
  switch (node.type) {
    case Type::kNull: return "\"<null>\"";
    case Type::kFalse:
    case Type::kTrue: return "\"<boolean>\"";
    case Type::kNumber: return "\"<number>\"";
    case Type::kString: return "\"<string>\"";
    case Type::kArray: return absl::StrCat("\"<array of ", node.count, ">\"");
    case Type::kObject: return "\"<object>\"";
  }
  return "\"<value>\"";
}

// --- Paths ---------------------------------------------------------------------

// A key is written bare in a path unless it could be read as something else.
bool IsBareKey(absl::string_view key) {
  if (key.empty()) return false;
  for (char ch : key) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f || c == '.' || c == '[' || c == ']' || c == '"' ||
        c == '\\' || c == '*') {
      return false;
    }
  }
  return true;
}

struct PathSegment {
  size_t parent;  // kNone for the root's children
  bool is_index;
  size_t index;
  absl::string_view key;
};

std::string RenderPath(const std::vector<PathSegment>& segments, size_t at) {
  std::vector<size_t> chain;
  for (size_t s = at; s != kNone; s = segments[s].parent) chain.push_back(s);
  std::string out;
  for (size_t k = chain.size(); k-- > 0;) {
    const PathSegment& seg = segments[chain[k]];
    if (seg.is_index) {
      absl::StrAppend(&out, "[", seg.index, "]");
    } else if (IsBareKey(seg.key)) {
      if (!out.empty()) out.push_back('.');
      out.append(seg.key.data(), seg.key.size());
    } else {
      out.push_back('[');
      AppendJsonString(seg.key, &out);
      out.push_back(']');
    }
  }
  return out;
}

absl::Status PatternError(size_t index, absl::string_view pattern,
                          absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed ignore pattern ", index, " '", pattern, "': ", why));
}

absl::StatusOr<Comparator::Pattern> ParsePattern(size_t index,
                                                 absl::string_view text) {
  using Segment = Comparator::Pattern::Segment;
  Comparator::Pattern pattern;
  if (text.empty()) return PatternError(index, text, "empty pattern");
  size_t i = 0;
  bool need_key = true;  // at the start or after '.', a key or '*' comes next
  bool after_dot = false;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '[') {
      if (after_dot) return PatternError(index, text, "'[' after '.'");
      size_t close;
      Segment seg;
      if (i + 1 < text.size() && text[i + 1] == '"') {
        // A JSON string inside the brackets.
        std::string key;
        size_t end = i + 2;
        bool escaped = false;
        for (; end < text.size(); ++end) {
          if (escaped) {
            escaped = false;
          } else if (text[end] == '\\') {
            escaped = true;
          } else if (text[end] == '"') {
            break;
          }
        }
        if (end >= text.size()) return PatternError(index, text, "unterminated key");
        Tree tree;
        Parser key_parser(text.substr(i + 1, end - i), 1, "pattern");
        if (!key_parser.Parse(&tree).ok()) {
          return PatternError(index, text, "invalid quoted key");
        }
        seg.kind = Segment::kKey;
        seg.key = std::string(tree.nodes[0].text);
        close = end + 1;
      } else {
        close = text.find(']', i);
        if (close == absl::string_view::npos) {
          return PatternError(index, text, "missing ']'");
        }
        absl::string_view inside = text.substr(i + 1, close - i - 1);
        if (inside == "*") {
          seg.kind = Segment::kAnyIndex;
        } else {
          uint64_t n = 0;
          if (inside.empty() ||
              inside.find_first_not_of("0123456789") != absl::string_view::npos ||
              !absl::SimpleAtoi(inside, &n)) {
            return PatternError(index, text, "expected [*], [N] or [\"key\"]");
          }
          seg.kind = Segment::kIndex;
          seg.index = n;
        }
      }
      if (close >= text.size() || text[close] != ']') {
        return PatternError(index, text, "missing ']'");
      }
      pattern.segments.push_back(std::move(seg));
      i = close + 1;
      need_key = false;
      after_dot = false;
      continue;
    }
    if (c == '.') {
      if (need_key) return PatternError(index, text, "empty key");
      need_key = true;
      after_dot = true;
      ++i;
      continue;
    }
    if (!need_key) return PatternError(index, text, "expected '.' or '['");
    size_t end = text.find_first_of(".[", i);
    if (end == absl::string_view::npos) end = text.size();
    absl::string_view key = text.substr(i, end - i);
    Segment seg;
    if (key == "*") {
      seg.kind = Segment::kAnyKey;
    } else if (IsBareKey(key)) {
      seg.kind = Segment::kKey;
      seg.key = std::string(key);
    } else {
      return PatternError(index, text, "a key with special characters needs [\"...\"]");
    }
    pattern.segments.push_back(std::move(seg));
    i = end;
    need_key = false;
    after_dot = false;
  }
  if (after_dot) return PatternError(index, text, "ends with '.'");
  return pattern;
}

bool SegmentMatches(const Comparator::Pattern::Segment& seg,
                    const PathSegment& path) {
  using Segment = Comparator::Pattern::Segment;
  switch (seg.kind) {
    case Segment::kKey: return !path.is_index && path.key == seg.key;
    case Segment::kAnyKey: return !path.is_index;
    case Segment::kIndex: return path.is_index && path.index == seg.index;
    case Segment::kAnyIndex: return path.is_index;
  }
  return false;
}

constexpr absl::string_view kFloat64 = "float64";
constexpr absl::string_view kTimestampPrecision = "timestamp_precision";

}  // namespace

absl::string_view DifferenceKindName(DifferenceKind kind) {
  switch (kind) {
    case DifferenceKind::kValue: return "value";
    case DifferenceKind::kNumber: return "number";
    case DifferenceKind::kType: return "type";
    case DifferenceKind::kMissingKey: return "missing_key";
    case DifferenceKind::kExtraKey: return "extra_key";
    case DifferenceKind::kArrayLength: return "array_length";
    case DifferenceKind::kArrayOrder: return "array_order";
    case DifferenceKind::kKeyOrder: return "key_order";
  }
  return "unknown";
}

const std::vector<ComparisonClassifier>& ComparisonClassifiers() {
  static const auto* classifiers = new std::vector<ComparisonClassifier>{
      {kFloat64,
       "two numbers that differ as decimals but are the same IEEE 754 binary64 "
       "double (a JSON parser reading numbers as floats: 12345678901234567.89 "
       "and 12345678901234568)"},
      {kTimestampPrecision,
       "two timestamps (RFC 3339, with an offset) less than one millisecond "
       "apart"},
  };
  return *classifiers;
}

Comparator::Comparator() = default;
Comparator::Comparator(Comparator&&) noexcept = default;
Comparator& Comparator::operator=(Comparator&&) noexcept = default;
Comparator::~Comparator() = default;

absl::StatusOr<Comparator> Comparator::Create(CompareOptions options) {
  if (options.max_differences < 0) {
    return absl::InvalidArgumentError("max_differences must not be negative");
  }
  if (options.max_depth < 1) {
    return absl::InvalidArgumentError("max_depth must be at least 1");
  }
  Comparator comparator;
  for (size_t i = 0; i < options.ignore.size(); ++i) {
    absl::StatusOr<Pattern> pattern = ParsePattern(i, options.ignore[i]);
    if (!pattern.ok()) return pattern.status();
    comparator.patterns_.push_back(*std::move(pattern));
  }
  for (size_t i = 0; i < options.rules.size(); ++i) {
    const ComparisonRule& rule = options.rules[i];
    if (rule.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("rule ", i, " has an empty name"));
    }
    if (rule.classifier == kFloat64) {
      if (comparator.float64_rule_ < 0) comparator.float64_rule_ = static_cast<int>(i);
    } else if (rule.classifier == kTimestampPrecision) {
      if (comparator.timestamp_rule_ < 0) {
        comparator.timestamp_rule_ = static_cast<int>(i);
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown classifier '", rule.classifier, "' in rule '", rule.name,
          "'; known: float64, timestamp_precision"));
    }
  }
  comparator.options_ = std::move(options);
  return comparator;
}

absl::StatusOr<Comparison> Comparator::Compare(absl::string_view primary,
                                               absl::string_view candidate) const {
  Tree a;
  Tree b;
  {
    absl::Status status = Parser(primary, options_.max_depth, "primary").Parse(&a);
    if (!status.ok()) return status;
    status = Parser(candidate, options_.max_depth, "candidate").Parse(&b);
    if (!status.ok()) return status;
  }
  Interner interner;
  const std::vector<uint32_t> ids_a = InternTree(a, options_.check_key_order, &interner);
  const std::vector<uint32_t> ids_b = InternTree(b, options_.check_key_order, &interner);

  Comparison result;
  const size_t kept = static_cast<size_t>(options_.max_differences);
  std::vector<PathSegment> segments;

  // Pattern liveness: `words` 64-bit words per task, in one arena.
  const size_t words = (patterns_.size() + 63) / 64;
  std::vector<uint64_t> alive;

  struct Task {
    size_t a;     // node in the primary, or kNone (an extra key)
    size_t b;     // node in the candidate, or kNone (a missing key)
    size_t path;  // index in `segments`, kNone for the root
    size_t depth;
    size_t alive;  // offset in `alive`
  };
  std::vector<Task> stack;

  const auto value_text = [&](const Tree& tree, size_t n) -> std::optional<std::string> {
    if (n == kNone) return std::nullopt;
    return options_.redact ? RedactedValue(tree, n) : WriteValue(tree, n);
  };
  const auto report = [&](DifferenceKind kind, size_t path, size_t na, size_t nb,
                          int rule) {
    if (rule >= 0) {
      ++result.explained;
    } else {
      ++result.unexplained;
    }
    if (result.differences.size() >= kept) {
      result.truncated = true;
      return;
    }
    Difference d;
    d.path = path == kNone ? std::string() : RenderPath(segments, path);
    d.kind = kind;
    d.primary = value_text(a, na);
    d.candidate = value_text(b, nb);
    if (rule >= 0) d.rule = options_.rules[static_cast<size_t>(rule)].name;
    result.differences.push_back(std::move(d));
  };
  const auto key_list = [](const std::vector<Member>& members) {
    std::string out = "[";
    for (size_t i = 0; i < members.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendJsonString(members[i].key, &out);
    }
    out.push_back(']');
    return out;
  };

  // Pushes the comparison of a child pair; returns false when the child is
  // ignored (counted when it differs).
  std::vector<Task> children;  // collected in order, pushed reversed
  const auto child = [&](const Task& parent, PathSegment seg, size_t na, size_t nb) {
    segments.push_back(seg);
    const size_t path = segments.size() - 1;
    const size_t offset = alive.size();
    bool ignored = false;
    for (size_t w = 0; w < words; ++w) alive.push_back(0);
    for (size_t p = 0; p < patterns_.size(); ++p) {
      if (!(alive[parent.alive + p / 64] >> (p % 64) & 1)) continue;
      const Pattern& pattern = patterns_[p];
      if (parent.depth >= pattern.segments.size() ||
          !SegmentMatches(pattern.segments[parent.depth], seg)) {
        continue;
      }
      if (parent.depth + 1 == pattern.segments.size()) {
        ignored = true;
        break;
      }
      alive[offset + p / 64] |= uint64_t{1} << (p % 64);
    }
    if (ignored) {
      alive.resize(offset);
      const bool differs = na == kNone || nb == kNone || ids_a[na] != ids_b[nb];
      if (differs) ++result.ignored;
      return;
    }
    children.push_back({na, nb, path, parent.depth + 1, offset});
  };

  {
    const size_t offset = alive.size();
    for (size_t w = 0; w < words; ++w) alive.push_back(~uint64_t{0});
    stack.push_back({0, 0, kNone, 0, offset});
  }
  while (!stack.empty()) {
    const Task task = stack.back();
    stack.pop_back();
    if (task.b == kNone) {
      report(DifferenceKind::kMissingKey, task.path, task.a, kNone, -1);
      continue;
    }
    if (task.a == kNone) {
      report(DifferenceKind::kExtraKey, task.path, kNone, task.b, -1);
      continue;
    }
    if (ids_a[task.a] == ids_b[task.b]) continue;
    const Node& na = a.nodes[task.a];
    const Node& nb = b.nodes[task.b];
    const auto kind_of = [](Type t) {
      return t == Type::kTrue ? Type::kFalse : t;  // one boolean type
    };
    if (kind_of(na.type) != kind_of(nb.type)) {
      report(DifferenceKind::kType, task.path, task.a, task.b, -1);
      continue;
    }
    children.clear();
    switch (na.type) {
      case Type::kNull:
        break;  // equal ids
      case Type::kFalse:
      case Type::kTrue:
        report(DifferenceKind::kValue, task.path, task.a, task.b, -1);
        break;
      case Type::kNumber: {
        const int rule =
            float64_rule_ >= 0 && SameFloat64(na.text, nb.text) ? float64_rule_ : -1;
        report(DifferenceKind::kNumber, task.path, task.a, task.b, rule);
        break;
      }
      case Type::kString: {
        int rule = -1;
        Instant x;
        Instant y;
        if (timestamp_rule_ >= 0 && ParseInstant(na.text, &x) &&
            ParseInstant(nb.text, &y) && WithinMillisecond(x, y)) {
          rule = timestamp_rule_;
        }
        report(DifferenceKind::kValue, task.path, task.a, task.b, rule);
        break;
      }
      case Type::kArray: {
        const std::vector<size_t> xs = Children(a, task.a);
        const std::vector<size_t> ys = Children(b, task.b);
        if (xs.size() == ys.size() && xs.size() <= options_.max_order_check_elements) {
          std::vector<uint32_t> sx;
          std::vector<uint32_t> sy;
          sx.reserve(xs.size());
          sy.reserve(ys.size());
          for (size_t x : xs) sx.push_back(ids_a[x]);
          for (size_t y : ys) sy.push_back(ids_b[y]);
          std::sort(sx.begin(), sx.end());
          std::sort(sy.begin(), sy.end());
          if (sx == sy) {
            report(DifferenceKind::kArrayOrder, task.path, task.a, task.b, -1);
            break;
          }
        }
        if (xs.size() != ys.size()) {
          report(DifferenceKind::kArrayLength, task.path, task.a, task.b, -1);
        }
        const size_t n = std::min(xs.size(), ys.size());
        for (size_t i = 0; i < n; ++i) {
          child(task, {task.path, true, i, {}}, xs[i], ys[i]);
        }
        break;
      }
      case Type::kObject: {
        const std::vector<Member> xs = Members(a, task.a);
        const std::vector<Member> ys = Members(b, task.b);
        absl::flat_hash_map<absl::string_view, size_t> in_b;
        for (size_t i = 0; i < ys.size(); ++i) in_b.emplace(ys[i].key, i);
        absl::flat_hash_map<absl::string_view, size_t> in_a;
        for (size_t i = 0; i < xs.size(); ++i) in_a.emplace(xs[i].key, i);
        if (options_.check_key_order) {
          // The common keys' positions in the candidate, in primary order,
          // must increase.
          size_t last = 0;
          bool first = true;
          bool ordered = true;
          for (const Member& m : xs) {
            auto it = in_b.find(m.key);
            if (it == in_b.end()) continue;
            if (!first && it->second < last) {
              ordered = false;
              break;
            }
            last = it->second;
            first = false;
          }
          if (!ordered) {
            // Reported with the key lists rather than the objects.
            ++result.unexplained;
            if (result.differences.size() >= kept) {
              result.truncated = true;
            } else {
              Difference d;
              d.path = task.path == kNone ? std::string() : RenderPath(segments, task.path);
              d.kind = DifferenceKind::kKeyOrder;
              d.primary = key_list(xs);
              d.candidate = key_list(ys);
              result.differences.push_back(std::move(d));
            }
          }
        }
        for (const Member& m : xs) {
          auto it = in_b.find(m.key);
          child(task, {task.path, false, 0, m.key}, m.node,
                it == in_b.end() ? kNone : ys[it->second].node);
        }
        for (const Member& m : ys) {
          if (in_a.contains(m.key)) continue;
          child(task, {task.path, false, 0, m.key}, kNone, m.node);
        }
        break;
      }
    }
    for (size_t i = children.size(); i-- > 0;) stack.push_back(children[i]);
  }
  return result;
}

absl::StatusOr<Comparison> Compare(absl::string_view primary,
                                   absl::string_view candidate,
                                   const CompareOptions& options) {
  absl::StatusOr<Comparator> comparator = Comparator::Create(options);
  if (!comparator.ok()) return comparator.status();
  return comparator->Compare(primary, candidate);
}

}  // namespace fraiseql::parity
