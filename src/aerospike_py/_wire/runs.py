"""Runs of same-shape records in a reply frame (batch and query answers).

A record *shape* fixes some bytes of each record message (header fields, op headers, bin names)
and leaves the rest (generation, values...) free. Records of one shape have one size, so in a run
of ``m`` of them, byte ``c`` of every record is the strided slice ``buf[off + c : off + m * size :
size]``, which must be that byte repeated: one C-level comparison per fixed byte checks the whole
run, and the first record where any byte differs ends it (the fast path stays exact).
"""

from __future__ import annotations

from collections.abc import Sequence

#: Records checked before the whole rest of the frame is (a short run costs little).
PROBE = 16


def run_length(checks: Sequence[tuple[int, bytes]], size: int, buf: bytes, off: int, end: int) -> int:
    """How many records of ``size`` bytes from ``off`` (up to ``end``) hold every ``(offset in the
    record, byte)`` of ``checks``; a few records are checked before all of them."""
    total = (end - off) // size
    m = _check(checks, size, buf, off, min(total, PROBE))
    return _check(checks, size, buf, off, total) if m == PROBE < total else m


def _check(checks: Sequence[tuple[int, bytes]], size: int, buf: bytes, off: int, m: int) -> int:
    for c, b in checks:
        if m == 0:
            return 0
        col = buf[off + c : off + m * size : size]
        if col != b * m:
            m = len(col) - len(col.lstrip(b))  # records before the first whose byte differs
    return m


__all__ = ["PROBE", "run_length"]
