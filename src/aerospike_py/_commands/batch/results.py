"""Batch results: the call's slots -> the public result types (``BatchRecords``,
``BatchWriteRecords``, the lazy ``BatchReadHandle`` of async ``batch_read``)."""

from __future__ import annotations

import gc
import time
from collections.abc import ItemsView, Iterable, Iterator, ValuesView
from typing import Any, cast

from ..._wire.expiry import ttl_of
from ...types import BatchRecord, BatchRecords, BatchRetryInfo, Record, RecordMetadata
from ..base import gc_paused
from .request import NO_RESPONSE, SLOT_BINS, SLOT_RC, BatchState

_tuple_new = tuple.__new__


def to_batch_records(state: BatchState) -> list[BatchRecord]:
    """Slots -> BatchRecord list (in the caller's key order)."""
    if len(state.keys) < 2048 or not gc.isenabled():
        return _to_batch_records(state)
    with gc_paused:  # many small tuples at once, no cycles
        return _to_batch_records(state)


def _to_batch_records(state: BatchState) -> list[BatchRecord]:
    now = time.time()
    new = _tuple_new
    out: list[BatchRecord] = []
    append = out.append
    last_meta = None
    last_gen = last_vt = -1
    for k, s in zip(state.keys, state.slots, strict=True):
        pk = k.public
        if s is None:
            append(new(BatchRecord, (pk, NO_RESPONSE, None, False)))
            continue
        rc, gen, vt, bins, in_doubt = s
        if rc:
            if bins is not None:  # a failed UDF call's FAILURE bin
                meta = new(RecordMetadata, (gen, ttl_of(vt, now)))
                append(new(BatchRecord, (pk, rc, new(Record, (pk, meta, bins)), in_doubt)))
                continue
            append(new(BatchRecord, (pk, rc, None, in_doubt)))
            continue
        if vt != last_vt or gen != last_gen:  # records written together share one metadata tuple
            last_gen, last_vt = gen, vt
            last_meta = new(RecordMetadata, (gen, ttl_of(vt, now)))
        append(new(BatchRecord, (pk, 0, new(Record, (pk, last_meta, bins)), False)))
    return out


def records_result(state: BatchState, info: BatchRetryInfo) -> BatchRecords:
    """Finish of batch_read / batch_operate / batch_remove: :class:`BatchRecords`."""
    return BatchRecords(to_batch_records(state))


def write_result(state: BatchState, info: BatchRetryInfo) -> BatchRecords:
    """Finish of batch_write: :class:`BatchWriteRecords` (BatchRecords with ``retry``)."""
    out = BatchWriteRecords(to_batch_records(state))
    if info != NO_RETRY:
        out.retry = info
    return out


#: The retry report of a call that made one attempt.
NO_RETRY = BatchRetryInfo(1, 1, False, 0)


class BatchWriteRecords(BatchRecords):
    """What ``batch_write`` returns: the seed's :class:`BatchRecords` (same tuple, same field), plus
    ``retry``, a :class:`BatchRetryInfo` of what the retry loop did (as on 0.14's BatchWriteResult)."""

    retry: BatchRetryInfo = NO_RETRY

# --------------------------------------------------------------------------- async handle


class BatchReadHandle:
    """Result of async ``batch_read``: records stay as parsed slots until asked for.

    ``as_dict()`` is the fast path (``{user_key: bins}`` of the records found); ``batch_records``
    builds the :class:`BatchRecord` list once and caches it. ``len()``, indexing, iteration and
    ``keys()`` follow the seed (every requested record); the rest of aerospike-py's
    ``LazyBatchRecords`` API is there too (``to_dict``, ``get``, ``in``, ``values``, ``items``, ...).
    """

    __slots__ = ("_state", "_records", "_dict")

    def __init__(self, state: BatchState) -> None:
        self._state = state
        self._records: list[BatchRecord] | None = None
        self._dict: dict[Any, dict[str, Any]] | None = None

    def as_dict(self) -> dict[Any, dict[str, Any]]:
        """``{user_key: bins}`` of the found records (failed and digest-only records left out)."""
        return {k.user_key: cast("dict[str, Any]", s[SLOT_BINS])
                for k, s in zip(self._state.keys, self._state.slots, strict=True)
                if s is not None and s[SLOT_RC] == 0 and k.user_key is not None}

    def to_dict(self) -> dict[Any, dict[str, Any]]:
        """:meth:`as_dict`, cached (the dict-style methods share it; :meth:`release_cache` drops it)."""
        d = self._dict
        if d is None:
            d = self._dict = self.as_dict()
        return d

    def to_list(self) -> list[dict[str, Any] | None]:
        """Bins of every requested record in request order; ``None`` where it was not read."""
        return [s[SLOT_BINS] if s is not None and s[SLOT_RC] == 0 else None for s in self._state.slots]

    @property
    def batch_records(self) -> list[BatchRecord]:
        recs = self._records
        if recs is None:
            recs = self._records = to_batch_records(self._state)
        return recs

    def found_count(self) -> int:
        """Number of records read successfully."""
        return sum(1 for s in self._state.slots if s is not None and s[SLOT_RC] == 0)

    def keys(self) -> list[Any]:
        """User keys of all requested records, in request order (no record conversion)."""
        return [k.user_key for k in self._state.keys]

    def all_user_keys(self) -> list[Any]:
        """User keys of all requested records, in request order (as :meth:`keys`)."""
        return self.keys()

    def values(self) -> ValuesView[dict[str, Any]]:
        """Bins of the records read (``to_dict().values()``)."""
        return self.to_dict().values()

    def items(self) -> ItemsView[Any, dict[str, Any]]:
        """``(user_key, bins)`` of the records read (``to_dict().items()``)."""
        return self.to_dict().items()

    def get(self, key: object, default: Any = None) -> Any:
        """Bins of the record read for ``key``, else ``default``."""
        return self.to_dict().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def iter_records(self) -> Iterator[BatchRecord]:
        """Every :class:`BatchRecord` (missing and failed ones included), in request order."""
        return iter(self.batch_records)

    def to_numpy(self, dtype: Any) -> Any:
        """The records as a ``NumpyBatchRecords`` of ``dtype``."""
        from ...numpy_batch import _from_batch_records

        return _from_batch_records(self.batch_records, dtype)

    def release_cache(self) -> None:
        """Drop the cached :meth:`to_dict` view and record list (rebuilt when asked for again)."""
        self._dict = None
        self._records = None

    @staticmethod
    def merge_to_dict(handles: Iterable[Any]) -> list[dict[Any, dict[str, Any]]]:
        """``[h.to_dict() for h in handles]``: the dict view of each result, in order."""
        return [h.to_dict() for h in handles]

    def __len__(self) -> int:
        return len(self._state.keys)

    def __getitem__(self, i: int) -> BatchRecord:
        return self.batch_records[i]

    def __iter__(self) -> Iterator[BatchRecord]:
        return iter(self.batch_records)

    def __repr__(self) -> str:
        return f"BatchReadHandle(len={len(self)}, found={self.found_count()})"


def handle_result(state: BatchState, info: BatchRetryInfo) -> BatchReadHandle:
    """Finish of async batch_read: a lazy :class:`BatchReadHandle`."""
    return BatchReadHandle(state)
