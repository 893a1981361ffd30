"""Bounded memos: dicts whose misses convert the key, remembered when it is short."""

from __future__ import annotations

from collections.abc import Callable, Sized
from typing import TypeVar

K = TypeVar("K", bound=Sized)
V = TypeVar("V")


class Memo(dict[K, V]):
    """``memo[k]``: a hit is one dict lookup; a miss returns ``convert(k)`` (which may raise) and
    remembers it when ``len(k) <= max_len``. Bounded whatever the workload: emptied when
    ``max_entries`` are held."""

    __slots__ = ("convert", "max_entries", "max_len")

    def __init__(self, convert: Callable[[K], V], max_entries: int = 4096, max_len: int = 64) -> None:
        super().__init__()
        self.convert = convert
        self.max_entries = max_entries
        self.max_len = max_len

    def __missing__(self, k: K) -> V:
        v = self.convert(k)
        if len(k) <= self.max_len:
            if len(self) >= self.max_entries:
                self.clear()
            self[k] = v
        return v


__all__ = ["Memo"]
