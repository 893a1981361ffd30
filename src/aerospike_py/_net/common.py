"""What the sync and async executors share: node choice, error wording, final error construction."""

from __future__ import annotations

import logging
from typing import Any

from .._logging import get_logger
from .._wire.proto import ProtocolError
from ..exception import AerospikeError, AerospikeTimeoutError, ClientError, ClusterError
from .cluster import Cluster, Node
from .connection import ConnectionClosed, ConnectionTimeout

#: Transport failures that make a connection unusable (the command may be retried).
NET_ERRORS = (OSError, ConnectionClosed, ConnectionTimeout, ProtocolError)

log = get_logger(__name__)


def note_failure(cmd: Any, node: Node | None, error: BaseException, attempt: int, retrying: bool) -> None:
    """Count attempt ``attempt`` (1-based) failing on ``node`` (a timeout or an error) and log it
    at debug level; ``retrying``: another attempt may follow (the deadline permitting)."""
    if node is not None:
        if isinstance(error, (ConnectionTimeout, TimeoutError)):
            node.timeouts += 1
        else:
            node.errors += 1
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s: attempt %d failed (%s: %s)%s", describe(cmd, node), attempt, type(error).__name__, error,
                  "; retrying" if retrying else "")


def describe(cmd: Any, node: Node | None) -> str:
    """``key ... on node NAME (host:port)`` for error messages."""
    key = cmd.key
    where = f" on node {node.name} ({node.address})" if node is not None else ""
    return (f"key {key!r}" if key is not None else "command") + where


def choose_node(cluster: Cluster, cmd: Any, target: Node | None, attempt: int) -> Node:
    """The node for this attempt: ``target`` when given, else by partition, else any node."""
    if target is not None:
        return target
    key = cmd.key
    if key is not None:
        return cluster.node_for(key.namespace, key.partition_id, cmd.is_write, cmd.policy["replica"], attempt)
    return cluster.random_node()


def first_node(cluster: Cluster, cmd: Any) -> Node:
    """:func:`choose_node` for a command's first attempt without a target, the common case
    answered straight from the partition map (the master) without :meth:`Cluster.node_for`."""
    key = cmd.key
    if key is not None and (not cluster.rack_aware or cmd.is_write or cmd.policy["replica"] != 2):
        table = cluster.tables.get(key.space.namespace)
        if table is not None:
            node: Node | None = table.replicas[0][key.partition_id]
            if node is not None and node.active:
                return node
    return choose_node(cluster, cmd, None, 0)


def failure(cmd: Any, node: Node | None, attempts: int, last_error: BaseException | None,
            sent_any: bool) -> AerospikeError:
    """The exception for a command that ran out of time or retries after ``attempts`` attempts."""
    policy = cmd.policy
    in_doubt = bool(cmd.is_write and sent_any)
    what = describe(cmd, node)
    name = node.name if node is not None else None
    key = cmd.key.to_public() if hasattr(cmd.key, "to_public") else None
    if isinstance(last_error, ConnectionTimeout) or last_error is None:
        return AerospikeTimeoutError(
            f"{what}: timed out after {attempts} attempt(s) "
            f"(total_timeout={policy['total_timeout']} ms, socket_timeout={policy['socket_timeout']} ms)",
            in_doubt=in_doubt, node=name, key=key,
        )
    if isinstance(last_error, ProtocolError):
        return ClientError(f"{what}: protocol error: {last_error}", in_doubt=in_doubt, node=name, key=key)
    return ClusterError(f"{what}: connection failed: {last_error}", code=-10, in_doubt=in_doubt, node=name,
                        key=key)


__all__ = ["NET_ERRORS", "choose_node", "describe", "failure", "first_node", "note_failure"]
