"""The asyncio :class:`AsyncClient`: the operations of :class:`ClientBase` as coroutines.

No operation is written here: each public operation of ``ClientBase`` (and its mixins) is wrapped
in an ``async def`` that awaits what the shared body returns, because here ``_run`` hands the
command to :meth:`AsyncExecutor.submit`, which sends it at once when a connection is idle and
returns the reply's future (else the executor's coroutine). That wrapper is the only coroutine a
command runs in.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from typing import Any

from ._client_base import ClientBase
from ._commands.base import OffLoop
from ._net.async_executor import AsyncExecutor
from ._net.cluster import Cluster
from .exception import AerospikeError, ClientError
from .types import InfoNodeResult

#: Public methods of ``ClientBase`` that stay plain functions on the async client.
NOT_AWAITABLE = frozenset({"is_connected", "get_node_names", "query", "scan", "stats"})


def _coroutine_op(fn: Any) -> Any:
    """``async def`` around a shared operation body: the one coroutine a command runs in (the
    body returns the future of a request already sent, or the executor's coroutine)."""

    async def op(self: AsyncClient, *args: Any, **kwargs: Any) -> Any:
        pending = fn(self, *args, **kwargs)
        try:
            return await pending
        except asyncio.CancelledError:
            executor = self._executor
            if executor is not None:
                executor.reap()  # the cancelled request's connection must not be reused
            raise

    return functools.wraps(fn)(op)


def _async_operations(cls: type) -> type:
    """Give ``cls`` an ``async def`` for every public operation it inherits from ``ClientBase``."""
    for name in dir(ClientBase):
        if name.startswith("_") or name in NOT_AWAITABLE or name in cls.__dict__:
            continue
        fn = inspect.getattr_static(ClientBase, name)
        if inspect.isfunction(fn):
            setattr(cls, name, _coroutine_op(fn))
    return cls


async def _then(value: Any, fn: Any) -> Any:
    return fn(await value)


async def _run_one(executor: AsyncExecutor, cmd: Any, catch: bool) -> Any:
    """Run ``cmd`` on its own node (``cmd.node``) if it has one; ``catch``: return an AerospikeError."""
    try:
        return await executor.run(cmd, getattr(cmd, "node", None))
    except AerospikeError as e:
        if catch:
            return e
        raise


async def _run_many(executor: AsyncExecutor, cmds: list[Any], parallel: bool, combine: Any) -> Any:
    """The async side of ``ClientBase._run_many``: results in order, then ``combine`` (if given)."""
    if type(combine) is OffLoop and not cmds:  # long local work: in a thread, not on the loop
        return await asyncio.get_running_loop().run_in_executor(None, combine, [])
    catch = combine is not None
    if parallel and len(cmds) > 1:
        results = await asyncio.gather(*(_run_one(executor, c, catch) for c in cmds))
    else:
        results = [await _run_one(executor, c, catch) for c in cmds]
    return results if combine is None else combine(results)


def _close_when_done(fut: asyncio.Future[Any], cluster: Cluster) -> None:
    """Close a cluster whose connect() was abandoned, once that connect has returned."""
    threading.Thread(target=cluster.close, name="aerospike_py-close", daemon=True).start()


@_async_operations
class AsyncClient(ClientBase):
    """An asyncio Aerospike client: every data, info and admin operation is a coroutine.

    ``AsyncClient(config)`` does not connect: ``await client.connect()``. ``async with`` returns
    the client as it is and closes it on exit. Use it from one event loop at a time.
    """

    _BATCH_READ_HANDLE = True  # batch_read resolves to a lazy BatchReadHandle, as the original's does
    _ASYNC = True

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._cluster: Cluster | None = None
        self._executor: AsyncExecutor | None = None
        self._connecting = False
        self._epoch = 0  # bumped by close(): tells an in-flight connect() that it was closed
        self._run = self._run_disconnected  # type: ignore[method-assign]

    # ------------------------------------------------------------------ lifecycle

    async def connect(self, username: str | None = None, password: str | None = None) -> AsyncClient:
        """Connect to the cluster (seeds -> nodes -> partition map, pre-warmed pools). Returns ``self``.

        Discovery and tending run on a thread; the event loop is never blocked.
        """
        if username is not None and password is None:
            raise ClientError("connect(): a username needs a password")
        if self._cluster is not None:
            raise ClientError("client is already connected")
        if self._connecting:
            raise ClientError("client is already connecting")
        self._connecting = True
        epoch = self._epoch
        try:
            # Off the loop: the config's password is hashed (bcrypt) when the cluster is made.
            cluster = await asyncio.to_thread(Cluster, self._connect_config(username, password))
        except BaseException:
            self._connecting = False
            raise
        try:
            job = asyncio.ensure_future(asyncio.to_thread(cluster.connect))
            try:
                await asyncio.shield(job)
            except asyncio.CancelledError:
                job.add_done_callback(functools.partial(_close_when_done, cluster=cluster))
                raise
            if self._epoch != epoch:
                await asyncio.to_thread(cluster.close)
                raise ClientError("client was closed while connecting")
            executor = AsyncExecutor(cluster)
            try:
                await executor.warm()
            except BaseException:
                executor.close()
                await asyncio.shield(asyncio.to_thread(cluster.close))
                raise
        finally:
            self._connecting = False
        self._cluster = cluster
        self._executor = executor
        self._run = executor.submit  # type: ignore[method-assign]
        return self

    async def close(self) -> None:
        """Close every connection and stop tending. Idempotent."""
        self._epoch += 1
        cluster, executor = self._cluster, self._executor
        self._cluster = self._executor = None
        self._run = self._run_disconnected  # type: ignore[method-assign]
        if executor is not None:
            executor.close()
        if cluster is not None:
            await asyncio.to_thread(cluster.close)

    def is_connected(self) -> bool:
        """Whether :meth:`connect` succeeded and :meth:`close` was not called since (no I/O)."""
        return self._cluster is not None

    async def ping(self) -> bool:
        """A real round trip (info ``build``) to one node; never raises."""
        if self._cluster is None:
            return False
        try:
            await self.info_random_node("build")
            return True
        except Exception:  # noqa: BLE001
            return False

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        await self.close()
        return False

    # ------------------------------------------------------------------ execution

    def _run_disconnected(self, cmd: Any) -> Any:
        raise self._not_connected()

    def _then(self, value: Any, fn: Any) -> Any:
        return _then(value, fn)

    def _run_many(self, cmds: list[Any], parallel: bool = True, combine: Any = None) -> Any:
        executor = self._executor
        if executor is None:
            raise self._not_connected()
        return _run_many(executor, cmds, parallel, combine)

    def _run_all(self, cmd: Any) -> Any:
        cluster, executor = self._cluster, self._executor
        if cluster is None or executor is None:
            raise self._not_connected()
        return self._info_all(executor, list(cluster.node_list), cmd)

    @staticmethod
    async def _info_all(executor: AsyncExecutor, nodes: list[Any], cmd: Any) -> list[InfoNodeResult]:
        answers = await asyncio.gather(*(executor.run(cmd, n) for n in nodes), return_exceptions=True)
        out = []
        for node, a in zip(nodes, answers, strict=True):
            if isinstance(a, AerospikeError):
                out.append(InfoNodeResult(node.name, a.code, str(a)))
            elif isinstance(a, BaseException):
                raise a
            else:
                out.append(InfoNodeResult(node.name, 0, a))
        return out


__all__ = ["AsyncClient", "NOT_AWAITABLE"]
