"""End-to-end tests of every single-record call of the sync Client against the embedded server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import aerospike_py
from aerospike_py import (
    AerospikeKey,
    BinTuple,
    ClientError,
    ExistsResult,
    InfoNodeResult,
    OperateOrderedResult,
    Record,
    RecordMetadata,
)
from aerospike_py._commands.keys import parse_key
from aerospike_py._wire.digest import compute_digest, key_particle
from aerospike_py._wire.message import field_key_value
from aerospike_py.exception import (
    BinTypeError,
    RecordExistsError,
    RecordGenerationError,
    RecordNotFound,
    ServerError,
)

NEVER = 4294967295
NS, SET = "test", "kv"


def key(k: Any, set_name: str = SET) -> tuple:
    return (NS, set_name, k)


def stored(server: Any, k: tuple) -> Any:
    """The server's stored record for a key (None when absent), read on the server's loop."""
    digest = k[3] if len(k) == 4 else parse_key(k).digest
    node = server.node
    return server.call(lambda: node.namespaces[k[0]].get(digest, server.clock))


def near(ttl: int, expected: int) -> bool:
    """Second rounding between the server's write and the client's read costs at most 1 s."""
    return expected - 1 <= ttl <= expected


@pytest.fixture
def clock(server: Any) -> Iterator[Any]:
    """The server clock, restored after the test (the session server is shared)."""
    offset = server.clock.offset
    yield server.clock
    server.clock.offset = offset


@pytest.fixture
def ns_default_ttl(server: Any) -> Iterator[Any]:
    """Set the test namespace's default-ttl for one test."""
    ns = server.node.namespaces[NS]
    old = ns.default_ttl

    def set_ttl(v: int) -> None:
        server.call(setattr, ns, "default_ttl", v)

    yield set_ttl
    server.call(setattr, ns, "default_ttl", old)


# ----------------------------------------------------------------------------- put / get


def test_put_get_record_shape(client: Any) -> None:
    k = key("user1")
    assert client.put(k, {"name": "Alice", "age": 30, "tags": ["a", "b"], "m": {"x": 1.5}}) is None
    rec = client.get(k)
    assert isinstance(rec, Record)
    assert isinstance(rec.key, AerospikeKey) and isinstance(rec.meta, RecordMetadata)
    assert rec.key == AerospikeKey(NS, SET, "user1", compute_digest(SET, 3, b"user1"))
    assert rec.meta == RecordMetadata(1, NEVER)
    assert rec.bins == {"name": "Alice", "age": 30, "tags": ["a", "b"], "m": {"x": 1.5}}
    _, meta, bins = rec
    assert meta.gen == 1 and bins["age"] == 30


def test_generation_counts_writes(client: Any) -> None:
    k = key("gen")
    for i in range(1, 4):
        client.put(k, {"i": i})
        assert client.get(k).meta.gen == i
    client.touch(k)
    assert client.exists(k).meta.gen == 4
    client.increment(k, "i", 1)
    client.append(k, "s", "x")
    client.prepend(k, "s", "y")
    client.remove_bin(k, ["s"])
    rec = client.get(k)
    assert rec.meta.gen == 8 and rec.bins == {"i": 4}


def test_put_merges_bins_and_none_deletes_a_bin(client: Any) -> None:
    k = key("merge")
    client.put(k, {"a": 1, "b": 2})
    client.put(k, {"b": None, "c": 3})
    assert client.get(k).bins == {"a": 1, "c": 3}
    client.put(k, {"a": None, "c": None})  # no bin left: the record is gone
    with pytest.raises(RecordNotFound):
        client.get(k)


VALUES: dict[str, Any] = {
    "i": 42,
    "neg": -7,
    "zero": 0,
    "max": 2**63 - 1,
    "min": -(2**63),
    "f": 3.14159,
    "fneg": -0.5,
    "fint": 2.0,
    "finf": float("inf"),
    "s": "hello",
    "u": "héllo wörld ✓ 日本 😀",
    "e": "",
    "b": b"\x00\x01\xff",
    "eb": b"",
    "t": True,
    "fa": False,
    "l": [1, -1, "a", 2.5, [1, 2, [3]], {"k": "v"}, None, True, b"\x01\x02", []],
    "m": {-1: b"\xff", 1: "one", 3: {4: 5.5}, "nested": {"a": [1, 2]}, "two": 2, "": None},
    "em": {},
    "g": aerospike_py.GeoJSON('{"type": "Point", "coordinates": [-122.0, 37.5]}'),
}


def test_every_value_type_round_trips(client: Any) -> None:
    k = key("types")
    client.put(k, VALUES)
    bins = client.get(k).bins
    assert bins == VALUES
    for name, v in VALUES.items():
        assert type(bins[name]) is type(v), name
    assert isinstance(bins["g"], aerospike_py.GeoJSON)
    assert client.select(k, ["max", "min", "u"]).bins == {"max": 2**63 - 1, "min": -(2**63), "u": VALUES["u"]}


def test_bytearray_value_reads_back_as_bytes(client: Any) -> None:
    k = key("ba")
    client.put(k, {"ba": bytearray(b"abc")})
    assert client.get(k).bins == {"ba": b"abc"}


def test_none_bin_value_alone_on_missing_record(client: Any) -> None:
    k = key("nothing")
    with pytest.raises(RecordNotFound):  # as the real server: a write leaving no bins creates nothing
        client.put(k, {"a": None})
    assert client.exists(k).meta is None


# ----------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("user_key", "ptype", "kb"),
    [
        ("str-key", 3, b"str-key"),
        (12345, 1, (12345).to_bytes(8, "big")),
        (-1, 1, b"\xff" * 8),
        (2**63 - 1, 1, (2**63 - 1).to_bytes(8, "big")),
        (bytearray(b"\x01\x02tv"), 4, b"\x01\x02tv"),
    ],
)
def test_key_types(client: Any, server: Any, user_key: Any, ptype: int, kb: bytes) -> None:
    k = key(user_key)
    client.put(k, {"v": 1})
    rec = client.get(k)
    expected_key = bytes(user_key) if isinstance(user_key, bytearray) else user_key
    assert rec.key == AerospikeKey(NS, SET, expected_key, compute_digest(SET, ptype, kb))
    assert stored(server, k).digest == rec.key.digest


def test_bytes_key_round_trip(client: Any) -> None:
    k = key(b"\x00\x01\xff")
    client.put(k, {"v": 1})
    rec = client.get(k)
    assert rec.bins == {"v": 1} and rec.key.user_key == b"\x00\x01\xff"
    assert rec.key.digest == compute_digest(SET, *key_particle(b"\x00\x01\xff"))


def test_key_with_digest_only(client: Any) -> None:
    k = key("by-digest")
    client.put(k, {"v": 7})
    digest = client.get(k).key.digest
    dk = (NS, SET, None, digest)
    rec = client.get(dk)
    assert rec.bins == {"v": 7}
    assert rec.key == AerospikeKey(NS, SET, None, digest)
    client.put(dk, {"w": 8})
    assert client.get(k).bins == {"v": 7, "w": 8}
    assert client.exists(dk).meta.gen == 2
    client.remove(dk)
    assert client.exists(k).meta is None


def test_set_none_and_empty_set(client: Any) -> None:
    client.put((NS, None, "noset"), {"v": 1})
    rec = client.get((NS, "", "noset"))
    assert rec.bins == {"v": 1} and rec.key.set_name == ""


def test_same_user_key_in_two_sets_are_two_records(client: Any) -> None:
    client.put(key("dup", "s1"), {"v": 1})
    client.put(key("dup", "s2"), {"v": 2})
    assert client.get(key("dup", "s1")).bins == {"v": 1}
    assert client.get(key("dup", "s2")).bins == {"v": 2}


def test_key_send_policy_stores_the_key(client: Any, server: Any) -> None:
    plain, sent, sent_meta, sent_int = key("plain"), key("sent"), key("sent-meta"), key(777)
    client.put(plain, {"v": 1})
    client.put(sent, {"v": 1}, policy={"key": aerospike_py.POLICY_KEY_SEND})
    client.put(sent_meta, {"v": 1}, meta={"key": aerospike_py.POLICY_KEY_SEND})
    client.put(sent_int, {"v": 1}, policy={"key": aerospike_py.POLICY_KEY_SEND})
    assert stored(server, plain).key is None
    assert stored(server, sent).key == b"\x03sent"
    assert field_key_value(stored(server, sent_meta).key) == "sent-meta"
    assert field_key_value(stored(server, sent_int).key) == 777
    # The stored key survives later writes that do not send it.
    client.put(sent, {"v": 2})
    assert stored(server, sent).key == b"\x03sent"


# ----------------------------------------------------------------------------- select / exists


def test_select(client: Any) -> None:
    k = key("sel")
    client.put(k, {"i": 1, "s": "str", "f": 1.5})
    rec = client.select(k, ["i", "s", "nosuchbin"])
    assert rec.bins == {"i": 1, "s": "str"}
    assert rec.meta == RecordMetadata(1, NEVER)
    assert rec.key.user_key == "sel"
    with pytest.raises(RecordNotFound):
        client.select(key("missing"), ["i"])


def test_exists(client: Any) -> None:
    k = key("ex")
    missing = client.exists(key("missing"))
    assert isinstance(missing, ExistsResult)
    assert missing.meta is None and missing.key.user_key == "missing"
    client.put(k, {"a": 1}, meta={"ttl": 100})
    res = client.exists(k)
    assert res.meta.gen == 1 and near(res.meta.ttl, 100)
    assert res.key == AerospikeKey(NS, SET, "ex", compute_digest(SET, 3, b"ex"))


# ----------------------------------------------------------------------------- remove / touch


def test_remove(client: Any) -> None:
    k = key("rm")
    client.put(k, {"a": 1})
    assert client.remove(k) is None
    assert client.exists(k).meta is None
    with pytest.raises(RecordNotFound) as ei:
        client.remove(k)
    assert ei.value.code == 2


def test_remove_with_generation(client: Any) -> None:
    k = key("rmgen")
    client.put(k, {"a": 1})
    client.put(k, {"a": 2})
    with pytest.raises(RecordGenerationError):
        client.remove(k, meta={"gen": 999}, policy={"gen": aerospike_py.POLICY_GEN_EQ})
    with pytest.raises(RecordGenerationError):
        client.remove(k, meta={"gen": 1})  # meta gen alone implies GEN_EQ
    client.remove(k, meta={"gen": 2}, policy={"gen": aerospike_py.POLICY_GEN_EQ})
    assert client.exists(k).meta is None


def test_remove_durable_delete_accepted(client: Any) -> None:
    k = key("durable")
    client.put(k, {"a": 1})
    client.remove(k, policy={"durable_delete": True})
    assert client.exists(k).meta is None


def test_touch(client: Any) -> None:
    k = key("touch")
    client.put(k, {"a": 1})
    client.touch(k, 300)
    meta = client.exists(k).meta
    assert meta.gen == 2 and near(meta.ttl, 300)
    client.touch(k, 0, meta={"ttl": 50})
    meta = client.get(k).meta
    assert meta.gen == 3 and near(meta.ttl, 50)
    assert client.get(k).bins == {"a": 1}
    with pytest.raises(RecordNotFound):
        client.touch(key("missing"), 10)


# ----------------------------------------------------------------------------- append / prepend / incr


def test_append_prepend(client: Any) -> None:
    k = key("cat")
    client.put(k, {"s": "hello", "b": b"\x00"})
    client.append(k, "s", "!")
    client.prepend(k, "s", ">>")
    client.append(k, "b", b"\xaa")
    client.prepend(k, "b", b"\x01")
    assert client.get(k).bins == {"s": ">>hello!", "b": b"\x01\x00\xaa"}
    client.append(k, "new", "x")  # absent bin: created
    client.append(key("fresh"), "s", "y")  # absent record: created
    assert client.get(k).bins["new"] == "x"
    assert client.get(key("fresh")).meta.gen == 1
    with pytest.raises(BinTypeError):
        client.append(k, "s", b"\x00")  # blob onto a string


def test_increment(client: Any) -> None:
    k = key("incr")
    client.put(k, {"i": 42, "neg": -7, "f": 3.0, "s": "str"})
    client.increment(k, "i", 5)
    client.increment(k, "neg", -3)
    client.increment(k, "f", 0.5)
    client.increment(k, "new", 1)
    client.increment(key("fresh"), "n", 10)
    assert client.get(k).bins == {"i": 47, "neg": -10, "f": 3.5, "s": "str", "new": 1}
    assert client.get(key("fresh")).bins == {"n": 10}
    with pytest.raises(BinTypeError) as ei:
        client.increment(k, "s", 1)
    assert ei.value.code == 12
    with pytest.raises(BinTypeError):
        client.increment(k, "i", 1.5)  # float onto an int
    assert client.get(k).meta.gen == 5  # failed writes do not count


def test_remove_bin(client: Any) -> None:
    k = key("rmbin")
    client.put(k, {"a": 1, "b": 2, "c": 3})
    client.remove_bin(k, ["a", "c"])
    rec = client.get(k)
    assert rec.bins == {"b": 2} and rec.meta.gen == 2
    client.remove_bin(k, ["b"])
    assert client.exists(k).meta is None


# ----------------------------------------------------------------------------- operate


def test_operate_each_basic_op(client: Any) -> None:
    a = aerospike_py
    k = key("op")
    rec = client.operate(
        k,
        [
            {"op": a.OPERATOR_WRITE, "bin": "a", "val": 1},
            {"op": a.OPERATOR_WRITE, "bin": "s", "val": "mid"},
            {"op": a.OPERATOR_INCR, "bin": "a", "val": 5},
            {"op": a.OPERATOR_APPEND, "bin": "s", "val": ">"},
            {"op": a.OPERATOR_PREPEND, "bin": "s", "val": "<"},
            {"op": a.OPERATOR_READ, "bin": "a"},
            {"op": a.OPERATOR_READ, "bin": "s"},
        ],
    )
    assert isinstance(rec, Record)
    assert rec.bins == {"a": 6, "s": "<mid>"} and rec.meta == RecordMetadata(1, NEVER)
    rec = client.operate(k, [{"op": a.OPERATOR_TOUCH}, {"op": a.OPERATOR_READ, "bin": "a"}], meta={"ttl": 500})
    assert rec.bins == {"a": 6} and rec.meta.gen == 2 and near(rec.meta.ttl, 500)
    rec = client.operate(k, [{"op": a.OPERATOR_INCR, "bin": "f", "val": 1.25}, {"op": a.OPERATOR_READ, "bin": "f"}])
    assert rec.bins == {"f": 1.25} and rec.meta.gen == 3
    rec = client.operate(k, [{"op": a.OPERATOR_READ}])  # no bin: every bin
    assert rec.bins == {"a": 6, "s": "<mid>", "f": 1.25}
    rec = client.operate(k, [{"op": a.OPERATOR_DELETE}])
    assert rec.bins == {} and rec.meta.gen == 0
    with pytest.raises(RecordNotFound):
        client.operate(k, [{"op": a.OPERATOR_READ, "bin": "a"}])


def test_operate_delete_then_write_recreates(client: Any) -> None:
    a = aerospike_py
    k = key("opdw")
    client.put(k, {"old": 1})
    client.operate(k, [{"op": a.OPERATOR_DELETE}, {"op": a.OPERATOR_WRITE, "bin": "new", "val": 2}])
    assert client.get(k).bins == {"new": 2}


def test_operate_errors(client: Any) -> None:
    a = aerospike_py
    k = key("operr")
    client.put(k, {"s": "str"})
    with pytest.raises(BinTypeError):
        client.operate(k, [{"op": a.OPERATOR_INCR, "bin": "s", "val": 1}])
    with pytest.raises(RecordGenerationError):
        client.operate(k, [{"op": a.OPERATOR_WRITE, "bin": "x", "val": 1}], meta={"gen": 7})
    with pytest.raises(RecordExistsError):
        client.operate(k, [{"op": a.OPERATOR_WRITE, "bin": "x", "val": 1}],
                       policy={"exists": a.POLICY_EXISTS_CREATE_ONLY})
    with pytest.raises(RecordNotFound):
        client.operate(key("missing"), [{"op": a.OPERATOR_TOUCH}])
    assert client.get(k).bins == {"s": "str"} and client.get(k).meta.gen == 1


def test_operate_ordered(client: Any) -> None:
    a = aerospike_py
    k = key("ordered")
    res = client.operate_ordered(
        k,
        [
            {"op": a.OPERATOR_WRITE, "bin": "x", "val": 1},
            {"op": a.OPERATOR_READ, "bin": "x"},
            {"op": a.OPERATOR_INCR, "bin": "x", "val": 2},
            {"op": a.OPERATOR_READ, "bin": "x"},
            {"op": a.OPERATOR_WRITE, "bin": "y", "val": "z"},
            {"op": a.OPERATOR_READ, "bin": "y"},
        ],
    )
    assert isinstance(res, OperateOrderedResult)
    assert res.ordered_bins == [BinTuple("x", 1), BinTuple("x", 3), BinTuple("y", "z")]
    assert res.meta == RecordMetadata(1, NEVER) and res.key.user_key == "ordered"
    res = client.operate_ordered(
        k, [{"op": a.OPERATOR_READ, "bin": "y"}, {"op": a.OPERATOR_READ, "bin": "x"}, {"op": a.OPERATOR_READ, "bin": "y"}]
    )
    assert [tuple(b) for b in res.ordered_bins] == [("y", "z"), ("x", 3), ("y", "z")]
    assert res.ordered_bins[0].name == "y" and res.ordered_bins[1].value == 3


# ----------------------------------------------------------------------------- TTL


def test_ttl_values(client: Any, server: Any) -> None:
    client.put(key("t100"), {"x": 1}, meta={"ttl": 100})
    client.put(key("tnever"), {"x": 1}, meta={"ttl": aerospike_py.TTL_NEVER_EXPIRE})
    client.put(key("tpolicy"), {"x": 1}, policy={"ttl": 200})
    client.put(key("tdefault"), {"x": 1}, meta={"ttl": 0})
    assert near(client.get(key("t100")).meta.ttl, 100)
    assert client.get(key("tnever")).meta.ttl == NEVER
    assert near(client.get(key("tpolicy")).meta.ttl, 200)
    assert client.get(key("tdefault")).meta.ttl == NEVER  # namespace default-ttl 0: never
    assert stored(server, key("tnever")).void_time == 0
    # meta wins over the policy
    client.put(key("tboth"), {"x": 1}, meta={"ttl": 30}, policy={"ttl": 200})
    assert near(client.get(key("tboth")).meta.ttl, 30)


def test_ttl_dont_update(client: Any, server: Any) -> None:
    k = key("keep")
    client.put(k, {"x": 1}, meta={"ttl": 100})
    before = stored(server, k).void_time
    client.put(k, {"x": 2}, meta={"ttl": aerospike_py.TTL_DONT_UPDATE})
    rec = client.get(k)
    assert rec.meta.gen == 2 and near(rec.meta.ttl, 100)
    assert stored(server, k).void_time == before
    client.put(k, {"x": 3})  # default policy ttl 0: namespace default (never)
    assert client.get(k).meta.ttl == NEVER
    new = key("keep-new")
    client.put(new, {"x": 1}, meta={"ttl": -2})  # new record: namespace default
    assert client.get(new).meta.ttl == NEVER


def test_ttl_namespace_default(client: Any, ns_default_ttl: Any) -> None:
    ns_default_ttl(1000)
    client.put(key("d0"), {"x": 1})
    client.put(key("dneg1"), {"x": 1}, meta={"ttl": -1})
    client.put(key("dneg2"), {"x": 1}, meta={"ttl": -2})
    assert near(client.get(key("d0")).meta.ttl, 1000)
    assert client.get(key("dneg1")).meta.ttl == NEVER
    assert near(client.get(key("dneg2")).meta.ttl, 1000)


def test_ttl_expiry(client: Any, clock: Any) -> None:
    k, forever = key("expire"), key("forever")
    client.put(k, {"x": 1}, meta={"ttl": 100})
    client.put(forever, {"x": 1}, meta={"ttl": -1})
    clock.advance(60)
    assert client.get(k).bins == {"x": 1}
    clock.advance(41)
    with pytest.raises(RecordNotFound):
        client.get(k)
    assert client.exists(k).meta is None
    with pytest.raises(RecordNotFound):
        client.touch(k, 100)
    assert client.get(forever).bins == {"x": 1}
    clock.advance(10 * 365 * 86400)
    assert client.get(forever).bins == {"x": 1}
    # An expired record does not exist for create-only.
    client.put(k, {"x": 2}, policy={"exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY})
    assert client.get(k).meta.gen == 1


def test_touch_extends_life(client: Any, clock: Any) -> None:
    k = key("extend")
    client.put(k, {"x": 1}, meta={"ttl": 100})
    clock.advance(90)
    client.touch(k, 100)
    clock.advance(90)
    assert client.get(k).bins == {"x": 1}
    clock.advance(11)
    assert client.exists(k).meta is None


# ----------------------------------------------------------------------------- exists policies


def test_exists_ignore(client: Any) -> None:
    k = key("ign")
    p = {"exists": aerospike_py.POLICY_EXISTS_IGNORE}
    client.put(k, {"a": 1}, policy=p)
    client.put(k, {"b": 2}, policy=p)
    assert client.get(k).bins == {"a": 1, "b": 2}


def test_exists_update_only(client: Any) -> None:
    k = key("upd")
    p = {"exists": aerospike_py.POLICY_EXISTS_UPDATE}
    assert aerospike_py.POLICY_EXISTS_UPDATE == aerospike_py.POLICY_EXISTS_UPDATE_ONLY
    with pytest.raises(RecordNotFound):
        client.put(k, {"a": 1}, policy=p)
    assert client.exists(k).meta is None
    client.put(k, {"a": 1})
    client.put(k, {"b": 2}, policy=p)
    assert client.get(k).bins == {"a": 1, "b": 2}


def test_exists_replace(client: Any) -> None:
    k = key("repl")
    p = {"exists": aerospike_py.POLICY_EXISTS_REPLACE}
    client.put(k, {"a": 1, "b": 1}, policy=p)  # creates
    client.put(k, {"c": 3}, policy=p)  # replaces the whole record
    rec = client.get(k)
    assert rec.bins == {"c": 3} and rec.meta.gen == 2


def test_exists_replace_only(client: Any) -> None:
    k = key("replo")
    p = {"exists": aerospike_py.POLICY_EXISTS_REPLACE_ONLY}
    with pytest.raises(RecordNotFound):
        client.put(k, {"a": 1}, policy=p)
    client.put(k, {"a": 1, "b": 1})
    client.put(k, {"c": 3}, meta={"exists": aerospike_py.POLICY_EXISTS_REPLACE_ONLY})
    assert client.get(k).bins == {"c": 3}


def test_exists_create_only(client: Any, server: Any) -> None:
    k = key("create")
    p = {"exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY}
    client.put(k, {"a": 1}, policy=p)
    with pytest.raises(RecordExistsError) as ei:
        client.put(k, {"a": 2}, policy=p)
    e = ei.value
    assert e.code == 5 and e.in_doubt is False
    assert e.node == server.node.node_id
    assert e.key == AerospikeKey(NS, SET, "create", compute_digest(SET, 3, b"create"))
    assert "'create'" in str(e) and server.node.node_id in str(e)
    assert "AEROSPIKE_ERR_RECORD_EXISTS" in str(e)
    with pytest.raises(RecordExistsError):
        client.put(k, {"a": 2}, meta={"exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY})
    assert client.get(k).bins == {"a": 1}


# ----------------------------------------------------------------------------- generation policies


def test_gen_eq(client: Any) -> None:
    k = key("geq")
    client.put(k, {"a": 1})
    client.put(k, {"a": 2})
    p = {"gen": aerospike_py.POLICY_GEN_EQ}
    with pytest.raises(RecordGenerationError) as ei:
        client.put(k, {"a": 3}, meta={"gen": 999}, policy=p)
    assert ei.value.code == 3
    client.put(k, {"a": 3}, meta={"gen": 2}, policy=p)
    rec = client.get(k)
    assert rec.bins == {"a": 3} and rec.meta.gen == 3


def test_gen_gt(client: Any) -> None:
    k = key("ggt")
    client.put(k, {"a": 1})
    client.put(k, {"a": 2})
    p = {"gen": aerospike_py.POLICY_GEN_GT}
    for g in (1, 2):
        with pytest.raises(RecordGenerationError):
            client.put(k, {"a": 9}, meta={"gen": g}, policy=p)
    client.put(k, {"a": 3}, meta={"gen": 5}, policy=p)
    assert client.get(k).meta.gen == 3


def test_gen_ignore_with_policy(client: Any) -> None:
    k = key("gign")
    client.put(k, {"a": 1})
    client.put(k, {"a": 2}, policy={"gen": aerospike_py.POLICY_GEN_IGNORE})
    assert client.get(k).meta.gen == 2


def test_gen_on_missing_record_is_zero(client: Any) -> None:
    # As the real server: a record about to be created has generation 0.
    k = key("gmiss")
    with pytest.raises(RecordGenerationError):
        client.put(k, {"a": 1}, meta={"gen": 5}, policy={"gen": aerospike_py.POLICY_GEN_EQ})
    client.put(k, {"a": 1}, meta={"gen": 0}, policy={"gen": aerospike_py.POLICY_GEN_EQ})
    assert client.get(k).meta.gen == 1


def test_commit_level_master_accepted(client: Any) -> None:
    k = key("commit")
    client.put(k, {"a": 1}, policy={"commit_level": aerospike_py.POLICY_COMMIT_LEVEL_MASTER})
    client.put(k, {"a": 2}, meta={"commit_level": aerospike_py.POLICY_COMMIT_LEVEL_ALL})
    assert client.get(k).bins == {"a": 2}


def test_read_policy_fields_accepted(client: Any) -> None:
    k = key("rp")
    client.put(k, {"a": 1})
    policy = {
        "socket_timeout": 500,
        "total_timeout": 2000,
        "max_retries": 1,
        "sleep_between_retries": 0,
        "read_touch_ttl_percent": 50,
        "replica": aerospike_py.POLICY_REPLICA_MASTER,
        "read_mode_ap": aerospike_py.POLICY_READ_MODE_AP_ALL,
    }
    assert client.get(k, policy).bins == {"a": 1}
    assert client.select(k, ["a"], policy).bins == {"a": 1}
    assert client.exists(k, policy).meta.gen == 1


# ----------------------------------------------------------------------------- error paths


def test_missing_record_error_carries_details(client: Any, server: Any) -> None:
    k = key("no-such-record")
    with pytest.raises(RecordNotFound) as ei:
        client.get(k)
    e = ei.value
    assert e.code == 2 and e.node == server.node.node_id and e.in_doubt is False
    assert e.key == AerospikeKey(NS, SET, "no-such-record", compute_digest(SET, 3, b"no-such-record"))
    assert "no-such-record" in str(e) and "AEROSPIKE_ERR_RECORD_NOT_FOUND" in str(e)


def test_bad_namespace(client: Any) -> None:
    k = ("nosuchns", SET, "k")
    for call in (lambda: client.put(k, {"a": 1}), lambda: client.get(k), lambda: client.exists(k),
                 lambda: client.remove(k)):
        with pytest.raises(ServerError) as ei:
            call()
        assert ei.value.code == 20
        assert "nosuchns" in str(ei.value)


# ----------------------------------------------------------------------------- truncate


def test_truncate_set(client: Any, server: Any) -> None:
    for i in range(5):
        client.put(key(i, "trunc"), {"i": i})
        client.put(key(i, "keep"), {"i": i})
    assert client.truncate(NS, "trunc") is None
    for i in range(5):
        assert client.exists(key(i, "trunc")).meta is None
        assert client.get(key(i, "keep")).bins == {"i": i}
    client.put(key(0, "trunc"), {"i": 10})  # writes after the truncate live
    assert client.get(key(0, "trunc")).bins == {"i": 10}


def test_truncate_namespace(client: Any) -> None:
    client.put(key("a", "s1"), {"x": 1})
    client.put((NS, None, "b"), {"x": 1})
    client.put(("bar", "s1", "c"), {"x": 1})
    client.truncate(NS, None)
    assert client.exists(key("a", "s1")).meta is None
    assert client.exists((NS, None, "b")).meta is None
    assert client.get(("bar", "s1", "c")).bins == {"x": 1}


def test_truncate_with_lut_keeps_newer_records(client: Any, server: Any) -> None:
    client.put(key("old", "lut"), {"x": 1})
    client.put(key("old"), {"x": 1})
    cut = server.call(server.clock.nanos)
    client.put(key("new", "lut"), {"x": 2})
    client.put(key("new"), {"x": 2})
    client.truncate(NS, "lut", cut)
    assert client.exists(key("old", "lut")).meta is None
    assert client.get(key("new", "lut")).bins == {"x": 2}
    assert client.get(key("old")).bins == {"x": 1}
    client.truncate(NS, None, cut)
    assert client.exists(key("old")).meta is None
    assert client.get(key("new")).bins == {"x": 2}
    assert client.get(key("new", "lut")).bins == {"x": 2}


def test_truncate_bad_namespace(client: Any) -> None:
    with pytest.raises(ServerError) as ei:
        client.truncate("nosuchns", None)
    assert ei.value.code == 20


# ----------------------------------------------------------------------------- info / lifecycle


def test_info_calls(client: Any, server: Any) -> None:
    name = server.node.node_id
    assert client.get_node_names() == [name]
    assert client.info_random_node("node") == name
    assert client.info_random_node("build") == "8.1.2.0"
    assert client.info_random_node("namespaces").split(";") == ["test", "bar"]
    res = client.info_all("namespaces")
    assert res == [InfoNodeResult(name, 0, "test;bar")]
    assert res[0].node_name == name and res[0].error_code == 0
    multi = client.info_random_node("node\nbuild")
    assert multi == f"node\t{name}\nbuild\t8.1.2.0\n"


def test_ping_connected_close(server: Any) -> None:
    c = aerospike_py.client(server.config)
    assert c.is_connected() is False and c.ping() is False
    assert c.connect() is c
    assert c.is_connected() is True and c.ping() is True
    c.put(key("lc"), {"a": 1})
    c.close()
    c.close()  # idempotent
    assert c.is_connected() is False and c.ping() is False
    assert c.get_node_names() == []
    calls = [
        lambda: c.get(key("lc")),
        lambda: c.put(key("lc"), {"a": 1}),
        lambda: c.exists(key("lc")),
        lambda: c.operate(key("lc"), [{"op": aerospike_py.OPERATOR_READ, "bin": "a"}]),
        lambda: c.info_all("node"),
        lambda: c.info_random_node("node"),
        lambda: c.truncate(NS, "x"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as ei:
            call()
        assert "not connected" in str(ei.value)


def test_use_before_connect_is_client_error(server: Any) -> None:
    c = aerospike_py.client(server.config)
    with pytest.raises(ClientError):
        c.get(key("x"))


def test_context_manager(server: Any) -> None:
    with aerospike_py.client(server.config).connect() as c:
        assert c.is_connected()
        c.put(key("cm"), {"a": 1})
        assert c.get(key("cm")).bins == {"a": 1}
    assert c.is_connected() is False
    with pytest.raises(ClientError):
        c.get(key("cm"))


def test_connect_twice_is_an_error(client: Any) -> None:
    with pytest.raises(ClientError):
        client.connect()
    assert client.get_node_names()


# ----------------------------------------------------------------------------- thread safety


def test_threads_share_one_client(client: Any) -> None:
    """16 threads x 2,001 mixed ops (increment, operate, get) on one Client, all results exact."""
    n_threads, n_ops = 16, 2001
    errors: list[BaseException] = []
    a = aerospike_py

    def work(t: int) -> None:
        try:
            k = key(f"thr-{t}")
            client.put(k, {"n": 0, "t": t})
            for i in range(1, n_ops // 3 + 1):
                client.increment(k, "n", 1)
                rec = client.operate(k, [{"op": a.OPERATOR_WRITE, "bin": "s", "val": f"{t}-{i}"},
                                         {"op": a.OPERATOR_READ, "bin": "n"}])
                assert rec.bins == {"n": i}, rec
                got = client.get(k)
                assert got.bins == {"n": i, "t": t, "s": f"{t}-{i}"}, got
                assert got.key.user_key == f"thr-{t}"
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=100)
    assert not errors, errors[:3]
    for t in range(n_threads):
        rec = client.get(key(f"thr-{t}"))
        assert rec.bins["n"] == n_ops // 3 and rec.meta.gen == 1 + 2 * (n_ops // 3)
