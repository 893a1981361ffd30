"""Batch commands: the batch-index protocol (one message, field 41), written once for sync and async.

Request: a header with ``info1 = BATCH``, an optional filter-expression field, then field 41:
``count (u32) | flags (u8) | entries``. Each entry is ``index (u32) | digest (20) | type (u8) | ...``;
type ``REPEAT`` (1) reuses everything of the previous entry, otherwise the type bits say which of
``info1-3`` (INFO), ``generation (u16)`` (GEN) and ``ttl (u32)`` (TTL) follow, then
``n_fields (u16) | n_ops (u16) | fields | ops`` as in a single-record message.

Reply: frames of messages, one per entry, whose transaction-ttl slot holds the entry's index;
then a message with ``info3 = LAST``. Each node command writes its records into a slot list
shared by all nodes of the call, so results come out in the caller's key order without merging.
"""

from __future__ import annotations

import gc
import random
import struct
import time
from collections.abc import Callable, Generator, ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

from .._policy import WriteAttrs
from .._wire import constants as W
from .._wire.expiry import ttl_of
from .._wire.message import FIELD_HEADER, MSG_HEADER, OP_HEADER, pack_message, parse_bins, skip_fields
from .._wire.values import decode_particle
from ..exception import (
    AerospikeError,
    AerospikeTimeoutError,
    ClusterError,
    InvalidArgError,
    _InvalidArgType,
)
from ..types import BatchRecord, BatchRecords, BatchRetryInfo, Record, RecordMetadata
from .base import MORE, Command, parse_frame_sparing_gc, raise_for
from .keys import _RECENT, RequestKey, parse_key

if TYPE_CHECKING:
    from .._net.cluster import Node

# Entry type bits.
BATCH_MSG_REPEAT = 0x01
BATCH_MSG_INFO = 0x02
BATCH_MSG_GEN = 0x04
BATCH_MSG_TTL = 0x08

# Field-41 flags.
FLAG_ALLOW_INLINE = 0x01
FLAG_ALLOW_INLINE_SSD = 0x02
FLAG_RESPOND_ALL_KEYS = 0x04
FLAG_BATCH_V2 = 0x08  # set by the official and Rust clients on every batch request

#: Result code of a record the server never answered (protocol violation).
NO_RESPONSE = -1
#: Result code TIMEOUT: the server gave up on a record, which may have been applied.
_SERVER_TIMEOUT = 9

_U32 = struct.Struct(">I")
_ENTRY = struct.Struct(">I20sB")  # index, digest, REPEAT
_READ_HEAD = struct.Struct(">BBBBIHH")  # type, info1, info2, info3, ttl, n_fields, n_ops
_WRITE_HEAD = struct.Struct(">BBBBHIHH")  # type, info1, info2, info3, gen, ttl, n_fields, n_ops
_pack_u32 = _U32.pack
_pack_entry = _ENTRY.pack
_pack_field_header = FIELD_HEADER.pack
_unpack_msg = MSG_HEADER.unpack_from
_unpack_op = OP_HEADER.unpack_from
_REPEAT = b"\x01"
_NAMES: dict[bytes, str] = {}
_tuple_new = tuple.__new__
_digest_of = itemgetter(2)  # RequestKey -> digest

#: Slot of one record: ``(result_code, generation, void_time, bins or None)``.
Slot = tuple[int, int, int, "dict[str, Any] | None"]


# --------------------------------------------------------------------------- input


def parse_keys(keys: Any, what: str = "keys") -> list[RequestKey]:
    """Validate a list of keys; a malformed key names its index.

    When every key is in the memo of recently parsed keys, the list is made by C-level maps (no
    Python loop): a batch of hot keys costs little more than a copy. The memo's entries are only
    taken when each user key has the type its entry was made with (1, True and 1.0 are equal).
    """
    if not isinstance(keys, (list, tuple)):
        raise _InvalidArgType(f"{what} must be a list of keys, not {type(keys).__name__}")
    try:
        memo: list[RequestKey | None] = list(map(_RECENT.get, keys))
    except TypeError:  # an unhashable key (a list, a list user key): the loop below
        memo = [None]
    if None not in memo:
        # The memo holds only str and int user keys, so when every user key given is exactly a str
        # or an int, each entry found was made for that very key (an int never equals a str).
        if set(map(type, map(_tuple_user_key, keys))) <= _MEMO_TYPES:
            return cast("list[RequestKey]", memo)  # no None in it
    out: list[RequestKey] = []
    append = out.append
    recent = _RECENT
    try:
        for k in keys:
            if type(k) is tuple:
                rk = recent.get(k)
                if rk is not None and type(rk[1]) is type(k[2]):
                    append(rk)
                    continue
            append(parse_key(k))
    except InvalidArgError as e:
        raise type(e)(f"{what}[{len(out)}]: {e.msg}") from None
    except TypeError:  # e.g. an unhashable user key: let parse_key name the problem
        for k in keys[len(out):]:
            try:
                append(parse_key(k))
            except InvalidArgError as e:
                raise type(e)(f"{what}[{len(out)}]: {e.msg}") from None
    return out


_tuple_user_key = itemgetter(2)  # (namespace, set, user key) -> user key
_MEMO_TYPES = frozenset((str, int))


def _ns_set_fields(k: RequestKey) -> bytes:
    ns, s = k.ns_b, k.set_b
    out = _pack_field_header(len(ns) + 1, W.FIELD_NAMESPACE) + ns
    if s:
        out += _pack_field_header(len(s) + 1, W.FIELD_SET) + s
    return out


def read_head(k: RequestKey, info1: int, info2: int, ttl: int, ops: Sequence[bytes]) -> bytes:
    """The entry body (after the digest) of a read."""
    n_fields = 2 if k.set_b else 1
    return b"".join((_READ_HEAD.pack(BATCH_MSG_INFO | BATCH_MSG_TTL, info1, info2, 0, ttl, n_fields, len(ops)),
                     _ns_set_fields(k), *ops))


def write_head(k: RequestKey, info1: int, attrs: WriteAttrs, ops: Sequence[bytes], extra_fields: Sequence[bytes] = (),
               extra_info2: int = W.INFO2_RESPOND_ALL_OPS, n_ops: int = -1) -> bytes:
    """The entry body (after the digest) of a write, delete or UDF call (``attrs`` from write_attrs);
    ``ops`` holds one op per item, or ``n_ops`` ops in its parts."""
    info2, info3, generation, ttl, key_policy, _ = attrs
    fields = [_ns_set_fields(k)]
    n_fields = 2 if k.set_b else 1
    if key_policy == 1 and k.key_field is not None:
        fields.append(k.key_field)
        n_fields += 1
    fields.extend(extra_fields)
    n_fields += len(extra_fields)
    head = _WRITE_HEAD.pack(BATCH_MSG_INFO | BATCH_MSG_GEN | BATCH_MSG_TTL, info1, info2 | extra_info2, info3,
                            generation & 0xFFFF, ttl, n_fields, len(ops) if n_ops < 0 else n_ops)
    return b"".join((head, *fields, *ops))


def flags_of(policy: Any) -> int:
    flags = FLAG_BATCH_V2
    if policy["allow_inline"]:
        flags |= FLAG_ALLOW_INLINE
    if policy["allow_inline_ssd"]:
        flags |= FLAG_ALLOW_INLINE_SSD
    if policy["respond_all_keys"]:
        flags |= FLAG_RESPOND_ALL_KEYS
    return flags


_INDEX_BYTES: list[bytes] = []
_MAX_INDEX_BYTES = 1 << 16


def _index_bytes(n: int) -> list[bytes]:
    """Big-endian u32 of 0 .. n-1 (at least), kept between calls."""
    if len(_INDEX_BYTES) < n:
        _INDEX_BYTES.extend(map(_pack_u32, range(len(_INDEX_BYTES), max(n, 1024))))
    return _INDEX_BYTES


def pack_batch(indices: Sequence[int], keys: Sequence[RequestKey], heads: Sequence[bytes], policy: Any,
               filter_field: bytes | None) -> bytes:
    """The whole request frame for the records at ``indices`` (original positions are kept)."""
    parts = [_pack_u32(len(indices)), bytes((flags_of(policy),))]
    append = parts.append
    if type(indices) is range and indices.step == 1 and len(indices) > 1 and indices.stop <= _MAX_INDEX_BYTES:
        lo, hi = indices.start, indices.stop
        hs = heads[lo:hi]
        if hs.count(hs[0]) == len(hs):  # one entry body for all, the rest REPEATs: slices, no loop
            n = hi - lo - 1
            rep = [_REPEAT] * (3 * n)
            rep[0::3] = _index_bytes(hi)[lo + 1 : hi]
            rep[1::3] = map(_digest_of, keys[lo + 1 : hi])
            parts += (_pack_u32(lo), keys[lo][2], hs[0], *rep)
            indices = ()
    prev = None
    for i in indices:
        head = heads[i]
        if head is prev or head == prev:
            append(_pack_entry(i, keys[i][2], 1))
        else:
            append(_pack_u32(i))
            append(keys[i][2])
            append(head)
            prev = head
    data = b"".join(parts)
    fields = [_pack_field_header(len(data) + 1, W.FIELD_BATCH_INDEX) + data]
    if filter_field is not None:
        fields.insert(0, filter_field)
    return pack_message(W.INFO1_BATCH, 0, 0, 0, 0, 0, policy["total_timeout"], fields, [])


# --------------------------------------------------------------------------- commands


class BatchState:
    """What the node commands of one call share: keys, result slots, per-record op filter."""

    __slots__ = ("keys", "slots", "keep", "sink", "layout", "learned", "plan", "keep_failed", "doubt")

    def __init__(self, keys: list[RequestKey], keep: list[bool] | None = None, sink: Any = None,
                 plan: Any = None, keep_failed: bool = False) -> None:
        #: A ResultPlan when the ops' results need more than "one value per bin" (batch_operate).
        self.plan = plan
        self.keys = keys
        #: Keep the bins of failed records (batch_apply: the ``FAILURE`` bin of a UDF error).
        self.keep_failed = keep_failed
        self.slots: list[Any] = [None] * len(keys)
        #: For batch_operate with RESPOND_ALL_OPS: which reply ops carry a result for the caller.
        self.keep = keep
        #: Numpy path: an object whose ``feed(cmd, body, node)`` takes the reply frames instead.
        self.sink = sink
        #: The record layout last seen (see :class:`Layout`), and how many were learned.
        self.layout: Layout | None = None
        self.learned = 0
        #: Indices of write records that may have been applied by an attempt whose answer was not
        #: a success: a failure of theirs is in doubt (see :func:`mark_doubt`).
        self.doubt: set[int] = set()


class BatchCommand(Command):
    """A batch request to one node; ``extra`` is ``(BatchState, indices)``."""

    __slots__ = ("node",)

    node: Node


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


# --------------------------------------------------------------------------- reply


class Layout:
    """The exact shape of a record message (header, ops with their sizes, types and names).

    A run of records of that shape is checked at once: for every byte the shape fixes (result
    code, info3, field and op counts, op headers, bin names), one strided slice of the frame holds
    that byte of every record, and must be that byte repeated. The first record where any differs
    ends the run, so the fast path is exact. The run's values then come from one ``iter_unpack``
    whose format skips the fixed bytes: one tuple per record, ``(gen, void_time, index, *values)``.
    """

    __slots__ = ("iter_unpack", "size", "names", "fix", "checks")

    def __init__(self, buf: bytes, off: int, n_ops: int) -> None:
        fmt = [">6xIII4x"]
        checks = [0, 3, 5, 18, 19, 20, 21]
        names, fix = [], []
        p = off + 22
        for j in range(n_ops):
            size, _op, pt, _, nlen = _unpack_op(buf, p)
            vlen = size - 4 - nlen
            checks.extend(range(p - off, p - off + 8 + nlen))
            names.append(buf[p + 8 : p + 8 + nlen].decode())
            if pt == 1 and vlen == 8:
                vf = "q"
            elif pt == 2 and vlen == 8:
                vf = "d"
            else:
                vf = f"{vlen}s"
                if pt != 4:
                    fix.append((j, pt))
            fmt.append(f"{8 + nlen}x{vf}")
            p += 4 + size
        st = struct.Struct("".join(fmt))
        self.iter_unpack = st.iter_unpack
        self.size = st.size
        self.names = tuple(names)
        #: Values the struct leaves as bytes that need decoding: (position, particle type).
        self.fix = tuple(fix)
        #: (offset in the record, the byte it must hold) for every fixed byte.
        self.checks = tuple((c, buf[off + c : off + c + 1]) for c in checks)

    def run_length(self, buf: bytes, off: int, end: int) -> int:
        """How many records from ``off`` have this shape (a few are checked before all)."""
        size = self.size
        total = (end - off) // size
        m = self._check(buf, off, size, min(total, _PROBE))
        return self._check(buf, off, size, total) if m == _PROBE < total else m

    def _check(self, buf: bytes, off: int, size: int, m: int) -> int:
        for c, b in self.checks:
            if m == 0:
                return 0
            col = buf[off + c : off + m * size : size]
            if col != b * m:
                m = len(col) - len(col.lstrip(b))  # records before the first whose byte differs
        return m


_LAYOUTS: dict[bytes, Layout] = {}


def layout_key(buf: bytes, off: int, n_ops: int) -> bytes:
    """What identifies the shape of the record message at ``off``: its op headers and bin names."""
    p = off + 22
    sig = []
    for _ in range(n_ops):
        size, _op, _pt, _, nlen = _unpack_op(buf, p)
        sig.append(buf[p : p + 8 + nlen])
        p += 4 + size
    return b"".join(sig)


def layout_at(buf: bytes, off: int, n_ops: int) -> Layout:
    """The layout of the found record at ``off``, shared by all calls (keyed by :func:`layout_key`;
    the header bytes a layout checks are the same for every found record)."""
    key = layout_key(buf, off, n_ops)
    lay = _LAYOUTS.get(key)
    if lay is None:
        if len(_LAYOUTS) >= 512:
            _LAYOUTS.clear()
        lay = _LAYOUTS[key] = Layout(buf, off, n_ops)
    return lay


_MAX_LEARNED = 8
#: Records checked before a whole run is; after a run shorter than _MIN_RUN, the next
#: _PY_STRETCH records take the general path (frames of mixed shapes stay linear).
_PROBE = 16
_MIN_RUN = 4
_PY_STRETCH = 32


def parse_batch(cmd: Command, body: Any, node: str) -> Any:
    """Store each record message of a frame in its slot; None after the last message, else MORE."""
    sink = cmd.extra[0].sink
    if sink is not None:
        return sink.feed(cmd, body, node)
    return parse_frame_sparing_gc(_parse_frame, cmd, body, node)


def _parse_frame(cmd: Command, body: Any, node: str) -> Any:
    state, _ = cmd.extra
    slots = state.slots
    keep = state.keep
    buf = bytes(body)
    off = 0
    end = len(buf)
    names = _NAMES
    plan = state.plan
    if plan is not None:
        keep = None  # the plan filters the entries itself
    layout = state.layout if keep is None and plan is None else None
    skip = 0
    pairs: list[tuple[str, Any]] = []
    while off < end:
        if skip:
            skip -= 1
        elif layout is not None:
            m = layout.run_length(buf, off, end)
            if m < _MIN_RUN:
                skip = _PY_STRETCH
            if m:
                stop = off + m * layout.size
                bnames = layout.names
                fix = layout.fix
                for vals in layout.iter_unpack(buf[off:stop]):
                    if fix:
                        values = list(vals[3:])
                        for j, pt in fix:
                            values[j] = values[j].decode() if pt == 3 else decode_particle(pt, values[j])
                        slots[vals[2]] = (0, vals[0], vals[1], dict(zip(bnames, values, strict=True)))
                    else:
                        slots[vals[2]] = (0, vals[0], vals[1], dict(zip(bnames, vals[3:], strict=True)))
                off = stop
                continue
        start = off
        _, _, _, info3, _, rc, gen, vt, idx, n_fields, n_ops = _unpack_msg(buf, off)
        off += 22
        if info3 & W.INFO3_LAST:
            if rc:
                raise_for(cmd, rc, node)
            return None
        if n_fields:
            off = skip_fields(buf, off, n_fields)
        if rc:
            if n_ops and state.keep_failed:
                failed_bins, off = parse_bins(buf, off, n_ops)
                slots[idx] = (rc, gen, vt, failed_bins)
            else:
                for _ in range(n_ops):
                    off += 4 + _unpack_op(buf, off)[0]
                slots[idx] = (rc, gen, vt, None)
            if rc == _SERVER_TIMEOUT and cmd.is_write:  # (after slots[idx]: an index past the keys fails it)
                state.doubt.add(idx)  # the server gave up on it, perhaps after applying it
            continue
        if keep is None and plan is None and n_ops and not n_fields and state.learned < _MAX_LEARNED:
            state.learned += 1
            layout = state.layout = layout_at(buf, start, n_ops)
        bins: dict[str, Any] = {}
        for j in range(n_ops):
            size, _op, pt, _, nlen = _unpack_op(buf, off)
            vs = off + 8 + nlen
            nb = buf[off + 8 : vs]
            off += 4 + size
            if keep is not None and (j >= len(keep) or not keep[j]):
                continue
            name = names.get(nb)
            if name is None:
                name = nb.decode()
                if len(names) < 8192:
                    names[nb] = name
            v: Any
            if pt == 1:
                if off - vs != 8:
                    raise ValueError(f"integer particle of {off - vs} bytes")
                v = int.from_bytes(buf[vs:off], "big", signed=True)
            elif pt == 3:
                v = buf[vs:off].decode()
            else:
                v = decode_particle(pt, buf[vs:off])
            if plan is None:
                bins[name] = v
            else:
                pairs.append((name, v))
        if plan is not None:
            bins = plan.bins(pairs)
            pairs = []
        slots[idx] = (0, gen, vt, bins)
    return MORE


def apply_errors(cmds: list[Any], results: list[Any], is_write: bool) -> None:
    """Fold node failures into the slots or raise them (reads).

    For writes, the records of a failed node that were not answered get the error's code and
    its ``in_doubt``; records answered before the failure keep their own result.
    """
    for cmd, res in zip(cmds, results, strict=True):
        if isinstance(res, AerospikeError):
            if not is_write:
                raise res
            state, indices = cmd.extra
            slots = state.slots
            err = (res.code, 0, 0, None, bool(res.in_doubt))
            for i in indices:
                if slots[i] is None:
                    slots[i] = err


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
        if s is not None and s[0] and not (len(s) > 4 and s[4]):
            slots[i] = (s[0], s[1], s[2], s[3], True)


def to_batch_records(state: BatchState) -> list[BatchRecord]:
    """Slots -> BatchRecord list (in the caller's key order)."""
    if len(state.keys) < 2048 or not gc.isenabled():
        return _to_batch_records(state)
    # Many small tuples at once: the cyclic GC would scan them again and again; they hold no cycles.
    gc.disable()
    try:
        return _to_batch_records(state)
    finally:
        gc.enable()


def _to_batch_records(state: BatchState) -> list[BatchRecord]:
    now = time.time()
    new = _tuple_new
    out: list[BatchRecord] = []
    append = out.append
    last_meta = None
    last_gen = last_vt = -1
    for k, s in zip(state.keys, state.slots, strict=True):
        pk = k[5]
        if s is None:
            append(new(BatchRecord, (pk, NO_RESPONSE, None, False)))
            continue
        rc = s[0]
        if rc:
            if s[3] is not None:  # a failed UDF call's FAILURE bin
                meta = new(RecordMetadata, (s[1], ttl_of(s[2], now)))
                append(new(BatchRecord, (pk, rc, new(Record, (pk, meta, s[3])), len(s) > 4 and s[4])))
                continue
            append(new(BatchRecord, (pk, rc, None, len(s) > 4 and s[4])))
            continue
        if s[2] != last_vt or s[1] != last_gen:  # records written together share one metadata tuple
            last_gen, last_vt = s[1], s[2]
            last_meta = new(RecordMetadata, (last_gen, ttl_of(last_vt, now)))
        append(new(BatchRecord, (pk, 0, new(Record, (pk, last_meta, s[3])), False)))
    return out


def records_result(state: BatchState, info: BatchRetryInfo) -> BatchRecords:
    """Finish of batch_read / batch_operate / batch_remove: :class:`BatchRecords`."""
    return BatchRecords(to_batch_records(state))


def write_result(state: BatchState, info: BatchRetryInfo) -> BatchRecords:
    """Finish of batch_write: :class:`BatchWriteRecords` (BatchRecords with ``retry``)."""
    out = BatchWriteRecords(to_batch_records(state))
    if info != _NO_RETRY:
        out.retry = info
    return out


# --------------------------------------------------------------------------- batch_write retries

#: Per-record result codes that ``batch_write(retry=N)`` retries: timeout, key busy, device overload.
RETRYABLE = frozenset((9, 14, 18))
#: Backoff before retry ``n`` (1, 2, ...): uniform in [0, min(RETRY_CAP, RETRY_BASE * 2**(n-1))] s.
RETRY_BASE = 0.01
RETRY_CAP = 0.5
#: A retry is not started when less than this is left of ``total_timeout`` (seconds).
RETRY_MIN_LEFT = 0.005
_NO_RETRY = BatchRetryInfo(1, 1, False, 0)


class BatchWriteRecords(BatchRecords):
    """What ``batch_write`` returns: the seed's :class:`BatchRecords` (same tuple, same field), plus
    ``retry``, a :class:`BatchRetryInfo` of what the retry loop did (as on 0.14's BatchWriteResult)."""

    retry: BatchRetryInfo = _NO_RETRY


#: One step of a call driven by ``BatchMixin._drive``: ``(commands, parallel, combine, delay_s)``.
Step = tuple[list[Any], bool, Callable[[list[Any]], Any], float]


def _as_is(results: list[Any]) -> list[Any]:
    return results


def _node_failure(res: Any) -> bool:
    """A node command that failed as a whole in transport (time-out, connection): worth a re-split."""
    return isinstance(res, (AerospikeTimeoutError, ClusterError))


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
        pending = [i for i, s in enumerate(slots) if s is not None and s[0] in RETRYABLE]
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
        return finish(state, _NO_RETRY)
    unresolved = sum(1 for s in slots if s is not None and s[0] in RETRYABLE)
    return finish(state, BatchRetryInfo(attempts, retry + 1, truncated, unresolved))


# --------------------------------------------------------------------------- async handle


class BatchReadHandle:
    """Result of async ``batch_read``: records stay as parsed slots until asked for.

    ``as_dict()`` is the fast path (``{user_key: bins}`` of the records found); ``batch_records``
    builds the :class:`BatchRecord` list once and caches it. ``len()``, indexing, iteration and
    ``keys()`` follow the seed (every requested record); the rest of aerospike-py's
    ``LazyBatchRecords`` API is there too (``to_dict``, ``get``, ``in``, ``values``, ``items``, ...).
    """

    __slots__ = ("_state", "_records", "_dict")

    def __init__(self, state: BatchState) -> None:
        self._state = state
        self._records: list[BatchRecord] | None = None
        self._dict: dict[Any, dict[str, Any]] | None = None

    def as_dict(self) -> dict[Any, dict[str, Any]]:
        """``{user_key: bins}`` of the found records (failed and digest-only records left out)."""
        return {k.user_key: s[3] for k, s in zip(self._state.keys, self._state.slots, strict=True)
                if s is not None and s[0] == 0 and k.user_key is not None}

    def to_dict(self) -> dict[Any, dict[str, Any]]:
        """:meth:`as_dict`, cached (the dict-style methods share it; :meth:`release_cache` drops it)."""
        d = self._dict
        if d is None:
            d = self._dict = self.as_dict()
        return d

    def to_list(self) -> list[dict[str, Any] | None]:
        """Bins of every requested record in request order; ``None`` where it was not read."""
        return [s[3] if s is not None and s[0] == 0 else None for s in self._state.slots]

    @property
    def batch_records(self) -> list[BatchRecord]:
        recs = self._records
        if recs is None:
            recs = self._records = to_batch_records(self._state)
        return recs

    def found_count(self) -> int:
        """Number of records read successfully."""
        return sum(1 for s in self._state.slots if s is not None and s[0] == 0)

    def keys(self) -> list[Any]:
        """User keys of all requested records, in request order (no record conversion)."""
        return [k.user_key for k in self._state.keys]

    def all_user_keys(self) -> list[Any]:
        """User keys of all requested records, in request order (as :meth:`keys`)."""
        return self.keys()

    def values(self) -> ValuesView[dict[str, Any]]:
        """Bins of the records read (``to_dict().values()``)."""
        return self.to_dict().values()

    def items(self) -> ItemsView[Any, dict[str, Any]]:
        """``(user_key, bins)`` of the records read (``to_dict().items()``)."""
        return self.to_dict().items()

    def get(self, key: object, default: Any = None) -> Any:
        """Bins of the record read for ``key``, else ``default``."""
        return self.to_dict().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def iter_records(self) -> Iterator[BatchRecord]:
        """Every :class:`BatchRecord` (missing and failed ones included), in request order."""
        return iter(self.batch_records)

    def to_numpy(self, dtype: Any) -> Any:
        """The records as a ``NumpyBatchRecords`` of ``dtype``."""
        from ..numpy_batch import _from_batch_records

        return _from_batch_records(self.batch_records, dtype)

    def release_cache(self) -> None:
        """Drop the cached :meth:`to_dict` view and record list (rebuilt when asked for again)."""
        self._dict = None
        self._records = None

    @staticmethod
    def merge_to_dict(handles: Iterable[Any]) -> list[dict[Any, dict[str, Any]]]:
        """``[h.to_dict() for h in handles]``: the dict view of each result, in order."""
        return [h.to_dict() for h in handles]

    def __len__(self) -> int:
        return len(self._state.keys)

    def __getitem__(self, i: int) -> BatchRecord:
        return self.batch_records[i]

    def __iter__(self) -> Iterator[BatchRecord]:
        return iter(self.batch_records)

    def __repr__(self) -> str:
        return f"BatchReadHandle(len={len(self)}, found={self.found_count()})"


def handle_result(state: BatchState, info: BatchRetryInfo) -> BatchReadHandle:
    """Finish of async batch_read: a lazy :class:`BatchReadHandle`."""
    return BatchReadHandle(state)
