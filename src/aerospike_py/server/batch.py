"""Batch-index requests (field 41) on the embedded server: one answer per entry, in request order.

Each entry runs as the single-record command it describes (read, write, delete, or UDF call,
through :data:`MESSAGE_HANDLERS` ``"udf"``), with the batch-level filter expression. Answers are
messages whose transaction-ttl slot holds the entry's index, packed into frames, then a frame with
one ``LAST`` message. With ``respond_all_keys`` off, the first error of a read entry other than
not-found or filtered-out ends the batch; the last message then carries that error.
"""

from __future__ import annotations

import struct
from typing import Any

from .._wire import constants as W
from .._wire.digest import partition_id
from .._wire.message import MessageHeader, parse_fields, parse_wire_ops
from .._wire.proto import PROTO_HEADER
from . import errors as E
from .errors import ResultError
from .handler import MESSAGE_HANDLERS, execute_record, reply

_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_GEN = struct.Struct(">H")
_MSG = struct.Struct(">BBBBBBIIIHH")
_PROTO_MSG = (2 << 56) | (3 << 48)
_FRAME_LIMIT = 128 * 1024
_UDF_FIELDS = (W.FIELD_UDF_PACKAGE_NAME, W.FIELD_UDF_FUNCTION, W.FIELD_UDF_ARGLIST, W.FIELD_UDF_OP)
_SOFT_ERRORS = (E.OK, E.KEY_NOT_FOUND, E.FILTERED_OUT)
_WRITES = W.INFO2_WRITE | W.INFO2_DELETE


class Entry:
    """One decoded batch entry (digest aside): header values, fields and ops."""

    __slots__ = ("header", "fields", "ops")

    def __init__(self, header: MessageHeader, fields: dict[int, bytes], ops: list[Any]) -> None:
        self.header: MessageHeader = header
        self.fields: dict[int, bytes] = fields
        self.ops: list[Any] = ops


def parse_entries(data: bytes, batch_fields: dict[int, bytes]) -> tuple[int, list[tuple[int, bytes, Entry]]]:
    """Field 41 -> ``(flags, [(index, digest, entry)])``; REPEAT entries share the previous Entry."""
    (count,) = _U32.unpack_from(data, 0)
    flags = data[4]
    off = 5
    out = []
    prev: Entry | None = None
    for _ in range(count):
        (index,) = _U32.unpack_from(data, off)
        digest = data[off + 4 : off + 24]
        etype = data[off + 24]
        off += 25
        if etype & 0x01:
            if prev is None:
                raise ResultError(E.PARAMETER, "batch REPEAT without a previous entry")
            out.append((index, digest, prev))
            continue
        info1 = info2 = info3 = gen = ttl = 0
        if etype & 0x02:
            info1, info2, info3 = data[off], data[off + 1], data[off + 2]
            off += 3
        if etype & 0x10:
            off += 1  # info4
        if etype & 0x04:
            (gen,) = _GEN.unpack_from(data, off)
            off += 2
        if etype & 0x08:
            (ttl,) = _U32.unpack_from(data, off)
            off += 4
        n_fields, n_ops = _U16.unpack_from(data, off)[0], _U16.unpack_from(data, off + 2)[0]
        fields, off = parse_fields(data, off + 4, n_fields)
        ops, off = parse_wire_ops(data, off, n_ops)
        for ftype, value in batch_fields.items():
            fields.setdefault(ftype, value)
        prev = Entry(MessageHeader(info1, info2, info3, 0, 0, gen, ttl, 0, n_fields, n_ops), fields, ops)
        out.append((index, digest, prev))
    if off != len(data):
        raise ResultError(E.PARAMETER, "trailing bytes in batch field")
    return flags, out


def _with_index(frame: bytes, index: int) -> bytes:
    """A reply frame's message (proto header dropped) with ``index`` in its transaction-ttl slot."""
    return frame[8:22] + _U32.pack(index) + frame[26:]


def _error_message(code: int, index: int) -> bytes:
    return _MSG.pack(22, 0, 0, 0, 0, code, 0, 0, index, 0, 0)


_OP = struct.Struct(">IBBBB")
_pack_op_head = _OP.pack
_READ_KINDS = {W.INFO1_READ | W.INFO1_GET_ALL: "all", W.INFO1_READ | W.INFO1_NOBINDATA: "meta", W.INFO1_READ: "bins"}


def read_kind(entry: Entry) -> str | None:
    """"all", "meta" or "bins" for a plain read the fast path can answer; None otherwise."""
    h = entry.header
    if h.info2 or h.info3 or W.FIELD_FILTER_EXP in entry.fields or W.FIELD_UDF_PACKAGE_NAME in entry.fields:
        return None
    kind = _READ_KINDS.get(h.info1 & ~W.INFO1_READ_MODE_AP_ALL)
    if kind == "all" and entry.ops or kind == "meta" and entry.ops:
        return None
    if kind == "bins" and (not entry.ops or any(op.op != W.OP_READ or not op.name for op in entry.ops)):
        return None
    return kind


_OP_PREFIX: dict[tuple[str, int, int], bytes] = {}


def _op_prefix(name: str, pt: int, vlen: int) -> bytes:
    """Op header and bin name of a read result (cached by name, particle type and value size)."""
    key = (name, pt, vlen)
    p = _OP_PREFIX.get(key)
    if p is None:
        if len(_OP_PREFIX) > 65536:
            _OP_PREFIX.clear()
        nb = name.encode()
        p = _OP_PREFIX[key] = _pack_op_head(4 + len(nb) + vlen, W.OP_READ, pt, 0, len(nb)) + nb
    return p


def fast_read(server: Any, ns: Any, digest: bytes, kind: str, entry: Entry, index: int) -> bytes:
    """The answer message of a plain read (same bytes as the single-record path gives)."""
    server.count_request(partition_id(digest))
    rec = ns.get(digest, server.clock)
    if rec is None:
        return _error_message(E.KEY_NOT_FOUND, index)
    if kind == "meta":
        return _MSG.pack(22, 0, 0, 0, 0, 0, rec.generation, rec.void_time, index, 0, 0)
    bins = rec.bins
    prefixes = _OP_PREFIX
    parts = [b""]
    append = parts.append
    names = bins if kind == "all" else [op.name for op in entry.ops]
    for n in names:
        b = bins.get(n)
        if b is None:
            continue
        pt, v = b
        p = prefixes.get((n, pt, len(v)))
        append(p if p is not None else _op_prefix(n, pt, len(v)))
        append(v)
    parts[0] = _MSG.pack(22, 0, 0, 0, 0, 0, rec.generation, rec.void_time, index, 0, len(parts) // 2)
    return b"".join(parts)


def run_entry(server: Any, digest: bytes, entry: Entry) -> bytes:
    """Answer one entry as a single-record command; return its reply frame."""
    fields = dict(entry.fields)
    fields[W.FIELD_DIGEST] = digest
    if W.FIELD_UDF_PACKAGE_NAME in fields:
        handler = MESSAGE_HANDLERS.get("udf")
        if handler is None:
            raise ResultError(E.UNSUPPORTED_FEATURE, "UDF not supported")
        h = entry.header._replace(n_ops=0)
        return next(iter(handler(server, h, fields, 0, memoryview(b""))))
    return execute_record(server, entry.header, fields, entry.ops, in_batch=True)


def fail_records(server: Any, digests: Any, code: int, times: int) -> None:
    """Test hook: the next ``times`` batch entries for each of ``digests`` answer ``code`` without
    running (e.g. 14, key busy). Call it on the server's loop (``EmbeddedServer.call``)."""
    faults = server.__dict__.setdefault("batch_record_faults", {})
    for d in digests:
        if times > 0:
            faults[bytes(d)] = [code, times]
        else:
            faults.pop(bytes(d), None)


def _injected(faults: dict[bytes, list[int]], digest: bytes) -> int:
    """The injected result code of this entry (0: none), counting the fault down."""
    f = faults.get(digest)
    if f is None:
        return 0
    f[1] -= 1
    if f[1] <= 0:
        del faults[digest]
    return f[0]


def handle_batch(server: Any, h: Any, fields: dict[int, bytes], offset: int, body: memoryview) -> list[bytes]:
    """Answer a batch request: per-entry messages in request order, then the LAST message."""
    data = fields.get(W.FIELD_BATCH_INDEX) or fields.get(W.FIELD_BATCH_INDEX_WITH_SET)
    batch_fields = {}
    if W.FIELD_FILTER_EXP in fields:
        batch_fields[W.FIELD_FILTER_EXP] = fields[W.FIELD_FILTER_EXP]
    try:
        flags, entries = parse_entries(data or b"", batch_fields)
    except (ResultError, struct.error, IndexError, ValueError) as e:
        code = e.code if isinstance(e, ResultError) else E.PARAMETER
        return [reply(code, info3=W.INFO3_LAST)]
    respond_all = bool(flags & 0x04)
    frames: list[bytes] = []
    chunk: list[bytes] = []
    size = 0
    final = E.OK
    fast_entry: Entry | None = None
    kind = ns = None
    faults = server.__dict__.get("batch_record_faults")
    sec = server.security
    conn = server.current_conn
    for index, digest, entry in entries:
        if entry is not fast_entry:
            fast_entry = entry
            kind = read_kind(entry)
            ns_name = entry.fields.get(W.FIELD_NAMESPACE)
            ns = server.namespaces.get(ns_name.decode()) if ns_name is not None else None
            if ns is None:
                kind = None
        injected = _injected(faults, digest) if faults else 0
        refused = sec.check_entry(conn, entry.header.info2, entry.fields) if sec is not None else 0
        if refused:
            msg = _error_message(refused, index)
        elif injected:
            msg = _error_message(injected, index)
        elif kind is not None:
            msg = fast_read(server, ns, digest, kind, entry, index)
        else:
            try:
                msg = _with_index(run_entry(server, digest, entry), index)
            except ResultError as e:
                msg = _error_message(e.code, index)
        chunk.append(msg)
        size += len(msg)
        if size >= _FRAME_LIMIT:
            frames.append(PROTO_HEADER.pack(_PROTO_MSG | size) + b"".join(chunk))
            chunk, size = [], 0
        rc = msg[5]
        if not respond_all and rc not in _SOFT_ERRORS and not entry.header.info2 & _WRITES:
            # (as on the real server, a failed write entry does not end the batch)
            final = rc
            break
    if chunk:
        frames.append(PROTO_HEADER.pack(_PROTO_MSG | size) + b"".join(chunk))
    frames.append(reply(final, info3=W.INFO3_LAST))
    return frames

