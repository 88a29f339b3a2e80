#include "tests/golden_file.h"

#include <fstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "where/json_value.h"

namespace fraiseql::testing {

std::vector<GoldenBlock> ReadGoldenFile(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<GoldenBlock> blocks;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    if (absl::StartsWith(line, "== ")) {
      blocks.push_back(GoldenBlock{path, number, line.substr(3), {}});
      continue;
    }
    if (blocks.empty()) {
      ADD_FAILURE() << path << ":" << number << ": text before ==";
      continue;
    }
    if (absl::EndsWith(line, ":") && line.find(": ") == std::string::npos) {
      blocks.back().fields.emplace_back(line.substr(0, line.size() - 1), "");
      continue;
    }
    size_t colon = line.find(": ");
    if (colon == std::string::npos) {
      ADD_FAILURE() << path << ":" << number << ": not `key: value`: " << line;
      continue;
    }
    blocks.back().fields.emplace_back(line.substr(0, colon),
                                      line.substr(colon + 2));
  }
  return blocks;
}

std::string FormatGoldenParams(const std::vector<where::Param>& params) {
  std::vector<where::JsonValue> items;
  for (const where::Param& p : params) {
    items.push_back(where::JsonValue::Array(
        {p.is_null ? where::JsonValue::Null() : where::JsonValue::String(p.text),
         where::JsonValue::String(p.sql_type)}));
  }
  return where::JsonValue::Array(std::move(items)).ToJson();
}

}  // namespace fraiseql::testing
