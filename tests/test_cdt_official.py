"""The official ``aerospike`` client and ours run the same scripted list/map/bit/HLL operations
against the embedded server: each step's returned bins (or error code) and, at the end, the stored
records must be the same for both clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import aerospike_py
from _clients import official_generous
from aerospike_py import bit_operations as bo
from aerospike_py import cdt_ctx as cc
from aerospike_py import hll_operations as ho
from aerospike_py import list_operations as lo
from aerospike_py import map_operations as mo
from aerospike_py.exception import AerospikeError

aerospike = pytest.importorskip("aerospike")
olo = pytest.importorskip("aerospike_helpers.operations.list_operations")
omo = pytest.importorskip("aerospike_helpers.operations.map_operations")
obo = pytest.importorskip("aerospike_helpers.operations.bitwise_operations")
oho = pytest.importorskip("aerospike_helpers.operations.hll_operations")
occ = pytest.importorskip("aerospike_helpers.cdt_ctx")

pytestmark = [pytest.mark.official, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

A = aerospike
LV, LI, LR, LC, LX = (aerospike_py.LIST_RETURN_VALUE, aerospike_py.LIST_RETURN_INDEX, aerospike_py.LIST_RETURN_RANK,
                      aerospike_py.LIST_RETURN_COUNT, aerospike_py.LIST_RETURN_EXISTS)
MV, MK, MC = aerospike_py.MAP_RETURN_VALUE, aerospike_py.MAP_RETURN_KEY, aerospike_py.MAP_RETURN_COUNT
INV = 0x10000

#: (label, official ops, our ops). Steps run in order on one record per client.
Step = tuple[str, Callable[[], list], Callable[[], list]]
STEPS: list[Step] = [
    ("append", lambda: [olo.list_append("l", 7)], lambda: [lo.list_append("l", 7)]),
    ("append_items", lambda: [olo.list_append_items("l", [3, 1, 9, "a"])], lambda: [lo.list_append_items("l", [3, 1, 9, "a"])]),
    ("add_unique fails", lambda: [olo.list_append_items("l", [1, 2], {"write_flags": A.LIST_WRITE_ADD_UNIQUE})],
     lambda: [lo.list_append_items("l", [1, 2], {"flags": aerospike_py.LIST_WRITE_ADD_UNIQUE})]),
    ("add_unique partial", lambda: [olo.list_append_items("l", [1, 2], {"write_flags": A.LIST_WRITE_ADD_UNIQUE
                                                                         | A.LIST_WRITE_NO_FAIL | A.LIST_WRITE_PARTIAL})],
     lambda: [lo.list_append_items("l", [1, 2], {"flags": aerospike_py.LIST_WRITE_ADD_UNIQUE
                                                  | aerospike_py.LIST_WRITE_NO_FAIL | aerospike_py.LIST_WRITE_PARTIAL})]),
    ("insert", lambda: [olo.list_insert("l", 1, "ins")], lambda: [lo.list_insert("l", 1, "ins")]),
    ("get_by_value_range", lambda: [olo.list_get_by_value_range("l", A.LIST_RETURN_VALUE, 2, 8)],
     lambda: [lo.list_get_by_value_range("l", 2, 8, LV)]),
    ("get_by_rank_range inv", lambda: [olo.list_get_by_rank_range("l", 1, A.LIST_RETURN_INDEX, 2, True)],
     lambda: [lo.list_get_by_rank_range("l", 1, LI | INV, 2)]),
    ("rel rank", lambda: [olo.list_get_by_value_rank_range_relative("l", 3, -1, A.LIST_RETURN_VALUE, 3)],
     lambda: [lo.list_get_by_value_rel_rank_range("l", 3, -1, LV, 3)]),
    ("value list", lambda: [olo.list_get_by_value_list("l", [1, "a", 99], A.LIST_RETURN_RANK)],
     lambda: [lo.list_get_by_value_list("l", [1, "a", 99], LR)]),
    ("exists", lambda: [olo.list_get_by_value("l", 9, A.LIST_RETURN_EXISTS)], lambda: [lo.list_get_by_value("l", 9, LX)]),
    ("remove_by_rank_range", lambda: [olo.list_remove_by_rank_range("l", 0, A.LIST_RETURN_VALUE, 2)],
     lambda: [lo.list_remove_by_rank_range("l", 0, LV, 2)]),
    ("increment", lambda: [olo.list_increment("l", 0, 5)], lambda: [lo.list_increment("l", 0, 5)]),
    ("set out of bounds", lambda: [olo.list_set("l", 20, "x", {"write_flags": A.LIST_WRITE_INSERT_BOUNDED})],
     lambda: [lo.list_set("l", 20, "x", policy={"flags": aerospike_py.LIST_WRITE_INSERT_BOUNDED})]),
    ("pop_range/trim", lambda: [olo.list_pop_range("l", -2, 1), olo.list_trim("l", 0, 4)],
     lambda: [lo.list_pop_range("l", -2, 1), lo.list_trim("l", 0, 4)]),
    ("sort/order", lambda: [olo.list_sort("l", A.LIST_SORT_DEFAULT), olo.list_set_order("o", A.LIST_ORDERED),
                            olo.list_append_items("o", [5, 2, 8, 2])],
     lambda: [lo.list_sort("l", aerospike_py.LIST_SORT_DEFAULT), lo.list_set_order("o", aerospike_py.LIST_ORDERED),
              lo.list_append_items("o", [5, 2, 8, 2])]),
    ("map put_items ordered", lambda: [omo.map_put_items("m", {"c": 3, "a": 1, "b": 2}, {"map_order": A.MAP_KEY_ORDERED})],
     lambda: [mo.map_put_items("m", {"c": 3, "a": 1, "b": 2}, {"order": aerospike_py.MAP_KEY_ORDERED})]),
    ("map create_only fails", lambda: [omo.map_put("m", "a", 9, {"map_write_flags": A.MAP_WRITE_FLAGS_CREATE_ONLY})],
     lambda: [mo.map_put("m", "a", 9, {"write_mode": aerospike_py.MAP_WRITE_FLAGS_CREATE_ONLY})]),
    ("map increment/get", lambda: [omo.map_increment("m", "b", 5), omo.map_get_by_key("m", "b", A.MAP_RETURN_VALUE)],
     lambda: [mo.map_increment("m", "b", 5), mo.map_get_by_key("m", "b", MV)]),
    ("map ranges", lambda: [omo.map_get_by_value_range("m", 2, 10, A.MAP_RETURN_KEY),
                            omo.map_get_by_rank_range("m", 0, 2, A.MAP_RETURN_VALUE, True)],
     lambda: [mo.map_get_by_value_range("m", 2, 10, MK), mo.map_get_by_rank_range("m", 0, MV | INV, 2)]),
    ("map key rel index", lambda: [omo.map_get_by_key_index_range_relative("m", "b", -1, A.MAP_RETURN_KEY, 2)],
     lambda: [mo.map_get_by_key_rel_index_range("m", "b", -1, MK, 2)]),
    ("map remove", lambda: [omo.map_remove_by_key_list("m", ["a", "zz"], A.MAP_RETURN_COUNT)],
     lambda: [mo.map_remove_by_key_list("m", ["a", "zz"], MC)]),
    ("unordered map puts", lambda: [omo.map_put("u", "m", 1), omo.map_put("u", "c", 2), omo.map_put("u", "x", 3),
                                    omo.map_put_items("u", {"b": 4, "a": 5})],
     lambda: [mo.map_put("u", "m", 1), mo.map_put("u", "c", 2), mo.map_put("u", "x", 3),
              mo.map_put_items("u", {"b": 4, "a": 5})]),
    ("nested ctx create", lambda: [omo.map_put("n", "y", 1, ctx=[occ.cdt_ctx_map_key_create("k", A.MAP_KEY_ORDERED)]),
                                   olo.list_append("n", "deep", ctx=[occ.cdt_ctx_map_key_create("l", A.MAP_UNORDERED),
                                                                     occ.cdt_ctx_list_index_create(2, A.LIST_UNORDERED, True)])],
     lambda: [mo.map_put("n", "y", 1, ctx=[cc.cdt_ctx_map_key_create("k", aerospike_py.MAP_KEY_ORDERED)]),
              lo.list_append("n", "deep", ctx=[cc.cdt_ctx_map_key_create("l", aerospike_py.MAP_UNORDERED),
                                               cc.cdt_ctx_list_index_create(2, aerospike_py.LIST_UNORDERED, True)])]),
    ("nested read", lambda: [olo.list_size("n", ctx=[occ.cdt_ctx_map_key("l")]),
                             omo.map_get_by_key("n", "y", A.MAP_RETURN_VALUE, ctx=[occ.cdt_ctx_map_key("k")])],
     lambda: [lo.list_size("n", ctx=[cc.cdt_ctx_map_key("l")]), mo.map_get_by_key("n", "y", MV, ctx=[cc.cdt_ctx_map_key("k")])]),
    ("missing ctx", lambda: [omo.map_size("n", ctx=[occ.cdt_ctx_map_key("nope")])],
     lambda: [mo.map_size("n", ctx=[cc.cdt_ctx_map_key("nope")])]),
    ("list op on a map", lambda: [olo.list_append("m", 1)], lambda: [lo.list_append("m", 1)]),
    ("bits", lambda: [obo.bit_insert("b", 0, 3, b"\x0f\xf0\x01"), obo.bit_set("b", 4, 8, 1, b"\xaa"),
                      obo.bit_get("b", 0, 24), obo.bit_count("b", 0, 24)],
     lambda: [bo.bit_insert("b", 0, b"\x0f\xf0\x01"), bo.bit_set("b", 4, 8, b"\xaa"), bo.bit_get("b", 0, 24),
              bo.bit_count("b", 0, 24)]),
    ("bit arithmetic", lambda: [obo.bit_add("b", 16, 8, 200, True, A.BIT_OVERFLOW_SATURATE), obo.bit_get_int("b", 16, 8, True),
                                obo.bit_lscan("b", 0, 24, True), obo.bit_rscan("b", 0, 24, False)],
     lambda: [bo.bit_add("b", 16, 8, 200, True, aerospike_py.BIT_OVERFLOW_SATURATE), bo.bit_get_int("b", 16, 8, True),
              bo.bit_lscan("b", 0, 24, True), bo.bit_rscan("b", 0, 24, False)]),
    ("bit overflow fails", lambda: [obo.bit_add("b", 0, 8, 255, False, A.BIT_OVERFLOW_FAIL)],
     lambda: [bo.bit_add("b", 0, 8, 255, False, aerospike_py.BIT_OVERFLOW_FAIL)]),
    ("bit resize/shift", lambda: [obo.bit_resize("b", 5, resize_flags=A.BIT_RESIZE_FROM_FRONT), obo.bit_lshift("b", 0, 40, 3)],
     lambda: [bo.bit_resize("b", 5, aerospike_py.BIT_RESIZE_FROM_FRONT), bo.bit_lshift("b", 0, 40, 3)]),
    ("hll", lambda: [oho.hll_init("h", 8, 4), oho.hll_add("h", ["a", "b", "c", 1, 2.5]), oho.hll_get_count("h"),
                     oho.hll_describe("h")],
     lambda: [ho.hll_init("h", 8, 4), ho.hll_add("h", ["a", "b", "c", 1, 2.5]), ho.hll_get_count("h"),
              ho.hll_describe("h")]),
    ("hll create_only fails", lambda: [oho.hll_init("h", 10, policy={"flags": A.HLL_WRITE_CREATE_ONLY})],
     lambda: [ho.hll_init("h", 10, policy={"flags": aerospike_py.HLL_WRITE_CREATE_ONLY})]),
    ("hll add more", lambda: [oho.hll_add("h2", [f"v{i}" for i in range(300)], 8, 4), oho.hll_get_count("h2")],
     lambda: [ho.hll_add("h2", [f"v{i}" for i in range(300)], 8, 4), ho.hll_get_count("h2")]),
]


#: Steps run with operate(): they hold list ops without a result (sort, set order), which the
#: official operate_ordered leaves out while ours reports them as None (see test_operate_ordered_cdt).
PLAIN = {"sort/order"}


def _norm(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    return v


def _run(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", _norm(call())
    except AerospikeError as e:
        return "error", e.code
    except aerospike.exception.AerospikeError as e:
        return "error", e.code


@pytest.fixture
def pair(server, client):
    official = aerospike.client(official_generous({"hosts": [(server.host, server.port)]})).connect()
    yield official, client
    official.close()


def test_same_results_and_stored_values_as_official_client(pair):
    official, ours = pair
    ko, kw = ("test", "cdt-off", "k"), ("test", "cdt-off", "w")
    hll_values: dict[str, bytes] = {}
    for label, their_ops, our_ops in STEPS:
        if label in PLAIN:
            theirs = _run(lambda ops=their_ops: official.operate(ko, ops())[2])
            mine = _run(lambda ops=our_ops: ours.operate(kw, ops()).bins)
        else:
            theirs = _run(lambda ops=their_ops: official.operate_ordered(ko, ops())[2])
            mine = _run(lambda ops=our_ops: [tuple(bt) for bt in ours.operate_ordered(kw, ops()).ordered_bins])
            if theirs[0] == "ok":
                theirs = ("ok", [tuple(p) for p in theirs[1]])
                mine = ("ok", [tuple(p) for p in mine[1]])
        assert mine == theirs, label
    # the stored records, each read by both clients
    for reader in ("official", "ours"):
        if reader == "official":
            a, b = official.get(ko)[2], official.get(kw)[2]
        else:
            a, b = ours.get(ko).bins, ours.get(kw).bins
        assert _norm(a) == _norm(b), reader
        assert list(a) == list(b)
        for name in ("m", "u", "n"):
            assert list(a[name]) == list(b[name]), name  # same key order on the wire
        assert list(a["u"]) == ["a", "b", "c", "m", "x"]  # the real server's insert/put_items rules
        hll_values[reader] = bytes(a["h2"])
    assert hll_values["official"] == hll_values["ours"]
    # the union of both clients' HLLs, as computed by a read op of each
    got_o = official.operate(ko, [oho.hll_get_union_count("h", [hll_values["official"]])])[2]["h"]
    got_w = ours.operate(kw, [ho.hll_get_union_count("h", [hll_values["ours"]])]).bins["h"]
    assert got_o == got_w > 300
