"""The fast list/map encoder (values._pack_fast) writes the very bytes of the general one
(values._pack_general), and leaves to it every value it does not handle, bad ones included."""

from __future__ import annotations

import enum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aerospike_py._wire import values as V
from aerospike_py._wire.values import WILDCARD, GeoJSON, KeyOrderedDict, pack_cdt


class Color(enum.IntEnum):
    RED = 1


class Text(str):
    pass


INTS = st.integers(-(2**64), 2**64 + 1)  # beyond both ends of the 64-bit range too
TEXT = st.text(max_size=300, alphabet="ab") | st.text(st.characters(codec="utf-8"), max_size=5) | st.just("\udc80")
BLOBS = st.binary(max_size=300) | st.sampled_from([V._pack_fast([b"x"])[:3] + b"\xd7" * 12])
SCALARS = (st.none() | st.booleans() | INTS | st.floats() | TEXT | BLOBS
           | st.sampled_from([bytearray(b"ab"), GeoJSON('{"type":"Point"}'), Color.RED, Text("t"), WILDCARD,
                              1.5j]))
KEYS = st.text(max_size=8) | st.integers(-(2**63), 2**64 - 1) | st.binary(max_size=4) | st.floats(allow_nan=False)
CDT = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=12)
    | st.dictionaries(st.text(max_size=8), children, max_size=12)
    | st.dictionaries(st.integers(-(2**63), 2**63 - 1), children, max_size=12)
    | st.dictionaries(KEYS, children, max_size=4)
    | st.dictionaries(st.text(max_size=4), children, max_size=3).map(KeyOrderedDict),
    max_leaves=25,
)


def nested(depth: int) -> Any:
    v: Any = [1, "x", b"y"]
    for _ in range(depth):
        v = [v, 2]
    return v


def outcome(fn: Any, value: Any) -> Any:
    try:
        return fn(value)
    except Exception as e:  # noqa: BLE001 - the exception type is the outcome compared
        return type(e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CDT, max_size=20) | st.dictionaries(st.text(max_size=8) | st.integers(-5, 5), CDT, max_size=20))
def test_fast_encoder_gives_the_general_bytes(value: Any) -> None:
    assert outcome(pack_cdt, value) == outcome(V._pack_general, value)


@pytest.mark.parametrize("value", [
    [], {}, [None, True, False, 0, -1, -32, -33, 127, 128, 255, 256, 65535, 65536, 2**32, 2**63, 2**64 - 1, -(2**63)],
    [1.5, -0.0, float("inf")], ["", "a" * 31, "a" * 254, "a" * 255, "é" * 200, "a" * 70000],
    [b"", b"a" * 254, b"a" * 255, b"a" * 70000], list(range(16)), list(range(70000)),
    ["a" * n for n in (256, 65533, 65534, 65535, 65536)], [b"a" * n for n in (256, 65533, 65534, 65535, 65536)],
    {"a" * n: n for n in (0, 1, 31, 64, 65, 254, 255, 300, 65535)}, {"é" * 40: 1, "x": 2},
    {"b": 1, "a": [b"x", {"z": 1.0, "y": None}]}, {3: "x", -1: "y"}, {b"k": 1}, {1.5: 2}, {None: 1},
    nested(20), nested(15), [nested(3), {"k": nested(14)}],
    # numbers only: msgpack's C packer
    [0.5, None, True, -(2**63), 2**64 - 1], {"b": 1, "a": 2.5, "é": None, "c": False}, {7: 1, -3: 2.5},
    [[1, 2], {"k": [3.5, None]}, [True, "x", 1]], ["x", 1, 2], [1, 2, "x"], [1, "x", 2],
])
def test_edges(value: Any) -> None:
    assert pack_cdt(value) == V._pack_general(value)


@pytest.mark.parametrize("value", [
    [2**64], [-(2**63) - 1], ["\udc80"], [1j], [KeyOrderedDict(a=1)], {"a": 1, 2: 3}, [Text("x")], [Color.RED],
    [bytearray(b"x")], {True: 1, 2: 2}, [[1] * 3] * 2 + [object()],
    [1, 2**64, 3], [1, -(2**63) - 1], {"a": 1, "b": 2**64}, {1: 1, 2: -(2**63) - 1}, [1, Color.RED, 2],
    {"\udc80": 1, "a": 2},
])
def test_left_to_the_general_path(value: Any) -> None:
    with pytest.raises(Exception):  # noqa: B017,PT011 - left: _NotFast, OverflowError or ValueError
        V._pack_fast(value)
    assert outcome(pack_cdt, value) == outcome(V._pack_general, value)


NUMBERS = st.none() | st.booleans() | INTS | st.floats(allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(NUMBERS, max_size=40) | st.dictionaries(st.text(max_size=6), NUMBERS, max_size=20)
       | st.dictionaries(st.integers(-(2**64), 2**64), NUMBERS, max_size=20)
       | st.lists(st.lists(NUMBERS, max_size=5) | st.dictionaries(st.text(max_size=3), NUMBERS, max_size=5)))
def test_containers_of_numbers_give_the_general_bytes(value: Any) -> None:
    """Lists and maps holding numbers only are packed by msgpack's C code: same bytes (same
    failures: an int beyond 64 bits), and they decode back to the value."""
    got = outcome(pack_cdt, value)
    assert got == outcome(V._pack_general, value)
    if isinstance(got, bytes):
        assert V.unpack_cdt(got) == value


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.text(max_size=6) | st.just("\udc80"), CDT, max_size=6), min_size=1, max_size=6))
def test_packed_key_cache_stays_bounded_and_right(maps: list[Any]) -> None:
    """str map keys come packed from a bounded cache (short keys only): cold or warm, the bytes
    are the general path's; a key that is no UTF-8 still leaves the map to the general path."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(V._PACKED_KEYS, "max_entries", 3)
        m.setattr(V._PACKED_KEYS, "max_len", 4)
        V._PACKED_KEYS.clear()
        for _ in range(2):
            for value in maps:
                assert outcome(pack_cdt, value) == outcome(V._pack_general, value)
                assert len(V._PACKED_KEYS) <= 3
                assert all(len(k) <= 4 for k in V._PACKED_KEYS)
    V._PACKED_KEYS.clear()
