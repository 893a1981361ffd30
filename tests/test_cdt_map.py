"""Map operations against the embedded server: return types, orders, write flags, contexts."""

from __future__ import annotations

import pytest

import aerospike_py
from aerospike_py import cdt_ctx as cc
from aerospike_py import map_operations as mo
from aerospike_py._commands.ops import encode_ops
from aerospike_py._wire.message import parse_wire_ops
from aerospike_py.exception import BinTypeError, InvalidArgError, RecordError, ServerError

KEY = ("test", "cdt", "map")
INV = mo.MAP_RETURN_INVERTED


@pytest.fixture
def m(client):
    client.put(KEY, {"m": {"c": 3, "a": 1, "b": 2, "d": 1}})
    return client


def _op(c, *ops):
    return c.operate(KEY, list(ops)).bins


def _payload(op: dict) -> bytes:
    ops, _ = parse_wire_ops(encode_ops([op])[0].data, 0, 1)
    return bytes(ops[0].value)


@pytest.mark.parametrize(
    ("op", "hexval"),
    [
        (mo.map_put_items("m", {"c": 30, "a": 10, "b": 20, "d": 40}, {"order": aerospike_py.MAP_KEY_ORDERED}),
         "934484a203610aa2036214a203631ea203642801"),
        (mo.map_put("m", "a", 1, {"write_mode": aerospike_py.MAP_WRITE_FLAGS_CREATE_ONLY}), "9543a20361010001"),
        (mo.map_get_by_key_list("m", ["a", "d"], mo.MAP_RETURN_ORDERED_MAP), "936b1192a20361a20364"),
        (mo.map_get_by_rank_range("m", 0, aerospike_py.MAP_RETURN_KEY | INV, 2), "946ace000100060002"),
        (mo.map_increment("m", "new", 1.5), "9449a4036e6577cb3ff800000000000000"),
        (mo.map_remove_by_key_range("m", "c", "e", aerospike_py.MAP_RETURN_COUNT), "945405a20363a20365"),
        (mo.map_put("nm", "x", 2, ctx=[cc.cdt_ctx_map_key_create("new", aerospike_py.MAP_KEY_ORDERED)]),
         "93ccff92cca2a4036e65779443a203780200"),
    ],
)
def test_golden_bytes_match_official_trace(op, hexval):
    assert _payload(op).hex() == hexval


def test_map_ops_set_respond_all():
    enc = encode_ops([mo.map_size("m"), mo.map_clear("m"), mo.map_remove_by_key("m", "a", 0)])
    assert [e.respond_all for e in enc] == [True, True, True]
    assert [e.has_result for e in enc] == [True, False, False]


@pytest.mark.parametrize(
    ("rt", "expected"),
    [
        (aerospike_py.MAP_RETURN_KEY, ["a", "d", "b"]),
        (aerospike_py.MAP_RETURN_VALUE, [1, 1, 2]),
        (aerospike_py.MAP_RETURN_INDEX, [0, 3, 1]),
        (aerospike_py.MAP_RETURN_REVERSE_INDEX, [3, 0, 2]),
        (aerospike_py.MAP_RETURN_RANK, [0, 1, 2]),
        (aerospike_py.MAP_RETURN_REVERSE_RANK, [1, 2, 3]),  # (a range: ascending, as a real server)
        (aerospike_py.MAP_RETURN_COUNT, 3),
        (aerospike_py.MAP_RETURN_EXISTS, True),
        (aerospike_py.MAP_RETURN_KEY_VALUE, [("a", 1), ("d", 1), ("b", 2)]),  # as the original
        (mo.MAP_RETURN_UNORDERED_MAP, {"a": 1, "d": 1, "b": 2}),
        (mo.MAP_RETURN_ORDERED_MAP, {"a": 1, "b": 2, "d": 1}),
        (aerospike_py.MAP_RETURN_KEY | INV, ["c"]),
    ],
)
def test_rank_range_return_types(m, rt, expected):
    assert _op(m, mo.map_get_by_rank_range("m", 0, rt, 3)) == {"m": expected}


def test_single_selectors(m):
    assert _op(m, mo.map_get_by_key("m", "b", aerospike_py.MAP_RETURN_VALUE)) == {"m": 2}
    assert _op(m, mo.map_get_by_key("m", "zz", aerospike_py.MAP_RETURN_VALUE)) == {"m": None}
    assert _op(m, mo.map_get_by_index("m", -1, aerospike_py.MAP_RETURN_KEY)) == {"m": "d"}
    assert _op(m, mo.map_get_by_rank("m", -1, aerospike_py.MAP_RETURN_KEY)) == {"m": "c"}
    assert _op(m, mo.map_get_by_value("m", 1, aerospike_py.MAP_RETURN_KEY)) == {"m": ["a", "d"]}
    assert _op(m, mo.map_get_by_value_list("m", [2, 3], aerospike_py.MAP_RETURN_COUNT)) == {"m": 2}
    assert _op(m, mo.map_get_by_key_range("m", "b", None, aerospike_py.MAP_RETURN_KEY)) == {"m": ["b", "c", "d"]}
    assert _op(m, mo.map_get_by_index_range("m", 1, aerospike_py.MAP_RETURN_VALUE, 2)) == {"m": [2, 3]}
    assert _op(m, mo.map_get_by_key_rel_index_range("m", "b", 1, aerospike_py.MAP_RETURN_KEY)) == {"m": ["c", "d"]}
    assert _op(m, mo.map_get_by_value_rel_rank_range("m", 2, 0, aerospike_py.MAP_RETURN_VALUE)) == {"m": [2, 3]}
    with pytest.raises(ServerError) as ei:
        m.operate(KEY, [mo.map_get_by_index("m", 10, aerospike_py.MAP_RETURN_KEY)])
    assert ei.value.code == 26


def test_removes(m):
    assert _op(m, mo.map_remove_by_key_list("m", ["a", "zz"], aerospike_py.MAP_RETURN_VALUE)) == {"m": [1]}
    assert _op(m, mo.map_remove_by_value_range("m", 2, 3, aerospike_py.MAP_RETURN_KEY)) == {"m": ["b"]}
    assert _op(m, mo.map_remove_by_rank("m", 0, aerospike_py.MAP_RETURN_KEY)) == {"m": "d"}
    assert _op(m, mo.map_remove_by_index("m", 0, aerospike_py.MAP_RETURN_NONE)) == {"m": None}
    assert m.get(KEY).bins["m"] == {}


def test_write_flags(m):
    with pytest.raises(RecordError) as ei:
        m.operate(KEY, [mo.map_put("m", "a", 9, {"write_mode": aerospike_py.MAP_WRITE_FLAGS_CREATE_ONLY})])
    assert ei.value.code == 24
    with pytest.raises(RecordError) as ei:
        m.operate(KEY, [mo.map_put("m", "q", 9, {"write_mode": aerospike_py.MAP_WRITE_FLAGS_UPDATE_ONLY})])
    assert ei.value.code == 23
    flags = aerospike_py.MAP_WRITE_FLAGS_CREATE_ONLY | aerospike_py.MAP_WRITE_FLAGS_NO_FAIL
    assert _op(m, mo.map_put_items("m", {"a": 9, "e": 5}, {"write_mode": flags})) == {"m": 4}
    flags |= aerospike_py.MAP_WRITE_FLAGS_PARTIAL
    assert _op(m, mo.map_put_items("m", {"a": 9, "e": 5}, {"write_mode": flags})) == {"m": 5}
    assert m.get(KEY).bins["m"]["a"] == 1
    assert _op(m, mo.map_decrement("m", "a", 3)) == {"m": -2}


def test_key_ordered_map_is_stored_sorted(client):
    client.operate(KEY, [mo.map_put_items("k", {"z": 1, "b": 2, 3: 0}, {"order": aerospike_py.MAP_KEY_ORDERED})])
    assert list(client.get(KEY).bins["k"]) == [3, "b", "z"]
    client.operate(KEY, [mo.map_set_order("k", aerospike_py.MAP_UNORDERED), mo.map_put("k", "a", 0)])
    # Unordered, but its keys still ascend: the real server inserts a new key at its sorted place.
    assert list(client.get(KEY).bins["k"]) == [3, "a", "b", "z"]


def test_unordered_map_insert_position_and_put_items_sorts(client):
    """The real server's rules (see the nested-context step of official-cdt.jsonl): a new key goes
    before the first greater key while the keys before it ascend, else at the end; put_items first
    rewrites an unordered map key-sorted."""
    from aerospike_py.server.cdt import CMap, insert_pos

    assert insert_pos(CMap([[b"\x03m", 1], [b"\x03c", 2]]), b"\x03a") == 0  # before "m": prefix ascends
    assert insert_pos(CMap([[b"\x03m", 1], [b"\x03c", 2]]), b"\x03n") == 2  # "c" breaks the order: end
    assert insert_pos(CMap([[b"\x03c", 1], [b"\x03x", 2], [b"\x03m", 3]]), b"\x03e") == 1
    assert insert_pos(CMap([[b"\x03c", 1], [b"\x03x", 2], [b"\x03m", 3]]), b"\x03y") == 3
    client.put(KEY, {"u": {"c": 1, "m": 2}})
    client.operate(KEY, [mo.map_put("u", "e", 0), mo.map_increment("u", "a", 1)])
    assert list(client.get(KEY).bins["u"]) == ["a", "c", "e", "m"]
    client.operate(KEY, [mo.map_put_items("u", {"z": 0, "b": 0})])
    assert list(client.get(KEY).bins["u"]) == ["a", "b", "c", "e", "m", "z"]


def _stored(server, name: str) -> bytes:
    recs = [r for _, r in server.node.namespaces["test"].records()]
    assert len(recs) == 1
    return recs[0].bins[name][1]


def test_ctx_create_flags_shape_the_holding_map(server, client):
    """map_key_create(k, KEY_ORDERED): the order is that of the map holding k (when created);
    the new value itself is created by the operation, with the operation's order."""
    client.put(KEY, {"nm": {"a": 1}})
    ctx = [cc.cdt_ctx_map_key_create("new", aerospike_py.MAP_KEY_ORDERED)]
    assert _op(client, mo.map_put("nm", "x", 2, ctx=ctx)) == {"nm": 1}
    assert _stored(server, "nm").hex() == "82a20361" "01" "a4036e6577" "81a2037802"  # no order ext
    client.remove(KEY)
    ctx2 = [cc.cdt_ctx_map_key_create("outer", aerospike_py.MAP_KEY_ORDERED), cc.cdt_ctx_map_key_create("in")]
    client.operate(KEY, [mo.map_put("b", "k", 1, ctx=ctx2)])
    assert client.get(KEY).bins["b"] == {"outer": {"in": {"k": 1}}}
    # the bin (holding "outer") is key-ordered; "outer" (holding "in", flags 0x40) and the new leaf are not
    assert _stored(server, "b").hex() == "82c70001c0" "a6036f75746572" "81a303696e" "81a2036b01"


def test_nested_map_context(client):
    client.put(KEY, {"m": {"x": {"y": [1, 2]}}})
    ctx = [cc.cdt_ctx_map_key("x"), cc.cdt_ctx_map_key("y")]
    from aerospike_py import list_operations as lo

    assert _op(client, lo.list_append("m", 3, ctx=ctx)) == {"m": 3}
    assert _op(client, mo.map_size("m", ctx=[cc.cdt_ctx_map_index(0)])) == {"m": 1}
    assert _op(client, mo.map_put("m", "k", 1, ctx=[cc.cdt_ctx_map_key_create("n")])) == {"m": 1}
    assert client.get(KEY).bins["m"] == {"x": {"y": [1, 2, 3]}, "n": {"k": 1}}
    with pytest.raises(ServerError):
        client.operate(KEY, [mo.map_size("m", ctx=[cc.cdt_ctx_map_key("missing")])])


def test_bad_input(m):
    with pytest.raises(InvalidArgError):
        m.operate(KEY, [mo.map_get_by_key("m", "a", 42)])
    with pytest.raises(InvalidArgError):
        m.operate(KEY, [mo.map_put_items("m", [1, 2])])
    with pytest.raises(InvalidArgError):
        m.operate(KEY, [mo.map_increment("m", "a", "x")])
    with pytest.raises(InvalidArgError):
        m.operate(KEY, [mo.map_put("m", "a", 1, {"order": 2})])
    m.put(KEY, {"s": "str"})
    with pytest.raises(BinTypeError):
        m.operate(KEY, [mo.map_put("s", "a", 1)])
