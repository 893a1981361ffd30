"""Golden bytes: our requests are byte-identical to the official client's for the same calls.

Both clients talk to the embedded server through a recording proxy (``tests/_proxy.py``); for each
call the type-3 frames each client sent are compared whole, proto header included.

Fields allowed to differ (:data:`ALLOWED_DIFFERENCES`): none. Both clients send an empty set field for
a key with no set, the same transaction ttl (total_timeout, 1000 ms by default), no transaction id on
single-record commands, and map keys in the same order. Both
clients send the same transaction ttl (total_timeout, 1000 ms by default), no transaction id on
single-record commands, and map keys in the same order.
What differs is only the API spelling of the same call, written out in each case:
* ``POLICY_EXISTS_*``: official CREATE (1) / UPDATE (2) / REPLACE (3) / CREATE_OR_REPLACE (4) are our
  CREATE_ONLY (4) / UPDATE (1) / REPLACE_ONLY (3) / REPLACE (2);
* operators: the official ``aerospike_helpers`` builders vs our ``{"op": OPERATOR_*, ...}`` dicts;
* ``operations.touch(ttl)`` puts its ttl in the message header; ours (like aerospike-py) takes the
  ttl from ``meta``, which yields the same bytes;
* GeoJSON: ``aerospike.GeoJSON(dict)`` vs ``aerospike_py.GeoJSON(text)`` of the same JSON text.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import aerospike_py

aerospike = pytest.importorskip("aerospike")
oh = pytest.importorskip("aerospike_helpers.operations.operations")
sys.path.insert(0, str(Path(__file__).parent))
from _proxy import FrameProxy  # noqa: E402

pytestmark = [pytest.mark.official, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

K = ("test", "gb", "golden")
A = aerospike_py
GEO = {"type": "Point", "coordinates": [-122.0, 37.5]}
NESTED = {"l": [1, [2, [3, {"k": [b"\x00", "x", 1.5, None, True]}]], {}], "m": {"z": {"y": {"x": [{"w": 1}]}}}}


def _op(code: int, bin_name: str | None = None, val: Any = None) -> dict[str, Any]:
    d: dict[str, Any] = {"op": code}
    if bin_name is not None:
        d["bin"] = bin_name
    if val is not None:
        d["val"] = val
    return d


OPERATE_OFFICIAL = [oh.write("a", 1), oh.write("s", "mid"), oh.increment("a", 5), oh.append("s", ">"),
                    oh.prepend("s", "<"), oh.read("a"), oh.read("s")]
OPERATE_OURS = [_op(A.OPERATOR_WRITE, "a", 1), _op(A.OPERATOR_WRITE, "s", "mid"), _op(A.OPERATOR_INCR, "a", 5),
                _op(A.OPERATOR_APPEND, "s", ">"), _op(A.OPERATOR_PREPEND, "s", "<"), _op(A.OPERATOR_READ, "a"),
                _op(A.OPERATOR_READ, "s")]
ORDERED_OFFICIAL = [oh.write("x", 1), oh.read("x"), oh.increment("x", 2), oh.read("x"), oh.write("y", "z"),
                    oh.read("y")]
ORDERED_OURS = [_op(A.OPERATOR_WRITE, "x", 1), _op(A.OPERATOR_READ, "x"), _op(A.OPERATOR_INCR, "x", 2),
                _op(A.OPERATOR_READ, "x"), _op(A.OPERATOR_WRITE, "y", "z"), _op(A.OPERATOR_READ, "y")]

Call = Callable[[Any], Any]
#: id -> (official call, our equivalent call)
CASES: dict[str, tuple[Call, Call]] = {}


def _same(name: str, fn: Call) -> None:
    """A call spelled the same way for both clients."""
    CASES[name] = (fn, fn)


for _name, _bins in {
    "int": {"i": 42, "neg": -7, "max": 2**63 - 1, "min": -(2**63), "zero": 0},
    "float": {"f": 3.14159, "fneg": -0.5, "fint": 2.0},
    "str": {"s": "hello", "u": "héllo wörld ✓ 日本 😀", "e": ""},
    "bytes": {"b": b"\x00\x01\xff", "ba": bytearray(b"abc")},
    "bool": {"t": True, "f": False},
    "list": {"l": [1, -1, "a", 2.5, [1, 2, [3]], {"k": "v"}, None, True, b"\x01\x02"], "empty": []},
    "map": {"m": {"two": 2, 1: "one", -1: b"\xff", 3: {4: 5.5}, "nested": {"a": [1, 2]}}, "em": {}},
    "map str keys": {"m": {"b": 1, "aa": 2, "ab": 3, "é": 4, "z": 5}},
    # lists and maps of numbers only: packed by msgpack's C code, as the walk does
    "numbers": {"ints": [0, -1, 127, 128, -32, -33, 255, 2**16, -(2**31), 2**40, -(2**63), 2**63 - 1],
                "floats": [0.5, -1.25, 1e300, 0.0], "mixed": [1, 2.5, True, None, -3, False],
                "counts": {"b": 1, "a": 2.5, "é": -7, "c": None}, "by int": {3: 1, -1: 2.5, 2: -3}},
    "nested": NESTED,
    "none deletes bin": {"t": None},
}.items():
    _same(f"put {_name}", lambda c, b=_bins: c.put(K, b))

CASES["put geojson"] = (lambda c: c.put(K, {"g": aerospike.GeoJSON(GEO)}),
                        lambda c: c.put(K, {"g": A.GeoJSON(json.dumps(GEO))}))
CASES["put all types"] = (
    lambda c: c.put(K, {"i": 1, "f": 1.5, "s": "str", "b": b"\x00", "t": True, "l": [1, "a"], "m": {"k": 1},
                        "g": aerospike.GeoJSON(GEO)}),
    lambda c: c.put(K, {"i": 1, "f": 1.5, "s": "str", "b": b"\x00", "t": True, "l": [1, "a"], "m": {"k": 1},
                        "g": A.GeoJSON(json.dumps(GEO))}),
)
for _ttl in (100, -1, -2, 0):
    _same(f"put meta ttl={_ttl}", lambda c, t=_ttl: c.put(K, {"x": 1}, meta={"ttl": t}))
_same("put policy ttl=200", lambda c: c.put(K, {"x": 1}, policy={"ttl": 200}))
_same("put key send", lambda c: c.put(K, {"x": 1}, policy={"key": 1}))
_same("put durable delete", lambda c: c.put(K, {"x": 1}, policy={"durable_delete": True}))
_same("put commit master", lambda c: c.put(K, {"x": 1}, policy={"commit_level": 1}))
_same("put total_timeout", lambda c: c.put(K, {"x": 1}, policy={"total_timeout": 2500}))
for _off, _ours in (("CREATE", "CREATE_ONLY"), ("UPDATE", "UPDATE"), ("REPLACE", "REPLACE_ONLY"),
                    ("CREATE_OR_REPLACE", "REPLACE")):
    CASES[f"put exists {_off}"] = (
        lambda c, v=getattr(aerospike, f"POLICY_EXISTS_{_off}"): c.put(K, {"x": 1}, policy={"exists": v}),
        lambda c, v=getattr(A, f"POLICY_EXISTS_{_ours}"): c.put(K, {"x": 1}, policy={"exists": v}),
    )
_same("put gen EQ", lambda c: c.put(K, {"x": 1}, meta={"gen": 999}, policy={"gen": 1}))
_same("put gen GT", lambda c: c.put(K, {"x": 1}, meta={"gen": 7}, policy={"gen": 2}))
_same("put int key", lambda c: c.put(("test", "gb", 12345), {"k": "int key"}))
_same("put negative int key", lambda c: c.put(("test", "gb", -9), {"k": 1}))
_same("put bytes key send", lambda c: c.put(("test", "gb", b"\x01\x02tv"), {"k": 1}, policy={"key": 1}))
_same("put bytearray key send", lambda c: c.put(("test", "gb", bytearray(b"\x01\x02tv")), {"k": 1},
                                                policy={"key": 1}))
_same("put no set", lambda c: c.put(("test", "", "noset"), {"k": 1}))
_same("get set None", lambda c: c.get(("test", None, "noset")))
_same("put unicode key", lambda c: c.put(("test", "gb", "ключ✓"), {"k": 1}, policy={"key": 1}))
_same("get", lambda c: c.get(K))
_same("get total_timeout", lambda c: c.get(K, policy={"total_timeout": 1500}))
_same("get read_mode_ap ALL", lambda c: c.get(K, policy={"read_mode_ap": 1}))
_same("get read_touch_ttl_percent", lambda c: c.get(K, policy={"read_touch_ttl_percent": 80}))
_same("exists read_touch_ttl_percent -1", lambda c: c.exists(K, policy={"read_touch_ttl_percent": -1}))
_same("select", lambda c: c.select(K, ["i", "s", "nosuchbin"]))
_same("exists", lambda c: c.exists(K))
_same("touch ttl", lambda c: c.touch(K, 300))
_same("append", lambda c: c.append(K, "s", "!"))
_same("prepend", lambda c: c.prepend(K, "s", ">>"))
_same("append bytes", lambda c: c.append(K, "b", b"\xaa"))
_same("increment int", lambda c: c.increment(K, "i", 5))
_same("increment negative", lambda c: c.increment(K, "neg", -3))
_same("increment float", lambda c: c.increment(K, "f", 0.5))
_same("remove_bin", lambda c: c.remove_bin(K, ["s", "b"]))
_same("remove", lambda c: c.remove(K))
_same("remove gen EQ", lambda c: c.remove(K, meta={"gen": 3}, policy={"gen": 1}))
_same("remove durable", lambda c: c.remove(K, policy={"durable_delete": True}))
CASES["operate write/incr/append/prepend/read"] = (lambda c: c.operate(K, OPERATE_OFFICIAL),
                                                   lambda c: c.operate(K, OPERATE_OURS))
CASES["operate touch ttl + read"] = (lambda c: c.operate(K, [oh.touch(500), oh.read("a")]),
                                     lambda c: c.operate(K, [_op(A.OPERATOR_TOUCH), _op(A.OPERATOR_READ, "a")],
                                                         meta={"ttl": 500}))
CASES["operate float incr + read"] = (lambda c: c.operate(K, [oh.increment("f", 1.25), oh.read("f")]),
                                      lambda c: c.operate(K, [_op(A.OPERATOR_INCR, "f", 1.25),
                                                              _op(A.OPERATOR_READ, "f")]))
CASES["operate read only"] = (lambda c: c.operate(K, [oh.read("a"), oh.read("s")]),
                              lambda c: c.operate(K, [_op(A.OPERATOR_READ, "a"), _op(A.OPERATOR_READ, "s")]))
CASES["operate delete"] = (lambda c: c.operate(K, [oh.delete()]), lambda c: c.operate(K, [_op(A.OPERATOR_DELETE)]))
CASES["operate gen EQ"] = (lambda c: c.operate(K, [oh.write("a", 1)], meta={"gen": 4}, policy={"gen": 1}),
                           lambda c: c.operate(K, [_op(A.OPERATOR_WRITE, "a", 1)], meta={"gen": 4},
                                               policy={"gen": 1}))
CASES["operate_ordered"] = (lambda c: c.operate_ordered(K, ORDERED_OFFICIAL),
                            lambda c: c.operate_ordered(K, ORDERED_OURS))


@pytest.fixture(scope="module")
def clients(aerospike_server):
    """(proxy, official client, our client), both connected through the recording proxy."""
    with FrameProxy(aerospike_server.address) as px:
        off = aerospike.client(px.config).connect()
        ours = aerospike_py.client(px.config).connect()
        try:
            yield px, off, ours
        finally:
            off.close()
            ours.close()


def _sent(px: FrameProxy, call: Call, client: Any) -> list[bytes]:
    px.clear()
    try:
        call(client)
    except (aerospike.exception.AerospikeError, aerospike_py.exception.AerospikeError):
        pass  # the request is what matters here; some calls fail on the record's current state
    return px.requests(3)


def _without_empty_set_field(frame: bytes) -> bytes:
    """The frame with an empty set field (type 1, no data) removed, counts and length fixed."""
    from aerospike_py._wire.message import parse_header

    body = frame[8:]
    h = parse_header(body)
    off, kept = 22, []
    for _ in range(h.n_fields):
        size = int.from_bytes(body[off : off + 4], "big")
        if not (body[off + 4] == 1 and size == 1):
            kept.append(body[off : off + 4 + size])
        off += 4 + size
    new_body = body[:18] + len(kept).to_bytes(2, "big") + body[20:22] + b"".join(kept) + body[off:]
    return frame[:2] + len(new_body).to_bytes(6, "big") + new_body


#: Cases whose official request is compared after a named normalisation (see the module docstring).
ALLOWED_DIFFERENCES: dict[str, Callable[[bytes], bytes]] = {}


def _describe(a: bytes, b: bytes) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"first difference at byte {at}\nofficial {a.hex()}\nours     {b.hex()}"


@pytest.mark.parametrize("case", list(CASES))
def test_request_bytes_identical(clients, case):
    px, off, ours = clients
    official_call, our_call = CASES[case]
    theirs = _sent(px, official_call, off)
    mine = _sent(px, our_call, ours)
    assert len(theirs) == 1, f"official client sent {len(theirs)} frames"
    assert len(mine) == 1, f"we sent {len(mine)} frames"
    expected = theirs[0]
    normalise = ALLOWED_DIFFERENCES.get(case)
    if normalise is not None:
        expected = normalise(expected)
        assert expected != theirs[0], "the allowed difference no longer occurs: drop it"
    assert mine[0] == expected, _describe(expected, mine[0])


def test_map_key_order_is_aerospike_order():
    """Maps are written with keys sorted as Aerospike orders them (int < str < bytes, recursively)."""
    from aerospike_py._wire.values import pack_cdt

    packed = pack_cdt({"b": 1, 2: 0, "a": {"y": 1, "x": 2}, b"\x01": 3, -5: 4})
    # {-5: 4, 2: 0, "a": {"x": 2, "y": 1}, "b": 1, b"\x01": 3}, strings/blobs with their 03/04 prefix.
    assert packed.hex() == "85fb040200a2036182a2037802a2037901a2036201a2040103"


def test_key_field_with_string_type_and_non_utf8_bytes():
    """A bytes key travels with the string type; a stored one that is not UTF-8 decodes as bytes."""
    from aerospike_py._wire.message import field_key_value

    assert field_key_value(b"\x03ab") == "ab"
    assert field_key_value(b"\x03\xff\xfe") == b"\xff\xfe"
    assert field_key_value(b"\x04\xff") == b"\xff"
