"""Runs commands on blocking sockets: the sync loop of the retry engine (:mod:`.retry`).

:meth:`SyncExecutor.run` handles the first attempt on a pooled connection inline; any failure,
and every command without an idle connection, goes through :class:`~.retry.Attempts`.
"""

from __future__ import annotations

import struct
import time
from bisect import bisect_left as _bisect_left
from typing import Any

from .. import _observe
from .._commands.base import MORE
from .._metrics import OP_BUCKETS
from ..exception import AerospikeError
from .cluster import Cluster, Node
from .common import NET_ERRORS as _NET_ERRORS
from .common import choose_node, describe, first_node  # noqa: F401 - describe is re-exported
from .connection import Connection, ConnectionClosed, ConnectionTimeout
from .retry import MALFORMED, NOT_AUTHENTICATED, Attempts, drain_ms, malformed, server_error

_monotonic = time.monotonic
_unpack_q = struct.Struct(">Q").unpack_from
_NEED_LOCK = _observe.NEED_LOCK
_BOUNDS = OP_BUCKETS
_FIRST_BOUND = _BOUNDS[0]


class SyncExecutor:
    """Executes :class:`~aerospike_py._commands.base.Command` objects synchronously."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._idle_timeout = cluster.idle_timeout_s

    def run(self, cmd: Any, target: Node | None = None, observed: float = 0.0) -> Any:
        """Run a command; the first attempt on a pooled connection takes a short, inlined path.

        A public operation's command (``cmd.op``) is observed once (:mod:`aerospike_py._observe`).
        With metrics alone (the default) its duration sample is taken here, from our start time
        (``sample_from``): on success at the end of this path or of :meth:`_run_loop`, on failure
        by the outer ``except``. With tracing, the observer runs it and calls back with ``observed`` = its
        start time (``time.monotonic``), used as ours."""
        sample_from = 0.0
        if observed:
            start = observed
        else:
            start = _monotonic()
            if cmd.op is not None:
                observer = _observe.ACTIVE
                if observer is not None:
                    if not observer.sample_only:
                        return observer.run_sync(self, cmd, target)
                    sample_from = start
        try:
            if cmd.stream:
                return self._run_loop(Attempts(self.cluster, cmd, target, start), sample_from)
            node = first_node(self.cluster, cmd) if target is None else target if target.active \
                else choose_node(self.cluster, cmd, target, 0)
            idle = node.idle
            if not idle:
                return self._run_loop(Attempts(self.cluster, cmd, target, start), sample_from)
            try:
                conn = idle.pop()
            except IndexError:
                return self._run_loop(Attempts(self.cluster, cmd, target, start), sample_from)
            idle_timeout = self._idle_timeout
            poller = conn.poller
            # Connection.is_stale() inlined: leftover bytes, idle too long, or readable (closed/reset).
            try:
                stale = (conn.rest or (idle_timeout and start - conn.last_used > idle_timeout)
                         or (conn.is_stale() if poller is None else poller.poll(0)))
            except (OSError, ValueError):
                stale = True
            if stale:
                node.close_connection(conn)
                return self._run_loop(Attempts(self.cluster, cmd, target, start), sample_from)
            policy = cmd.policy
            total_ms = policy["total_timeout"]
            socket_ms = policy["socket_timeout"]
            timeout_ms = total_ms if total_ms and (not socket_ms or total_ms < socket_ms) else socket_ms
            sent = False
            body: bytes | memoryview
            try:
                if timeout_ms != conn.timeout_ms:
                    conn.set_timeout(timeout_ms)
                sock = conn.sock
                sock.sendall(cmd.request)
                sent = True
                data = sock.recv(65536)
                n = len(data)
                if n >= 8:
                    v = _unpack_q(data, 0)[0]
                    total = 8 + (v & 0xFFFFFFFFFFFF)
                    if n == total and (v >> 48) == 0x0203 and not conn.rest:
                        body = data[8:]
                    else:
                        conn.rest = conn.rest + data
                        ptype, body = conn.read_frame(start + total_ms / 1000 if total_ms else 0.0)
                else:
                    if not data:
                        raise ConnectionClosed("connection closed by peer")
                    conn.rest = conn.rest + data
                    ptype, body = conn.read_frame(start + total_ms / 1000 if total_ms else 0.0)
                result = cmd.parse(cmd, body, node.name)
            except _NET_ERRORS as e:
                if isinstance(e, (BlockingIOError, TimeoutError)):
                    e = ConnectionTimeout("timed out")
                return self._retry(cmd, target, start, node, conn, e, sent, sample_from)
            except AerospikeError as e:
                if e.code == NOT_AUTHENTICATED:
                    node.close_connection(conn)  # its session is gone: never reuse it
                    state = Attempts(self.cluster, cmd, target, start)
                    if state.relogin(node, e):
                        return self._run_loop(state, sample_from)
                else:
                    conn.last_used = start
                    idle.append(conn)
                server_error(cmd, e)
                raise
            except MALFORMED as e:
                return self._retry(cmd, target, start, node, conn, malformed(e), sent, sample_from)
            except BaseException:
                node.close_connection(conn)
                raise
            conn.last_used = start
            if node.active:
                idle.append(conn)
            else:
                node.close_connection(conn)
        except BaseException as e:
            if sample_from:
                _observe.sample_failure(cmd, _monotonic() - sample_from, e)
            raise
        if sample_from:  # _observe.sample_success, inlined (its call: +0.8k of 41k instructions per get)
            dt = _monotonic() - sample_from
            space = cmd.key.space
            series = space.series.get(cmd.op) or _observe.ok_series(cmd.op, space)
            if _NEED_LOCK:
                _observe.add_sample(series, dt)
            else:
                series[0 if dt <= _FIRST_BOUND else _bisect_left(_BOUNDS, dt)] += 1
                series[-1] += dt
        return result

    def _retry(self, cmd: Any, target: Node | None, start: float, node: Node, conn: Connection,
               error: BaseException, sent: bool, sample_from: float) -> Any:
        """The fast path's attempt failed on ``conn``: dispose of it, then run the general path."""
        node.drain_or_close(conn, drain_ms(cmd, error, sent, bool(conn.rest)))
        # Pooled connections are checked before use (Connection.is_stale), so this failure counts
        # as an attempt: the request may have been applied and is not re-sent for free.
        state = Attempts(self.cluster, cmd, target, start)
        pause = state.first_failed(node, error, sent)
        if pause:
            time.sleep(pause)
        return self._run_loop(state, sample_from)

    def _run_loop(self, state: Attempts, sample_from: float = 0.0) -> Any:
        """The general path: new connections, retries, deadlines, in_doubt, streaming replies.
        ``sample_from``: when set, the start of the command's duration sample, taken here on
        success (see :meth:`run`)."""
        cmd = state.cmd
        while True:
            node, deadline = state.next(_monotonic())
            timeout_ms = max(1, int((deadline - _monotonic()) * 1000)) if deadline else 0
            sent = False
            conn = None
            try:
                conn, _pooled = node.get_connection(timeout_ms / 1000)
                conn.set_timeout(timeout_ms)
                conn.send(cmd.request)
                sent = True
                _, body = conn.read_frame(deadline)
                result = cmd.parse(cmd, body, node.name)
                if cmd.stream:
                    while result is MORE:
                        _, body = conn.read_frame(deadline)
                        result = cmd.parse(cmd, body, node.name)
            except (*_NET_ERRORS, *MALFORMED) as e:
                if not isinstance(e, _NET_ERRORS):
                    e = malformed(e)
                elif isinstance(e, (BlockingIOError, TimeoutError)):
                    e = ConnectionTimeout("timed out")
                if conn is not None:
                    node.drain_or_close(conn, drain_ms(cmd, e, sent, bool(conn.rest)))
                pause = state.failed(e, sent)
                if pause:
                    time.sleep(pause)
                continue
            except AerospikeError as e:
                if conn is not None:
                    if e.code == NOT_AUTHENTICATED:
                        node.close_connection(conn)  # its session is gone: never reuse it
                        if state.relogin(node, e):
                            continue
                    else:
                        node.put_connection(conn)
                server_error(cmd, e)
                raise
            except BaseException:
                if conn is not None:
                    node.close_connection(conn)
                raise
            node.put_connection(conn)
            if sample_from:
                _observe.sample_success(cmd, _monotonic() - sample_from)
            return result
