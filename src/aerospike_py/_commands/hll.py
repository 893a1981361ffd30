"""HyperLogLog operations in ``operate``: op dicts 3001-3010 -> wire ops 15 (read) / 16 (modify).

The op value is a blob particle holding the msgpack array ``[server_op, args...]``; HLL operands
travel as msgpack strings whose first byte is the HLL particle type (18), as real clients send them.
Unset bit counts are sent as -1 (keep the existing ones / the server's default).
"""

from __future__ import annotations

from typing import Any

import msgpack

from .._wire import constants as W
from .._wire.message import pack_op
from .._wire.values import ValueTypeError, pack_cdt
from ..exception import _invalid_arg, _InvalidArgType, _InvalidArgValue, _warn_unknown_field
from .base import EncodedOp, OpEncoder
from .keys import check_bin_name

_packer = msgpack.Packer(use_bin_type=False, autoreset=True)
_HLL_FLAGS = 0xF  # HLL_WRITE_CREATE_ONLY | UPDATE_ONLY | NO_FAIL | ALLOW_FOLD


def _bits(op: dict[str, Any], key: str, lo: int, hi: int, zero_ok: bool, required: bool) -> int:
    v = op.get(key)
    if v is None and not required:
        return -1
    if isinstance(v, bool) or not isinstance(v, int) or not (lo <= v <= hi or (zero_ok and v == 0)):
        raise _invalid_arg(f"hll operation {op.get('op')}: {key} must be an int in {lo}-{hi}, not {v!r}", v)
    return v


def _index(op: dict[str, Any], required: bool = False) -> int:
    return _bits(op, "index_bit_count", 4, 16, False, required)


def _minhash(op: dict[str, Any]) -> int:
    return _bits(op, "minhash_bit_count", 4, 51, True, False)


def _policy(op: dict[str, Any]) -> int:
    p = op.get("hll_policy")
    if p is None:
        return 0
    if not isinstance(p, dict):
        raise _InvalidArgType(f"hll policy must be a dict, not {type(p).__name__}")
    for k in p:
        if k not in ("flags", "write_flags"):
            _warn_unknown_field("hll policy", k)
    f = p.get("flags", p.get("write_flags", 0))
    if isinstance(f, bool) or not isinstance(f, int) or f < 0 or f & ~_HLL_FLAGS:
        raise _InvalidArgValue(f"hll policy: invalid flags {f!r}")
    return f


def _values(op: dict[str, Any]) -> bytes:
    v = op.get("val")
    if not isinstance(v, (list, tuple)) or not v:
        raise _InvalidArgValue(f"hll_add needs a non-empty list of values, not {v!r:.60}")
    for x in v:
        if isinstance(x, (list, tuple, dict)):
            raise _InvalidArgValue("hll_add values may not be lists or maps")
    try:
        return pack_cdt(list(v))
    except (ValueTypeError, OverflowError, ValueError) as e:
        raise _InvalidArgValue(f"hll_add: {e}") from None


def _hlls(op: dict[str, Any]) -> bytes:
    v = op.get("val")
    if not isinstance(v, (list, tuple)) or not v:
        raise _InvalidArgValue(f"hll operation {op.get('op')} needs a non-empty list of HLL values")
    parts = [_packer.pack_array_header(len(v))]
    for h in v:
        if not isinstance(h, (bytes, bytearray)) or len(h) < 12:
            raise _InvalidArgValue(f"hll operation {op.get('op')}: {h!r:.40} is not an HLL value")
        parts.append(_packer.pack(b"\x12" + bytes(h)))
    return b"".join(parts)


def _arr(*items: bytes) -> bytes:
    return _packer.pack_array_header(len(items)) + b"".join(items)


def _p(v: Any) -> bytes:
    return _packer.pack(v)


def _init(op: dict[str, Any]) -> bytes:
    return _arr(_p(0), _p(_index(op, True)), _p(_minhash(op)), _p(_policy(op)))


def _add(op: dict[str, Any]) -> bytes:
    return _arr(_p(1), _values(op), _p(_index(op)), _p(_minhash(op)), _p(_policy(op)))


def _set_union(op: dict[str, Any]) -> bytes:
    return _arr(_p(2), _hlls(op), _p(_policy(op)))


def _fold(op: dict[str, Any]) -> bytes:
    return _arr(_p(4), _p(_index(op, True)))


def _read(server_op: int, with_hlls: bool) -> Any:
    def build(op: dict[str, Any]) -> bytes:
        return _arr(_p(server_op), _hlls(op)) if with_hlls else _arr(_p(server_op))

    return build


# public code -> (payload builder, is_write, has_result)
_OPS: dict[int, tuple[Any, bool, bool]] = {
    3001: (_init, True, False),
    3002: (_add, True, True),
    3003: (_read(50, False), False, True),
    3004: (_read(51, True), False, True),
    3005: (_read(52, True), False, True),
    3006: (_read(53, True), False, True),
    3007: (_read(54, True), False, True),
    3008: (_read(55, False), False, True),
    3009: (_fold, True, False),
    3010: (_set_union, True, False),
}


def _encoder(code: int) -> Any:
    build, is_write, has_result = _OPS[code]
    wire_op = W.OP_HLL_MODIFY if is_write else W.OP_HLL_READ

    def enc(op: dict[str, Any]) -> EncodedOp:
        name = op.get("bin")
        if not isinstance(name, str):
            raise _InvalidArgType(f"hll operation {code} needs a bin name (str), not {name!r}")
        b = check_bin_name(name)
        return EncodedOp(pack_op(wire_op, b, W.PT_BLOB, build(op)), wire_op, name, is_write, has_result,
                         respond_all=True)

    return enc


#: Encoders of the HLL operations, by public op code.
ENCODERS: dict[int, OpEncoder] = {code: _encoder(code) for code in _OPS}
