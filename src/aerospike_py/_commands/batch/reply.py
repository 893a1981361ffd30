"""Batch replies: frames of messages, one per entry, whose transaction-ttl slot holds the entry's
index, then a message with ``info3 = LAST``. Each node command writes its records into the slot
list the call's nodes share (:class:`~.request.BatchState`), so results come out in the caller's
key order without merging. Runs of records of one layout are decoded by a learned :class:`Layout`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any

from ..._wire import constants as W
from ..._wire.message import MSG_HEADER, OP_HEADER, parse_bins, skip_fields
from ..._wire.runs import run_length as _run_length
from ..._wire.values import decode_particle
from ...exception import (
    AerospikeError,
)
from ..base import MORE, Command, parse_frame_sparing_gc, raise_for
from .request import SlotFields

# --------------------------------------------------------------------------- reply

_unpack_msg = MSG_HEADER.unpack_from
_unpack_op = OP_HEADER.unpack_from
_NAMES: dict[bytes, str] = {}
#: Result code TIMEOUT: the server gave up on a record, which may have been applied.
_SERVER_TIMEOUT = 9


class Layout:
    """The exact shape of a record message (header, ops with their sizes, types and names).

    A run of records of that shape is checked at once: for every byte the shape fixes (result
    code, info3, field and op counts, op headers, bin names), one strided slice of the frame holds
    that byte of every record, and must be that byte repeated. The first record where any differs
    ends the run, so the fast path is exact. The run's values then come from one ``iter_unpack``
    whose format skips the fixed bytes: one tuple per record, ``(gen, void_time, index, *values)``.

    A layout that has decoded ``_COMPILE_AFTER`` records gets ``store``, a function generated for
    it (as ``collections.namedtuple`` generates its methods; bin names enter the source through
    ``repr``) that unpacks each tuple into locals and builds the bins as a dict literal: a run then
    costs no ``zip`` and no ``dict()`` call per record. Layouts seen for a few records only (shapes
    that do not repeat) never pay for the generation.
    """

    __slots__ = ("iter_unpack", "size", "names", "fix", "checks", "store", "served")

    def __init__(self, buf: bytes, off: int, n_ops: int) -> None:
        fmt = [">6xIII4x"]
        checks = [0, 3, 5, 18, 19, 20, 21]
        names, fix = [], []
        p = off + 22
        for j in range(n_ops):
            size, _op, pt, _, nlen = _unpack_op(buf, p)
            vlen = size - 4 - nlen
            checks.extend(range(p - off, p - off + 8 + nlen))
            names.append(buf[p + 8 : p + 8 + nlen].decode())
            if pt == 1 and vlen == 8:
                vf = "q"
            elif pt == 2 and vlen == 8:
                vf = "d"
            else:
                vf = f"{vlen}s"
                if pt != 4:
                    fix.append((j, pt))
            fmt.append(f"{8 + nlen}x{vf}")
            p += 4 + size
        st = struct.Struct("".join(fmt))
        self.iter_unpack = st.iter_unpack
        self.size = st.size
        self.names = tuple(names)
        #: Values the struct leaves as bytes that need decoding: (position, particle type).
        self.fix = tuple(fix)
        #: (offset in the record, the byte it must hold) for every fixed byte.
        self.checks = tuple((c, buf[off + c : off + c + 1]) for c in checks)
        #: ``store(rows, slots)``: the run's tuples into their slots (generated, see the class).
        self.store: Callable[[Iterator[tuple[Any, ...]], list[Any]], None] | None = None
        #: Records decoded without ``store`` so far (approximate: layouts are shared by threads).
        self.served = 0

    def generate(self) -> None:
        """Make :attr:`store` (layouts of up to ``_MAX_GENERATED_OPS`` bins)."""
        n = len(self.names)
        if n > _MAX_GENERATED_OPS:
            self.served = -(1 << 62)  # never again
            return
        fix = dict(self.fix)
        items = []
        for j, name in enumerate(self.names):
            pt = fix.get(j)
            v = f"v{j}" if pt is None else f"v{j}.decode()" if pt == 3 else f"_decode({pt}, v{j})"
            items.append(f"{name!r}: {v}")
        targets = "".join(f", v{j}" for j in range(n))
        src = (
            "def store(rows, slots):\n"
            f"    for gen, vt, idx{targets} in rows:\n"
            f"        slots[idx] = (0, gen, vt, {{{', '.join(items)}}}, False)\n"
        )
        env: dict[str, Any] = {"_decode": decode_particle}
        exec(src, env)  # noqa: S102 - generated from the layout's own names (repr) and particle types
        self.store = env["store"]

    def run_length(self, buf: bytes, off: int, end: int) -> int:
        """How many records from ``off`` have this shape (:func:`~aerospike_py._wire.runs.run_length`)."""
        return _run_length(self.checks, self.size, buf, off, end)


_LAYOUTS: dict[bytes, Layout] = {}


def layout_key(buf: bytes, off: int, n_ops: int) -> bytes:
    """What identifies the shape of the record message at ``off``: its op headers and bin names."""
    p = off + 22
    sig = []
    for _ in range(n_ops):
        size, _op, _pt, _, nlen = _unpack_op(buf, p)
        sig.append(buf[p : p + 8 + nlen])
        p += 4 + size
    return b"".join(sig)


def layout_at(buf: bytes, off: int, n_ops: int) -> Layout:
    """The layout of the found record at ``off``, shared by all calls (keyed by :func:`layout_key`;
    the header bytes a layout checks are the same for every found record)."""
    key = layout_key(buf, off, n_ops)
    lay = _LAYOUTS.get(key)
    if lay is None:
        if len(_LAYOUTS) >= 512:
            _LAYOUTS.clear()
        lay = _LAYOUTS[key] = Layout(buf, off, n_ops)
    return lay


_MAX_LEARNED = 8
#: Records a layout decodes before its ``store`` is generated (generating one costs about what it
#: saves on ~500 records), and the most bins a generated ``store`` takes.
_COMPILE_AFTER = 512
_MAX_GENERATED_OPS = 64
#: After a run shorter than _MIN_RUN, the next _PY_STRETCH records take the general path (frames
#: of mixed shapes stay linear).
_MIN_RUN = 4
_PY_STRETCH = 32


def parse_batch(cmd: Command, body: Any, node: str) -> Any:
    """Store each record message of a frame in its slot; None after the last message, else MORE."""
    sink = cmd.extra[0].sink
    if sink is not None:
        return sink.feed(cmd, body, node)
    return parse_frame_sparing_gc(_parse_frame, cmd, body, node)


def _parse_frame(cmd: Command, body: Any, node: str) -> Any:
    state, _ = cmd.extra
    slots = state.slots
    keep = state.keep
    buf = bytes(body)
    off = 0
    end = len(buf)
    names = _NAMES
    plan = state.plan
    if plan is not None:
        keep = None  # the plan filters the entries itself
    layout = state.layout if keep is None and plan is None else None
    skip = 0
    pairs: list[tuple[str, Any]] = []
    while off < end:
        if skip:
            skip -= 1
        elif layout is not None:
            m = layout.run_length(buf, off, end)
            if m < _MIN_RUN:
                skip = _PY_STRETCH
            if m:
                stop = off + m * layout.size
                store = layout.store
                if store is None:
                    layout.served += m
                    if layout.served >= _COMPILE_AFTER:
                        layout.generate()
                        store = layout.store
                if store is not None:
                    store(layout.iter_unpack(buf[off:stop]), slots)
                    off = stop
                    continue
                bnames = layout.names
                fix = layout.fix
                # (zip without strict: the layout's struct yields one value per name; the check,
                # keyword parsing included, cost ~0.2 us per record, a tenth of a 100-record batch_read)
                for vals in layout.iter_unpack(buf[off:stop]):
                    if fix:
                        values = list(vals[3:])
                        for j, pt in fix:
                            values[j] = values[j].decode() if pt == 3 else decode_particle(pt, values[j])
                        slots[vals[2]] = (0, vals[0], vals[1], dict(zip(bnames, values)), False)  # noqa: B905
                    else:
                        slots[vals[2]] = (0, vals[0], vals[1], dict(zip(bnames, vals[3:])), False)  # noqa: B905
                off = stop
                continue
        start = off
        _, _, _, info3, _, rc, gen, vt, idx, n_fields, n_ops = _unpack_msg(buf, off)
        off += 22
        if info3 & W.INFO3_LAST:
            if rc:
                raise_for(cmd, rc, node)
            return None
        if n_fields:
            off = skip_fields(buf, off, n_fields)
        if rc:
            if n_ops and state.keep_failed:
                failed_bins, off = parse_bins(buf, off, n_ops)
                slots[idx] = (rc, gen, vt, failed_bins, False)
            else:
                for _ in range(n_ops):
                    off += 4 + _unpack_op(buf, off)[0]
                slots[idx] = (rc, gen, vt, None, False)
            if rc == _SERVER_TIMEOUT and cmd.is_write:  # (after slots[idx]: an index past the keys fails it)
                state.doubt.add(idx)  # the server gave up on it, perhaps after applying it
            continue
        if keep is None and plan is None and n_ops and not n_fields and state.learned < _MAX_LEARNED:
            state.learned += 1
            layout = state.layout = layout_at(buf, start, n_ops)
        bins: dict[str, Any] = {}
        for j in range(n_ops):
            size, _op, pt, _, nlen = _unpack_op(buf, off)
            vs = off + 8 + nlen
            nb = buf[off + 8 : vs]
            off += 4 + size
            if keep is not None and (j >= len(keep) or not keep[j]):
                continue
            name = names.get(nb)
            if name is None:
                name = nb.decode()
                if len(names) < 8192:
                    names[nb] = name
            v: Any
            if pt == 1:
                if off - vs != 8:
                    raise ValueError(f"integer particle of {off - vs} bytes")
                v = int.from_bytes(buf[vs:off], "big", signed=True)
            elif pt == 3:
                v = buf[vs:off].decode()
            else:
                v = decode_particle(pt, buf[vs:off])
            if plan is None:
                bins[name] = v
            else:
                pairs.append((name, v))
        if plan is not None:
            bins = plan.bins(pairs)
            pairs = []
        slots[idx] = (0, gen, vt, bins, False)
    return MORE


def apply_errors(cmds: list[Any], results: list[Any], is_write: bool) -> None:
    """Fold node failures into the slots or raise them (reads).

    For writes, the records of a failed node that were not answered get the error's code and
    its ``in_doubt``; records answered before the failure keep their own result.
    """
    for cmd, res in zip(cmds, results, strict=True):
        if isinstance(res, AerospikeError):
            if not is_write:
                raise res
            state, indices = cmd.extra
            slots = state.slots
            err: SlotFields = (res.code, 0, 0, None, bool(res.in_doubt))
            for i in indices:
                if slots[i] is None:
                    slots[i] = err
