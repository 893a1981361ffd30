"""Property tests of the wire codec: values, CDT msgpack, frames, digests; and put/get round trips."""

from __future__ import annotations

import glob
import json
import math
import os
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aerospike_py
from _paths import TRACES as _TRACES_DIR
from aerospike_py._wire import constants as W
from aerospike_py._wire._ripemd160 import ripemd160 as pure_ripemd160
from aerospike_py._wire.digest import compute_digest, key_particle, partition_id
from aerospike_py._wire.message import (
    pack_field,
    pack_message,
    pack_op,
    parse_fields,
    parse_header,
    parse_wire_ops,
)
from aerospike_py._wire.proto import (
    ProtocolError,
    check_proto_header,
    compress_frame,
    decompress_body,
    pack_proto_header,
    parse_proto_header,
)
from aerospike_py._wire.values import decode_particle, encode_particle, pack_cdt, unpack_cdt

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FLOATS = st.floats(allow_nan=False)  # inf/-inf included; NaN has its own test
SCALARS = st.none() | st.booleans() | INT64 | FLOATS | st.text(max_size=40) | st.binary(max_size=40)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.text(max_size=10) | INT64, children, max_size=6),
    max_leaves=25,
)
CDT_VALUES = st.lists(VALUES, max_size=6) | st.dictionaries(st.text(max_size=10) | INT64, VALUES, max_size=6)
BIN_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=15)


def same(a: Any, b: Any) -> bool:
    """Equality that also compares types (True != 1) and float bits (0.0 != -0.0)."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return struct.pack(">d", a) == struct.pack(">d", b)
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict:  # unordered maps: order is not part of the value
        if len(a) != len(b):
            return False
        keys_b = {(type(k), k): k for k in b}
        for ka, va in a.items():
            if (type(ka), ka) not in keys_b or not same(va, b[keys_b[type(ka), ka]]):
                return False
        return True
    return a == b


# ----------------------------------------------------------------------------- values


@given(VALUES)
def test_particle_round_trip(value: Any) -> None:
    ptype, data = encode_particle(value)
    assert isinstance(data, bytes)
    assert same(decode_particle(ptype, data), value)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # loaded CI machines
@given(CDT_VALUES)
def test_cdt_round_trip(value: Any) -> None:
    assert same(unpack_cdt(pack_cdt(value)), value)


@given(st.text(max_size=30), st.binary(max_size=30))
def test_strings_and_blobs_carry_their_particle_prefix_in_cdt(s: str, b: bytes) -> None:
    packed = pack_cdt([s, b])
    assert b"\x03" + s.encode() in packed and b"\x04" + b in packed
    assert same(unpack_cdt(packed), [s, b])


def test_particle_types() -> None:
    cases = [(1, W.PT_INTEGER), (1.0, W.PT_FLOAT), ("s", W.PT_STRING), (b"b", W.PT_BLOB), (True, W.PT_BOOL),
             (None, W.PT_NULL), ([1], W.PT_LIST), ({"a": 1}, W.PT_MAP),
             (aerospike_py.GeoJSON('{"type": "Point", "coordinates": [0.0, 0.0]}'), W.PT_GEOJSON)]
    for value, ptype in cases:
        assert encode_particle(value)[0] == ptype, value


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 0, -1, float("inf"), float("-inf"), -0.0])
def test_edge_numbers(value: Any) -> None:
    assert same(decode_particle(*encode_particle(value)), value)
    assert same(unpack_cdt(pack_cdt([value])), [value])


def test_nan_round_trips_as_nan() -> None:
    assert math.isnan(decode_particle(*encode_particle(float("nan"))))
    assert math.isnan(unpack_cdt(pack_cdt([float("nan")]))[0])


def test_geojson_round_trip() -> None:
    g = aerospike_py.GeoJSON('{"type": "Point", "coordinates": [-122.0, 37.5]}')
    out = decode_particle(*encode_particle(g))
    assert isinstance(out, aerospike_py.GeoJSON) and out == g
    out = unpack_cdt(pack_cdt([g]))[0]
    assert isinstance(out, aerospike_py.GeoJSON) and out == g


# ----------------------------------------------------------------------------- put / get


@settings(max_examples=50, deadline=None, suppress_health_check=[*settings.default.suppress_health_check, HealthCheck.function_scoped_fixture])
@given(bins=st.dictionaries(BIN_NAMES, VALUES.filter(lambda v: v is not None), min_size=1, max_size=5))
def test_put_get_round_trip(client: Any, bins: dict[str, Any]) -> None:
    key = ("test", "prop", "k")
    client.put(key, bins, policy={"exists": aerospike_py.POLICY_EXISTS_REPLACE})
    got = client.get(key).bins
    assert set(got) == set(bins)
    for name, value in bins.items():
        assert same(got[name], value), (name, got[name], value)


@settings(max_examples=50, deadline=None, suppress_health_check=[*settings.default.suppress_health_check, HealthCheck.function_scoped_fixture])
@given(user_key=st.text(max_size=50) | INT64 | st.binary(max_size=50), value=VALUES)
def test_put_get_any_key(client: Any, user_key: Any, value: Any) -> None:
    key = ("test", "prop-keys", user_key)
    # (a bin delete cannot go with a record-level replace: the real server answers PARAMETER)
    policy = {"exists": aerospike_py.POLICY_EXISTS_REPLACE} if value is not None else None
    client.put(key, {"v": value, "x": 1}, policy=policy)
    rec = client.get(key)
    assert same(rec.key.user_key, user_key)
    assert rec.key.digest == compute_digest("prop-keys", *key_particle(user_key))
    if value is None:
        assert rec.bins == {"x": 1}
    else:
        assert same(rec.bins["v"], value)


# ----------------------------------------------------------------------------- frames


@given(st.integers(0, 255), st.integers(0, (1 << 48) - 1))
def test_proto_header_round_trip(ptype: int, length: int) -> None:
    header = pack_proto_header(ptype, length)
    assert len(header) == 8
    assert parse_proto_header(header) == (2, ptype, length)


@given(st.sampled_from([1, 2, 3, 4]), st.integers(0, 1 << 31))
def test_check_proto_header_accepts_valid(ptype: int, length: int) -> None:
    assert check_proto_header(pack_proto_header(ptype, length)) == (ptype, length)


@given(st.integers(0, 255).filter(lambda v: v != 2), st.integers(0, 255), st.integers(0, 1000))
def test_check_proto_header_rejects_bad_version(version: int, ptype: int, length: int) -> None:
    raw = ((version << 56) | (ptype << 48) | length).to_bytes(8, "big")
    with pytest.raises(ProtocolError):
        check_proto_header(raw)


def test_check_proto_header_rejects_bad_type_and_size() -> None:
    with pytest.raises(ProtocolError):
        check_proto_header(pack_proto_header(9, 10))
    with pytest.raises(ProtocolError):
        check_proto_header(pack_proto_header(3, 100), max_body=99)
    with pytest.raises(ProtocolError):
        pack_proto_header(3, 1 << 48)


@given(st.sampled_from([1, 2, 3]), st.binary(max_size=2000))
def test_compressed_frame_round_trip(ptype: int, body: bytes) -> None:
    frame = compress_frame(ptype, body)
    outer_type, length = check_proto_header(frame[:8])
    assert outer_type == W.PROTO_TYPE_COMPRESSED and length == len(frame) - 8
    assert decompress_body(frame[8:]) == (ptype, body)


FIELDS = st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=64)), max_size=6, unique_by=lambda f: f[0])
OPS = st.lists(
    st.tuples(st.integers(1, 255), st.text(max_size=15).filter(lambda s: len(s.encode()) <= 15),
              st.integers(0, 255), st.binary(max_size=64)),
    max_size=6,
)
U8 = st.integers(0, 255)
U32 = st.integers(0, 0xFFFFFFFF)


@settings(max_examples=50)
@given(U8, U8, U8, U8, U8, U32, U32, U32, FIELDS, OPS)
def test_message_round_trip(info1: int, info2: int, info3: int, info4: int, rc: int, gen: int, ttl: int,
                            timeout: int, fields: list, ops: list) -> None:
    frame = pack_message(info1, info2, info3, info4, gen, ttl, timeout,
                         [pack_field(t, d) for t, d in fields],
                         [pack_op(o, n.encode(), p, v) for o, n, p, v in ops], result_code=rc)
    ptype, length = check_proto_header(frame[:8])
    assert ptype == W.PROTO_TYPE_MESSAGE and length == len(frame) - 8
    body = memoryview(frame)[8:]
    h = parse_header(body)
    assert (h.info1, h.info2, h.info3, h.info4, h.result_code) == (info1, info2, info3, info4, rc)
    assert (h.generation, h.record_ttl, h.transaction_ttl) == (gen, ttl, timeout)
    assert (h.n_fields, h.n_ops) == (len(fields), len(ops))
    parsed_fields, offset = parse_fields(body, 22, h.n_fields)
    assert parsed_fields == dict(fields)
    parsed_ops, end = parse_wire_ops(body, offset, h.n_ops)
    assert [tuple(o) for o in parsed_ops] == ops
    assert end == len(body)


# ----------------------------------------------------------------------------- digests

# (set, user key, digest) as the official client and server computed them (traces/official-kv).
TRACE_DIGESTS = [
    ("tv", 12345, "2217763f7be9627bd8706713d36f872c3574ca0c"),
    ("tv", bytearray(b"\x01\x02tv"), "05f435d1eab845f5e2f160515e7240f8c5518c67"),
    ("tv", "tv-int", "2f0a7fb3b071413b5264c269a7331595f0d7ff72"),
    ("tv", "tv-float", "54e6ea0a4eb90a0c4168597fb40afe0cb19871c0"),
    ("tv", "tv-str", "e485acfcf11c3d618e7fd19409ff2af28f57c451"),
    ("tv", "tv-sendkey", "2901ebb07455d9de386fbc22fbac3efc01c96777"),
]


@pytest.mark.parametrize(("set_name", "user_key", "digest"), TRACE_DIGESTS)
def test_digest_matches_official(set_name: str, user_key: Any, digest: str) -> None:
    ptype, kb = key_particle(user_key)
    assert compute_digest(set_name, ptype, kb).hex() == digest
    assert pure_ripemd160(set_name.encode() + bytes((ptype,)) + kb).hex() == digest
    assert compute_digest(set_name, ptype, kb) == bytes.fromhex(digest)


TRACES = str(_TRACES_DIR)


@pytest.mark.skipif(not os.path.isdir(TRACES), reason="traces not available")
def test_digests_of_keys_sent_in_traces() -> None:
    """Every traced request carrying both a user key and a digest: our digest is the client's."""
    checked = 0
    for path in sorted(glob.glob(f"{TRACES}/*.jsonl")):
        with open(path) as f:
            for line in f:
                d = json.loads(line)
                if d.get("dir") != "c2s" or d.get("type") != 3:
                    continue
                body = bytes.fromhex(d["hex"])[8:]
                h = parse_header(body)
                fields, _ = parse_fields(body, 22, h.n_fields)
                key_field, digest = fields.get(W.FIELD_KEY), fields.get(W.FIELD_DIGEST)
                if key_field is None or digest is None:
                    continue
                set_name = fields.get(W.FIELD_SET, b"")
                assert compute_digest(set_name, key_field[0], key_field[1:]) == digest
                assert pure_ripemd160(set_name + key_field) == digest
                checked += 1
    assert checked >= 3


@settings(max_examples=60)
@given(st.text(max_size=20), st.text(max_size=40) | INT64 | st.binary(max_size=40))
def test_fallback_digest_equals_hashlib(set_name: str, user_key: Any) -> None:
    ptype, kb = key_particle(user_key)
    d = compute_digest(set_name, ptype, kb)
    assert len(d) == 20
    assert pure_ripemd160(set_name.encode() + bytes((ptype,)) + kb) == d
    assert 0 <= partition_id(d) < 4096


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CDT_VALUES)
def test_deep_decoder_agrees_with_the_fast_one(value: Any) -> None:
    """The decoder for values nested past the call stack gives what the usual one gives."""
    import msgpack

    from aerospike_py._wire.values import _from_unpacked, _from_unpacked_deep

    raw = msgpack.unpackb(pack_cdt(value), raw=True, strict_map_key=False, use_list=True)
    assert _from_unpacked_deep(raw) == _from_unpacked(raw)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CDT_VALUES)
def test_decoder_past_msgpacks_depth_agrees_with_msgpack(value: Any) -> None:
    """The msgpack decoder used past 1,024 levels gives what msgpack's own gives."""
    import msgpack

    from aerospike_py._wire.values import _ext_hook, _unpack_deep

    data = pack_cdt(value)
    assert _unpack_deep(data) == msgpack.unpackb(data, raw=True, strict_map_key=False, ext_hook=_ext_hook)


@pytest.mark.parametrize("depth", [500, 1000, 1025, 50_000])
def test_deeply_nested_list_is_read(depth: int) -> None:
    """A list nested as deep as a server stores it (another client may write one) decodes."""
    v = decode_particle(W.PT_LIST, b"\x91" * depth + b"\x93\x01\xa2\x03a\xc0")
    for _ in range(depth):
        assert len(v) == 1
        v = v[0]
    assert v == [1, "a", None]


@pytest.mark.parametrize("tail", [b"\x92\x01", b"\xcd\x01", b""])
def test_deeply_nested_value_cut_short_is_malformed(tail: bytes) -> None:
    """Past msgpack's depth the client's own decoder reads on: a value cut short there is the
    ValueError every parser failure becomes a ProtocolError from (reply fuzz, 1M inputs: the
    streaming unpacker's OutOfData escaped untyped)."""
    from aerospike_py._net.retry import MALFORMED

    with pytest.raises(ValueError):
        decode_particle(W.PT_LIST, b"\x91" * 1100 + tail)
    assert issubclass(ValueError, MALFORMED)


LONG_CDT = st.lists(SCALARS, min_size=16, max_size=24) | st.dictionaries(
    st.text(max_size=6) | INT64, SCALARS | st.lists(SCALARS, max_size=3), min_size=16, max_size=24)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CDT_VALUES | LONG_CDT, max_size=3) | LONG_CDT)
def test_server_fast_codec_agrees_with_its_python_one(value: Any) -> None:
    """The embedded server decodes with msgpack's C decoder and encodes flat collections with its
    C packer when it can: the same values and bytes as its own iterative decoder and encoder."""
    from aerospike_py.server import cdt

    for data in (pack_cdt(value), b"\x92\xc7\x00\x01" + pack_cdt(value),  # an ordered list holding it
                 b"\x82\xc7\x00\x01\xc0\x01" + pack_cdt(value)):  # a key-ordered map {1: it}
        fast = cdt.unpack(data)
        slow, end = cdt._unpack(memoryview(data), 0)
        assert end == len(data)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(cdt, "_FLAT_MIN", 1 << 62)  # the Python encoder throughout
            python_bytes = cdt.pack(slow)
            assert cdt.pack(fast) == python_bytes
        assert cdt.pack(fast) == python_bytes
