"""Operation dicts (``{"op": ..., "bin": ..., "val": ...}``) -> wire operations.

:data:`OP_ENCODERS` is the table of every operation ``operate`` accepts, by public op code: the
basic operators are encoded here, collection, bit, HLL and expression operations by the tables of
their own modules (``cdt``, ``bits``, ``hll``, ``expressions``), listed there.
"""

from __future__ import annotations

from typing import Any

from .. import _constants as C
from .._wire import constants as W
from .._wire.message import pack_op
from .._wire.values import ValueTypeError, encode_particle
from ..exception import InvalidArgError, _InvalidArgType, _InvalidArgValue
from . import bits, cdt, expressions, hll
from .base import EncodedOp, OpEncoder
from .keys import check_bin_name


def _value(op: dict[str, Any], name: str = "val") -> tuple[int, bytes]:
    try:
        return encode_particle(op[name])
    except KeyError:
        raise _InvalidArgValue(f"operation {op.get('op')} needs {name!r}") from None
    except (ValueTypeError, OverflowError, ValueError) as e:
        raise _InvalidArgValue(f"operation {op.get('op')} on bin {op.get('bin')!r}: {e}") from None


def _bin(op: dict[str, Any]) -> bytes:
    try:
        return check_bin_name(op["bin"])
    except KeyError:
        raise _InvalidArgValue(f"operation {op.get('op')} needs a 'bin'") from None


def _read(op: dict[str, Any]) -> EncodedOp:
    name = op.get("bin")
    if name is None:
        return EncodedOp(pack_op(W.OP_READ, b""), W.OP_READ, "", False, True)
    return EncodedOp(pack_op(W.OP_READ, check_bin_name(name)), W.OP_READ, name, False, True)


def _write(op: dict[str, Any]) -> EncodedOp:
    b = _bin(op)
    pt, v = _value(op)
    return EncodedOp(pack_op(W.OP_WRITE, b, pt, v), W.OP_WRITE, op["bin"], True, False)


def _incr(op: dict[str, Any]) -> EncodedOp:
    b = _bin(op)
    val = op.get("val", 1)
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise _InvalidArgType(f"increment of bin {op['bin']!r} needs an int or float, not {type(val).__name__}")
    pt, v = encode_particle(val)
    return EncodedOp(pack_op(W.OP_INCR, b, pt, v), W.OP_INCR, op["bin"], True, False)


def _concat(wire_op: int) -> OpEncoder:
    def enc(op: dict[str, Any]) -> EncodedOp:
        b = _bin(op)
        val = op.get("val")
        if not isinstance(val, (str, bytes, bytearray)):
            raise _InvalidArgType(
                f"append/prepend to bin {op['bin']!r} needs a str or bytes value, not {type(val).__name__}"
            )
        pt, v = encode_particle(val)
        return EncodedOp(pack_op(wire_op, b, pt, v), wire_op, op["bin"], True, False)

    return enc


def _touch(op: dict[str, Any]) -> EncodedOp:
    return EncodedOp(pack_op(W.OP_TOUCH, b""), W.OP_TOUCH, "", True, False)


def _delete(op: dict[str, Any]) -> EncodedOp:
    return EncodedOp(pack_op(W.OP_DELETE, b""), W.OP_DELETE, "", True, False)


#: Every operation encoder, by public op code.
OP_ENCODERS: dict[int, OpEncoder] = {
    C.OPERATOR_READ: _read,
    C.OPERATOR_WRITE: _write,
    C.OPERATOR_INCR: _incr,
    C.OPERATOR_APPEND: _concat(W.OP_APPEND),
    C.OPERATOR_PREPEND: _concat(W.OP_PREPEND),
    C.OPERATOR_TOUCH: _touch,
    C.OPERATOR_DELETE: _delete,
    **cdt.ENCODERS,  # list 1001-1034, map 2001-2032
    **hll.ENCODERS,  # 3001-3010
    **bits.ENCODERS,  # 4001-4054
    **expressions.ENCODERS,  # exp_read 5001, exp_write 5002
}


def encode_ops(ops: Any) -> list[EncodedOp]:
    """Encode a list of operation dicts; errors name the offending index."""
    if not isinstance(ops, (list, tuple)):
        raise _InvalidArgType(f"ops must be a list of operation dicts, not {type(ops).__name__}")
    if not ops:
        raise _InvalidArgValue("ops must not be empty")
    out = []
    for i, op in enumerate(ops):
        if not isinstance(op, dict):
            raise _InvalidArgType(f"ops[{i}] must be a dict, not {type(op).__name__}")
        code = op.get("op")
        enc = OP_ENCODERS.get(code)  # type: ignore[arg-type]
        if enc is None:
            raise _InvalidArgValue(
                f"ops[{i}]: unknown operation code {code!r} (basic 1-12, list 1001-1031, map 2001-2027, "
                "hll 3001-3010, bit 4001-4054, expressions 5001-5002)"
            )
        try:
            out.append(enc(op))
        except InvalidArgError as e:
            raise type(e)(f"ops[{i}]: {e.msg}") from None
    return out


_BASIC_WRITES = frozenset((W.OP_WRITE, W.OP_INCR, W.OP_APPEND, W.OP_PREPEND, W.OP_TOUCH, W.OP_DELETE))


def is_basic_write(e: EncodedOp) -> bool:
    """A basic write (write, incr, append, prepend, touch, delete): it has no result to return."""
    return e.wire_op in _BASIC_WRITES


def reply_keep(encoded: list[EncodedOp]) -> list[bool]:
    """For a RESPOND_ALL_OPS command: per reply entry, whether it carries a result for the caller.

    Servers answer one entry per op except touch ops, which answer none.
    """
    return [not is_basic_write(e) for e in encoded if e.wire_op != W.OP_TOUCH]


def summarize_ops(encoded: list[EncodedOp]) -> tuple[int, bool, bool]:
    """``(info1 read bits, any write, respond-all needed)`` of a list of encoded ops."""
    info1 = 0
    any_write = respond_all = False
    for e in encoded:
        if e.is_write:
            any_write = True
        else:
            info1 |= W.INFO1_READ
            if e.wire_op == W.OP_READ and not e.bin:
                info1 |= W.INFO1_GET_ALL
        if e.respond_all:
            respond_all = True
    return info1, any_write, respond_all


class ResultPlan:
    """How the reply entries of an operate become bins: ``keep`` (which entries carry a result for
    the caller, when the server answers every op), ``multi`` (bins several ops answer: their
    results form a list in op order, as the original and the Java, Go and Rust clients give them;
    ``drop_none``: leave ``None`` results out of those lists, as the original's operate does, its
    batch_operate does not) and ``post`` (per-entry value transforms)."""

    __slots__ = ("keep", "multi", "post", "drop_none")

    def __init__(self, encoded: list[EncodedOp], keep: list[bool] | None, drop_none: bool = True) -> None:
        self.keep = keep
        self.drop_none = drop_none
        seen: set[str] = set()
        rep: set[str] = set()
        for e in encoded:
            if e.bin:
                (rep if e.bin in seen else seen).add(e.bin)
        self.multi = frozenset(rep) if rep else None
        # post only on respond-all ops: one reply entry per op (touch ops answer none)
        posts = [e.post for e in encoded if e.wire_op != W.OP_TOUCH] if keep is not None else []
        self.post = posts if any(p is not None for p in posts) else None

    @property
    def trivial(self) -> bool:
        """Whether bins are just the kept entries (the fast paths apply)."""
        return self.multi is None and self.post is None

    def pairs(self, pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        """The kept ``(name, value)`` entries, transformed."""
        keep, post = self.keep, self.post
        if keep is not None:
            if post is not None:
                pairs = [(n, p(v) if p is not None else v)
                         for (n, v), k, p in zip(pairs, keep, post, strict=False) if k]
            else:
                pairs = [nv for nv, k in zip(pairs, keep, strict=False) if k]
        elif post is not None:
            pairs = [(n, p(v) if p is not None else v) for (n, v), p in zip(pairs, post, strict=False)]
        return pairs

    def bins(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        """Bins of the reply entries: one value per bin, a list for the bins in ``multi``."""
        multi = self.multi
        if multi is None:
            return dict(self.pairs(pairs))
        bins: dict[str, Any] = {}
        lists: dict[str, list[Any]] = {}
        drop_none = self.drop_none
        for n, v in self.pairs(pairs):
            if n in multi:
                if v is not None or not drop_none:
                    got = lists.get(n)
                    if got is None:
                        lists[n] = [v]
                        bins[n] = v
                    else:
                        got.append(v)
                        bins[n] = got
            else:
                bins[n] = v
        return bins
