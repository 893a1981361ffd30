"""Runs commands on blocking sockets: node choice, connection checkout, deadlines, retries, in_doubt."""

from __future__ import annotations

import struct
import time
from typing import Any

from .._commands.base import MORE
from ..exception import AerospikeError
from .cluster import Cluster, Node
from .common import NET_ERRORS as _NET_ERRORS
from .common import choose_node, describe, failure  # noqa: F401 - describe is re-exported
from .connection import ConnectionClosed, ConnectionTimeout

_monotonic = time.monotonic
_unpack_q = struct.Struct(">Q").unpack_from


class SyncExecutor:
    """Executes :class:`~aerospike_py._commands.base.Command` objects synchronously."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._tables = cluster.tables
        self._idle_timeout = cluster.idle_timeout_s
        self._rack_aware = cluster.rack_aware

    def run(self, cmd: Any, target: Node | None = None) -> Any:
        """Run a command; the first attempt on a pooled connection takes a short, inlined path."""
        start = _monotonic()
        if cmd.stream:
            return self._run_loop(cmd, target, start, None, None)
        key = cmd.key
        node = None
        if target is not None:
            node = target
        elif key is not None and (not self._rack_aware or cmd.is_write or cmd.policy["replica"] != 2):
            # The master straight from the map (PREFER_RACK reads on a rack-aware client: node_for).
            table = self._tables.get(key[0].namespace)
            if table is not None:
                d = key[2]
                node = table.replicas[0][(d[0] | (d[1] << 8)) & 0xFFF]
        if node is None or not node.active:
            node = choose_node(self.cluster, cmd, target, 0)
        idle = node.idle
        if not idle:
            return self._run_loop(cmd, target, start, None, None)
        try:
            conn = idle.pop()
        except IndexError:
            return self._run_loop(cmd, target, start, None, None)
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
            return self._run_loop(cmd, target, start, None, None)
        policy = cmd.policy
        total_ms = policy["total_timeout"]
        socket_ms = policy["socket_timeout"]
        timeout_ms = total_ms if total_ms and (not socket_ms or total_ms < socket_ms) else socket_ms
        sent = False
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
                # Nothing of the reply was read: with timeout_delay the late reply is drained and the
                # connection reused, instead of closing it (the next request would get that reply).
                node.drain_or_close(conn, policy["timeout_delay"] if sent else 0)
                e = ConnectionTimeout("timed out")
            else:
                node.close_connection(conn)
            return self._run_loop(cmd, target, start, e, node, sent)
        except AerospikeError:
            conn.last_used = start
            idle.append(conn)
            raise
        except BaseException:
            node.close_connection(conn)
            raise
        conn.last_used = start
        if node.active:
            idle.append(conn)
        else:
            node.close_connection(conn)
        return result

    def _run_loop(self, cmd: Any, target: Node | None, start: float, first_error: BaseException | None,
                  first_node: Node | None, first_sent: bool = True) -> Any:
        """The general path: new connections, retries, deadlines, in_doubt, streaming replies."""
        policy = cmd.policy
        total_ms = policy["total_timeout"]
        socket_ms = policy["socket_timeout"]
        max_retries = policy["max_retries"]
        deadline = start + total_ms / 1000 if total_ms else 0.0
        cluster = self.cluster
        attempt = 0
        sent_any = False
        last_error: BaseException | None = None
        node = first_node
        if first_error is not None:
            # The short path's pooled connection failed (``first_sent``: after the request was sent).
            sent_any = first_sent
            last_error = first_error
            # Pooled connections are checked before use (Connection.is_stale), so this failure
            # counts as an attempt: the request may have been applied and is not re-sent for free.
            if max_retries == 0:
                raise failure(cmd, node, 1, last_error, sent_any)
            attempt = 1
            if policy["sleep_between_retries"]:
                time.sleep(policy["sleep_between_retries"] / 1000)
        while True:
            node = choose_node(cluster, cmd, target, attempt)
            timeout_ms = socket_ms
            if deadline:
                left = int((deadline - _monotonic()) * 1000)
                if left <= 0:
                    break
                if not timeout_ms or left < timeout_ms:
                    timeout_ms = left
            sent = False
            conn = None
            try:
                conn, pooled = node.get_connection(timeout_ms / 1000 if timeout_ms else 0)
                conn.set_timeout(timeout_ms)
                conn.send(cmd.request)
                sent = True
                ptype, body = conn.read_frame(deadline)
                result = cmd.parse(cmd, body, node.name)
                if cmd.stream:
                    while result is MORE:
                        ptype, body = conn.read_frame(deadline)
                        result = cmd.parse(cmd, body, node.name)
            except _NET_ERRORS as e:
                if conn is not None:
                    node.close_connection(conn)
                sent_any = sent_any or sent
                last_error = e
                if attempt >= max_retries:
                    break
                attempt += 1
                sleep_ms = policy["sleep_between_retries"]
                if sleep_ms:
                    time.sleep(sleep_ms / 1000)
                continue
            except AerospikeError:
                node.put_connection(conn)
                raise
            except BaseException:
                if conn is not None:
                    node.close_connection(conn)
                raise
            node.put_connection(conn)
            return result
        raise failure(cmd, node, attempt + 1, last_error, sent_any)
