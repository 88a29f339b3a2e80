#include "pybind/async_bindings.h"

#include <Python.h>

#include "absl/strings/str_cat.h"
#include "exec/request_context.h"

namespace py = pybind11;

namespace fraiseql::pybind {

py::object RunNow(PreparedCall call) {
  {
    py::gil_scoped_release release;
    JobEnv env;
    call.run(env);
  }
  return call.finish();
}

py::object PendingCall::Result() {
  // A call that never ran: Cancelled, or DeadlineExceeded without the
  // query-timeout payload (PoolTimeoutError: it never got a connection).
  if (!call_->ran()) {
    const absl::Status status = call_->status();
    if (not_ran_) {
      std::function<void(const absl::Status&)> report = std::move(not_ran_);
      not_ran_ = nullptr;
      report(status);
    }
    Raise(status);
  }
  if (!finish_) {
    throw py::value_error("PendingCall.result() was already taken");
  }
  std::function<py::object()> finish = std::move(finish_);
  finish_ = nullptr;
  return finish();
}

PendingCall::~PendingCall() {
  if (call_ == nullptr || call_->done()) return;
  dispatcher_->Cancel(call_);
  if (PyGILState_Check()) {
    py::gil_scoped_release release;
    call_->WaitDone();
  } else {
    call_->WaitDone();
  }
}

PendingCall PyAsyncRepository::Submit(PreparedCall call) {
  return Submit(std::move(call), slot_);
}

PendingCall PyAsyncRepository::Submit(PreparedCall call, SlotUse slot) {
  std::shared_ptr<AsyncDispatcher::Call> queued =
      dispatcher_->Submit(std::move(call.run), slot, call.deadline,
                          std::move(call.batch));
  return PendingCall(dispatcher_, std::move(queued), std::move(call.finish),
                     std::move(call.not_ran));
}

std::shared_ptr<AsyncDispatcher> NewDispatcher(int slots) {
  std::unique_ptr<AsyncDispatcher> dispatcher =
      ValueOrRaise(AsyncDispatcher::Create(slots));
  return std::shared_ptr<AsyncDispatcher>(dispatcher.release(),
                                          [](AsyncDispatcher* d) {
                                            if (PyGILState_Check()) {
                                              py::gil_scoped_release release;
                                              delete d;
                                            } else {
                                              delete d;
                                            }
                                          });
}

void DefineAsyncTypes(py::module_& m) {
  py::class_<PendingCall>(
      m, "PendingCall",
      "A call queued by an AsyncRepository (fraiseql_native.aio awaits it).")
      .def_property_readonly("id", &PendingCall::id)
      .def("result", &PendingCall::Result,
           "The call's value, or raises its error; once, after its id came "
           "out of drain().")
      .def("cancel", &PendingCall::Cancel,
           "Cancels the call: a queued one completes as "
           "QueryCancelledError without running; a running one has its "
           "statement cancelled on the server, and its connection goes back "
           "to the pool clean.");
}

}  // namespace fraiseql::pybind
