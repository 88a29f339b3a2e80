// libFuzzer target over the projector (response/projector.h): a selection
// built from the first bytes of the input, applied to the rest as a row.
//
// Input: byte L, then L bytes describing the selection, then the row bytes
// (anything: the projector validates rows, whose text comes from the
// server). The description is read byte by byte (0 once it runs out):
//   flags: 1 root select_all, 2 always_typename, 4..8 root type name;
//   then a field list: a count (mod 5), and per field one byte k:
//     k % 4 the kind (scalar, object, json, typename), k & 4 an alias
//     (one more byte picks it), k & 8 select_all (objects), k & 16 no
//     sub-selection (objects); one byte picks the source key, and an
//     object's type name and sub-list follow (at most 4 levels, 64 fields).
// Keys come from a small vocabulary that collides on purpose (first_name,
// firstName, duplicates, "__typename", escapes, non-ASCII, empty).
//
// Besides "never crashes", every input is checked for:
//   - errors: only InvalidArgument, and *out exactly as it was;
//   - output: one JSON object, valid JSON and valid UTF-8 (RapidJSON reads
//     it back), compact (no whitespace outside strings);
//   - determinism: the same row again, and through a copy of the projector,
//     gives the same bytes;
//   - a fixed point: with a plain select_all (no overrides, no injected
//     __typename), projecting the output again gives the output.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"
#include "response/projector.h"
#include "response/selection.h"

namespace {

using fraiseql::response::FieldSelection;
using fraiseql::response::ProjectionOptions;
using fraiseql::response::Projector;
using fraiseql::response::SelectionSet;

constexpr const char* kKeys[] = {
    "id",   "name",      "first_name", "firstName", "a",     "b",
    "tags", "address",   "city_name",  "items",     "",      "__typename",
    "é_x",  "q\"uote",   "back\\",     "tab\t",     "x_y_z", "data",
};
constexpr size_t kKeyCount = sizeof(kKeys) / sizeof(kKeys[0]);
constexpr const char* kTypes[] = {"User", "Address", "", "T\"q"};

class Bytes {
 public:
  explicit Bytes(absl::string_view s) : s_(s) {}
  uint8_t Next() { return pos_ < s_.size() ? s_[pos_++] : 0; }

 private:
  absl::string_view s_;
  size_t pos_ = 0;
};

std::vector<FieldSelection> BuildFields(Bytes& in, int depth, int* budget) {
  std::vector<FieldSelection> fields;
  int n = in.Next() % 5;
  for (int i = 0; i < n && *budget > 0; ++i, --*budget) {
    uint8_t k = in.Next();
    FieldSelection f;
    f.kind = static_cast<FieldSelection::Kind>(k % 4);
    f.source_key = kKeys[in.Next() % kKeyCount];
    f.response_key = (k & 4) ? kKeys[in.Next() % kKeyCount] : f.source_key;
    if (f.kind == FieldSelection::Kind::kTypename) f.response_key = "__typename";
    if (f.kind == FieldSelection::Kind::kObject) {
      f.type_name = kTypes[in.Next() % 4];
      f.select_all = (k & 8) != 0;
      if (!(k & 16) && depth < 4) f.fields = BuildFields(in, depth + 1, budget);
    }
    fields.push_back(std::move(f));
  }
  return fields;
}

[[noreturn]] void Violated(const char* what, absl::string_view row,
                           const std::string& detail) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\nrow: %s\n%s\n", what,
               absl::CHexEscape(row).c_str(), detail.c_str());
  std::abort();
}

// An RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsNumber(absl::string_view n) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < n.size() && n[i] >= '0' && n[i] <= '9') ++i;
    return i > start;
  };
  if (i < n.size() && n[i] == '-') ++i;
  if (i < n.size() && n[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < n.size() && n[i] == '.' && (++i, !digits())) return false;
  if (i < n.size() && (n[i] == 'e' || n[i] == 'E')) {
    ++i;
    if (i < n.size() && (n[i] == '+' || n[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == n.size();
}

// Valid JSON and UTF-8, an object at the top, compact. Numbers are copied
// as text (1e400 stays), which RapidJSON 1.1 refuses even as strings: each
// number is checked here and replaced by 0 before RapidJSON reads the rest.
void CheckOutput(absl::string_view row, const std::string& json) {
  std::string zeroed;
  bool in_str = false;
  for (size_t i = 0; i < json.size();) {
    char c = json[i];
    if (in_str) {
      zeroed += c;
      if (c == '\\' && i + 1 < json.size()) {
        zeroed += json[i + 1];
        i += 2;
        continue;
      }
      if (c == '"') in_str = false;
      ++i;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t end = json.find_first_not_of("+-.0123456789eE", i);
      if (end == std::string::npos) end = json.size();
      if (!IsNumber(absl::string_view(json).substr(i, end - i))) {
        Violated("output has a malformed number", row, json);
      }
      zeroed += '0';
      i = end;
    } else {
      if (c == '"') in_str = true;
      zeroed += c;
      ++i;
    }
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag |
            rapidjson::kParseIterativeFlag>(zeroed.data(), zeroed.size());
  if (doc.HasParseError()) {
    Violated("output is not valid JSON", row,
             json + "\n" + rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject()) Violated("output is not an object", row, json);
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      Violated("output is not compact", row, json);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t len = std::min<size_t>(data[0], size - 1);
  Bytes desc(absl::string_view(reinterpret_cast<const char*>(data) + 1, len));
  absl::string_view row(reinterpret_cast<const char*>(data) + 1 + len,
                        size - 1 - len);

  SelectionSet selection;
  ProjectionOptions options;
  uint8_t flags = desc.Next();
  selection.select_all = flags & 1;
  options.always_typename = flags & 2;
  selection.type_name = kTypes[(flags >> 2) & 3];
  int budget = 64;
  selection.fields = BuildFields(desc, 0, &budget);
  Projector projector(selection, options);

  const std::string prefix = "[prefix,";
  std::string out = prefix;
  absl::Status s = projector.AppendRow(row, &out);
  if (!s.ok()) {
    if (s.code() != absl::StatusCode::kInvalidArgument || s.message().empty()) {
      Violated("error is not InvalidArgument with a message", row, s.ToString());
    }
    if (out != prefix) Violated("*out changed on error", row, out);
    return 0;
  }
  if (out.compare(0, prefix.size(), prefix) != 0) {
    Violated("*out's earlier bytes changed", row, out);
  }
  std::string json = out.substr(prefix.size());
  CheckOutput(row, json);

  std::string again;
  s = Projector(projector).AppendRow(row, &again);
  if (!s.ok() || again != json) {
    Violated("the same row gives other bytes", row, json + "\n" + again);
  }

  if (selection.select_all && selection.fields.empty() &&
      !options.always_typename) {
    std::string twice;
    s = projector.AppendRow(json, &twice);
    if (!s.ok() || twice != json) {
      Violated("select_all is not a fixed point", row,
               json + "\n" + twice + "\n" + s.ToString());
    }
  }
  return 0;
}
