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
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any

from .._wire import constants as W
from .._wire.message import FIELD_HEADER, MSG_HEADER, OP_HEADER, pack_message, skip_fields
from .._wire.values import decode_particle
from ..exception import AerospikeError, InvalidArgError
from ..types import BatchRecord, BatchRecords, Record, RecordMetadata
from .base import CITRUS_EPOCH, MORE, NEVER_EXPIRES, Command, raise_for
from .keys import RequestKey, parse_key

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

#: Slot of one record: ``(result_code, generation, void_time, bins or None)``.
Slot = tuple[int, int, int, "dict[str, Any] | None"]


# --------------------------------------------------------------------------- input


def parse_keys(keys: Any, what: str = "keys") -> list[RequestKey]:
    """Validate a list of keys; a malformed key names its index."""
    if not isinstance(keys, (list, tuple)):
        raise InvalidArgError(f"{what} must be a list of keys, not {type(keys).__name__}")
    out = []
    append = out.append
    try:
        for k in keys:
            append(parse_key(k))
    except InvalidArgError as e:
        raise InvalidArgError(f"{what}[{len(out)}]: {e.msg}") from None
    return out


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


def write_head(k: RequestKey, info1: int, attrs: tuple, ops: Sequence[bytes], extra_fields: Sequence[bytes] = (),
               extra_info2: int = W.INFO2_RESPOND_ALL_OPS) -> bytes:
    """The entry body (after the digest) of a write, delete or UDF call (``attrs`` from write_attrs)."""
    info2, info3, generation, ttl, key_policy, _ = attrs
    fields = [_ns_set_fields(k)]
    n_fields = 2 if k.set_b else 1
    if key_policy == 1 and k.key_field is not None:
        fields.append(k.key_field)
        n_fields += 1
    fields.extend(extra_fields)
    n_fields += len(extra_fields)
    head = _WRITE_HEAD.pack(BATCH_MSG_INFO | BATCH_MSG_GEN | BATCH_MSG_TTL, info1, info2 | extra_info2, info3,
                            generation & 0xFFFF, ttl, n_fields, len(ops))
    return b"".join((head, *fields, *ops))


def udf_fields(module: str, function: str, arglist: bytes) -> list[bytes]:
    """Fields 30-32 of a UDF entry (for ``batch_apply``)."""
    m, f = module.encode(), function.encode()
    return [_pack_field_header(len(m) + 1, W.FIELD_UDF_PACKAGE_NAME) + m,
            _pack_field_header(len(f) + 1, W.FIELD_UDF_FUNCTION) + f,
            _pack_field_header(len(arglist) + 1, W.FIELD_UDF_ARGLIST) + arglist]


def flags_of(policy: Any) -> int:
    flags = FLAG_BATCH_V2
    if policy["allow_inline"]:
        flags |= FLAG_ALLOW_INLINE
    if policy["allow_inline_ssd"]:
        flags |= FLAG_ALLOW_INLINE_SSD
    if policy["respond_all_keys"]:
        flags |= FLAG_RESPOND_ALL_KEYS
    return flags


def pack_batch(indices: Sequence[int], keys: Sequence[RequestKey], heads: Sequence[bytes], policy: Any,
               filter_field: bytes | None) -> bytes:
    """The whole request frame for the records at ``indices`` (original positions are kept)."""
    parts = [_pack_u32(len(indices)), bytes((flags_of(policy),))]
    append = parts.append
    prev = None
    for i in indices:
        head = heads[i]
        if head is prev or head == prev:
            append(_pack_entry(i, keys[i].digest, 1))
        else:
            append(_pack_u32(i))
            append(keys[i].digest)
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

    __slots__ = ("keys", "slots", "keep", "columns", "layout", "learned")

    def __init__(self, keys: list[RequestKey], keep: list[bool] | None = None, columns: bool = False) -> None:
        self.keys = keys
        self.slots: list[Any] = [None] * len(keys)
        #: For batch_operate with RESPOND_ALL_OPS: which reply ops carry a result for the caller.
        self.keep = keep
        #: Numpy path: strings stay bytes, and records that match a layout keep their value tuple.
        self.columns = columns
        #: The record layout last seen (see :class:`Layout`), and how many were learned.
        self.layout: Layout | None = None
        self.learned = 0


class BatchCommand(Command):
    """A batch request to one node; ``extra`` is ``(BatchState, indices)``."""

    __slots__ = ("node",)


def node_commands(cluster: Any, state: BatchState, heads: Sequence[bytes], policy: Any, is_write: bool,
                  filter_field: bytes | None) -> list[BatchCommand]:
    """Split the records by partition owner and build one streaming command per node."""
    keys = state.keys
    nodes = cluster.node_list
    if len(nodes) == 1:
        groups = {nodes[0]: range(len(keys))}
    else:
        node_for = cluster.node_for
        replica = policy["replica"]
        groups = {}
        for i, k in enumerate(keys):
            groups.setdefault(node_for(k.namespace, k.partition_id, is_write, replica, 0), []).append(i)
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
    """The exact shape of a record message (header + ops with their sizes, types and names), as
    one precompiled struct: records of the same shape decode in a single ``unpack_from``.

    Checking the unpacked sizes, particle types and names against the layout makes the fast path
    exact: a record that differs anywhere takes the general path.
    """

    __slots__ = ("unpack", "n_ops", "sizes", "ptypes", "names_b", "names", "fix", "size")

    def __init__(self, buf: bytes, off: int, n_ops: int) -> None:
        fmt = [">BBBBBBIIIHH"]
        sizes, ptypes, names_b, fix = [], [], [], []
        p = off + 22
        for j in range(n_ops):
            size, _op, pt, _, nlen = _unpack_op(buf, p)
            vlen = size - 4 - nlen
            names_b.append(buf[p + 8 : p + 8 + nlen])
            if pt == 1 and vlen == 8:
                vf = "q"
            elif pt == 2 and vlen == 8:
                vf = "d"
            else:
                vf = f"{vlen}s"
                if pt != 4:
                    fix.append((j, pt))
            fmt.append(f"IBBBB{nlen}s{vf}")
            sizes.append(size)
            ptypes.append(pt)
            p += 4 + size
        st = struct.Struct("".join(fmt))
        self.unpack = st.unpack_from
        self.size = st.size
        self.n_ops = n_ops
        self.sizes = tuple(sizes)
        self.ptypes = tuple(ptypes)
        self.names_b = tuple(names_b)
        self.names = tuple(n.decode() for n in names_b)
        #: Values the struct leaves as bytes that need decoding: (position, particle type).
        self.fix = tuple(fix)


_MAX_LEARNED = 8


def parse_batch(cmd: Command, body: Any, node: str) -> Any:
    """Store each record message of a frame in its slot; None after the last message, else MORE."""
    if len(body) < 32768 or not gc.isenabled():
        return _parse_frame(cmd, body, node)
    gc.disable()  # a big frame makes many dicts and tuples, none in cycles: spare the GC passes
    try:
        return _parse_frame(cmd, body, node)
    finally:
        gc.enable()


def _parse_frame(cmd: Command, body: Any, node: str) -> Any:
    state, _ = cmd.extra
    slots = state.slots
    keep = state.keep
    columns = state.columns
    buf = bytes(body)
    off = 0
    end = len(buf)
    names = _NAMES
    layout = state.layout if keep is None else None
    while off < end:
        if layout is not None and off + layout.size <= end:
            vals = layout.unpack(buf, off)
            if (vals[10] == layout.n_ops and not vals[5] and not vals[9] and not vals[3]
                    and vals[11::7] == layout.sizes and vals[13::7] == layout.ptypes
                    and vals[16::7] == layout.names_b):
                off += layout.size
                values = vals[17::7]
                if columns:
                    slots[vals[8]] = (0, vals[6], vals[7], None, layout, values)
                    continue
                if layout.fix:
                    values = list(values)
                    for j, pt in layout.fix:
                        values[j] = values[j].decode() if pt == 3 else decode_particle(pt, values[j])
                slots[vals[8]] = (0, vals[6], vals[7], dict(zip(layout.names, values, strict=True)))
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
            for _ in range(n_ops):
                off += 4 + _unpack_op(buf, off)[0]
            slots[idx] = (rc, gen, vt, None)
            continue
        if keep is None and n_ops and not n_fields and state.learned < _MAX_LEARNED:
            state.learned += 1
            layout = state.layout = Layout(buf, start, n_ops)
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
            if pt == 1:
                bins[name] = int.from_bytes(buf[vs:off], "big", signed=True)
            elif pt == 3:
                bins[name] = buf[vs:off] if columns else buf[vs:off].decode()
            else:
                bins[name] = decode_particle(pt, buf[vs:off])
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


def _ttl(vt: int, now: int) -> int:
    if vt == 0:
        return NEVER_EXPIRES
    t = vt + CITRUS_EPOCH - now
    return t if t > 0 else 1


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
    now = int(time.time())
    new = _tuple_new
    out = []
    append = out.append
    for k, s in zip(state.keys, state.slots, strict=True):
        pk = k.to_public()
        if s is None:
            append(new(BatchRecord, (pk, NO_RESPONSE, None, False)))
            continue
        rc = s[0]
        if rc:
            append(new(BatchRecord, (pk, rc, None, len(s) > 4 and s[4])))
            continue
        vt = s[2]
        meta = new(RecordMetadata, (s[1], _ttl(vt, now) if vt else NEVER_EXPIRES))
        append(new(BatchRecord, (pk, 0, new(Record, (pk, meta, s[3])), False)))
    return out


def records_combiner(cmds: list[Any], state: BatchState, is_write: bool) -> Callable[[list[Any]], BatchRecords]:
    def combine(results: list[Any]) -> BatchRecords:
        apply_errors(cmds, results, is_write)
        return BatchRecords(to_batch_records(state))

    return combine


# --------------------------------------------------------------------------- async handle


class BatchReadHandle:
    """Result of async ``batch_read``: records stay as parsed slots until asked for.

    ``as_dict()`` is the fast path (``{user_key: bins}`` of the records found); ``batch_records``
    builds the :class:`BatchRecord` list once and caches it.
    """

    __slots__ = ("_state", "_records")

    def __init__(self, state: BatchState) -> None:
        self._state = state
        self._records: list[BatchRecord] | None = None

    def as_dict(self) -> dict[Any, dict[str, Any]]:
        """``{user_key: bins}`` of the found records (failed and digest-only records left out)."""
        return {k.user_key: s[3] for k, s in zip(self._state.keys, self._state.slots, strict=True)
                if s is not None and s[0] == 0 and k.user_key is not None}

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

    def __len__(self) -> int:
        return len(self._state.keys)

    def __getitem__(self, i: int) -> BatchRecord:
        return self.batch_records[i]

    def __iter__(self) -> Any:
        return iter(self.batch_records)

    def __repr__(self) -> str:
        return f"BatchReadHandle(len={len(self)}, found={self.found_count()})"


def handle_combiner(cmds: list[Any], state: BatchState) -> Callable[[list[Any]], BatchReadHandle]:
    def combine(results: list[Any]) -> BatchReadHandle:
        apply_errors(cmds, results, False)
        return BatchReadHandle(state)

    return combine
