"""Bitwise operations on blob bins (wire ops 12 read / 13 modify), with the real server's rules.

The payload is msgpack ``[op_code, args...]``. Offsets are in bits (bytes for insert/remove),
negative offsets count from the end of the blob. Fields are handled as Python integers taken
from the big-endian blob, so every bit position is numbered from the most significant bit.
"""

from __future__ import annotations

import struct
from typing import Any

import msgpack

from .._wire import constants as W
from .._wire.message import WireOp
from .context import OpContext
from .errors import BIN_EXISTS, BIN_NOT_FOUND, INCOMPATIBLE_TYPE, OP_NOT_APPLICABLE, PARAMETER, ResultError

PROTO_SIZE_MAX = 128 * 1024 * 1024
F_CREATE_ONLY, F_UPDATE_ONLY, F_NO_FAIL, F_PARTIAL = 1, 2, 4, 8
SIGNED, SATURATE, WRAP = 1, 2, 4
FROM_FRONT, GROW_ONLY, SHRINK_ONLY = 1, 2, 4

RESIZE, INSERT, REMOVE, SET, OR, XOR, AND, NOT, LSHIFT, RSHIFT, ADD, SUBTRACT, SET_INT = range(13)
GET, COUNT, LSCAN, RSCAN, GET_INT = 50, 51, 52, 53, 54

_UPD = F_UPDATE_ONLY | F_NO_FAIL
_MODIFY_FLAGS = {
    RESIZE: F_CREATE_ONLY | _UPD, INSERT: F_CREATE_ONLY | _UPD, REMOVE: _UPD | F_PARTIAL,
    SET: _UPD | F_PARTIAL, OR: _UPD | F_PARTIAL, XOR: _UPD | F_PARTIAL, AND: _UPD | F_PARTIAL,
    NOT: _UPD | F_PARTIAL, LSHIFT: _UPD | F_PARTIAL, RSHIFT: _UPD | F_PARTIAL,
    ADD: _UPD, SUBTRACT: _UPD, SET_INT: _UPD,
}
# (min args, max args, argument kinds) after the op code.
_SIGS: dict[int, tuple[int, int, tuple[str, ...]]] = {
    RESIZE: (1, 3, ("bsize0", "flags", "resize")),
    INSERT: (2, 3, ("boff", "buf", "flags")),
    REMOVE: (2, 3, ("boff", "bsize", "flags")),
    SET: (3, 4, ("off", "size", "buf", "flags")),
    OR: (3, 4, ("off", "size", "buf", "flags")),
    XOR: (3, 4, ("off", "size", "buf", "flags")),
    AND: (3, 4, ("off", "size", "buf", "flags")),
    NOT: (2, 3, ("off", "size", "flags")),
    LSHIFT: (3, 4, ("off", "size", "shift", "flags")),
    RSHIFT: (3, 4, ("off", "size", "shift", "flags")),
    ADD: (3, 5, ("off", "isize", "int", "flags", "arith")),
    SUBTRACT: (3, 5, ("off", "isize", "int", "flags", "arith")),
    SET_INT: (3, 4, ("off", "isize", "int", "flags")),
    GET: (2, 2, ("off", "size")),
    COUNT: (2, 2, ("off", "size")),
    LSCAN: (3, 3, ("off", "size", "bool")),
    RSCAN: (3, 3, ("off", "size", "bool")),
    GET_INT: (2, 3, ("off", "isize", "getint")),
}


class _Op:
    __slots__ = ("code", "offset", "size", "value", "buf", "flags", "sub")

    def __init__(self, code: int) -> None:
        self.code = code
        self.offset = 0
        self.size = 0
        self.value = 0
        self.buf = b""
        self.flags = 0
        self.sub = 0


def _uint(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ResultError(PARAMETER)
    return v & 0xFFFFFFFFFFFFFFFF


def _parse(data: bytes, read: bool) -> _Op:
    try:
        args = msgpack.unpackb(data, raw=True, strict_map_key=False)
    except Exception:
        raise ResultError(PARAMETER) from None
    return _parse_args(args, read)


def _parse_args(args: Any, read: bool) -> _Op:
    if not isinstance(args, list) or not args or isinstance(args[0], bool) or not isinstance(args[0], int):
        raise ResultError(PARAMETER)
    code = args[0]
    if (code >= 50) != read or code not in _SIGS:
        raise ResultError(PARAMETER)
    lo, hi, kinds = _SIGS[code]
    rest = args[1:]
    if not lo <= len(rest) <= hi:
        raise ResultError(PARAMETER)
    op = _Op(code)
    for kind, v in zip(kinds, rest, strict=False):
        _parse_arg(op, kind, v)
    return op


def _parse_arg(op: _Op, kind: str, v: Any) -> None:  # noqa: C901 - one branch per argument kind
    if kind in ("off", "boff"):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ResultError(PARAMETER)
        limit = PROTO_SIZE_MAX * (8 if kind == "off" else 1)
        if abs(v) > limit:
            raise ResultError(PARAMETER)
        op.offset = v * (8 if kind == "boff" else 1)
    elif kind in ("size", "bsize", "bsize0", "isize"):
        n = _uint(v)
        if n == 0 and kind != "bsize0":
            raise ResultError(PARAMETER)
        if kind == "isize" and n > 64:
            raise ResultError(PARAMETER)
        if n > PROTO_SIZE_MAX * (8 if kind == "size" else 1):
            raise ResultError(PARAMETER)
        op.size = n * (8 if kind in ("bsize", "bsize0") else 1)
    elif kind == "buf":
        if not isinstance(v, bytes) or len(v) <= 1:
            raise ResultError(PARAMETER)
        op.buf = v[1:]
        if op.size:
            if len(op.buf) * 8 < op.size:
                raise ResultError(PARAMETER)
        else:
            op.size = len(op.buf) * 8
    elif kind == "flags":
        op.flags = _uint(v)
        if op.flags & ~_MODIFY_FLAGS[op.code] or (op.flags & F_CREATE_ONLY and op.flags & F_UPDATE_ONLY):
            raise ResultError(PARAMETER)
    elif kind == "shift":
        op.value = _uint(v)
        if op.value > PROTO_SIZE_MAX * 8:
            raise ResultError(PARAMETER)
    elif kind == "int":
        op.value = _uint(v)
    elif kind == "bool":
        if not isinstance(v, bool):
            raise ResultError(PARAMETER)
        op.value = int(v)
    elif kind == "resize":
        op.sub = _uint(v)
        if op.sub & ~7 or (op.sub & GROW_ONLY and op.sub & SHRINK_ONLY):
            raise ResultError(PARAMETER)
    elif kind == "arith":
        op.sub = _uint(v)
        if op.sub & ~7 or (op.sub & SATURATE and op.sub & WRAP):
            raise ResultError(PARAMETER)
    elif kind == "getint":
        op.sub = _uint(v)
        if op.sub & ~SIGNED:
            raise ResultError(PARAMETER)


def _normalize(op: _Op, old_size: int, exists: bool) -> None:
    if op.offset < 0:
        if not exists or -op.offset > old_size * 8:
            raise ResultError(PARAMETER)
        op.offset += old_size * 8


class _Skip(Exception):
    """NO_FAIL: leave the bin as it is."""


def _fail(op: _Op, code: int) -> None:
    if op.flags & F_NO_FAIL:
        raise _Skip
    raise ResultError(code)


def _check_span(op: _Op, old_size: int, partial_ok: bool, past_code: int) -> None:
    """Range rules for ops that overwrite (or read) existing bits."""
    byte_offset = op.offset // 8
    end = (op.offset + op.size + 7) // 8
    if byte_offset >= old_size:
        _fail(op, OP_NOT_APPLICABLE)
    if end > old_size:
        if not (partial_ok and op.flags & F_PARTIAL):
            _fail(op, past_code)
        op.size = old_size * 8 - op.offset


def _field(blob: bytes, off: int, size: int) -> int:
    first, last = off // 8, (off + size + 7) // 8
    chunk = int.from_bytes(blob[first:last], "big")
    return (chunk >> ((last * 8) - off - size)) & ((1 << size) - 1)


def _put(blob: bytes, off: int, size: int, value: int) -> bytes:
    first, last = off // 8, (off + size + 7) // 8
    chunk = int.from_bytes(blob[first:last], "big")
    shift = last * 8 - off - size
    mask = ((1 << size) - 1) << shift
    chunk = (chunk & ~mask) | ((value << shift) & mask)
    return blob[:first] + chunk.to_bytes(last - first, "big") + blob[last:]


def _lead(buf: bytes, size: int) -> int:
    return int.from_bytes(buf, "big") >> (len(buf) * 8 - size)


def _sx(v: int, n: int) -> int:
    return v - (1 << n) if v >> (n - 1) & 1 else v


def _arith(op: _Op, load: int) -> int:
    n = op.size
    m = (1 << n) - 1
    value = op.value & m
    if op.code == ADD:
        result = (load + value) & m
        signed_value = value
    else:
        result = (load - value) & m
        signed_value = (-op.value) & m  # the server negates the full 64-bit operand
    if op.sub & WRAP:
        return result
    if op.sub & SIGNED:
        sr, sl, sv = _sx(result, n), _sx(load, n), _sx(signed_value & m, n)
        if sl < 0 and sv < 0 and sr > 0:
            if not op.sub & SATURATE:
                raise ResultError(OP_NOT_APPLICABLE)
            return 1 << (n - 1)
        if sl > 0 and sv > 0 and sr < 0:
            if not op.sub & SATURATE:
                raise ResultError(OP_NOT_APPLICABLE)
            return m >> 1
        return result
    if (op.code == ADD and result < load) or (op.code == SUBTRACT and result > load):
        if not op.sub & SATURATE:
            raise ResultError(OP_NOT_APPLICABLE)
        return m if op.code == ADD else 0
    return result


def _modify(op: _Op, old: bytes | None) -> bytes:  # noqa: C901 - one branch per op
    exists = old is not None
    blob = old or b""
    size = len(blob)
    _normalize(op, size, exists)
    code = op.code
    if code == RESIZE:
        new = op.size // 8
        if new < size:
            if op.sub & GROW_ONLY:
                _fail(op, PARAMETER)
            return blob[size - new :] if op.sub & FROM_FRONT else blob[:new]
        if new > size:
            if op.sub & SHRINK_ONLY:
                _fail(op, PARAMETER)
            pad = bytes(new - size)
            return pad + blob if op.sub & FROM_FRONT else blob + pad
        raise _Skip
    if code == INSERT:
        at = op.offset // 8
        if at >= size:
            return blob + bytes(at - size) + op.buf
        return blob[:at] + op.buf + blob[at:]
    if code == REMOVE:
        at = op.offset // 8
        if at >= size:
            _fail(op, PARAMETER)
        n = op.size // 8
        if at + n > size:
            if not op.flags & F_PARTIAL:
                _fail(op, PARAMETER)
            n = size - at
        return blob[:at] + blob[at + n :]
    if code in (ADD, SUBTRACT, SET_INT):
        _check_span(op, size, False, OP_NOT_APPLICABLE)
        if code == SET_INT:
            return _put(blob, op.offset, op.size, op.value & ((1 << op.size) - 1))
        try:
            result = _arith(op, _field(blob, op.offset, op.size))
        except ResultError:
            _fail(op, OP_NOT_APPLICABLE)
        return _put(blob, op.offset, op.size, result)
    _check_span(op, size, True, OP_NOT_APPLICABLE)
    off, n = op.offset, op.size
    cur = _field(blob, off, n)
    mask = (1 << n) - 1
    if code == SET:
        v = _lead(op.buf, n)
    elif code == OR:
        v = cur | _lead(op.buf, n)
    elif code == XOR:
        v = cur ^ _lead(op.buf, n)
    elif code == AND:
        v = cur & _lead(op.buf, n)
    elif code == NOT:
        v = cur ^ mask
    elif code == LSHIFT:
        v = 0 if op.value >= n else (cur << op.value) & mask
    else:
        v = 0 if op.value >= n else cur >> op.value
    return _put(blob, off, n, v)


def _read(op: _Op, blob: bytes) -> tuple[int, bytes]:
    _normalize(op, len(blob), True)
    _check_span(op, len(blob), False, OP_NOT_APPLICABLE)
    off, n = op.offset, op.size
    v = _field(blob, off, n)
    code = op.code
    if code == GET:
        nbytes = (n + 7) // 8
        return W.PT_BLOB, (v << (nbytes * 8 - n)).to_bytes(nbytes, "big")
    if code == COUNT:
        answer = bin(v).count("1")
    elif code == LSCAN:
        target = v if op.value else v ^ ((1 << n) - 1)
        answer = n - target.bit_length() if target else -1
    elif code == RSCAN:
        # As the real server (particle_blob.c bits_read_op_rscan): the scan runs from the range's
        # last bit back to the start of its first byte, not of the range, so a match in that byte
        # before the range answers a negative position (down to -7).
        head = off % 8
        v = _field(blob, off - head, n + head)
        target = v if op.value else v ^ ((1 << (n + head)) - 1)
        answer = n - 1 - ((target & -target).bit_length() - 1) if target else -1
    else:
        answer = _sx(v, n) if op.sub & SIGNED else v
        if answer >= 1 << 63:
            answer -= 1 << 64
    return W.PT_INTEGER, struct.pack(">q", answer)


def read_result(args: list[Any], blob: bytes) -> tuple[int, bytes]:
    """The result particle of bit read op ``args`` (``[code, ...]``, msgpack-decoded) on ``blob``.

    Shared by the read-op handler and the expression evaluator (CALL of the bit module).
    """
    return _read(_parse_args(args, True), blob)


def bits_modify(ctx: OpContext, op: WireOp) -> None:
    if op.ptype != W.PT_BLOB:
        raise ResultError(INCOMPATIBLE_TYPE)
    parsed = _parse(op.value, False)
    cur = ctx.bins.get(op.name)
    if cur is not None:
        if parsed.flags & F_CREATE_ONLY:
            if parsed.flags & F_NO_FAIL:
                return None
            raise ResultError(BIN_EXISTS)
        if cur[0] != W.PT_BLOB:
            raise ResultError(INCOMPATIBLE_TYPE)
    elif parsed.code not in (INSERT, RESIZE) or parsed.flags & F_UPDATE_ONLY:
        if parsed.flags & F_NO_FAIL:
            return None
        raise ResultError(BIN_NOT_FOUND)
    try:
        new = _modify(parsed, cur[1] if cur is not None else None)
    except _Skip:
        return None
    if len(new) >= PROTO_SIZE_MAX:
        raise ResultError(PARAMETER)
    ctx.bins[op.name] = (W.PT_BLOB, new)
    return None


def bits_read(ctx: OpContext, op: WireOp) -> tuple[int, bytes] | None:
    if op.ptype != W.PT_BLOB:
        raise ResultError(INCOMPATIBLE_TYPE)
    try:
        args = msgpack.unpackb(op.value, raw=True, strict_map_key=False)
    except Exception:
        raise ResultError(PARAMETER) from None
    cur = ctx.bins.get(op.name)
    if cur is None:  # the real server answers nil before it checks the arguments
        return None
    parsed = _parse_args(args, True)
    if cur[0] != W.PT_BLOB:
        raise ResultError(INCOMPATIBLE_TYPE)
    return _read(parsed, cur[1])

