#include "plugins/parity/comparator.h"

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/golden_file.h"

namespace fraiseql::parity {
namespace {

// `kind path | primary | candidate | rule`, as the golden files write a
// difference.
std::string DiffLine(const Difference& d) {
  return absl::StrCat(DifferenceKindName(d.kind), " ", d.path, " | ",
                      d.primary.value_or("-"), " | ", d.candidate.value_or("-"),
                      " | ", d.rule.empty() ? "-" : d.rule);
}

TEST(Comparator, GoldenCases) {
  const std::vector<testing::GoldenBlock> blocks =
      testing::ReadGoldenFile("plugins/parity/testdata/comparisons.golden");
  ASSERT_GT(blocks.size(), 40u);
  for (const testing::GoldenBlock& block : blocks) {
    SCOPED_TRACE(absl::StrCat(block.file, ":", block.line, ": ", block.name));
    std::string primary;
    std::string candidate;
    CompareOptions options;
    std::vector<std::string> want_diffs;
    std::string want_counts = "0 0 0";
    bool want_truncated = false;
    std::string want_error;
    for (const auto& [key, value] : block.fields) {
      if (key == "primary") {
        primary = value;
      } else if (key == "candidate") {
        candidate = value;
      } else if (key == "ignore") {
        options.ignore.push_back(value);
      } else if (key == "rule") {
        std::vector<std::string> parts = absl::StrSplit(value, ' ');
        ASSERT_EQ(parts.size(), 2u) << value;
        options.rules.push_back({parts[0], parts[1]});
      } else if (key == "check_key_order") {
        options.check_key_order = value == "true";
      } else if (key == "redact") {
        options.redact = value == "true";
      } else if (key == "max_differences") {
        ASSERT_TRUE(absl::SimpleAtoi(value, &options.max_differences)) << value;
      } else if (key == "diff") {
        want_diffs.push_back(value);
      } else if (key == "counts") {
        want_counts = value;
      } else if (key == "truncated") {
        want_truncated = value == "true";
      } else if (key == "error") {
        want_error = value;
      } else {
        ADD_FAILURE() << "unknown field " << key;
      }
    }
    absl::StatusOr<Comparison> result = Compare(primary, candidate, options);
    if (!want_error.empty()) {
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_TRUE(absl::StartsWith(result.status().message(), want_error))
          << result.status();
      continue;
    }
    ASSERT_TRUE(result.ok()) << result.status();
    std::vector<std::string> got;
    for (const Difference& d : result->differences) got.push_back(DiffLine(d));
    EXPECT_EQ(got, want_diffs);
    EXPECT_EQ(absl::StrCat(result->unexplained, " ", result->explained, " ",
                           result->ignored),
              want_counts);
    EXPECT_EQ(result->truncated, want_truncated);
    EXPECT_EQ(result->equal(), result->unexplained == 0);
    // The comparison is symmetric in what it finds (sides swapped, missing
    // and extra swap too), for every case without a rule.
    if (options.rules.empty()) {
      absl::StatusOr<Comparison> swapped = Compare(candidate, primary, options);
      ASSERT_TRUE(swapped.ok()) << swapped.status();
      EXPECT_EQ(swapped->unexplained + swapped->ignored,
                result->unexplained + result->ignored);
    }
  }
}

std::string Nested(size_t depth, absl::string_view open, absl::string_view close,
                   absl::string_view inner) {
  std::string out;
  out.reserve(depth * (open.size() + close.size()) + inner.size());
  for (size_t i = 0; i < depth; ++i) out.append(open.data(), open.size());
  out.append(inner.data(), inner.size());
  for (size_t i = 0; i < depth; ++i) out.append(close.data(), close.size());
  return out;
}

TEST(Comparator, DeepNestingIsRefusedNotACrash) {
  const std::string deep = Nested(100000, "[", "]", "1");
  absl::StatusOr<Comparison> result = Compare(deep, "[1]", CompareOptions());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status().message(),
            "the primary body is nested deeper than 512 levels at byte 512");
  result = Compare("{}", Nested(100000, "{\"a\":", "}", "1"), CompareOptions());
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(absl::StartsWith(result.status().message(),
                               "the candidate body is nested deeper than 512"))
      << result.status();
}

TEST(Comparator, DepthUpToTheLimitIsCompared) {
  CompareOptions options;
  options.max_depth = 512;
  absl::StatusOr<Comparison> result =
      Compare(Nested(512, "[", "]", "1"), Nested(512, "[", "]", "2"), options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->differences.size(), 1u);
  EXPECT_EQ(result->differences[0].path.size(), 512u * 3);  // [0] per level
}

// Nothing recurses on depth: a 100 000-level body compares when allowed.
TEST(Comparator, NoRecursionOnDepth) {
  CompareOptions options;
  options.max_depth = 200000;
  const std::string a = Nested(100000, "{\"k\":[", "]}", "1.50");
  const std::string b = Nested(100000, "{\"k\":[", "]}", "2");
  absl::StatusOr<Comparison> same = Compare(a, a, options);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_TRUE(same->equal());
  options.max_differences = 0;  // paths of 100 000 levels are not kept
  absl::StatusOr<Comparison> differ = Compare(a, b, options);
  ASSERT_TRUE(differ.ok()) << differ.status();
  EXPECT_EQ(differ->unexplained, 1);
  options.max_differences = 1;
  options.max_depth = 200001;  // one more level: the innermost []
  differ = Compare(a, Nested(100000, "{\"k\":[", "]}", "[]"), options);
  ASSERT_TRUE(differ.ok()) << differ.status();
  ASSERT_EQ(differ->differences.size(), 1u);
  EXPECT_EQ(differ->differences[0].kind, DifferenceKind::kType);
}

TEST(Comparator, LargeArraysReorderedAndBeyondTheOrderCheck) {
  std::string a = "[";
  std::string b = "[";
  constexpr int kN = 50000;
  for (int i = 0; i < kN; ++i) {
    absl::StrAppend(&a, i == 0 ? "" : ",", "{\"id\":", i, "}");
    absl::StrAppend(&b, i == 0 ? "" : ",", "{\"id\":", kN - 1 - i, "}");
  }
  a += "]";
  b += "]";
  absl::StatusOr<Comparison> result = Compare(a, b, CompareOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->differences.size(), 1u);
  EXPECT_EQ(result->differences[0].kind, DifferenceKind::kArrayOrder);
  EXPECT_EQ(result->differences[0].path, "");

  CompareOptions small;
  small.max_order_check_elements = 1000;
  small.max_differences = 3;
  result = Compare(a, b, small);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->unexplained, kN);  // every position but none is equal
  ASSERT_EQ(result->differences.size(), 3u);
  EXPECT_EQ(DiffLine(result->differences[0]),
            absl::StrCat("number [0].id | 0 | ", kN - 1, " | -"));
  EXPECT_TRUE(result->truncated);
}

TEST(Comparator, CreateRefusesBadOptions) {
  CompareOptions options;
  options.max_differences = -1;
  EXPECT_EQ(Comparator::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = CompareOptions();
  options.rules.push_back({"", "float64"});
  EXPECT_EQ(Comparator::Create(options).status().message(),
            "rule 0 has an empty name");
  for (const char* bad : {"", ".a", "a.", "a[", "a[x]", "a]", "a.[0]", "a[\"x]",
                          "a b.c\"", "a*b"}) {
    options = CompareOptions();
    options.ignore = {"ok.path", bad};
    absl::StatusOr<Comparator> c = Comparator::Create(options);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_TRUE(absl::StartsWith(c.status().message(),
                                 absl::StrCat("malformed ignore pattern 1 '", bad, "'")))
        << c.status();
  }
  options = CompareOptions();
  options.ignore = {"data.users[*].lastLoginAt", "data.*.id", "[0]", "[\"a.b\"][2].c",
                    "*", "[*][*]"};
  EXPECT_TRUE(Comparator::Create(options).ok());
}

TEST(Comparator, AComparatorIsReusable) {
  CompareOptions options;
  options.ignore = {"data.*.updatedAt"};
  absl::StatusOr<Comparator> comparator = Comparator::Create(options);
  ASSERT_TRUE(comparator.ok());
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Comparison> r = comparator->Compare(
        R"({"data":{"u":{"updatedAt":1,"v":1}}})",
        absl::StrCat(R"({"data":{"u":{"updatedAt":2,"v":)", i + 1, "}}}"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->ignored, 1);
    EXPECT_EQ(r->unexplained, i == 0 ? 0 : 1);
  }
}

TEST(Comparator, InvalidUtf8IsRefusedWithItsOffset) {
  absl::StatusOr<Comparison> r = Compare("[\"ab\xC3\x28\"]", "[]", CompareOptions());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "invalid JSON in the primary body at byte 4: invalid UTF-8");
  r = Compare("[]", "[\"\xED\xA0\x80\"]", CompareOptions());  // a surrogate
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "invalid JSON in the candidate body at byte 2: invalid UTF-8");
}

TEST(Comparator, ClassifiersAndKindNames) {
  std::vector<std::string> names;
  for (const ComparisonClassifier& c : ComparisonClassifiers()) {
    names.emplace_back(c.name);
    EXPECT_FALSE(c.description.empty());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"float64", "timestamp_precision"}));
  EXPECT_EQ(DifferenceKindName(DifferenceKind::kMissingKey), "missing_key");
  EXPECT_EQ(DifferenceKindName(DifferenceKind::kArrayOrder), "array_order");
}

// --- Property: equivalent writings are equal, one change is one difference --

// A random JSON value, written two ways that the rules call equal.
struct Value {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool boolean = false;
  int64_t mantissa = 0;  // the number is mantissa * 10^-scale
  int scale = 0;
  std::string text;
  std::vector<std::pair<std::string, std::unique_ptr<Value>>> members;  // array: keys unused
};

std::unique_ptr<Value> RandomValue(std::mt19937* rng, int depth) {
  auto v = std::make_unique<Value>();
  std::uniform_int_distribution<int> pick(0, depth >= 5 ? 3 : 5);
  v->kind = static_cast<Value::Kind>(pick(*rng));
  switch (v->kind) {
    case Value::kNull: break;
    case Value::kBool: v->boolean = (*rng)() % 2; break;
    case Value::kNumber:
      v->mantissa = static_cast<int64_t>((*rng)() % 2000001) - 1000000;
      v->scale = static_cast<int>((*rng)() % 5);
      break;
    case Value::kString: {
      static const char* kWords[] = {"a", "b\"q", "é", "\\", "x y", "😀", "", "\n"};
      for (int i = (*rng)() % 3; i >= 0; --i) v->text += kWords[(*rng)() % 8];
      break;
    }
    case Value::kArray:
    case Value::kObject: {
      const int n = static_cast<int>((*rng)() % 5);
      for (int i = 0; i < n; ++i) {
        v->members.emplace_back(absl::StrCat("k", i, (*rng)() % 2 ? ".x" : ""),
                                RandomValue(rng, depth + 1));
      }
      break;
    }
  }
  return v;
}

std::string Escape(absl::string_view s, bool unicode_escapes) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += unicode_escapes ? "\\u000a" : "\\n";
    } else if (unicode_escapes && (c == 'a' || c == 'x')) {
      out += c == 'a' ? "\\u0061" : "\\u0078";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// `variant` writes the same value differently: keys shuffled, spaces, numbers
// with another scale or an exponent, escapes.
std::string Write(const Value& v, bool variant, std::mt19937* rng) {
  const std::string sp = variant ? " \n" : "";
  switch (v.kind) {
    case Value::kNull: return "null";
    case Value::kBool: return v.boolean ? "true" : "false";
    case Value::kNumber: {
      // mantissa e-scale, or the same with trailing zeros added.
      const int extra = variant ? static_cast<int>((*rng)() % 3) : 0;
      std::string digits = absl::StrCat(v.mantissa < 0 ? -v.mantissa : v.mantissa);
      digits.append(extra, '0');
      const int scale = v.scale + extra;
      std::string sign = v.mantissa < 0 ? "-" : "";
      if (variant && (*rng)() % 2) return absl::StrCat(sign, digits, "E-", scale);
      if (scale == 0) return sign + digits;
      if (static_cast<int>(digits.size()) <= scale) {
        digits.insert(0, scale - digits.size() + 1, '0');
      }
      digits.insert(digits.size() - scale, ".");
      return sign + digits;
    }
    case Value::kString: return Escape(v.text, variant);
    case Value::kArray:
    case Value::kObject: {
      std::vector<size_t> order(v.members.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      if (variant && v.kind == Value::kObject) std::shuffle(order.begin(), order.end(), *rng);
      std::string out = v.kind == Value::kArray ? "[" : "{";
      for (size_t i = 0; i < order.size(); ++i) {
        if (i > 0) out += "," + sp;
        if (v.kind == Value::kObject) {
          out += Escape(v.members[order[i]].first, variant) + sp + ":" + sp;
        }
        out += Write(*v.members[order[i]].second, variant, rng);
      }
      return out + sp + (v.kind == Value::kArray ? "]" : "}");
    }
  }
  return "";
}

// Changes one leaf (never to an equal value) and returns its path and kind.
std::pair<std::string, DifferenceKind> MutateOneLeaf(Value* root, std::mt19937* rng) {
  std::string path;
  Value* v = root;
  while ((v->kind == Value::kArray || v->kind == Value::kObject) && !v->members.empty()) {
    const size_t i = (*rng)() % v->members.size();
    if (v->kind == Value::kArray) {
      absl::StrAppend(&path, "[", i, "]");
    } else {
      const std::string& key = v->members[i].first;
      if (absl::StrContains(key, ".")) {
        absl::StrAppend(&path, "[\"", key, "\"]");
      } else {
        absl::StrAppend(&path, path.empty() ? "" : ".", key);
      }
    }
    v = v->members[i].second.get();
  }
  switch (v->kind) {
    case Value::kNumber:
      v->mantissa += 1;
      return {path, DifferenceKind::kNumber};
    case Value::kBool:
      v->boolean = !v->boolean;
      return {path, DifferenceKind::kValue};
    case Value::kString:
      v->text += "z";
      return {path, DifferenceKind::kValue};
    default:  // null, or an empty array or object
      *v = Value();
      v->kind = Value::kString;
      return {path, DifferenceKind::kType};
  }
}

TEST(Comparator, EquivalentWritingsAreEqualAndOneChangeIsOneDifference) {
  std::mt19937 rng(20261202);
  int compared = 0;
  for (int round = 0; round < 3000; ++round) {
    std::unique_ptr<Value> value = RandomValue(&rng, 0);
    const std::string a = Write(*value, false, &rng);
    const std::string b = Write(*value, true, &rng);
    absl::StatusOr<Comparison> same = Compare(a, b, CompareOptions());
    ASSERT_TRUE(same.ok()) << same.status() << "\n" << a << "\n" << b;
    ASSERT_TRUE(same->equal()) << a << "\n" << b << "\n"
                               << DiffLine(same->differences.at(0));
    const auto [path, kind] = MutateOneLeaf(value.get(), &rng);
    const std::string c = Write(*value, true, &rng);
    absl::StatusOr<Comparison> changed = Compare(a, c, CompareOptions());
    ASSERT_TRUE(changed.ok()) << changed.status();
    ASSERT_EQ(changed->differences.size(), 1u) << a << "\n" << c;
    EXPECT_EQ(changed->differences[0].path, path) << a << "\n" << c;
    EXPECT_EQ(changed->differences[0].kind, kind) << a << "\n" << c;
    ++compared;
  }
  EXPECT_EQ(compared, 3000);
}

}  // namespace
}  // namespace fraiseql::parity
