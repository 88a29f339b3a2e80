#include "response/internal/projection_plan.h"

#include <algorithm>
#include <utility>

#include "response/internal/json_text.h"

namespace fraiseql::response::internal {
namespace {

using Kind = FieldSelection::Kind;

std::string QuotedJson(absl::string_view text) {
  std::string quoted;
  AppendJsonString(text, &quoted);
  return quoted;
}

void BuildKeyIndex(ObjectPlan* plan) {
  size_t max_length = 0;
  for (const std::string& key : plan->slot_keys) {
    max_length = std::max(max_length, key.size());
  }
  plan->slots_by_length.resize(plan->slot_keys.size());
  for (uint32_t slot = 0; slot < plan->slot_keys.size(); ++slot) {
    plan->slots_by_length[slot] = slot;
  }
  std::stable_sort(plan->slots_by_length.begin(), plan->slots_by_length.end(),
                   [plan](uint32_t a, uint32_t b) {
                     return plan->slot_keys[a].size() <
                            plan->slot_keys[b].size();
                   });
  plan->length_begin.assign(max_length + 2, 0);
  for (const std::string& key : plan->slot_keys) {
    ++plan->length_begin[key.size() + 1];
  }
  for (size_t n = 1; n < plan->length_begin.size(); ++n) {
    plan->length_begin[n] += plan->length_begin[n - 1];
  }
}

std::unique_ptr<ObjectPlan> CompileObject(
    absl::string_view type_name, bool select_all,
    const std::vector<FieldSelection>& fields,
    const ProjectionOptions& options) {
  auto plan = std::make_unique<ObjectPlan>();
  plan->select_all = select_all;
  bool has_typename_field = false;
  if (select_all) {
    // Fields are overrides of the camelCased default for the keys they
    // read: JSON values copied untouched, typed objects projected. One slot
    // each, in order, so a slot is its field.
    for (const FieldSelection& field : fields) {
      if (field.kind != Kind::kJson && field.kind != Kind::kObject) continue;
      if (std::find(plan->slot_keys.begin(), plan->slot_keys.end(),
                    field.source_key) != plan->slot_keys.end()) {
        continue;
      }
      FieldPlan compiled;
      compiled.kind = field.kind;
      compiled.member_prefix = "," + QuotedJson(field.response_key) + ":";
      compiled.slot = static_cast<int>(plan->slot_keys.size());
      plan->slot_keys.push_back(field.source_key);
      if (field.kind == Kind::kObject) {
        compiled.object = CompileObject(
            field.type_name, /*select_all=*/field.fields.empty() ||
                                 field.select_all,
            field.fields, options);
      }
      plan->fields.push_back(std::move(compiled));
    }
  } else {
    for (const FieldSelection& field : fields) {
      FieldPlan compiled;
      compiled.kind = field.kind;
      compiled.member_prefix = "," + QuotedJson(field.response_key) + ":";
      if (field.kind == Kind::kTypename) {
        compiled.type_name_json = QuotedJson(type_name);
        has_typename_field |= field.response_key == "__typename";
      } else {
        const auto it = std::find(plan->slot_keys.begin(),
                                  plan->slot_keys.end(), field.source_key);
        compiled.slot = static_cast<int>(it - plan->slot_keys.begin());
        if (it == plan->slot_keys.end()) {
          plan->slot_keys.push_back(field.source_key);
        }
        if (field.kind == Kind::kObject) {
          compiled.object = CompileObject(
              field.type_name,
              /*select_all=*/field.fields.empty() || field.select_all,
              field.fields, options);
        }
      }
      plan->fields.push_back(std::move(compiled));
    }
  }
  // Lay out the span block: the slots, then each inline object's block.
  plan->slots.resize(plan->slot_keys.size());
  std::vector<int> readers(plan->slot_keys.size(), 0);
  for (const FieldPlan& field : plan->fields) {
    if (field.slot >= 0) ++readers[field.slot];
  }
  plan->block_size = static_cast<uint32_t>(plan->slot_keys.size());
  for (const FieldPlan& field : plan->fields) {
    if (select_all || field.kind != Kind::kObject || readers[field.slot] != 1 ||
        field.object->select_all) {
      continue;
    }
    SlotPlan& slot = plan->slots[field.slot];
    slot.inline_object = field.object.get();
    slot.child_offset = plan->block_size;
    plan->block_size += field.object->block_size;
  }
  if (options.always_typename && !type_name.empty() && !has_typename_field) {
    plan->typename_member = "\"__typename\":" + QuotedJson(type_name);
  }
  BuildKeyIndex(plan.get());
  return plan;
}

}  // namespace

std::unique_ptr<ObjectPlan> CompilePlan(const SelectionSet& selection,
                                        const ProjectionOptions& options) {
  return CompileObject(selection.type_name, selection.select_all,
                       selection.fields, options);
}

}  // namespace fraiseql::response::internal
