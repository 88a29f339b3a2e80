#include "stream/statement_cache.h"

#include <unistd.h>

#include <atomic>
#include <memory>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fraiseql::stream {

std::string StatementCache::NewName() {
  static std::atomic<uint64_t> counter{0};
  static const std::string prefix = [] {
    std::random_device random;
    return absl::StrCat(
        "fql_", absl::Hex(random() ^ static_cast<uint32_t>(getpid())), "_");
  }();
  return absl::StrCat(prefix, counter.fetch_add(1) + 1);
}

std::optional<std::string> StatementCache::Find(const std::string& sql) {
  std::shared_ptr<const std::string> name = statements_.Find(sql);
  if (name == nullptr) return std::nullopt;
  return *name;
}

void StatementCache::Insert(std::string sql, std::string name) {
  std::shared_ptr<const std::string> out = statements_.Insert(
      std::move(sql), std::make_shared<const std::string>(std::move(name)));
  if (out != nullptr) evicted_.push_back(*out);
}

std::vector<std::string> StatementCache::TakeEvicted() {
  std::vector<std::string> names;
  names.swap(evicted_);
  return names;
}

void StatementCache::Disable() {
  disabled_ = true;
  statements_.Clear();
  // The session's statements are not ours to deallocate any more (behind
  // PgBouncer they live in other server sessions): a DEALLOCATE would fail.
  evicted_.clear();
}

}  // namespace fraiseql::stream
