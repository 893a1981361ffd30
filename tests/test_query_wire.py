"""Query/scan codec (``_wire.query``) against the frames the official client and the real server
exchanged (``official-query.jsonl``, ``official-2node-stale-map.jsonl``)."""

from __future__ import annotations

import json
import struct

import pytest

from _paths import TRACES, require
from aerospike_py import exp
from aerospike_py._wire import constants as W
from aerospike_py._wire import query as Q
from aerospike_py.exp import _pack_filter

TRACE = TRACES / "official-query.jsonl"
STALE = TRACES / "official-2node-stale-map.jsonl"

# Embedded so CI (without ../shared) checks the codec too: a scan of partitions 1144..1273 and
# the first reply frame of it, from official-query.jsonl.
RANGE_SCAN = bytes.fromhex(
    "020300000000014616010004000000000000ffffffff000000000005000000000005007465737400000004017476"
    "710000000509000075300000000907de8ec83bb79321e1000001050b"
) + b"".join(p.to_bytes(2, "little") for p in range(1144, 1274))
RANGE_REPLY = bytes.fromhex(
    "020300000000007a160000000000000000010000000000000000000400030000000500746573740000001504b264"
    "18e3f1ba4ac30e2f739fe2d51ca181282255000000040174767100000009020374762d712d31300000000d0101000"
    "16e000000000000000a00000007010300017373300000000d01010001670000000000000000"
)
LAST = bytes.fromhex("020300000000001616000001000000000000000000000000000000000000")


def test_range_scan_request_embedded():
    req = Q.pack_query("test", "tvq", task_id=0xDE8EC83BB79321E1, socket_timeout=30000, pids=range(1144, 1274))
    assert req == RANGE_SCAN
    parsed = Q.parse_query(req[8:])
    assert parsed.namespace == "test" and parsed.set_name == "tvq"
    assert parsed.pids == list(range(1144, 1274))
    assert parsed.task_id == 0xDE8EC83BB79321E1 and parsed.socket_timeout == 30000
    assert parsed.index_range is None and parsed.max_records == 0 and parsed.digests == []


def test_reply_embedded():
    (m,) = Q.decode_answer(RANGE_REPLY[8:])
    assert m.kind == "record" and m.result_code == 0 and m.generation == 1
    assert (m.namespace, m.set_name, m.user_key) == ("test", "tvq", "tv-q-10")
    assert m.digest == bytes.fromhex("b26418e3f1ba4ac30e2f739fe2d51ca181282255")
    assert dict(m.bins) == {"n": 10, "s": "s0", "g": 0}
    assert m.bval is None
    (last,) = Q.decode_answer(LAST[8:])
    assert last.kind == "last" and last.result_code == 0


def test_server_side_encoders_round_trip():
    ops = [b"\x00\x00\x00\x0d\x01\x01\x00\x01n" + (10).to_bytes(8, "big")]
    digest = bytes(range(20))
    msg = Q.pack_record(b"test", digest, b"tvq", b"\x03tv-q-10", 77, 3, 0, ops)
    body = msg + Q.pack_partition_done(19, 11) + Q.pack_last(0)
    rec, pd, last = Q.decode_answer(body)
    assert (rec.kind, rec.user_key, rec.bval, rec.generation, rec.digest) == ("record", "tv-q-10", 77, 3, digest)
    assert rec.bins == [("n", 10)]
    assert (pd.kind, pd.generation, pd.result_code) == ("partition_done", 19, 11)
    assert last.kind == "last"


def test_index_range_round_trip():
    data = Q.pack_index_range("loc", W.PT_GEOJSON, b'{"type":"Point"}', b'{"type":"Point"}')
    assert Q.parse_index_range(data) == ("loc", W.PT_GEOJSON, b'{"type":"Point"}', b'{"type":"Point"}')
    assert Q.index_value(W.PT_INTEGER, -2) == (-2).to_bytes(8, "big", signed=True)


def test_resume_fields_round_trip():
    d1, d2 = b"\x01" * 20, b"\x02" * 20
    rng = Q.pack_index_range("n", W.PT_INTEGER, Q.index_value(1, 0), Q.index_value(1, 9))
    req = Q.pack_query("test", None, task_id=5, socket_timeout=100, pids=[3, 4], digests=[d1, d2], bvals=[-1, 7],
                       index_range=rng, index_type=Q.INDEX_COLLECTION_LIST, index_context=b"\x92\x10\x00",
                       max_records=9, records_per_second=50, ops=Q.read_ops(["a", "b"]))
    p = Q.parse_query(req[8:])
    assert p.set_name is None and p.pids == [3, 4] and p.digests == [d1, d2] and p.bvals == [-1, 7]
    assert p.index_type == 1 and p.index_context == b"\x92\x10\x00" and p.max_records == 9
    assert p.records_per_second == 50 and [o[0] for o in p.ops] == ["a", "b"]
    assert p.index_range == ("n", 1, Q.index_value(1, 0), Q.index_value(1, 9))


# --------------------------------------------------------------------------- whole trace


def _steps(path):
    out: dict[str, dict[str, list[bytes]]] = {}
    for line in require(path).read_text().splitlines():
        o = json.loads(line)
        if o.get("type") == 3:
            out.setdefault(o["step"], {"c2s": [], "s2c": []})[o["dir"]].append(bytes.fromhex(o["hex"]))
    return out


def _task_id(frame: bytes) -> int:
    return Q.parse_query(frame[8:]).task_id


def _frames(prefix):
    (v,) = [v for s, v in _steps(TRACE).items() if s.startswith(prefix)]
    return v["c2s"][0], v["s2c"]


IDX_N = ("n", W.PT_INTEGER)


@pytest.mark.parametrize("prefix,kw", [
    ("query(test, tvq).where(equals('s', 's1'))",
     {"index_range": Q.pack_index_range("s", W.PT_STRING, b"s1", b"s1")}),
    ("query(test, tvq).where(between('n', 5, 9))",
     {"index_range": Q.pack_index_range("n", 1, Q.index_value(1, 5), Q.index_value(1, 9))}),
    ("query(test, tvq).select('n').where(between('n', 15, 100))",
     {"index_range": Q.pack_index_range("n", 1, Q.index_value(1, 15), Q.index_value(1, 100)),
      "ops": Q.read_ops(["n"])}),
    ("query(test, tvq).where(between('n', 0, 9)).results(filter",
     {"index_range": Q.pack_index_range("n", 1, Q.index_value(1, 0), Q.index_value(1, 9)),
      "filter_exp": _pack_filter(exp.eq(exp.int_bin("g"), exp.int_val(1)))}),
    ("query(test, tvq).results() (scan of the set", {}),
    ("query(test, tvq).results(partition_filter begin=0 count=2048)", {"pids": range(2048)}),
    ("query(test, tvq) max_records=5", {"max_records": 5}),
    ("query(test, tvq).results(options nobins=True)", {"info1": W.INFO1_READ | W.INFO1_NOBINDATA}),
])
def test_golden_requests(prefix, kw):
    req, _ = _frames(prefix)
    kw.setdefault("pids", range(4096))
    assert Q.pack_query("test", "tvq", task_id=_task_id(req), socket_timeout=30000, **kw) == req


def test_trace_answers_decode():
    for step, v in _steps(TRACE).items():
        if not step.startswith("query("):
            continue
        msgs = [m for f in v["s2c"] for m in Q.decode_answer(f[8:])]
        assert msgs[-1].kind == "last" and msgs[-1].result_code == 0
        recs = [m for m in msgs if m.kind == "record"]
        n = int(step_result(step).split()[0])
        assert len(recs) == n, step
        index_query = ".where(" in step
        assert all((m.bval is not None) == index_query for m in recs), step
        assert all(m.set_name == "tvq" and m.user_key.startswith("tv-q-") for m in recs)


def step_result(step: str) -> str:
    for line in TRACE.read_text().splitlines():
        o = json.loads(line)
        if o.get("step") == step and "result" in o:
            return o["result"].strip("'\"")
    raise KeyError(step)


def test_stale_map_partition_done():
    v = [v for s, v in _steps(STALE).items() if "stale map" in s][0]
    msgs = [m for f in v["s2c"] for m in Q.decode_answer(f[8:])]
    done = [m for m in msgs if m.kind == "partition_done"]
    assert done and all(m.result_code == 11 for m in done)
    assert {m.generation for m in done} <= set(range(64))
    req = Q.parse_query(v["c2s"][0][8:])
    assert req.pids == list(range(64))


# --------------------------------------------------------------------------- the client's parser


def _frame_records(draw_shapes, seed):
    """An answer frame of records of a few shapes in runs (with partition-done messages between)."""
    import random

    from aerospike_py._wire.message import pack_op

    rnd = random.Random(seed)
    msgs = []
    for _ in range(rnd.randint(1, 6)):
        shape = rnd.choice(draw_shapes)
        for _ in range(rnd.randint(1, 40)):
            i = rnd.randrange(1 << 40)
            digest = rnd.randbytes(20)
            ops = []
            for name, kind in shape["bins"]:
                if kind == "int":
                    ops.append(pack_op(1, name.encode(), 1, rnd.randrange(-(1 << 63), 1 << 63).to_bytes(8, "big",
                                                                                                   signed=True)))
                elif kind == "str":
                    n = shape.get("strlen") or rnd.randint(0, 12)
                    ops.append(pack_op(1, name.encode(), 3, ("x" * n).encode()))
                elif kind == "float":
                    ops.append(pack_op(1, name.encode(), 2, struct.pack(">d", rnd.random())))
                else:
                    ops.append(pack_op(1, name.encode(), 4, rnd.randbytes(shape.get("blob", 3))))
            key = None
            if shape["key"] == "int":
                key = b"\x01" + i.to_bytes(8, "big", signed=True)
            elif shape["key"] == "str":
                key = b"\x03" + f"k{i % 1000:03d}".encode()
            msgs.append(Q.pack_record(b"test", digest, shape["set"], key, i if shape["bval"] else None,
                                      *((1, 0) if shape.get("same") else (rnd.choice((1, 1, 2)),
                                                                          rnd.choice((0, 0, 500)))), ops))
            if rnd.random() < 0.05:
                msgs.append(Q.pack_partition_done(rnd.randrange(4096), 11))
    msgs.append(Q.pack_last(0))
    return b"".join(msgs)


SHAPES = [
    {"set": b"s1", "key": "int", "bval": False, "bins": [("a", "int"), ("b", "str"), ("c", "float")], "strlen": 5,
     "same": True},
    {"set": b"s1", "key": None, "bval": True, "bins": [("a", "int"), ("d", "blob")]},
    {"set": b"", "key": "str", "bval": False, "bins": [("b", "str")]},
    {"set": b"s2", "key": "int", "bval": False, "bins": [], "same": True},
]


@pytest.mark.parametrize("seed", range(40))
def test_layout_fast_path_equals_general_path(seed, monkeypatch):
    """Runs of same-shape records read by the generated layout parser give exactly what the
    record-by-record parser gives: records, partition cursors, unavailable partitions."""
    from aerospike_py import _policy as P
    from aerospike_py._commands import query as QC

    frame = _frame_records(SHAPES, seed)

    def parse(fast):
        QC._LAYOUTS.clear()
        if not fast:
            monkeypatch.setattr(QC, "layout_at", lambda *a: None)
        out = []
        run = QC.QueryRun(QC.Statement("test", "s1"), P.QUERY.default_policy, None, lambda ch, cmd: out.extend(ch))
        nr = QC.NodeRun(run, None)
        cmd = QC.NodeCommand(None, b"", False, QC.parse_answer, None, nr)
        assert QC.parse_answer(cmd, frame, "n") is None
        monkeypatch.undo()
        return out, [(p.digest, p.bval) for p in run.parts], nr.unavailable, nr.count

    fast, slow = parse(True), parse(False)
    assert fast == slow
    assert len(fast[0]) == fast[3] > 0
