"""Bit operations in ``operate``: op dicts 4001-4013 (modify) / 4050-4054 (read) -> wire ops 13/12.

The op value is a blob particle holding the msgpack array ``[server_op, args...]`` exactly as the
official clients build it (policy flags always sent; get_int sends its signed flag only when set).
"""

from __future__ import annotations

from typing import Any

from .._wire import constants as W
from .._wire.message import pack_op
from .._wire.values import pack_cdt
from ..exception import _InvalidArgType, _InvalidArgValue
from .base import EncodedOp, OpEncoder
from .keys import check_bin_name

# public op code -> (server op code, argument layout)
_LAYOUT: dict[int, tuple[int, tuple[str, ...]]] = {
    4001: (0, ("byte_size", "bit_policy", "resize_flags")),
    4002: (1, ("byte_offset", "val:bytes", "bit_policy")),
    4003: (2, ("byte_offset", "byte_size", "bit_policy")),
    4004: (3, ("bit_offset", "bit_size", "val:bytes", "bit_policy")),
    4005: (4, ("bit_offset", "bit_size", "val:bytes", "bit_policy")),
    4006: (5, ("bit_offset", "bit_size", "val:bytes", "bit_policy")),
    4007: (6, ("bit_offset", "bit_size", "val:bytes", "bit_policy")),
    4008: (7, ("bit_offset", "bit_size", "bit_policy")),
    4009: (8, ("bit_offset", "bit_size", "shift", "bit_policy")),
    4010: (9, ("bit_offset", "bit_size", "shift", "bit_policy")),
    4011: (10, ("bit_offset", "bit_size", "val:int", "bit_policy", "int_flags")),
    4012: (11, ("bit_offset", "bit_size", "val:int", "bit_policy", "int_flags")),
    4013: (12, ("bit_offset", "bit_size", "val:int", "bit_policy")),
    4050: (50, ("bit_offset", "bit_size")),
    4051: (51, ("bit_offset", "bit_size")),
    4052: (52, ("bit_offset", "bit_size", "val:bool")),
    4053: (53, ("bit_offset", "bit_size", "val:bool")),
    4054: (54, ("bit_offset", "bit_size", "get_int_flags")),
}
_OVERFLOW_ACTIONS = (0, 2, 4)  # BIT_OVERFLOW_FAIL / SATURATE / WRAP


def _int(op: dict[str, Any], key: str, lo: int, hi: int) -> int:
    v = op.get(key)
    if isinstance(v, bool) or not isinstance(v, int):
        raise _InvalidArgType(f"bit operation {op.get('op')}: {key!r} must be an int, not {type(v).__name__}")
    if not lo <= v <= hi:
        raise _InvalidArgValue(f"bit operation {op.get('op')}: {key!r} out of range: {v}")
    return v


def _flags(op: dict[str, Any], key: str, valid: int) -> int:
    v = op.get(key)
    if v is None:
        return 0
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v & ~valid:
        raise _InvalidArgValue(f"bit operation {op.get('op')}: invalid {key} {v!r}")
    return v


_MAX = (1 << 31) - 1


def _arg(op: dict[str, Any], kind: str, args: list[Any]) -> None:
    if kind in ("byte_offset", "bit_offset"):
        args.append(_int(op, kind, -_MAX, _MAX))
    elif kind in ("byte_size", "bit_size", "shift"):
        args.append(_int(op, kind, 0, _MAX))
    elif kind == "bit_policy":
        args.append(_flags(op, "bit_policy", 0xF))
    elif kind == "resize_flags":
        args.append(_flags(op, "resize_flags", 0x7))
    elif kind == "val:bytes":
        v = op.get("val")
        if not isinstance(v, (bytes, bytearray)) or not v:
            raise _InvalidArgValue(f"bit operation {op.get('op')}: 'val' must be non-empty bytes")
        args.append(bytes(v))
    elif kind == "val:int":
        args.append(_int(op, "val", -(1 << 63), (1 << 64) - 1))
    elif kind == "val:bool":
        v = op.get("val")
        if not isinstance(v, bool):
            raise _InvalidArgType(f"bit scan {op.get('op')}: 'val' must be a bool, not {type(v).__name__}")
        args.append(v)
    elif kind == "int_flags":
        action = op.get("action", 0)
        if action not in _OVERFLOW_ACTIONS or isinstance(action, bool):
            raise _InvalidArgValue(f"bit operation {op.get('op')}: invalid overflow action {action!r}")
        args.append(action | (1 if _signed(op) else 0))
    elif kind == "get_int_flags":
        if _signed(op):
            args.append(1)


def _signed(op: dict[str, Any]) -> bool:
    v = op.get("signed", False)
    if not isinstance(v, bool):
        raise _InvalidArgType(f"bit operation {op.get('op')}: 'signed' must be a bool")
    return v


def _encoder(code: int) -> Any:
    server_op, layout = _LAYOUT[code]
    is_read = server_op >= 50
    wire_op = W.OP_BIT_READ if is_read else W.OP_BIT_MODIFY

    def enc(op: dict[str, Any]) -> EncodedOp:
        name = op.get("bin")
        if not isinstance(name, str):
            raise _InvalidArgType(f"bit operation {code} needs a bin name (str), not {name!r}")
        b = check_bin_name(name)
        args: list[Any] = [server_op]
        for kind in layout:
            _arg(op, kind, args)
        return EncodedOp(pack_op(wire_op, b, W.PT_BLOB, pack_cdt(args)), wire_op, name, not is_read, is_read,
                         respond_all=True)

    return enc


#: Encoders of the bit operations, by public op code.
ENCODERS: dict[int, OpEncoder] = {code: _encoder(code) for code in _LAYOUT}
