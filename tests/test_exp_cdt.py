"""List, map, bit and HLL read expressions: wire form (trace and official-client golden bytes) and
evaluation by the embedded server (the same code as the read operations)."""

from __future__ import annotations

import pytest

import aerospike_py
from _clients import official_generous
from aerospike_py import bit_operations as bo
from aerospike_py import cdt_ctx as cc
from aerospike_py import exp as e
from aerospike_py import hll_operations as ho
from aerospike_py import list_operations as lo
from aerospike_py import map_operations as mo
from aerospike_py.exception import FilteredOut, InvalidArgError, ServerError
from aerospike_py.server import ops as server_ops

KEY = ("test", "tv", "exp-cdt")
L_VAL, L_IDX, L_RANK, L_CNT, L_EXISTS = (aerospike_py.LIST_RETURN_VALUE, aerospike_py.LIST_RETURN_INDEX,
                                         aerospike_py.LIST_RETURN_RANK, aerospike_py.LIST_RETURN_COUNT,
                                         aerospike_py.LIST_RETURN_EXISTS)
M_VAL, M_KEY, M_KV, M_CNT = (aerospike_py.MAP_RETURN_VALUE, aerospike_py.MAP_RETURN_KEY,
                             aerospike_py.MAP_RETURN_KEY_VALUE, aerospike_py.MAP_RETURN_COUNT)
BINS = {"l": [5, 1, 4, "a", 9], "m": {"a": 10, "b": 20, "c": 30, "n": {"x": [1, 2, 3]}}, "i": 1,
        "b": b"\xf0\x0f", "s": "str"}


@pytest.fixture
def rec(client):
    client.put(KEY, BINS)
    client.operate(KEY, [ho.hll_add("h", ["a", "b", "c"], 10), ho.hll_add("h2", ["c", "d"], 10)])
    return client


def value(client, x):
    """The value of expression ``x`` on the record (an expression read op)."""
    return client.operate(KEY, [e.exp_read("v", x)]).bins["v"]


def op_value(client, op):
    return client.operate(KEY, [op]).bins.get(op["bin"])


# --------------------------------------------------------------------------- wire form

# Field 43 bodies the official client sent in /work/shared/traces/official-exp.jsonl.
TRACE = [
    (e.ge(e.list_size(e.list_bin("l")), e.int_val(3)), "9304957f02009110935104a16c03"),
    (e.eq(e.map_get_by_key(M_VAL, e.EXP_TYPE_STRING, "k", e.map_bin("m")), e.string_val("v")),
     "9301957f0300936107a2036b935105a16da20376"),
]


@pytest.mark.parametrize("expr,hexed", TRACE)
def test_pack_matches_trace(expr, hexed):
    assert e._pack_filter(expr).hex() == hexed


def _official_pairs():  # noqa: PLR0915 - one line per builder
    import aerospike
    from aerospike_helpers import cdt_ctx as oc
    from aerospike_helpers import expressions as oe

    RT = oe.ResultType
    LB, MB, BB, HB = oe.ListBin("l"), oe.MapBin("m"), oe.BlobBin("b"), oe.HLLBin("h")
    lb, mb, bb, hb = e.list_bin("l"), e.map_bin("m"), e.blob_bin("b"), e.hll_bin("h")
    octx = [oc.cdt_ctx_map_key("x"), oc.cdt_ctx_list_rank(-1), oc.cdt_ctx_list_index(0)]
    ctx = [cc.cdt_ctx_map_key("x"), cc.cdt_ctx_list_rank(-1), cc.cdt_ctx_list_index(0)]
    A = aerospike
    return [
        (oe.ListSize(None, LB), e.list_size(lb)),
        (oe.ListSize(octx, LB), e.list_size("l", ctx=ctx)),
        (oe.ListGetByIndex(None, A.LIST_RETURN_VALUE, RT.INTEGER, 0, LB), e.list_get_by_index(L_VAL, e.EXP_TYPE_INT, 0, lb)),
        (oe.ListGetByIndex(None, A.LIST_RETURN_VALUE, RT.INTEGER, oe.IntBin("i"), "l"),
         e.list_get_by_index(L_VAL, e.EXP_TYPE_INT, e.int_bin("i"), "l")),
        (oe.ListGetByValueRange(None, A.LIST_RETURN_VALUE, 1, 3, LB), e.list_get_by_value_range(L_VAL, 1, 3, lb)),
        (oe.ListGetByValueRange(None, A.LIST_RETURN_COUNT, 1, None, LB, inverted=True),
         e.list_get_by_value_range(L_CNT, 1, None, lb, inverted=True)),
        (oe.ListGetByValueList(None, A.LIST_RETURN_INDEX, [1, "a"], LB), e.list_get_by_value_list(L_IDX, [1, "a"], lb)),
        (oe.ListGetByValue(None, A.LIST_RETURN_EXISTS, "a", LB), e.list_get_by_value(L_EXISTS, "a", lb)),
        (oe.ListGetByValue(None, A.LIST_RETURN_COUNT, [1, 2], LB), e.list_get_by_value(L_CNT, [1, 2], lb)),
        (oe.ListGetByIndexRangeToEnd(None, A.LIST_RETURN_VALUE, 1, LB), e.list_get_by_index_range_to_end(L_VAL, 1, lb)),
        (oe.ListGetByIndexRange(None, A.LIST_RETURN_RANK, 1, 2, LB), e.list_get_by_index_range(L_RANK, 1, 2, lb)),
        (oe.ListGetByRank(None, A.LIST_RETURN_VALUE, RT.STRING, -1, LB), e.list_get_by_rank(L_VAL, e.EXP_TYPE_STRING, -1, lb)),
        (oe.ListGetByRankRange(None, A.LIST_RETURN_VALUE, 0, 2, LB), e.list_get_by_rank_range(L_VAL, 0, 2, lb)),
        (oe.ListGetByRankRangeToEnd(None, A.LIST_RETURN_REVERSE_RANK, 0, LB),
         e.list_get_by_rank_range_to_end(aerospike_py.LIST_RETURN_REVERSE_RANK, 0, lb)),
        (oe.ListGetByValueRelRankRange(None, A.LIST_RETURN_VALUE, 3, 1, 2, LB),
         e.list_get_by_value_rel_rank_range(L_VAL, 3, 1, 2, lb)),
        (oe.ListGetByValueRelRankRangeToEnd(None, A.LIST_RETURN_VALUE, 3, 1, LB),
         e.list_get_by_value_rel_rank_range_to_end(L_VAL, 3, 1, lb)),
        (oe.MapSize(None, MB), e.map_size(mb)),
        (oe.MapGetByKey(None, A.MAP_RETURN_KEY_VALUE, RT.MAP, "k", MB), e.map_get_by_key(M_KV, e.EXP_TYPE_MAP, "k", mb)),
        (oe.MapGetByKeyRange(None, A.MAP_RETURN_KEY, "a", "m", MB), e.map_get_by_key_range(M_KEY, "a", "m", mb)),
        (oe.MapGetByKeyRange(None, A.MAP_RETURN_ORDERED_MAP, "a", "m", MB),
         e.map_get_by_key_range(mo.MAP_RETURN_ORDERED_MAP, "a", "m", mb)),
        (oe.MapGetByKeyRange(None, A.MAP_RETURN_KEY_VALUE, "a", "m", MB), e.map_get_by_key_range(M_KV, "a", "m", mb)),
        (oe.MapGetByKeyList(None, A.MAP_RETURN_VALUE, ["a", "b"], MB), e.map_get_by_key_list(M_VAL, ["a", "b"], mb)),
        (oe.MapGetByKeyRelIndexRange(None, A.MAP_RETURN_KEY, "b", 0, 2, MB),
         e.map_get_by_key_rel_index_range(M_KEY, "b", 0, 2, mb)),
        (oe.MapGetByKeyRelIndexRangeToEnd(None, A.MAP_RETURN_KEY, "b", 0, MB),
         e.map_get_by_key_rel_index_range_to_end(M_KEY, "b", 0, mb)),
        (oe.MapGetByValue(None, A.MAP_RETURN_KEY, 5, MB, inverted=True), e.map_get_by_value(M_KEY, 5, mb, inverted=True)),
        (oe.MapGetByValueRange(None, A.MAP_RETURN_COUNT, 1, 10, MB), e.map_get_by_value_range(M_CNT, 1, 10, mb)),
        (oe.MapGetByValueList(None, A.MAP_RETURN_KEY, [1, 5], MB), e.map_get_by_value_list(M_KEY, [1, 5], mb)),
        (oe.MapGetByValueRelRankRange(None, A.MAP_RETURN_KEY, 5, 0, 1, MB),
         e.map_get_by_value_rel_rank_range(M_KEY, 5, 0, 1, mb)),
        (oe.MapGetByValueRelRankRangeToEnd(None, A.MAP_RETURN_KEY, 5, 0, MB),
         e.map_get_by_value_rel_rank_range_to_end(M_KEY, 5, 0, mb)),
        (oe.MapGetByIndex(None, A.MAP_RETURN_VALUE, RT.INTEGER, 0, MB), e.map_get_by_index(M_VAL, e.EXP_TYPE_INT, 0, mb)),
        (oe.MapGetByIndexRange(None, A.MAP_RETURN_VALUE, 0, 2, MB), e.map_get_by_index_range(M_VAL, 0, 2, mb)),
        (oe.MapGetByIndexRangeToEnd(None, A.MAP_RETURN_VALUE, 0, MB), e.map_get_by_index_range_to_end(M_VAL, 0, mb)),
        (oe.MapGetByRank(None, A.MAP_RETURN_KEY, RT.STRING, 0, MB), e.map_get_by_rank(M_KEY, e.EXP_TYPE_STRING, 0, mb)),
        (oe.MapGetByRankRange(None, A.MAP_RETURN_KEY, 0, 2, MB), e.map_get_by_rank_range(M_KEY, 0, 2, mb)),
        (oe.MapGetByRankRangeToEnd(None, A.MAP_RETURN_KEY, 0, MB), e.map_get_by_rank_range_to_end(M_KEY, 0, mb)),
        (oe.MapGetByKey([oc.cdt_ctx_map_key("x"), oc.cdt_ctx_map_index(1)], A.MAP_RETURN_VALUE, RT.INTEGER, "k", MB),
         e.map_get_by_key(M_VAL, e.EXP_TYPE_INT, "k", mb, ctx=[cc.cdt_ctx_map_key("x"), cc.cdt_ctx_map_index(1)])),
        (oe.BitGet(0, 8, BB), e.bit_get(0, 8, bb)),
        (oe.BitCount(0, 16, BB), e.bit_count(0, 16, bb)),
        (oe.BitLeftScan(0, 16, True, BB), e.bit_lscan(0, 16, True, bb)),
        (oe.BitRightScan(0, 16, False, BB), e.bit_rscan(0, 16, False, bb)),
        (oe.BitGetInt(0, 8, True, BB), e.bit_get_int(0, 8, True, bb)),
        (oe.BitGetInt(oe.IntBin("i"), 8, False, BB), e.bit_get_int(e.int_bin("i"), 8, False, bb)),
        (oe.HLLGetCount(HB), e.hll_get_count(hb)),
        (oe.HLLGetUnion(oe.HLLBin("h2"), HB), e.hll_get_union(e.hll_bin("h2"), hb)),
        (oe.HLLGetUnionCount(oe.HLLBin("h2"), HB), e.hll_get_union_count(e.hll_bin("h2"), hb)),
        (oe.HLLGetIntersectCount(oe.HLLBin("h2"), HB), e.hll_get_intersect_count(e.hll_bin("h2"), hb)),
        (oe.HLLGetSimilarity(oe.HLLBin("h2"), HB), e.hll_get_similarity(e.hll_bin("h2"), hb)),
        (oe.HLLDescribe(HB), e.hll_describe(hb)),
        (oe.HLLMayContain(["a", 1], HB), e.hll_may_contain(["a", 1], hb)),
    ]


def test_golden_bytes_vs_official_client(server):
    aerospike = pytest.importorskip("aerospike")
    pairs = _official_pairs()
    captured: list[bytes] = []

    def capture(data, rec, ns, clock):
        captured.append(bytes(data))
        return True

    server_ops.FILTER_EVALUATOR.insert(0, capture)
    try:
        c = aerospike.client(official_generous({"hosts": [(server.host, server.port)]})).connect()
        try:
            c.put(("test", "g", "k"), {"a": 1})
            for official, ours in pairs:
                captured.clear()
                from aerospike_helpers import expressions as oe

                c.get(("test", "g", "k"), policy={"expressions": oe.Eq(official, official).compile()})
                assert captured and captured[0] == e._pack_filter(e.eq(ours, ours)), official
        finally:
            c.close()
    finally:
        server_ops.FILTER_EVALUATOR.remove(capture)
    assert len(pairs) >= 45


# --------------------------------------------------------------------------- evaluation

NCTX = [cc.cdt_ctx_map_key("n"), cc.cdt_ctx_map_key("x")]
T_INT, T_STR, T_LIST = e.EXP_TYPE_INT, e.EXP_TYPE_STRING, e.EXP_TYPE_LIST

#: (expression, the read operation computing the same thing, the expected value)
SAME_AS_OP = [
    (e.list_size("l"), lo.list_size("l"), 5),
    (e.list_get_by_index(L_VAL, T_INT, -1, "l"), lo.list_get_by_index("l", -1, L_VAL), 9),
    (e.list_get_by_rank(L_VAL, T_STR, -1, "l"), lo.list_get_by_rank("l", -1, L_VAL), "a"),
    (e.list_get_by_value(L_IDX, 4, "l"), lo.list_get_by_value("l", 4, L_IDX), [2]),
    (e.list_get_by_value(L_EXISTS, 7, "l"), lo.list_get_by_value("l", 7, L_EXISTS), False),
    (e.list_get_by_value_range(L_VAL, 4, 10, "l"), lo.list_get_by_value_range("l", 4, 10, L_VAL), [5, 4, 9]),
    (e.list_get_by_value_range(L_CNT, 4, 10, "l", inverted=True),
     lo.list_get_by_value_range("l", 4, 10, L_CNT | aerospike_py.LIST_RETURN_INVERTED
                                if hasattr(aerospike_py, "LIST_RETURN_INVERTED") else L_CNT | 0x10000), 2),
    (e.list_get_by_value_list(L_RANK, [1, "a"], "l"), lo.list_get_by_value_list("l", [1, "a"], L_RANK), [0, 4]),
    (e.list_get_by_index_range(L_VAL, 1, 2, "l"), lo.list_get_by_index_range("l", 1, L_VAL, 2), [1, 4]),
    (e.list_get_by_index_range_to_end(L_VAL, 3, "l"), lo.list_get_by_index_range("l", 3, L_VAL), ["a", 9]),
    (e.list_get_by_rank_range(L_VAL, 0, 2, "l"), lo.list_get_by_rank_range("l", 0, L_VAL, 2), [4, 1]),  # (from rank 0: largest first, as a real server)
    (e.list_get_by_rank_range_to_end(L_IDX, 3, "l"), lo.list_get_by_rank_range("l", 3, L_IDX), [3, 4]),  # (index order, as a real server)
    (e.list_get_by_value_rel_rank_range(L_VAL, 5, -1, 2, "l"),
     lo.list_get_by_value_rel_rank_range("l", 5, -1, L_VAL, 2), None),
    (e.list_get_by_value_rel_rank_range_to_end(L_VAL, 5, 1, "l"),
     lo.list_get_by_value_rel_rank_range("l", 5, 1, L_VAL), [9, "a"]),
    (e.map_size("m"), mo.map_size("m"), 4),
    (e.map_get_by_key(M_VAL, T_INT, "b", "m"), mo.map_get_by_key("m", "b", M_VAL), 20),
    (e.map_get_by_key_range(M_KEY, "a", "c", "m"), mo.map_get_by_key_range("m", "a", "c", M_KEY), ["a", "b"]),
    (e.map_get_by_key_list(M_VAL, ["c", "a", "zz"], "m"), mo.map_get_by_key_list("m", ["c", "a", "zz"], M_VAL), [10, 30]),
    (e.map_get_by_key_rel_index_range(M_KEY, "b", 1, 1, "m"),
     mo.map_get_by_key_rel_index_range("m", "b", 1, M_KEY, 1), ["c"]),
    (e.map_get_by_key_rel_index_range_to_end(M_KEY, "b", 0, "m"),
     mo.map_get_by_key_rel_index_range("m", "b", 0, M_KEY), ["b", "c", "n"]),
    (e.map_get_by_value(M_KEY, 20, "m"), mo.map_get_by_value("m", 20, M_KEY), ["b"]),
    (e.map_get_by_value_range(M_CNT, 15, 100, "m"), mo.map_get_by_value_range("m", 15, 100, M_CNT), 2),
    (e.map_get_by_value_list(M_KEY, [30, 10], "m"), mo.map_get_by_value_list("m", [30, 10], M_KEY), ["a", "c"]),
    (e.map_get_by_value_rel_rank_range(M_VAL, 20, 0, 2, "m"),
     mo.map_get_by_value_rel_rank_range("m", 20, 0, M_VAL, 2), [20, 30]),
    (e.map_get_by_value_rel_rank_range_to_end(M_KEY, 20, 1, "m"),
     mo.map_get_by_value_rel_rank_range("m", 20, 1, M_KEY), ["c", "n"]),
    (e.map_get_by_index(M_VAL, T_INT, 2, "m"), mo.map_get_by_index("m", 2, M_VAL), 30),
    (e.map_get_by_index_range(M_KEY, 1, 2, "m"), mo.map_get_by_index_range("m", 1, M_KEY, 2), ["b", "c"]),
    (e.map_get_by_index_range_to_end(M_CNT, 1, "m"), mo.map_get_by_index_range("m", 1, M_CNT), 3),
    (e.map_get_by_rank(M_KEY, T_STR, 0, "m"), mo.map_get_by_rank("m", 0, M_KEY), "a"),
    (e.map_get_by_rank_range(M_KEY, 1, 2, "m"), mo.map_get_by_rank_range("m", 1, M_KEY, 2), ["b", "c"]),
    (e.map_get_by_rank_range_to_end(M_VAL, 2, "m"), mo.map_get_by_rank_range("m", 2, M_VAL), [30, {"x": [1, 2, 3]}]),
    (e.map_get_by_key_range(M_KV, "a", "c", "m"), mo.map_get_by_key_range("m", "a", "c", M_KV), None),
    (e.list_size(e.map_bin("m"), ctx=NCTX), lo.list_size("m", ctx=NCTX), 3),
    (e.list_get_by_rank(L_VAL, T_INT, -1, e.map_bin("m"), ctx=NCTX),
     lo.list_get_by_rank("m", -1, L_VAL, ctx=NCTX), 3),
    (e.map_size("m", ctx=[cc.cdt_ctx_map_key("n")]), mo.map_size("m", ctx=[cc.cdt_ctx_map_key("n")]), 1),
    (e.bit_get(4, 8, "b"), bo.bit_get("b", 4, 8), b"\x00"),
    (e.bit_count(0, 16, "b"), bo.bit_count("b", 0, 16), 8),
    (e.bit_lscan(0, 16, False, "b"), bo.bit_lscan("b", 0, 16, False), 4),
    (e.bit_rscan(0, 16, True, "b"), bo.bit_rscan("b", 0, 16, True), 15),
    (e.bit_get_int(0, 8, True, "b"), bo.bit_get_int("b", 0, 8, True), -16),
    (e.bit_get_int(0, 8, False, "b"), bo.bit_get_int("b", 0, 8, False), 240),
    (e.hll_get_count("h"), ho.hll_get_count("h"), 3),
    (e.hll_describe("h"), ho.hll_describe("h"), [10, 0]),
]


@pytest.mark.parametrize("expr,op,expected", SAME_AS_OP, ids=[str(i) for i in range(len(SAME_AS_OP))])
def test_expression_equals_read_op(rec, expr, op, expected):
    got = value(rec, expr)
    via_op = op_value(rec, op)
    if op.get("return_type", 0) & 0xFF == aerospike_py.MAP_RETURN_KEY_VALUE and isinstance(via_op, list):
        via_op = dict(via_op)  # operate gives key/value results as (key, value) pairs, as the original
    assert got == via_op
    if expected is not None:
        assert got == expected


def test_hll_set_reads_with_other_hlls(rec):
    h2 = rec.get(KEY).bins["h2"]
    for build, op in ((e.hll_get_union_count, ho.hll_get_union_count), (e.hll_get_intersect_count,
                      ho.hll_get_intersect_count), (e.hll_get_similarity, ho.hll_get_similarity),
                      (e.hll_get_union, ho.hll_get_union)):
        assert value(rec, build([h2], "h")) == op_value(rec, op("h", [h2]))
    assert value(rec, e.hll_get_union_count([h2], "h")) == 4
    assert value(rec, e.hll_may_contain(["a", "b"], "h")) == 1
    assert value(rec, e.hll_may_contain(["a", "zzz-not-there"], "h")) == 0


def test_arguments_may_be_expressions(rec):
    # index from an int bin, value from a let variable, the list from a nested call
    assert value(rec, e.list_get_by_index(L_VAL, T_INT, e.int_bin("i"), "l")) == 1
    assert value(rec, e.let_(e.def_("v", e.int_val(9)), e.list_get_by_value(L_IDX, e.var("v"), "l"))) == [4]
    inner = e.map_get_by_key(M_VAL, T_LIST, "x", "m", ctx=[cc.cdt_ctx_map_key("n")])
    assert value(rec, e.list_size(inner)) == 3
    assert value(rec, e.list_get_by_value_range(L_CNT, 2, aerospike_py.INFINITY, e.list_val([1, 2, 3]))) == 2
    # nil is the lowest value: [2, nil) is empty, as on the real server
    assert value(rec, e.list_get_by_value_range(L_CNT, 2, None, e.list_val([1, 2, 3]))) == 0
    assert value(rec, e.bit_count(e.num_mul(e.int_bin("i"), e.int_val(8)), 8, "b")) == 4
    assert value(rec, e.list_get_by_value(L_CNT, [1, aerospike_py.WILDCARD], e.list_val([[1, 2], [1, 3], [2, 1]]))) == 2


def test_filters_with_collection_reads(rec):
    def passes(f) -> bool:
        try:
            rec.get(KEY, policy={"filter_expression": f})
            return True
        except FilteredOut:
            return False

    assert passes(e.ge(e.list_size("l"), e.int_val(5)))
    assert not passes(e.gt(e.list_size("l"), e.int_val(5)))
    assert passes(e.eq(e.map_get_by_key(M_VAL, T_INT, "a", "m"), e.int_val(10)))
    assert not passes(e.eq(e.map_get_by_key(M_VAL, T_INT, "a", "m"), e.int_val(11)))
    assert passes(e.list_get_by_value(L_EXISTS, "a", "l"))
    assert passes(e.eq(e.hll_get_count("h"), e.int_val(3)))
    # unknown: missing bin, bin of another type, missing context, out-of-range index
    assert not passes(e.eq(e.list_size("nope"), e.int_val(0)))
    assert not passes(e.eq(e.list_size("s"), e.int_val(3)))
    assert not passes(e.eq(e.list_size("m", ctx=[cc.cdt_ctx_map_key("missing")]), e.int_val(0)))
    assert not passes(e.eq(e.list_get_by_index(L_VAL, T_INT, 50, "l"), e.int_val(0)))
    assert passes(e.not_(e.eq(e.list_get_by_index(L_VAL, T_INT, 0, "l"), e.int_val(0))))


def test_unknown_result_in_exp_read_is_an_error_or_nil(rec):
    with pytest.raises(ServerError):
        value(rec, e.list_get_by_index(L_VAL, T_INT, 50, "l"))
    got = rec.operate(KEY, [e.exp_read("v", e.list_size("nope"), e.EXP_READ_EVAL_NO_FAIL)]).bins
    assert got.get("v") is None


def test_exp_write_of_a_collection_read(rec):
    rec.operate(KEY, [e.exp_write("top", e.list_get_by_rank_range(L_VAL, -2, 2, "l"))])
    assert rec.get(KEY).bins["top"] == [9, "a"]


def test_bad_input_raises_before_sending():
    with pytest.raises(InvalidArgError):
        e.list_get_by_index(99, T_INT, 0, "l")
    with pytest.raises(InvalidArgError):
        e.list_get_by_value(aerospike_py.LIST_RETURN_NONE, 1, "l")
    with pytest.raises(InvalidArgError):
        e.map_get_by_key(M_KEY, 42, "k", "m")
    with pytest.raises(InvalidArgError):
        e.list_size(3)
    with pytest.raises(InvalidArgError):
        e.list_size("l", ctx=[("not", "a ctx")])
    with pytest.raises(InvalidArgError):
        e.bit_get_int(0, 8, 1, "b")
    with pytest.raises(InvalidArgError):
        e.list_get_by_value(L_IDX, object(), "l")
    with pytest.raises(InvalidArgError):
        e._pack_filter(e.list_size("a-bin-name-longer-than-15"))


def test_ill_typed_calls_are_parameter_errors(rec):
    with pytest.raises(ServerError) as ei:
        value(rec, e.eq(e.list_size("l"), e.string_val("x")))  # an int compared with a string
    assert ei.value.code == 4
    with pytest.raises(ServerError) as ei:
        value(rec, e.list_size(e.int_bin("i")))  # an int is no list
    assert ei.value.code == 4
    modify = {"__expr__": "call", "exp_type": T_INT, "module": 0x40, "op": 1, "args": [e.int_val(1)],
              "ctx": None, "bin": e.list_bin("l")}
    with pytest.raises(ServerError) as ei:
        value(rec, modify)
    assert ei.value.code == 4


def test_wildcard_and_infinity_in_ops_and_expressions(rec):
    """Aerospike's ext type -1 (wildcard/infinity) is decoded by the server in both paths."""
    rec.put(KEY, {"p": [[1, "x"], [1, "y"], [2, "x"]]})
    pattern = [1, aerospike_py.WILDCARD]
    assert op_value(rec, lo.list_get_by_value("p", pattern, L_CNT)) == 2
    assert value(rec, e.list_get_by_value(L_CNT, pattern, "p")) == 2
    assert op_value(rec, lo.list_get_by_value_range("p", [1], aerospike_py.INFINITY, L_IDX)) == [0, 1, 2]
    assert value(rec, e.list_get_by_value_range(L_IDX, [2], aerospike_py.INFINITY, "p")) == [2]
