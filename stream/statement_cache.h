// stream/: which statements are prepared on one connection. StreamBatch
// prepares a statement the first time its SQL text (its shape, see
// exec::Plan) runs on a connection and executes it by name afterwards.
//
// One StatementCache describes one server session, so it lives with its
// connection and dies with it: the native backend keeps it in the
// connection's session slot (pool::Connection::session_state), and a
// connection that broke is discarded with its cache. Nothing here knows the
// connection; StreamBatch sends the Parse and DEALLOCATE commands.
#ifndef FRAISEQL_STREAM_STATEMENT_CACHE_H_
#define FRAISEQL_STREAM_STATEMENT_CACHE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/lru_cache.h"

namespace fraiseql::stream {

// Not thread-safe, like the connection it describes: one user at a time.
class StatementCache {
 public:
  // At most `capacity` statements (least recently used evicted, and
  // deallocated on the server by the next batch that ends its own
  // transaction). Capacity 0 records nothing.
  explicit StatementCache(size_t capacity = 256) : statements_(capacity) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // The name `sql` is prepared under, now the most recently used; nullopt
  // when it is not prepared.
  std::optional<std::string> Find(const std::string& sql);

  // Records that `sql` is now prepared as `name`. The name this pushes out
  // (the least recently used statement's when full, or one `sql` had
  // before) waits in TakeEvicted.
  void Insert(std::string sql, std::string name);

  // Names evicted and not yet deallocated; the caller sends DEALLOCATE for
  // them. Cleared by the call.
  std::vector<std::string> TakeEvicted();

  // Stops preparing statements on this connection (a statement it had
  // prepared was gone: PgBouncer in transaction-pooling mode routed the
  // call to another server session, or the session ran DISCARD/DEALLOCATE
  // ALL), and forgets the ones recorded.
  void Disable();
  bool disabled() const { return disabled_; }

  // Statements recorded, and at most how many.
  size_t size() const { return statements_.size(); }
  size_t capacity() const { return statements_.capacity(); }

  // Finds that hit and missed, and evictions (base::CacheStats).
  base::CacheStats Stats() const { return statements_.Stats(); }

  // A unique statement name ("fql_<process nonce>_<n>"): a statement prepared
  // again after its entry was evicted never collides with the old one, and
  // two processes sharing server sessions behind PgBouncer never run each
  // other's statements under the same name.
  static std::string NewName();

 private:
  base::LruCache<std::string> statements_;  // SQL text -> name
  std::vector<std::string> evicted_;
  bool disabled_ = false;
};

}  // namespace fraiseql::stream

#endif  // FRAISEQL_STREAM_STATEMENT_CACHE_H_
