"""Per-operation semantics of the embedded server, and the registry that extensions fill.

A handler gets the :class:`OpContext` (the record being built) and the wire op; it returns the
result particle ``(particle_type, bytes)`` or ``None`` (no result), or raises ``ResultError``.
Collection (CDT), bit, HLL and expression operations register here from their own modules.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from .._wire import constants as W
from .._wire.message import WireOp
from .errors import INCOMPATIBLE_TYPE, KEY_NOT_FOUND, PARAMETER, ResultError
from .geo import check_particle as check_geo
from .storage import StoredRecord, delete_bin

_INT64 = struct.Struct(">q")
_DOUBLE = struct.Struct(">d")


class OpContext:
    """The record an operate command works on, with the facts handlers may need."""

    __slots__ = ("record", "exists", "namespace", "clock", "deleted", "touched", "server", "flags", "created")

    def __init__(self, record: StoredRecord, exists: bool, namespace: Any, clock: Any, server: Any = None,
                 flags: int = 0) -> None:
        self.record: StoredRecord = record
        self.exists: bool = exists
        self.namespace: Any = namespace
        self.clock: Any = clock
        self.server: Any = server
        self.deleted: bool = False
        self.touched: bool = False
        self.flags: int = flags
        self.created: bool = not exists

    @property
    def bins(self) -> dict[str, tuple[int, bytes]]:
        return self.record.bins


#: What a handler returns for an op that puts no bin at all in the reply (not even a nil one).
NO_RESULT: tuple[int, bytes] = (-1, b"no result")  # compared by identity

OpHandler = Callable[[OpContext, WireOp], "tuple[int, bytes] | None"]
#: Handlers by wire op type (read ops and modify ops alike).
OP_HANDLERS: dict[int, OpHandler] = {}
#: Wire op types that only read.
READ_OPS: set[int] = {W.OP_READ, W.OP_CDT_READ, W.OP_BIT_READ, W.OP_HLL_READ, W.OP_EXP_READ}


def _op_read(ctx: OpContext, op: WireOp) -> tuple[int, bytes] | None:
    return ctx.record.bins.get(op.name)


def op_write(ctx: OpContext, op: WireOp) -> None:
    if op.ptype == W.PT_NULL:
        delete_bin(ctx.record.bins, op.name)
    else:
        if op.ptype == W.PT_GEOJSON:
            check_geo(op.value)
        ctx.record.bins[op.name] = (op.ptype, op.value)
    return None


def _op_incr(ctx: OpContext, op: WireOp) -> None:
    bins = ctx.record.bins
    cur = bins.get(op.name)
    if op.ptype == W.PT_INTEGER:
        if len(op.value) != 8:
            raise ResultError(PARAMETER)
        add = _INT64.unpack(op.value)[0]
        if cur is None:
            bins[op.name] = (W.PT_INTEGER, op.value)
        elif cur[0] == W.PT_INTEGER:
            v = (_INT64.unpack(cur[1])[0] + add + (1 << 63)) % (1 << 64) - (1 << 63)
            bins[op.name] = (W.PT_INTEGER, _INT64.pack(v))
        else:
            raise ResultError(INCOMPATIBLE_TYPE)
    elif op.ptype == W.PT_FLOAT:
        add = _DOUBLE.unpack(op.value)[0]
        if cur is None:
            bins[op.name] = (W.PT_FLOAT, op.value)
        elif cur[0] == W.PT_FLOAT:
            bins[op.name] = (W.PT_FLOAT, _DOUBLE.pack(_DOUBLE.unpack(cur[1])[0] + add))
        else:
            raise ResultError(INCOMPATIBLE_TYPE)
    else:
        raise ResultError(PARAMETER)
    return None


def _concat(prepend: bool) -> OpHandler:
    def handler(ctx: OpContext, op: WireOp) -> None:
        if op.ptype not in (W.PT_STRING, W.PT_BLOB):
            raise ResultError(PARAMETER)
        bins = ctx.record.bins
        cur = bins.get(op.name)
        if cur is None:
            bins[op.name] = (op.ptype, op.value)
        elif cur[0] != op.ptype:
            raise ResultError(INCOMPATIBLE_TYPE)
        else:
            bins[op.name] = (op.ptype, op.value + cur[1] if prepend else cur[1] + op.value)
        return None

    return handler


def _op_touch(ctx: OpContext, op: WireOp) -> None:
    if not ctx.exists:
        raise ResultError(KEY_NOT_FOUND)
    ctx.touched = True
    return None


def _op_delete(ctx: OpContext, op: WireOp) -> None:
    ctx.record.bins.clear()
    ctx.deleted = True
    return None


OP_HANDLERS.update(
    {
        W.OP_READ: _op_read,
        W.OP_WRITE: op_write,
        W.OP_INCR: _op_incr,
        W.OP_APPEND: _concat(False),
        W.OP_PREPEND: _concat(True),
        W.OP_TOUCH: _op_touch,
        W.OP_DELETE: _op_delete,
    }
)

#: Filter-expression evaluator: ``(expression_bytes, record, namespace, clock) -> bool``; set by
#: the expression module. ``None``: filters are not supported (commands carrying one fail).
FILTER_EVALUATOR: list[Callable[..., bool]] = []
