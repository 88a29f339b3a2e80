// base/: a bounded, thread-safe least-recently-used map from string keys to
// shared immutable values, the one LRU of the project. The planner keeps its
// plans by input shape in one (planner/planner.h); each connection keeps the
// names of its prepared statements by SQL text in one
// (stream/statement_cache.h). It knows nothing about what it holds.
#ifndef FRAISEQL_BASE_LRU_CACHE_H_
#define FRAISEQL_BASE_LRU_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace fraiseql::base {

struct CacheStats {
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t evictions = 0;
  size_t size = 0;
  size_t capacity = 0;
};

// At most `capacity` entries; inserting into a full cache evicts the least
// recently found or inserted one. Capacity 0 keeps nothing (every Find
// misses). Values are shared: a value found stays valid for its holder after
// eviction. Thread-safe: every method takes one absl::Mutex for the duration
// of a hash lookup and a list splice; values are never copied under it.
template <typename V>
class LruCache {
 public:
  explicit LruCache(size_t capacity) : capacity_(capacity) {}
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  // The value under `key`, now the most recently used; nullptr when absent.
  std::shared_ptr<const V> Find(absl::string_view key) {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++misses_;
      return nullptr;
    }
    ++hits_;
    entries_.splice(entries_.begin(), entries_, it->second);
    return it->second->second;
  }

  // Stores `value` under `key` as the most recently used entry. Returns the
  // value the insert pushed out, for a caller that must release what it
  // stands for (a prepared statement on the server): the one `key` held
  // before, or else the least recently used entry's when the cache was full
  // (an eviction); nullptr when none. With capacity 0 nothing is stored and
  // nullptr is returned.
  std::shared_ptr<const V> Insert(std::string key,
                                  std::shared_ptr<const V> value) {
    if (capacity_ == 0) return nullptr;
    absl::MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      std::swap(it->second->second, value);
      entries_.splice(entries_.begin(), entries_, it->second);
      return value;
    }
    std::shared_ptr<const V> evicted;
    if (entries_.size() >= capacity_) {
      evicted = std::move(entries_.back().second);
      index_.erase(entries_.back().first);
      entries_.pop_back();
      ++evictions_;
    }
    entries_.emplace_front(std::move(key), std::move(value));
    // The index keys view the list's strings, whose nodes never move.
    index_.emplace(entries_.front().first, entries_.begin());
    return evicted;
  }

  // Removes every entry (the counters stay).
  void Clear() {
    absl::MutexLock lock(&mu_);
    index_.clear();
    entries_.clear();
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return entries_.size();
  }

  size_t capacity() const { return capacity_; }

  CacheStats Stats() const {
    absl::MutexLock lock(&mu_);
    return {hits_, misses_, evictions_, entries_.size(), capacity_};
  }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const V>>;

  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::list<Entry> entries_ ABSL_GUARDED_BY(mu_);  // most recent first
  absl::flat_hash_map<absl::string_view, typename std::list<Entry>::iterator>
      index_ ABSL_GUARDED_BY(mu_);
  int64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t evictions_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fraiseql::base

#endif  // FRAISEQL_BASE_LRU_CACHE_H_
