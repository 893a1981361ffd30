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

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._commands.base import MORE, raise_for
from ._commands.batch import NO_RESPONSE, BatchState, layout_key
from ._wire.constants import INFO3_LAST
from ._wire.expiry import CITRUS_EPOCH, NEVER_EXPIRES
from ._wire.message import MSG_HEADER, OP_HEADER, skip_fields
from ._wire.values import decode_particle
from .exception import _InvalidArgType, _InvalidArgValue

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["NumpyBatchRecords"]

_META_DTYPE = [("gen", "u4"), ("ttl", "u4")]
_META_NP: Any = None  # np.dtype(_META_DTYPE), made when numpy is first used
_INT64_MAX = (1 << 63) - 1
_unpack_msg = MSG_HEADER.unpack_from
_unpack_op = OP_HEADER.unpack_from


class NumpyBatchRecords:
    """Result of a numpy ``batch_read``: ``batch_records`` (structured array), ``meta``
    (``gen``/``ttl`` per row), ``result_codes`` (int32 per row), lookup by user key."""

    def __init__(self, batch_records: np.ndarray, meta: np.ndarray, result_codes: np.ndarray,
                 _map: dict[Any, int] | None = None, _keys: list[Any] | None = None) -> None:
        self.batch_records = batch_records
        self.meta = meta
        self.result_codes = result_codes
        self._map_ = _map
        self._keys = _keys  # request keys: the user-key map is built on first lookup

    @property
    def _map(self) -> dict[Any, int]:
        m = self._map_
        if m is None:
            user_keys = [k.user_key for k in self._keys or ()]
            n = len(user_keys)
            m = dict(zip(reversed(user_keys), range(n - 1, -1, -1), strict=True))  # first occurrence wins
            m.pop(None, None)
            self._map_ = m
        return m

    def get(self, key: str | int | bytes) -> np.void:
        """The row of a user key (KeyError when it was not requested)."""
        row: np.void = self.batch_records[self._map[key]]
        return row

    def __contains__(self, key: object) -> bool:
        return key in self._map

    def __len__(self) -> int:
        return len(self.batch_records)

    def __iter__(self) -> Iterator[np.void]:
        return iter(self.batch_records)

    def __repr__(self) -> str:
        ok = int((self.result_codes == 0).sum())
        return f"NumpyBatchRecords(count={len(self)}, ok={ok}, fields={list(self.batch_records.dtype.names or ())})"


def _np() -> Any:
    """numpy, imported on first use."""
    global _META_NP, _NUMPY
    if _NUMPY is not None:
        return _NUMPY
    try:
        import numpy
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("numpy is required for _dtype batches: pip install 'aerospike-purepy[numpy]'") from None
    _META_NP = numpy.dtype(_META_DTYPE)
    _NUMPY = numpy
    return numpy


_NUMPY: Any = None


def _check_dtype(dtype: Any) -> np.dtype[np.void]:
    """A structured dtype whose fields are all numpy kinds we can fill (TypeError otherwise)."""
    numpy = _np()
    try:
        dt: np.dtype[np.void] = numpy.dtype(dtype)
    except TypeError as e:
        raise _InvalidArgType(f"_dtype: {e}") from None
    if dt in _CHECKED:
        return dt
    fields = dt.fields
    if not dt.names or fields is None:
        raise _InvalidArgType("_dtype must be a structured dtype (one field per bin)")
    for name in dt.names:
        f = fields[name][0]
        base = f.subdtype[0] if f.subdtype else f
        if f.subdtype and base.kind not in "iuf":
            raise _InvalidArgType(f"_dtype field {name!r}: sub-arrays must be of ints or floats, not {base}")
        if base.kind not in "iufSV":
            raise _InvalidArgType(f"_dtype field {name!r}: kind {base.kind!r} ({base}) is not supported "
                            "(use ints, floats, S<n> or V<n>)")
    if len(_CHECKED) >= 256:
        _CHECKED.clear()
    _CHECKED.add(dt)
    return dt


#: Dtypes _check_dtype accepted (equal dtypes hash alike): later calls skip the field walk.
_CHECKED: set[Any] = set()


#: Particle types a field kind accepts: ints, floats (ints too), bytes-like (string, blob).
_ACCEPTS = {"i": (1,), "u": (1,), "f": (1, 2), "S": (3, 4), "V": (3, 4)}
_PY_TYPES = {1: (int,), 2: (float, int), 3: (bytes,), 4: (bytes,)}
#: Records a vectorised pass must accept to be worth it; after a short one, parse this many in Python.
_MIN_RUN = 4
_PY_STRETCH = 32
#: Runs of up to this many fixed bytes are checked with one ``take`` of cached flat offsets (larger
#: ones by a 2-D index); the offsets and the bytes they must hold, by (layout, record count).
_FLAT_MAX = 1 << 15
_FLAT: dict[tuple[Any, int], tuple[Any, bytes]] = {}


class _Layout:
    """One record shape as a structured dtype over the reply bytes (big-endian header fields and
    values at their offsets), plus the bytes every record of that shape has in common: result
    code, info3, field/op counts, op headers and bin names. Checking those bytes row by row
    (vectorised) makes the fast path exact."""

    __slots__ = ("size", "dtype", "meta", "names", "ptypes", "cols", "template", "tmpl", "plans")

    def __init__(self, np: Any, buf: bytes, off: int, n_ops: int) -> None:
        names, formats, offsets = ["_g", "_v", "_i"], [">u4", ">u4", ">u4"], [6, 10, 14]
        const = [3, 5, 18, 19, 20, 21]  # info3, result code, n_fields, n_ops
        bins, ptypes = [], []
        p = off + 22
        for j in range(n_ops):
            size, _op, pt, _, nlen = _unpack_op(buf, p)
            vlen = size - 4 - nlen
            rel = p - off
            const.extend(range(rel, rel + 8 + nlen))
            bins.append(buf[p + 8 : p + 8 + nlen].decode())
            ptypes.append(pt)
            if vlen:
                names.append(f"v{j}")
                formats.append(">i8" if pt == 1 and vlen == 8 else ">f8" if pt == 2 and vlen == 8 else f"S{vlen}")
                offsets.append(rel + 8 + nlen)
            p += 4 + size
        self.size = p - off
        self.dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": self.size})
        #: Generation and void time, cast into the meta dtype (``ttl`` then holds the void time).
        self.meta = np.dtype({"names": ["gen", "ttl"], "formats": [">u4", ">u4"], "offsets": [6, 10],
                              "itemsize": self.size})
        self.names = tuple(bins)
        self.ptypes = tuple(ptypes)
        self.cols = np.array(const, dtype=np.intp)
        self.template = np.frombuffer(buf, np.uint8, count=self.size, offset=off)[self.cols].copy()
        self.tmpl = self.template.tobytes()
        #: Fill plans by output dtype (see :class:`_Plan`).
        self.plans: dict[Any, _Plan] = {}

    def same_shape(self, np: Any, buf: bytes, off: int, n: int) -> bool:
        """Whether all ``n`` records from ``off`` have this shape (fast check of the usual case)."""
        rows = np.frombuffer(buf, np.uint8, count=n * self.size, offset=off)
        if n * len(self.cols) > _FLAT_MAX:
            return bool(rows.reshape(n, self.size)[:, self.cols].tobytes() == self.tmpl * n)
        f = _FLAT.get((self, n))
        if f is None:
            if len(_FLAT) >= 32:
                _FLAT.clear()
            f = _FLAT[(self, n)] = ((np.arange(n, dtype=np.intp)[:, None] * self.size + self.cols)
                                    .ravel(), self.tmpl * n)
        return bool(rows.take(f[0]).tobytes() == f[1])

    def values(self, np: Any, view: Any, j: int) -> Any:
        name = f"v{j}"
        return view[name] if name in view.dtype.names else np.zeros(len(view), "S1")


class _Plan:
    """How a run of one layout fills one output dtype: the fields whose value converts exactly by a
    numpy cast (int64 into ``i8``, int64/double into ``f8``, bytes into ``S<n>``) are copied by one
    structured assignment (``src`` view of the run -> ``dst`` view of the output, by position);
    ``rest`` (layout position, bin name) go through the checked per-field fill."""

    __slots__ = ("src", "dst", "rest")

    def __init__(self, np: Any, lay: _Layout, dtype: Any) -> None:
        ldt = lay.dtype
        sn, sf, so, dn, df, do = [], [], [], [], [], []
        rest = []
        twice = {b for b in lay.names if lay.names.count(b) > 1}  # filled in order: the last one wins
        for j, bname in enumerate(lay.names):
            if bname not in dtype.names:
                continue
            field, foff = dtype.fields[bname][:2]
            v = f"v{j}"
            direct = False
            if v in ldt.names and not field.subdtype and bname not in twice:
                vf, voff = ldt.fields[v][:2]
                pt, k, big = lay.ptypes[j], field.kind, field.itemsize == 8
                direct = ((k == "i" and big and pt == 1 and vf.kind == "i")
                          or (k == "f" and big and pt in (1, 2) and vf.kind in "if")
                          or (k == "S" and pt in (3, 4) and vf.kind == "S"))
            if direct:
                sn.append(v)
                sf.append(vf)
                so.append(voff)
                dn.append(bname)
                df.append(field)
                do.append(foff)
            else:
                rest.append((j, bname))
        self.src = np.dtype({"names": sn, "formats": sf, "offsets": so, "itemsize": ldt.itemsize}) if sn else None
        self.dst = np.dtype({"names": dn, "formats": df, "offsets": do, "itemsize": dtype.itemsize}) if dn else None
        self.rest = tuple(rest)


def _plan(np: Any, lay: _Layout, dtype: Any) -> _Plan:
    p = lay.plans.get(dtype)
    if p is None:
        if len(lay.plans) >= 64:
            lay.plans.clear()
        p = lay.plans[dtype] = _Plan(np, lay, dtype)
    return p


#: The layout learned last, by any call: the next call's first guess (see _NumpySink).
_LAST_LAYOUT: list[Any] = [None]
#: Layouts by signature (op headers and bin names of a record), shared by all calls.
_LAYOUTS: dict[bytes, _Layout] = {}


class _NumpySink:
    """Collects a numpy batch_read's reply: runs of same-shape records stay as structured views over
    the reply bytes (no per-record Python work); other records are parsed one by one."""

    def __init__(self, n_keys: int) -> None:
        self.n_keys = n_keys  # a record index at or past it is a malformed reply
        self.np = _np()
        #: The layout of the run being read; at first, a guess: the last layout any call learned
        #: (checked exactly like any other; a wrong guess only costs that check).
        self.lay: _Layout | None = _LAST_LAYOUT[0]
        self.guess = self.lay is not None
        #: (layout, structured view of the run, frame bytes, offset of its first record).
        self.runs: list[tuple[_Layout, Any, bytes, int]] = []
        #: Records parsed one by one: (index, result code, generation, void time, bins or None).
        self.generic: list[tuple[int, int, int, int, dict[str, Any] | None]] = []

    def feed(self, cmd: Any, body: Any, node: str) -> Any:
        """Parse one reply frame; None after the last message, else MORE."""
        np = self.np
        buf = bytes(body)  # the views keep this frame alive; the executor may reuse its buffer
        end = len(buf)
        off = 0
        lay = self.lay
        python_until = 0
        while off < end:
            if lay is not None and off >= python_until and end - off >= lay.size:
                n = (end - off) // lay.size
                if lay.same_shape(np, buf, off, n):  # the common case
                    m = n
                else:
                    rows = np.frombuffer(buf, np.uint8, count=n * lay.size, offset=off).reshape(n, lay.size)
                    ok = (rows[:, lay.cols] == lay.template).all(1)
                    m = n if ok.all() else int(ok.argmin())
                if m:
                    view = np.frombuffer(buf, lay.dtype, count=m, offset=off)
                    if int(view["_i"].max()) >= self.n_keys:
                        raise IndexError("batch index beyond the request's keys")
                    self.runs.append((lay, view, buf, off))
                    off += m * lay.size
                    if off >= end:
                        break
                elif self.guess:  # the guessed layout does not fit: learn the record's own
                    lay = self.lay = None
                if m < _MIN_RUN and lay is not None:
                    python_until = off + _PY_STRETCH * lay.size
                self.guess = False
            if off >= python_until:
                new = self._layout_at(buf, off)
                if new is not None and new is not lay:
                    lay = self.lay = _LAST_LAYOUT[0] = new
                    continue  # the record at off has this layout: the next pass takes it
            off, done = self._one(cmd, buf, off, node)
            if done:
                return None
        return MORE

    def _layout_at(self, buf: bytes, off: int) -> _Layout | None:
        """The layout of the found record at ``off`` (None for errors, LAST, records with fields)."""
        _, _, _, info3, _, rc, _, _, _, n_fields, n_ops = _unpack_msg(buf, off)
        if info3 or rc or n_fields or not n_ops:
            return None
        key = layout_key(buf, off, n_ops)
        lay = _LAYOUTS.get(key)
        if lay is None:
            if len(_LAYOUTS) >= 256:
                _LAYOUTS.clear()
            lay = _LAYOUTS[key] = _Layout(self.np, buf, off, n_ops)
        return lay

    def _one(self, cmd: Any, buf: bytes, off: int, node: str) -> tuple[int, bool]:
        """Parse the message at ``off`` into ``generic``: (next offset, was it the last)."""
        _, _, _, info3, _, rc, gen, vt, idx, n_fields, n_ops = _unpack_msg(buf, off)
        off += 22
        if info3 & INFO3_LAST:
            if rc:
                raise_for(cmd, rc, node)
            return off, True
        if idx >= self.n_keys:
            raise IndexError("batch index beyond the request's keys")
        if n_fields:
            off = skip_fields(buf, off, n_fields)
        if rc:
            for _ in range(n_ops):
                off += 4 + _unpack_op(buf, off)[0]
            self.generic.append((idx, rc, gen, vt, None))
            return off, False
        bins: dict[str, Any] = {}
        for _ in range(n_ops):
            size, _op, pt, _, nlen = _unpack_op(buf, off)
            vs = off + 8 + nlen
            name = buf[off + 8 : vs].decode()
            off += 4 + size
            v = buf[vs:off]
            if pt == 1 and len(v) != 8:
                raise ValueError(f"integer particle of {len(v)} bytes")
            bins[name] = (int.from_bytes(v, "big", signed=True) if pt == 1
                          else v if pt in (3, 4) else decode_particle(pt, v))
        self.generic.append((idx, 0, gen, vt, bins))
        return off, False


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
    raise _InvalidArgType(f"bin {name!r}: a value of another type cannot fill field {field}")


def _fill_column(np: Any, arr: Any, name: str, chunks: list[tuple[Any, Any, int | None]]) -> None:
    """Fill one field from chunks of (rows, values, particle type or None for Python values)."""
    field = arr.dtype.fields[name][0]
    base, shape = field.subdtype if field.subdtype else (field, None)
    kind = "S" if shape is not None else field.kind
    if kind in "iu":
        inter: Any = np.int64
    elif kind == "f":
        inter = np.float64
    else:
        inter = f"S{field.itemsize}"  # longer values are truncated, shorter ones zero-padded
    parts = []
    for _, v, ptype in chunks:
        _check_chunk(name, field, kind, ptype, v)
        parts.append(np.asarray(v, dtype=inter))
    rows = np.concatenate([np.asarray(r, dtype=np.intp) for r, _, _ in chunks]) if len(chunks) > 1 \
        else np.asarray(chunks[0][0], dtype=np.intp)
    src = np.concatenate(parts) if len(parts) > 1 else parts[0]
    col = arr[name]
    if shape is not None:
        col[rows] = np.ascontiguousarray(src).view(base).reshape((len(rows), *shape))  # a run's column is strided
    elif kind in "iu":
        if kind == "u" or field.itemsize < 8:  # int64 values always fit an int64 field
            info = np.iinfo(field)
            if len(src) and (int(src.min()) < info.min or int(src.max()) > info.max):
                raise OverflowError(f"bin {name!r}: a value does not fit in {field}")
        col[rows] = src
    elif kind == "f":
        if field.itemsize >= 8:
            col[rows] = src
            return
        with np.errstate(over="ignore"):
            conv = src.astype(field)
        if not np.array_equal(np.isfinite(src), np.isfinite(conv)):
            raise OverflowError(f"bin {name!r}: a value does not fit in {field}")
        col[rows] = conv
    else:
        col[rows] = src if kind == "S" else src.view(field)


def _to_numpy(state: BatchState, sink: _NumpySink, dtype: Any) -> NumpyBatchRecords:
    """The collected reply -> NumpyBatchRecords (runs of same-shape records filled column-wise)."""
    np = sink.np
    keys = state.keys
    if not sink.generic and len(sink.runs) == 1:
        return _one_run(np, keys, sink.runs[0], dtype)
    n = len(keys)
    arr = np.zeros(n, dtype)
    codes = np.full(n, NO_RESPONSE, dtype=np.int32)
    meta = np.zeros(n, _META_NP)
    names = set(dtype.names)
    chunks: dict[str, list[tuple[Any, Any, int | None]]] = {nm: [] for nm in dtype.names}
    ok_rows, ok_gen, ok_vt = [], [], []
    for lay, view, _, _ in sink.runs:
        rows = view["_i"].astype(np.intp)
        ok_rows.append(rows)
        ok_gen.append(view["_g"])
        ok_vt.append(view["_v"])
        for j, bname in enumerate(lay.names):
            if bname in names:
                chunks[bname].append((rows, lay.values(np, view, j), lay.ptypes[j]))
    if sink.generic:
        g = sink.generic
        codes[[r[0] for r in g]] = [r[1] for r in g]
        found = [r for r in g if not r[1]]
        if found:
            ok_rows.append(np.array([r[0] for r in found], dtype=np.intp))
            ok_gen.append(np.array([r[2] for r in found], dtype=np.uint32))
            ok_vt.append(np.array([r[3] for r in found], dtype=np.uint32))
            generic: dict[str, tuple[list[int], list[Any]]] = {}
            for r in found:
                for bname, v in r[4].items():  # type: ignore[union-attr]
                    if bname in names:
                        c = generic.get(bname)
                        if c is None:
                            c = generic[bname] = ([], [])
                        c[0].append(r[0])
                        c[1].append(v)
            for bname, (rows, vals) in generic.items():
                chunks[bname].append((rows, vals, None))
    if ok_rows:
        rows = np.concatenate(ok_rows)
        codes[rows] = 0
        meta["gen"][rows] = np.concatenate(ok_gen)
        meta["ttl"][rows] = _ttls(np, np.concatenate(ok_vt))
    for nm, ch in chunks.items():
        if ch:
            _fill_column(np, arr, nm, ch)
    return NumpyBatchRecords(arr, meta, codes, None, keys)


def _ttls(np: Any, void_times: Any) -> Any:
    """TTLs of server void times: :func:`aerospike_py._wire.expiry.ttl_of` over an array."""
    vt = void_times.astype(np.int64)
    ttl = np.maximum(vt + (CITRUS_EPOCH - int(time.time())), 1)
    return np.where(vt == 0, NEVER_EXPIRES, ttl)


def _one_run(np: Any, keys: list[Any], run: tuple[_Layout, Any, bytes, int], dtype: Any) -> NumpyBatchRecords:
    """The usual reply, one run of same-shape records: a cached plan fills the run's rows with one
    structured cast (plus the checked fill for the fields it cannot cast exactly); when the run is
    every row in request order (one node), those are the results, else they are scattered."""
    lay, view, buf, off = run
    n, m = len(keys), len(view)
    plan = _plan(np, lay, dtype)
    out = np.zeros(m, dtype)
    # Typed views made with frombuffer (ndarray.view of structured dtypes runs Python-level checks).
    if plan.dst is not None:
        np.frombuffer(out, plan.dst)[...] = np.frombuffer(buf, plan.src, count=m, offset=off)
    for j, bname in plan.rest:
        _fill_column(np, out, bname, [(np.arange(m), lay.values(np, view, j), lay.ptypes[j])])
    meta = np.empty(m, _META_NP)
    meta[...] = np.frombuffer(buf, lay.meta, count=m, offset=off)
    vt = meta["ttl"]
    if vt.tobytes() != _zeros(4 * m):
        meta["ttl"] = _ttls(np, vt)
    else:
        vt.fill(NEVER_EXPIRES)
    idx = view["_i"]
    if m == n and idx.tobytes() == _in_order(np, n):
        return NumpyBatchRecords(out, meta, np.zeros(n, np.int32), None, keys)
    rows = idx.astype(np.intp)
    arr = np.zeros(n, dtype)
    arr[rows] = out
    all_meta = np.zeros(n, _META_NP)
    all_meta[rows] = meta
    codes = np.empty(n, np.int32)
    codes.fill(NO_RESPONSE)
    codes[rows] = 0
    return NumpyBatchRecords(arr, all_meta, codes, None, keys)


_ORDER: list[bytes] = [b""]
_ZEROS: list[bytes] = [b""]


def _zeros(n: int) -> bytes:
    """``n`` zero bytes (kept between calls, up to 4 MiB)."""
    z = _ZEROS[0]
    if len(z) < n:
        if n > 1 << 22:
            return bytes(n)
        z = _ZEROS[0] = bytes(max(n, 4096))
    return z if len(z) == n else z[:n]


def _in_order(np: Any, n: int) -> bytes:
    """Big-endian u32 of 0 .. n-1: the index column of a reply in request order."""
    b = _ORDER[0]
    if len(b) < 4 * n:
        if n > 1 << 20:
            whole: bytes = np.arange(n, dtype=">u4").tobytes()
            return whole
        b = _ORDER[0] = np.arange(max(n, 1024), dtype=">u4").tobytes()
    return b[: 4 * n]


def _from_batch_records(records: list[Any], dtype: Any) -> NumpyBatchRecords:
    """``to_numpy(dtype)`` of a batch result already converted to :class:`BatchRecord` s (the
    general path: one row per record, bins missing from a record or the dtype stay zero)."""
    np = _np()
    dt = _check_dtype(dtype)
    n = len(records)
    arr = np.zeros(n, dt)
    meta = np.zeros(n, _META_NP)
    codes = np.zeros(n, np.int32)
    names = dt.names or ()
    for i, br in enumerate(records):
        codes[i] = br.result
        rec = br.record
        if br.result != 0 or rec is None:
            continue
        if rec.meta is not None:
            meta[i] = (rec.meta.gen, rec.meta.ttl)
        bins = rec.bins or {}
        row = arr[i]
        for name in names:
            v = bins.get(name)
            if v is None:
                continue
            row[name] = v.encode() if isinstance(v, str) else v
    keys = [br.key for br in records]
    return NumpyBatchRecords(arr, meta, codes, None, keys)


def _numpy_result(dtype: Any) -> Any:
    """The finish of a numpy batch_read (see ``batch_steps``)."""

    def finish(state: BatchState, info: Any) -> NumpyBatchRecords:
        return _to_numpy(state, state.sink, dtype)

    return finish


def _records_from_array(data: Any, namespace: str, set_name: str, dtype: Any,
                        key_field: str = "_key") -> list[tuple[tuple[str, str, Any], dict[str, Any]]]:
    """Rows of a structured array -> ``[(key, bins)]`` for ``batch_write``.

    ``key_field`` holds the user key (int, or ``S`` bytes with trailing NULs removed, decoded as
    UTF-8 when possible). Fields starting with ``_`` are not bins; ``_namespace``/``_set`` columns
    override the target per row. Ints are written as integers, floats as floats, ``S``/``V`` and
    sub-array fields as blobs.
    """
    np = _np()
    if not isinstance(data, np.ndarray) or not data.dtype.names:
        raise _InvalidArgType("data must be a numpy structured array")
    dt = np.dtype(dtype)
    if dt != data.dtype:
        raise _InvalidArgType(f"_dtype {dt} does not match the array's dtype {data.dtype}")
    if key_field not in dt.names:
        raise _InvalidArgValue(f"key_field {key_field!r} is not a field of the dtype")
    if dt.fields[key_field][0].kind not in "iuS":
        raise _InvalidArgType(f"key_field {key_field!r} must be an int or S<n> field")
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
            raise _InvalidArgType(f"field {nm!r}: kind {f.kind!r} cannot be written")
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


def __dir__() -> list[str]:
    return sorted(__all__)
