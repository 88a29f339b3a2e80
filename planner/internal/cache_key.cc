#include "planner/internal/cache_key.h"

#include "absl/strings/str_cat.h"

namespace fraiseql::planner::internal {

namespace {

void AppendPart(absl::string_view part, std::string* key) {
  absl::StrAppend(key, part.size(), ":", part);
}

void AppendSelection(
    const google::protobuf::RepeatedPtrField<v1::Selection>& selections,
    std::string* key) {
  key->push_back('{');
  for (const v1::Selection& s : selections) {
    AppendPart(s.response_key(), key);
    AppendPart(s.field_name(), key);
    if (s.fields_size() > 0) AppendSelection(s.fields(), key);
  }
  key->push_back('}');
}

}  // namespace

std::string CacheKey(const v1::RootField& root, absl::string_view condition) {
  std::string key;
  key.reserve(condition.size() + root.view().size() +
              root.order_by_json().size() + root.aggregate_field().size() + 32 +
              16 * root.selection_size());
  char flags[] = {
      // Valid operations are checked before the lookup: 0..7 fit a digit.
      static_cast<char>('0' + root.operation()),
      root.is_list() ? 'L' : '-',
      root.has_limit() ? 'l' : '-',
      root.has_offset() ? 'o' : '-',
      root.has_first() ? 'f' : '-',
      root.has_after() ? 'a' : '-',
      root.has_last() ? 'z' : '-',
      root.has_before() ? 'b' : '-',
      root.include_total_count() ? 't' : '-',
      root.has_selection() ? 's' : '-',
  };
  key.append(flags, sizeof flags);
  AppendPart(root.view(), &key);
  AppendPart(root.aggregate_field(), &key);
  AppendPart(root.order_by_json(), &key);
  AppendPart(condition, &key);
  if (root.has_selection()) AppendSelection(root.selection(), &key);
  return key;
}

}  // namespace fraiseql::planner::internal
