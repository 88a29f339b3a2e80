#include "repository/raw_sql.h"

#include <string>

#include "gtest/gtest.h"

namespace fraiseql {
namespace {

TEST(ScanRawSql, OneStatementWithPlaceholders) {
  const RawSqlFacts facts = ScanRawSql("SELECT $1::int + $2, 'a' || $3");
  EXPECT_FALSE(facts.empty);
  EXPECT_FALSE(facts.several);
  EXPECT_EQ(facts.max_placeholder, 3);
  EXPECT_EQ(facts.body, "SELECT $1::int + $2, 'a' || $3");
}

TEST(ScanRawSql, TrailingSemicolonsWhitespaceAndCommentsAreNotPartOfTheBody) {
  const RawSqlFacts facts =
      ScanRawSql("  SELECT 1 ; ;\n -- done\n /* really */ ");
  EXPECT_FALSE(facts.several);
  EXPECT_EQ(facts.body, "SELECT 1");
  EXPECT_EQ(ScanRawSql("; -- x\n SELECT 2 ;").body, "SELECT 2");
}

TEST(ScanRawSql, EmptyWhenOnlyWhitespaceCommentsOrSemicolons) {
  for (const char* sql : {"", "   ", ";", " ; ;", "-- nothing", "/* x */;"}) {
    EXPECT_TRUE(ScanRawSql(sql).empty) << sql;
  }
}

TEST(ScanRawSql, SeveralStatements) {
  for (const char* sql : {"SELECT 1; SELECT 2", "SELECT 1;DROP TABLE x;",
                          "SELECT 1; -- c\n SELECT 2"}) {
    EXPECT_TRUE(ScanRawSql(sql).several) << sql;
  }
}

TEST(ScanRawSql, SemicolonsAndDollarsInsideQuotesOrCommentsDoNotCount) {
  const char* sqls[] = {
      "SELECT ';$9'",       "SELECT 'it''s; $9'",
      "SELECT E'\\'; $9'",  "SELECT \"a;$9\" FROM t",
      "SELECT $$ ; $9 $$",  "SELECT $tag$ ; $$ ; $9 $tag$",
      "SELECT 1 -- ; $9\n", "SELECT 1 /* ; /* nested ; */ $9 */",
  };
  for (const char* sql : sqls) {
    const RawSqlFacts facts = ScanRawSql(sql);
    EXPECT_FALSE(facts.several) << sql;
    EXPECT_EQ(facts.max_placeholder, 0) << sql;
  }
}

TEST(ScanRawSql, DollarInsideAnIdentifierIsNoPlaceholder) {
  EXPECT_EQ(ScanRawSql("SELECT a$1 FROM t").max_placeholder, 0);
  EXPECT_EQ(ScanRawSql("SELECT x FROM t WHERE y = $12").max_placeholder, 12);
}

}  // namespace
}  // namespace fraiseql
