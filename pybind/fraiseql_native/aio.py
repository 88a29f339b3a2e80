"""asyncio face of the repository: every call of ``Repository`` as a coroutine.

    repo = AsyncRepository(pool, schema)            # Repository's arguments
    body = await repo.find("app.v_user", where={...}, selection="id name")
    async with repo.transaction() as tx:
        await tx.mutate(...)
    async for piece in repo.find_stream("app.v_big"):
        ...

How it runs: a call is checked and converted on the loop's thread (bad input
raises at once), then queued in C++. At most ``concurrency`` calls (the pool's
max_size by default) run at once, each on a C++ worker thread holding one pool
connection; the rest wait in the queue and hold no thread. A finished call is
announced on an eventfd that the loop watches (``loop.add_reader``), so
completions arrive in batches on the loop's thread and no thread ever touches
Python state for them. Works on the default loop and on uvloop.

Cancelling the awaiting task (a client disconnect, ``asyncio.timeout``)
cancels the call: a queued one never runs; a running one has its statement
cancelled on the server, and the task's cancellation completes once the
connection is back in the pool, clean. The repository binds to the event loop
of its first call.
"""

from __future__ import annotations

import asyncio
import collections
import functools
from typing import Any, Callable, Deque, Dict, Optional

from . import _native

__all__ = ["AsyncRepository", "AsyncTransaction", "AsyncBodyStream"]


class _Record:
    __slots__ = ("future", "pending", "done")

    def __init__(self, future, pending):
        self.future = future
        self.pending = pending
        self.done = None  # set when a cancelled caller waits for the end


class _Driver:
    """Owns the eventfd reader and the futures of the calls in flight."""

    def __init__(self, native: "_native.AsyncRepository") -> None:
        self._native = native
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._pending: Dict[int, _Record] = {}
        self._backlog: Deque[int] = collections.deque()
        self._backlog_scheduled = False

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return loop
        if self._loop is None or self._loop.is_closed():
            self._loop = loop
            loop.add_reader(self._native.fd, self._drain)
        elif self._loop is not loop:
            raise RuntimeError(
                "this AsyncRepository is bound to the event loop of its first "
                "call; make one per loop")
        return loop

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._native.fd)
        self._loop = None
        # Calls in flight still end (their connections go back to the
        # pool), but nobody will wait for them here any more.
        for record in self._pending.values():
            record.pending.cancel()
            if record.future is not None and not record.future.done():
                record.future.set_exception(
                    RuntimeError("the AsyncRepository was closed"))

    async def call(self, submit, *args,
                   on_cancel: Optional[Callable[[], None]] = None, **kwargs):
        """Submits `submit(*args, **kwargs)` (a PendingCall) and awaits it."""
        loop = self._bind()  # before anything is queued
        pending = submit(*args, **kwargs)
        record = _Record(loop.create_future(), pending)
        self._pending[pending.id] = record
        try:
            return await record.future
        except asyncio.CancelledError:
            if pending.id in self._pending:
                # Still queued or running: cancel it and wait until it is
                # over, so that the connection is back in the pool (and the
                # call's objects unused) when the cancellation completes.
                pending.cancel()
                if on_cancel is not None:
                    on_cancel()
                record.done = loop.create_future()
                while not record.done.done():
                    try:
                        await asyncio.shield(record.done)
                    except asyncio.CancelledError:
                        pass  # cancelled again: still wait, raise once
            elif (record.future.done() and not record.future.cancelled()
                  and record.future.exception() is None):
                # It finished just as the task was cancelled: end what it
                # opened (a transaction, a stream).
                self._abandon(record.future.result())
            raise

    # Completions handed to their futures per loop callback: a burst (a
    # group of calls finishing together) then wakes its tasks over several
    # loop iterations, and timers and I/O get their turn in between.
    _DRAIN_STEP = 4

    def _drain(self) -> None:
        self._backlog.extend(self._native.drain())
        self._drain_backlog()

    def _drain_backlog(self) -> None:
        backlog = self._backlog
        for _ in range(min(len(backlog), self._DRAIN_STEP)):
            self._complete(backlog.popleft())
        if backlog and not self._backlog_scheduled and self._loop is not None:
            self._backlog_scheduled = True
            self._loop.call_soon(self._drain_rest)

    def _drain_rest(self) -> None:
        self._backlog_scheduled = False
        self._drain_backlog()

    def _complete(self, call_id: int) -> None:
        record = self._pending.pop(call_id, None)
        if record is None:
            return
        try:
            value, error = record.pending.result(), None
        except BaseException as e:  # noqa: BLE001 - handed to the future
            value, error = None, e
        if record.future is None:
            pass  # fired and forgotten (a cleanup): nobody waits
        elif not record.future.done():
            if error is not None:
                record.future.set_exception(error)
            else:
                record.future.set_result(value)
        else:
            self._abandon(value)
        if record.done is not None and not record.done.done():
            record.done.set_result(None)

    def _abandon(self, value: Any) -> None:
        """A cancelled call finished anyway: end what it opened."""
        if isinstance(value, _native.AsyncTransaction) and value.open:
            self._fire(value.rollback())
        elif isinstance(value, _native.AsyncBodyIterator):
            self._fire(value.close())

    def _fire(self, pending) -> None:
        """Keeps a cleanup call (a rollback, a close) until it completes."""
        self._bind()
        self._pending[pending.id] = _Record(None, pending)


def _coroutine(name: str):
    native_method = getattr(_native.AsyncRepository, name)

    async def method(self, *args, **kwargs):
        return await self._driver.call(native_method, self._native, *args,
                                       **kwargs)

    method.__name__ = name
    method.__qualname__ = f"AsyncRepository.{name}"
    method.__doc__ = getattr(_native.Repository, name).__doc__
    return method


class _Calls:
    """The coroutine calls shared by AsyncRepository and AsyncTransaction."""

    _native: Any
    _driver: _Driver

    for _name in ("find", "find_one", "count", "exists", "sum", "avg", "min",
                  "max", "distinct", "execute", "mutate", "run"):
        locals()[_name] = _coroutine(_name)
    del _name

    def find_stream(self, view: str, **kwargs) -> "AsyncBodyStream":
        """find() as an async iterator over pieces of the body (bytes); see
        Repository.find_stream. Use ``async for``, and ``aclose()`` (or
        ``async with``) to stop early: the query is cancelled."""
        return AsyncBodyStream(
            self._driver,
            functools.partial(self._native.find_stream, view, **kwargs))

    def execute_stream(self, query_definition: bytes,
                       **kwargs) -> "AsyncBodyStream":
        """execute() as an async iterator; see find_stream()."""
        return AsyncBodyStream(
            self._driver,
            functools.partial(self._native.execute_stream, query_definition,
                              **kwargs))


class AsyncRepository(_Calls):
    """Repository's calls as coroutines (see the module's docstring).

    Takes Repository's arguments, plus ``concurrency``: calls that may run at
    once (default: the pool's max_size, so that no call waits inside the pool
    holding a thread). ``sync`` is the blocking Repository over the same pool
    and plan cache.
    """

    def __init__(self, pool: "_native.Pool", schema: "_native.Schema", *,
                 concurrency: Optional[int] = None, **kwargs) -> None:
        self.sync = _native.Repository(pool, schema, **kwargs)
        if concurrency is None:
            concurrency = pool.stats()["max_size"]
        self._native = _native.AsyncRepository(self.sync, concurrency)
        self._driver = _Driver(self._native)

    @property
    def backend(self) -> str:
        return self.sync.backend

    def explain(self, view: str, **kwargs):
        """(sql, params) find() would run, without running it."""
        return self.sync.explain(view, **kwargs)

    def plan_cache_stats(self) -> dict:
        return self.sync.plan_cache_stats()

    def queue_stats(self) -> dict:
        """The call queue: slots, free_slots, queued, running,
        completed_total, queue_timeouts, cancelled_queued, batches and
        batched_calls (waiting find/find_one/execute calls of the same
        settings run together, up to 8 in one round trip)."""
        return self._native.stats()

    def transaction(self, **kwargs) -> "_TransactionContext":
        """``async with repo.transaction(isolation=, read_only=, context=,
        timeout=) as tx:`` commits at the end, rolls back on an exception.
        ``tx = await repo.transaction()`` works too (then commit/rollback)."""
        return _TransactionContext(self, kwargs)

    def close(self) -> None:
        """Stops watching the loop (the calls in flight still end)."""
        self._driver.close()


class AsyncTransaction(_Calls):
    """An open transaction: the calls of AsyncRepository, run in it one
    after the other (each waits for the one before), plus commit() and
    rollback()."""

    def __init__(self, native: "_native.AsyncTransaction",
                 driver: _Driver) -> None:
        self._native = native
        self._driver = driver
        self._lock = asyncio.Lock()

    @property
    def open(self) -> bool:
        return self._native.open

    async def commit(self, timeout: Optional[float] = None) -> None:
        async with self._lock:
            await self._driver.call(self._native.commit, timeout)

    async def rollback(self, timeout: Optional[float] = None) -> None:
        async with self._lock:
            await self._driver.call(self._native.rollback, timeout)

    def transaction(self, **kwargs):
        raise _native.TransactionError(
            "a transaction is already open: its calls run in it (mutations "
            "get a savepoint each)")


def _serialized(name: str):
    native_method = getattr(_native.AsyncRepository, name)

    async def method(self, *args, **kwargs):
        async with self._lock:
            return await self._driver.call(native_method, self._native,
                                           *args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"AsyncTransaction.{name}"
    method.__doc__ = getattr(_native.Repository, name).__doc__
    return method


for _name in ("find", "find_one", "count", "exists", "sum", "avg", "min",
              "max", "distinct", "execute", "mutate", "run"):
    setattr(AsyncTransaction, _name, _serialized(_name))
del _name


class _TransactionContext:
    def __init__(self, repo: AsyncRepository, kwargs: dict) -> None:
        self._repo = repo
        self._kwargs = kwargs
        self._tx: Optional[AsyncTransaction] = None

    async def _begin(self) -> AsyncTransaction:
        native = await self._repo._driver.call(
            self._repo._native.transaction, **self._kwargs)
        self._tx = AsyncTransaction(native, self._repo._driver)
        return self._tx

    def __await__(self):
        return self._begin().__await__()

    async def __aenter__(self) -> AsyncTransaction:
        return await self._begin()

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        tx = self._tx
        if tx is None or not tx.open:
            return False
        if exc_type is None:
            try:
                await tx.commit()
            except BaseException:
                if tx.open:
                    await tx.rollback()
                raise
        else:
            await tx.rollback()
        return False


class AsyncBodyStream:
    """Pieces of a streamed body (bytes) for ``async for``. The query starts
    at the first piece asked for (once a connection is free); ``aclose()``
    or leaving ``async with`` cancels it. Cancelling the task that awaits a
    piece cancels the query."""

    def __init__(self, driver: _Driver, start: Callable[[], Any]) -> None:
        self._driver = driver
        self._start = start
        self._native: Optional[_native.AsyncBodyIterator] = None
        self._closed = False

    def __aiter__(self) -> "AsyncBodyStream":
        return self

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        try:
            if self._native is None:
                self._native = await self._driver.call(self._start)
            native = self._native
            piece = await self._driver.call(native.next,
                                            on_cancel=native.cancel)
        except BaseException:
            # An error or a cancel ends the stream: its connection goes
            # back to the pool now, not when the iterator is collected.
            self._close_soon()
            raise
        if piece is None:
            await self.aclose()
            raise StopAsyncIteration
        return piece

    def _close_soon(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._native is not None:
            self._driver._fire(self._native.close())

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._native is not None:
            await self._driver.call(self._native.close)

    async def __aenter__(self) -> "AsyncBodyStream":
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        await self.aclose()
        return False

