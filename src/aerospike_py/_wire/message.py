"""Aerospike messages (proto type 3): the 22-byte header, fields and operations.

Requests are built as a list of byte strings joined once; replies are parsed from a buffer with
precompiled ``struct`` formats. Nothing here touches a socket.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

from .constants import (
    FIELD_DIGEST,
    FIELD_KEY,
    FIELD_NAMESPACE,
    FIELD_SET,
    MSG_HEADER_SIZE,
    PROTO_TYPE_MESSAGE,
    PROTO_VERSION,
)
from .memo import Memo
from .values import decode_particle, unpack_cdt

# proto header (8) + message header (22), packed in one go.
REQUEST_HEADER = struct.Struct(">QBBBBBBIIIHH")
MSG_HEADER = struct.Struct(">BBBBBBIIIHH")
FIELD_HEADER = struct.Struct(">IB")
OP_HEADER = struct.Struct(">IBBBB")
_U32 = struct.Struct(">I")
_PROTO_MSG = (PROTO_VERSION << 56) | (PROTO_TYPE_MESSAGE << 48)

_pack_request_header = REQUEST_HEADER.pack
_pack_field_header = FIELD_HEADER.pack
_pack_op_header = OP_HEADER.pack
_unpack_msg_header = MSG_HEADER.unpack_from
_unpack_op_header = OP_HEADER.unpack_from
_unpack_u32 = _U32.unpack_from
_unpack_int64 = struct.Struct(">q").unpack_from
_unpack_double = struct.Struct(">d").unpack_from


def pack_field(ftype: int, data: bytes) -> bytes:
    """One field: size (type byte + data), type, data."""
    return _pack_field_header(len(data) + 1, ftype) + data


def pack_op(op: int, name: bytes, ptype: int = 0, value: bytes = b"") -> bytes:
    """One operation: size, op type, particle type, 0, name length, name, value."""
    return _pack_op_header(4 + len(name) + len(value), op, ptype, 0, len(name)) + name + value


def key_fields(namespace: bytes, set_name: bytes, digest: bytes, key_field: bytes | None) -> list[bytes]:
    """Namespace, set, digest and (when sent) user key fields, in the order real clients send them."""
    out = [_pack_field_header(len(namespace) + 1, FIELD_NAMESPACE) + namespace]
    if set_name:
        out.append(_pack_field_header(len(set_name) + 1, FIELD_SET) + set_name)
    out.append(_pack_field_header(21, FIELD_DIGEST) + digest)
    if key_field is not None:
        out.append(key_field)
    return out


def pack_key_field(ptype: int, key_bytes: bytes) -> bytes:
    """The user-key field: particle type byte, then the key bytes."""
    return _pack_field_header(len(key_bytes) + 2, FIELD_KEY) + bytes((ptype,)) + key_bytes


def pack_message(
    info1: int,
    info2: int,
    info3: int,
    info4: int,
    generation: int,
    record_ttl: int,
    timeout: int,
    fields: list[bytes],
    ops: list[bytes],
    result_code: int = 0,
) -> bytes:
    """A whole type-3 frame: proto header, message header, fields, ops."""
    size = MSG_HEADER_SIZE
    for f in fields:
        size += len(f)
    for o in ops:
        size += len(o)
    head = _pack_request_header(
        _PROTO_MSG | size,
        MSG_HEADER_SIZE,
        info1,
        info2,
        info3,
        info4,
        result_code,
        generation,
        record_ttl,
        timeout,
        len(fields),
        len(ops),
    )
    return b"".join((head, *fields, *ops))


def pack_message_raw(
    info1: int, info2: int, info3: int, generation: int, record_ttl: int, timeout: int,
    n_fields: int, fields: bytes, n_ops: int, ops: bytes,
) -> bytes:
    """A type-3 frame from already concatenated fields and ops (the hot path)."""
    return _pack_request_header(
        _PROTO_MSG | (MSG_HEADER_SIZE + len(fields) + len(ops)), MSG_HEADER_SIZE, info1, info2, info3, 0, 0,
        generation, record_ttl, timeout, n_fields, n_ops,
    ) + fields + ops


class MessageHeader(NamedTuple):
    info1: int
    info2: int
    info3: int
    info4: int
    result_code: int
    generation: int
    record_ttl: int
    transaction_ttl: int
    n_fields: int
    n_ops: int


def parse_header(buf: bytes | memoryview, offset: int = 0) -> MessageHeader:
    """The 22-byte header at ``offset`` (size byte checked)."""
    h = _unpack_msg_header(buf, offset)
    if h[0] != MSG_HEADER_SIZE:
        raise ValueError(f"bad message header size {h[0]}")
    return MessageHeader(*h[1:])


def parse_fields(buf: bytes | memoryview, offset: int, n_fields: int) -> tuple[dict[int, bytes], int]:
    """Fields as ``{type: data}``; returns the dict and the offset after them."""
    fields: dict[int, bytes] = {}
    for _ in range(n_fields):
        (size,) = _unpack_u32(buf, offset)
        ftype = buf[offset + 4]
        fields[ftype] = bytes(buf[offset + 5 : offset + 4 + size])
        offset += 4 + size
    return fields, offset


def skip_fields(buf: bytes | memoryview, offset: int, n_fields: int) -> int:
    """Offset after ``n_fields`` fields."""
    for _ in range(n_fields):
        offset += 4 + _unpack_u32(buf, offset)[0]
    return offset


def parse_ops(buf: bytes | memoryview, offset: int, n_ops: int) -> tuple[list[tuple[str, Any]], int]:
    """Operations as ``[(bin_name, value)]`` in wire order; returns the list and the offset after."""
    out = []
    for _ in range(n_ops):
        size, _op, ptype, _v, nlen = _unpack_op_header(buf, offset)
        start = offset + 8
        vstart = start + nlen
        end = offset + 4 + size
        out.append((bytes(buf[start:vstart]).decode(), decode_particle(ptype, buf[vstart:end])))
        offset = end
    return out, offset


#: Bin names as sent (UTF-8) -> str: names repeat across replies, and a hit costs one subscript (no
#: decode, and the str's hash is cached for the bins dict). A name that is no UTF-8 raises (a
#: malformed reply).
_BIN_NAMES: Memo[bytes, str] = Memo(bytes.decode, max_len=255)
#: By name length: an op header's (size, particle type, name) in one call.
_OP_HEADS = tuple(struct.Struct(f">IxBxx{n}s").unpack_from for n in range(256))


def parse_bins(buf: bytes | memoryview, offset: int, n_ops: int) -> tuple[dict[str, Any], int]:
    """Operations as a bins dict (a later value for the same bin replaces an earlier one)."""
    if type(buf) is not bytes:
        buf = bytes(buf)
    bins: dict[str, Any] = {}
    names = _BIN_NAMES
    heads = _OP_HEADS
    for _ in range(n_ops):
        size, ptype, name = heads[buf[offset + 7]](buf, offset)
        vstart = offset + 8 + len(name)
        offset += 4 + size
        if ptype == 3:
            bins[names[name]] = buf[vstart:offset].decode()
        elif ptype == 1 and offset - vstart == 8:
            bins[names[name]] = _unpack_int64(buf, vstart)[0]
        elif ptype == 4:
            bins[names[name]] = buf[vstart:offset]
        elif ptype == 19 or ptype == 20:
            bins[names[name]] = unpack_cdt(buf[vstart:offset])
        elif ptype == 2 and offset - vstart == 8:
            bins[names[name]] = _unpack_double(buf, vstart)[0]
        else:
            bins[names[name]] = decode_particle(ptype, buf[vstart:offset])
    return bins, offset


class WireOp(NamedTuple):
    """An operation as it travels: op type, bin name, particle type, raw value bytes."""

    op: int
    name: str
    ptype: int
    value: bytes


def parse_wire_ops(buf: bytes | memoryview, offset: int, n_ops: int) -> tuple[list[WireOp], int]:
    """Operations undecoded (for the server and for tests)."""
    out = []
    for _ in range(n_ops):
        size, op, ptype, _v, nlen = _unpack_op_header(buf, offset)
        start = offset + 8
        vstart = start + nlen
        end = offset + 4 + size
        out.append(WireOp(op, bytes(buf[start:vstart]).decode(), ptype, bytes(buf[vstart:end])))
        offset = end
    return out, offset


def field_key_value(data: bytes) -> Any:
    """The user key held in a key field (particle type byte + value)."""
    if not data:
        return None
    try:
        return decode_particle(data[0], data[1:])
    except UnicodeDecodeError:  # a bytes key sent with the string type
        return bytes(data[1:])
