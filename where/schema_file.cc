#include "where/schema_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "where/json_value.h"

namespace fraiseql::where {
namespace {

constexpr size_t kMaxFileBytes = 16 << 20;
constexpr int kMaxJsonDepth = 16;  // the format nests 4 levels deep

bool IsPlainKey(absl::string_view key) {
  if (key.empty() || absl::ascii_isdigit(key[0])) return false;
  for (char c : key) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

// `parent.key`, or `parent["key"]` when the key would not read as one name.
std::string MemberPath(absl::string_view parent, absl::string_view key) {
  if (IsPlainKey(key)) {
    return parent.empty() ? std::string(key) : absl::StrCat(parent, ".", key);
  }
  return absl::StrCat(parent, "[\"", absl::Utf8SafeCHexEscape(key), "\"]");
}

std::string ItemPath(absl::string_view parent, size_t index) {
  return absl::StrCat(parent, "[", index, "]");
}

// The same status with the place in the file in front of its message.
absl::Status At(absl::string_view path, const absl::Status& status) {
  return absl::Status(
      status.code(),
      absl::StrCat(path.empty() ? "(top level)" : path, ": ", status.message()));
}

absl::Status Expected(absl::string_view path, absl::string_view expected,
                      const JsonValue& got) {
  return At(path, absl::InvalidArgumentError(absl::StrCat(
                      "expected ", expected, ", got ", got.TypeDescription())));
}

absl::Status CheckKeys(const JsonValue& object, absl::string_view path,
                       std::initializer_list<absl::string_view> known) {
  for (const auto& [key, value] : object.members()) {
    bool ok = false;
    for (absl::string_view k : known) ok = ok || k == key;
    if (!ok) {
      return At(MemberPath(path, key),
                absl::InvalidArgumentError(absl::StrCat(
                    "unknown key; expected one of ", absl::StrJoin(known, ", "))));
    }
  }
  return absl::OkStatus();
}

const JsonValue* FindMember(const JsonValue& object, absl::string_view key) {
  for (const auto& [k, v] : object.members()) {
    if (k == key) return &v;
  }
  return nullptr;
}

absl::StatusOr<std::string> ReadString(const JsonValue& value,
                                       absl::string_view path,
                                       absl::string_view expected) {
  if (!value.is_string()) return Expected(path, expected, value);
  return value.text();
}

// An object whose members are all strings, in file order.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadStringMap(
    const JsonValue& value, absl::string_view path,
    absl::string_view what_values) {
  if (!value.is_object()) {
    return Expected(path, absl::StrCat("an object of ", what_values), value);
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, member] : value.members()) {
    ASSIGN_OR_RETURN(std::string text,
                     ReadString(member, MemberPath(path, key),
                                absl::StrCat("a string (", what_values, ")")));
    out.emplace_back(key, std::move(text));
  }
  return out;
}

std::vector<FieldSpec> ToFieldSpecs(
    const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<FieldSpec> specs;
  for (const auto& [key, kind] : pairs) specs.push_back({key, kind});
  return specs;
}

// The type a kind names, as Schema reads it: `[Address!]` -> `Address`.
absl::string_view KindTypeName(absl::string_view kind) {
  kind = absl::StripAsciiWhitespace(kind);
  if (absl::StartsWith(kind, "[") && absl::EndsWith(kind, "]")) {
    kind = absl::StripAsciiWhitespace(kind.substr(1, kind.size() - 2));
    absl::ConsumeSuffix(&kind, "!");
  }
  return kind;
}

// Line and column (both from 1) of a byte offset.
std::string LineColumn(absl::string_view text, size_t offset) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return absl::StrCat("line ", line, ", column ", column);
}

// ParseJson's "invalid JSON at byte N: ..." with the line and column first.
absl::Status JsonSyntaxError(absl::string_view text,
                             const absl::Status& status) {
  absl::string_view message = status.message();
  size_t at = message.find("at byte ");
  size_t offset = 0;
  if (at != absl::string_view::npos) {
    absl::string_view digits = message.substr(at + 8);
    size_t n = 0;
    while (n < digits.size() && absl::ascii_isdigit(digits[n])) ++n;
    if (n > 0 && absl::SimpleAtoi(digits.substr(0, n), &offset)) {
      return absl::InvalidArgumentError(
          absl::StrCat(LineColumn(text, offset), ": ", message));
    }
  }
  return absl::InvalidArgumentError(message);
}

bool IsOperatorKeySyntax(absl::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.' ||
      s.find('.') == absl::string_view::npos ||
      s.find("..") != absl::string_view::npos) {
    return false;
  }
  for (char c : s) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_' &&
        c != '.') {
      return false;
    }
  }
  return true;
}

absl::Status CheckAllowedOperator(const std::string& entry,
                                  absl::string_view path,
                                  const OperatorRegistry* operators) {
  if (operators == nullptr) {
    if (IsPlainKey(entry) || IsOperatorKeySyntax(entry)) {
      return absl::OkStatus();
    }
    return At(path, absl::InvalidArgumentError(absl::StrCat(
                        "invalid operator '", absl::Utf8SafeCHexEscape(entry),
                        "'; expected an operator name (startsWith) or key "
                        "(where.string.starts_with)")));
  }
  const Operator* alias_of = nullptr;
  for (const Operator* op : operators->List()) {
    const OperatorInfo& info = op->info();
    if (info.name == entry || info.key == entry) return absl::OkStatus();
    for (const std::string& alias : info.aliases) {
      if (alias == entry && alias_of == nullptr) alias_of = op;
    }
  }
  if (alias_of != nullptr) {
    return At(path, absl::InvalidArgumentError(absl::StrCat(
                        "'", entry, "' is an alias of ", alias_of->info().name,
                        " (", alias_of->info().key,
                        "); an allow-list takes canonical names or keys")));
  }
  std::string hint = operators->Suggest(entry);
  return At(path,
            absl::InvalidArgumentError(absl::StrCat(
                "unknown operator '", absl::Utf8SafeCHexEscape(entry), "'",
                hint.empty() ? "" : absl::StrCat("; did you mean ", hint, "?"))));
}

// The smallest k in [1, n] with `fails(k)`, or 0 when `fails(n)` does not
// hold. Schema checks the members of a declaration in order and a longer
// prefix never repairs a shorter one, so failing is monotone in k and a
// binary search finds the first bad member in O(log n) trials.
template <typename Fails>
size_t FirstFailingPrefix(size_t n, Fails fails) {
  if (n == 0 || !fails(n)) return 0;
  size_t lo = 1;
  size_t hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (fails(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return hi;
}

// After Schema rejected a whole declaration, finds the member of the file
// that makes it fail by registering prefixes of it on copies of `base` (the
// schema before the declaration). Schema stays the only judge of what is
// valid; this only decides where to point. Runs on errors only.
absl::Status LocateTypeError(const Schema& base, absl::string_view name,
                             const std::vector<FieldSpec>& fields,
                             absl::string_view path,
                             const std::vector<std::string>& file_types,
                             const absl::Status& error) {
  auto try_add = [&](size_t n) {
    Schema scratch = base;
    return scratch.AddObjectType(
        name, std::vector<FieldSpec>(fields.begin(), fields.begin() + n));
  };
  if (absl::Status s = try_add(0); !s.ok()) return At(path, s);
  size_t n = FirstFailingPrefix(fields.size(),
                                [&](size_t k) { return !try_add(k).ok(); });
  if (n == 0) return At(path, error);
  absl::Status s = try_add(n);
  const FieldSpec& field = fields[n - 1];
  std::string hint;
  absl::string_view named = KindTypeName(field.kind);
  if (base.FindObjectType(named) == nullptr) {
    for (const std::string& later : file_types) {
      if (later == named) {
        hint = absl::StrCat("; types are registered in file order: declare ",
                            later, " above ", name);
      }
    }
  }
  return At(MemberPath(path, field.key),
            absl::Status(s.code(), absl::StrCat(s.message(), hint)));
}

absl::Status LocateViewError(const Schema& base, const ViewSpec& full,
                             absl::string_view path, const absl::Status& error) {
  auto try_add = [&base](const ViewSpec& spec) {
    Schema scratch = base;
    return scratch.AddView(spec);
  };
  ViewSpec spec;
  spec.name = full.name;
  spec.type_name = full.type_name;
  spec.jsonb_column.clear();
  if (absl::Status s = try_add(spec); !s.ok()) {
    ViewSpec name_only = spec;
    name_only.type_name = "T";
    bool name_bad = !try_add(name_only).ok();
    return At(MemberPath(path, name_bad ? "name" : "type"), s);
  }
  spec.text_search_config = full.text_search_config;
  if (absl::Status s = try_add(spec); !s.ok()) {
    return At(MemberPath(path, "text_search_config"), s);
  }
  // Grows one list of `spec` member by member (`list` points into it);
  // the first member that fails, with its error.
  auto first_bad = [&](auto* list, const auto& all, absl::string_view what,
                       auto key_of) -> absl::Status {
    auto with_prefix = [&](size_t k) {
      list->assign(all.begin(), all.begin() + k);
      return try_add(spec);
    };
    size_t n = FirstFailingPrefix(
        all.size(), [&](size_t k) { return !with_prefix(k).ok(); });
    if (n == 0) {
      list->assign(all.begin(), all.end());
      return absl::OkStatus();
    }
    absl::Status s = with_prefix(n);
    return At(MemberPath(MemberPath(path, what), key_of(all[n - 1])), s);
  };
  auto first = [](const auto& pair) -> const std::string& { return pair.first; };
  RETURN_IF_ERROR(first_bad(&spec.columns, full.columns, "columns", first));
  spec.jsonb_column = full.jsonb_column;
  if (absl::Status s = try_add(spec); !s.ok()) {
    return At(MemberPath(path, "jsonb_column"), s);
  }
  RETURN_IF_ERROR(first_bad(&spec.fields, full.fields, "fields",
                            [](const FieldSpec& f) -> const std::string& {
                              return f.key;
                            }));
  RETURN_IF_ERROR(
      first_bad(&spec.foreign_keys, full.foreign_keys, "foreign_keys", first));
  return At(path, error);
}

absl::Status LoadTypes(const JsonValue& types, Schema* schema) {
  if (!types.is_object()) {
    return Expected("types", "an object {TypeName: {key: kind, ...}}", types);
  }
  std::vector<std::string> file_types;
  for (const auto& [name, fields] : types.members()) file_types.push_back(name);
  for (const auto& [name, fields_json] : types.members()) {
    std::string path = MemberPath("types", name);
    ASSIGN_OR_RETURN(auto pairs, ReadStringMap(fields_json, path, "kinds"));
    std::vector<FieldSpec> fields = ToFieldSpecs(pairs);
    absl::Status added = schema->AddObjectType(name, fields);
    if (!added.ok()) {
      return LocateTypeError(*schema, name, fields, path, file_types, added);
    }
  }
  return absl::OkStatus();
}

absl::Status LoadView(const JsonValue& view, const std::string& path,
                      const LoadSchemaOptions& options, Schema* schema) {
  if (!view.is_object()) return Expected(path, "an object", view);
  RETURN_IF_ERROR(CheckKeys(view, path,
                            {"name", "type", "jsonb_column", "columns",
                             "fields", "foreign_keys", "operators",
                             "text_search_config"}));
  ViewSpec spec;
  for (absl::string_view required : {"name", "type"}) {
    if (FindMember(view, required) == nullptr) {
      return At(path, absl::InvalidArgumentError(
                          absl::StrCat("missing required key \"", required,
                                       "\"")));
    }
  }
  for (const auto& [key, value] : view.members()) {
    std::string member = MemberPath(path, key);
    if (key == "name") {
      ASSIGN_OR_RETURN(spec.name,
                       ReadString(value, member, "a string (the SQL view name)"));
    } else if (key == "type") {
      ASSIGN_OR_RETURN(spec.type_name,
                       ReadString(value, member, "a string (a GraphQL type name)"));
    } else if (key == "jsonb_column") {
      if (value.is_null()) {
        spec.jsonb_column.clear();
      } else {
        ASSIGN_OR_RETURN(spec.jsonb_column,
                         ReadString(value, member, "a column name or null"));
      }
    } else if (key == "columns") {
      ASSIGN_OR_RETURN(spec.columns,
                       ReadStringMap(value, member, "PostgreSQL types"));
    } else if (key == "fields") {
      ASSIGN_OR_RETURN(auto pairs, ReadStringMap(value, member, "kinds"));
      spec.fields = ToFieldSpecs(pairs);
    } else if (key == "foreign_keys") {
      ASSIGN_OR_RETURN(spec.foreign_keys,
                       ReadStringMap(value, member, "column names"));
    } else if (key == "operators") {
      if (!value.is_array()) {
        return Expected(member, "a list of operator names or keys", value);
      }
      for (size_t i = 0; i < value.items().size(); ++i) {
        std::string item = ItemPath(member, i);
        ASSIGN_OR_RETURN(std::string name,
                         ReadString(value.items()[i], item,
                                    "a string (an operator name or key)"));
        RETURN_IF_ERROR(CheckAllowedOperator(name, item, options.operators));
        spec.allowed_operators.push_back(std::move(name));
      }
    } else if (key == "text_search_config") {
      ASSIGN_OR_RETURN(spec.text_search_config,
                       ReadString(value, member,
                                  "a string (a text search configuration)"));
    }
  }
  absl::Status added = schema->AddView(spec);
  if (!added.ok()) return LocateViewError(*schema, spec, path, added);
  return absl::OkStatus();
}

}  // namespace

absl::Status LoadSchemaJson(absl::string_view json_text, Schema* schema,
                            const LoadSchemaOptions& options) {
  absl::StatusOr<JsonValue> root = ParseJson(json_text, kMaxJsonDepth);
  if (!root.ok()) return JsonSyntaxError(json_text, root.status());
  if (!root->is_object()) {
    return Expected("", "an object {\"types\": ..., \"views\": [...]}", *root);
  }
  RETURN_IF_ERROR(CheckKeys(*root, "", {"types", "views"}));
  // Registered on a copy, swapped in at the end: all or nothing.
  Schema staged = *schema;
  if (const JsonValue* types = FindMember(*root, "types"); types != nullptr) {
    RETURN_IF_ERROR(LoadTypes(*types, &staged));
  }
  if (const JsonValue* views = FindMember(*root, "views"); views != nullptr) {
    if (!views->is_array()) {
      return Expected("views", "a list of view objects", *views);
    }
    for (size_t i = 0; i < views->items().size(); ++i) {
      RETURN_IF_ERROR(
          LoadView(views->items()[i], ItemPath("views", i), options, &staged));
    }
  }
  *schema = std::move(staged);
  return absl::OkStatus();
}

absl::Status LoadSchemaFile(const std::string& path, Schema* schema,
                            const LoadSchemaOptions& options) {
  auto in_file = [&path](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    int error = errno;
    return in_file(absl::ErrnoToStatus(error, "cannot open the schema file"));
  }
  std::string text;
  char buffer[64 * 1024];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    text.append(buffer, n);
    if (text.size() > kMaxFileBytes) {
      std::fclose(file);
      return in_file(absl::InvalidArgumentError(absl::StrCat(
          "schema file too large: more than ", kMaxFileBytes, " bytes")));
    }
  }
  bool failed = std::ferror(file) != 0;
  int error = errno;
  std::fclose(file);
  if (failed) {
    return in_file(absl::ErrnoToStatus(error, "cannot read the schema file"));
  }
  absl::Status loaded = LoadSchemaJson(text, schema, options);
  return loaded.ok() ? loaded : in_file(loaded);
}

}  // namespace fraiseql::where
