#include "planner/selection_text.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace fraiseql::planner {
namespace {

class SelectionParser {
 public:
  SelectionParser(absl::string_view text, const SelectionLimits& limits)
      : text_(text), limits_(limits) {}

  absl::StatusOr<std::vector<v1::Selection>> ParseDocument() {
    if (text_.size() > limits_.max_selection_bytes) {
      return SelectionLimitError(
          static_cast<int64_t>(limits_.max_selection_bytes), "bytes",
          "max_selection_bytes");
    }
    SkipIgnored();
    std::vector<v1::Selection> fields;
    if (Peek() == '{') {
      ASSIGN_OR_RETURN(fields, ParseBraced(0));
    } else {
      ASSIGN_OR_RETURN(fields, ParseFields(0));
    }
    SkipIgnored();
    if (pos_ != text_.size()) return Error("end of selection");
    if (fields.empty()) return Error("at least one field");
    return fields;
  }

 private:
  // Fields up to a closing brace or the end.
  absl::StatusOr<std::vector<v1::Selection>> ParseFields(int depth) {
    std::vector<v1::Selection> fields;
    while (true) {
      SkipIgnored();
      char c = Peek();
      if (c == '\0' || c == '}') return fields;
      ASSIGN_OR_RETURN(v1::Selection field, ParseField(depth));
      fields.push_back(std::move(field));
    }
  }

  absl::StatusOr<std::vector<v1::Selection>> ParseBraced(int depth) {
    if (depth >= limits_.max_selection_depth) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid selection at ", Where(pos_), ": more than ",
          limits_.max_selection_depth,
          " levels of nesting (limit max_selection_depth)"));
    }
    ++pos_;  // '{'
    ASSIGN_OR_RETURN(std::vector<v1::Selection> fields, ParseFields(depth + 1));
    SkipIgnored();
    if (Peek() != '}') return Error("'}'");
    ++pos_;
    if (fields.empty()) return Error("a field inside '{ }'", pos_ - 1);
    return fields;
  }

  absl::StatusOr<v1::Selection> ParseField(int depth) {
    if (text_.substr(pos_, 3) == "...") {
      return absl::InvalidArgumentError(absl::StrCat(
          "fragments are not supported in selections, at ", Where(pos_)));
    }
    ASSIGN_OR_RETURN(std::string first, ParseName());
    if (++fields_ > limits_.max_selection_fields) {
      return SelectionLimitError(limits_.max_selection_fields, "fields",
                                 "max_selection_fields");
    }
    v1::Selection field;
    SkipIgnored();
    if (Peek() == ':') {
      if (++aliases_ > limits_.max_selection_aliases) {
        return SelectionLimitError(limits_.max_selection_aliases, "aliases",
                                   "max_selection_aliases");
      }
      ++pos_;
      SkipIgnored();
      ASSIGN_OR_RETURN(std::string name, ParseName());
      field.set_response_key(first);
      field.set_field_name(name);
    } else {
      field.set_response_key(first);
      field.set_field_name(first);
    }
    SkipIgnored();
    if (Peek() == '(' || Peek() == '@') {
      return absl::InvalidArgumentError(absl::StrCat(
          Peek() == '(' ? "arguments" : "directives",
          " are not supported in selections, at ", Where(pos_)));
    }
    if (Peek() == '{') {
      ASSIGN_OR_RETURN(std::vector<v1::Selection> sub, ParseBraced(depth));
      for (v1::Selection& s : sub) *field.add_fields() = std::move(s);
    }
    return field;
  }

  absl::StatusOr<std::string> ParseName() {
    size_t start = pos_;
    if (pos_ < text_.size() &&
        (text_[pos_] == '_' || absl::ascii_isalpha(text_[pos_]))) {
      ++pos_;
      while (pos_ < text_.size() &&
             (text_[pos_] == '_' || absl::ascii_isalnum(text_[pos_]))) {
        ++pos_;
      }
    }
    if (pos_ == start) return Error("a field name");
    return std::string(text_.substr(start, pos_ - start));
  }

  void SkipIgnored() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  std::string Where(size_t at) const {
    int line = 1, column = 1;
    for (size_t i = 0; i < at && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return absl::StrCat("line ", line, ", column ", column);
  }

  absl::Status Error(absl::string_view expected) { return Error(expected, pos_); }

  absl::Status Error(absl::string_view expected, size_t at) {
    std::string found =
        at < text_.size()
            ? absl::StrCat("'", absl::CHexEscape(text_.substr(at, 1)), "'")
            : "the end";
    return absl::InvalidArgumentError(
        absl::StrCat("invalid selection at ", Where(at), ": expected ",
                     expected, ", found ", found));
  }

  absl::string_view text_;
  const SelectionLimits& limits_;
  size_t pos_ = 0;
  int fields_ = 0;
  int aliases_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<v1::Selection>> ParseSelectionText(
    absl::string_view text, const SelectionLimits& limits) {
  return SelectionParser(text, limits).ParseDocument();
}

absl::Status SelectionLimitError(int64_t limit, absl::string_view what,
                                 absl::string_view name) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid selection: more than ", limit, " ", what, " (limit ", name,
      ")"));
}

}  // namespace fraiseql::planner
