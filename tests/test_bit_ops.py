"""Bit operations: builders, wire bytes against the official client's trace, server semantics."""

from __future__ import annotations

from typing import Any

import pytest

import aerospike_py
import aerospike_py.server.bits  # noqa: F401  (registers the bit handlers)
from _paths import TRACES
from _traces import decode
from _traces import trace_frames as _trace_frames
from aerospike_py import bit_operations as bo
from aerospike_py._commands.ops import encode_ops
from aerospike_py._wire import constants as W
from aerospike_py.exception import AerospikeError, BinExistsError, BinNotFound, InvalidArgError
from aerospike_py.server.errors import ResultError
from aerospike_py.server.ops import OP_HANDLERS, OpContext
from aerospike_py.server.storage import StoredRecord

TRACE = TRACES / "official-cdt.jsonl"
KEY = ("test", "demo", "bits")


def trace_frames(prefix: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return _trace_frames(TRACE, prefix)


def replay(records: dict[bytes, StoredRecord], c2s: dict[str, Any]) -> tuple[int, list[tuple[int, bytes]]]:
    """Apply a traced request's ops with our server semantics: (result code, [(ptype, value)])."""
    _, fields, ops = decode(c2s)
    digest = fields[W.FIELD_DIGEST]
    work = records.get(digest) or StoredRecord(digest, "tv")
    before = dict(work.bins)
    ctx = OpContext(work, digest in records, None, None)
    out = []
    try:
        for op in ops:
            res = OP_HANDLERS[op.op](ctx, op)
            out.append(res if res is not None else (W.PT_NULL, b""))
    except ResultError as e:
        work.bins = before
        return e.code, []
    records[digest] = work
    return 0, out


TRACE_STEPS = [
    ("operate bit_set bits offset 0", bo.bit_set("bits", 0, 8, b"\xff")),
    ("operate bit_get bits", bo.bit_get("bits", 0, 16)),
    ("operate bit_count bits", bo.bit_count("bits", 0, 32)),
    ("operate bit_add bits offset 8 size 8 +255", bo.bit_add("bits", 8, 8, 255, False, aerospike_py.BIT_OVERFLOW_FAIL)),
    ("operate bit_add bits offset 8 size 8 +1 unsigned OVERFLOW_FAIL", bo.bit_add("bits", 8, 8, 1)),
    ("operate bit_add bits offset 8 size 8 +1 unsigned OVERFLOW_WRAP",
     bo.bit_add("bits", 8, 8, 1, action=aerospike_py.BIT_OVERFLOW_WRAP)),
    ("operate bit_add bits offset 16", bo.bit_add("bits", 16, 8, 200, True, aerospike_py.BIT_OVERFLOW_SATURATE)),
    ("operate bit_get_int", bo.bit_get_int("bits", 0, 16, True)),
    ("operate bit_resize bits 8", bo.bit_resize("bits", 8, aerospike_py.BIT_RESIZE_DEFAULT)),
    ("operate bit_resize bits 2", bo.bit_resize(
        "bits", 2, aerospike_py.BIT_RESIZE_FROM_FRONT | aerospike_py.BIT_RESIZE_SHRINK_ONLY)),
]


@pytest.mark.parametrize(("step", "op"), TRACE_STEPS, ids=[s for s, _ in TRACE_STEPS])
def test_request_op_bytes_equal_official_client(step: str, op: dict[str, Any]) -> None:
    [(c2s, _)] = trace_frames(step)
    h, _, wire_ops = decode(c2s)
    [enc] = encode_ops([op])
    assert enc.data == bytes.fromhex(c2s["hex"])[-len(enc.data):]
    assert (wire_ops[0].op, wire_ops[0].ptype) == (enc.wire_op, W.PT_BLOB)
    assert enc.respond_all and h.info2 & W.INFO2_RESPOND_ALL_OPS


def test_server_answers_equal_real_server_for_traced_sequence() -> None:
    records: dict[bytes, StoredRecord] = {}
    [(put, _)] = trace_frames("put tv-cdt-bits")
    _, fields, _ = decode(put)
    records[fields[W.FIELD_DIGEST]] = rec = StoredRecord(fields[W.FIELD_DIGEST], "tv")
    rec.bins["bits"] = (W.PT_BLOB, bytes(4))
    for step, _ in TRACE_STEPS:
        [(c2s, s2c)] = trace_frames(step)
        code, results = replay(records, c2s)
        rh, _, real_ops = decode(s2c)
        assert code == rh.result_code, step
        assert results == [(o.ptype, o.value) for o in real_ops], step
    [(_, final)] = trace_frames("get tv-cdt-bits")
    assert rec.bins["bits"] == (W.PT_BLOB, decode(final)[2][0].value) == (W.PT_BLOB, b"\x00\x00")


# --------------------------------------------------------------------------- embedded server


def run(client: Any, *ops: dict[str, Any]) -> Any:
    return client.operate(KEY, list(ops)).bins["b"]


def blob(client: Any) -> bytes:
    return client.get(KEY).bins["b"]


@pytest.fixture
def b(client: Any) -> Any:
    client.put(KEY, {"b": bytes([0b10110000, 0x0F, 0xAA, 0x01])})
    return client


def test_read_ops(b: Any) -> None:
    assert run(b, bo.bit_get("b", 0, 4)) == b"\xb0"
    assert run(b, bo.bit_get("b", 4, 12)) == b"\x00\xf0"
    assert run(b, bo.bit_get("b", -8, 8)) == b"\x01"
    assert run(b, bo.bit_count("b", 0, 32)) == 3 + 4 + 4 + 1
    assert run(b, bo.bit_count("b", 2, 3)) == 2
    assert run(b, bo.bit_lscan("b", 0, 32, True)) == 0
    assert run(b, bo.bit_lscan("b", 1, 31, True)) == 1
    assert run(b, bo.bit_lscan("b", 4, 12, True)) == 8  # bit 12 relative to offset 4
    assert run(b, bo.bit_lscan("b", 4, 8, True)) == -1
    assert run(b, bo.bit_lscan("b", 0, 8, False)) == 1
    assert run(b, bo.bit_rscan("b", 0, 32, True)) == 31
    assert run(b, bo.bit_rscan("b", 0, 31, True)) == 22
    assert run(b, bo.bit_rscan("b", 0, 8, False)) == 7
    assert run(b, bo.bit_get_int("b", 0, 8)) == 0xB0
    assert run(b, bo.bit_get_int("b", 0, 8, True)) == 0xB0 - 256
    assert run(b, bo.bit_get_int("b", 0, 32)) == 0xB00FAA01


def test_missing_bin_reads_none(client: Any) -> None:
    client.put(KEY, {"x": 1})
    assert client.operate(KEY, [bo.bit_get("b", 0, 8)]).bins == {"b": None}


def test_set_and_logic_ops(b: Any) -> None:
    run(b, bo.bit_set("b", 4, 8, b"\xff"))
    assert blob(b) == bytes([0xBF, 0xFF, 0xAA, 0x01])
    run(b, bo.bit_and("b", 8, 8, b"\x0f"))
    run(b, bo.bit_or("b", 16, 4, b"\x50"))
    run(b, bo.bit_xor("b", 24, 8, b"\xff"))
    assert blob(b) == bytes([0xBF, 0x0F, 0xFA, 0xFE])
    run(b, bo.bit_not("b", 0, 4))
    assert blob(b)[0] == 0x4F
    run(b, bo.bit_set("b", 1, 3, b"\xa0\x00"))  # leading bits of the value
    assert blob(b)[0] == 0x5F


def test_shifts(b: Any) -> None:
    run(b, bo.bit_lshift("b", 0, 8, 2))
    assert blob(b)[0] == 0xC0
    run(b, bo.bit_rshift("b", 8, 8, 3))
    assert blob(b)[1] == 0x01
    run(b, bo.bit_lshift("b", 16, 16, 100))
    assert blob(b)[2:] == b"\x00\x00"
    run(b, bo.bit_rshift("b", 4, 4, 1))  # only the addressed bits move
    assert blob(b)[0] == 0xC0


def test_integer_ops_and_overflow(b: Any) -> None:
    run(b, bo.bit_set_int("b", 8, 8, 250))
    run(b, bo.bit_add("b", 8, 8, 5))
    assert run(b, bo.bit_get_int("b", 8, 8)) == 255
    with pytest.raises(AerospikeError) as ei:
        run(b, bo.bit_add("b", 8, 8, 1))
    assert ei.value.code == 26
    run(b, bo.bit_add("b", 8, 8, 10, action=aerospike_py.BIT_OVERFLOW_SATURATE))
    assert run(b, bo.bit_get_int("b", 8, 8)) == 255
    run(b, bo.bit_add("b", 8, 8, 10, action=aerospike_py.BIT_OVERFLOW_WRAP))
    assert run(b, bo.bit_get_int("b", 8, 8)) == 9
    run(b, bo.bit_subtract("b", 8, 8, 20, action=aerospike_py.BIT_OVERFLOW_SATURATE))
    assert run(b, bo.bit_get_int("b", 8, 8)) == 0
    with pytest.raises(AerospikeError) as ei:
        run(b, bo.bit_subtract("b", 8, 8, 1))
    assert ei.value.code == 26
    run(b, bo.bit_set_int("b", 0, 8, 120))
    run(b, bo.bit_add("b", 0, 8, 100, True, aerospike_py.BIT_OVERFLOW_SATURATE))
    assert run(b, bo.bit_get_int("b", 0, 8, True)) == 127
    run(b, bo.bit_subtract("b", 0, 8, 300, True, aerospike_py.BIT_OVERFLOW_WRAP))
    assert run(b, bo.bit_get_int("b", 0, 8, True)) == (127 - 300) % 256 - 256 * ((127 - 300) % 256 > 127)
    run(b, bo.bit_set_int("b", 0, 8, -100))
    with pytest.raises(AerospikeError):
        run(b, bo.bit_subtract("b", 0, 8, 100, True))
    run(b, bo.bit_subtract("b", 0, 8, 100, True, aerospike_py.BIT_OVERFLOW_SATURATE))
    assert run(b, bo.bit_get_int("b", 0, 8, True)) == -128
    run(b, bo.bit_set_int("b", 0, 32, 0xDEADBEEF))
    assert run(b, bo.bit_get_int("b", 0, 32)) == 0xDEADBEEF


def test_resize_insert_remove(b: Any) -> None:
    run(b, bo.bit_resize("b", 6))
    assert blob(b) == bytes([0xB0, 0x0F, 0xAA, 0x01, 0, 0])
    run(b, bo.bit_resize("b", 8, aerospike_py.BIT_RESIZE_FROM_FRONT))
    assert blob(b) == bytes([0, 0, 0xB0, 0x0F, 0xAA, 0x01, 0, 0])
    run(b, bo.bit_resize("b", 4, aerospike_py.BIT_RESIZE_FROM_FRONT))
    assert blob(b) == bytes([0xAA, 0x01, 0, 0])
    run(b, bo.bit_resize("b", 3))
    assert blob(b) == bytes([0xAA, 0x01, 0])
    with pytest.raises(AerospikeError) as ei:
        run(b, bo.bit_resize("b", 2, aerospike_py.BIT_RESIZE_GROW_ONLY))
    assert ei.value.code == 4
    run(b, bo.bit_resize("b", 2, aerospike_py.BIT_RESIZE_GROW_ONLY, aerospike_py.BIT_WRITE_NO_FAIL))
    assert len(blob(b)) == 3
    run(b, bo.bit_insert("b", 1, b"\x11\x22"))
    assert blob(b) == bytes([0xAA, 0x11, 0x22, 0x01, 0])
    run(b, bo.bit_insert("b", 7, b"\x33"))
    assert blob(b) == bytes([0xAA, 0x11, 0x22, 0x01, 0, 0, 0, 0x33])
    run(b, bo.bit_remove("b", 1, 2))
    assert blob(b) == bytes([0xAA, 0x01, 0, 0, 0, 0x33])
    with pytest.raises(AerospikeError) as ei:
        run(b, bo.bit_remove("b", 4, 5))
    assert ei.value.code == 4
    run(b, bo.bit_remove("b", 4, 5, aerospike_py.BIT_WRITE_PARTIAL))
    assert blob(b) == bytes([0xAA, 0x01, 0, 0])
    run(b, bo.bit_remove("b", -1, 1))
    assert blob(b) == bytes([0xAA, 0x01, 0])


def test_create_and_update_flags(client: Any) -> None:
    client.put(KEY, {"x": 1})
    with pytest.raises(BinNotFound):
        run(client, bo.bit_set("b", 0, 8, b"\x01"))
    run(client, bo.bit_set("b", 0, 8, b"\x01", aerospike_py.BIT_WRITE_NO_FAIL))
    assert "b" not in client.get(KEY).bins
    with pytest.raises(BinNotFound):
        run(client, bo.bit_resize("b", 2, policy=aerospike_py.BIT_WRITE_UPDATE_ONLY))
    run(client, bo.bit_insert("b", 2, b"\x07", aerospike_py.BIT_WRITE_CREATE_ONLY))
    assert blob(client) == b"\x00\x00\x07"
    with pytest.raises(BinExistsError):
        run(client, bo.bit_resize("b", 8, policy=aerospike_py.BIT_WRITE_CREATE_ONLY))
    run(client, bo.bit_resize("b", 8, policy=aerospike_py.BIT_WRITE_CREATE_ONLY | aerospike_py.BIT_WRITE_NO_FAIL))
    assert blob(client) == b"\x00\x00\x07"


def test_out_of_range_and_partial(b: Any) -> None:
    for op in (bo.bit_set("b", 32, 8, b"\x01"), bo.bit_set("b", 28, 8, b"\xff"), bo.bit_get("b", 30, 8),
               bo.bit_add("b", 30, 8, 1), bo.bit_count("b", 40, 1)):
        with pytest.raises(AerospikeError) as ei:
            run(b, op)
        assert ei.value.code == 26
    run(b, bo.bit_set("b", 28, 8, b"\xff", aerospike_py.BIT_WRITE_PARTIAL))
    assert blob(b)[3] == 0x0F
    run(b, bo.bit_not("b", 24, 16, aerospike_py.BIT_WRITE_NO_FAIL))
    assert blob(b)[3] == 0x0F
    with pytest.raises(AerospikeError) as ei:
        run(b, bo.bit_get("b", -40, 8))
    assert ei.value.code == 4


def test_incompatible_bin_type(client: Any) -> None:
    client.put(KEY, {"b": "text"})
    for op in (bo.bit_get("b", 0, 8), bo.bit_set("b", 0, 8, b"\x01")):
        with pytest.raises(AerospikeError) as ei:
            run(client, op)
        assert ei.value.code == 12


def test_operate_ordered_returns_each_result(b: Any) -> None:
    res = b.operate_ordered(KEY, [bo.bit_set("b", 0, 8, b"\x01"), bo.bit_get("b", 0, 8), bo.bit_count("b", 0, 8)])
    assert [v for _, v in res.ordered_bins] == [None, b"\x01", 1]


@pytest.mark.parametrize("op", [
    bo.bit_get(1, 0, 8),  # type: ignore[arg-type]
    bo.bit_get("b", "0", 8),  # type: ignore[arg-type]
    bo.bit_get("b", 0, -1),
    bo.bit_set("b", 0, 8, "not bytes"),  # type: ignore[arg-type]
    bo.bit_set("b", 0, 8, b""),
    bo.bit_add("b", 0, 8, 1.5),  # type: ignore[arg-type]
    bo.bit_add("b", 0, 8, 1, action=3),
    bo.bit_add("b", 0, 8, 1, signed=1),  # type: ignore[arg-type]
    bo.bit_lscan("b", 0, 8, 1),  # type: ignore[arg-type]
    bo.bit_resize("b", 1, resize_flags=8),
    bo.bit_not("b", 0, 8, policy=16),
    bo.bit_insert("b", 0, b"\x01", policy="x"),  # type: ignore[arg-type]
])
def test_bad_input_raises_before_sending(client: Any, op: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgError):
        client.operate(KEY, [op])


def test_builders_match_signatures() -> None:
    assert bo.bit_resize("b", 4) == {"op": 4001, "bin": "b", "byte_size": 4}
    assert bo.bit_resize("b", 4, 1, 2) == {"op": 4001, "bin": "b", "byte_size": 4, "resize_flags": 1, "bit_policy": 2}
    assert bo.bit_add("b", 1, 2, 3) == {"op": 4011, "bin": "b", "bit_offset": 1, "bit_size": 2, "val": 3,
                                        "signed": False, "action": 0}
    assert bo.bit_lscan("b", 0, 8, True)["op"] == 4052
    assert bo.bit_get_int("b", 0, 8)["op"] == 4054
