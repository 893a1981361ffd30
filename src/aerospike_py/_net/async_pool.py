"""asyncio connections (one ``asyncio.BufferedProtocol`` per socket) and the per-node async pool.

A connection carries one command at a time. The transport reads straight into the connection's
own buffer (``recv_into``: no allocation per read); ``buffer_updated`` cuts the bytes into frames
and feeds each frame to the command's parser right there. When the parser has its result
(streaming commands: when it stops returning ``MORE``) the connection goes back to the pool and
the command's future is resolved, all inside that one callback.

Deadlines cost no timer per request: each connection records its deadline and the pool keeps one
timer, armed for the earliest deadline it has seen, whose sweep times out the late connections
and re-arms itself for the next one. A connection whose request timed out, was cancelled or broke
the protocol is aborted and never reused: its reply may still be on the way.
"""

from __future__ import annotations

import asyncio
import select
import struct
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from .._commands.base import MORE
from .._logging import get_logger
from .._wire.constants import PROTO_TYPE_COMPRESSED, PROTO_TYPE_MESSAGE, PROTO_VERSION
from .._wire.proto import ProtocolError, check_proto_header, decompress_body
from ..exception import AerospikeError
from .connection import MAX_REPLY_BODY, ConnectionClosed, ConnectionTimeout, QueueTimeout
from .retry import MALFORMED, NOT_AUTHENTICATED, drain_ms, malformed, server_error

#: Read buffer of a connection; grown to fit a larger frame, shrunk back after it.
BUFFER_SIZE = 16 * 1024
_KEEP_LIMIT = 256 * 1024
_PREALLOC = 1 << 20
_INF = float("inf")
log = get_logger(__name__)
_SIZE_MASK = (1 << 48) - 1
_MESSAGE_TOP = (PROTO_VERSION << 8) | PROTO_TYPE_MESSAGE  # the top 16 bits of a message header
_unpack_q = struct.Struct(">Q").unpack_from
_poll = getattr(select, "poll", None)
_monotonic = time.monotonic
_timeout = getattr(asyncio, "timeout", None)  # Python 3.11+
_Task = asyncio.Task
_current_task = asyncio.current_task
_POLLIN = getattr(select, "POLLIN", 1)

#: ``retry(future, cmd, node, attempt, total_deadline, error)``: what a connection calls when the
#: request it carries for the executor's fast path fails on the network (see ``AsyncExecutor``).
RetryHook = Callable[[asyncio.Future[Any], Any, Any, int, float, BaseException], None]


def _settle(fut: asyncio.Future[Any], value: Any, error: bool, loop: asyncio.AbstractEventLoop) -> None:
    """Resolve ``fut`` (the future of a request whose reply was just read) with ``value``.

    When the one waiting for it is a task and no task is running (we are in the loop's reply
    callback), the task is resumed right here, as the loop would have done in its next pass: the
    round trip then costs one pass of the loop instead of two (at one request in flight, a
    second ``select`` call and the loop's bookkeeping per reply) and no scheduled handle.
    Anything else (several or other callbacks, a task running) is left to the loop, as usual.
    """
    callbacks = getattr(fut, "_callbacks", None)  # ((callback, context), ...): asyncio's own
    if callbacks and len(callbacks) == 1 and type(callbacks[0]) is tuple and len(callbacks[0]) == 2:
        wakeup, context = callbacks[0]  # (another layout of this private attribute: the usual path)
        if isinstance(getattr(wakeup, "__self__", None), _Task) and _current_task(loop) is None:
            fut.remove_done_callback(wakeup)
            if error:
                fut.set_exception(value)
            else:
                fut.set_result(value)
            try:
                context.run(wakeup, fut)
            except RuntimeError:  # its context already entered: the task was not entered either
                loop.call_soon(wakeup, fut, context=context)
            return
    if error:
        fut.set_exception(value)
    else:
        fut.set_result(value)


def future_maker(loop: asyncio.AbstractEventLoop) -> Callable[[], asyncio.Future[Any]]:
    """What makes a future for ``loop``: ``asyncio.Future`` bound to it when ``loop.create_future``
    is asyncio's own (which does just that), so a request's future costs no Python frame; else
    ``loop.create_future`` (a loop with futures of its own)."""
    if getattr(type(loop), "create_future", None) is asyncio.BaseEventLoop.create_future:
        return partial(asyncio.Future, loop=loop)
    return loop.create_future


def loop_clock(loop: asyncio.AbstractEventLoop) -> Callable[[], float]:
    """What reads ``loop``'s clock: ``time.monotonic`` itself when ``loop.time`` is asyncio's own
    (which returns it), so a reading costs no Python frame; else ``loop.time`` (a loop with a clock
    of its own: deadlines must be in its time, as its timers are)."""
    return _monotonic if getattr(type(loop), "time", None) is asyncio.BaseEventLoop.time else loop.time


class _Drain:
    """Stands for the command of a connection that reads and drops a late reply (timeout_delay)."""

    stream = False
    is_write = False

    @staticmethod
    def parse(cmd: Any, body: Any, node: Any) -> None:
        return None


_DRAIN = _Drain()


class AsyncConnection(asyncio.BufferedProtocol):
    """One socket to one node; at most one request in flight (``waiter``)."""

    __slots__ = ("pool", "loop", "transport", "waiter", "cmd", "node_name", "deadline", "attempt",
                 "total_deadline", "retry", "buf", "view", "have", "last_used", "dead", "adopted", "poller",
                 "handshake")

    def __init__(self, pool: AsyncPool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: Any = None
        self.waiter: asyncio.Future[Any] | None = None
        self.cmd: Any = None
        self.node_name = pool.node.name
        self.deadline = 0.0  # loop time the current request must be answered by (0: none)
        self.attempt = 0
        self.total_deadline = 0.0
        self.retry: RetryHook | None = None
        self.buf = bytearray(BUFFER_SIZE)
        self.view = memoryview(self.buf)
        self.have = 0  # bytes of ``buf`` holding data not yet consumed
        self.last_used = 0.0
        self.dead = False
        self.adopted = False  # counted by the pool (a connect abandoned half-way is not)
        self.poller: Any = None
        self.handshake = False  # a login exchange: its answer does not return the connection to the pool

    # -- requests -------------------------------------------------------------------------

    def request(self, cmd: Any, deadline: float, total_deadline: float = 0.0, attempt: int = 0,
                retry: RetryHook | None = None, fut: asyncio.Future[Any] | None = None) -> asyncio.Future[Any]:
        """Send ``cmd.request``; the future (``fut`` if given, else a new one) resolves to the
        parsed result (or its error).

        ``deadline`` (loop time, 0: none) bounds the wait for the whole answer. With ``retry``, a
        network failure is handed to ``retry`` (with ``attempt`` and ``total_deadline``) instead
        of being set on the future.
        """
        if self.dead:
            raise ConnectionClosed("connection closed")
        if fut is None:
            fut = self.pool.new_future()
        self.waiter = fut
        self.cmd = cmd
        if cmd.stream:
            cmd.conn = self
        self.attempt = attempt
        self.total_deadline = total_deadline
        self.retry = retry
        self.transport.write(cmd.request)
        self.deadline = deadline
        if deadline:
            pool = self.pool
            if deadline < pool.sweep_at:
                pool.watch(deadline)
        return fut

    def abort(self) -> None:
        """Close the socket now and free its slot in the pool (idempotent)."""
        if self.dead:
            return
        self.dead = True
        self.waiter = None
        self.cmd = None
        self.retry = None
        if self.transport is not None:
            self.transport.abort()
        if self.adopted:
            self.pool._forget(self)

    def _fail(self, exc: BaseException) -> None:
        """Drop the connection; the request it carried fails with ``exc`` (or is retried)."""
        w, cmd, retry = self.waiter, self.cmd, self.retry
        self.abort()
        if cmd is _DRAIN:
            return
        if w is not None and not w.done():
            if retry is not None:
                retry(w, cmd, self.pool.node, self.attempt, self.total_deadline, exc)
            else:
                w.set_exception(exc)

    def _timed_out(self) -> None:
        cmd = self.cmd
        exc = ConnectionTimeout("read timed out")
        ms = drain_ms(cmd, exc, True, self.have > 0) if cmd is not None and cmd is not _DRAIN else 0
        if not ms:
            self._fail(exc)
            return
        # timeout_delay: keep reading for the late reply (then pool the connection); the command
        # itself fails (or is retried) now.
        w, retry = self.waiter, self.retry
        self.cmd = _DRAIN
        self.retry = None
        self.waiter = self.loop.create_future()
        self.deadline = deadline = self.pool.clock() + ms / 1000
        if deadline < self.pool.sweep_at:
            self.pool.watch(deadline)
        if w is not None and not w.done():
            if retry is not None:
                retry(w, cmd, self.pool.node, self.attempt, self.total_deadline, exc)
            else:
                w.set_exception(exc)

    # -- asyncio.BufferedProtocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and _poll is not None:
            self.poller = _poll()
            self.poller.register(sock.fileno(), _POLLIN)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.dead:
            self._fail(exc if isinstance(exc, OSError) else ConnectionClosed("connection closed by peer"))

    def get_buffer(self, sizehint: int) -> memoryview:
        if not self.have:
            return self.view
        if self.have >= len(self.buf):
            self._grow(2 * len(self.buf))
        return self.view[self.have:]

    def buffer_updated(self, nbytes: int) -> None:
        have = self.have = self.have + nbytes
        cmd = self.cmd
        if cmd is None:
            self.abort()  # bytes nobody asked for: this socket is out of step
            return
        pos = 0
        while True:
            if have - pos < 8:
                self._keep(pos, 8)
                return
            (v,) = _unpack_q(self.buf, pos)
            if v >> 48 == _MESSAGE_TOP and (v & _SIZE_MASK) <= MAX_REPLY_BODY:
                ptype = PROTO_TYPE_MESSAGE
                end = pos + 8 + (v & _SIZE_MASK)
            else:
                try:
                    ptype, length = check_proto_header(self.view[pos:pos + 8], MAX_REPLY_BODY)
                except ProtocolError as e:
                    self._fail(e)
                    return
                end = pos + 8 + length
            if end > have:
                self._keep(pos, end - pos)
                return
            # The parser gets its own copy as bytes (as from the sync executor): results may keep
            # parts of it, ``buf`` is reused, and parsers that need bytes take it without a copy.
            body: Any = self.view[pos + 8:end].tobytes()
            pos = end
            try:
                if ptype == PROTO_TYPE_COMPRESSED:
                    body = decompress_body(body, MAX_REPLY_BODY)[1]
                result = cmd.parse(cmd, body, self.node_name)
            except AerospikeError as e:
                if e.code == NOT_AUTHENTICATED:
                    self._fail(e)  # its session is gone: dropped; the executor may log in and retry
                    return
                # A server answer: the frame was read whole, so the socket is still in step
                # unless more bytes (or frames of a stream) are pending.
                server_error(cmd, e)
                self._done(e, pos == have and not cmd.stream, True)
                return
            except MALFORMED as e:  # a reply the parser cannot read: typed, socket dropped
                self._fail(malformed(e))
                return
            except BaseException as e:  # noqa: BLE001 - reported to the caller, socket dropped
                self._fail(e)
                return
            if result is MORE and cmd.stream:
                continue
            self._done(result, pos == have, False)
            return

    def _keep(self, pos: int, need: int) -> None:
        """Keep the ``have - pos`` unread bytes at the start of ``buf``, with room for ``need``."""
        rest = self.have - pos
        if pos:
            if rest:
                self.buf[:rest] = self.buf[pos:self.have]
            self.have = rest
        if need > len(self.buf):
            # Room for the frame, but never more than _PREALLOC up front on a header's word:
            # past that the buffer grows (doubling) as the bytes really arrive.
            self._grow(min(need, max(_PREALLOC, len(self.buf))))

    def _grow(self, size: int) -> None:
        new = bytearray(max(size, BUFFER_SIZE))
        new[:self.have] = self.view[:self.have]
        self.buf = new
        self.view = memoryview(new)

    def _done(self, result: Any, clean: bool, error: bool) -> None:
        w = self.waiter
        if not clean or w is None or w.cancelled():
            self.abort()  # trailing bytes, or nobody waits any more: do not reuse
        else:
            self.waiter = None
            self.cmd = None
            self.retry = None
            self.have = 0
            if len(self.buf) > _KEEP_LIMIT:
                self.buf = bytearray(BUFFER_SIZE)
                self.view = memoryview(self.buf)
            if self.handshake:
                self.handshake = False
            else:
                self.pool.release(self)
        if w is not None and not w.done():
            _settle(w, result, error, self.loop)


class AsyncPool:
    """Connections to one node for one event loop, bounded by ``max_conns_per_node``.

    ``count`` counts open and opening connections, ``conns`` the open ones. When ``count`` is at
    the bound, a command waits (FIFO, until its deadline) for a connection released by another
    command or for a freed slot. ``waiters`` holds futures (:meth:`acquire`) and, in the same
    line, commands parked by the executor without a coroutine, which answer the same calls
    (``done``, ``set_result``, ``set_exception``): given a connection, such a command sends its
    request on it right there (see ``async_executor._Parked``).
    """

    def __init__(self, node: Any, loop: asyncio.AbstractEventLoop) -> None:
        cluster = node.cluster
        self.node = node
        self.loop = loop
        #: Reads the loop's clock (``loop.time``), without its Python frame when that is time.monotonic.
        self.clock = loop_clock(loop)
        #: Makes a future on ``loop`` (see :func:`future_maker`).
        self.new_future = future_maker(loop)
        #: ``loop`` if it is one of asyncio's own (``_thread_id``: the thread it runs in, else None):
        #: then "is the pool's loop the one running here" is answered without
        #: ``asyncio.get_running_loop()``, which calls getpid() (a system call) on Python < 3.12.
        self.own_loop: Any = loop if isinstance(loop, asyncio.BaseEventLoop) and hasattr(loop, "_thread_id") else None
        self.max_conns = max(1, cluster.max_conns_per_node)
        self.min_conns = min(cluster.min_conns_per_node, self.max_conns)
        self.idle_timeout = cluster.idle_timeout_s
        self.connect_timeout = cluster.connect_timeout_s
        self.tls = cluster.tls
        self.tls_name = getattr(node, "tls_name", None) or cluster.tls_name
        self.idle: deque[AsyncConnection] = deque()
        self.conns: set[AsyncConnection] = set()
        self.count = 0
        self.waiters: deque[asyncio.Future[Any]] = deque()
        self.closed = False
        self.sweep_at = _INF  # when the deadline sweep is due (inf: not armed)
        self.sweep_timer: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"AsyncPool({self.node.address} open={self.count} idle={len(self.idle)})"

    # -- deadlines ------------------------------------------------------------------------

    def watch(self, deadline: float) -> None:
        """Make sure the sweep runs by ``deadline`` (loop time)."""
        if self.sweep_timer is not None:
            self.sweep_timer.cancel()
        self.sweep_at = deadline
        self.sweep_timer = self.loop.call_at(deadline, self._sweep)

    def _sweep(self) -> None:
        """Time out every request past its deadline; re-arm for the earliest one left."""
        self.sweep_timer = None
        self.sweep_at = _INF
        now = self.clock()
        nxt = _INF
        late = []
        for conn in self.conns:
            if conn.waiter is not None:
                d = conn.deadline
                if d:
                    if d <= now:
                        late.append(conn)
                    elif d < nxt:
                        nxt = d
        for conn in late:
            conn._timed_out()
        if nxt < self.sweep_at:
            self.watch(nxt)

    def reap(self) -> None:
        """Abort the connections whose request was cancelled (their reply may still come)."""
        for conn in [c for c in self.conns if c.waiter is not None and c.waiter.cancelled()]:
            conn.abort()

    # -- checkout -------------------------------------------------------------------------

    def get_idle(self, now: float = 0.0) -> AsyncConnection | None:
        """The most recently used idle connection, or ``None`` (no waiting, no I/O). ``now``: the
        loop's time if the caller has read it."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            if conn.dead:
                continue
            if self.idle_timeout and (now or self.clock()) - conn.last_used > self.idle_timeout:
                conn.abort()
                continue
            # Readable while idle: closed or reset by the server, and the loop has not seen it yet.
            # Replaced now, instead of sending a request that would be lost (and be in doubt).
            poller = conn.poller
            if poller is not None:
                try:
                    stale = poller.poll(0)
                except (OSError, ValueError):
                    stale = True
                if stale:
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
            self.node.queue_waits += 1
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
            limit = timeout or self.connect_timeout or None
            try:
                if _timeout is not None and limit is not None:
                    # (3.11+: bounds the connect in this task; wait_for would run it in another)
                    async with _timeout(limit):
                        _, conn = await coro
                else:
                    _, conn = await asyncio.wait_for(coro, limit)
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
        self.conns.add(conn)
        node.conns_created += 1
        log.debug("node %s: async connection %d opened to %s", node.name, self.count, node.address)
        if self.closed:
            conn.abort()
            raise ConnectionClosed("connection pool is closed")
        auth = node.cluster.auth
        if auth is not None:
            try:
                await _login(auth, conn, node.address, self.loop.time() + (timeout or self.connect_timeout or 1.0))
            except BaseException:
                conn.abort()
                raise
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
            now = conn.last_used = self.clock()
            if idle and now - idle[0].last_used > self.idle_timeout:
                idle.popleft().abort()
        idle.append(conn)

    def _forget(self, conn: AsyncConnection) -> None:
        """Called once by each connection that closes: frees its slot."""
        self.count -= 1
        self.node.conns_closed += 1
        log.debug("node %s: async connection closed (%d open)", self.node.name, self.count)
        self.conns.discard(conn)
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
        if self.sweep_timer is not None and not self.conns:
            self.sweep_timer.cancel()
            self.sweep_timer = None
            self.sweep_at = _INF


class _Handshake:
    """A login exchange on a new connection: its parser returns the reply body."""

    __slots__ = ("request",)
    stream = False

    def __init__(self, request: bytes) -> None:
        self.request = request

    @staticmethod
    def parse(cmd: Any, body: Any, node: str) -> bytes:
        return bytes(body)


async def _login(auth: Any, conn: AsyncConnection, address: str, deadline: float) -> None:
    """Authenticate a new connection (the steps are :class:`~aerospike_py._net.auth.Auth`'s)."""
    step = auth.first_request(address)
    if step is None:
        return
    refusals = 0
    while True:
        token, request = step
        conn.handshake = True
        body = await conn.request(_Handshake(request), deadline)
        if auth.on_reply(address, token, body):
            return
        refusals += 1
        step = auth.next_request(address, refusals)


def _expire(w: asyncio.Future[Any]) -> None:
    if not w.done():
        w.set_exception(QueueTimeout("timed out waiting for a free connection"))


__all__ = ["AsyncConnection", "AsyncPool", "BUFFER_SIZE"]
