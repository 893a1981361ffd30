"""Single-record replies decoded with one ``struct`` call, for shapes seen before.

A record reply's *shape* is everything but its values: result code, field and op counts, and each
op's header (size, op, particle type, name length) and bin name. Replies of one workload repeat a
few shapes, so a shape is compiled once (after its message length has been seen twice) into a
``struct`` format that yields the fixed parts as byte strings and the values decoded: one C call
and a comparison replace a loop of several calls per bin. The comparison covers every fixed byte,
so a reply that differs anywhere from the shape takes the general parser: the fast path is exact.

The cache is looked up by message length and guarded by that full layout comparison; it is bounded
(``_MAXSHAPES``, oldest shape evicted first) and compiling is paid for by hits: a compile spends a
token, every ``_PAYBACK`` hits of compiled shapes earn one, at most ``_BUDGET`` are kept. A workload
whose replies never repeat (every record a different length or layout) thus stops compiling after
``_BUDGET`` compiles and costs only a dict miss over the general parser.

Noting a sighting is itself a call and a set insertion: once ``_QUIET`` new lengths in a row have
not repeated, or while no compile is affordable, :data:`GATE` asks the caller to note only every
``_SAMPLE``-th miss (a shape that does repeat is still learnt, a few sightings later), so a miss
costs a dict lookup and a counter.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from .values import decode_particle

_unpack_op = struct.Struct(">IBBBB").unpack_from
_unpack_counts = struct.Struct(">BxxxxBIIIHH").unpack_from

#: Message length -> its shape's decode (one per length: a length shared by two shapes keeps the
#: first; the other is parsed by the general parser).
SHAPES: dict[int, Callable[[Any], tuple[int, int, dict[str, Any]] | None]] = {}
#: Lengths seen once (a shape is compiled the second time: one-off lengths cost no compile).
_SEEN: set[int] = set()
_MAXSHAPES = 1024
_MAX_OPS = 64
#: Compile tokens kept at most, and hits of compiled shapes that earn one token: a shape whose
#: source is known costs about as much as parsing a small record generally twice (a ``struct``, a
#: function), one with a new source some hundred times more (``compile``), while a hit saves a
#: fraction of one general parse.
_BUDGET = 32
_PAYBACK = 64
#: [hits of compiled shapes, hits already turned into tokens, tokens]; the generated decoders count
#: their hits in ``_STATS[0]``.
_STATS = [0, 0, _BUDGET]
#: [misses the caller passes over before it calls :func:`decode_record` again, new lengths in a
#: row]: the caller checks ``GATE[0] > 0`` (and decrements it) before calling on a miss.
GATE = [0, 0]
_QUIET = 64
_SAMPLE = 16
#: Decoder source -> its compiled code (shapes differing only in value lengths share it); bounded.
_CODE: dict[str, Any] = {}
_MAXCODE = 256


class RecordShape:
    """A compiled shape: ``decode(body)`` gives ``(generation, void_time, bins)`` or ``None``.

    ``decode`` is generated Python (as ``collections.namedtuple`` generates its methods): the fixed
    parts are compared with constants and the bins dict is a literal, which costs a fraction of a
    loop over the ops. Bin names enter the source only through ``repr``.

    The source names the bins and how each value is decoded, never a length: the ``struct`` that
    splits the reply and the op headers it is compared with (sizes included) are globals of each
    shape's function. So shapes differing only in value lengths (one operate over records of
    several sizes) share one code object, compiled once (:data:`_CODE`): a new shape of a known
    source costs a ``struct`` and a function, not a ``compile`` (some hundred times more).
    """

    __slots__ = ("decode", "names", "source")

    def __init__(self, body: Any, n_ops: int) -> None:
        # Header: result code (fixed), generation, void time, field and op counts (fixed).
        fmt = [">5x1sII4x4s"]
        heads = []
        items = []
        names = []
        p = 22
        i = 4
        for _ in range(n_ops):
            size, _op, pt, _ver, nlen = _unpack_op(body, p)
            vlen = size - 4 - nlen
            name = bytes(body[p + 8 : p + 8 + nlen]).decode()
            names.append(name)
            heads.append(bytes(body[p : p + 8 + nlen]))
            if pt == 1 and vlen == 8:
                vf, expr = "q", f"u[{i + 1}]"
            elif pt == 2 and vlen == 8:
                vf, expr = "d", f"u[{i + 1}]"
            elif pt == 4:
                vf, expr = f"{vlen}s", f"u[{i + 1}]"
            elif pt == 3:
                vf, expr = f"{vlen}s", f"u[{i + 1}].decode()"
            else:
                vf, expr = f"{vlen}s", f"_decode({pt}, u[{i + 1}])"
            fmt.append(f"{8 + nlen}s{vf}")
            items.append(f"{name!r}: {expr}")
            i += 2
            p += 4 + size
        # u[4::2]: every op header (size, op, particle type, name length, name), as one tuple.
        self.source = (
            "def decode(body):\n"
            "    u = _unpack(body)\n"
            f"    if u[0] != b'\\x00' or u[3] != {bytes(body[18:22])!r} or u[4::2] != _heads:\n"
            "        return None\n"
            "    _stats[0] += 1\n"
            f"    return u[1], u[2], {{{', '.join(items)}}}\n"
        )
        code = _CODE.get(self.source)
        if code is None:
            code = compile(self.source, "<reply shape>", "exec")
            if len(_CODE) >= _MAXCODE:
                _CODE.clear()
            _CODE[self.source] = code
        namespace: dict[str, Any] = {"_unpack": struct.Struct("".join(fmt)).unpack, "_heads": tuple(heads),
                                     "_decode": decode_particle, "_stats": _STATS}
        exec(code, namespace)  # noqa: S102 - generated from the shape above, names via repr
        self.decode: Callable[[Any], tuple[int, int, dict[str, Any]] | None] = namespace["decode"]
        self.names = tuple(names)


def _compile(body: Any, n: int) -> RecordShape | None:
    """The shape of an OK, field-less reply whose ops fill exactly ``n`` bytes, else None."""
    if n < 22:
        return None
    hsize, rc, _gen, _vt, _tt, n_fields, n_ops = _unpack_counts(body, 0)
    if hsize != 22 or rc or n_fields or not 0 < n_ops <= _MAX_OPS:
        return None
    p = 22
    for _ in range(n_ops):
        if p + 8 > n:
            return None
        size, _op, _pt, _ver, nlen = _unpack_op(body, p)
        if size < 4 + nlen:
            return None
        p += 4 + size
    if p != n:
        return None
    return RecordShape(body, n_ops)


def decode_record(body: Any) -> tuple[int, int, dict[str, Any]] | None:
    """``(generation, void_time, bins)`` of an OK single-record reply without fields, when its shape
    is known (or is learnt now); ``None``: use the general parser (errors, fields, new shapes).

    Bins are as the general parser gives them: a later op on the same bin replaces an earlier one.
    """
    n = len(body)
    decode = SHAPES.get(n)
    if decode is not None:
        return decode(body)
    if n not in _SEEN:
        if len(_SEEN) >= 4 * _MAXSHAPES:
            _SEEN.clear()
        _SEEN.add(n)
        gate = GATE
        gate[1] += 1
        if gate[1] >= _QUIET:
            gate[0] = _SAMPLE - 1  # lengths are not repeating lately: note every _SAMPLE-th miss
        return None
    GATE[1] = 0
    stats = _STATS
    if stats[2] <= 0:
        earned = (stats[0] - stats[1]) // _PAYBACK
        if earned <= 0:
            GATE[0] = _SAMPLE - 1  # compiles have not paid off lately: note every _SAMPLE-th miss
            return None  # the general parser, at no extra cost
        stats[1] += earned * _PAYBACK
        stats[2] = min(_BUDGET, earned)
    stats[2] -= 1
    shape = _compile(body, n)
    if shape is None:
        return None
    if len(SHAPES) >= _MAXSHAPES:
        try:
            del SHAPES[next(iter(SHAPES))]  # the oldest
        except (KeyError, RuntimeError, StopIteration):  # another thread changed SHAPES meanwhile
            pass
    SHAPES[n] = shape.decode
    r = shape.decode(body)
    if r is not None:
        stats[0] -= 1  # the compiling decode is not a hit
    return r


def reset() -> None:
    """Forget every shape and sighting and refill the compile budget (tests, benchmarks)."""
    SHAPES.clear()
    _SEEN.clear()
    _CODE.clear()
    _STATS[:] = [0, 0, _BUDGET]
    GATE[:] = [0, 0]


__all__ = ["GATE", "SHAPES", "RecordShape", "decode_record", "reset"]
