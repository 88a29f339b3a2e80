// libFuzzer target over the filter language and the planner: `where` JSON,
// `orderBy` JSON, selection text and pagination, planned against a fixed
// schema (every field kind, nested objects, a foreign key, a view without a
// JSONB column whose columns have several declared types, one undeclared, a
// view with an operator allow-list) with the built-in
// operator registry. Built and run outside Bazel by ci/fuzz (clang,
// -fsanitize=fuzzer,address,undefined).
//
// Input: an 8-byte header of options, then up to five segments separated by
// NUL bytes (JSON and GraphQL text never need a raw NUL):
//
//   header | where JSON \0 orderBy JSON \0 selection text \0 cursor JSON
//          \0 aggregate field
//
// The header, byte by byte (missing bytes are 0):
//   0 view (mod 3)     1 operation (mod 8, v1::RootField::Operation)
//   2 flags: 1 single object, 2 limit, 4 offset, 8 first, 16 last,
//            32 totalCount, 64 after, 128 before
//   3 limit  4 offset  5 first  6 last (each a signed byte)
//   7 mode:  1 the where segment is not JSON but the choices of a generator
//            of `where` inputs (the view's fields, operators of their kinds,
//            typical values of every kind), which reaches every operator far
//            sooner than byte mutations of JSON do; 2 the same for orderBy;
//            4 instead of planning, the where segment is a schema file for
//            LoadSchemaJson, whose new views are then planned unfiltered.
// With after/before, the cursor is the cursor JSON (an array of key values)
// encoded with the fingerprint of the same root planned without cursors, or
// the segment's raw text when there is none.
//
// Besides "never crashes" (ASan, UBSan, no abort, no timeout), every input
// is checked for:
//   - errors: planning fails only with InvalidArgument and a message;
//   - the statement: placeholders are exactly $1..$N for N parameters
//     (each used at least once, none beyond N); quotes and parentheses
//     balance; no `;`, `--` or `/*`, no `$` that is not a placeholder; every
//     double-quoted identifier is a name of the schema; no NUL byte; no
//     parameter text holds a NUL byte (libpq would cut the value there);
//   - the shape cache: a planner with its cache (a miss, then a hit) returns
//     exactly what a planner without one does;
//   - no user text in SQL, stated as the spec's "the same filter shape
//     always yields the same SQL text, values differ only in parameters":
//     the input is planned again with every string and number value of
//     `where` changed (the last letter's case swapped, or the last digit's
//     low bit flipped, which keeps most values valid: dates, UUIDs,
//     addresses, e-mails) and the pagination numbers too; again with every
//     `where` key that is not a schema or operator name changed; again with
//     the orderBy text changed so; again with other cursor values. When a
//     variant plans too, its SQL text must be the same and its parameters
//     the same in number and types. This is sound where a substring test is
//     not: schema names, SQL keywords and operator constants legitimately
//     appear in SQL and may equal user text, but they never change with the
//     value. Booleans are never changed: they may select another statement
//     (`isnull: true`/`false`).
//
// FILTER_FUZZER_VERBOSE=1 prints what each input planned to (for writing
// seeds); FILTER_FUZZER_STRICT_MESSAGES=1 also fails on raw control
// characters in error messages (input text echoed unescaped).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "planner/cursor.h"
#include "planner/planner.h"
#include "planner/selection_text.h"
#include "proto/query.pb.h"
#include "where/json_value.h"
#include "where/operator.h"
#include "where/schema.h"
#include "where/schema_file.h"

namespace {

using fraiseql::planner::Plan;
using fraiseql::planner::Planner;
using fraiseql::planner::PlannerOptions;
using fraiseql::planner::RootPlan;
using fraiseql::v1::RootField;
using fraiseql::where::JsonValue;

constexpr char kSchemaJson[] = R"json({
  "types": {
    "Geo": {"lat_lng": "Coordinate", "label": "String"},
    "Address": {"street": "String", "city_name": "String",
                "postal_code": "String", "geo": "Geo", "tags": "[String]"},
    "Author": {"id": "UUID", "name": "String", "address": "Address"}
  },
  "views": [
    {"name": "fuzz.v_all", "type": "Item", "jsonb_column": "data",
     "columns": {"id": "uuid", "tenant_id": "uuid", "author_id": "uuid",
                 "seq": "bigint", "created_at": "timestamptz",
                 "search_tsv": "tsvector", "emb": "vector", "data": "jsonb"},
     "fields": {"id": "UUID", "tenant_id": "UUID", "seq": "Int",
                "created_at": "DateTime", "search_tsv": "FullText",
                "emb": "Vector",
                "name": "String", "email": "Email", "host": "Hostname",
                "age": "Int", "score": "Float", "balance": "Decimal",
                "port": "Port", "active": "Boolean", "uid": "UUID",
                "ref": "ID", "birth_date": "Date", "updated_at": "DateTime",
                "ip_address": "IpAddress", "network": "CIDR",
                "mac_address": "MacAddress", "org_path": "LTree",
                "availability": "DateRange", "preferences": "JSON",
                "tags": "[String]", "scores": "[Int]", "homes": "[Address]",
                "embedding": "Vector", "location": "Coordinate",
                "address": "Address", "author": "Author"},
     "foreign_keys": {"author": "author_id"}},
    {"name": "fuzz.v_rows", "type": "Row", "jsonb_column": null,
     "columns": {"id": "uuid", "name": "text", "age": "integer",
                 "ip": "inet", "created_at": "timestamptz",
                 "search_tsv": "tsvector", "tags": "jsonb",
                 "code": "varchar(20)", "price": "real",
                 "seen_at": "timestamp(3)", "ext_id": "int8",
                 "rank": "smallint", "labels": "text[]", "note": ""},
     "fields": {"id": "UUID", "name": "String", "age": "Int",
                "ip": "IpAddress", "created_at": "DateTime",
                "search_tsv": "FullText", "tags": "[String]",
                "code": "String", "price": "Float", "seen_at": "DateTime",
                "ext_id": "ID", "rank": "Int", "labels": "[String]",
                "note": "String"}},
    {"name": "v_limited", "type": "Limited",
     "columns": {"id": "uuid", "author_id": "uuid", "search_tsv": "tsvector",
                 "data": "jsonb"},
     "fields": {"id": "UUID", "title": "String", "views": "Int",
                "search_tsv": "FullText", "author": "Author"},
     "foreign_keys": {"author": "author_id"},
     "operators": ["eq", "in", "isnull", "where.string.starts_with",
                   "where.compare.gt", "websearchQuery"],
     "text_search_config": "pg_catalog.simple"}
  ]
})json";

constexpr const char* kViews[] = {"fuzz.v_all", "fuzz.v_rows", "v_limited"};

struct Fixture {
  fraiseql::where::Schema schema;
  std::unique_ptr<fraiseql::where::OperatorRegistry> operators;
  // Identifiers that may appear double-quoted in SQL.
  std::set<std::string, std::less<>> identifiers;
  // Object keys that name something (fields, operators): never mutated.
  std::set<std::string, std::less<>> names;
  // Operator names and aliases by the kinds they apply to.
  std::map<fraiseql::where::FieldKind, std::vector<std::string>> operators_of;
  std::vector<std::string> all_operators;
};

void AddTypeNames(const fraiseql::where::Schema& schema,
                  const fraiseql::where::ObjectType& type, Fixture* f,
                  int depth) {
  if (depth > 8) return;
  for (const fraiseql::where::FieldDef& field : type.fields()) {
    f->names.insert(field.name);
    f->names.insert(field.key);
    if (!field.object_type.empty()) {
      if (const auto* nested = schema.FindObjectType(field.object_type)) {
        AddTypeNames(schema, *nested, f, depth + 1);
      }
    }
  }
}

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture;
    f->operators = fraiseql::where::MakeBuiltinOperatorRegistry();
    // The allow-list is not checked against the registry, so that renaming
    // an operator never stops the fuzzer (an unknown entry allows nothing).
    absl::Status loaded =
        fraiseql::where::LoadSchemaJson(kSchemaJson, &f->schema);
    if (!loaded.ok()) {
      std::fprintf(stderr, "filter_fuzzer: the fixed schema does not load: %s\n",
                   std::string(loaded.message()).c_str());
      std::abort();
    }
    for (const char* name : kViews) {
      const fraiseql::where::ViewDef* view = f->schema.FindView(name);
      for (absl::string_view part : absl::StrSplit(view->name, '.')) {
        f->identifiers.insert(std::string(part));
      }
      for (absl::string_view part :
           absl::StrSplit(view->text_search_config, '.')) {
        f->identifiers.insert(std::string(part));
      }
      for (const auto& column : view->columns) {
        f->identifiers.insert(column.first);
      }
      AddTypeNames(f->schema, view->type, f, 0);
    }
    for (const fraiseql::where::Operator* op : f->operators->List()) {
      std::vector<std::string> spellings = {op->info().name};
      spellings.insert(spellings.end(), op->info().aliases.begin(),
                       op->info().aliases.end());
      for (const std::string& name : spellings) {
        f->names.insert(name);
        f->all_operators.push_back(name);
        for (auto kind : op->info().kinds) f->operators_of[kind].push_back(name);
      }
    }
    for (const char* logic : {"AND", "OR", "NOT"}) f->names.insert(logic);
    return f;
  }();
  return *fixture;
}

[[noreturn]] void Fail(absl::string_view what, absl::string_view details) {
  std::fprintf(stderr, "\nfilter_fuzzer: INVARIANT VIOLATED: %s\n%s\n",
               std::string(what).c_str(), std::string(details).c_str());
  std::fflush(stderr);
  std::abort();
}

std::string Describe(const RootField& root) {
  return absl::StrCat("view: ", root.view(), "\nwhere: ", root.where_json(),
                      "\norderBy: ", root.order_by_json(),
                      "\noperation: ", root.operation(),
                      "\nroot: ", root.ShortDebugString());
}

std::string Describe(const Plan& plan) {
  std::string out = absl::StrCat("sql: ", plan.sql, "\nparams:");
  for (size_t i = 0; i < plan.params.size(); ++i) {
    const auto& p = plan.params[i];
    absl::StrAppend(&out, "\n  $", i + 1, " ",
                    p.is_null ? "NULL" : absl::StrCat("'", p.text, "'"), "::",
                    p.sql_type);
  }
  return out;
}

// The statement-level checks (see the file comment).
void CheckStatement(const Plan& plan, const RootField& root) {
  const Fixture& f = GetFixture();
  const std::string& sql = plan.sql;
  auto fail = [&](absl::string_view what) {
    Fail(what, absl::StrCat(Describe(root), "\n", Describe(plan)));
  };
  if (sql.empty()) fail("empty SQL text");
  if (sql.find('\0') != std::string::npos) fail("NUL byte in the SQL text");
  for (const auto& p : plan.params) {
    if (p.text.find('\0') != std::string::npos) {
      fail("NUL byte in a parameter (libpq would truncate it)");
    }
  }
  const size_t n = plan.params.size();
  std::vector<bool> used(n + 1, false);
  int depth = 0;
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\'') {
      bool backslash_escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
      ++i;
      bool closed = false;
      while (i < sql.size()) {
        if (backslash_escapes && sql[i] == '\\') {
          i += 2;
          continue;
        }
        if (sql[i] == '\'') {
          if (i + 1 < sql.size() && sql[i + 1] == '\'') {
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        ++i;
      }
      if (!closed) fail("unterminated string literal");
      continue;
    }
    if (c == '"') {
      std::string identifier;
      ++i;
      bool closed = false;
      while (i < sql.size()) {
        if (sql[i] == '"') {
          if (i + 1 < sql.size() && sql[i + 1] == '"') {
            identifier += '"';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        identifier += sql[i++];
      }
      if (!closed) fail("unterminated quoted identifier");
      if (f.identifiers.find(identifier) == f.identifiers.end()) {
        fail(absl::StrCat("quoted identifier \"", identifier,
                          "\" is not a name of the schema"));
      }
      continue;
    }
    if (c == '$') {
      size_t j = i + 1;
      uint64_t number = 0;
      while (j < sql.size() && absl::ascii_isdigit(sql[j]) && number <= n) {
        number = number * 10 + (sql[j] - '0');
        ++j;
      }
      if (j == i + 1) fail("'$' outside a literal that is not a placeholder");
      if (number == 0 || number > n) {
        fail(absl::StrCat("placeholder $", number, " but ", n, " parameters"));
      }
      used[number] = true;
      i = j;
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0) fail("unbalanced ')'");
    if (c == ';') fail("';' in the statement");
    if (i + 1 < sql.size() && ((c == '-' && sql[i + 1] == '-') ||
                               (c == '/' && sql[i + 1] == '*'))) {
      fail("comment start outside a literal");
    }
    ++i;
  }
  if (depth != 0) fail("unbalanced '('");
  for (size_t k = 1; k <= n; ++k) {
    if (!used[k]) fail(absl::StrCat("parameter $", k, " is never used"));
  }
}

bool SamePlan(const Plan& a, const Plan& b) {
  return a.sql == b.sql && a.params == b.params;
}

bool SameRootPlan(const RootPlan& a, const RootPlan& b) {
  if (a.shape != b.shape || a.response_key != b.response_key ||
      a.decimal_numbers != b.decimal_numbers || !SamePlan(a.plan, b.plan) ||
      a.connection.page_size != b.connection.page_size ||
      a.connection.backward != b.connection.backward ||
      a.connection.cursor_fingerprint != b.connection.cursor_fingerprint ||
      a.connection.total_count.has_value() !=
          b.connection.total_count.has_value()) {
    return false;
  }
  return !a.connection.total_count ||
         SamePlan(*a.connection.total_count, *b.connection.total_count);
}

// The same SQL text, and parameters alike in number and types.
bool SameShape(const Plan& a, const Plan& b) {
  if (a.sql != b.sql || a.params.size() != b.params.size()) return false;
  for (size_t i = 0; i < a.params.size(); ++i) {
    if (a.params[i].sql_type != b.params[i].sql_type ||
        a.params[i].is_null != b.params[i].is_null) {
      return false;
    }
  }
  return true;
}

bool SameShape(const RootPlan& a, const RootPlan& b) {
  if (a.shape != b.shape || !SameShape(a.plan, b.plan) ||
      a.connection.total_count.has_value() !=
          b.connection.total_count.has_value()) {
    return false;
  }
  return !a.connection.total_count ||
         SameShape(*a.connection.total_count, *b.connection.total_count);
}

// Plans `root` with a fresh planner without cache and a fresh one with a
// cache (twice: a miss, then a hit); all three must agree.
absl::StatusOr<RootPlan> PlanChecked(const RootField& root) {
  const Fixture& f = GetFixture();
  PlannerOptions no_cache;
  no_cache.cache_capacity = 0;
  Planner uncached(f.schema, *f.operators, {}, no_cache);
  PlannerOptions small_cache;
  small_cache.cache_capacity = 4;
  Planner cached(f.schema, *f.operators, {}, small_cache);

  absl::StatusOr<RootPlan> want = uncached.PlanRoot(root);
  for (int round = 0; round < 2; ++round) {
    absl::StatusOr<RootPlan> got = cached.PlanRoot(root);
    bool same = got.ok() == want.ok() &&
                (got.ok() ? SameRootPlan(*got, *want)
                          : got.status() == want.status());
    if (!same) {
      Fail(round == 0 ? "a cached planner (miss) differs from an uncached one"
                      : "a cached planner (hit) differs from an uncached one",
           absl::StrCat(
               Describe(root), "\nuncached: ",
               want.ok() ? Describe(want->plan) : want.status().ToString(),
               "\ncached: ",
               got.ok() ? Describe(got->plan) : got.status().ToString()));
    }
  }
  if (!want.ok()) {
    if (want.status().code() != absl::StatusCode::kInvalidArgument ||
        want.status().message().empty()) {
      Fail("planning failed with another code than InvalidArgument",
           absl::StrCat(Describe(root), "\nstatus: ", want.status().ToString()));
    }
    // FILTER_FUZZER_STRICT_MESSAGES=1: messages echo input text escaped, so
    // no control character of the input reaches a log line raw.
    static const bool strict =
        std::getenv("FILTER_FUZZER_STRICT_MESSAGES") != nullptr;
    if (strict) {
      for (char c : want.status().message()) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          Fail("raw control character in an error message",
               absl::StrCat(Describe(root), "\nstatus: ",
                            absl::CHexEscape(want.status().ToString())));
        }
      }
    }
    return want;
  }
  CheckStatement(want->plan, root);
  if (want->connection.total_count) {
    CheckStatement(*want->connection.total_count, root);
  }
  return want;
}

// Changes the last letter (case) or digit (low bit) of `s`; false when `s`
// has neither. `digits_only` for number literals (keeps `e` exponents).
bool MutateText(std::string* s, bool digits_only) {
  for (size_t i = s->size(); i-- > 0;) {
    unsigned char c = static_cast<unsigned char>((*s)[i]);
    if (absl::ascii_isdigit(c)) {
      (*s)[i] = static_cast<char>('0' + ((c - '0') ^ 1));
      return true;
    }
    if (!digits_only && absl::ascii_isalpha(c)) {
      (*s)[i] = static_cast<char>(c ^ 0x20);
      return true;
    }
  }
  return false;
}

enum class Mutation { kValues, kKeys };

// A copy of `v` with its string and number values (kValues) or its object
// keys that name nothing (kKeys) changed; `changed` tells whether any was.
JsonValue Mutate(const JsonValue& v, Mutation m, bool* changed) {
  const Fixture& f = GetFixture();
  switch (v.type()) {
    case JsonValue::Type::kString:
    case JsonValue::Type::kNumber: {
      if (m != Mutation::kValues) return v;
      std::string text = v.text();
      if (!MutateText(&text, v.is_number())) return v;
      *changed = true;
      return v.is_number() ? JsonValue::Number(std::move(text))
                           : JsonValue::String(std::move(text));
    }
    case JsonValue::Type::kArray: {
      std::vector<JsonValue> items;
      for (const JsonValue& item : v.items()) {
        items.push_back(Mutate(item, m, changed));
      }
      return JsonValue::Array(std::move(items));
    }
    case JsonValue::Type::kObject: {
      std::vector<std::pair<std::string, JsonValue>> members;
      for (const auto& [key, value] : v.members()) {
        std::string k = key;
        if (m == Mutation::kKeys && f.names.find(k) == f.names.end() &&
            MutateText(&k, false)) {
          *changed = true;
        }
        members.emplace_back(std::move(k), Mutate(value, m, changed));
      }
      return JsonValue::Object(std::move(members));
    }
    default:
      return v;
  }
}

// `json` with its values or keys changed; false when nothing changed.
bool MutateJson(const std::string& json, Mutation m, std::string* out) {
  if (json.empty()) return false;
  absl::StatusOr<JsonValue> parsed = fraiseql::where::ParseJson(json);
  if (!parsed.ok()) return false;
  bool changed = false;
  JsonValue mutated = Mutate(*parsed, m, &changed);
  if (!changed) return false;
  *out = mutated.ToJson();
  return true;
}

void CheckVariant(const RootField& original, const RootPlan& plan,
                  const RootField& variant, absl::string_view what) {
  absl::StatusOr<RootPlan> other = PlanChecked(variant);
  if (!other.ok()) return;  // the changed value no longer fits: no verdict
  if (!SameShape(plan, *other)) {
    Fail(absl::StrCat("SQL depends on input text, not only on its shape (",
                      what, ")"),
         absl::StrCat("original:\n", Describe(original), "\n",
                      Describe(plan.plan), "\nvariant:\n", Describe(variant),
                      "\n", Describe(other->plan)));
  }
}

// Shape invariance of `root` (which planned as `plan`) under changed
// values, keys, orderBy text and numbers; `cursor_json` rebuilds cursors.
void CheckShapeInvariance(const RootField& root, const RootPlan& plan,
                          const std::string& cursor_json,
                          const std::string& fingerprint) {
  std::string mutated;
  // Every value of `where`, and the pagination numbers.
  {
    RootField variant = root;
    bool changed = MutateJson(root.where_json(), Mutation::kValues, &mutated);
    if (changed) variant.set_where_json(mutated);
    auto flip = [&changed](int64_t v) {
      changed = true;
      return v ^ 1;
    };
    if (root.has_limit()) variant.set_limit(flip(root.limit()));
    if (root.has_offset()) variant.set_offset(flip(root.offset()));
    if (root.has_first()) variant.set_first(flip(root.first()));
    if (root.has_last()) variant.set_last(flip(root.last()));
    if (changed) CheckVariant(root, plan, variant, "where values, numbers");
  }
  if (MutateJson(root.where_json(), Mutation::kKeys, &mutated)) {
    RootField variant = root;
    variant.set_where_json(mutated);
    CheckVariant(root, plan, variant, "where keys");
  }
  {
    RootField variant = root;
    bool changed = false;
    if (MutateJson(root.order_by_json(), Mutation::kValues, &mutated)) {
      variant.set_order_by_json(mutated);
      changed = true;
    }
    std::string keys;
    if (MutateJson(variant.order_by_json(), Mutation::kKeys, &keys)) {
      variant.set_order_by_json(keys);
      changed = true;
    }
    if (changed) CheckVariant(root, plan, variant, "orderBy text");
  }
  if (!fingerprint.empty() && (root.has_after() || root.has_before()) &&
      MutateJson(cursor_json, Mutation::kValues, &mutated)) {
    absl::StatusOr<std::string> cursor =
        fraiseql::planner::EncodeCursor(fingerprint, mutated);
    if (cursor.ok()) {
      RootField variant = root;
      if (root.has_after()) variant.set_after(*cursor);
      if (root.has_before()) variant.set_before(*cursor);
      CheckVariant(root, plan, variant, "cursor values");
    }
  }
}

// Builds `where` and `orderBy` inputs from fuzzer bytes: mostly real fields
// with operators of their kind and typical values of every kind, sometimes
// anything (unknown keys, wrong kinds, odd values), so that error paths stay
// covered too.
class InputGenerator {
 public:
  using FieldKind = fraiseql::where::FieldKind;
  using ObjectType = fraiseql::where::ObjectType;

  explicit InputGenerator(FuzzedDataProvider* in) : in_(*in) {}

  JsonValue Filter(const ObjectType& type, int depth) {
    std::vector<std::pair<std::string, JsonValue>> members;
    int n = in_.ConsumeIntegralInRange(depth == 0 ? 1 : 0, 3);
    for (int i = 0; i < n && in_.remaining_bytes() > 0; ++i) {
      std::string key;
      JsonValue value = JsonValue::Null();
      int choice = in_.ConsumeIntegralInRange(0, 9);
      if (choice <= 6 && !type.fields().empty()) {
        const auto& field = type.fields()[in_.ConsumeIntegralInRange<size_t>(
            0, type.fields().size() - 1)];
        key = in_.ConsumeBool() ? field.name : field.key;
        const ObjectType* nested = f_.schema.FindObjectType(field.object_type);
        if (field.kind == FieldKind::kObject && nested != nullptr &&
            depth < 6 && in_.ConsumeIntegralInRange(0, 3) != 0) {
          value = Filter(*nested, depth + 1);
        } else {
          value = Leaf(field.kind, field.kind == FieldKind::kList
                                       ? field.element_kind
                                       : field.kind);
        }
      } else if (choice <= 8 && depth < 5) {
        int logic = in_.ConsumeIntegralInRange(0, 2);
        key = logic == 0 ? "AND" : logic == 1 ? "OR" : "NOT";
        if (logic == 2) {
          value = Filter(type, depth + 1);
        } else {
          std::vector<JsonValue> items;
          int k = in_.ConsumeIntegralInRange(0, 3);
          for (int j = 0; j < k; ++j) items.push_back(Filter(type, depth + 1));
          value = JsonValue::Array(std::move(items));
        }
      } else {
        key = Text(12);
        value = Value(FieldKind::kString, depth + 1);
      }
      bool taken = false;
      for (const auto& m : members) taken = taken || m.first == key;
      if (!taken) members.emplace_back(std::move(key), std::move(value));
    }
    return JsonValue::Object(std::move(members));
  }

  JsonValue OrderBy(const ObjectType& type) {
    std::vector<JsonValue> items;
    int n = in_.ConsumeIntegralInRange(1, 3);
    for (int i = 0; i < n && in_.remaining_bytes() > 0; ++i) {
      items.push_back(OrderItem(type, 0));
    }
    if (items.size() == 1 && in_.ConsumeBool()) return items[0];
    return JsonValue::Array(std::move(items));
  }

 private:
  JsonValue OrderItem(const ObjectType& type, int depth) {
    if (type.fields().empty()) return JsonValue::Object({});
    const auto& field = type.fields()[in_.ConsumeIntegralInRange<size_t>(
        0, type.fields().size() - 1)];
    std::string key = in_.ConsumeBool() ? field.name : field.key;
    const ObjectType* nested = f_.schema.FindObjectType(field.object_type);
    JsonValue value = JsonValue::Null();
    if (field.kind == FieldKind::kObject && nested != nullptr && depth < 4 &&
        in_.ConsumeIntegralInRange(0, 4) != 0) {
      value = OrderItem(*nested, depth + 1);
    } else {
      static const char* const kDirections[] = {
          "ASC",  "DESC", "ASC_NULLS_FIRST", "ASC_NULLS_LAST",
          "DESC_NULLS_FIRST", "DESC_NULLS_LAST", "asc", "SIDEWAYS", ""};
      value = JsonValue::String(Pick(kDirections));
    }
    return JsonValue::Object({{std::move(key), std::move(value)}});
  }

  // `field: scalar` or `field: {op: value, ...}` for a field of `kind`.
  JsonValue Leaf(FieldKind kind, FieldKind value_kind) {
    if (in_.ConsumeIntegralInRange(0, 5) == 0) return Value(value_kind, 1);
    std::vector<std::pair<std::string, JsonValue>> ops;
    int n = in_.ConsumeIntegralInRange(1, 2);
    auto it = f_.operators_of.find(kind);
    for (int i = 0; i < n; ++i) {
      const std::vector<std::string>& names =
          it != f_.operators_of.end() && in_.ConsumeIntegralInRange(0, 7) != 0
              ? it->second
              : f_.all_operators;
      if (names.empty()) break;
      std::string name =
          names[in_.ConsumeIntegralInRange<size_t>(0, names.size() - 1)];
      bool taken = false;
      for (const auto& m : ops) taken = taken || m.first == name;
      if (!taken) ops.emplace_back(std::move(name), Value(value_kind, 1));
    }
    return JsonValue::Object(std::move(ops));
  }

  JsonValue Value(FieldKind kind, int depth) {
    switch (in_.ConsumeIntegralInRange(0, 14)) {
      case 0:
        return JsonValue::String(Pick(kAnyStrings));
      case 1:
        return JsonValue::String(Text(16));
      case 2:
        return JsonValue::Number(Pick(kNumbers));
      case 3:
        return JsonValue::Number(absl::StrCat(in_.ConsumeIntegral<int32_t>()));
      case 4:
        return JsonValue::Bool(in_.ConsumeBool());
      case 5:
        return JsonValue::Null();
      case 6:
      case 7: {
        std::vector<JsonValue> items;
        int n = depth < 4 ? in_.ConsumeIntegralInRange(0, 3) : 0;
        for (int i = 0; i < n; ++i) items.push_back(Value(kind, depth + 1));
        return JsonValue::Array(std::move(items));
      }
      case 8:
        return Shaped(kind, depth);
      case 9:
        if (depth < 4) {
          return JsonValue::Object(
              {{Text(8), Value(kind, depth + 1)}});
        }
        return JsonValue::Null();
      default:
        return Typical(kind);
    }
  }

  // The object values some operators take.
  JsonValue Shaped(FieldKind kind, int depth) {
    auto number = [this] { return JsonValue::Number(Pick(kNumbers)); };
    switch (in_.ConsumeIntegralInRange(0, 4)) {
      case 0: {
        std::vector<std::pair<std::string, JsonValue>> m;
        m.emplace_back("vector", depth < 4 ? Value(FieldKind::kFloat, depth + 1)
                                           : JsonValue::Array({number()}));
        m.emplace_back("threshold", number());
        if (in_.ConsumeBool()) {
          static const char* const kComparisons[] = {"lt", "lte", "gt", "gte",
                                                     "eq"};
          m.emplace_back("comparison", JsonValue::String(Pick(kComparisons)));
        }
        return JsonValue::Object(std::move(m));
      }
      case 1:
        return JsonValue::Object(
            {{"from", Typical(kind)}, {"to", Typical(kind)}});
      case 2:
        return JsonValue::Object(
            {{"lat", number()}, {"lng", number()}, {"meters", number()}});
      case 3:
        return JsonValue::Object(
            {{"query", JsonValue::String(Pick(kAnyStrings))},
             {"threshold", number()}});
      default:
        return JsonValue::Object({{"lat", number()}, {"lng", number()}});
    }
  }

  // A value of the kind's own format (sometimes a near miss).
  JsonValue Typical(FieldKind kind) {
    switch (kind) {
      case FieldKind::kInt:
      case FieldKind::kFloat:
      case FieldKind::kDecimal:
      case FieldKind::kPort:
        return in_.ConsumeIntegralInRange(0, 5) == 0
                   ? JsonValue::String(Pick(kNumbers))
                   : JsonValue::Number(Pick(kNumbers));
      case FieldKind::kBoolean:
        return JsonValue::Bool(in_.ConsumeBool());
      case FieldKind::kUuid:
      case FieldKind::kId: {
        static const char* const k[] = {"6d757539-96d9-75eb-1276-517c418566c7",
                                         "6D757539-96D9-75EB-1276-517C418566C7",
                                         "6d75753996d975eb1276517c418566c7",
                                         "6d757539-96d9-75eb-1276-517c418566c"};
        return JsonValue::String(Pick(k));
      }
      case FieldKind::kDate: {
        static const char* const k[] = {"2024-03-05", "2024-02-29",
                                        "2023-02-29", "infinity"};
        return JsonValue::String(Pick(k));
      }
      case FieldKind::kDateTime: {
        static const char* const k[] = {"2024-03-05T10:15:00+02:00",
                                        "2024-03-05T10:15:00Z", "2024-03-05",
                                        "2024-03-05 10:15:00.123456"};
        return JsonValue::String(Pick(k));
      }
      case FieldKind::kIpAddress:
      case FieldKind::kCidr: {
        static const char* const k[] = {"10.0.0.1", "192.168.0.0/16", "::1",
                                        "fe80::1/64", "2001:db8::/32",
                                        "::ffff:10.0.0.1", "300.1.1.1"};
        return JsonValue::String(Pick(k));
      }
      case FieldKind::kMacAddress: {
        static const char* const k[] = {"08:00:2b:01:02:03", "08002b010203",
                                        "08-00-2b-01-02-03"};
        return JsonValue::String(Pick(k));
      }
      case FieldKind::kLTree: {
        static const char* const k[] = {"acme.eng.backend", "*.eng.*",
                                        "eng & !frontend", "acme", "a..b"};
        return JsonValue::String(Pick(k));
      }
      case FieldKind::kDateRange: {
        static const char* const k[] = {"[2024-01-01,2024-02-01)",
                                        "2024-03-15", "empty", "(,)",
                                        "[2024-02-01,2024-01-01)"};
        return JsonValue::String(Pick(k));
      }
      case FieldKind::kFullText: {
        static const char* const k[] = {"run & !walk", "\"query planning\" -draft",
                                        "garlic oil", "a <-> b:*"};
        return JsonValue::String(Pick(k));
      }
      case FieldKind::kJson: {
        static const char* const k[] = {"theme", "$.a[*] ? (@ > 1)",
                                        "$.fontSize >= 14", "strict $.x"};
        return JsonValue::String(Pick(k));
      }
      case FieldKind::kVector:
        return JsonValue::String("0101");
      default:
        return JsonValue::String(Pick(kAnyStrings));
    }
  }

  // Random ASCII (control characters and NUL included): valid UTF-8, so
  // the input still parses.
  std::string Text(size_t max_length) {
    std::string s = in_.ConsumeRandomLengthString(max_length);
    for (char& c : s) c = static_cast<char>(c & 0x7f);
    return s;
  }

  template <size_t N>
  std::string Pick(const char* const (&values)[N]) {
    return values[in_.ConsumeIntegralInRange<size_t>(0, N - 1)];
  }

  static constexpr const char* kAnyStrings[] = {
      "Ann", "100%_\\", "a@example.com", "db-1.example.com", "O'Brien",
      "", " ", "\xc3\xa9t\xc3\xa9", "$1", "'; DROP TABLE x; --", "\"x\""};
  static constexpr const char* kNumbers[] = {
      "0",   "1",  "-1",    "42",     "100.50", "1e308", "12345678901234567.89",
      "65535", "65536", "-0", "0.05", "90",     "180",   "2000", "-9223372036854775809"};

  FuzzedDataProvider& in_;
  const Fixture& f_ = GetFixture();
};

// Schema files (where/schema_file.h): never a crash; on error the schema is
// unchanged and the message names a place; a loaded view can be planned.
void FuzzSchemaFile(const std::string& text) {
  const Fixture& f = GetFixture();
  fraiseql::where::Schema schema = f.schema;
  fraiseql::where::LoadSchemaOptions options;
  options.operators = f.operators.get();
  std::vector<std::string> before = schema.ViewNames();
  absl::Status loaded = fraiseql::where::LoadSchemaJson(text, &schema, options);
  if (!loaded.ok()) {
    if ((loaded.code() != absl::StatusCode::kInvalidArgument &&
         loaded.code() != absl::StatusCode::kAlreadyExists) ||
        loaded.message().find(": ") == absl::string_view::npos) {
      Fail("LoadSchemaJson failed without a place or with an odd code",
           loaded.ToString());
    }
    if (schema.ViewNames() != before) {
      Fail("LoadSchemaJson changed the schema although it failed",
           loaded.ToString());
    }
    return;
  }
  PlannerOptions no_cache;
  no_cache.cache_capacity = 0;
  Planner planner(schema, *f.operators, {}, no_cache);
  for (const std::string& name : schema.ViewNames()) {
    if (f.schema.FindView(name) != nullptr) continue;
    RootField root;
    root.set_response_key("items");
    root.set_view(name);
    root.set_is_list(true);
    absl::StatusOr<RootPlan> plan = planner.PlanRoot(root);
    if (!plan.ok() &&
        plan.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail("a loaded view does not plan", plan.status().ToString());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  GetFixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHeader = 8;
  std::string header(reinterpret_cast<const char*>(data),
                     size < kHeader ? size : kHeader);
  absl::string_view rest =
      size < kHeader ? absl::string_view()
                     : absl::string_view(reinterpret_cast<const char*>(data) +
                                             kHeader,
                                         size - kHeader);
  std::vector<std::string> parts =
      absl::StrSplit(rest, absl::MaxSplits('\0', 4));
  parts.resize(5);
  auto byte = [&header](size_t i) -> uint8_t {
    return i < header.size() ? static_cast<uint8_t>(header[i]) : 0;
  };
  uint8_t flags = byte(2);

  if (byte(7) & 4) {
    FuzzSchemaFile(parts[0]);
    return 0;
  }

  RootField root;
  root.set_response_key("items");
  root.set_view(kViews[byte(0) % 3]);
  root.set_operation(static_cast<RootField::Operation>(byte(1) % 8));
  root.set_is_list((flags & 1) == 0);
  root.set_where_json(parts[0]);
  root.set_order_by_json(parts[1]);
  if (byte(7) & 3) {
    const auto* view = GetFixture().schema.FindView(root.view());
    if (byte(7) & 1) {
      FuzzedDataProvider in(reinterpret_cast<const uint8_t*>(parts[0].data()),
                            parts[0].size());
      root.set_where_json(InputGenerator(&in).Filter(view->type, 0).ToJson());
    }
    if (byte(7) & 2) {
      FuzzedDataProvider in(reinterpret_cast<const uint8_t*>(parts[1].data()),
                            parts[1].size());
      root.set_order_by_json(InputGenerator(&in).OrderBy(view->type).ToJson());
    }
  }
  if (flags & 2) root.set_limit(static_cast<int8_t>(byte(3)));
  if (flags & 4) root.set_offset(static_cast<int8_t>(byte(4)));
  if (flags & 8) root.set_first(static_cast<int8_t>(byte(5)));
  if (flags & 16) root.set_last(static_cast<int8_t>(byte(6)));
  if (flags & 32) root.set_include_total_count(true);
  if (!parts[4].empty()) root.set_aggregate_field(parts[4]);
  if (!parts[2].empty()) {
    auto selection = fraiseql::planner::ParseSelectionText(parts[2]);
    // A selection that does not parse still lets the rest be planned.
    if (selection.ok()) {
      root.set_has_selection(true);
      for (auto& s : *selection) *root.add_selection() = std::move(s);
    }
  }

  absl::StatusOr<RootPlan> plan = PlanChecked(root);
  std::string fingerprint;
  if ((flags & (64 | 128)) != 0) {
    // Cursors of this very ordering, when the root plans as a connection.
    if (plan.ok()) fingerprint = plan->connection.cursor_fingerprint;
    std::string cursor = parts[3];
    if (!fingerprint.empty()) {
      absl::StatusOr<std::string> encoded =
          fraiseql::planner::EncodeCursor(fingerprint, parts[3]);
      if (encoded.ok()) cursor = *encoded;
    }
    if (flags & 64) root.set_after(cursor);
    if (flags & 128) root.set_before(cursor);
    plan = PlanChecked(root);
  }
  // FILTER_FUZZER_VERBOSE=1: what each input planned to (to write seeds).
  static const bool verbose = std::getenv("FILTER_FUZZER_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "%s\n=> %s\n\n", Describe(root).c_str(),
                 plan.ok() ? Describe(plan->plan).c_str()
                           : plan.status().ToString().c_str());
  }
  if (plan.ok()) CheckShapeInvariance(root, *plan, parts[3], fingerprint);
  return 0;
}
