"""NumPy batches: ``batch_read(..., _dtype=...)`` into a structured array, ``batch_write_numpy``.

numpy is optional: it is imported when these functions run, never at ``import aerospike_py``.

Read: one row per requested key, in request order. Field names are bin names. Ints (``i1..i8``,
``u1..u8``), floats (``f2/f4/f8``), fixed bytes (``S<n>``), void (``V<n>``) and sub-arrays of
numbers (filled from a blob's raw bytes) are allowed; ``U`` and ``O`` raise TypeError. Missing
records and missing bins stay zero; ``result_codes`` says which rows were found. A value that does
not fit its field raises OverflowError; a bin of another kind (e.g. a string for an int field)
raises TypeError; strings/blobs longer than an ``S``/``V`` field are truncated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._commands.batch import NO_RESPONSE, BatchState, apply_errors
from .exception import InvalidArgError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["NumpyBatchRecords"]

_META_DTYPE = [("gen", "u4"), ("ttl", "u4")]
_NEVER = 0xFFFFFFFF
_CITRUS_EPOCH = 1262304000
_INT64_MAX = (1 << 63) - 1


class NumpyBatchRecords:
    """Result of a numpy ``batch_read``: ``batch_records`` (structured array), ``meta``
    (``gen``/``ttl`` per row), ``result_codes`` (int32 per row), lookup by user key."""

    def __init__(self, batch_records: np.ndarray, meta: np.ndarray, result_codes: np.ndarray,
                 _map: dict[Any, int]) -> None:
        self.batch_records = batch_records
        self.meta = meta
        self.result_codes = result_codes
        self._map = _map

    def get(self, key: str | int | bytes) -> np.void:
        """The row of a user key (KeyError when it was not requested)."""
        return self.batch_records[self._map[key]]

    def __contains__(self, key: object) -> bool:
        return key in self._map

    def __len__(self) -> int:
        return len(self.batch_records)

    def __iter__(self) -> Iterator[np.void]:
        return iter(self.batch_records)

    def __repr__(self) -> str:
        ok = int((self.result_codes == 0).sum())
        return f"NumpyBatchRecords(count={len(self)}, ok={ok}, fields={list(self.batch_records.dtype.names)})"


def _np() -> Any:
    try:
        import numpy
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("numpy is required for _dtype batches: pip install 'aerospike-purepy[numpy]'") from None
    return numpy


def check_dtype(dtype: Any) -> np.dtype:
    """A structured dtype whose fields are all numpy kinds we can fill (TypeError otherwise)."""
    np = _np()
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"_dtype: {e}") from None
    if not dt.names:
        raise TypeError("_dtype must be a structured dtype (one field per bin)")
    for name in dt.names:
        f = dt.fields[name][0]
        base = f.subdtype[0] if f.subdtype else f
        if f.subdtype and base.kind not in "iuf":
            raise TypeError(f"_dtype field {name!r}: sub-arrays must be of ints or floats, not {base}")
        if base.kind not in "iufSV":
            raise TypeError(f"_dtype field {name!r}: kind {base.kind!r} ({base}) is not supported "
                            "(use ints, floats, S<n> or V<n>)")
    return dt


#: Particle types a field kind accepts: ints, floats (ints too), bytes-like (string, blob).
_ACCEPTS = {"i": (1,), "u": (1,), "f": (1, 2), "S": (3, 4), "V": (3, 4)}
_PY_TYPES = {1: (int,), 2: (float, int), 3: (bytes,), 4: (bytes,)}


def _check_chunk(name: str, field: Any, kind: str, ptype: int | None, values: Any) -> None:
    """TypeError unless every value of a chunk can fill the field."""
    accepts = _ACCEPTS[kind]
    if ptype is not None:  # a layout chunk: one particle type for the whole chunk
        if ptype in accepts:
            return
    else:
        types = set(map(type, values))
        if all(any(t is a for pt in accepts for a in _PY_TYPES[pt]) for t in types):
            return
    raise TypeError(f"bin {name!r}: a value of another type cannot fill field {field}")


def _fill_column(np: Any, arr: Any, name: str, chunks: list[tuple[Any, Any, int | None]]) -> None:
    field = arr.dtype.fields[name][0]
    base, shape = field.subdtype if field.subdtype else (field, None)
    kind = "S" if shape is not None else field.kind
    rows: list[int] = []
    values: list[Any] = []
    for r, v, ptype in chunks:
        _check_chunk(name, field, kind, ptype, v)
        rows.extend(r)
        values.extend(v)
    col = arr[name]
    if shape is not None:
        tmp = np.array(values, dtype=f"S{field.itemsize}")
        col[rows] = tmp.view(base).reshape((len(rows), *shape))
    elif kind in "iu":
        src = np.array(values, dtype=np.int64)
        info = np.iinfo(field)
        if int(src.min()) < info.min or int(src.max()) > info.max:
            raise OverflowError(f"bin {name!r}: a value does not fit in {field}")
        col[rows] = src
    elif kind == "f":
        src = np.array(values, dtype=np.float64)
        with np.errstate(over="ignore"):
            conv = src.astype(field)
        if not np.array_equal(np.isfinite(src), np.isfinite(conv)):
            raise OverflowError(f"bin {name!r}: a value does not fit in {field}")
        col[rows] = conv
    else:  # S / V: longer values are truncated, shorter ones zero-padded
        tmp = np.array(values, dtype=f"S{field.itemsize}")
        col[rows] = tmp if kind == "S" else tmp.view(field)


def to_numpy(state: BatchState, dtype: Any) -> NumpyBatchRecords:
    """Slots -> NumpyBatchRecords (records that matched a layout are filled column-wise)."""
    np = _np()
    import time

    keys, slots = state.keys, state.slots
    n = len(keys)
    arr = np.zeros(n, dtype)
    codes = np.array([NO_RESPONSE if s is None else s[0] for s in slots], dtype=np.int32)
    ok = [i for i, s in enumerate(slots) if s is not None and not s[0]]
    meta = np.zeros(n, _META_DTYPE)
    if ok:
        meta["gen"][ok] = [slots[i][1] for i in ok]
        vt = np.array([slots[i][2] for i in ok], dtype=np.int64)
        ttl = np.maximum(vt + (_CITRUS_EPOCH - int(time.time())), 1)
        meta["ttl"][ok] = np.where(vt == 0, _NEVER, ttl)
    names = set(dtype.names)
    chunks: dict[str, list[tuple[Any, Any, int | None]]] = {nm: [] for nm in dtype.names}
    fast = [i for i in ok if len(slots[i]) == 6]
    if fast:
        groups: dict[int, list[int]] = {}
        for i in fast:
            groups.setdefault(id(slots[i][4]), []).append(i)
        for rows in groups.values():
            layout = slots[rows[0]][4]
            cols = list(zip(*[slots[i][5] for i in rows], strict=True))
            for j, bname in enumerate(layout.names):
                if bname in names:
                    chunks[bname].append((rows, cols[j], layout.ptypes[j]))
    if len(fast) < len(ok):
        generic: dict[str, tuple[list[int], list[Any]]] = {}
        for i in ok:
            s = slots[i]
            if len(s) == 6:
                continue
            for bname, v in s[3].items():
                if bname in names:
                    c = generic.get(bname)
                    if c is None:
                        c = generic[bname] = ([], [])
                    c[0].append(i)
                    c[1].append(v)
        for bname, (rows, vals) in generic.items():
            chunks[bname].append((rows, vals, None))
    for nm, ch in chunks.items():
        if ch:
            _fill_column(np, arr, nm, ch)
    user_keys = [k.user_key for k in keys]
    kmap = dict(zip(reversed(user_keys), range(n - 1, -1, -1), strict=True))  # first occurrence wins
    kmap.pop(None, None)
    return NumpyBatchRecords(arr, meta, codes, kmap)


def numpy_combiner(cmds: list[Any], state: BatchState, dtype: Any) -> Any:
    def combine(results: list[Any]) -> NumpyBatchRecords:
        apply_errors(cmds, results, False)
        return to_numpy(state, dtype)

    return combine


def records_from_array(data: Any, namespace: str, set_name: str, dtype: Any, key_field: str = "_key") -> list:
    """Rows of a structured array -> ``[(key, bins)]`` for ``batch_write``.

    ``key_field`` holds the user key (int, or ``S`` bytes with trailing NULs removed, decoded as
    UTF-8 when possible). Fields starting with ``_`` are not bins; ``_namespace``/``_set`` columns
    override the target per row. Ints are written as integers, floats as floats, ``S``/``V`` and
    sub-array fields as blobs.
    """
    np = _np()
    if not isinstance(data, np.ndarray) or not data.dtype.names:
        raise InvalidArgError("data must be a numpy structured array")
    dt = np.dtype(dtype)
    if dt != data.dtype:
        raise TypeError(f"_dtype {dt} does not match the array's dtype {data.dtype}")
    if key_field not in dt.names:
        raise InvalidArgError(f"key_field {key_field!r} is not a field of the dtype")
    if dt.fields[key_field][0].kind not in "iuS":
        raise InvalidArgError(f"key_field {key_field!r} must be an int or S<n> field")
    keys = [_user_key(k) for k in data[key_field].tolist()]
    nss = data["_namespace"].tolist() if "_namespace" in dt.names else None
    sets = data["_set"].tolist() if "_set" in dt.names else None
    bin_cols = []
    for nm in dt.names:
        if nm.startswith("_"):
            continue
        f = dt.fields[nm][0]
        col = data[nm]
        if f.subdtype or f.kind == "V":
            vals = [bytes(r.tobytes()) for r in col]
        elif f.kind == "u":
            if f.itemsize == 8 and len(col) and int(col.max()) > _INT64_MAX:
                raise OverflowError(f"field {nm!r}: a uint64 value is above the int64 range")
            vals = col.tolist()
        elif f.kind in "ifS":
            vals = col.tolist()
        else:
            raise TypeError(f"field {nm!r}: kind {f.kind!r} cannot be written")
        bin_cols.append((nm, vals))
    records = []
    for i, k in enumerate(keys):
        ns = _text(nss[i]) if nss is not None else namespace
        st = _text(sets[i]) if sets is not None else set_name
        records.append(((ns, st, k), {nm: vals[i] for nm, vals in bin_cols}))
    return records


def _user_key(k: Any) -> Any:
    if isinstance(k, bytes):
        k = k.rstrip(b"\x00")
        try:
            return k.decode()
        except UnicodeDecodeError:
            return k
    return int(k)


def _text(v: Any) -> str:
    return v.rstrip(b"\x00").decode() if isinstance(v, bytes) else str(v)
