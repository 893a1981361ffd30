"""Partition maps: which node holds each of the 4096 partitions of a namespace, per replica."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .._wire.constants import N_PARTITIONS

if TYPE_CHECKING:
    from .cluster import Node

_BITMAP_BYTES = (N_PARTITIONS + 7) // 8


def parse_replicas(value: str) -> dict[str, tuple[int, list[bytes]]]:
    """Parse a ``replicas`` info value: ``ns:[regime,]count,b64,...;...``.

    Returns ``{namespace: (regime, [bitmap per replica rank])}``; a namespace whose maps are not
    valid base64 of 512 bytes each is left out (the node's map for it is not trusted).
    """
    out: dict[str, tuple[int, list[bytes]]] = {}
    for part in value.strip().split(";"):
        if not part:
            continue
        ns, _, rest = part.partition(":")
        items = rest.split(",")
        if len(items) < 2:
            continue
        try:
            a = int(items[0])
            b = int(items[1]) if len(items) > 1 and items[1].isdigit() else None
        except ValueError:
            continue
        if b is not None and len(items) == b + 2:
            regime, count, maps = a, b, items[2:]
        else:
            regime, count, maps = 0, a, items[1:]
        try:
            bitmaps = [base64.b64decode(m, validate=True) for m in maps[:count]]
        except ValueError:  # binascii.Error: a map that is not base64 tells nothing; skip it
            continue
        if count < 1 or len(bitmaps) != count or any(len(m) != _BITMAP_BYTES for m in bitmaps):
            continue  # a cut or wrong-sized map: this node's answer for ns is not usable
        out[ns] = (regime, bitmaps)
    return out


def bitmap_partitions(bitmap: bytes) -> list[int]:
    """Partition ids whose bit is set (bit i, MSB first in each byte, is partition i)."""
    out = []
    for i, byte in enumerate(bitmap):
        if byte:
            base = i * 8
            for j in range(8):
                if byte & (0x80 >> j):
                    out.append(base + j)
    return out


def build_bitmap(pids: Iterable[int]) -> bytes:
    """Inverse of :func:`bitmap_partitions`."""
    bm = bytearray(N_PARTITIONS // 8)
    for p in pids:
        bm[p >> 3] |= 0x80 >> (p & 7)
    return bytes(bm)


class PartitionTable:
    """Replica arrays of one namespace: ``replicas[rank][partition] -> node or None``."""

    __slots__ = ("namespace", "replicas", "regime")

    def __init__(self, namespace: str, n_replicas: int = 1) -> None:
        self.namespace = namespace
        self.replicas: list[list[Node | None]] = [[None] * N_PARTITIONS for _ in range(n_replicas)]
        self.regime = 0

    def update(self, node: Node, regime: int, bitmaps: list[bytes]) -> None:
        """Record what ``node`` says it holds (it may also drop partitions it no longer has)."""
        while len(self.replicas) < len(bitmaps):
            self.replicas.append([None] * N_PARTITIONS)
        self.regime = max(self.regime, regime)
        for rank, bitmap in enumerate(bitmaps):
            arr = self.replicas[rank]
            owned = set(bitmap_partitions(bitmap))
            for pid in range(N_PARTITIONS):
                if pid in owned:
                    arr[pid] = node
                elif arr[pid] is node:
                    arr[pid] = None
        for rank in range(len(bitmaps), len(self.replicas)):
            arr = self.replicas[rank]
            for pid in range(N_PARTITIONS):
                if arr[pid] is node:
                    arr[pid] = None

    def remove_node(self, node: Node) -> None:
        """Forget ``node`` as a holder of any partition."""
        for arr in self.replicas:
            for pid in range(N_PARTITIONS):
                if arr[pid] is node:
                    arr[pid] = None
