#include "planner/mutation.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "planner/selection.h"
#include "where/json_value.h"
#include "where/sql_identifier.h"

namespace fraiseql::planner {
namespace {

using exec::FieldSelection;

// Nesting of a mutation's input (the Python boundary allows 64 levels).
constexpr int kMaxInputDepth = 128;

// Recursion is bounded by kMaxInputDepth.
bool HoldsNul(const where::JsonValue& value) {
  if (value.is_string()) {
    return value.text().find('\0') != std::string::npos;
  }
  for (const where::JsonValue& item : value.items()) {
    if (HoldsNul(item)) return true;
  }
  for (const auto& [key, member] : value.members()) {
    if (key.find('\0') != std::string::npos || HoldsNul(member)) return true;
  }
  return false;
}

struct PayloadField {
  const char* name;    // GraphQL name
  const char* key;     // key in the row of mutation_response
  FieldSelection::Kind kind;
  bool error_only;
};

// The fields both outcome types have (the entity field is added per
// mutation), in the order an unselected outcome writes them.
constexpr PayloadField kPayloadFields[] = {
    {"status", "status", FieldSelection::Kind::kScalar, false},
    {"message", "message", FieldSelection::Kind::kScalar, false},
    {"code", "code", FieldSelection::Kind::kScalar, true},
    {"entityId", "entity_id", FieldSelection::Kind::kScalar, false},
    {"entityType", "entity_type", FieldSelection::Kind::kScalar, false},
    {"updatedFields", "updated_fields", FieldSelection::Kind::kScalar, false},
    {"cascade", "cascade", FieldSelection::Kind::kJson, false},
    {"metadata", "metadata", FieldSelection::Kind::kJson, false},
};

std::string KnownPayloadFields(absl::string_view entity_field, bool error) {
  std::string known = "__typename";
  for (const PayloadField& f : kPayloadFields) {
    if (!f.error_only || error) absl::StrAppend(&known, ", ", f.name);
  }
  absl::StrAppend(&known, ", ", entity_field);
  return known;
}

// The entity field of an outcome: projected by its type's selection, or
// passed through as JSON when the mutation names no type.
absl::StatusOr<FieldSelection> EntitySelection(
    const where::Schema& schema, const v1::MutationField& field,
    const v1::Selection* selected, const std::string& path) {
  FieldSelection out;
  out.source_key = "entity";
  out.response_key = selected != nullptr ? selected->response_key()
                     : field.entity_field().empty() ? "entity"
                                                    : field.entity_field();
  if (field.entity_type().empty()) {
    if (selected != nullptr && selected->fields_size() > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid selection at ", path,
          ": the mutation names no entity_type, so its entity is JSON and "
          "takes no sub-selection"));
    }
    out.kind = FieldSelection::Kind::kJson;
    return out;
  }
  out.kind = FieldSelection::Kind::kObject;
  out.type_name = field.entity_type();
  if (selected == nullptr) {
    // Every key, camelCased (and checks that the type exists).
    google::protobuf::RepeatedPtrField<v1::Selection> none;
    RETURN_IF_ERROR(
        ResolveSelectionForType(schema, field.entity_type(), none, path)
            .status());
    return out;
  }
  if (selected->fields_size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid selection at ", path, ": ", selected->field_name(),
        " is of object type ", field.entity_type(),
        " and needs a sub-selection { ... }"));
  }
  ASSIGN_OR_RETURN(out.fields, ResolveSelectionForType(schema,
                                                       field.entity_type(),
                                                       selected->fields(), path));
  return out;
}

absl::StatusOr<std::shared_ptr<const exec::SelectionSet>> OutcomeSelection(
    const where::Schema& schema, const v1::MutationField& field, bool error) {
  auto set = std::make_shared<exec::SelectionSet>();
  set->type_name = error ? field.error_type() : field.success_type();
  const std::string entity_field =
      field.entity_field().empty() ? "entity" : field.entity_field();
  const std::string root = absl::StrCat(field.response_key(), "(",
                                        set->type_name, ")");
  if (!field.has_selection()) {
    for (const PayloadField& f : kPayloadFields) {
      if (f.error_only && !error) continue;
      FieldSelection out;
      out.kind = f.kind;
      out.response_key = f.name;
      out.source_key = f.key;
      set->fields.push_back(std::move(out));
      if (absl::string_view(f.name) == "entityType") {
        ASSIGN_OR_RETURN(FieldSelection entity,
                         EntitySelection(schema, field, nullptr,
                                         absl::StrCat(root, ".", entity_field)));
        set->fields.push_back(std::move(entity));
      }
    }
    return set;
  }
  const auto& selection =
      error ? field.error_selection() : field.success_selection();
  for (const v1::Selection& s : selection) {
    const std::string path = absl::StrCat(root, ".", s.response_key());
    for (const FieldSelection& earlier : set->fields) {
      if (earlier.response_key == s.response_key()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid selection at ", path, ": the key '", s.response_key(),
            "' is selected twice; give one an alias"));
      }
    }
    if (s.field_name() == "__typename") {
      FieldSelection out;
      out.kind = FieldSelection::Kind::kTypename;
      out.response_key = s.response_key();
      set->fields.push_back(std::move(out));
      continue;
    }
    if (s.field_name() == entity_field) {
      ASSIGN_OR_RETURN(FieldSelection entity,
                       EntitySelection(schema, field, &s, path));
      set->fields.push_back(std::move(entity));
      continue;
    }
    const PayloadField* found = nullptr;
    for (const PayloadField& f : kPayloadFields) {
      if (s.field_name() == f.name && (!f.error_only || error)) found = &f;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid selection at ", path, ": ", set->type_name,
          " has no field '", s.field_name(), "'; known fields: ",
          KnownPayloadFields(entity_field, error)));
    }
    if (s.fields_size() > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid selection at ", path, ": ", found->name,
          " takes no sub-selection"));
    }
    FieldSelection out;
    out.kind = found->kind;
    out.response_key = s.response_key();
    out.source_key = found->key;
    set->fields.push_back(std::move(out));
  }
  return set;
}

bool StatusIs(absl::string_view status, absl::string_view name) {
  return status == name ||
         (absl::StartsWith(status, name) && status.size() > name.size() &&
          status[name.size()] == ':');
}

}  // namespace

MutationOutcome ClassifyMutationStatus(absl::string_view status) {
  for (absl::string_view ok : {"success", "created", "updated", "deleted"}) {
    if (StatusIs(status, ok)) return {true, 200};
  }
  static constexpr std::pair<const char*, int> kErrors[] = {
      {"noop", 422},      {"validation", 422}, {"unauthorized", 401},
      {"forbidden", 403}, {"not_found", 404},  {"conflict", 409},
      {"timeout", 408},   {"failed", 500},
  };
  for (const auto& [prefix, code] : kErrors) {
    if (StatusIs(status, prefix)) return {false, code};
  }
  return {false, 500};
}

absl::StatusOr<MutationPlan> PlanMutation(
    const where::Schema& schema, const v1::MutationField& field,
    absl::FunctionRef<std::optional<std::string>(absl::string_view)>
        context_value) {
  const std::string& key = field.response_key();
  if (key.empty()) {
    return absl::InvalidArgumentError("the mutation field has no response key");
  }
  if (absl::Status valid = where::ValidateQualifiedName(field.function());
      !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid function name for mutation ", key, ": ", valid.message()));
  }
  if (field.success_type().empty() || field.error_type().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mutation ", key, " needs both a success_type and an error_type"));
  }
  // The input: one JSON object, checked here so a mistake is named before
  // anything is sent.
  // Read once as the filter reader does, which refuses unpaired surrogate
  // escapes; then no string or key may hold NUL (\u0000): jsonb cannot
  // store either, and the server's refusal would quote the input.
  absl::StatusOr<where::JsonValue> parsed =
      where::ParseJson(field.input_json(), kMaxInputDepth);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid input for mutation ", key, ": ", parsed.status().message()));
  }
  if (HoldsNul(*parsed)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid input for mutation ", key,
        ": a string or key holds \\u0000, which PostgreSQL cannot store"));
  }
  if (!parsed->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid input for mutation ", key, ": expected a JSON object"));
  }

  MutationPlan plan;
  plan.response_key = key;
  std::string args;
  for (const std::string& name : field.context_arguments()) {
    if (name != "tenant_id" && name != "user_id" &&
        !absl::StartsWith(name, "app.")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown context argument '", name, "' for mutation ", key,
          "; expected tenant_id, user_id or app.<name>"));
    }
    std::optional<std::string> value = context_value(name);
    if (!value.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mutation ", key, " passes the context argument ", name,
          " to ", field.function(), ", but the call's context has no ", name));
    }
    where::Param param;
    param.text = std::move(*value);
    plan.plan.params.push_back(std::move(param));
    absl::StrAppend(&args, "$", plan.plan.params.size(), ", ");
  }
  where::Param param;
  param.text = field.input_json();
  plan.plan.params.push_back(std::move(param));
  absl::StrAppend(&args, "$", plan.plan.params.size(), "::jsonb");
  plan.plan.sql = absl::StrCat(
      "SELECT row_to_json(m)::text, m.status::text FROM ",
      where::QuoteQualifiedName(field.function()), "(", args, ") AS m");

  ASSIGN_OR_RETURN(plan.success, OutcomeSelection(schema, field, false));
  ASSIGN_OR_RETURN(plan.error, OutcomeSelection(schema, field, true));
  return plan;
}

}  // namespace fraiseql::planner
