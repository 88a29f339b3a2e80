// pybind/: one definition per call, run two ways. A binding prepares a call
// under the GIL (arguments checked and converted: bad input raises before
// anything is queued) into a PreparedCall: a job for a thread without the
// GIL and a `finish` that turns its outcome into a Python value or raises.
// The blocking class (Repository) runs the job at once with the GIL
// released; the asynchronous one (_native.AsyncRepository) queues it on an
// AsyncDispatcher and returns a PendingCall, which fraiseql_native.aio turns
// into an awaitable (its loop reads the dispatcher's eventfd, drains the
// finished ids and calls PendingCall.result() for each).
#ifndef FRAISEQL_PYBIND_ASYNC_BINDINGS_H_
#define FRAISEQL_PYBIND_ASYNC_BINDINGS_H_

#include <atomic>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pybind/async_dispatcher.h"
#include "pybind/errors.h"
#include "pybind11/pybind11.h"

namespace fraiseql::pybind {

struct PreparedCall {
  // Runs without the GIL; captures no Python object.
  std::function<void(JobEnv&)> run;
  // Runs with the GIL once `run` has: the result, or raises.
  std::function<pybind11::object()> finish;
  // The call's own deadline (its timeout=): it also bounds the wait for a
  // slot.
  absl::Time deadline = absl::InfiniteFuture();
  // With the GIL, when the call never ran (cancelled or timed out in the
  // queue), before its error is raised; may be empty.
  std::function<void(const absl::Status&)> not_ran;
  // Set for calls that may share a round trip with others queued beside
  // them (see BatchMember); the blocking API ignores it.
  std::shared_ptr<BatchMember> batch;
};

// A call whose work yields absl::StatusOr<T> and whose result is
// `convert(T&&)`. `keepalive` (the Python object whose C++ state the work
// uses) lives as long as the call.
template <typename T, typename Work, typename Convert>
PreparedCall MakeCall(absl::Time deadline, pybind11::object keepalive,
                      Work work, Convert convert) {
  auto result = std::make_shared<std::optional<absl::StatusOr<T>>>();
  PreparedCall call;
  call.deadline = deadline;
  call.run = [work = std::move(work), result](JobEnv& env) mutable {
    result->emplace(work(env));
  };
  call.finish = [result, convert = std::move(convert),
                 keepalive = std::move(keepalive)]() -> pybind11::object {
    return convert(ValueOrRaise(std::move(**result)));
  };
  return call;
}

// Runs a prepared call on this thread, with the GIL released around its
// work (the blocking API).
pybind11::object RunNow(PreparedCall call);

// Gives a kept slot back once (a transaction's or a stream's).
class SlotHold {
 public:
  explicit SlotHold(AsyncDispatcher* dispatcher) : dispatcher_(dispatcher) {}
  ~SlotHold() { Release(); }
  void Release() {
    if (!released_.exchange(true)) dispatcher_->ReleaseSlot();
  }

 private:
  AsyncDispatcher*
      dispatcher_;  // outlives every holder (see PyAsyncRepository)
  std::atomic<bool> released_{false};
};

// A queued or running call, as Python sees it.
class PendingCall {
 public:
  PendingCall(std::shared_ptr<AsyncDispatcher> dispatcher,
              std::shared_ptr<AsyncDispatcher::Call> call,
              std::function<pybind11::object()> finish,
              std::function<void(const absl::Status&)> not_ran)
      : dispatcher_(std::move(dispatcher)),
        call_(std::move(call)),
        finish_(std::move(finish)),
        not_ran_(std::move(not_ran)) {}
  PendingCall(PendingCall&&) noexcept = default;
  PendingCall& operator=(PendingCall&&) noexcept = default;
  PendingCall(const PendingCall&) = delete;
  PendingCall& operator=(const PendingCall&) = delete;
  // A call dropped before it completed is cancelled and waited for (with
  // the GIL released): its job uses the objects `finish` keeps alive.
  ~PendingCall();
  uint64_t id() const { return call_->id(); }
  // The call's value; raises its error (QueryCancelledError when it was
  // cancelled before it ran, PoolTimeoutError when no slot became free
  // before its deadline). Call once, after its id was drained.
  pybind11::object Result();
  void Cancel() { dispatcher_->Cancel(call_); }

 private:
  std::shared_ptr<AsyncDispatcher> dispatcher_;
  std::shared_ptr<AsyncDispatcher::Call> call_;
  std::function<pybind11::object()> finish_;
  std::function<void(const absl::Status&)> not_ran_;
};

// The asynchronous face of a Repository, a Transaction or a stream:
// `target` is the blocking object whose prepared calls it queues, with
// `slot` (kAcquire for a repository; kPinned, with the hold, for a
// transaction). Transactions made from it share its dispatcher.
class PyAsyncRepository {
 public:
  PyAsyncRepository(pybind11::object target,
                    std::shared_ptr<AsyncDispatcher> dispatcher, SlotUse slot,
                    std::shared_ptr<SlotHold> hold)
      : dispatcher_(std::move(dispatcher)),
        hold_(std::move(hold)),
        target_(std::move(target)),
        slot_(slot) {}

  // Queues `call` (with `slot`, or `slot_` when not given).
  PendingCall Submit(PreparedCall call);
  PendingCall Submit(PreparedCall call, SlotUse slot);

  const pybind11::object& target() const { return target_; }
  const std::shared_ptr<AsyncDispatcher>& dispatcher() const {
    return dispatcher_;
  }
  const std::shared_ptr<SlotHold>& hold() const { return hold_; }

 private:
  // Destroyed in reverse: the target (a transaction or stream gives its
  // connection back), then the slot it held, then the dispatcher. No job
  // can still use the target: every job's PendingCall keeps it alive and
  // waits for the job when dropped early.
  std::shared_ptr<AsyncDispatcher> dispatcher_;
  std::shared_ptr<SlotHold> hold_;
  pybind11::object target_;
  SlotUse slot_;
};

// A dispatcher whose last owner joins its workers with the GIL released
// (they may be finishing jobs that wait for a Python operator plugin).
std::shared_ptr<AsyncDispatcher> NewDispatcher(int slots);

// Defines `name` on both classes from one prepare function: the blocking
// method returns what `finish` gives (cast to R), the asynchronous one a
// PendingCall. Extra: pybind's py::arg and docstring arguments.
template <typename R, typename Sync, typename Async, typename Target,
          typename... Args, typename... Extra>
void DefCall(pybind11::class_<Sync>& sync_class,
             pybind11::class_<Async>& async_class, const char* name,
             PreparedCall (*prepare)(Target&, const pybind11::object&, Args...),
             const Extra&... extra) {
  sync_class.def(
      name,
      [prepare](pybind11::object self, Args... args) -> R {
        Target& target = self.cast<Target&>();
        return RunNow(prepare(target, self, std::forward<Args>(args)...))
            .template cast<R>();
      },
      extra...);
  async_class.def(
      name,
      [prepare](PyAsyncRepository& self, Args... args) {
        Target& target = self.target().template cast<Target&>();
        return self.Submit(
            prepare(target, self.target(), std::forward<Args>(args)...));
      },
      extra...);
}

void DefineAsyncTypes(pybind11::module_& m);

}  // namespace fraiseql::pybind

#endif  // FRAISEQL_PYBIND_ASYNC_BINDINGS_H_
