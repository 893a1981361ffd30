"""Pure-Python RIPEMD-160 (Dobbertin, Bosselaers, Preneel, 1996).

Aerospike identifies every record by the RIPEMD-160 digest of its set name and user key.
``hashlib.new("ripemd160")`` is only available when the underlying OpenSSL exposes the
algorithm; OpenSSL 3 moved it to the "legacy" provider, which many distributions do not load,
so the call raises ``ValueError`` there.  This module is the fallback used in that case.  It is
written directly from the algorithm specification and tuned for short inputs (keys are usually
well under 100 bytes): all constant tables are built once at import time.
"""

from __future__ import annotations

import struct

__all__ = ["ripemd160"]

_M = 0xFFFFFFFF

_H0 = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)

# Message word selection, left line r(j) and right line r'(j), j = 0..79.
_RL = (
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5, 2, 14, 11, 8,
    3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12,
    1, 9, 11, 10, 0, 8, 12, 4, 13, 3, 7, 15, 14, 5, 6, 2,
    4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13,
)  # fmt: skip
_RR = (
    5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12,
    6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12, 4, 9, 1, 2,
    15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13,
    8, 6, 4, 1, 3, 11, 15, 0, 5, 12, 2, 13, 9, 7, 10, 14,
    12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11,
)  # fmt: skip

# Left rotation amounts, left line s(j) and right line s'(j).
_SL = (
    11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8,
    7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9, 11, 7, 13, 12,
    11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5,
    11, 12, 14, 15, 14, 15, 9, 8, 9, 14, 5, 6, 8, 6, 5, 12,
    9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6,
)  # fmt: skip
_SR = (
    8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6,
    9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7, 6, 15, 13, 11,
    9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5,
    15, 5, 8, 11, 14, 14, 6, 14, 6, 9, 12, 9, 12, 5, 15, 8,
    8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11,
)  # fmt: skip

# Additive constants per round of 16 steps: K(j) for the left line, K'(j) for the right line.
_KL = (0x00000000, 0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xA953FD4E)
_KR = (0x50A28BE6, 0x5C4DD124, 0x6D703EF3, 0x7A6D76E9, 0x00000000)

# Per-round step tables: for round i, a tuple of 16 (r, s, r', s', 32 - s, 32 - s') tuples,
# so the hot loop does no index arithmetic.
_ROUNDS: tuple[tuple[tuple[int, int, int, int, int, int], ...], ...] = tuple(
    tuple((_RL[j], _SL[j], _RR[j], _SR[j], 32 - _SL[j], 32 - _SR[j]) for j in range(16 * i, 16 * i + 16))
    for i in range(5)
)
_R0, _R1, _R2, _R3, _R4 = _ROUNDS
_KL0, _KL1, _KL2, _KL3, _KL4 = _KL
_KR0, _KR1, _KR2, _KR3, _KR4 = _KR

_UNPACK16 = struct.Struct("<16I").unpack_from
_PACK5 = struct.Struct("<5I").pack
_PACK_LEN = struct.Struct("<Q").pack


def _compress(h: tuple[int, int, int, int, int], x: tuple[int, ...]) -> tuple[int, int, int, int, int]:
    """Apply the compression function to one 16-word block ``x``; return the new chaining value.

    Both lines run interleaved inside each round loop.  Left line uses f1..f5 with K, right line
    uses f5..f1 with K'.  Each step is
    ``T = rol_s(A + f(B, C, D) + X[r] + K) + E; A = E; E = D; D = rol_10(C); C = B; B = T``.

    The boolean functions are evaluated in equivalent forms with fewer operations:
    ``~z & 0xFFFFFFFF == z ^ 0xFFFFFFFF``; ``(x & y) | (~x & z) == z ^ (x & (y ^ z))`` (f2);
    ``(x & z) | (y & ~z) == y ^ (z & (x ^ y))`` (f4).
    """
    M = _M
    kl1, kl2, kl3, kl4 = _KL1, _KL2, _KL3, _KL4
    kr0, kr1, kr2, kr3 = _KR0, _KR1, _KR2, _KR3
    h0, h1, h2, h3, h4 = h
    al, bl, cl, dl, el = h
    ar, br, cr, dr, er = h

    # Round 1: left f1 = x ^ y ^ z; right f5 = x ^ (y | ~z).
    for r, s, rr, sr, ns, nsr in _R0:
        t = (al + (bl ^ cl ^ dl) + x[r]) & M
        t = (((t << s) | (t >> ns)) + el) & M
        al, el, dl, cl, bl = el, dl, ((cl << 10) | (cl >> 22)) & M, bl, t
        t = (ar + (br ^ (cr | (dr ^ M))) + x[rr] + kr0) & M
        t = (((t << sr) | (t >> nsr)) + er) & M
        ar, er, dr, cr, br = er, dr, ((cr << 10) | (cr >> 22)) & M, br, t

    # Round 2: left f2 = (x & y) | (~x & z); right f4 = (x & z) | (y & ~z).
    for r, s, rr, sr, ns, nsr in _R1:
        t = (al + (dl ^ (bl & (cl ^ dl))) + x[r] + kl1) & M
        t = (((t << s) | (t >> ns)) + el) & M
        al, el, dl, cl, bl = el, dl, ((cl << 10) | (cl >> 22)) & M, bl, t
        t = (ar + (cr ^ (dr & (br ^ cr))) + x[rr] + kr1) & M
        t = (((t << sr) | (t >> nsr)) + er) & M
        ar, er, dr, cr, br = er, dr, ((cr << 10) | (cr >> 22)) & M, br, t

    # Round 3: both lines f3 = (x | ~y) ^ z.
    for r, s, rr, sr, ns, nsr in _R2:
        t = (al + ((bl | (cl ^ M)) ^ dl) + x[r] + kl2) & M
        t = (((t << s) | (t >> ns)) + el) & M
        al, el, dl, cl, bl = el, dl, ((cl << 10) | (cl >> 22)) & M, bl, t
        t = (ar + ((br | (cr ^ M)) ^ dr) + x[rr] + kr2) & M
        t = (((t << sr) | (t >> nsr)) + er) & M
        ar, er, dr, cr, br = er, dr, ((cr << 10) | (cr >> 22)) & M, br, t

    # Round 4: left f4 = (x & z) | (y & ~z); right f2 = (x & y) | (~x & z).
    for r, s, rr, sr, ns, nsr in _R3:
        t = (al + (cl ^ (dl & (bl ^ cl))) + x[r] + kl3) & M
        t = (((t << s) | (t >> ns)) + el) & M
        al, el, dl, cl, bl = el, dl, ((cl << 10) | (cl >> 22)) & M, bl, t
        t = (ar + (dr ^ (br & (cr ^ dr))) + x[rr] + kr3) & M
        t = (((t << sr) | (t >> nsr)) + er) & M
        ar, er, dr, cr, br = er, dr, ((cr << 10) | (cr >> 22)) & M, br, t

    # Round 5: left f5 = x ^ (y | ~z); right f1 = x ^ y ^ z.
    for r, s, rr, sr, ns, nsr in _R4:
        t = (al + (bl ^ (cl | (dl ^ M))) + x[r] + kl4) & M
        t = (((t << s) | (t >> ns)) + el) & M
        al, el, dl, cl, bl = el, dl, ((cl << 10) | (cl >> 22)) & M, bl, t
        t = (ar + (br ^ cr ^ dr) + x[rr]) & M
        t = (((t << sr) | (t >> nsr)) + er) & M
        ar, er, dr, cr, br = er, dr, ((cr << 10) | (cr >> 22)) & M, br, t

    return (
        (h1 + cl + dr) & M,
        (h2 + dl + er) & M,
        (h3 + el + ar) & M,
        (h4 + al + br) & M,
        (h0 + bl + cr) & M,
    )


def ripemd160(data: bytes | bytearray | memoryview) -> bytes:
    """Return the 20-byte RIPEMD-160 digest of ``data``."""
    if isinstance(data, memoryview):
        data = data.tobytes()
    n = len(data)
    # Padding: 0x80, zeros up to 56 mod 64, then the bit length as a little-endian 64-bit integer.
    msg = bytes(data) + b"\x80" + b"\x00" * ((55 - n) % 64) + _PACK_LEN((n << 3) & 0xFFFFFFFFFFFFFFFF)
    h = _H0
    compress = _compress
    unpack = _UNPACK16
    for off in range(0, len(msg), 64):
        h = compress(h, unpack(msg, off))
    return _PACK5(*h)
