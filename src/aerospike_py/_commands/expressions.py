"""Expression operations in ``operate``: ``exp_read`` (wire op 7) and ``exp_write`` (wire op 8).

The op value is a blob particle holding the msgpack array ``[expression, flags]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._wire import constants as W
from .._wire.message import pack_op
from ..exception import _InvalidArgType, _InvalidArgValue
from ..exp import _OP_EXP_READ, _OP_EXP_WRITE, _pack_expression
from .base import EncodedOp, OpEncoder
from .keys import check_bin_name


def _encoder(wire_op: int, valid_flags: int, is_write: bool) -> Callable[[dict[str, Any]], EncodedOp]:
    def enc(op: dict[str, Any]) -> EncodedOp:
        name = op.get("bin")
        if not isinstance(name, str):
            raise _InvalidArgType(f"expression operation needs a bin name (str), not {name!r}")
        b = check_bin_name(name)
        if "expr" not in op:
            raise _InvalidArgValue("expression operation needs 'expr'")
        flags = op.get("flags", 0)
        if isinstance(flags, bool) or not isinstance(flags, int) or flags & ~valid_flags or flags < 0:
            raise _InvalidArgValue(f"expression operation: invalid flags {flags!r}")
        body = _pack_expression(op["expr"])
        value = b"\x92" + body + bytes([flags])
        return EncodedOp(pack_op(wire_op, b, W.PT_BLOB, value), wire_op, name, is_write, not is_write,
                         respond_all=True)

    return enc


#: Encoders of the expression operations, by public op code.
ENCODERS: dict[int, OpEncoder] = {
    _OP_EXP_READ: _encoder(W.OP_EXP_READ, 16, False),
    _OP_EXP_WRITE: _encoder(W.OP_EXP_MODIFY, 1 | 2 | 4 | 8 | 16, True),
}
