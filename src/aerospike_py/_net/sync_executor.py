"""Runs commands on blocking sockets: node choice, connection checkout, deadlines, retries, in_doubt."""

from __future__ import annotations

import time
from typing import Any

from .._commands.base import MORE
from .._wire.proto import ProtocolError
from ..exception import AerospikeError, AerospikeTimeoutError, ClientError, ClusterError
from .cluster import Cluster, Node
from .connection import ConnectionClosed, ConnectionTimeout

_monotonic = time.monotonic
_NET_ERRORS = (OSError, ConnectionClosed, ConnectionTimeout, ProtocolError)


def describe(cmd: Any, node: Node | None) -> str:
    key = cmd.key
    where = f" on node {node.name} ({node.address})" if node is not None else ""
    return (f"key {key!r}" if key is not None else "command") + where


class SyncExecutor:
    """Executes :class:`~aerospike_py._commands.base.Command` objects synchronously."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def run(self, cmd: Any, target: Node | None = None) -> Any:
        policy = cmd.policy
        total_ms = policy["total_timeout"]
        socket_ms = policy["socket_timeout"]
        max_retries = policy["max_retries"]
        start = _monotonic()
        deadline = start + total_ms / 1000 if total_ms else 0.0
        key = cmd.key
        cluster = self.cluster
        attempt = 0
        free_retry = True
        sent_any = False
        last_error: BaseException | None = None
        node = None
        while True:
            if target is not None:
                node = target
            elif key is not None:
                node = cluster.node_for(key.namespace, key.partition_id, cmd.is_write, policy["replica"], attempt)
            else:
                node = cluster.random_node()
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
                if (
                    free_retry and conn is not None and pooled and isinstance(e, (ConnectionClosed, ConnectionResetError))
                ):
                    free_retry = False  # a pooled connection the server closed while idle
                    continue
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
        in_doubt = bool(cmd.is_write and sent_any)
        what = describe(cmd, node)
        if isinstance(last_error, ConnectionTimeout) or last_error is None:
            raise AerospikeTimeoutError(
                f"{what}: timed out after {attempt + 1} attempt(s) "
                f"(total_timeout={total_ms} ms, socket_timeout={socket_ms} ms)",
                in_doubt=in_doubt, node=node.name if node else None,
            )
        if isinstance(last_error, ProtocolError):
            raise ClientError(f"{what}: protocol error: {last_error}", in_doubt=in_doubt,
                              node=node.name if node else None)
        raise ClusterError(f"{what}: connection failed: {last_error}", code=-10, in_doubt=in_doubt,
                           node=node.name if node else None)
