"""Batch calls as steps: commands per node (split by partition owner), then node and write
retries (``batch_write(retry=N)``), as a generator the sync and async facades drive
(``BatchMixin._drive``)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...exception import (
    AerospikeError,
    AerospikeTimeoutError,
    ClusterError,
)
from ...types import BatchRetryInfo
from .reply import apply_errors, parse_batch
from .request import SLOT_IN_DOUBT, SLOT_RC, BatchCommand, BatchState, pack_batch
from .results import NO_RETRY

if TYPE_CHECKING:
    from ..._net.cluster import Node


def node_commands(cluster: Any, state: BatchState, heads: Sequence[bytes], policy: Any, is_write: bool,
                  filter_field: bytes | None, todo: Sequence[int] | None = None,
                  attempt: int = 0) -> list[BatchCommand]:
    """Split the records (all, or those at ``todo``) by partition owner in the cluster's current
    map and build one streaming command per node; ``attempt`` > 0 lets reads move to a replica."""
    keys = state.keys
    nodes = cluster.node_list
    if todo is None:
        todo = range(len(keys))
    if len(nodes) == 1:
        groups: Mapping[Node, Sequence[int]] = {nodes[0]: todo}
    else:
        node_for = cluster.node_for
        replica = policy["replica"]
        lists: dict[Node, list[int]] = {}
        for i in todo:
            k = keys[i]
            lists.setdefault(node_for(k.namespace, k.partition_id, is_write, replica, attempt), []).append(i)
        groups = lists
    cmds = []
    for node, indices in groups.items():
        cmd = BatchCommand(None, pack_batch(indices, keys, heads, policy, filter_field), is_write, parse_batch,
                           policy, (state, indices))
        cmd.stream = True
        cmd.node = node
        cmds.append(cmd)
    return cmds

# --------------------------------------------------------------------------- batch_write retries

#: Per-record result codes that ``batch_write(retry=N)`` retries: timeout, key busy, device overload.
RETRYABLE = frozenset((9, 14, 18))
#: Backoff before retry ``n`` (1, 2, ...): uniform in [0, min(RETRY_CAP, RETRY_BASE * 2**(n-1))] s.
RETRY_BASE = 0.01
RETRY_CAP = 0.5
#: A retry is not started when less than this is left of ``total_timeout`` (seconds).
RETRY_MIN_LEFT = 0.005
#: One step of a call driven by ``BatchMixin._drive``: ``(commands, parallel, combine, delay_s)``.
Step = tuple[list[Any], bool, Callable[[list[Any]], Any], float]


def _as_is(results: list[Any]) -> list[Any]:
    return results


def _node_failure(res: Any) -> bool:
    """A node command that failed as a whole in transport (time-out, connection): worth a re-split."""
    return isinstance(res, (AerospikeTimeoutError, ClusterError))


def note_doubt(cmds: list[Any], results: list[Any]) -> None:
    """Remember the unanswered records of write commands that failed in doubt (sent, then no
    answer): whatever a later attempt answers for them, other than success, is in doubt too."""
    for cmd, res in zip(cmds, results, strict=True):
        if isinstance(res, AerospikeError) and res.in_doubt:
            state, indices = cmd.extra
            slots = state.slots
            state.doubt.update(i for i in indices if slots[i] is None)


def mark_doubt(state: BatchState) -> None:
    """Flag in doubt every failed record that an earlier attempt (or a server TIMEOUT) may have
    applied, as the official clients do (a record failing on a command sent more than once)."""
    slots = state.slots
    for i in state.doubt:
        s = slots[i]
        if s is not None and s[SLOT_RC] and not s[SLOT_IN_DOUBT]:
            rc, gen, vt, bins, _ = s
            slots[i] = (rc, gen, vt, bins, True)


def batch_steps(cluster_view: Callable[[], Any], state: BatchState, heads: Sequence[bytes], policy: Any,
                is_write: bool, filter_field: bytes | None, parallel: bool,
                finish: Callable[[BatchState, BatchRetryInfo], Any], retry: int = 0,
                clock: Callable[[], float] = time.monotonic,
                rand: Callable[[], float] | None = None) -> Generator[Step, Any, Any]:
    """A batch call as steps (sync and async facades drive it, see ``BatchMixin._drive``).

    1. One command per node, each run once by the executor (``max_retries`` is applied here).
    2. Node retries: the unanswered records of a node command that failed in transport are split
       again by the cluster's *current* partition map (so a departed node's keys go to their new
       owner), up to ``max_retries`` times, ``sleep_between_retries`` apart; for writes only when
       the command was never sent (a write that may have been applied is not applied twice).
    3. Write retries (``retry`` > 0): records that failed with a retryable code are resent after a
       full-jitter exponential backoff, unless ``total_timeout`` would be overrun.

    Returns ``finish(state, BatchRetryInfo)``; a read whose node failed for good raises.
    """
    slots = state.slots
    total = policy["total_timeout"]
    deadline = clock() + total / 1000 if total else None
    max_node_retries = policy["max_retries"]
    run_pol = type(policy)(policy, max_retries=0) if max_node_retries else policy
    todo: Sequence[int] | None = None
    node_attempt = 0
    attempts = 1
    truncated = False
    delay = 0.0
    while True:
        cmds = node_commands(cluster_view(), state, heads, run_pol, is_write, filter_field, todo, node_attempt) \
            if heads else []
        results = yield cmds, parallel, _as_is, delay
        if is_write:
            note_doubt(cmds, results)
        # A write sub-batch that was sent is not sent again (it may have been applied: its records
        # stay in doubt); one never sent (connection refused) goes to the owners of the moment.
        failed = [c for c, r in zip(cmds, results, strict=True) if _node_failure(r) and not (is_write and r.in_doubt)]
        if failed and node_attempt < max_node_retries:
            delay = policy["sleep_between_retries"] / 1000
            left = deadline - clock() - delay if deadline is not None else None
            if left is None or left > RETRY_MIN_LEFT:
                apply_errors([c for c in cmds if c not in failed], [r for c, r in zip(cmds, results, strict=True)
                                                                    if c not in failed], is_write)
                node_attempt += 1
                todo = [i for c in failed for i in c.extra[1] if slots[i] is None]
                if left is not None:
                    run_pol = type(policy)(run_pol, total_timeout=max(1, int(left * 1000)))
                continue
        apply_errors(cmds, results, is_write)
        if not retry:
            break
        pending = [i for i, s in enumerate(slots) if s is not None and s[SLOT_RC] in RETRYABLE]
        if not pending or attempts > retry:
            break
        delay = (rand or random.random)() * min(RETRY_CAP, RETRY_BASE * (1 << min(attempts - 1, 30)))
        if deadline is not None:
            left = deadline - clock() - delay
            if left < RETRY_MIN_LEFT:
                truncated = True
                break
            run_pol = type(policy)(run_pol, total_timeout=max(1, int(left * 1000)))
        for i in pending:
            slots[i] = None
        todo = pending
        node_attempt = 0
        attempts += 1
    if state.doubt:
        mark_doubt(state)
    if not retry and not is_write:
        return finish(state, NO_RETRY)
    unresolved = sum(1 for s in slots if s is not None and s[SLOT_RC] in RETRYABLE)
    return finish(state, BatchRetryInfo(attempts, retry + 1, truncated, unresolved))
