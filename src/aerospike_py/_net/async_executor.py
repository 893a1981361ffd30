"""Runs commands on asyncio: the async loop of the retry engine (:mod:`.retry`).

The rules are the engine's, as for the sync executor; only the waiting differs. The common case
costs no coroutine and no timer of its own: :meth:`submit` finds an idle connection, sends the
request and returns the connection's future, which ``buffer_updated`` resolves. When every
connection of the node is busy and no other may be opened, the command waits in the pool's line
as a :class:`_Parked` entry, also without a coroutine: the connection released to it sends its
request from the reply callback that freed it. Everything else (a connection to open, a queue
timeout, a retry after a network failure) runs in the :meth:`run` coroutine.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import Any

from .. import _observe
from ..exception import AerospikeError, BackpressureError, ClientError
from .async_pool import AsyncConnection, AsyncPool
from .cluster import Cluster, Node
from .common import NET_ERRORS, describe, first_node
from .connection import QueueTimeout
from .retry import Attempts, closed_error, server_error

_get_running_loop = asyncio.get_running_loop
_get_ident = threading.get_ident


def _not_connected() -> ClientError:
    return ClientError("Client is not connected. Call connect() first.")


def _cancel_with(task: asyncio.Task[Any], fut: asyncio.Future[Any]) -> None:
    if fut.cancelled():
        task.cancel()


class _Parked:
    """A command waiting in its node's pool line (``AsyncPool.waiters``) for a connection.

    It answers what the pool says to a waiting future: ``set_result(conn)`` sends the request on
    ``conn`` at once (its first attempt, deadlines from now: the wait was queueing);
    ``set_result(None)`` (a slot was freed: a connection is to be opened) and ``set_exception``
    (the pool closed) hand the command to the :meth:`AsyncExecutor.run` path.
    """

    __slots__ = ("executor", "cmd", "node", "fut")

    def __init__(self, executor: AsyncExecutor, cmd: Any, node: Node, fut: asyncio.Future[Any]) -> None:
        self.executor = executor
        self.cmd = cmd
        self.node = node
        self.fut = fut

    def done(self) -> bool:
        return self.fut.done()  # (cancelled by its caller: skipped)

    def set_result(self, conn: Any) -> None:
        if conn is not None:
            self.executor._send(conn, self.cmd, conn.pool.clock(), self.fut)
        else:
            self._run()

    def set_exception(self, error: BaseException) -> None:
        if self.executor.closed:
            self.fut.set_exception(closed_error(self.cmd, self.node, False, error))
        else:
            self._run()

    def _run(self) -> None:
        """The command's attempts as :meth:`AsyncExecutor.run` makes them, from now."""
        executor = self.executor
        executor._resume_in_task(self.fut, Attempts(executor.cluster, self.cmd, None, self.fut.get_loop().time()), 0.0)


class AsyncExecutor:
    """Executes :class:`~aerospike_py._commands.base.Command` objects on the running event loop."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.closed = False
        self._retry_hook = self._retry
        #: Bound on waiting for a free connection (config operation_queue_timeout_ms; 0: none).
        self.queue_timeout_ms = cluster.queue_timeout_ms

    def pool(self, node: Node, loop: asyncio.AbstractEventLoop) -> AsyncPool:
        """The node's pool for ``loop`` (created on first use; replaced if made for another loop)."""
        pool = node.async_pool
        if pool is None or pool.loop is not loop:
            if pool is not None:
                pool.close()
            pool = node.async_pool = AsyncPool(node, loop)
            if not node.active:
                pool.closed = True
        return pool

    async def warm(self) -> None:
        """Open ``min_conns_per_node`` connections to every node."""
        loop = _get_running_loop()
        await asyncio.gather(*(self.pool(n, loop).warm() for n in list(self.cluster.node_list)))

    def submit(self, cmd: Any, observed: bool = False) -> Awaitable[Any]:
        """Start ``cmd`` (routed by its key) and return what to await for its result.

        Call it from a coroutine on the loop. With an idle connection to the right node the request
        is sent at once and the connection's future is returned; otherwise the :meth:`run`
        coroutine. A network failure of that first attempt is retried by :meth:`_retry`. A public
        operation's command (``cmd.op``) is timed/traced once by the observer in force
        (:mod:`aerospike_py._observe`), which calls back with ``observed=True``.
        """
        if _observe.ACTIVE is not None and not observed and cmd.op is not None:
            return _observe.ACTIVE.run_async(self, cmd)
        if self.closed:
            raise _not_connected()
        node = first_node(self.cluster, cmd)
        pool = node.async_pool
        if pool is not None and not pool.closed and (
                pool.own_loop is not None and pool.own_loop._thread_id == _get_ident()
                or pool.loop is _get_running_loop()):
            now = pool.clock()
            conn = pool.get_idle(now)
            if conn is not None:
                return self._send(conn, cmd, now, None)
            if pool.count >= pool.max_conns and not self.queue_timeout_ms:
                # Every connection busy and none may be opened: wait in line, without a coroutine.
                fut = pool.new_future()
                pool.waiters.append(_Parked(self, cmd, node, fut))  # type: ignore[arg-type]
                node.queue_waits += 1
                return fut
        return self.run(cmd)

    def _send(self, conn: AsyncConnection, cmd: Any, now: float, fut: asyncio.Future[Any] | None) -> asyncio.Future[Any]:
        """Send the first attempt of ``cmd`` on ``conn`` (deadlines from ``now``); its future."""
        policy = cmd.policy
        total_ms = policy["total_timeout"]
        socket_ms = policy["socket_timeout"]
        if total_ms:
            deadline = now + total_ms / 1000
            attempt_deadline = now + socket_ms / 1000 if socket_ms and socket_ms < total_ms else deadline
        else:
            deadline = 0.0
            attempt_deadline = now + socket_ms / 1000 if socket_ms else 0.0
        return conn.request(cmd, attempt_deadline, deadline, 0, self._retry_hook, fut)

    def _retry(self, fut: asyncio.Future[Any], cmd: Any, node: Node, attempt: int, deadline: float,
               error: BaseException) -> None:
        """A request sent by :meth:`submit` failed on the network, or was refused NOT_AUTHENTICATED
        (a fresh login may answer it): fail ``fut`` or try again."""
        if fut.done():
            return
        state = Attempts(self.cluster, cmd, None, 0.0)
        state.deadline = deadline
        if not isinstance(error, NET_ERRORS):
            if self.closed or not state.relogin(node, error):  # (only NOT_AUTHENTICATED, once)
                fut.set_exception(error)
                return
            pause = 0.0
        elif self.closed:
            fut.set_exception(closed_error(cmd, node, True, error))
            return
        else:
            try:
                pause = state.first_failed(node, error, True)
            except AerospikeError as e:
                fut.set_exception(e)
                return
        self._resume_in_task(fut, state, pause)

    def _resume_in_task(self, fut: asyncio.Future[Any], state: Attempts, pause: float) -> None:
        """Run the remaining attempts of ``state`` in a task that resolves ``fut``; cancelling
        ``fut`` cancels the task."""
        task = fut.get_loop().create_task(self._resume(fut, state, pause))
        fut.add_done_callback(lambda f: _cancel_with(task, f))

    async def _resume(self, fut: asyncio.Future[Any], state: Attempts, pause: float) -> None:
        """Run the remaining attempts of a command started by :meth:`submit`; resolve ``fut``."""
        try:
            if pause:
                await asyncio.sleep(pause)
            result = await self._attempts(state, _get_running_loop())
        except asyncio.CancelledError:
            if not fut.done():
                fut.cancel()
        except Exception as e:  # noqa: BLE001 - handed to the caller
            if not fut.done():
                fut.set_exception(e)
        else:
            if not fut.done():
                fut.set_result(result)

    async def run(self, cmd: Any, target: Node | None = None) -> Any:
        """Run ``cmd`` on ``target`` (else routed by its key) with deadlines and retries."""
        loop = _get_running_loop()
        return await self._attempts(Attempts(self.cluster, cmd, target, loop.time()), loop)

    async def _attempts(self, state: Attempts, loop: asyncio.AbstractEventLoop) -> Any:
        """The async loop of the retry engine: run attempts until one is answered."""
        cmd = state.cmd
        while True:
            if self.closed:
                raise _not_connected()
            node, attempt_deadline = state.next(loop.time())
            pool = node.async_pool
            if pool is None or pool.loop is not loop:
                pool = self.pool(node, loop)
            conn = pool.get_idle()
            sent = False
            try:
                if conn is None:
                    if state.attempt == 1:
                        # Waiting for a free connection is queueing, not the command: its deadlines
                        # start once it has a connection. operation_queue_timeout_ms bounds the wait.
                        conn = await self._queue(pool, cmd, node, loop)
                        attempt_deadline = state.restart(loop.time())
                    else:
                        left = attempt_deadline - loop.time() if attempt_deadline else 0.0
                        conn, _ = await pool.acquire(state.deadline, max(left, 0.001) if attempt_deadline else 0.0)
                fut = conn.request(cmd, attempt_deadline)
                sent = True
                try:
                    return await fut
                except BaseException:
                    if conn.waiter is fut:  # cancelled while waiting: the reply may still come
                        conn.abort()
                    raise
            except NET_ERRORS as e:
                if self.closed:
                    raise closed_error(cmd, node, sent or state.sent_any, e) from e
                pause = state.failed(e, sent)
                if pause:
                    await asyncio.sleep(pause)
            except AerospikeError as e:
                if state.relogin(node, e):
                    continue  # the connection was dropped (AsyncConnection): a new one logs in
                server_error(cmd, e)
                raise

    async def _queue(self, pool: AsyncPool, cmd: Any, node: Node, loop: asyncio.AbstractEventLoop) -> Any:
        """A connection for a command's first attempt, waiting in line for one if all are busy."""
        queue_ms = self.queue_timeout_ms
        try:
            conn, _ = await pool.acquire(loop.time() + queue_ms / 1000 if queue_ms else 0.0,
                                         self.cluster.connect_timeout_s)
        except QueueTimeout:
            raise BackpressureError(
                f"{describe(cmd, node)}: no free connection within operation_queue_timeout_ms={queue_ms} "
                f"(max_conns_per_node={pool.max_conns})", node=node.name,
            ) from None
        return conn

    def reap(self) -> None:
        """Abort every connection whose request was cancelled (called when a command is)."""
        for node in list(self.cluster.node_list):
            pool = node.async_pool
            if pool is not None:
                pool.reap()

    def close(self) -> None:
        """Stop running commands and close every node's pool (idle connections at once)."""
        self.closed = True
        for node in list(self.cluster.node_list):
            pool = node.async_pool
            if pool is not None:
                pool.close()


__all__ = ["AsyncExecutor"]
