"""NumPy batches: batch_read with ``_dtype`` and batch_write_numpy, on the embedded server."""

from __future__ import annotations

import os
import struct

import pytest

import aerospike_py
from aerospike_py import exception as ex
from aerospike_py._commands.keys import parse_key
from aerospike_py.numpy_batch import NumpyBatchRecords
from aerospike_py.server.storage import StoredRecord

np = pytest.importorskip("numpy")

NS, SET = "test", "nb"
NEVER = 0xFFFFFFFF


def k(i):
    return (NS, SET, i)


@pytest.fixture
def offline():
    return aerospike_py.client({"hosts": [("127.0.0.1", 1)]})


def test_read_fills_structured_array_in_key_order(client):
    client.put(k(1), {"i": 7, "f": 1.5, "s": "abc", "b": b"\x01\x02", "n": -3})
    client.put(k(2), {"i": 8, "f": 2.5, "s": "xy"})  # no "b", no "n": zero-filled
    dt = np.dtype([("i", "i4"), ("f", "f8"), ("s", "S5"), ("b", "V2"), ("n", "i8")])
    res = client.batch_read([k(2), k(9), k(1)], _dtype=dt)
    assert isinstance(res, NumpyBatchRecords) and len(res) == 3
    arr = res.batch_records
    assert arr["i"].tolist() == [8, 0, 7]
    assert arr["f"].tolist() == [2.5, 0.0, 1.5]
    assert arr["s"].tolist() == [b"xy", b"", b"abc"]
    assert arr["n"].tolist() == [0, 0, -3]
    assert bytes(arr["b"][2]) == b"\x01\x02" and bytes(arr["b"][0]) == b"\x00\x00"
    assert res.result_codes.dtype == np.int32 and res.result_codes.tolist() == [0, 2, 0]
    assert res.meta["gen"].tolist() == [1, 0, 1] and res.meta["ttl"].tolist() == [NEVER, 0, NEVER]
    assert res.get(1)["i"] == 7 and 9 in res and 5 not in res
    with pytest.raises(KeyError):
        res.get(5)
    assert [int(row["i"]) for row in res] == [8, 0, 7]
    assert "count=3" in repr(res) and "ok=2" in repr(res)


def test_strings_longer_than_field_are_truncated(client):
    client.put(k("long"), {"s": "abcdefgh", "b": b"0123456789"})
    res = client.batch_read([k("long")], _dtype=np.dtype([("s", "S3"), ("b", "S4")]))
    assert res.batch_records[0].tolist() == (b"abc", b"0123")


def test_sub_array_from_blob(client):
    vec = np.arange(8, dtype="f4")
    client.put(k("v"), {"emb": vec.tobytes(), "short": vec[:2].tobytes()})
    dt = np.dtype([("emb", "f4", (8,)), ("short", "f4", (4,))])
    row = client.batch_read([k("v")], _dtype=dt).batch_records[0]
    assert row["emb"].tolist() == vec.tolist()
    assert row["short"].tolist() == [0.0, 1.0, 0.0, 0.0]


def test_int_into_float_field_and_existence_only(client):
    client.put(k(1), {"x": 3})
    res = client.batch_read([k(1)], bins=["x"], _dtype=np.dtype([("x", "f4")]))
    assert res.batch_records["x"].tolist() == [3.0]
    res = client.batch_read([k(1), k(2)], bins=[], _dtype=np.dtype([("x", "f4")]))
    assert res.result_codes.tolist() == [0, 2] and res.batch_records["x"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("bins,dtype,error", [
    ({"x": "text"}, [("x", "i8")], TypeError),  # string into an int field
    ({"x": 1.5}, [("x", "i8")], TypeError),  # float into an int field
    ({"x": 5}, [("x", "S4")], TypeError),  # int into a bytes field
    ({"x": [1, 2]}, [("x", "f8")], TypeError),  # list
    ({"x": 300}, [("x", "i1")], OverflowError),
    ({"x": -1}, [("x", "u4")], OverflowError),
    ({"x": 1e300}, [("x", "f4")], OverflowError),
])
def test_dtype_mismatch(client, bins, dtype, error):
    client.put(k("m"), bins)
    with pytest.raises(error, match="'x'"):
        client.batch_read([k("m")], _dtype=np.dtype(dtype))


@pytest.mark.parametrize("dtype", [[("s", "U4")], [("o", "O")], "i8", [("b", "?")], [("x", "S4", (2,))]])
def test_unsupported_dtypes_before_sending(offline, dtype):
    with pytest.raises(TypeError):
        offline.batch_read([k(1)], _dtype=dtype)


def test_mixed_layouts_in_one_batch(client):
    """Records of different shapes (fast path and general path) fill the same columns."""
    for i in range(30):
        bins = {"a": i, "s": "x" * (i % 4)}
        if i % 3 == 0:
            bins["c"] = float(i)
        client.put(k(i), bins)
    dt = np.dtype([("a", "i8"), ("s", "S8"), ("c", "f8")])
    arr = client.batch_read([k(i) for i in range(30)], _dtype=dt).batch_records
    assert arr["a"].tolist() == list(range(30))
    assert arr["s"].tolist() == [b"x" * (i % 4) for i in range(30)]
    assert arr["c"].tolist() == [float(i) if i % 3 == 0 else 0.0 for i in range(30)]


def test_one_shape_reply_cast_and_checked_fields(client):
    """A reply of one record shape: exact casts (i8, f8, S) and checked fields (i2, f4, V, sub-array)
    fill the same rows; each dtype gets its own plan, and a second call gives fresh arrays."""
    vec = np.arange(2, dtype="f4").tobytes()
    for i in range(12):
        client.put(k(i), {"a": i * 1000, "f": i / 2, "s": b"s%03d" % i, "v": vec}, meta={"ttl": 100 + i})
    keys = [k(i) for i in reversed(range(12))]
    wide = np.dtype([("a", "i8"), ("f", "f8"), ("s", "S2"), ("v", "f4", (2,)), ("x", "i8")])
    narrow = np.dtype([("a", "i2"), ("f", "f4"), ("s", "V4")])
    first = client.batch_read(keys, _dtype=wide)
    again = client.batch_read(keys, _dtype=wide)
    assert first.batch_records is not again.batch_records
    for res in (first, again):
        arr = res.batch_records
        assert arr["a"].tolist() == [i * 1000 for i in reversed(range(12))]
        assert arr["f"].tolist() == [i / 2 for i in reversed(range(12))]
        assert arr["s"].tolist() == [b"s0"] * 12
        assert arr["v"].tolist() == [[0.0, 1.0]] * 12 and arr["x"].tolist() == [0] * 12
        assert res.result_codes.tolist() == [0] * 12 and res.meta["gen"].tolist() == [1] * 12
        assert all(95 <= t <= 100 + i for t, i in zip(res.meta["ttl"].tolist(), reversed(range(12)), strict=True))
    arr = client.batch_read(keys, _dtype=narrow).batch_records
    assert arr["a"].tolist() == [i * 1000 for i in reversed(range(12))]
    assert bytes(arr["s"][0]) == b"s011" and arr["f"].tolist() == [i / 2 for i in reversed(range(12))]
    client.put(k(3), {"a": 40000})  # same shape, but no longer fits an i2
    with pytest.raises(OverflowError, match="'a'"):
        client.batch_read(keys, _dtype=narrow)
    assert client.batch_read(keys, _dtype=wide).batch_records["a"][8] == 40000


def test_one_shape_reply_out_of_order_or_short(client, monkeypatch):
    """One run whose rows are not 0..n-1 in order is scattered by index; unanswered rows stay -1."""
    from aerospike_py import numpy_batch as nb
    from aerospike_py._commands.batch import BatchState, parse_keys

    for i in range(6):
        client.put(k(i), {"a": i, "s": b"v%d" % i})
    keys = [k(i) for i in range(6)]
    dt = np.dtype([("a", "i8"), ("s", "S2"), ("z", "i2")])
    frames = []
    feed = nb._NumpySink.feed
    monkeypatch.setattr(nb._NumpySink, "feed", lambda self, cmd, body, node: (frames.append(bytes(body)),
                                                                             feed(self, cmd, body, node))[1])
    want = client.batch_read(keys, _dtype=dt)
    monkeypatch.undo()
    body = b"".join(frames)
    size = (len(body) - 22) // 6  # six records of one shape, then the LAST message
    recs = [body[i * size : (i + 1) * size] for i in range(6)]
    for order in ([5, 3, 1, 0, 2, 4], [4, 0, 2]):
        state = BatchState(parse_keys(keys), sink=nb._NumpySink(len(keys)))
        assert state.sink.feed(None, b"".join(recs[i] for i in order) + body[-22:], "n") is None
        got = nb._to_numpy(state, state.sink, dt)
        found = sorted(order)
        assert got.result_codes.tolist() == [0 if i in found else -1 for i in range(6)]
        assert got.batch_records["a"].tolist() == [i if i in found else 0 for i in range(6)]
        assert got.batch_records["s"].tolist() == [b"v%d" % i if i in found else b"" for i in range(6)]
        assert got.meta["gen"].tolist() == [1 if i in found else 0 for i in range(6)]
        assert got.meta["ttl"].tolist() == [want.meta["ttl"][i] if i in found else 0 for i in range(6)]


def test_bin_read_twice_in_one_shape_reply(client):
    for i in range(5):
        client.put(k(i), {"a": i, "b": 1.5})
    res = client.batch_read([k(i) for i in range(5)], bins=["a", "b", "a"], _dtype=np.dtype([("a", "i8"), ("b", "f8")]))
    assert res.batch_records["a"].tolist() == [0, 1, 2, 3, 4] and res.batch_records["b"].tolist() == [1.5] * 5


def _seed(server, n: int) -> list[tuple]:
    """Put n records straight into the server's storage (5 bins each)."""
    keys = [k(i) for i in range(n)]
    digests = [parse_key(key).digest for key in keys]
    q, d = struct.Struct(">q").pack, struct.Struct(">d").pack

    def put_all() -> None:
        ns = server.node.namespaces[NS]
        for i, dg in enumerate(digests):
            rec = StoredRecord(dg, SET)
            rec.bins = {"a": (1, q(i)), "b": (1, q(-i)), "f": (2, d(i / 4)), "s": (3, b"s%05d" % (i % 100000)),
                        "z": (4, b"\x07" * (3 if i % 1000 else i % 3))}  # some records of another shape
            rec.generation = 1
            ns.put(rec)

    server.call(put_all)
    return keys


def test_100k_read_equals_plain_path(client, server):
    """100,000 records with AEROSPIKE_PY_SLOW_TESTS=1 (about 8 s); 20,000 otherwise (same paths:
    many frames, layout fast path and general path, GC pauses)."""
    n = 100_000 if os.environ.get("AEROSPIKE_PY_SLOW_TESTS") else 20_000
    keys = _seed(server, n)
    keys[5] = k("missing")
    dt = np.dtype([("a", "i8"), ("b", "i4"), ("f", "f8"), ("s", "S6"), ("z", "S3")])
    policy = {"total_timeout": 60_000}
    res = client.batch_read(keys, policy=policy, _dtype=dt)
    plain = client.batch_read(keys, policy=policy).batch_records
    bins = [br.record.bins if br.result == 0 else {"a": 0, "b": 0, "f": 0.0, "s": "", "z": b""} for br in plain]
    for name in ("a", "b", "f", "z"):
        assert res.batch_records[name].tolist() == [b[name] for b in bins]
    assert res.batch_records["s"].tolist() == [b["s"].encode() for b in bins]
    assert res.result_codes.tolist() == [br.result for br in plain]
    assert int(res.result_codes[5]) == 2 and res.get(n - 1)["a"] == n - 1


# --------------------------------------------------------------------------- batch_write_numpy


def test_write_numpy_roundtrip(client):
    dt = np.dtype([("_key", "i8"), ("i", "i4"), ("u", "u2"), ("f", "f4"), ("s", "S4"), ("v", "f4", (2,)),
                   ("_note", "S4")])
    data = np.array([(1, -5, 7, 0.5, b"ab", (1.0, 2.0), b"no"), (2, 6, 8, 1.5, b"abcd", (3.0, 4.0), b"no")],
                    dtype=dt)
    res = client.batch_write_numpy(data, NS, SET, dt)
    assert [br.result for br in res.batch_records] == [0, 0]
    rec = client.get(k(2)).bins
    assert rec == {"i": 6, "u": 8, "f": 1.5, "s": b"abcd", "v": np.array([3.0, 4.0], "f4").tobytes()}
    back = client.batch_read([k(1), k(2)], _dtype=np.dtype([("i", "i4"), ("u", "u2"), ("s", "S4"),
                                                            ("v", "f4", (2,))]))
    assert back.batch_records["v"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert back.batch_records["s"].tolist() == [b"ab", b"abcd"]


def test_write_numpy_bytes_keys_and_set_column(client):
    dt = np.dtype([("_key", "S8"), ("_set", "S8"), ("x", "i8")])
    data = np.array([(b"alpha", b"s1", 1), (b"beta", b"s2", 2)], dtype=dt)
    client.batch_write_numpy(data, NS, "ignored", dt)
    assert client.get((NS, "s1", "alpha")).bins == {"x": 1}
    assert client.get((NS, "s2", "beta")).bins == {"x": 2}


def test_write_numpy_bad_input(offline):
    dt = np.dtype([("_key", "i8"), ("x", "u8")])
    with pytest.raises(OverflowError):
        offline.batch_write_numpy(np.array([(1, 2**63)], dtype=dt), NS, SET, dt)
    with pytest.raises(TypeError):
        offline.batch_write_numpy(np.array([(1, 2)], dtype=dt), NS, SET, np.dtype([("_key", "i8"), ("x", "i8")]))
    with pytest.raises(ex.InvalidArgError):
        offline.batch_write_numpy(np.array([(1, 2)], dtype=dt), NS, SET, dt, key_field="id")
    with pytest.raises(ex.InvalidArgError):
        offline.batch_write_numpy([1, 2], NS, SET, dt)


def test_layout_guess_from_previous_call_is_checked(client):
    """Each call starts from the layout the last one learned; a wrong guess is caught exactly."""
    from aerospike_py import numpy_batch as nb

    a = [k(f"ga{i}") for i in range(40)]
    b = [k(f"gb{i}") for i in range(40)]
    for i, key in enumerate(a):
        client.put(key, {"x": i, "y": 1.5})
    for i, key in enumerate(b):
        client.put(key, {"y": float(i), "x": -i, "z": b"abcd"})  # other order, other bins
    dt = np.dtype([("x", "i8"), ("y", "f8"), ("z", "S4")])
    for keys in (a, b, a, b):
        res = client.batch_read(keys, _dtype=dt)
        ref = client.batch_read(keys)
        assert res.result_codes.tolist() == [0] * 40
        got = [(int(r["x"]), float(r["y"]), bytes(r["z"])) for r in res.batch_records]
        want = [(br.record[2]["x"], br.record[2]["y"], br.record[2].get("z", b"")) for br in ref.batch_records]
        assert got == want
        assert nb._LAST_LAYOUT[0] is not None and set(nb._LAST_LAYOUT[0].names) == set(ref.batch_records[0].record[2])
