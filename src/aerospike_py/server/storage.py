"""In-memory storage of the embedded server: namespaces, records, expiry, truncation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from typing import Any

from .._wire.constants import N_PARTITIONS
from .._wire.digest import partition_id
from .._wire.expiry import citrus_seconds

_value = itemgetter(1)


class Clock:
    """Server time; tests can move it forward instead of sleeping (``advance``)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self.offset: float = 0.0

    def time(self) -> float:
        """Server time: Unix seconds of the underlying clock plus what :meth:`advance` added."""
        return self._now() + self.offset

    def citrus_now(self) -> int:
        """Seconds since 2010-01-01 (the epoch of void times)."""
        return citrus_seconds(self.time())

    def nanos(self) -> int:
        """:meth:`time` in nanoseconds (record last-update times)."""
        return int(self.time() * 1e9)

    def advance(self, seconds: float) -> None:
        """Move server time forward by ``seconds`` without sleeping: records whose TTL runs out
        in that time expire (tests of TTLs, sessions and expiry)."""
        self.offset += seconds


def delete_bin(bins: dict[str, Any], name: str) -> None:
    """Remove bin ``name`` as the real server does: the last bin takes its place (bin order is
    visible to clients reading all bins)."""
    if name not in bins:
        return
    last, value = bins.popitem()
    if last == name:
        return
    items = list(bins.items())
    for i, (n, _) in enumerate(items):
        if n == name:
            items[i] = (last, value)
            break
    bins.clear()
    bins.update(items)


class StoredRecord:
    """A record: bins as raw particles ``{name: (particle_type, bytes)}``, plus metadata.

    Stored records are replaced, not changed, by writes (a write works on :meth:`copy`), so
    ``packed`` (every bin packed as read-reply ops, filled by the first read of all bins) stays
    valid; code that changes the bins of a stored record in place must set it to ``None``.
    """

    __slots__ = ("bins", "generation", "void_time", "set_name", "key", "last_update_ns", "digest", "packed")

    def __init__(self, digest: bytes, set_name: str) -> None:
        self.digest: bytes = digest
        self.bins: dict[str, tuple[int, bytes]] = {}
        self.generation: int = 0
        self.void_time: int = 0
        self.set_name: str = set_name
        self.key: bytes | None = None  # particle type byte + key bytes, when the key was sent
        self.last_update_ns: int = 0
        self.packed: bytes | None = None  # all bins as read-reply ops (a cache, see above)

    def copy(self) -> StoredRecord:
        r = StoredRecord(self.digest, self.set_name)
        r.bins = dict(self.bins)
        r.generation = self.generation
        r.void_time = self.void_time
        r.key = self.key
        r.last_update_ns = self.last_update_ns
        return r

    def size(self) -> int:
        """Approximate stored size in bytes (for record-too-big and ``record_size``)."""
        bins = self.bins
        return (40 + len(self.set_name) + (len(self.key) if self.key else 0) + 4 * len(bins)
                + sum(map(len, bins)) + sum(map(len, map(_value, bins.values()))))


class Namespace:
    """One namespace: records by digest, grouped in 4096 partitions."""

    def __init__(self, name: str, default_ttl: int = 0, replication_factor: int = 1,
                 max_record_size: int = 1024 * 1024) -> None:
        self.name = name
        self.default_ttl = default_ttl
        self.replication_factor = replication_factor
        self.max_record_size = max_record_size
        self.partitions: list[dict[bytes, StoredRecord]] = [{} for _ in range(N_PARTITIONS)]
        #: set name -> truncate threshold (ns); "" means the whole namespace.
        self.truncated: dict[str, int] = {}
        #: Secondary indexes by name (``server.sindex.SecondaryIndex``), kept up to date by every change here.
        self.indexes: dict[str, Any] = {}

    def get(self, digest: bytes, clock: Clock) -> StoredRecord | None:
        """A live record (expired or truncated ones are removed and not returned)."""
        part = self.partitions[partition_id(digest)]
        rec = part.get(digest)
        if rec is None:
            return None
        if rec.void_time and rec.void_time <= clock.citrus_now():
            del part[digest]
            if self.indexes:
                self._unindex(digest)
            return None
        return rec

    def put(self, rec: StoredRecord) -> None:
        """Store ``rec`` (replacing the record of its digest), indexes included."""
        self.partitions[partition_id(rec.digest)][rec.digest] = rec
        if self.indexes:
            for ix in self.indexes.values():
                ix.update(rec)

    def delete(self, digest: bytes) -> bool:
        """Remove the record of ``digest``, indexes included; whether there was one."""
        gone = self.partitions[partition_id(digest)].pop(digest, None) is not None
        if gone and self.indexes:
            self._unindex(digest)
        return gone

    def _unindex(self, digest: bytes) -> None:
        for ix in self.indexes.values():
            ix.remove(digest)

    def replace_partition(self, pid: int, records: dict[bytes, StoredRecord]) -> None:
        """Make ``records`` the content of partition ``pid`` (migrations), indexes included."""
        if self.indexes:
            for digest in self.partitions[pid]:
                self._unindex(digest)
        self.partitions[pid] = records
        if self.indexes:
            for rec in records.values():
                for ix in self.indexes.values():
                    ix.update(rec)

    def clear(self) -> None:
        """Delete every record (indexes stay, empty)."""
        self.partitions = [{} for _ in range(N_PARTITIONS)]
        for ix in self.indexes.values():
            ix.clear()

    def records(self, pids: Iterable[int] | None = None, clock: Clock | None = None) -> Iterator[tuple[int, StoredRecord]]:
        """Iterate ``(pid, record)`` over live records (optionally only some partitions)."""
        now = clock.citrus_now() if clock is not None else 0
        for pid in range(N_PARTITIONS) if pids is None else pids:
            part = self.partitions[pid]
            for digest, rec in list(part.items()):
                if now and rec.void_time and rec.void_time <= now:
                    part.pop(digest, None)
                    if self.indexes:
                        self._unindex(digest)
                    continue
                yield pid, rec

    def truncate(self, set_name: str | None, before_ns: int) -> int:
        """Delete records of a set (or all) last updated before ``before_ns``; return the count."""
        n = 0
        for part in self.partitions:
            for digest, rec in list(part.items()):
                if (not set_name or rec.set_name == set_name) and rec.last_update_ns <= before_ns:
                    del part[digest]
                    if self.indexes:
                        self._unindex(digest)
                    n += 1
        return n

    def count(self) -> int:
        """How many records are stored (expired ones not yet removed included)."""
        return sum(len(p) for p in self.partitions)

    def set_names(self) -> dict[str, int]:
        """Records stored per set name (``""``: no set)."""
        out: dict[str, int] = {}
        for part in self.partitions:
            for rec in part.values():
                out[rec.set_name] = out.get(rec.set_name, 0) + 1
        return out
