"""asyncio connections (one ``asyncio.Protocol`` per socket) and the per-node async pool.

A connection carries one command at a time. Its protocol object accumulates bytes, cuts them into
frames and feeds each frame to the command's parser right inside ``data_received``; when the parser
has its result (streaming commands: when it stops returning ``MORE``) the connection goes back to
the pool and the command's future is resolved. A connection whose request timed out, was cancelled
or broke the protocol is aborted and never reused: its reply may still be on the way.
"""

from __future__ import annotations

import asyncio
from collections import deque
from functools import partial
from typing import Any

from .._commands.base import MORE
from .._wire.constants import PROTO_TYPE_COMPRESSED
from .._wire.proto import ProtocolError, check_proto_header, decompress_body
from ..exception import AerospikeError
from .connection import ConnectionClosed, ConnectionTimeout


class AsyncConnection(asyncio.Protocol):
    """One socket to one node; at most one request in flight (``waiter``)."""

    __slots__ = ("pool", "loop", "transport", "waiter", "cmd", "node_name", "timer", "parts", "have",
                 "need", "last_used", "dead", "adopted")

    def __init__(self, pool: AsyncPool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: Any = None
        self.waiter: asyncio.Future[Any] | None = None
        self.cmd: Any = None
        self.node_name = ""
        self.timer: asyncio.TimerHandle | None = None
        self.parts: list[bytes] = []
        self.have = 0
        self.need = 0
        self.last_used = 0.0
        self.dead = False
        self.adopted = False  # counted by the pool (a connect abandoned half-way is not)

    # -- requests -------------------------------------------------------------------------

    def request(self, cmd: Any, node_name: str, deadline: float) -> asyncio.Future[Any]:
        """Send ``cmd.request``; the future resolves to the parsed result (or its error).

        ``deadline`` (loop time, 0: none) bounds the wait for the whole answer.
        """
        if self.dead:
            raise ConnectionClosed("connection closed")
        fut = self.loop.create_future()
        self.waiter = fut
        self.cmd = cmd
        self.node_name = node_name
        self.transport.write(cmd.request)
        if deadline:
            self.timer = self.loop.call_at(deadline, self._timed_out)
        return fut

    def abort(self) -> None:
        """Close the socket now and free its slot in the pool (idempotent)."""
        if self.dead:
            return
        self.dead = True
        self.waiter = None
        self.cmd = None
        timer = self.timer
        if timer is not None:
            timer.cancel()
            self.timer = None
        if self.transport is not None:
            self.transport.abort()
        if self.adopted:
            self.pool._forget(self)

    def _timed_out(self) -> None:
        self.timer = None
        w = self.waiter
        self.abort()
        if w is not None and not w.done():
            w.set_exception(ConnectionTimeout("read timed out"))

    def _fail(self, exc: BaseException) -> None:
        w = self.waiter
        self.abort()
        if w is not None and not w.done():
            w.set_exception(exc)

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.dead:
            self._fail(exc if isinstance(exc, OSError) else ConnectionClosed("connection closed by peer"))

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:
            self.abort()  # bytes nobody asked for: this socket is out of step
            return
        if self.parts:
            self.parts.append(data)
            self.have += len(data)
            if self.have < self.need:
                return
            data = b"".join(self.parts)
            self.parts = []
        self._frames(data)

    def _frames(self, data: bytes) -> None:
        pos = 0
        n = len(data)
        cmd = self.cmd
        while True:
            if n - pos < 8:
                self._keep(data, pos, 8)
                return
            try:
                ptype, length = check_proto_header(data[pos:pos + 8])
            except ProtocolError as e:
                self._fail(e)
                return
            end = pos + 8 + length
            if end > n:
                self._keep(data, pos, 8 + length)
                return
            body: Any = memoryview(data)[pos + 8:end]
            pos = end
            try:
                if ptype == PROTO_TYPE_COMPRESSED:
                    body = memoryview(decompress_body(body)[1])
                result = cmd.parse(cmd, body, self.node_name)
            except AerospikeError as e:
                # A server answer: the frame was read whole, so the socket is still in step
                # unless more frames of a stream are pending.
                self._done(e, pos == n and not cmd.stream, True)
                return
            except BaseException as e:  # noqa: BLE001 - reported to the caller, socket dropped
                self._fail(e)
                return
            if result is MORE and cmd.stream:
                if pos == n:
                    return
                continue
            self._done(result, pos == n, False)
            return

    def _keep(self, data: bytes, pos: int, need: int) -> None:
        rest = data[pos:] if pos else data
        if rest:
            self.parts = [rest]
            self.have = len(rest)
            self.need = need
        else:
            self.parts = []

    def _done(self, result: Any, clean: bool, error: bool) -> None:
        w = self.waiter
        timer = self.timer
        if timer is not None:
            timer.cancel()
            self.timer = None
        if not clean or w is None or w.cancelled():
            self.abort()  # trailing bytes, or nobody waits any more: do not reuse
        else:
            self.waiter = None
            self.cmd = None
            self.pool.release(self)
        if w is not None and not w.done():
            if error:
                w.set_exception(result)
            else:
                w.set_result(result)


class AsyncPool:
    """Connections to one node for one event loop, bounded by ``max_conns_per_node``.

    ``count`` counts open and opening connections. When it is at the bound, a command waits (FIFO,
    until its deadline) for a connection released by another command or for a freed slot.
    """

    def __init__(self, node: Any, loop: asyncio.AbstractEventLoop) -> None:
        cluster = node.cluster
        self.node = node
        self.loop = loop
        self.max_conns = max(1, cluster.max_conns_per_node)
        self.min_conns = min(cluster.min_conns_per_node, self.max_conns)
        self.idle_timeout = cluster.idle_timeout_s
        self.connect_timeout = cluster.connect_timeout_s
        self.tls = cluster.tls
        self.tls_name = cluster.tls_name
        self.idle: deque[AsyncConnection] = deque()
        self.count = 0
        self.waiters: deque[asyncio.Future[Any]] = deque()
        self.closed = False

    def __repr__(self) -> str:
        return f"AsyncPool({self.node.address} open={self.count} idle={len(self.idle)})"

    # -- checkout -------------------------------------------------------------------------

    def get_idle(self) -> AsyncConnection | None:
        """The most recently used idle connection, or ``None`` (no waiting, no I/O)."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            if conn.dead:
                continue
            if self.idle_timeout and self.loop.time() - conn.last_used > self.idle_timeout:
                conn.abort()
                continue
            return conn
        return None

    async def acquire(self, deadline: float, timeout: float) -> tuple[AsyncConnection, bool]:
        """A connection ``(conn, pooled)``: idle, new (if under the bound) or released by another
        command. ``deadline`` (loop time, 0: none) bounds the wait; ``timeout`` a new connect."""
        loop = self.loop
        while True:
            if self.closed:
                raise ConnectionClosed("connection pool is closed")
            conn = self.get_idle()
            if conn is not None:
                return conn, True
            if self.count < self.max_conns:
                return await self._open(timeout), False
            w = loop.create_future()
            self.waiters.append(w)
            timer = loop.call_at(deadline, _expire, w) if deadline else None
            try:
                got = await w
            except BaseException:
                if w.done() and not w.cancelled() and w.exception() is None:
                    self._pass_on(w.result())  # handed over just as we were cancelled
                raise
            finally:
                if timer is not None:
                    timer.cancel()
            if got is not None and not got.dead:
                return got, True

    def _pass_on(self, got: AsyncConnection | None) -> None:
        if got is None:
            self._wake()
        elif not got.dead:
            self.release(got)

    async def _open(self, timeout: float) -> AsyncConnection:
        self.count += 1
        node = self.node
        try:
            coro = self.loop.create_connection(
                partial(AsyncConnection, self), node.host, node.port, ssl=self.tls,
                server_hostname=(self.tls_name or node.host) if self.tls is not None else None,
            )
            try:
                _, conn = await asyncio.wait_for(coro, timeout or self.connect_timeout or None)
            except asyncio.TimeoutError:
                raise ConnectionTimeout(f"connect to {node.address} timed out") from None
        except BaseException:
            self.count -= 1
            self._wake()
            raise
        if conn.dead:  # lost before we got it: its slot was never given back
            self.count -= 1
            self._wake()
            raise ConnectionClosed("connection closed by peer")
        conn.adopted = True
        if self.closed:
            conn.abort()
            raise ConnectionClosed("connection pool is closed")
        return conn

    async def warm(self) -> None:
        """Open connections up to ``min_conns_per_node`` (all at once) and park them idle."""
        need = self.min_conns - self.count
        if need <= 0:
            return
        conns = await asyncio.gather(*(self._open(0) for _ in range(need)), return_exceptions=True)
        for c in conns:
            if isinstance(c, AsyncConnection):
                self.release(c)
        for c in conns:
            if isinstance(c, BaseException):
                raise c

    # -- return ---------------------------------------------------------------------------

    def release(self, conn: AsyncConnection) -> None:
        """A connection whose last answer was read whole: hand it to a waiter or park it."""
        if self.closed:
            conn.abort()
            return
        waiters = self.waiters
        while waiters:
            w = waiters.popleft()
            if not w.done():
                w.set_result(conn)
                return
        idle = self.idle
        if self.idle_timeout:
            now = conn.last_used = self.loop.time()
            if idle and now - idle[0].last_used > self.idle_timeout:
                idle.popleft().abort()
        idle.append(conn)

    def _forget(self, conn: AsyncConnection) -> None:
        """Called once by each connection that closes: frees its slot."""
        self.count -= 1
        try:
            self.idle.remove(conn)
        except ValueError:
            pass
        self._wake()

    def _wake(self) -> None:
        waiters = self.waiters
        while waiters:
            w = waiters.popleft()
            if not w.done():
                w.set_result(None)  # a slot is free: open a connection
                return

    # -- shutdown -------------------------------------------------------------------------

    def close(self) -> None:
        """Close idle connections now, busy ones when their command ends. Any thread; idempotent."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._close()
        elif not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._close)
            except RuntimeError:  # the loop closed meanwhile
                self.closed = True
        else:
            self.closed = True

    def _close(self) -> None:
        self.closed = True
        while self.idle:
            self.idle.pop().abort()
        while self.waiters:
            w = self.waiters.popleft()
            if not w.done():
                w.set_exception(ConnectionClosed("connection pool is closed"))


def _expire(w: asyncio.Future[Any]) -> None:
    if not w.done():
        w.set_exception(ConnectionTimeout("timed out waiting for a free connection"))


__all__ = ["AsyncConnection", "AsyncPool"]
