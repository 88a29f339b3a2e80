// Mutation planning: how a mutation_response status is classified, the call
// a mutation field plans to (SQL and parameters), the selections of its two
// outcomes, and every input it refuses before anything is sent.
#include "planner/mutation.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "planner/selection_text.h"

namespace fraiseql::planner {
namespace {

using exec::FieldSelection;

struct StatusCase {
  const char* status;
  bool success;
  int code;
};

TEST(ClassifyMutationStatus, ClassifiesEveryPrefix) {
  const StatusCase cases[] = {
      {"success", true, 200},
      {"created", true, 200},
      {"updated", true, 200},
      {"deleted", true, 200},
      {"success:x", true, 200},
      {"created:with_defaults", true, 200},
      {"updated:partial", true, 200},
      {"deleted:soft", true, 200},
      {"noop", false, 422},
      {"noop:already_there", false, 422},
      {"validation", false, 422},
      {"validation:email", false, 422},
      {"unauthorized:token", false, 401},
      {"forbidden:role", false, 403},
      {"not_found:owner", false, 404},
      {"conflict:version", false, 409},
      {"timeout:lock", false, 408},
      {"failed:internal", false, 500},
      {"failed", false, 500},
      {"weird", false, 500},
      {"", false, 500},
      // A prefix only counts when the word ends there.
      {"successful", false, 500},
      {"created_by_hand", false, 500},
      {"noop_x", false, 500},
      {"not_foundx:y", false, 500},
      // An error word after a success word is still a success.
      {"success:conflict", true, 200},
      {"conflict:success", false, 409},
  };
  for (const StatusCase& c : cases) {
    const MutationOutcome outcome = ClassifyMutationStatus(c.status);
    EXPECT_EQ(outcome.success, c.success) << "'" << c.status << "'";
    EXPECT_EQ(outcome.code, c.code) << "'" << c.status << "'";
  }
}

class PlanMutationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(schema_.AddObjectType("Address", {{"city_name", "String"}})
                    .ok());
    absl::Status s = schema_.AddView(
        "app.v_account", "Account", "data",
        {{"id", "uuid"}, {"data", "jsonb"}},
        {{"id", "UUID"},
         {"full_name", "String"},
         {"balance", "Decimal"},
         {"address", "Address"}});
    ASSERT_TRUE(s.ok()) << s;
    context_["tenant_id"] = "11111111-1111-1111-1111-111111111111";
    context_["user_id"] = "alice";
    context_["app.role_name"] = "o'reilly; DROP TABLE x";
  }

  // A mutation with the usual fields; `success` and `error` are selection
  // texts ("" each with has_selection false: every field).
  static v1::MutationField Field(absl::string_view success = "",
                                 absl::string_view error = "") {
    v1::MutationField field;
    field.set_response_key("createAccount");
    field.set_function("app.create_account");
    field.set_input_json(R"({"name": "Zoë", "balance": 100.50})");
    field.set_success_type("CreateAccountSuccess");
    field.set_error_type("CreateAccountError");
    field.set_entity_field("account");
    field.set_entity_type("Account");
    if (!success.empty() || !error.empty()) {
      field.set_has_selection(true);
      auto parsed = ParseSelectionText(success);
      EXPECT_TRUE(parsed.ok()) << parsed.status();
      for (auto& s : *parsed) *field.add_success_selection() = s;
      parsed = ParseSelectionText(error);
      EXPECT_TRUE(parsed.ok()) << parsed.status();
      for (auto& s : *parsed) *field.add_error_selection() = s;
    }
    return field;
  }

  absl::StatusOr<MutationPlan> Plan(const v1::MutationField& field) {
    return PlanMutation(schema_, field,
                        [this](absl::string_view name)
                            -> std::optional<std::string> {
                          auto it = context_.find(std::string(name));
                          if (it == context_.end()) return std::nullopt;
                          return it->second;
                        });
  }

  // "key<-source:kind" for each field, nested fields in braces.
  static std::string Describe(const std::vector<FieldSelection>& fields) {
    return absl::StrJoin(fields, " ", [](std::string* out,
                                         const FieldSelection& f) {
      const char* kind = f.kind == FieldSelection::Kind::kScalar   ? "scalar"
                         : f.kind == FieldSelection::Kind::kObject ? "object"
                         : f.kind == FieldSelection::Kind::kJson   ? "json"
                                                                   : "typename";
      absl::StrAppend(out, f.response_key, "<-", f.source_key, ":", kind);
      if (!f.type_name.empty()) absl::StrAppend(out, "(", f.type_name, ")");
      if (!f.fields.empty()) {
        absl::StrAppend(out, "{", Describe(f.fields), "}");
      }
    });
  }

  // The message of the error `field` plans to, or "" when it plans.
  std::string Error(const v1::MutationField& field,
                    absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
    auto plan = Plan(field);
    EXPECT_FALSE(plan.ok());
    if (plan.ok()) return "";
    EXPECT_EQ(plan.status().code(), code) << plan.status();
    return std::string(plan.status().message());
  }

  where::Schema schema_;
  std::map<std::string, std::string> context_;
};

TEST_F(PlanMutationTest, PlansTheCallWithContextArgumentsFirst) {
  v1::MutationField field = Field();
  field.add_context_arguments("tenant_id");
  field.add_context_arguments("user_id");
  field.add_context_arguments("app.role_name");
  auto plan = Plan(field);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->response_key, "createAccount");
  EXPECT_EQ(plan->plan.sql,
            "SELECT row_to_json(m)::text, m.status::text FROM "
            "\"app\".\"create_account\"($1, $2, $3, $4::jsonb) AS m");
  ASSERT_EQ(plan->plan.params.size(), 4u);
  // Context arguments are bound untyped: the server resolves them against
  // the function's parameter types. Values are never spliced.
  EXPECT_EQ(plan->plan.params[0],
            (where::Param{"11111111-1111-1111-1111-111111111111", "", false}));
  EXPECT_EQ(plan->plan.params[1], (where::Param{"alice", "", false}));
  EXPECT_EQ(plan->plan.params[2],
            (where::Param{"o'reilly; DROP TABLE x", "", false}));
  // The input, as given: the repository sends it canonical (compact, the
  // number's spelling kept).
  EXPECT_EQ(plan->plan.params[3].text, R"({"name": "Zoë", "balance": 100.50})");
  EXPECT_FALSE(plan->plan.params[3].is_null);
  EXPECT_EQ(plan->plan.sql.find("alice"), std::string::npos);
}

TEST_F(PlanMutationTest, ContextArgumentsFollowTheFieldsOrder) {
  v1::MutationField field = Field();
  field.add_context_arguments("user_id");
  field.add_context_arguments("tenant_id");
  auto plan = Plan(field);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->plan.sql,
            "SELECT row_to_json(m)::text, m.status::text FROM "
            "\"app\".\"create_account\"($1, $2, $3::jsonb) AS m");
  EXPECT_EQ(plan->plan.params[0].text, "alice");
  EXPECT_EQ(plan->plan.params[1].text, "11111111-1111-1111-1111-111111111111");
}

TEST_F(PlanMutationTest, PlansAnUnqualifiedFunctionWithOnlyTheInput) {
  v1::MutationField field = Field();
  field.set_function("Rename Account");
  field.set_input_json(" { } ");
  auto plan = Plan(field);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->plan.sql,
            "SELECT row_to_json(m)::text, m.status::text FROM "
            "\"Rename Account\"($1::jsonb) AS m");
  ASSERT_EQ(plan->plan.params.size(), 1u);
  EXPECT_EQ(plan->plan.params[0].text, " { } ");
}

TEST_F(PlanMutationTest, WithoutSelectionEveryFieldIsWritten) {
  auto plan = Plan(Field());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->success->type_name, "CreateAccountSuccess");
  EXPECT_EQ(plan->error->type_name, "CreateAccountError");
  EXPECT_EQ(Describe(plan->success->fields),
            "status<-status:scalar message<-message:scalar "
            "entityId<-entity_id:scalar entityType<-entity_type:scalar "
            "account<-entity:object(Account) "
            "updatedFields<-updated_fields:scalar cascade<-cascade:json "
            "metadata<-metadata:json");
  EXPECT_EQ(Describe(plan->error->fields),
            "status<-status:scalar message<-message:scalar code<-code:scalar "
            "entityId<-entity_id:scalar entityType<-entity_type:scalar "
            "account<-entity:object(Account) "
            "updatedFields<-updated_fields:scalar cascade<-cascade:json "
            "metadata<-metadata:json");
}

TEST_F(PlanMutationTest, EntityWithoutTypeIsJsonUnderEntity) {
  v1::MutationField field = Field();
  field.clear_entity_field();
  field.clear_entity_type();
  auto plan = Plan(field);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_NE(Describe(plan->success->fields).find("entity<-entity:json"),
            std::string::npos)
      << Describe(plan->success->fields);
  field = Field("__typename entity status", "code");
  field.clear_entity_field();
  field.clear_entity_type();
  plan = Plan(field);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(Describe(plan->success->fields),
            "__typename<-:typename entity<-entity:json status<-status:scalar");
}

TEST_F(PlanMutationTest, ResolvesSelectionsOfBothOutcomes) {
  auto plan = Plan(Field(
      "__typename status acct: account { id name: fullName address { "
      "cityName } __typename } updatedFields meta: metadata",
      "kind: __typename code message account { id } cascade"));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(Describe(plan->success->fields),
            "__typename<-:typename status<-status:scalar "
            "acct<-entity:object(Account){id<-id:scalar "
            "name<-full_name:scalar address<-address:object(Address)"
            "{cityName<-city_name:scalar} __typename<-:typename} "
            "updatedFields<-updated_fields:scalar meta<-metadata:json");
  EXPECT_EQ(Describe(plan->error->fields),
            "kind<-:typename code<-code:scalar message<-message:scalar "
            "account<-entity:object(Account){id<-id:scalar} "
            "cascade<-cascade:json");
}

TEST_F(PlanMutationTest, RejectsABadFunctionName) {
  v1::MutationField field = Field();
  field.set_function(R"(x"; DROP TABLE y; --)");
  EXPECT_TRUE(absl::StartsWith(Error(field),
                               "invalid function name for mutation "
                               "createAccount: "));
  for (const char* bad : {"", "a.b.c", ".f", "f."}) {
    field.set_function(bad);
    EXPECT_TRUE(absl::StartsWith(Error(field), "invalid function name"))
        << "'" << bad << "'";
  }
}

TEST_F(PlanMutationTest, RejectsMissingKeyOrOutcomeTypes) {
  v1::MutationField field = Field();
  field.clear_response_key();
  EXPECT_EQ(Error(field), "the mutation field has no response key");
  field = Field();
  field.clear_error_type();
  EXPECT_EQ(Error(field),
            "mutation createAccount needs both a success_type and an "
            "error_type");
}

TEST_F(PlanMutationTest, RejectsAnInputThatIsNotAJsonObject) {
  v1::MutationField field = Field();
  for (const char* input : {"[1, 2]", "\"text\"", "42", "null", "true"}) {
    field.set_input_json(input);
    EXPECT_EQ(Error(field),
              "invalid input for mutation createAccount: expected a JSON "
              "object")
        << input;
  }
}

TEST_F(PlanMutationTest, RejectsInvalidJsonWithoutEchoingIt) {
  v1::MutationField field = Field();
  for (const char* input : {"{bad json", "", "{\"a\": 1} trailing",
                            "{\"secret-value\": }"}) {
    field.set_input_json(input);
    const std::string message = Error(field);
    EXPECT_TRUE(absl::StartsWith(message,
                                 "invalid input for mutation createAccount: "))
        << message;
    EXPECT_EQ(message.find("secret-value"), std::string::npos) << message;
  }
}

TEST_F(PlanMutationTest, RejectsAnUnknownContextArgument) {
  v1::MutationField field = Field();
  field.add_context_arguments("tenant_id");
  field.add_context_arguments("session");
  EXPECT_EQ(Error(field),
            "unknown context argument 'session' for mutation createAccount; "
            "expected tenant_id, user_id or app.<name>");
}

TEST_F(PlanMutationTest, RejectsAContextArgumentTheContextLacks) {
  context_.erase("user_id");
  v1::MutationField field = Field();
  field.add_context_arguments("tenant_id");
  field.add_context_arguments("user_id");
  EXPECT_EQ(Error(field),
            "mutation createAccount passes the context argument user_id to "
            "app.create_account, but the call's context has no user_id");
  field = Field();
  field.add_context_arguments("app.missing");
  EXPECT_EQ(Error(field),
            "mutation createAccount passes the context argument app.missing "
            "to app.create_account, but the call's context has no "
            "app.missing");
}

TEST_F(PlanMutationTest, RejectsAnUnknownPayloadField) {
  EXPECT_EQ(Error(Field("status nope", "code")),
            "invalid selection at createAccount(CreateAccountSuccess).nope: "
            "CreateAccountSuccess has no field 'nope'; known fields: "
            "__typename, status, message, entityId, entityType, "
            "updatedFields, cascade, metadata, account");
  // code belongs to the error type only.
  EXPECT_EQ(Error(Field("status code", "code")),
            "invalid selection at createAccount(CreateAccountSuccess).code: "
            "CreateAccountSuccess has no field 'code'; known fields: "
            "__typename, status, message, entityId, entityType, "
            "updatedFields, cascade, metadata, account");
  EXPECT_TRUE(absl::StartsWith(
      Error(Field("status", "code nope")),
      "invalid selection at createAccount(CreateAccountError).nope: "
      "CreateAccountError has no field 'nope'; known fields: __typename, "
      "status, message, code,"));
}

TEST_F(PlanMutationTest, RejectsASubSelectionOfAScalarPayloadField) {
  EXPECT_EQ(Error(Field("status { x }", "code")),
            "invalid selection at createAccount(CreateAccountSuccess).status: "
            "status takes no sub-selection");
}

TEST_F(PlanMutationTest, RejectsAnUnknownEntityField) {
  const std::string message = Error(Field("account { nope }", "code"));
  EXPECT_NE(message.find("unknown field 'nope'"), std::string::npos)
      << message;
  EXPECT_NE(message.find("createAccount(CreateAccountSuccess).account.nope"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("Account"), std::string::npos) << message;
}

TEST_F(PlanMutationTest, RejectsAnObjectEntityWithoutSubSelection) {
  EXPECT_EQ(Error(Field("account", "code")),
            "invalid selection at createAccount(CreateAccountSuccess).account: "
            "account is of object type Account and needs a sub-selection "
            "{ ... }");
}

TEST_F(PlanMutationTest, RejectsASubSelectionOfAnEntityWithoutType) {
  v1::MutationField field = Field("entity { id }", "code");
  field.clear_entity_field();
  field.clear_entity_type();
  EXPECT_EQ(Error(field),
            "invalid selection at createAccount(CreateAccountSuccess).entity: "
            "the mutation names no entity_type, so its entity is JSON and "
            "takes no sub-selection");
}

TEST_F(PlanMutationTest, RejectsTheSameKeyTwice) {
  EXPECT_EQ(Error(Field("status status", "code")),
            "invalid selection at createAccount(CreateAccountSuccess).status: "
            "the key 'status' is selected twice; give one an alias");
  EXPECT_EQ(Error(Field("status", "x: code x: message")),
            "invalid selection at createAccount(CreateAccountError).x: the key "
            "'x' is selected twice; give one an alias");
  // Different keys for one field are fine.
  EXPECT_TRUE(Plan(Field("a: status b: status", "code")).ok());
}

TEST_F(PlanMutationTest, UnknownEntityTypeIsNotFound) {
  v1::MutationField field = Field();
  field.set_entity_type("Nowhere");
  std::string message = Error(field, absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(message, "unknown type 'Nowhere' at "))
      << message;
  field = Field("account { id }", "code");
  field.set_entity_type("Nowhere");
  message = Error(field, absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(message, "unknown type 'Nowhere' at "))
      << message;
}

TEST_F(PlanMutationTest, EntityOfARegisteredObjectTypeResolves) {
  v1::MutationField field = Field("account { cityName }", "code");
  field.set_entity_type("Address");
  auto plan = Plan(field);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(Describe(plan->success->fields),
            "account<-entity:object(Address){cityName<-city_name:scalar}");
}

}  // namespace
TEST_F(PlanMutationTest, RejectsInputTextJsonbCannotStore) {
  v1::MutationField field = Field();
  for (const char* input : {R"({"name": "acme\u0000evil"})",
                            R"({"na\u0000me": 1})", R"({"name": "\udcff"})",
                            R"({"a": [{"b": "x\ud800"}]})"}) {
    field.set_input_json(input);
    const std::string message = Error(field);
    EXPECT_TRUE(absl::StartsWith(
        message, "invalid input for mutation createAccount: "))
        << message;
    EXPECT_TRUE(absl::StrContains(message, "\\u0000") ||
                absl::StrContains(message, "urrogate"))
        << message;
    EXPECT_EQ(message.find("acme"), std::string::npos) << message;
  }
}

}  // namespace fraiseql::planner
