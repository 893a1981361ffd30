"""HyperLogLog operations of the embedded server (wire ops 15 read / 16 modify).

The particle layout and estimators follow the real server so that counts, unions, intersections
and similarities agree with it: a header of flags (0), index bits (4-16), minhash bits (0 or
4-51) and an 8-byte cached count, then ``2**index_bits`` registers of ``6 + minhash_bits`` bits
packed most-significant-bit first. An element is hashed with MurmurHash3 x64/128 over its msgpack
bytes; the low index bits of the first half pick the register, the next minhash bits are kept,
and the register value is one plus the number of trailing zero bits of the second half.
Cardinality uses Ertl's improved estimator; similarity uses HyperMinHash.
"""

from __future__ import annotations

import math
import struct
from typing import Any, TypeGuard

import msgpack

from .._wire import constants as W
from .._wire.message import WireOp
from .context import OpContext
from .errors import BIN_EXISTS, BIN_NOT_FOUND, INCOMPATIBLE_TYPE, OP_NOT_APPLICABLE, PARAMETER, ResultError

HLL_BITS = 6
MIN_INDEX, MAX_INDEX = 4, 16
MIN_MINHASH, MAX_MINHASH = 4, 64 - HLL_BITS - 7
UNSET = 0xFF
_HEADER = struct.Struct("<BBBQ")

F_CREATE_ONLY, F_UPDATE_ONLY, F_NO_FAIL, F_ALLOW_FOLD = 1, 2, 4, 8

# Server op codes inside the msgpack payload.
INIT, ADD, SET_UNION, REFRESH_COUNT, FOLD = 0, 1, 2, 3, 4
COUNT, GET_UNION, UNION_COUNT, INTERSECT_COUNT, SIMILARITY, DESCRIBE, MAY_CONTAIN = 50, 51, 52, 53, 54, 55, 56

_M64 = (1 << 64) - 1


# --------------------------------------------------------------------------- MurmurHash3 x64/128


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _fmix(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _M64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _M64
    return k ^ (k >> 33)


_C1, _C2 = 0x87C37B91114253D5, 0x4CF5AD432745937F


def murmur3_x64_128(data: bytes, seed: int = 0) -> tuple[int, int]:
    """MurmurHash3 x64 128-bit: the two 64-bit halves (as a little-endian machine reads them)."""
    n = len(data)
    h1 = h2 = seed
    nblocks = n // 16
    for i in range(nblocks):
        k1, k2 = struct.unpack_from("<QQ", data, i * 16)
        k1 = _rotl((k1 * _C1) & _M64, 31) * _C2 & _M64
        h1 ^= k1
        h1 = (_rotl(h1, 27) + h2) & _M64
        h1 = (h1 * 5 + 0x52DCE729) & _M64
        k2 = _rotl((k2 * _C2) & _M64, 33) * _C1 & _M64
        h2 ^= k2
        h2 = (_rotl(h2, 31) + h1) & _M64
        h2 = (h2 * 5 + 0x38495AB5) & _M64
    tail = data[nblocks * 16 :]
    t = len(tail)
    if t > 8:
        k2 = int.from_bytes(tail[8:], "little")
        h2 ^= _rotl((k2 * _C2) & _M64, 33) * _C1 & _M64
    if t > 0:
        k1 = int.from_bytes(tail[:8], "little")
        h1 ^= _rotl((k1 * _C1) & _M64, 31) * _C2 & _M64
    h1 ^= n
    h2 ^= n
    h1 = (h1 + h2) & _M64
    h2 = (h2 + h1) & _M64
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _M64
    h2 = (h2 + h1) & _M64
    return h1, h2


# --------------------------------------------------------------------------- the sketch


def valid_index(n: int) -> bool:
    return MIN_INDEX <= n <= MAX_INDEX


def valid_minhash(n: int) -> bool:
    return n == 0 or MIN_MINHASH <= n <= MAX_MINHASH


def valid_combined(i: int, m: int) -> bool:
    return valid_index(i) and valid_minhash(m) and i + m <= 64


def registers_size(index_bits: int, minhash_bits: int) -> int:
    return ((HLL_BITS + minhash_bits) * (1 << index_bits) + 7) // 8


class Sketch:
    """A decoded HyperLogLog/HyperMinHash: bit widths, cached count and register values."""

    __slots__ = ("index_bits", "minhash_bits", "cache", "regs")

    def __init__(self, index_bits: int, minhash_bits: int, cache: int = 0, regs: list[int] | None = None) -> None:
        self.index_bits: int = index_bits
        self.minhash_bits: int = minhash_bits
        self.cache: int = cache
        self.regs: list[int] = regs if regs is not None else [0] * (1 << index_bits)

    @property
    def m(self) -> int:
        return 1 << self.index_bits

    @classmethod
    def decode(cls, data: bytes) -> Sketch:
        flags, ib, mb, cache = _HEADER.unpack_from(data)
        if flags != 0 or not valid_combined(ib, mb) or len(data) != _HEADER.size + registers_size(ib, mb):
            raise ValueError("bad hll")
        nb = HLL_BITS + mb
        mask = (1 << nb) - 1
        regs: list[int] = []
        ext = regs.extend
        body = data[_HEADER.size :]
        shifts = [nb * (7 - j) for j in range(8)]
        for g in range(0, len(body), nb):  # 8 registers fill exactly nb bytes
            chunk = int.from_bytes(body[g : g + nb], "big")
            ext([(chunk >> s) & mask for s in shifts])
        return cls(ib, mb, cache, regs)

    def encode(self) -> bytes:
        nb = HLL_BITS + self.minhash_bits
        parts = [_HEADER.pack(0, self.index_bits, self.minhash_bits, self.cache)]
        regs = self.regs
        for g in range(0, len(regs), 8):
            v = 0
            for r in regs[g : g + 8]:
                v = (v << nb) | r
            parts.append(v.to_bytes(nb, "big"))
        return b"".join(parts)

    def hll_val(self, r: int) -> int:
        return self.regs[r] >> self.minhash_bits

    def _hash(self, element: bytes) -> tuple[int, int]:
        """(register index, register value) of an element."""
        h1, h2 = murmur3_x64_128(element)
        ix = h1 & (self.m - 1)
        minhash = (h1 >> self.index_bits) & ((1 << self.minhash_bits) - 1)
        tz = (h2 & -h2).bit_length() - 1 if h2 else 64
        return ix, ((tz + 1) << self.minhash_bits) | minhash

    def may_contain(self, element: bytes) -> bool:
        ix, value = self._hash(element)
        return value <= self.regs[ix]

    def add(self, element: bytes) -> bool:
        ix, value = self._hash(element)
        value &= (1 << (HLL_BITS + self.minhash_bits)) - 1
        if self.regs[ix] < value:
            self.regs[ix] = value
            self.cache = 0
            return True
        return False

    def has_data(self) -> bool:
        # The server looks at the first 2**index_bits bytes of the registers.
        nb = HLL_BITS + self.minhash_bits
        return any(self.regs[: (self.m * 8) // nb + 1])

    def used(self) -> int:
        return sum(1 for r in self.regs if r)


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        prev = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if prev == z:
            return z / 3.0


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        prev = z
        z += x * y
        y += y
        if prev == z:
            return z


def _alpha(index_bits: int) -> float:
    return {4: 0.673, 5: 0.697, 6: 0.709}.get(index_bits, 0.7213 / (1.0 + 1.079 / (1 << index_bits)))


def _round(x: float) -> int:
    return int(math.floor(x + 0.5)) if math.isfinite(x) else 0


def estimate(s: Sketch) -> int:
    """Cardinality estimate (the cached value when set)."""
    if s.cache:
        return s.cache
    m = s.m
    c = [0] * (HLL_BITS + 59)
    shift = s.minhash_bits
    for r in s.regs:
        c[r >> shift] += 1
    z = m * _tau(c[64] / m)
    for k in range(64, 0, -1):
        z = 0.5 * (z + c[k])
    z += m * _sigma(c[0] / m)
    return _round(_alpha(s.index_bits) * m * m / z)


def template(sketches: list[Sketch]) -> tuple[int, int]:
    ib, mb = sketches[0].index_bits, sketches[0].minhash_bits
    for s in sketches[1:]:
        ib = min(ib, s.index_bits)
        if mb != 0 and mb != s.minhash_bits:
            mb = 0
    return ib, mb


def union_into(u: Sketch, s: Sketch) -> None:
    """Merge ``s`` into ``u`` (``u`` has no more index bits than ``s``)."""
    mask = u.m - 1
    regs = u.regs
    if u.minhash_bits == 0:
        shift = s.minhash_bits
        for r, v in enumerate(s.regs):
            v >>= shift
            if regs[r & mask] < v:
                regs[r & mask] = v
    else:
        for r, v in enumerate(s.regs):
            if regs[r & mask] < v:
                regs[r & mask] = v
    u.cache = 0


def union(sketches: list[Sketch]) -> Sketch:
    ib, mb = template(sketches)
    u = Sketch(ib, mb)
    for s in sketches:
        union_into(u, s)
    return u


def union_count(sketches: list[Sketch]) -> int:
    return estimate(union(sketches))


def _hll_intersect_count(sketches: list[Sketch]) -> int:
    cu = union_count(sketches)
    total = min(sum(estimate(s) for s in sketches), _M64)
    if len(sketches) == 2:
        return total - cu if total > cu else 0
    a, b, c = sketches
    pairs = intersect_count([a, b]) + intersect_count([b, c]) + intersect_count([a, c])
    return max(0, cu - (total - pairs))


def intersect_count(sketches: list[Sketch]) -> int:
    if template(sketches)[1] == 0:
        return _hll_intersect_count(sketches)
    j = similarity(sketches)
    if math.isnan(j):
        return 0
    return _round(union_count(sketches) * j)


def _collisions(index_bits: int, minhash_bits: int, card0: int, card1: int) -> float:
    m = 1 << index_bits
    cp = 0.0
    buckets = 1 << HLL_BITS
    for i in range(1, buckets + 1):
        b1 = 0.0 if i == buckets else 2.0 ** -i
        b2 = 2.0 ** (-i + 1)
        b1 /= m
        b2 /= m
        px = (1 - b1) ** card0 - (1 - b2) ** card0
        py = (1 - b1) ** card1 - (1 - b2) ** card1
        cp += px * py
    return cp * m / 2.0**minhash_bits


def similarity(sketches: list[Sketch]) -> float:
    ib, mb = template(sketches)
    if mb == 0:
        inter = _hll_intersect_count(sketches)
        un = union_count(sketches)
        return inter / un if un else math.nan
    data = [s.has_data() for s in sketches]
    if not all(data):
        return 0.0 if any(data) else math.nan
    n_union = union(sketches).used()
    agg = Sketch(ib, mb)
    union_into(agg, sketches[0])
    mask = agg.m - 1
    for s in sketches[1:]:
        regs = agg.regs
        for r, v in enumerate(s.regs):  # register by register, as the server folds them
            if regs[r & mask] != v:
                regs[r & mask] = 0
    n_inter = agg.used()
    ec = 0.0
    if len(sketches) == 2:
        ec = _collisions(ib, mb, estimate(sketches[0]), estimate(sketches[1]))
    return max(0.0, (n_inter - ec) / n_union)


# --------------------------------------------------------------------------- op parsing


def _args(op: WireOp) -> list[Any]:
    try:
        args = msgpack.unpackb(op.value, raw=True, strict_map_key=False)
    except Exception:
        raise ResultError(PARAMETER) from None
    if not isinstance(args, list) or not args or not _is_int(args[0]):
        raise ResultError(PARAMETER)
    return args


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _index_arg(v: Any) -> int:
    if not _is_int(v) or (v != -1 and not valid_index(v)):
        raise ResultError(PARAMETER)
    return UNSET if v == -1 else v


def _minhash_arg(v: Any, index_bits: int) -> int:
    if not _is_int(v):
        raise ResultError(PARAMETER)
    if v == -1:
        return UNSET
    if not valid_minhash(v) or (index_bits != UNSET and not valid_combined(index_bits, v)):
        raise ResultError(PARAMETER)
    return v


def _flags_arg(v: Any, allowed: int) -> int:
    if not _is_int(v) or v < 0 or v & ~allowed:
        raise ResultError(PARAMETER)
    if v & F_CREATE_ONLY and v & F_UPDATE_ONLY:
        raise ResultError(PARAMETER)
    return v


def _hll_list(v: Any) -> list[Sketch]:
    if not isinstance(v, list) or not v:
        raise ResultError(PARAMETER)
    out = []
    for x in v:
        if not isinstance(x, bytes) or len(x) < _HEADER.size + 1:
            raise ResultError(PARAMETER)
        try:
            out.append(Sketch.decode(x[1:]))
        except (ValueError, struct.error):
            raise ResultError(PARAMETER) from None
    return out


def _elements(v: Any) -> list[bytes]:
    if not isinstance(v, list) or not v:
        raise ResultError(PARAMETER)
    out = []
    for x in v:
        if isinstance(x, (list, dict)):
            raise ResultError(PARAMETER)
        out.append(msgpack.packb(x, use_bin_type=False))
    return out


def _current(ctx: OpContext, name: str) -> Sketch | None:
    cur = ctx.bins.get(name)
    if cur is None:
        return None
    if cur[0] != W.PT_HLL:
        raise ResultError(INCOMPATIBLE_TYPE)
    try:
        return Sketch.decode(cur[1])
    except (ValueError, struct.error):
        raise ResultError(1) from None


# --------------------------------------------------------------------------- handlers

_NARGS = {INIT: (0, 3), ADD: (1, 4), SET_UNION: (1, 2), REFRESH_COUNT: (0, 0), FOLD: (1, 1)}
_ALLOWED = {
    INIT: F_CREATE_ONLY | F_UPDATE_ONLY | F_NO_FAIL,
    ADD: F_CREATE_ONLY | F_NO_FAIL,
    SET_UNION: F_CREATE_ONLY | F_UPDATE_ONLY | F_ALLOW_FOLD | F_NO_FAIL,
}


def _int(v: int) -> tuple[int, bytes]:
    return W.PT_INTEGER, struct.pack(">q", v if v < (1 << 63) else v - (1 << 64))


def hll_modify(ctx: OpContext, op: WireOp) -> tuple[int, bytes] | None:
    old = _current(ctx, op.name)
    args = _args(op)
    code, rest = args[0], args[1:]
    if code not in _NARGS or not _NARGS[code][0] <= len(rest) <= _NARGS[code][1]:
        raise ResultError(PARAMETER)
    ib = mb = UNSET
    flags = 0
    hlls: list[Sketch] = []
    elements: list[bytes] = []
    if code == INIT:
        if rest:
            ib = _index_arg(rest[0])
        if len(rest) > 1:
            mb = _minhash_arg(rest[1], ib)
        if len(rest) > 2:
            flags = _flags_arg(rest[2], _ALLOWED[INIT])
    elif code == ADD:
        elements = _elements(rest[0])
        if len(rest) > 1:
            ib = _index_arg(rest[1])
        if len(rest) > 2:
            mb = _minhash_arg(rest[2], ib)
        if len(rest) > 3:
            flags = _flags_arg(rest[3], _ALLOWED[ADD])
    elif code == SET_UNION:
        hlls = _hll_list(rest[0])
        if len(rest) > 1:
            flags = _flags_arg(rest[1], _ALLOWED[SET_UNION])
    elif code == FOLD:
        ib = _index_arg(rest[0])
    if old is not None and flags & F_CREATE_ONLY:
        if flags & F_NO_FAIL:
            return None
        raise ResultError(BIN_EXISTS)
    if old is None and flags & F_UPDATE_ONLY:
        if flags & F_NO_FAIL:
            return None
        raise ResultError(BIN_NOT_FOUND)
    result: tuple[int, bytes] | None = None
    if code in (INIT, ADD):
        if old is None:
            if ib == UNSET:
                raise ResultError(OP_NOT_APPLICABLE)
            mb = 0 if mb == UNSET else mb
        elif code == ADD:
            ib, mb = old.index_bits, old.minhash_bits
        else:
            ib = old.index_bits if ib == UNSET else ib
            mb = old.minhash_bits if mb == UNSET else mb
            if not valid_combined(ib, mb):
                raise ResultError(OP_NOT_APPLICABLE)
        if code == INIT or old is None:
            new = Sketch(ib, mb)
        else:
            new = old
        if code == ADD:
            added = sum(1 for e in elements if new.add(e))
            result = _int(added)
    elif code == SET_UNION:
        ib = min(h.index_bits for h in hlls)
        mbs = {h.minhash_bits for h in hlls}
        mb = hlls[0].minhash_bits if len(mbs) == 1 else 0
        if old is not None:
            if not flags & F_ALLOW_FOLD:
                if old.index_bits > ib or (old.minhash_bits != 0 and old.minhash_bits != mb):
                    raise ResultError(OP_NOT_APPLICABLE)
                ib, mb = old.index_bits, old.minhash_bits
            else:
                ib = min(ib, old.index_bits)
                mb = mb if old.minhash_bits == mb else 0
            hlls.append(old)
        new = union(hlls)  # the shape checked above is the union template
    elif code == REFRESH_COUNT:
        if old is None:
            raise ResultError(BIN_NOT_FOUND)
        new = old
        new.cache = 0
        new.cache = estimate(new)
        result = _int(new.cache)
    else:  # FOLD
        if old is None:
            raise ResultError(BIN_NOT_FOUND)
        if old.minhash_bits > 0 or old.index_bits < ib:
            raise ResultError(OP_NOT_APPLICABLE)
        if old.index_bits == ib:
            new = old
        else:
            new = Sketch(ib, 0)
            union_into(new, old)
    ctx.bins[op.name] = (W.PT_HLL, new.encode())
    return result


def hll_read(ctx: OpContext, op: WireOp) -> tuple[int, bytes] | None:
    cur = _current(ctx, op.name)
    return read_result(_args(op), cur)


def read_result(args: list[Any], cur: Sketch | None) -> tuple[int, bytes] | None:
    """The result particle of HLL read op ``args`` (``[code, ...]``) on sketch ``cur`` (None: no bin).

    Shared by the read-op handler and the expression evaluator (CALL of the HLL module).
    """
    code, rest = args[0], args[1:]
    if code in (COUNT, DESCRIBE):
        if rest:
            raise ResultError(PARAMETER)
    elif code == MAY_CONTAIN:
        if len(rest) != 1:
            raise ResultError(PARAMETER)
        elements = _elements(rest[0])
    elif code in (GET_UNION, UNION_COUNT, INTERSECT_COUNT, SIMILARITY):
        if len(rest) != 1:
            raise ResultError(PARAMETER)
        hlls = _hll_list(rest[0])
        if code in (INTERSECT_COUNT, SIMILARITY) and len(hlls) > 2:
            mbs = {h.minhash_bits for h in hlls}
            if len(mbs) != 1 or 0 in mbs:
                raise ResultError(PARAMETER)
    else:
        raise ResultError(PARAMETER)
    if cur is None:
        return None
    if code == COUNT:
        return _int(estimate(cur))
    if code == DESCRIBE:
        return W.PT_LIST, msgpack.packb([cur.index_bits, cur.minhash_bits])
    if code == MAY_CONTAIN:
        return _int(int(all(cur.may_contain(e) for e in elements)))
    if code in (INTERSECT_COUNT, SIMILARITY) and len(hlls) > 2:
        if cur.minhash_bits == 0 or cur.minhash_bits != hlls[0].minhash_bits:
            raise ResultError(OP_NOT_APPLICABLE)
    everything = hlls + [cur]
    if code == GET_UNION:
        return W.PT_HLL, union(everything).encode()
    if code == UNION_COUNT:
        return _int(union_count(everything))
    if code == INTERSECT_COUNT:
        return _int(intersect_count(everything))
    return W.PT_FLOAT, struct.pack(">d", similarity(everything))

