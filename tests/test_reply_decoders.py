"""Every fast reply decoder agrees with the reference: the general parser ``parse_bins`` (over
``decode_particle``, the one definition of the particle rules). The shape-compiled single-record
decoder is checked in ``test_shapes.py``; here the batch layouts (runs of same-shape records), the
query/scan record layouts and the numpy batch decoder."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aerospike_py import _policy as P
from aerospike_py._commands import batch as B
from aerospike_py._commands import query as QC
from aerospike_py._commands.base import MORE
from aerospike_py._commands.batch import reply as BR
from aerospike_py._wire import constants as W
from aerospike_py._wire import query as Q
from aerospike_py._wire.digest import partition_id
from aerospike_py._wire.expiry import ttl_of
from aerospike_py._wire.message import MSG_HEADER, pack_message, pack_op, parse_bins, skip_fields
from aerospike_py._wire.values import encode_particle
from aerospike_py.types import AerospikeKey, Record, RecordMetadata

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=5).filter(
    lambda s: len(s.encode()) <= 15)
#: Per bin, a strategy of values of one particle type (a run shares the layout: names and types).
int64s = st.integers(-(2**63), 2**63 - 1)
doubles = st.floats(allow_nan=False)
#: Bin values whose particle has one size whatever the value (a run of them is one layout).
fixed_size = (int64s, doubles, st.booleans())
typed = st.sampled_from([
    *fixed_size, st.text(max_size=12), st.binary(max_size=12),
    st.lists(st.integers(-5, 5), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(-5, 5), max_size=2),
])


def message(idx: int, bins: list[tuple[str, object]], gen: int, vt: int, rc: int = 0, info3: int = 0) -> bytes:
    ops = [pack_op(W.OP_READ, n.encode(), *encode_particle(v)) for n, v in bins]
    return pack_message(0, 0, info3, 0, gen, vt, idx, [], ops, result_code=rc)[8:]


def general(body: bytes) -> tuple[int, int, dict]:
    _, _, _, _, _, _, gen, vt, _, _, nops = MSG_HEADER.unpack_from(body, 0)
    return gen, vt, parse_bins(body, 22, nops)[0]


def _run_of(draw, kind_of, max_bins, min_n, max_n):
    """``(records, slot order, generations, void times)``: records of one layout (same bin names,
    values of one kind per bin drawn by ``kind_of(draw)``), in a shuffled slot order."""
    bin_names = draw(st.lists(names, min_size=1, max_size=max_bins, unique=True))
    kinds = [kind_of(draw) for _ in bin_names]
    n = draw(st.integers(min_n, max_n))
    recs = [[(nm, draw(k)) for nm, k in zip(bin_names, kinds, strict=True)] for _ in range(n)]
    order = draw(st.permutations(range(n)))
    gens = draw(st.lists(st.integers(0, 65535), min_size=n, max_size=n))
    vts = draw(st.lists(st.integers(0, 2**32 - 1), min_size=n, max_size=n))
    return recs, order, gens, vts


@st.composite
def runs(draw):
    """Values of any length: the decoder must notice where records differ."""
    return _run_of(draw, lambda d: d(typed), 5, 1, 12)


def _sized_kind(draw):
    """A strategy of bin values whose encoded size is one per run (a drawn length for strings,
    blobs and lists), so that a run of records shares one layout."""
    n = draw(st.integers(0, 20))
    return draw(st.sampled_from([
        *fixed_size, st.text(alphabet="abcxyz", min_size=n, max_size=n), st.binary(min_size=n, max_size=n),
        st.text(alphabet="\u00e9", min_size=n, max_size=n), st.text(alphabet="\u4e2d\u4e2e", min_size=n, max_size=n),
        st.lists(st.integers(0, 100), min_size=n, max_size=n),
    ]))


@st.composite
def long_runs(draw):
    """Runs long enough for a layout (values of one encoded size per bin)."""
    return _run_of(draw, _sized_kind, 8, 5, 40)


@contextmanager
def _layouts_generated_after(records):
    """Batch layouts learnt afresh, generating their ``store`` after ``records`` records."""
    compile_after = BR._COMPILE_AFTER
    BR._LAYOUTS.clear()  # (layouts are shared: start from none)
    BR._COMPILE_AFTER = records
    try:
        yield
    finally:
        BR._COMPILE_AFTER = compile_after
        BR._LAYOUTS.clear()


@settings(max_examples=30, deadline=None)
@given(runs(), st.booleans())
def test_batch_layouts_agree_with_general_parser(run, generated):
    """Both ways a layout decodes a run (its tuples zipped with the names, and the ``store``
    generated once a layout has decoded enough records) give what the general parser gives."""
    with _layouts_generated_after(0 if generated else 1 << 62):
        _check_batch_run(run)


@settings(max_examples=40, deadline=None)
@given(long_runs())
def test_generated_batch_layout_stores_what_the_general_parser_reads(run):
    """Runs of one layout long enough to be decoded by the layout's generated ``store`` (bins of
    every particle kind, values of one encoded size per bin) give what the general parser gives."""
    with _layouts_generated_after(0):
        _check_batch_run(run)
        assert any(lay.store is not None for lay in BR._LAYOUTS.values())


def _check_batch_run(run):
    recs, order, gens, vts = run
    n = len(recs)
    state = B.BatchState(B.parse_keys([("test", "s", i) for i in range(n)]))
    bodies = [message(i, recs[i], gens[i], vts[i]) for i in order]
    last = pack_message(0, 0, W.INFO3_LAST, 0, 0, 0, 0, [], [])[8:]
    cmd = B.BatchCommand(None, b"", False, B.parse_batch, {}, (state, list(range(n))))
    # Twice: the first frame learns the layout, the second is decoded by it where records repeat.
    assert B.parse_batch(cmd, b"".join(bodies), "N") is not None  # (more frames expected)
    first = list(state.slots)
    state.slots[:] = [None] * n
    assert B.parse_batch(cmd, b"".join(bodies) + last, "N") is None
    for i, body in zip(order, bodies, strict=True):
        gen, vt, bins = general(body)
        for slots in (first, state.slots):
            s = B.Slot(*slots[i])  # (stored as a plain tuple of its fields)
            assert (s.rc, s.generation, s.void_time, s.bins) == (0, gen, vt, bins)


# --------------------------------------------------------------------------- query/scan record layouts

#: Key field kinds: None (no key field) or a strategy of user keys of one particle type.
query_keys = st.sampled_from([None, int64s, doubles, st.text(max_size=8), st.binary(max_size=8)])


@st.composite
def query_frames(draw):
    """Two answer frames of records of one query layout (namespace, digest, optional set, key and
    index value; same bin names and value types, values of any length), partition-done messages and
    records of another shape here and there; which records have the other shape, per frame; and
    whether every record of the layout has the same size (then runs must take the fast path)."""
    set_name = draw(st.sampled_from([b"", b"s1", b"health"]))
    fixed = draw(st.booleans())
    key_kind = draw(st.sampled_from([None, int64s, doubles]) if fixed else query_keys)
    with_bval = draw(st.booleans())
    bin_names = draw(st.lists(names, max_size=4, unique=True))
    kinds = [draw(st.sampled_from(fixed_size) if fixed else typed) for _ in bin_names]
    same_meta = draw(st.booleans())
    frames, shapes = [], []
    for _ in range(2):
        msgs = []
        n = draw(st.integers(1, 20))
        partitions_done = draw(st.sets(st.integers(0, n - 1), max_size=2))  # after these records
        other_shape = draw(st.sets(st.integers(0, n - 1), max_size=2))  # these have one bin more
        for i in range(n):
            key = None
            if key_kind is not None:
                pt, data = encode_particle(draw(key_kind))
                key = bytes([pt]) + data
            ops = [pack_op(W.OP_READ, nm.encode(), *encode_particle(draw(k))) for nm, k in zip(bin_names, kinds,
                                                                                                 strict=True)]
            if i in other_shape:
                ops.append(pack_op(W.OP_READ, b"health", *encode_particle(draw(int64s))))
            gen, vt = (3, 0) if same_meta else (draw(st.integers(0, 65535)), draw(st.integers(0, 2**32 - 1)))
            bval = draw(st.integers(-(2**63), 2**63 - 1)) if with_bval else None
            msgs.append(Q.pack_record(b"test", draw(st.binary(min_size=20, max_size=20)), set_name, key, bval,
                                      gen, vt, ops))
            if i in partitions_done:
                msgs.append(Q.pack_partition_done(draw(st.integers(0, W.N_PARTITIONS - 1)), 11))
        frames.append(msgs)
        shapes.append(other_shape)
    frames[-1].append(Q.pack_last(0))
    return frames, shapes, fixed


def query_reference(msgs: list[bytes], now: float) -> tuple[list, dict[int, tuple[bytes, int]]]:
    """The records of an answer by the general decoders (fields by ``decode_answer``, bins by
    ``parse_bins``), and the cursor each partition must have after them."""
    records, cursors = [], {}
    for body in msgs:
        (m,) = Q.decode_answer(body)
        if m.kind != "record":
            continue
        n_fields, n_ops = MSG_HEADER.unpack_from(body, 0)[-2:]
        bins = parse_bins(body, skip_fields(body, 22, n_fields), n_ops)[0]
        records.append(Record(AerospikeKey(m.namespace, m.set_name, m.user_key, m.digest),
                              RecordMetadata(m.generation, ttl_of(m.void_time, now)), bins))
        cursors[partition_id(m.digest)] = (m.digest, m.bval or 0)
    return records, cursors


@settings(max_examples=40, deadline=None)
@given(query_frames())
def test_query_layouts_agree_with_general_decoders(drawn):
    """The query record Layout (generated per record shape, runs checked byte-wise) gives what the
    general decoders give: records, their order, and every partition's cursor (digest, index value)."""
    frames, shapes, fixed = drawn
    now = 1_700_000_000.0
    QC._LAYOUTS.clear()
    out: list = []
    fast: list[int] = []
    run = QC.QueryRun(QC.Statement("test", None), P.QUERY.default_policy, None, lambda ch, cmd: out.extend(ch))
    nr = QC.NodeRun(run, None)
    cmd = QC.NodeCommand(None, b"", False, QC.parse_answer, None, nr)
    real_layout_at = QC.layout_at

    def counted_layout_at(*a):  # counts the records each generated builder makes
        lay = real_layout_at(*a)
        if lay is not None and not hasattr(lay.build, "counted"):
            build, build_same = lay.build, lay.build_same

            def b(rows, *rest):
                rows = list(rows)
                fast.append(len(rows))
                return build(iter(rows), *rest)

            def bs(rows, *rest):
                got = build_same(rows, *rest)
                fast.append(len(got))
                return got

            b.counted = bs.counted = True  # type: ignore[attr-defined]
            lay.build, lay.build_same = b, bs
        return lay

    try:
        with patch.object(QC, "_time", lambda: now), patch.object(QC, "layout_at", counted_layout_at):
            for i, msgs in enumerate(frames):
                fast.clear()
                assert QC.parse_answer(cmd, b"".join(msgs), "n") is (None if i == len(frames) - 1 else MORE)
    finally:
        QC._LAYOUTS.clear()  # (their builders are wrapped)
    want, cursors = query_reference([m for f in frames for m in f], now)
    assert out == want
    assert nr.count == len(want)
    for p in run.parts:
        assert (p.digest, p.bval) == cursors.get(p.id, (None, 0))
    n_last = len(frames[1]) - 1  # (its records, when no partition-done message breaks the run)
    # (the layout is learned from the first record: when that one has the other shape, the second
    # frame's records do not fit it)
    if (fixed and n_last >= 4 and 0 not in shapes[0] and not shapes[1]
            and not any(len(m) == 22 for m in frames[1][:-1])):
        assert sum(fast) == n_last  # the layout learned from the first frame read the whole second one


# --------------------------------------------------------------------------- the numpy batch decoder

#: Bin kinds a numpy field can hold: values, and the field types that hold every such value exactly;
#: the first four of one particle size whatever the value.
numpy_kinds = [
    (int64s, ("i8", "f8")),
    (st.integers(0, 2**15 - 1), ("i2", "u4", "i8", "f4")),
    (doubles, ("f8",)),
    (st.floats(-1e6, 1e6), ("f4", "f8")),
    (st.text(max_size=6), ("S3", "S8")),
    (st.binary(max_size=6), ("S3", "S8")),
]


@st.composite
def numpy_batches(draw):
    """A batch_read reply in one or two frames: records of one layout (bins of numpy-able kinds)
    at shuffled key indexes, some keys not found or not answered, some records of another shape
    (one bin more); the dtype asked (a field per bin, of a type that holds it, plus one absent);
    and whether it is uniform (every answer found, of one size: one structured view must read them)."""
    uniform = draw(st.booleans())
    n_keys = draw(st.integers(1, 24))
    bin_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    kinds = [draw(st.sampled_from(numpy_kinds[:4] if uniform else numpy_kinds)) for _ in bin_names]
    dtype = [(nm, draw(st.sampled_from(fields))) for nm, (_, fields) in zip(bin_names, kinds, strict=True)]
    dtype.append(("health", "i8"))  # (the other shape's bin: filled where those records have it)
    dtype.append(("absent", "f8"))
    order = draw(st.permutations(range(n_keys)))
    answered = order if draw(st.booleans()) else order[: draw(st.integers(0, n_keys))]
    odd = set() if uniform else draw(st.sets(st.sampled_from(answered), max_size=3)) if answered else set()
    same_meta = draw(st.booleans())
    bodies = []
    for idx in answered:
        gen, vt = (2, 0) if same_meta else (draw(st.integers(0, 65535)), draw(st.integers(0, 2**32 - 1)))
        if idx in odd and draw(st.booleans()):
            bodies.append(message(idx, [], gen, vt, rc=2))  # not found
            continue
        bins = [(nm, draw(values)) for nm, (values, _) in zip(bin_names, kinds, strict=True)]
        if idx in odd:
            bins.append(("health", draw(int64s)))  # another shape
        bodies.append(message(idx, bins, gen, vt))
    cut = len(bodies) if draw(st.booleans()) else draw(st.integers(0, len(bodies)))  # (one frame or two)
    last = pack_message(0, 0, W.INFO3_LAST, 0, 0, 0, 0, [], [])[8:]
    return n_keys, dtype, [bodies[:cut], bodies[cut:] + [last]], uniform


def numpy_reference(n_keys: int, dtype, bodies: list[bytes], now: float):
    """The arrays a numpy batch_read must give, from the general decoder (``parse_bins``) and
    numpy's own assignment of each value (strings as UTF-8)."""
    np = pytest.importorskip("numpy")
    arr = np.zeros(n_keys, dtype)
    gen = np.zeros(n_keys, "u4")
    ttl = np.zeros(n_keys, "u4")
    codes = np.full(n_keys, B.NO_RESPONSE, np.int32)
    for body in bodies:
        _, _, _, _, _, rc, g, vt, idx, _, n_ops = MSG_HEADER.unpack_from(body, 0)
        codes[idx] = rc
        if rc:
            continue
        gen[idx], ttl[idx] = g, ttl_of(vt, now)
        for name, v in parse_bins(body, 22, n_ops)[0].items():
            arr[idx][name] = v.encode() if isinstance(v, str) else v
    return arr, gen, ttl, codes


@settings(max_examples=40, deadline=None)
@given(numpy_batches())
def test_numpy_batch_decoder_agrees_with_general_parser(drawn):
    """The numpy decoder (runs of one layout as structured views, cast column-wise; other records one
    by one) fills the rows the general decoder's values fill, in request order, with their codes."""
    np = pytest.importorskip("numpy")
    from aerospike_py import numpy_batch as nb

    n_keys, fields, frames, uniform = drawn
    dtype = np.dtype(fields)
    now = 1_700_000_000.0
    nb._LAYOUTS.clear()
    nb._LAST_LAYOUT[0] = None
    state = B.BatchState(B.parse_keys([("test", "s", i) for i in range(n_keys)]), sink=nb._NumpySink(n_keys))
    for i, bodies in enumerate(frames):
        assert state.sink.feed(None, b"".join(bodies), "N") is (None if i else MORE)
    with patch.object(nb, "time", SimpleNamespace(time=lambda: now)):
        got = nb._to_numpy(state, state.sink, dtype)
    if uniform:  # the layout learned from the first record read every other one
        assert not state.sink.generic
        assert sum(len(view) for _, view, _, _ in state.sink.runs) == sum(map(len, frames)) - 1
    arr, gen, ttl, codes = numpy_reference(n_keys, dtype, [b for f in frames for b in f][:-1], now)
    assert got.result_codes.tolist() == codes.tolist()
    assert got.batch_records.tobytes() == arr.tobytes()
    assert got.meta["gen"].tolist() == gen.tolist()
    assert got.meta["ttl"].tolist() == ttl.tolist()
