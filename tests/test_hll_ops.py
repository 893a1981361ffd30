"""HyperLogLog operations: builders, wire bytes and answers against the real server's trace."""

from __future__ import annotations

import math
from typing import Any

import msgpack
import pytest

import aerospike_py
import aerospike_py.server.hll  # noqa: F401  (registers the HLL handlers)
from _paths import TRACES
from _traces import decode
from _traces import trace_frames as _trace_frames
from aerospike_py import HLL
from aerospike_py import hll_operations as ho
from aerospike_py._commands.ops import encode_ops
from aerospike_py._wire import constants as W
from aerospike_py.exception import AerospikeError, BinExistsError, BinNotFound, InvalidArgError
from aerospike_py.server.errors import ResultError
from aerospike_py.server.hll import Sketch, estimate, murmur3_x64_128
from aerospike_py.server.ops import OP_HANDLERS, OpContext
from aerospike_py.server.storage import StoredRecord

TRACE = TRACES / "official-cdt.jsonl"
KEY = ("test", "demo", "hll")
KEY2 = ("test", "demo", "hll2")


def trace_frames(prefix: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return _trace_frames(TRACE, prefix)


def traced_h2() -> HLL:
    [(_, s2c)] = trace_frames("get tv-cdt-hll2")
    [op] = decode(s2c)[2]
    assert op.ptype == W.PT_HLL
    return HLL(op.value)


def replay(records: dict[bytes, StoredRecord], c2s: dict[str, Any]) -> tuple[int, list[tuple[int, bytes]]]:
    _, fields, ops = decode(c2s)
    digest = fields[W.FIELD_DIGEST]
    work = records.get(digest) or StoredRecord(digest, "tv")
    ctx = OpContext(work, digest in records, None, None)
    out = []
    try:
        for op in ops:
            res = OP_HANDLERS[op.op](ctx, op)
            out.append(res if res is not None else (W.PT_NULL, b""))
    except ResultError as e:
        return e.code, []
    records[digest] = work
    return 0, out


def trace_steps() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("operate hll_init h", ho.hll_init("h", 10, 0)),
        ("operate hll_add h ['a'", ho.hll_add("h", ["a", "b", "c", "a"])),
        ("operate hll_get_count h", ho.hll_get_count("h")),
        ("operate hll_describe h", ho.hll_describe("h")),
        ("operate hll_add h2", ho.hll_add("h2", ["c", "d"], 10)),
        ("operate hll_get_union_count h", ho.hll_get_union_count("h", [traced_h2()])),
        ("operate hll_add h ['x'] index_bits 12", ho.hll_add("h", ["x"], 12)),
    ]


def test_request_op_bytes_equal_official_client() -> None:
    for step, op in trace_steps():
        [(c2s, _)] = trace_frames(step)
        h, _, [wire] = decode(c2s)
        [enc] = encode_ops([op])
        assert enc.data == bytes.fromhex(c2s["hex"])[-len(enc.data):], step
        assert (wire.op, wire.ptype) == (enc.wire_op, W.PT_BLOB)
        assert enc.respond_all and h.info2 & W.INFO2_RESPOND_ALL_OPS


def test_server_answers_equal_real_server() -> None:
    records: dict[bytes, StoredRecord] = {}
    for step, _ in trace_steps():
        [(c2s, s2c)] = trace_frames(step)
        code, results = replay(records, c2s)
        rh, _, real = decode(s2c)
        assert code == rh.result_code, step
        assert results == [(o.ptype, o.value) for o in real], step
    [(c2s, _)] = trace_frames("operate hll_add h2")
    h2_digest = decode(c2s)[1][W.FIELD_DIGEST]
    assert records[h2_digest].bins["h2"] == (W.PT_HLL, bytes(traced_h2()))  # byte-exact registers


def test_murmur3_reference_vectors() -> None:
    assert murmur3_x64_128(b"") == (0, 0)
    # Published MurmurHash3_x64_128 of "hello" (seed 0), as two 64-bit words.
    assert murmur3_x64_128(b"hello") == (0xCBD8A7B341BD9B02, 0x5B1E906A48AE1D19)
    assert murmur3_x64_128(b"The quick brown fox jumps over the lazy dog")[0] == 0xE34BBC7BBC071B6C


def test_sketch_roundtrip_all_shapes() -> None:
    for ib, mb in ((4, 0), (4, 4), (10, 0), (12, 51 - 12 + 4), (16, 0), (8, 48)):
        if ib + mb > 64:
            continue
        s = Sketch(ib, mb)
        for i in range(50):
            s.add(msgpack.packb(i))
        again = Sketch.decode(s.encode())
        assert (again.index_bits, again.minhash_bits, again.regs) == (ib, mb, s.regs)
        assert len(s.encode()) == 11 + ((6 + mb) * (1 << ib) + 7) // 8


# --------------------------------------------------------------------------- embedded server


def res(client: Any, key: Any, *ops: dict[str, Any]) -> Any:
    return client.operate(key, list(ops)).bins


def test_init_add_count_describe(client: Any) -> None:
    assert res(client, KEY, ho.hll_init("h", 12, 16)) == {"h": None}
    assert res(client, KEY, ho.hll_describe("h")) == {"h": [12, 16]}
    added = res(client, KEY, ho.hll_add("h", [f"v{i}" for i in range(1000)]))["h"]
    assert 900 <= added <= 1000  # register collisions add nothing
    count = res(client, KEY, ho.hll_get_count("h"))["h"]
    assert abs(count - 1000) < 60
    assert res(client, KEY, ho.hll_add("h", ["v1", "v2"]))["h"] == 0
    value = client.get(KEY).bins["h"]
    assert isinstance(value, HLL) and value[:3] == b"\x00\x0c\x10"
    assert estimate(Sketch.decode(bytes(value))) == count


def test_add_creates_with_bits_or_fails(client: Any) -> None:
    client.put(KEY, {"x": 1})
    with pytest.raises(AerospikeError) as ei:
        res(client, KEY, ho.hll_add("h", ["a"]))
    assert ei.value.code == 26
    assert res(client, KEY, ho.hll_add("h", ["a"], 8))["h"] == 1
    assert res(client, KEY, ho.hll_describe("h"))["h"] == [8, 0]


def test_union_intersection_similarity(client: Any) -> None:
    a = [f"a{i}" for i in range(2000)]
    b = a[1000:] + [f"b{i}" for i in range(1000)]
    res(client, KEY, ho.hll_add("h", a, 14, 20))
    res(client, KEY2, ho.hll_add("h", b, 14, 20))
    other = client.get(KEY2).bins["h"]
    union_count = res(client, KEY, ho.hll_get_union_count("h", [other]))["h"]
    assert abs(union_count - 3000) < 150
    inter = res(client, KEY, ho.hll_get_intersect_count("h", [other]))["h"]
    assert abs(inter - 1000) < 150
    sim = res(client, KEY, ho.hll_get_similarity("h", [other]))["h"]
    assert abs(sim - 1 / 3) < 0.05
    union = res(client, KEY, ho.hll_get_union("h", [other]))["h"]
    assert isinstance(union, HLL) and estimate(Sketch.decode(bytes(union))) == union_count
    res(client, KEY, ho.hll_set_union("h", [other]))
    assert res(client, KEY, ho.hll_get_count("h"))["h"] == union_count


def test_similarity_without_minhash_and_empty(client: Any) -> None:
    res(client, KEY, ho.hll_add("h", [1, 2, 3], 8))
    res(client, KEY2, ho.hll_init("h", 8))
    empty = client.get(KEY2).bins["h"]
    same = client.get(KEY).bins["h"]
    assert res(client, KEY, ho.hll_get_similarity("h", [same]))["h"] == 1.0
    assert res(client, KEY, ho.hll_get_intersect_count("h", [same]))["h"] == 3
    assert res(client, KEY, ho.hll_get_intersect_count("h", [empty]))["h"] == 0
    res(client, KEY2, ho.hll_init("h", 8, 8))
    res(client, KEY, ho.hll_init("h", 8, 8))
    e8 = client.get(KEY2).bins["h"]
    assert math.isnan(res(client, KEY, ho.hll_get_similarity("h", [e8]))["h"])


def test_fold_and_flags(client: Any) -> None:
    res(client, KEY, ho.hll_add("h", list(range(100)), 12))
    before = res(client, KEY, ho.hll_get_count("h"))["h"]
    res(client, KEY, ho.hll_fold("h", 8))
    assert res(client, KEY, ho.hll_describe("h"))["h"] == [8, 0]
    assert abs(res(client, KEY, ho.hll_get_count("h"))["h"] - before) < 20
    with pytest.raises(AerospikeError) as ei:
        res(client, KEY, ho.hll_fold("h", 10))
    assert ei.value.code == 26
    create_only = {"flags": aerospike_py.HLL_WRITE_CREATE_ONLY}
    with pytest.raises(BinExistsError):
        res(client, KEY, ho.hll_init("h", 8, policy=create_only))
    res(client, KEY, ho.hll_init("h", 8, policy={"flags": aerospike_py.HLL_WRITE_CREATE_ONLY | 4}))
    assert res(client, KEY, ho.hll_get_count("h"))["h"] > 0
    with pytest.raises(BinNotFound):
        res(client, KEY, ho.hll_init("new", 8, policy={"flags": aerospike_py.HLL_WRITE_UPDATE_ONLY}))
    small = client.get(KEY).bins["h"]
    res(client, KEY2, ho.hll_init("h", 10))
    with pytest.raises(AerospikeError) as ei:
        res(client, KEY2, ho.hll_set_union("h", [small]))
    assert ei.value.code == 26
    res(client, KEY2, ho.hll_set_union("h", [small], policy={"flags": aerospike_py.HLL_WRITE_ALLOW_FOLD}))
    assert res(client, KEY2, ho.hll_describe("h"))["h"] == [8, 0]


def test_wrong_bin_type(client: Any) -> None:
    client.put(KEY, {"h": b"blob"})
    with pytest.raises(AerospikeError) as ei:
        res(client, KEY, ho.hll_get_count("h"))
    assert ei.value.code == 12


def test_operate_ordered(client: Any) -> None:
    out = client.operate_ordered(KEY, [ho.hll_init("h", 6), ho.hll_add("h", ["a", "b"]), ho.hll_get_count("h"),
                                       ho.hll_describe("h")])
    assert [v for _, v in out.ordered_bins] == [None, 2, 2, [6, 0]]


@pytest.mark.parametrize("op", [
    ho.hll_init("h", 3),
    ho.hll_init("h", 17),
    ho.hll_init("h", 10, 2),
    ho.hll_init("h", "10"),  # type: ignore[arg-type]
    ho.hll_add("h", "abc"),  # type: ignore[arg-type]
    ho.hll_add("h", []),
    ho.hll_add("h", [[1]]),
    ho.hll_add("h", ["a"], policy={"flags": 64}),
    ho.hll_get_union("h", [b"short"]),
    ho.hll_get_union_count("h", "x"),  # type: ignore[arg-type]
    ho.hll_fold("h", None),  # type: ignore[arg-type]
])
def test_bad_input_raises_before_sending(client: Any, op: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgError):
        client.operate(KEY, [op])


def test_builders() -> None:
    assert ho.hll_init("h", 10) == {"op": 3001, "bin": "h", "index_bit_count": 10}
    assert ho.hll_add("h", [1], policy={"flags": 1}) == {"op": 3002, "bin": "h", "val": [1], "hll_policy": {"flags": 1}}
    assert [f(*a)["op"] for f, a in ((ho.hll_get_count, ("h",)), (ho.hll_get_union, ("h", [])),
            (ho.hll_get_union_count, ("h", [])), (ho.hll_get_intersect_count, ("h", [])),
            (ho.hll_get_similarity, ("h", [])), (ho.hll_describe, ("h",)), (ho.hll_fold, ("h", 4)),
            (ho.hll_set_union, ("h", [])))] == list(range(3003, 3011))
