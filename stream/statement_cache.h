// stream/: which statements are prepared on which connection. StreamQuery
// prepares a statement the first time its SQL text (its shape, see
// exec::Plan) runs on a connection and executes it by name afterwards.
//
// The pool's Connection has no slot for per-connection state, so this is a
// side table keyed by the libpq handle and checked against the server
// process id (PQbackendPID): a handle that was closed and whose address was
// reused by a new connection is recognised as new and starts empty.
#ifndef FRAISEQL_STREAM_STATEMENT_CACHE_H_
#define FRAISEQL_STREAM_STATEMENT_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "libpq-fe.h"

namespace fraiseql::stream {

// Thread-safe (one absl::Mutex, held for hash lookups only). A connection
// is used by one thread at a time, so the entries of one connection never
// race; the mutex guards the table itself.
class StatementCache {
 public:
  // At most `per_connection` statements per connection (least recently used
  // evicted: deallocated on the server by the next call on it), and at most
  // `connections` connections remembered (least recently used forgotten:
  // its statements are prepared again under new names).
  explicit StatementCache(size_t per_connection = 256,
                          size_t connections = 1024)
      : per_connection_(per_connection), connections_(connections) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // The name `sql` is prepared under on `conn`, now the most recently used;
  // nullopt when it is not prepared there.
  std::optional<std::string> Find(PGconn* conn, const std::string& sql);

  // Records that `sql` is now prepared on `conn` as `name`.
  void Insert(PGconn* conn, const std::string& sql, const std::string& name);

  // Names evicted from `conn` and not yet deallocated; the caller sends
  // DEALLOCATE for them. Cleared by the call.
  std::vector<std::string> TakeEvicted(PGconn* conn);

  // Forgets everything about `conn` (after an error that leaves its
  // prepared statements unknown).
  void Forget(PGconn* conn);

  // Stops preparing statements on `conn` (a statement it had prepared was
  // gone: PgBouncer in transaction-pooling mode routed the call to another
  // server session, or the session ran DISCARD/DEALLOCATE ALL).
  void Disable(PGconn* conn);
  bool Disabled(PGconn* conn);

  // Statements recorded for `conn` (tests, stats).
  size_t Size(PGconn* conn);

  // A unique statement name ("fql_<process nonce>_<n>"): a statement prepared
  // again after its entry was forgotten never collides with the old one, and
  // two processes sharing server sessions behind PgBouncer never run each
  // other's statements under the same name.
  static std::string NewName();

 private:
  struct PerConnection {
    int backend_pid = 0;
    std::list<std::pair<std::string, std::string>> lru;  // sql, name
    absl::flat_hash_map<std::string,
                        std::list<std::pair<std::string, std::string>>::iterator>
        index;
    std::vector<std::string> evicted;
    uint64_t last_used = 0;
    bool disabled = false;
  };
  PerConnection& EntryLocked(PGconn* conn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t per_connection_;
  const size_t connections_;
  absl::Mutex mu_;
  absl::flat_hash_map<PGconn*, std::unique_ptr<PerConnection>> table_
      ABSL_GUARDED_BY(mu_);
  uint64_t clock_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fraiseql::stream

#endif  // FRAISEQL_STREAM_STATEMENT_CACHE_H_
