"""The fast reply decoders agree with their references.

* ``unpack_cdt`` (msgpack's C decoder, then ``_from_unpacked``: map keys from a bounded cache, lists
  of numbers left as they are) gives what the plain, cache-free walk ``_from_unpacked_deep`` gives,
  cold and warm cache alike, for any tree of Aerospike msgpack: strings, blobs, GeoJSON and other
  type bytes, empty *str*, ordered list/map flags, wildcard/infinity ext values.
* ``parse_bins`` (particle types inlined) gives what ``parse_ops`` (``decode_particle`` per op, the
  one definition of the particle rules) gives, or fails with the same exception type.
"""

from __future__ import annotations

import struct
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aerospike_py._wire import values as V
from aerospike_py._wire.message import pack_op, parse_bins, parse_ops

#: A msgpack *str* payload as Aerospike stores it: type byte, then the data (sometimes nothing).
_prefixed = st.one_of(
    st.text(max_size=8).map(lambda s: b"\x03" + s.encode()),
    st.binary(max_size=8).map(lambda b: b"\x04" + b),
    st.text(max_size=8).map(lambda s: b"\x17" + s.encode()),
    st.binary(min_size=0, max_size=6),  # any type byte, or an empty str
)
_keys = st.one_of(
    st.sampled_from([b"\x03k0", b"\x03k1", b"\x03name", b"\x04k0", b"\x03", b""]),  # keys that repeat
    _prefixed, st.integers(-(2**63), 2**64 - 1),
)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False), _prefixed,
    st.sampled_from([msgpack.ExtType(127, b"\x00"), msgpack.ExtType(5, b"ab")]),  # ext values pass through
)
_ORDER = msgpack.ExtType(0, b"")  # the order flag as packed: its ext type and data do not matter


_trees = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.tuples(st.booleans(), st.lists(children, max_size=6)).map(
            lambda t: ([_ORDER] + t[1]) if t[0] else t[1]),
        st.tuples(st.booleans(), st.dictionaries(_keys, children, max_size=6)).map(
            lambda t: ({_ORDER: None, **t[1]}) if t[0] else t[1]),
        st.lists(st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.booleans(), st.none()),
                 max_size=6),
    ),
    max_leaves=30,
)


def _pack(tree: Any) -> bytes:
    # bytes are written as msgpack *str* (use_bin_type=False), as Aerospike writes them.
    return msgpack.packb(tree, use_bin_type=False, strict_types=False)


def typed(a: Any, b: Any) -> bool:
    """Equal, with equal types all the way down (1, 1.0 and True differ; b"" and "" differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(typed(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(typed(k, kb) and typed(a[k], b[kb])
                                          for k, kb in zip(a, b, strict=True))
    if type(a) is float:  # bit for bit: NaN (which is not == itself) and -0.0 compare too
        return struct.pack(">d", a) == struct.pack(">d", b)
    return bool(a == b)


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return ("ok", fn(*args))
    except Exception as e:  # noqa: BLE001 - the type is compared
        return ("err", type(e))


def reference(data: bytes) -> Any:
    raw = msgpack.unpackb(data, raw=True, strict_map_key=False, ext_hook=V._ext_hook, use_list=True)
    return V._from_unpacked_deep(raw)


@settings(max_examples=400, deadline=None)
@given(_trees)
def test_unpack_cdt_agrees_with_the_plain_walk(tree: Any) -> None:
    data = _pack(tree)
    want = _outcome(reference, data)
    V._MAP_KEYS.clear()
    for _ in range(3):  # cold key cache, then warm
        got = _outcome(V.unpack_cdt, data)
        assert got[0] == want[0] and (typed(got[1], want[1]) if got[0] == "ok" else got == want)


@settings(max_examples=100, deadline=None)
@given(st.lists(_trees, min_size=1, max_size=6))
def test_key_cache_stays_bounded_and_right(trees: list[Any]) -> None:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(V._MAP_KEYS, "max_entries", 3)
        m.setattr(V._MAP_KEYS, "max_len", 4)
        V._MAP_KEYS.clear()
        for _ in range(2):
            for tree in trees:
                data = _pack(tree)
                got, want = _outcome(V.unpack_cdt, data), _outcome(reference, data)
                assert got[0] == want[0] and (typed(got[1], want[1]) if got[0] == "ok" else got == want)
                assert len(V._MAP_KEYS) <= 3
                assert all(len(k) <= 4 for k in V._MAP_KEYS)
    V._MAP_KEYS.clear()


def test_key_cache_hit_keeps_each_key_type() -> None:
    V._MAP_KEYS.clear()
    data = _pack({b"\x03a": 1, b"\x04a": 2, b"\x17g": 3, b"": 4, 5: 6})
    for _ in range(3):
        got = V.unpack_cdt(data)
        assert typed(got, {"a": 1, b"a": 2, V.GeoJSON("g"): 3, b"": 4, 5: 6})
        assert type(next(k for k in got if k == "g")) is V.GeoJSON


#: Particle types and value bytes, well formed or not (wrong sizes, bad UTF-8, bad msgpack).
_particles = st.one_of(
    st.tuples(st.sampled_from([1, 2, 3, 4, 17, 19, 20, 0, 23, 18, 5, 255]), st.binary(max_size=12)),
    st.tuples(st.just(1), st.binary(min_size=8, max_size=8)),
    st.tuples(st.just(2), st.binary(min_size=8, max_size=8)),
    st.tuples(st.just(3), st.text(max_size=8).map(str.encode)),
    _trees.map(lambda t: (20 if isinstance(t, list) else 19, _pack(t))),
)


def test_bin_name_memo_is_bounded_and_refuses_bad_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bin names come from a bounded memo of the names as sent: right past the bound, and a name
    that is no UTF-8 is an error (a malformed reply), never remembered."""
    from aerospike_py._wire import message as M

    monkeypatch.setattr(M, "_BIN_NAMES", M.Memo(bytes.decode, max_entries=2, max_len=255))
    for round_ in range(2):
        for i in range(5):
            names = [f"n{i}", "\u00e9", f"m{i}{round_}"]
            body = b"".join(pack_op(1, n.encode(), 1, (i * 7 + j).to_bytes(8, "big")) for j, n in enumerate(names))
            assert parse_bins(body, 0, 3) == ({n: i * 7 + j for j, n in enumerate(names)}, len(body))
            assert len(M._BIN_NAMES) <= 2
    with pytest.raises(UnicodeDecodeError):
        parse_bins(pack_op(1, b"\xff", 1, bytes(8)), 0, 1)
    assert b"\xff" not in M._BIN_NAMES


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "\u00e9"]), _particles), max_size=6))
def test_parse_bins_agrees_with_decode_particle(ops: list[tuple[str, tuple[int, bytes]]]) -> None:
    body = b"".join(pack_op(1, n.encode(), pt, v) for n, (pt, v) in ops)
    got = _outcome(lambda: parse_bins(body, 0, len(ops)))
    want = _outcome(lambda: parse_ops(body, 0, len(ops)))
    if want[0] == "ok":
        pairs, end = want[1]
        assert got[0] == "ok", got
        assert got[1][1] == end
        assert typed(got[1][0], dict(pairs))
    else:
        assert got == want


def test_walk_past_the_recursion_limit_decodes_each_value_once() -> None:
    """Nested deeper than the call stack allows (but within msgpack's limit): the fast walk, which
    converts lists in place, gives up; the plain walk must start from a fresh decode, or values the
    fast walk already converted lose a second leading byte (b"\\x04ab" -> b"b")."""
    import sys

    depth = sys.getrecursionlimit() + 10
    tree: Any = [b"\x04ab", b"\x03s"]
    for _ in range(depth):
        tree = [b"\x04ab", tree, b"\x03s", b""]
    got = V.unpack_cdt(_pack(tree))
    for _ in range(depth):
        assert typed(got[0], b"ab") and typed(got[2], "s") and typed(got[3], b"")
        got = got[1]
    assert typed(got, [b"ab", "s"])


def test_empty_str_in_lists_and_maps() -> None:
    """An empty msgpack *str* (no type byte; not written by Aerospike) decodes as b"" anywhere."""
    V._MAP_KEYS.clear()
    data = _pack([b"", {b"\x03k": b"", b"": [b"\x03x", b""]}])
    assert typed(V.unpack_cdt(data), [b"", {"k": b"", b"": ["x", b""]}])


@pytest.mark.parametrize(("data", "want"), [
    (b"\xd4\xff\x00", None),
    (b"\x93\xd4\xff\x00\x01\xd4\xff\x01", [None, 1, None]),
    (b"\x82\xa2\x03a\xd4\xff\x01\xd4\xff\x00\x02", {"a": None, None: 2}),
    (b"\x92\xa4\x04\xd4\xff\x00\xd4\xff\x01", [b"\xd4\xff\x00", None]),  # (a blob holding the bytes)
])
@pytest.mark.parametrize("wrap", [bytes, memoryview])
def test_wildcard_and_infinity_decode_as_none(data: bytes, want: Any, wrap: Any) -> None:
    """Aerospike's wildcard/infinity (fixext 1 of type -1, payload 0/1), which msgpack refuses as a
    timestamp, decode as None (as the Rust client 0.14.4 returns them: anchor notes 1.12), from
    bytes and from a memoryview (as some reply paths hand values over)."""
    V._MAP_KEYS.clear()
    assert typed(V.unpack_cdt(wrap(data)), want)


@pytest.mark.parametrize("data", [b"\x91\xd4\xff\x05", b"\x91\xd4\xff", b"\xd4\xff"])
def test_bad_type_minus_one_ext_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        V.unpack_cdt(data)
