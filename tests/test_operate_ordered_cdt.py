"""operate() vs operate_ordered() with several list/map/bit/HLL ops on the same bin: results in op
order, one BinTuple per op result; operate() gives a bin several ops answer the list of their
results in op order (``None`` results left out), as aerospike-py and the Java, Go and Rust clients
do; the official Python client keeps only the last one. Checked against it where it is installed."""

from __future__ import annotations

from typing import Any

import pytest

import aerospike_py
from _clients import official_generous
from aerospike_py import bit_operations as bo
from aerospike_py import hll_operations as ho
from aerospike_py import list_operations as lo
from aerospike_py import map_operations as mo
from aerospike_py.types import BinTuple

KEY = ("test", "ordered", "k")
LV, MV = aerospike_py.LIST_RETURN_VALUE, aerospike_py.MAP_RETURN_VALUE


def _ours() -> list[dict[str, Any]]:
    return [
        lo.list_append("l", 4), lo.list_append_items("l", [9, 1]), lo.list_size("l"),
        lo.list_get_by_rank("l", 0, LV), lo.list_sort("l", 0), lo.list_get_range("l", 0, 10),
        mo.map_put("m", "a", 1), mo.map_increment("m", "a", 2), mo.map_get_by_key("m", "a", MV),
        lo.list_pop("l", 0), {"op": aerospike_py.OPERATOR_READ, "bin": "l"},
    ]


#: One entry per op (the map ops make the server answer every op): list_sort has no result (None).
EXPECTED = [("l", 1), ("l", 3), ("l", 3), ("l", 1), ("l", None), ("l", [1, 4, 9]), ("m", 1), ("m", 3),
            ("m", 3), ("l", 1), ("l", [4, 9])]


def test_operate_ordered_one_bintuple_per_op_in_order(client):
    res = client.operate_ordered(KEY, _ours())
    assert all(isinstance(b, BinTuple) for b in res.ordered_bins)
    assert [tuple(b) for b in res.ordered_bins] == EXPECTED
    assert res.meta.gen == 1


#: What operate() gives for _ours(): per bin, the non-None results of EXPECTED in op order.
LISTED = {"l": [1, 3, 3, 1, [1, 4, 9], 1, [4, 9]], "m": [1, 3, 3]}


def test_operate_lists_the_results_per_bin(client):
    rec = client.operate(KEY, _ours())
    assert rec.bins == LISTED
    # the same state as after operate_ordered: both ran the same ops once
    assert client.get(KEY).bins == {"l": [4, 9], "m": {"a": 3}}


def test_list_only_ops_same_bin(client):
    ops = [lo.list_append("l", 3), lo.list_append("l", 1), lo.list_get_by_index("l", 0, LV), lo.list_size("l"),
           lo.list_remove_by_value("l", 3, aerospike_py.LIST_RETURN_COUNT), lo.list_size("l")]
    assert [tuple(b) for b in client.operate_ordered(KEY, ops).ordered_bins] == [
        ("l", 1), ("l", 2), ("l", 3), ("l", 2), ("l", 1), ("l", 1)]
    client.remove(KEY)
    assert client.operate(KEY, ops).bins == {"l": [1, 2, 3, 2, 1, 1]}


def test_bit_and_hll_same_bin(client):
    ops = [bo.bit_resize("b", 2), bo.bit_set("b", 0, 8, b"\xff"), bo.bit_count("b", 0, 16), bo.bit_not("b", 0, 16),
           bo.bit_count("b", 0, 16), ho.hll_add("h", ["a", "b"], 8), ho.hll_add("h", ["b", "c"]), ho.hll_get_count("h")]
    got = [tuple(b) for b in client.operate_ordered(KEY, ops).ordered_bins]
    assert got == [("b", None), ("b", None), ("b", 8), ("b", None), ("b", 8), ("h", 2), ("h", 1), ("h", 3)]
    client.remove(KEY)
    assert client.operate(KEY, ops).bins == {"b": [8, 8], "h": [2, 1, 3]}


def test_same_as_official_client(server, client):
    aerospike = pytest.importorskip("aerospike")
    olo = pytest.importorskip("aerospike_helpers.operations.list_operations")
    omo = pytest.importorskip("aerospike_helpers.operations.map_operations")
    oop = pytest.importorskip("aerospike_helpers.operations.operations")

    def theirs() -> list:
        return [
            olo.list_append("l", 4), olo.list_append_items("l", [9, 1]), olo.list_size("l"),
            olo.list_get_by_rank("l", 0, aerospike.LIST_RETURN_VALUE), olo.list_sort("l", 0),
            olo.list_get_range("l", 0, 10), omo.map_put("m", "a", 1), omo.map_increment("m", "a", 2),
            omo.map_get_by_key("m", "a", aerospike.MAP_RETURN_VALUE), olo.list_pop("l", 0), oop.read("l"),
        ]

    c = aerospike.client(official_generous({"hosts": [(server.host, server.port)]})).connect()
    try:
        k2 = ("test", "ordered", "official")
        assert [tuple(p) for p in c.operate_ordered(k2, theirs())[2]] == EXPECTED
        c.remove(k2)
        # A documented difference: the official client keeps only the last result of each bin.
        assert c.operate(k2, theirs())[2] == {n: v[-1] for n, v in client.operate(KEY, _ours()).bins.items()}
    finally:
        c.close()
