"""The shape-compiled record decoder agrees with the general parser, and refuses what differs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aerospike_py._wire import shapes
from aerospike_py._wire.message import MSG_HEADER, pack_message, pack_op, parse_bins
from aerospike_py._wire.values import encode_particle

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=5).filter(
    lambda s: len(s.encode()) <= 15)
scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=40), st.binary(max_size=40),
    st.booleans(), st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(-(2**63), 2**63 - 1), max_size=3),
)


def reply(bins: list[tuple[str, object]], rc: int = 0, gen: int = 7, void_time: int = 1234,
          fields: list[bytes] | None = None) -> bytes:
    """A reply message body (no proto header) as a server sends it."""
    ops = [pack_op(1, n.encode(), *encode_particle(v)) for n, v in bins]
    return pack_message(0, 0, 0, 0, gen, void_time, 0, fields or [], ops, result_code=rc)[8:]


def general(body: bytes) -> tuple[int, int, dict]:
    _, _, _, _, _, _, gen, void_time, _, _, nops = MSG_HEADER.unpack_from(body, 0)
    return gen, void_time, parse_bins(body, 22, nops)[0]


@pytest.fixture(autouse=True)
def fresh_cache():
    shapes.reset()
    yield
    shapes.reset()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(names, scalars), min_size=1, max_size=8), st.integers(0, 2**32 - 1),
       st.integers(0, 2**32 - 1))
def test_agrees_with_general_parser(bins, gen, void_time):
    shapes.reset()
    body = reply(bins, gen=gen, void_time=void_time)
    assert shapes.decode_record(body) is None  # first sighting of this length: general parser
    got = shapes.decode_record(body)  # second: compiled
    assert got == general(body)
    assert shapes.decode_record(body) == general(body)  # and from the cache
    assert shapes.decode_record(memoryview(body)) == general(body)  # frames read in parts
    assert len(shapes.SHAPES) == 1


def test_same_length_other_shape_goes_to_general_parser():
    a = reply([("a", 1), ("b", "xy")])
    b = reply([("c", 2), ("b", "xy")])  # other bin name, same length
    c = reply([("a", "12345678"), ("b", "xy")])  # other type, same length
    assert len(a) == len(b) == len(c)
    shapes.decode_record(a)
    assert shapes.decode_record(a) == (7, 1234, {"a": 1, "b": "xy"})
    assert shapes.decode_record(b) is None
    assert shapes.decode_record(c) is None
    assert shapes.decode_record(a) == (7, 1234, {"a": 1, "b": "xy"})


def test_error_code_generation_and_values_vary():
    shapes.decode_record(reply([("a", 1)]))
    assert shapes.decode_record(reply([("a", 5)], gen=9, void_time=0)) == (9, 0, {"a": 5})
    assert shapes.decode_record(reply([("a", 1)], rc=2)) is None  # not found: the caller raises


def test_fields_and_no_ops_are_not_compiled():
    key_field = b"\x00\x00\x00\x05\x02\x01\x00\x00\x07"
    body = reply([("a", 1)], fields=[key_field])
    for _ in range(3):
        assert shapes.decode_record(body) is None
    empty = reply([])
    for _ in range(3):
        assert shapes.decode_record(empty) is None
    assert shapes.SHAPES == {}


def test_repeated_bin_keeps_last_value():
    body = reply([("a", 1), ("a", 2)])
    shapes.decode_record(body)
    assert shapes.decode_record(body) == (7, 1234, {"a": 2}) == general(body)


def test_hostile_bin_names_stay_data():
    evil = "'}; x={'"
    body = reply([(evil, 1), ("\\", "v")])
    shapes.decode_record(body)
    assert shapes.decode_record(body) == (7, 1234, {evil: 1, "\\": "v"})


def test_truncated_or_overlong_ops_are_refused():
    body = bytearray(reply([("a", 1)]))
    body[22:26] = (200).to_bytes(4, "big")  # op claims more bytes than the message has
    for _ in range(3):
        assert shapes.decode_record(bytes(body)) is None


def _compiles(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = shapes._compile

    def counting(body, n):
        calls.append(n)
        return real(body, n)

    monkeypatch.setattr(shapes, "_compile", counting)
    return calls


def test_compiles_stop_when_nothing_repeats(monkeypatch):
    calls = _compiles(monkeypatch)
    for i in range(3 * shapes._BUDGET):  # every length seen twice, never again: no hits
        body = reply([("s", "x" * i)])
        shapes.decode_record(body)
        shapes.decode_record(body)
    assert len(calls) == shapes._BUDGET
    assert len(shapes.SHAPES) <= shapes._MAXSHAPES


def test_hits_earn_compiles_back(monkeypatch):
    calls = _compiles(monkeypatch)
    for i in range(shapes._BUDGET + 1):
        body = reply([("s", "x" * i)])
        shapes.decode_record(body)
        shapes.decode_record(body)
    assert len(calls) == shapes._BUDGET
    hot = reply([("s", "x")])
    for _ in range(shapes._PAYBACK):
        assert shapes.decode_record(hot) == (7, 1234, {"s": "x"})
    new = reply([("s", "y" * 1000)])
    shapes.decode_record(new)
    assert shapes.decode_record(new) == (7, 1234, {"s": "y" * 1000})
    assert len(calls) == shapes._BUDGET + 1


def test_cache_is_bounded_oldest_first(monkeypatch):
    monkeypatch.setattr(shapes, "_MAXSHAPES", 4)
    bodies = [reply([("s", "x" * i)]) for i in range(6)]
    for b in bodies:
        shapes.decode_record(b)
        shapes.decode_record(b)
    assert sorted(shapes.SHAPES) == sorted(len(b) for b in bodies[2:])


def _get_reply(body: bytes):
    """The single-record get parser (the caller of the shape cache, with its miss gate)."""
    from aerospike_py._commands import record as rec

    class Key:
        public = ("test", "s", "k", b"d" * 20)

    class Cmd:
        key = Key

    r = rec._parse_record(Cmd, body, "N")
    return r.meta.gen, r.bins


def _operate_reply(body: bytes):
    """The parser of an operate without a result plan (reads of whole bins), as its command has it."""
    import aerospike_py as ap
    from aerospike_py import _policy as P
    from aerospike_py._commands import record as rec

    cmd = rec.operate(("test", "s", "k"), [{"op": ap.OPERATOR_READ, "bin": "s"}], None, P.WRITE.resolve(None))
    assert cmd.extra is None
    r = cmd.parse(cmd, body, "N")
    return r.meta.gen, r.bins


@pytest.mark.parametrize("parse", [_get_reply, _operate_reply], ids=["get", "operate"])
def test_misses_are_sampled_when_nothing_repeats_and_repeats_are_still_learnt(parse, monkeypatch):
    calls = _compiles(monkeypatch)
    noted: list[int] = []
    real = shapes.decode_record

    def counting(body):
        noted.append(len(body))
        return real(body)

    from aerospike_py._commands import record as rec

    monkeypatch.setattr(rec, "decode_record", counting)  # the get parser's (inlined gate)
    n = 4 * shapes._QUIET
    for i in range(n):  # every reply a new length: after _QUIET of them, misses are sampled
        body = reply([("s", "u" * i)])
        assert parse(body) == (7, {"s": "u" * i})
    assert shapes.GATE[0] > 0
    assert len(noted) < shapes._QUIET + n // shapes._SAMPLE + 2
    assert not calls
    hot = reply([("h", 1), ("s", "hot")])
    for _ in range(2 * shapes._SAMPLE + 2):  # a shape that repeats is learnt all the same
        assert parse(hot) == (7, {"h": 1, "s": "hot"})
    assert calls == [len(hot)]
    assert len(hot) in shapes.SHAPES


def test_no_affordable_compile_gates_misses(monkeypatch):
    calls = _compiles(monkeypatch)
    for i in range(shapes._BUDGET + 1):  # the budget spent on shapes that never come back
        body = reply([("s", "x" * i)])
        shapes.decode_record(body)
        shapes.decode_record(body)
    assert len(calls) == shapes._BUDGET
    assert shapes.GATE[0] == shapes._SAMPLE - 1
    body = reply([("s", "x" * 5000)])
    for _ in range(3 * shapes._SAMPLE):
        assert _get_reply(body) == (7, {"s": "x" * 5000})
    assert len(calls) == shapes._BUDGET


def test_shapes_of_other_lengths_share_code_and_decode_their_own_values():
    """Replies differing only in value lengths compile one source (one code object), and each
    shape splits and checks replies with its own lengths."""
    bodies = [reply([("n", i), ("s", "x" * i), ("m", {"k": i})]) for i in range(5)]
    assert len({len(b) for b in bodies}) == 5
    for body in bodies:
        shapes.decode_record(body)
    for i, body in enumerate(bodies):
        assert shapes.decode_record(body) == (7, 1234, {"n": i, "s": "x" * i, "m": {"k": i}})
    assert len(shapes.SHAPES) == 5
    assert len(shapes._CODE) == 1
    # Same source and length, other split between the values: refused, not misread.
    a = reply([("n", 1), ("s", "x" * 20), ("b", b"y" * 30)])
    b = reply([("n", 1), ("s", "x" * 21), ("b", b"y" * 29)])
    assert len(a) == len(b)
    shapes.decode_record(a)
    assert shapes.decode_record(a) == (7, 1234, {"n": 1, "s": "x" * 20, "b": b"y" * 30})
    assert shapes.decode_record(b) is None
    c = reply([("n", 2), ("s", "x" * 40), ("b", b"y" * 40)])  # that source, another length
    shapes.decode_record(c)
    assert shapes.decode_record(c) == (7, 1234, {"n": 2, "s": "x" * 40, "b": b"y" * 40})
    assert len(shapes._CODE) == 2


def test_code_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(shapes, "_MAXCODE", 4)
    for i in range(12):
        body = reply([("b" * (i + 1), i)])  # a new source (its bin name) and length each time
        shapes.decode_record(body)
        assert shapes.decode_record(body) == (7, 1234, {"b" * (i + 1): i})
        assert len(shapes._CODE) <= 4
