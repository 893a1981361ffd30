"""The retry engine: every rule about deadlines, retries, replicas, in_doubt and spent connections.

It does no I/O and reads no clock: the sync loop (:mod:`.sync_executor`) and the async loop
(:mod:`.async_executor`) tell it what happened, with the time, and do what it answers. Their fast
paths (a pooled connection, first attempt, success) never touch it; the first failure hands over.

The rules, in one place:

* **Deadline.** ``total_timeout`` (ms, 0: none) runs from the command's start (async: from the
  moment it has a connection; waiting for one is queueing, bounded by
  ``operation_queue_timeout_ms``). No attempt starts after it. Each attempt is bounded by
  ``socket_timeout`` or by what is left of the deadline, whichever is shorter.
* **Retries.** A network failure (connect refused or timed out, connection lost, a reply that
  timed out, a reply that breaks the protocol or cannot be parsed) is retried up to
  ``max_retries`` times, ``sleep_between_retries`` ms apart, as long as the deadline allows. An
  answer from the server (any result code) ends the command at once.
* **Replica choice.** Attempt ``n`` goes to the node :func:`choose_node` names for ``n``: writes
  and ``POLICY_REPLICA_MASTER`` reads stay on the master; ``SEQUENCE`` (and ``PREFER_RACK``) reads
  move one replica further on each retry. A command aimed at a node stays on it.
* **in_doubt.** A failed write is in doubt when it may have been applied: its request was sent
  (on any attempt) and then timed out, lost its connection, got a reply the client could not
  read, or the server answered ``TIMEOUT`` (9). Reads are never in doubt.
* **Connections.** A connection whose reply was read whole goes back to the pool, also when the
  reply is an error. Any other failure discards it: its reply may still be on the way. The one
  exception is ``timeout_delay``: when a request timed out before any byte of its reply arrived,
  the connection is kept for ``timeout_delay`` ms to read and drop the late reply, then pooled
  (closed if the reply does not come whole in time).
* **Re-login.** A node answering ``NOT_AUTHENTICATED`` (80: it no longer holds the connection's
  session) to a client that logs in: that connection is discarded, the node's session token
  forgotten, and the command (streams too: an 80 is a request's whole answer) is sent once more
  to the same node, on a connection that logs in afresh. Any other answer, or a second 80, ends the command.
* **Final error.** Out of time: :class:`AerospikeTimeoutError`; a reply that breaks the protocol:
  :class:`ClientError` naming what was wrong; other network failures: :class:`ClusterError`
  (code -10). Each names the key and the node, and carries ``in_doubt``.
"""

from __future__ import annotations

import struct
from typing import Any

from msgpack import ExtraData as _ExtraData  # (a ValueError subclass: named for the reader)

from .._wire.proto import ProtocolError
from ..exception import AerospikeError, ClientError
from .cluster import Cluster, Node
from .common import NET_ERRORS, choose_node, describe, failure, note_failure
from .connection import ConnectionTimeout

#: Server result code TIMEOUT: the server gave up, but a write may have been applied.
SERVER_TIMEOUT = 9
#: Server result code NOT_AUTHENTICATED: the node does not (any more) hold the connection's session.
NOT_AUTHENTICATED = 80

#: What a parser may raise on bytes that are not a valid reply.
MALFORMED = (struct.error, IndexError, KeyError, ValueError, TypeError, RecursionError, OverflowError,
             AttributeError, MemoryError, _ExtraData, AssertionError)


def malformed(error: BaseException) -> ProtocolError:
    """A parser failure as the :class:`ProtocolError` it stands for (the cause is kept)."""
    err = ProtocolError(f"malformed reply ({type(error).__name__}: {error})")
    err.__cause__ = error
    return err


def drain_ms(cmd: Any, error: BaseException, sent: bool, partial: bool) -> int:
    """How long to wait for the late reply on the connection of a failed attempt (0: close it).

    Only a timeout after the whole request was sent and before any byte of the reply arrived
    leaves the connection in step; then ``timeout_delay`` (ms) says how long the reply may take.
    """
    if sent and not partial and isinstance(error, (ConnectionTimeout, TimeoutError)):
        return int(cmd.policy.get("timeout_delay") or 0)  # (info/admin policies have none)
    return 0


def server_error(cmd: Any, error: AerospikeError) -> AerospikeError:
    """An error the server answered: a write the server timed out on may have been applied."""
    if error.code == SERVER_TIMEOUT and cmd.is_write:
        error.in_doubt = True
    return error


def closed_error(cmd: Any, node: Node | None, sent: bool, cause: BaseException | None) -> ClientError:
    """The error of a command whose client was closed under it."""
    err = ClientError(f"{describe(cmd, node)}: the client was closed", node=node.name if node else None,
                      in_doubt=bool(cmd.is_write and sent))
    err.__cause__ = cause
    return err


class Attempts:
    """The attempts of one command: asked for the next step, told each outcome.

    ``start`` and every ``now`` are readings of one monotonic clock in seconds (the sync loop's
    ``time.monotonic``, the async loop's ``loop.time``).
    """

    __slots__ = ("cluster", "cmd", "target", "deadline", "socket_s", "max_retries", "sleep_s", "attempt",
                 "sent_any", "last_error", "node", "relogged")

    def __init__(self, cluster: Cluster, cmd: Any, target: Node | None, start: float) -> None:
        policy = cmd.policy
        self.cluster = cluster
        self.cmd = cmd
        self.target = target
        total_ms = policy["total_timeout"]
        self.deadline = start + total_ms / 1000 if total_ms else 0.0
        self.socket_s: float = policy["socket_timeout"] / 1000
        self.max_retries: int = policy["max_retries"]
        self.sleep_s: float = policy["sleep_between_retries"] / 1000
        self.attempt = 0  # attempts started so far
        self.sent_any = False
        self.last_error: BaseException | None = None
        self.node: Node | None = None
        self.relogged = False

    def restart(self, now: float) -> float:
        """The first attempt really starts now (it waited in a queue for a connection): the
        command's deadline runs from here. Returns the attempt's deadline (0.0: none)."""
        total_ms = self.cmd.policy["total_timeout"]
        self.deadline = now + total_ms / 1000 if total_ms else 0.0
        return self._attempt_deadline(now)

    def next(self, now: float) -> tuple[Node, float]:
        """Start the next attempt: its node and its own deadline (0.0: none).

        Raises the command's final error when its deadline has passed.
        """
        if self.deadline and now >= self.deadline:
            raise self.final()
        node = self.node = choose_node(self.cluster, self.cmd, self.target, self.attempt)
        if self.attempt:
            node.retries += 1  # statistics (client.stats())
        self.attempt += 1
        return node, self._attempt_deadline(now)

    def _attempt_deadline(self, now: float) -> float:
        socket_s = self.socket_s
        if socket_s and (not self.deadline or now + socket_s < self.deadline):
            return now + socket_s
        return self.deadline

    def first_failed(self, node: Node, error: BaseException, sent: bool) -> float:
        """The fast path's attempt (on ``node``) failed: as :meth:`failed`, for an attempt not
        started through :meth:`next`."""
        self.node = node
        self.attempt = 1
        return self.failed(error, sent)

    def failed(self, error: BaseException, sent: bool) -> float:
        """The current attempt failed on the network (``sent``: after its request went out).

        Returns the seconds to wait before the next attempt; raises the command's final error
        when no retry is left.
        """
        self.sent_any = self.sent_any or sent
        self.last_error = error
        note_failure(self.cmd, self.node, error, self.attempt, self.attempt <= self.max_retries)
        if self.attempt > self.max_retries:
            raise self.final()
        return self.sleep_s

    def relogin(self, node: Node, error: BaseException) -> bool:
        """The server answered ``error`` on ``node``: True when the command is to be sent again
        after a fresh login (NOT_AUTHENTICATED, once per command, for a client that logs in).

        The node's session token is forgotten (the next connection logs in) and the next attempt
        goes to the same node without counting as a retry. The caller has discarded the
        connection that got the answer. Streams (batches, scans/queries, admin queries) qualify
        too: a node checks a request's authentication before anything else, so an 80 is the
        whole answer and nothing of the stream was delivered."""
        auth = self.cluster.auth
        if auth is None or self.relogged or getattr(error, "code", None) != NOT_AUTHENTICATED:
            return False
        self.relogged = True
        auth.forget(node.address)
        self.node = node
        self.target = self.target or node
        self.attempt = max(self.attempt - 1, 0)
        return True

    def final(self) -> AerospikeError:
        """The error that ends the command (timeout, protocol or connection failure)."""
        return failure(self.cmd, self.node, max(self.attempt, 1), self.last_error, self.sent_any)


__all__ = ["Attempts", "MALFORMED", "NET_ERRORS", "NOT_AUTHENTICATED", "SERVER_TIMEOUT", "closed_error", "drain_ms",
           "malformed", "server_error"]
