"""Every fast reply decoder agrees with the reference: the general parser ``parse_bins`` (over
``decode_particle``, the one definition of the particle rules). The shape-compiled single-record
decoder is checked in ``test_shapes.py``; here the batch layouts (runs of same-shape records)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aerospike_py._commands import batch as B
from aerospike_py._wire import constants as W
from aerospike_py._wire.message import MSG_HEADER, pack_message, pack_op, parse_bins
from aerospike_py._wire.values import encode_particle

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=5).filter(
    lambda s: len(s.encode()) <= 15)
#: Per bin, a strategy of values of one particle type (a run shares the layout: names and types).
typed = st.sampled_from([
    st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=12), st.binary(max_size=12),
    st.booleans(), st.lists(st.integers(-5, 5), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(-5, 5),
                                                                            max_size=2),
])


def message(idx: int, bins: list[tuple[str, object]], gen: int, vt: int, rc: int = 0, info3: int = 0) -> bytes:
    ops = [pack_op(W.OP_READ, n.encode(), *encode_particle(v)) for n, v in bins]
    return pack_message(0, 0, info3, 0, gen, vt, idx, [], ops, result_code=rc)[8:]


def general(body: bytes) -> tuple[int, int, dict]:
    _, _, _, _, _, _, gen, vt, _, _, nops = MSG_HEADER.unpack_from(body, 0)
    return gen, vt, parse_bins(body, 22, nops)[0]


@st.composite
def runs(draw):
    """Records of one layout (same bin names and value types; values of any length: the decoder
    must notice where they differ), in a shuffled slot order."""
    bin_names = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    kinds = [draw(typed) for _ in bin_names]
    n = draw(st.integers(1, 12))
    recs = [[(nm, draw(k)) for nm, k in zip(bin_names, kinds, strict=True)] for _ in range(n)]
    order = draw(st.permutations(range(n)))
    gens = draw(st.lists(st.integers(0, 65535), min_size=n, max_size=n))
    vts = draw(st.lists(st.integers(0, 2**32 - 1), min_size=n, max_size=n))
    return recs, order, gens, vts


@settings(max_examples=30, deadline=None)
@given(runs())
def test_batch_layouts_agree_with_general_parser(run):
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
            s = slots[i]
            assert (s.rc, s.generation, s.void_time, s.bins) == (0, gen, vt, bins)
