#include "stream/statement_cache.h"

#include <unistd.h>

#include <atomic>
#include <random>

#include "absl/strings/str_cat.h"

namespace fraiseql::stream {

std::string StatementCache::NewName() {
  static std::atomic<uint64_t> counter{0};
  static const std::string prefix = [] {
    std::random_device random;
    return absl::StrCat("fql_", absl::Hex(random() ^ static_cast<uint32_t>(getpid())), "_");
  }();
  return absl::StrCat(prefix, counter.fetch_add(1) + 1);
}

StatementCache::PerConnection& StatementCache::EntryLocked(PGconn* conn) {
  const int pid = PQbackendPID(conn);
  auto it = table_.find(conn);
  if (it == table_.end() || it->second->backend_pid != pid) {
    if (it == table_.end() && table_.size() >= connections_) {
      // Forget the least recently used connection: most likely closed.
      auto oldest = table_.begin();
      for (auto i = table_.begin(); i != table_.end(); ++i) {
        if (i->second->last_used < oldest->second->last_used) oldest = i;
      }
      table_.erase(oldest);
    }
    auto fresh = std::make_unique<PerConnection>();
    fresh->backend_pid = pid;
    it = table_.insert_or_assign(conn, std::move(fresh)).first;
  }
  it->second->last_used = ++clock_;
  return *it->second;
}

std::optional<std::string> StatementCache::Find(PGconn* conn,
                                                const std::string& sql) {
  absl::MutexLock lock(&mu_);
  PerConnection& entry = EntryLocked(conn);
  auto it = entry.index.find(sql);
  if (it == entry.index.end()) return std::nullopt;
  entry.lru.splice(entry.lru.begin(), entry.lru, it->second);
  return it->second->second;
}

void StatementCache::Insert(PGconn* conn, const std::string& sql,
                            const std::string& name) {
  if (per_connection_ == 0) return;
  absl::MutexLock lock(&mu_);
  PerConnection& entry = EntryLocked(conn);
  if (auto it = entry.index.find(sql); it != entry.index.end()) {
    entry.evicted.push_back(it->second->second);
    entry.lru.erase(it->second);
    entry.index.erase(it);
  }
  while (entry.lru.size() >= per_connection_) {
    entry.evicted.push_back(entry.lru.back().second);
    entry.index.erase(entry.lru.back().first);
    entry.lru.pop_back();
  }
  entry.lru.emplace_front(sql, name);
  entry.index.emplace(sql, entry.lru.begin());
}

std::vector<std::string> StatementCache::TakeEvicted(PGconn* conn) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  names.swap(EntryLocked(conn).evicted);
  return names;
}

void StatementCache::Forget(PGconn* conn) {
  absl::MutexLock lock(&mu_);
  table_.erase(conn);
}

void StatementCache::Disable(PGconn* conn) {
  absl::MutexLock lock(&mu_);
  PerConnection& entry = EntryLocked(conn);
  entry.disabled = true;
  entry.lru.clear();
  entry.index.clear();
  // The session's statements are not ours to deallocate any more (behind
  // PgBouncer they live in other server sessions): a DEALLOCATE would fail.
  entry.evicted.clear();
}

bool StatementCache::Disabled(PGconn* conn) {
  absl::MutexLock lock(&mu_);
  return EntryLocked(conn).disabled;
}

size_t StatementCache::Size(PGconn* conn) {
  absl::MutexLock lock(&mu_);
  return EntryLocked(conn).lru.size();
}

}  // namespace fraiseql::stream
