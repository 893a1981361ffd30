"""``Query`` / ``AsyncQuery`` (and the official-shaped ``Scan`` / ``AsyncScan``): thin facades.

Everything a query does is in :mod:`._commands.query` (statement, partition state, rounds, the
answer parser); a call is a generator of steps that the client's ``_drive`` runs, now (sync) or
as a coroutine (async). What differs here is only how records reach the caller: a list
(``results``), or a bounded buffer the caller drains (``iterate`` / ``foreach``). The buffer holds
at most ``record_queue_size`` records plus one answer frame per node: a sync query's node
threads wait while it is full, an async query stops reading its sockets until it drains.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any

from . import _observe
from . import _policy as P
from ._commands import aggregate as AG
from ._commands import query as QC
from .exception import ClientError, _InvalidArgType
from .types import Record

_END = object()


class _Failed:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _QueryBase:
    """What sync and async queries share: the statement and how a call is prepared."""

    _POLICY = P.QUERY
    _POLICY_NAME = "query"

    def __init__(self, client: Any, namespace: str, set_name: str | None) -> None:
        self._client = client
        self._stmt = QC.Statement(namespace, set_name)
        self._agg: AG.Aggregation | None = None

    def __repr__(self) -> str:
        s = self._stmt
        return f"{type(self).__name__}(namespace={s.namespace!r}, set={s.set_name!r})"

    def select(self, *bins: str) -> None:
        """Return only these bins (all bins when never called)."""
        if len(bins) == 1 and isinstance(bins[0], (list, tuple)):
            bins = tuple(bins[0])
        self._stmt.select(bins)

    def where(self, predicate: tuple[Any, ...], ctx: list[Any] | None = None) -> None:
        """Filter by one secondary-index predicate from :mod:`aerospike_py.predicates`."""
        if ctx is not None and isinstance(predicate, tuple):
            predicate = (*predicate, {"ctx": list(ctx)})
        self._stmt.filter = QC.parse_predicate(predicate)

    def apply(self, module: str, function: str, args: list[Any] | None = None) -> None:
        """Make this query a stream UDF aggregation: ``module.function(stream, *args)`` runs its
        stages on the server nodes and the final ones (from the first ``reduce``) here, in Lua
        (needs ``lupa``); ``results()``/``foreach()``/``iterate()`` then give the values it yields."""
        self._agg = AG.Aggregation(module, function, args)

    def _aggregate_steps(self, policy: dict[str, Any] | None) -> Any:
        import random

        assert self._agg is not None  # set by apply()
        p = self._resolve(policy)
        return AG.aggregate_steps(self._client._cluster_view, AG.client_lua(self._client), self._stmt,
                                  self._agg, p, random.getrandbits(63) or 1)

    def _resolve(self, policy: dict[str, Any] | None) -> P.Policy:
        p = self._POLICY.resolve(policy, self._client._defaults.get(self._POLICY_NAME))
        pf = p.get("partition_filter")
        if pf is not None and not isinstance(pf, QC.PartitionFilter):
            raise _InvalidArgType("partition_filter must come from aerospike_py.partition_filter_*()")
        return p

    def _steps(self, policy: dict[str, Any] | None, sink: QC.Sink) -> Any:
        p = self._resolve(policy)
        run = QC.QueryRun(self._stmt, p, p.get("partition_filter"), sink)
        return QC.query_steps(self._client._cluster_view, run)

    def _queue_size(self, policy: dict[str, Any] | None) -> int:
        size: int = self._resolve(policy).get("record_queue_size", 1024)
        return max(1, size)

    def _background(self, ops: list[Any], policy: dict[str, Any] | None, udf: tuple[str, str, list[Any] | None] | None = None) -> Any:
        """A background job: write ``ops``, or the record UDF ``udf = (module, function, args)``."""
        from ._policy import WRITE

        p = WRITE.resolve(policy, self._client._defaults.get("write"))
        if udf is None:
            packed, attrs = QC.background_write_attrs(p, ops)
            udf_fields = None
        else:
            udf_fields, attrs = QC.background_udf(p, *udf)
            packed = []
        qp = P.Policy(self._POLICY.default_policy, total_timeout=p["total_timeout"],
                      socket_timeout=p["socket_timeout"], max_retries=0)
        run = QC.QueryRun(self._stmt, qp, None, _discard, packed, attrs)
        run.udf = udf_fields
        import random

        return QC.background_steps(self._client._cluster_view, run, random.getrandbits(63) or 1)


def drive(client: Any, stmt: QC.Statement, steps: Any, stopped: Callable[[], bool] | None = None) -> Any:
    """``client._drive(steps)`` for one query or scan execution: one ``query`` sample and span
    when observed (see :mod:`._observe`); an error once ``stopped()`` (the consumer left) is none."""
    observer = _observe.ACTIVE
    if observer is None:
        return client._drive(steps)
    return observer.run_call(client._ASYNC, "query", stmt.namespace, stmt.set_name or "",
                             getattr(client, "_cluster", None), lambda: client._drive(steps), stopped)


def _discard(chunk: list[Any], cmd: Any) -> None:
    return None


async def _awaited(value: Any) -> Any:
    """``_drive`` of the async client: a coroutine, or the value when the call needed no I/O."""
    return await value if inspect.isawaitable(value) else value


# --------------------------------------------------------------------------- sync


class Query(_QueryBase):
    """A secondary-index query (with :meth:`where`) or a scan (without) of a set or namespace."""

    def results(self, policy: dict[str, Any] | None = None) -> list[Any]:
        """Every matching record, as a list of :class:`Record` (an aggregation: its values)."""
        if self._agg is not None:
            values: list[Any] = drive(self._client, self._stmt, self._aggregate_steps(policy))
            return values
        out: list[Record] = []
        extend = out.extend
        drive(self._client, self._stmt, self._steps(policy, lambda chunk, cmd: extend(chunk)))
        return out

    def foreach(self, callback: Callable[[Record], Any], policy: dict[str, Any] | None = None) -> None:
        """Call ``callback(record)`` for each record (in this thread); it returns ``False`` to stop
        (an aggregation: for each of its values)."""
        if self._agg is not None:
            for v in self.results(policy):
                if callback(v) is False:
                    break
            return
        it = RecordStream(self, policy)
        try:
            for rec in it:
                if callback(rec) is False:
                    break
        finally:
            it.close()

    def iterate(self, policy: dict[str, Any] | None = None) -> Any:
        """Stream the records: at most ``record_queue_size`` (+ one frame per node) are held (an
        aggregation: an iterator over its values, which are all known when the last node answered)."""
        if self._agg is not None:
            return iter(self.results(policy))
        return RecordStream(self, policy)

    def execute_background(self, ops: list[Any], policy: dict[str, Any] | None = None) -> int:
        """Apply write ``ops`` to every matching record on the server; returns the job id."""
        job_id: int = drive(self._client, self._stmt, self._background(ops, policy))
        return job_id

    def execute_udf_background(self, module: str, function: str, args: list[Any] | None = None,
                               policy: dict[str, Any] | None = None) -> int:
        """Run the record UDF ``module.function(rec, *args)`` on every matching record on the
        server (records are updated, never created); returns the job id (see ``job_info``)."""
        job_id: int = self._client._drive(self._background([], policy, (module, function, args)))
        return job_id


class RecordStream(Iterator[Record]):
    """The records of a sync query as they arrive; node threads wait while the buffer is full."""

    def __init__(self, query: Query, policy: dict[str, Any] | None) -> None:
        self._bound = query._queue_size(policy)
        self._cond = threading.Condition()
        self._chunks: collections.deque[Any] = collections.deque()
        self._count = 0
        self._stopped = False
        self._it: Generator[Record, None, None] = self._records()
        steps = query._steps(policy, self._put)
        # The caller's context, so that the query's span is a child of the caller's current span.
        self._thread = threading.Thread(target=contextvars.copy_context().run,
                                        args=(self._work, query._client, query._stmt, steps), daemon=True,
                                        name="aerospike_py-query")
        self._thread.start()

    def _put(self, chunk: list[Any], cmd: Any) -> None:
        with self._cond:
            while self._count >= self._bound and not self._stopped:
                self._cond.wait()
            if self._stopped:
                raise QC.QueryTerminated("the consumer stopped")
            self._chunks.append(chunk)
            self._count += len(chunk)
            self._cond.notify_all()

    def _work(self, client: Any, stmt: QC.Statement, steps: Any) -> None:
        try:
            drive(client, stmt, steps, self._has_stopped)
            item: Any = _END
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            item = _Failed(e)
        with self._cond:
            self._chunks.append(item)
            self._cond.notify_all()

    def _has_stopped(self) -> bool:
        return self._stopped

    def __iter__(self) -> Iterator[Record]:
        return self._it

    def __next__(self) -> Record:
        return next(self._it)

    def _records(self) -> Generator[Record, None, None]:
        while True:
            with self._cond:
                while not self._chunks:
                    self._cond.wait()
                chunk = self._chunks.popleft()
                if chunk is _END or type(chunk) is _Failed:
                    self._chunks.appendleft(chunk)  # stays ended
                    self._stopped = True
                    if isinstance(chunk, _Failed):
                        raise chunk.exc
                    return
                self._count -= len(chunk)
                self._cond.notify_all()
            yield from chunk

    def close(self) -> None:
        """Stop the query (its connections are closed); records not yet read are dropped."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._it.close()

    def __enter__(self) -> RecordStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        self._stopped = True


# --------------------------------------------------------------------------- async


class AsyncQuery(_QueryBase):
    """The asyncio query: ``await results()``, ``await foreach(cb)``, ``async for r in iterate()``."""

    async def results(self, policy: dict[str, Any] | None = None) -> list[Any]:
        """Every matching record, as a list of :class:`Record` (an aggregation: its values)."""
        if self._agg is not None:
            values: list[Any] = await _awaited(drive(self._client, self._stmt, self._aggregate_steps(policy)))
            return values
        out: list[Record] = []
        extend = out.extend
        await _awaited(drive(self._client, self._stmt, self._steps(policy, lambda chunk, cmd: extend(chunk))))
        return out

    async def foreach(self, callback: Callable[[Record], Any], policy: dict[str, Any] | None = None) -> None:
        """Call ``callback(record)`` for each record; it returns ``False`` to stop (awaitables are awaited)."""
        stream = self.iterate(policy)
        try:
            async for rec in stream:
                r = callback(rec)
                if asyncio.iscoroutine(r):
                    r = await r
                if r is False:
                    break
        finally:
            await stream.aclose()

    def iterate(self, policy: dict[str, Any] | None = None) -> Any:
        """``async for`` over the records; sockets stop being read while ``record_queue_size`` wait
        (an aggregation: over its values, which are all known when the last node answered)."""
        if self._agg is not None:
            return _AsyncValues(self, policy)
        return AsyncRecordStream(self, policy)

    async def execute_background(self, ops: list[Any], policy: dict[str, Any] | None = None) -> int:
        """Apply write ``ops`` to every matching record on the server; returns the job id."""
        job_id: int = await _awaited(drive(self._client, self._stmt, self._background(ops, policy)))
        return job_id

    async def execute_udf_background(self, module: str, function: str, args: list[Any] | None = None,
                                     policy: dict[str, Any] | None = None) -> int:
        """Run the record UDF ``module.function(rec, *args)`` on every matching record on the
        server (records are updated, never created); returns the job id (see ``job_info``)."""
        job_id: int = await _awaited(self._client._drive(self._background([], policy, (module, function, args))))
        return job_id


class _AsyncValues(AsyncIterator[Any]):
    """The values of an async aggregation (the call runs on the first ``__anext__``)."""

    def __init__(self, query: AsyncQuery, policy: dict[str, Any] | None) -> None:
        self._query = query
        self._policy = policy
        self._it: Iterator[Any] | None = None

    def __aiter__(self) -> _AsyncValues:
        return self

    async def __anext__(self) -> Any:
        if self._it is None:
            self._it = iter(await self._query.results(self._policy))
        for v in self._it:
            return v
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._it = iter(())


class AsyncRecordStream(AsyncIterator[Record]):
    """The records of an async query as they arrive, with flow control on the node sockets."""

    def __init__(self, query: AsyncQuery, policy: dict[str, Any] | None) -> None:
        self._bound = query._queue_size(policy)
        self._chunks: collections.deque[list[Any]] = collections.deque()
        self._count = 0
        self._paused: list[Any] = []
        #: How many times a node socket was paused because the buffer was full.
        self.pauses: int = 0
        self._stopped = False
        self._waiter: asyncio.Future[None] | None = None
        self._it: Iterator[Record] = iter(())
        self._steps = query._steps(policy, self._put)
        self._client = query._client
        self._stmt = query._stmt
        self._task: asyncio.Future[Any] | None = None

    def _put(self, chunk: list[Any], cmd: Any) -> None:
        if self._stopped:
            raise QC.QueryTerminated("the consumer stopped")
        self._chunks.append(chunk)
        self._count += len(chunk)
        if self._count >= self._bound:
            conn = getattr(cmd, "conn", None)
            if conn is not None and conn.transport is not None and conn not in self._paused:
                conn.transport.pause_reading()
                self._paused.append(conn)
                self.pauses += 1
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _resume(self) -> None:
        paused, self._paused = self._paused, []
        for conn in paused:
            if not conn.dead and conn.transport is not None:
                conn.transport.resume_reading()

    def _has_stopped(self) -> bool:
        return self._stopped

    def __aiter__(self) -> AsyncRecordStream:
        return self

    async def __anext__(self) -> Record:
        for rec in self._it:
            return rec
        if self._task is None:
            if self._stopped:
                raise StopAsyncIteration
            self._task = asyncio.ensure_future(
                _awaited(drive(self._client, self._stmt, self._steps, self._has_stopped)))
        while not self._chunks:
            task = self._task
            if task.done():
                self._stopped = True
                exc = task.exception()
                if exc is not None:
                    raise exc
                raise StopAsyncIteration
            loop = asyncio.get_running_loop()
            self._waiter = w = loop.create_future()
            await asyncio.wait((w, task), return_when=asyncio.FIRST_COMPLETED)
            self._waiter = None
        chunk = self._chunks.popleft()
        self._count -= len(chunk)
        if self._paused and self._count < self._bound:
            self._resume()
        self._it = iter(chunk)
        return next(self._it)

    async def aclose(self) -> None:
        """Stop the query (its connections are closed); records not yet read are dropped."""
        self._stopped = True
        self._chunks.clear()
        self._it = iter(())
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping
                pass
        self._resume()


# --------------------------------------------------------------------------- official-shaped scans


class Scan(Query):
    """``client.scan(ns, set)``: a query without a predicate, taking a ``ScanPolicy``."""

    _POLICY = P.SCAN
    _POLICY_NAME = "scan"

    def where(self, predicate: tuple[Any, ...], ctx: list[Any] | None = None) -> None:
        """Not for scans: raises ClientError (a predicate needs ``client.query()``)."""
        raise ClientError("a scan takes no predicate: use client.query() for index queries")


class AsyncScan(AsyncQuery):
    """The asyncio :class:`Scan`."""

    _POLICY = P.SCAN
    _POLICY_NAME = "scan"

    def where(self, predicate: tuple[Any, ...], ctx: list[Any] | None = None) -> None:
        """Not for scans: raises ClientError (a predicate needs ``client.query()``)."""
        raise ClientError("a scan takes no predicate: use client.query() for index queries")


__all__ = ["AsyncQuery", "AsyncRecordStream", "AsyncScan", "Query", "RecordStream", "Scan"]
