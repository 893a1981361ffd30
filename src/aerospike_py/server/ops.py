"""The embedded server's table of operation handlers (:data:`OP_HANDLERS`, by wire op type) and
the basic operations (read, write, incr, append, prepend, touch, delete).

Collection (CDT), bit, HLL and expression operations are handled by their own modules, listed in
the table. A handler's signature and context: :mod:`aerospike_py.server.context`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from .._wire import constants as W
from .._wire.message import WireOp
from . import bits, cdt, expressions, hll
from .context import OpContext, OpHandler
from .errors import INCOMPATIBLE_TYPE, KEY_NOT_FOUND, PARAMETER, ResultError
from .geo import check_particle as check_geo
from .storage import delete_bin

_INT64 = struct.Struct(">q")
_DOUBLE = struct.Struct(">d")


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


#: Every operation handler, by wire op type (read ops and modify ops alike).
OP_HANDLERS: dict[int, OpHandler] = {
    W.OP_READ: _op_read,
    W.OP_WRITE: op_write,
    W.OP_INCR: _op_incr,
    W.OP_APPEND: _concat(False),
    W.OP_PREPEND: _concat(True),
    W.OP_TOUCH: _op_touch,
    W.OP_DELETE: _op_delete,
    W.OP_CDT_READ: cdt.handle_op,
    W.OP_CDT_MODIFY: cdt.handle_op,
    W.OP_BIT_READ: bits.bits_read,
    W.OP_BIT_MODIFY: bits.bits_modify,
    W.OP_HLL_READ: hll.hll_read,
    W.OP_HLL_MODIFY: hll.hll_modify,
    W.OP_EXP_READ: expressions.exp_read,
    W.OP_EXP_MODIFY: expressions.exp_write,
}

#: The filter-expression evaluator, first entry: ``(expression_bytes, record, namespace, clock) ->
#: bool`` (a list so that tests can put a probe in front of it).
FILTER_EVALUATOR: list[Callable[..., bool]] = [expressions.filter_passes]
