#include "base/pg_status.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fraiseql {

absl::StatusCode StatusCodeForSqlState(absl::string_view s) {
  if (s.size() != 5) return absl::StatusCode::kInternal;
  if (absl::StartsWith(s, "08") || s == "57P01" || s == "57P02" ||
      s == "57P03") {
    return absl::StatusCode::kUnavailable;
  }
  if (s == "40001" || s == "40P01") return absl::StatusCode::kAborted;
  if (s == "57014") return absl::StatusCode::kCancelled;
  if (s == "23505") return absl::StatusCode::kAlreadyExists;
  if (absl::StartsWith(s, "23")) return absl::StatusCode::kFailedPrecondition;
  if (absl::StartsWith(s, "22") || s == "42601") {
    return absl::StatusCode::kInvalidArgument;
  }
  if (s == "42501") return absl::StatusCode::kPermissionDenied;
  if (absl::StartsWith(s, "28")) return absl::StatusCode::kUnauthenticated;
  if (absl::StartsWith(s, "53")) return absl::StatusCode::kResourceExhausted;
  if (s == "42P01" || s == "42703" || s == "42883" || s == "42704") {
    return absl::StatusCode::kNotFound;
  }
  return absl::StatusCode::kInternal;
}

namespace {

// Filters on some kinds need a contrib extension; when it is missing the
// server only says that a type or function does not exist. Name the
// extension instead.
std::string MissingExtensionHint(absl::string_view sqlstate,
                                 absl::string_view message) {
  if (sqlstate != "42704" && sqlstate != "42883") return "";
  struct Hint {
    absl::string_view needle;
    absl::string_view extension;
  };
  static constexpr Hint kHints[] = {
      {"ltree", "ltree"},          {"lquery", "ltree"},
      {"ltxtquery", "ltree"},      {"ll_to_earth", "earthdistance"},
      {"earth_distance", "earthdistance"}, {"earth", "cube"},
      {"type \"vector\"", "vector (pgvector)"}, {"<=>", "vector (pgvector)"},
      {"<->", "vector (pgvector)"}, {"<#>", "vector (pgvector)"},
      {"<+>", "vector (pgvector)"}, {"<~>", "vector (pgvector)"},
      {"<%>", "vector (pgvector)"},
  };
  for (const Hint& hint : kHints) {
    if (absl::StrContains(message, hint.needle)) {
      absl::string_view name = hint.extension.substr(
          0, hint.extension.find(' '));
      return absl::StrCat("; this filter needs the ", hint.extension,
                          " extension: CREATE EXTENSION ", name,
                          name == "earthdistance" ? " (after cube)" : "");
    }
  }
  return "";
}

}  // namespace

std::string WithholdQuotedText(absl::string_view message) {
  const size_t first = message.find('"');
  if (first == absl::string_view::npos) return std::string(message);
  const size_t last = message.rfind('"');
  absl::string_view before = message.substr(0, first);
  absl::string_view after =
      last > first ? message.substr(last + 1) : absl::string_view();
  if (after.empty() && absl::EndsWith(before, ": ")) {
    before.remove_suffix(2);
    return absl::StrCat(before, " (value withheld)");
  }
  return absl::StrCat(before, "(value withheld)", after);
}

absl::Status StatusFromSqlState(absl::string_view sqlstate,
                                absl::string_view context,
                                absl::string_view server_message) {
  absl::string_view message = server_message;
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.remove_suffix(1);
  }
  std::string shown = WithholdQuotedText(message);
  // `invalid byte sequence for encoding "UTF8": 0xff`, `character with byte
  // sequence 0xe2 0x82 0xac in encoding "UTF8" has no equivalent in ...`:
  // the input's bytes, unquoted.
  if (sqlstate == "22021" || sqlstate == "22P05") {
    shown = shown.substr(0, shown.find(':'));
    if (const size_t bytes = shown.find(" 0x"); bytes != std::string::npos) {
      shown = absl::StrCat(shown.substr(0, bytes), " (value withheld)");
    }
  }
  // The hint reads the whole message (`type "ltree" does not exist`); only
  // its own fixed text is added.
  absl::Status status(StatusCodeForSqlState(sqlstate),
                      absl::StrCat(context, ": ", shown,
                                   " (SQLSTATE ",
                                   sqlstate, ")",
                                   MissingExtensionHint(sqlstate, message)));
  status.SetPayload(kSqlStatePayloadUrl, absl::Cord(sqlstate));
  return status;
}

std::string PgMessageOneLine(absl::string_view message) {
  return absl::StrReplaceAll(absl::StripAsciiWhitespace(message),
                             {{"\n\t", " "}, {"\n", " "}});
}

std::optional<std::string> SqlStateOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kSqlStatePayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace fraiseql
