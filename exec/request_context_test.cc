#include "exec/request_context.h"

#include <string>

#include "gtest/gtest.h"

namespace fraiseql::exec {
namespace {

TEST(IsValidVariableName, AcceptsTheThreePrefixesWithDottedParts) {
  for (const char* name :
       {"app.tenant", "app._x9", "app.a.b", "fraiseql.user_role",
        "fraiseql.a.b_c", "jwt.claims.sub", "jwt.claims.org.id"}) {
    EXPECT_TRUE(IsValidVariableName(name)) << name;
  }
}

TEST(IsValidVariableName, RefusesOtherPrefixesAndBadParts) {
  for (const char* name : {"",        "app",         "app.",
                           "app..x",  "app.x.",      "app.Tenant",
                           "app.1x",  "app.x.1y",    "app.a-b",
                           "app.a b", "jwt.claims",  "jwt.claims.",
                           "jwt.sub", "fraiseql.",   "pg.x",
                           "role",    "search_path", "session_authorization",
                           "xapp.x",  ".app.x"}) {
    EXPECT_FALSE(IsValidVariableName(name)) << name;
  }
}

TEST(ValidateRequestContext, NamesTheBadKeyAndWhatIsAllowed) {
  RequestContext context;
  context.variables["jwt.sub"] = "u";
  EXPECT_EQ(ValidateRequestContext(context),
            absl::InvalidArgumentError(
                "invalid context variable 'jwt.sub': expected app.<name>, "
                "fraiseql.<name> or jwt.claims.<name>, each dot-separated "
                "part of a-z, 0-9 and _, not starting with a digit"));
}

TEST(ValidateRequestContext, PointsARoleGivenAsAVariableToTheRoleField) {
  RequestContext context;
  context.variables["role"] = "reader";
  absl::Status status = ValidateRequestContext(context);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()),
            "invalid context variable 'role': the role is not a variable; "
            "give it as the context's role");
}

TEST(ValidateRequestContext, StillRefusesTenantOrUserGivenTwice) {
  RequestContext context;
  context.tenant_id = "t";
  context.variables["app.tenant_id"] = "u";
  EXPECT_EQ(ValidateRequestContext(context),
            absl::InvalidArgumentError(
                "context variable 'app.tenant_id' is given twice"));
}

TEST(ValidateRequestContext, AcceptsARoleOfUpTo63Bytes) {
  RequestContext context;
  context.role = std::string(63, 'r');
  EXPECT_TRUE(ValidateRequestContext(context).ok());
  context.role = "Mixed Case \"quoted\" role";  // any text: it is bound
  EXPECT_TRUE(ValidateRequestContext(context).ok());
}

TEST(ValidateRequestContext, RefusesAnEmptyLongOrNulRole) {
  RequestContext context;
  context.role = "";
  EXPECT_EQ(ValidateRequestContext(context),
            absl::InvalidArgumentError("invalid context role: empty"));
  context.role = std::string(64, 'r');
  EXPECT_EQ(ValidateRequestContext(context),
            absl::InvalidArgumentError(
                "invalid context role: 64 bytes long (at most 63)"));
  context.role = std::string("a\0b", 3);
  EXPECT_EQ(
      ValidateRequestContext(context),
      absl::InvalidArgumentError("invalid context role: contains a NUL byte"));
}

TEST(RequestContext, ARoleNeedsATransactionAndCountsAsASetting) {
  RequestContext context;
  EXPECT_FALSE(context.NeedsTransaction());
  EXPECT_FALSE(context.HasSettings());
  context.role = "reader";
  EXPECT_TRUE(context.NeedsTransaction());
  EXPECT_TRUE(context.HasSettings());
  RequestContext timeout_only;
  timeout_only.statement_timeout = absl::Seconds(1);
  EXPECT_TRUE(timeout_only.NeedsTransaction());
  EXPECT_FALSE(timeout_only.HasSettings());
  RequestContext variable;
  variable.variables["jwt.claims.sub"] = "u";
  EXPECT_TRUE(variable.HasSettings());
}

}  // namespace
}  // namespace fraiseql::exec
