"""Runs commands on asyncio: node choice, connection checkout, deadlines, retries, in_doubt.

The rules are the sync executor's (same node choice, same errors, see :mod:`.common`);
only the waiting differs: timers on the event loop instead of socket timeouts.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..exception import ClientError
from .async_pool import AsyncPool
from .cluster import Cluster, Node
from .common import NET_ERRORS, choose_node, describe, failure

_get_running_loop = asyncio.get_running_loop


class AsyncExecutor:
    """Executes :class:`~aerospike_py._commands.base.Command` objects on the running event loop."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.closed = False

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

    async def run(self, cmd: Any, target: Node | None = None) -> Any:
        loop = _get_running_loop()
        policy = cmd.policy
        total_ms = policy["total_timeout"]
        socket_s = policy["socket_timeout"] / 1000
        max_retries = policy["max_retries"]
        deadline = loop.time() + total_ms / 1000 if total_ms else 0.0
        cluster = self.cluster
        attempt = 0
        sent_any = False
        last_error: BaseException | None = None
        node = None
        while True:
            if self.closed:
                raise ClientError("Client is not connected. Call connect() first.")
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
                    left = attempt_deadline - loop.time() if attempt_deadline else 0.0
                    conn, _ = await pool.acquire(deadline, max(left, 0.001) if attempt_deadline else 0.0)
                fut = conn.request(cmd, node.name, attempt_deadline)
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

    def close(self) -> None:
        """Stop running commands and close every node's pool (idle connections at once)."""
        self.closed = True
        for node in list(self.cluster.node_list):
            pool = node.async_pool
            if pool is not None:
                pool.close()


__all__ = ["AsyncExecutor"]
