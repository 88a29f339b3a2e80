#include "stream/settings_statement.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/golden_file.h"

namespace fraiseql::stream {
namespace {

TEST(SettingsStatement, MatchesTheGoldenFile) {
  const std::vector<testing::GoldenBlock> blocks =
      testing::ReadGoldenFile("stream/testdata/settings.golden");
  ASSERT_GE(blocks.size(), 8u);
  for (const testing::GoldenBlock& block : blocks) {
    SCOPED_TRACE(absl::StrCat(block.file, ":", block.line, ": ", block.name));
    exec::RequestContext context;
    absl::Duration timeout = absl::ZeroDuration();
    std::string sql, params;
    for (const auto& [key, value] : block.fields) {
      if (key == "timeout") {
        ASSERT_TRUE(absl::ParseDuration(value, &timeout)) << value;
      } else if (key == "tenant_id") {
        context.tenant_id = value;
      } else if (key == "user_id") {
        context.user_id = value;
      } else if (key == "variables") {
        for (absl::string_view pair :
             absl::StrSplit(value, ' ', absl::SkipEmpty())) {
          std::vector<std::string> kv =
              absl::StrSplit(pair, absl::MaxSplits('=', 1));
          ASSERT_EQ(kv.size(), 2u) << pair;
          context.variables[kv[0]] = kv[1];
        }
      } else if (key == "role") {
        context.role = value;
      } else if (key == "sql") {
        sql = value;
      } else if (key == "params") {
        params = value;
      } else {
        ADD_FAILURE() << "unknown key: " << key;
      }
    }
    ASSERT_TRUE(exec::ValidateRequestContext(context).ok());
    const std::optional<exec::Plan> plan = SettingsStatement(context, timeout);
    EXPECT_EQ(plan.has_value() ? plan->sql : "none", sql);
    EXPECT_EQ(testing::FormatGoldenParams(
                  plan.has_value() ? plan->params : std::vector<exec::Param>()),
              params);
  }
}

}  // namespace
}  // namespace fraiseql::stream
