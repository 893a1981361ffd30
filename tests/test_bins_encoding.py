"""The generated put encoders give the very bytes of the general loop, and fall back to it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aerospike_py._commands import bins as B
from aerospike_py._wire.message import pack_op
from aerospike_py._wire.values import encode_particle
from aerospike_py.exception import BinNameError, InvalidArgError

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6).filter(
    lambda s: len(s.encode()) <= 15)
values = st.one_of(
    st.integers(-(2**64), 2**64 - 1), st.floats(), st.text(max_size=1200), st.binary(max_size=1200),
    st.booleans(), st.none(), st.lists(st.integers(-5, 5), max_size=3),
)


@pytest.fixture(autouse=True)
def fresh_cache():
    B._LAYOUTS.clear()
    B._SEEN.clear()
    yield
    B._LAYOUTS.clear()
    B._SEEN.clear()


def reference(bins: dict) -> bytes:
    """Op by op with the codec's own helpers."""
    out = b""
    for name, value in bins.items():
        pt, v = encode_particle(value)
        out += pack_op(2, name.encode(), pt, v)
    return out


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(names, values, min_size=1, max_size=10))
def test_same_bytes_as_reference(bins):
    fits = all(not isinstance(v, int) or isinstance(v, bool) or -(2**63) <= v < 2**64 for v in bins.values())
    for _ in range(3):  # first sighting, generation, generated
        if fits:
            assert B.encode_bins(bins) == reference(bins)
        else:
            with pytest.raises(InvalidArgError):
                B.encode_bins(bins)


def test_generated_then_other_types_and_ranges():
    a = {"s": "x" * 60, "i": 1, "f": 1.5, "b": b"\x01" * 16}
    B.encode_bins(a)
    assert B.encode_bins(a) == reference(a)
    assert B._LAYOUTS[tuple(a)] is not None
    assert "def encode" in B._LAYOUTS[tuple(a)].source
    for other in (
        {"s": 5, "i": 1, "f": 1.5, "b": b""},          # other types: the loop
        {"s": "é" * 600, "i": -1, "f": -0.0, "b": b"x" * 2000},  # sizes beyond the table
        {"s": "", "i": 2**63, "f": 1.5, "b": b""},      # uint64: the loop packs it
        {"s": "", "i": True, "f": 1, "b": bytearray(b"ab")},
    ):
        assert B.encode_bins(other) == reference(other)
    with pytest.raises(InvalidArgError, match="64 bits"):
        B.encode_bins({"s": "", "i": 2**64, "f": 1.5, "b": b""})


def test_bad_names_raise_every_time():
    bad = {"n" * 16: 1}
    for _ in range(3):
        with pytest.raises(BinNameError, match="limit is 15"):
            B.encode_bins(bad)
    with pytest.raises(InvalidArgError):
        B.encode_bins({1: 1})
    with pytest.raises(InvalidArgError):
        B.encode_bins({})
    with pytest.raises(TypeError):
        B.encode_bins([("a", 1)])


def test_hostile_names_stay_data():
    evil = {"'),)#": "v", "\\": 1, '"""': 2.5}
    for _ in range(3):
        assert B.encode_bins(evil) == reference(evil)
