// pybind/: fraiseql_native.Pool, over pool::Pool.
#ifndef FRAISEQL_PYBIND_POOL_BINDINGS_H_
#define FRAISEQL_PYBIND_POOL_BINDINGS_H_

#include <memory>

#include "pool/pool.h"
#include "pybind11/pybind11.h"

namespace fraiseql::pybind {

class PyPool {
 public:
  // Takes the options Pool(...) was called with (see pool_bindings.cc).
  explicit PyPool(pool::PoolOptions options);
  // Closing the pool joins its threads and closes connections: not under
  // the GIL.
  ~PyPool();

  pybind11::dict Stats() const;
  const std::shared_ptr<pool::Pool>& pool() const { return pool_; }

 private:
  std::shared_ptr<pool::Pool> pool_;
};

void DefinePool(pybind11::module_& m);

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_POOL_BINDINGS_H_
