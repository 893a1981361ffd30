"""Runs commands on asyncio: node choice, connection checkout, deadlines, retries, in_doubt.

The rules are the sync executor's (same node choice, same errors, see :mod:`.common`); only the
waiting differs. The common case costs no coroutine and no timer of its own: :meth:`submit` finds
an idle connection, sends the request and returns the connection's future, which
``buffer_updated`` resolves. Everything else (no idle connection, a retry after a network failure)
runs in the :meth:`run` coroutine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from ..exception import BackpressureError, ClientError
from .async_pool import AsyncPool
from .cluster import Cluster, Node
from .common import NET_ERRORS, choose_node, describe, failure
from .connection import ConnectionTimeout

_get_running_loop = asyncio.get_running_loop


def _not_connected() -> ClientError:
    return ClientError("Client is not connected. Call connect() first.")


def _cancel_with(task: asyncio.Task[Any], fut: asyncio.Future[Any]) -> None:
    if fut.cancelled():
        task.cancel()


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

    def submit(self, cmd: Any) -> Awaitable[Any]:
        """Start ``cmd`` (routed by its key) and return what to await for its result.

        Call it from a coroutine on the loop. With an idle connection to the right node the request
        is sent at once and the connection's future is returned; otherwise the :meth:`run`
        coroutine. A network failure of that first attempt is retried by :meth:`_retry`.
        """
        if self.closed:
            raise _not_connected()
        loop = _get_running_loop()
        node = choose_node(self.cluster, cmd, None, 0)
        pool = node.async_pool
        if pool is not None and pool.loop is loop and not pool.closed:
            conn = pool.get_idle()
            if conn is not None:
                policy = cmd.policy
                total_ms = policy["total_timeout"]
                socket_ms = policy["socket_timeout"]
                now = loop.time()
                if total_ms:
                    deadline = now + total_ms / 1000
                    attempt_deadline = now + socket_ms / 1000 if socket_ms and socket_ms < total_ms else deadline
                else:
                    deadline = 0.0
                    attempt_deadline = now + socket_ms / 1000 if socket_ms else 0.0
                return conn.request(cmd, attempt_deadline, deadline, 0, self._retry_hook)
        return self.run(cmd)

    def _retry(self, fut: asyncio.Future[Any], cmd: Any, node: Node, attempt: int, deadline: float,
               error: BaseException) -> None:
        """A request sent by :meth:`submit` failed on the network: fail ``fut`` or try again."""
        if fut.done():
            return
        if not isinstance(error, NET_ERRORS):
            fut.set_exception(error)
        elif self.closed:
            err = ClientError(f"{describe(cmd, node)}: the client was closed", node=node.name,
                              in_doubt=bool(cmd.is_write))
            err.__cause__ = error
            fut.set_exception(err)
        elif attempt >= cmd.policy["max_retries"]:
            fut.set_exception(failure(cmd, node, attempt + 1, error, True))
        else:
            task = fut.get_loop().create_task(self._resume(fut, cmd, attempt + 1, deadline, error))
            fut.add_done_callback(lambda f: _cancel_with(task, f))

    async def _resume(self, fut: asyncio.Future[Any], cmd: Any, attempt: int, deadline: float,
                      error: BaseException) -> None:
        """Run the remaining attempts of a command started by :meth:`submit`; resolve ``fut``."""
        try:
            sleep_ms = cmd.policy["sleep_between_retries"]
            if sleep_ms:
                await asyncio.sleep(sleep_ms / 1000)
            result = await self.run(cmd, None, attempt, error, deadline)
        except asyncio.CancelledError:
            if not fut.done():
                fut.cancel()
        except Exception as e:  # noqa: BLE001 - handed to the caller
            if not fut.done():
                fut.set_exception(e)
        else:
            if not fut.done():
                fut.set_result(result)

    async def run(self, cmd: Any, target: Node | None = None, attempt: int = 0,
                  last_error: BaseException | None = None, deadline: float | None = None) -> Any:
        """Run ``cmd`` on ``target`` (else routed by its key) with deadlines and retries.

        ``attempt``, ``last_error`` and ``deadline`` continue a command whose earlier attempts
        (which sent their request) failed.
        """
        loop = _get_running_loop()
        policy = cmd.policy
        total_ms = policy["total_timeout"]
        socket_s = policy["socket_timeout"] / 1000
        max_retries = policy["max_retries"]
        if deadline is None:
            deadline = loop.time() + total_ms / 1000 if total_ms else 0.0
        cluster = self.cluster
        sent_any = attempt > 0
        node = None
        while True:
            if self.closed:
                raise _not_connected()
            node = choose_node(cluster, cmd, target, attempt)
            if deadline:
                now = loop.time()
                if now >= deadline:
                    break
                attempt_deadline = now + socket_s if socket_s and now + socket_s < deadline else deadline
            elif socket_s:
                attempt_deadline = loop.time() + socket_s
            else:
                attempt_deadline = 0.0
            pool = node.async_pool
            if pool is None or pool.loop is not loop:
                pool = self.pool(node, loop)
            conn = pool.get_idle()
            sent = False
            try:
                if conn is None:
                    if attempt == 0 and not sent_any:
                        # Waiting for a free connection is queueing, not the command: its deadlines
                        # start once it has a connection. operation_queue_timeout_ms bounds the wait.
                        conn = await self._queue(pool, cmd, node, loop)
                        now = loop.time()
                        if total_ms:
                            deadline = now + total_ms / 1000
                            attempt_deadline = now + socket_s if socket_s and socket_s < total_ms / 1000 else deadline
                        else:
                            attempt_deadline = now + socket_s if socket_s else 0.0
                    else:
                        left = attempt_deadline - loop.time() if attempt_deadline else 0.0
                        conn, _ = await pool.acquire(deadline, max(left, 0.001) if attempt_deadline else 0.0)
                fut = conn.request(cmd, attempt_deadline)
                sent = True
                try:
                    return await fut
                except BaseException:
                    if conn.waiter is fut:  # cancelled while waiting: the reply may still come
                        conn.abort()
                    raise
            except NET_ERRORS as e:
                sent_any = sent_any or sent
                last_error = e
                if self.closed:
                    raise ClientError(f"{describe(cmd, node)}: the client was closed", node=node.name,
                                      in_doubt=bool(cmd.is_write and sent_any)) from e
                if attempt >= max_retries:
                    break
                attempt += 1
                sleep_ms = policy["sleep_between_retries"]
                if sleep_ms:
                    await asyncio.sleep(sleep_ms / 1000)
        raise failure(cmd, node, attempt + 1, last_error, sent_any)

    async def _queue(self, pool: AsyncPool, cmd: Any, node: Node, loop: asyncio.AbstractEventLoop) -> Any:
        """A connection for a command's first attempt, waiting in line for one if all are busy."""
        queue_ms = self.queue_timeout_ms
        try:
            conn, _ = await pool.acquire(loop.time() + queue_ms / 1000 if queue_ms else 0.0,
                                         self.cluster.connect_timeout_s)
        except ConnectionTimeout as e:
            if "free connection" not in str(e):
                raise
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
