"""Expressions: builders, wire form (trace and official-client golden bytes), server evaluation,
filters on every single-record command, expression operations, and errors."""

from __future__ import annotations

import math

import pytest

import aerospike_py
from _clients import official_generous
from _paths import REFERENCE
from aerospike_py import exp as e
from aerospike_py.exception import FilteredOut, InvalidArgError, ServerError
from aerospike_py.server import ops as server_ops

KEY = ("test", "tv", "tv-exp-1")
BINS = {"i": 10, "s": "apple", "f": 1.5, "l": [1, 2, 3], "m": {"k": "v", "n": 5}, "b": b"\x01\x02",
        "t": True, "neg": -7}
POLY = '{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]}'


@pytest.fixture
def rec(client):
    client.put(KEY, BINS, meta={"ttl": 1000}, policy={"key": aerospike_py.POLICY_KEY_SEND})
    return client


def passes(client, f) -> bool:
    try:
        client.get(KEY, policy={"filter_expression": f})
        return True
    except FilteredOut:
        return False


def value(client, x):
    return client.operate(KEY, [e.exp_read("v", x)]).bins["v"]


# --------------------------------------------------------------------------- wire form

# Field 43 bodies sent by the official client in /work/shared/traces/official-exp.jsonl.
TRACE = [
    (e.eq(e.int_bin("i"), e.int_val(10)), "9301935102a1690a"),
    (e.gt(e.string_bin("s"), e.string_val("b")), "9303935103a173a20362"),
    (e.lt(e.float_bin("f"), e.float_val(2.0)), "9305935107a166cb4000000000000000"),
    (e.and_(e.ge(e.int_bin("i"), e.int_val(5)), e.lt(e.int_bin("i"), e.int_val(15))),
     "93109304935102a169059305935102a1690f"),
    (e.not_(e.eq(e.int_bin("i"), e.int_val(20))), "92129301935102a16914"),
    (e.eq(e.num_mod(e.int_bin("i"), e.int_val(3)), e.int_val(1)), "9301931a935102a1690301"),
    (e.regex_compare("^APP", aerospike_py.REGEX_ICASE, e.string_bin("s")), "940702a45e415050935103a173"),
    (e.bin_exists("l"), "93029252a16c00"),
    (e.gt(e.ttl(), e.int_val(500)), "93039145cd01f4"),
    (e.gt(e.last_update(), e.int_val(1700000000000000000)), "93039142cf17979cfe362a0000"),
    (e.lt(e.since_update(), e.int_val(600000)), "93059143ce000927c0"),
    (e.gt(e.num_mul(e.int_bin("i"), e.int_val(2)), e.num_sub(e.int_val(100), e.int_val(70))),
     "93039316935102a1690293156446"),
]


@pytest.mark.parametrize("expr,hexed", TRACE)
def test_pack_matches_trace(expr, hexed):
    assert e._pack_filter(expr).hex() == hexed


def test_exp_ops_match_trace():
    from aerospike_py._commands.ops import encode_ops

    ops = encode_ops([e.exp_read("calc", e.num_add(e.int_bin("i"), e.int_val(100))),
                      e.exp_write("dbl", e.num_mul(e.int_bin("i"), e.int_val(2)))])
    assert ops[0].data.hex() == "000000120704000463616c63929314935102a1696400"
    assert ops[1].data.hex() == "000000110804000364626c929316935102a1690200"
    assert all(o.respond_all for o in ops)


def _official_pairs():
    from aerospike_helpers import expressions as oe

    geo = '{"type": "Point", "coordinates": [1.0, 2.0]}'
    return [
        (oe.Eq(oe.BlobBin("b"), b"ab"), e.eq(e.blob_bin("b"), e.blob_val(b"ab"))),
        (oe.Eq(oe.ListBin("l"), [1, "a", b"x"]), e.eq(e.list_bin("l"), e.list_val([1, "a", b"x"]))),
        (oe.Eq(oe.MapBin("m"), {"a": 1}), e.eq(e.map_bin("m"), e.map_val({"a": 1}))),
        (oe.CmpGeo(oe.GeoBin("g"), aerospike_geo(geo)), e.geo_compare(e.geo_bin("g"), e.geo_val(geo))),
        (oe.Eq(oe.BoolBin("t"), True), e.eq(e.bool_bin("t"), e.bool_val(True))),
        (oe.Let(oe.Def("x", 1), oe.Def("y", 2), oe.Eq(oe.Var("x"), oe.Var("y"))),
         e.let_(e.def_("x", e.int_val(1)), e.def_("y", e.int_val(2)), e.eq(e.var("x"), e.var("y")))),
        (oe.Eq(oe.KeyStr(), "a"), e.eq(e.key(e.EXP_TYPE_STRING), e.string_val("a"))),
        (oe.And(oe.Eq(oe.DigestMod(3), 1), oe.KeyExists(), oe.Eq(oe.SetName(), "g"), oe.Not(oe.IsTombstone()),
                oe.GT(oe.RecordSize(), 1), oe.GT(oe.VoidTime(), 0)),
         e.and_(e.eq(e.digest_modulo(3), e.int_val(1)), e.key_exists(), e.eq(e.set_name(), e.string_val("g")),
                e.not_(e.is_tombstone()), e.gt(e.record_size(), e.int_val(1)), e.gt(e.void_time(), e.int_val(0)))),
        (oe.Eq(oe.BinType("a"), 1), e.eq(e.bin_type("a"), e.int_val(1))),
        (oe.Exclusive(oe.Eq(oe.IntBin("a"), 1), oe.Eq(oe.IntBin("b"), 2)),
         e.xor_(e.eq(e.int_bin("a"), e.int_val(1)), e.eq(e.int_bin("b"), e.int_val(2)))),
        (oe.Eq(oe.Pow(oe.FloatBin("f"), 2.0), oe.Log(oe.FloatBin("f"), 2.0)),
         e.eq(e.num_pow(e.float_bin("f"), e.float_val(2.0)), e.num_log(e.float_bin("f"), e.float_val(2.0)))),
        (oe.Eq(oe.Min(oe.IntBin("a"), 1, 2), oe.Max(oe.ToInt(oe.FloatBin("f")), oe.IntCount(oe.IntBin("a")))),
         e.eq(e.min_(e.int_bin("a"), e.int_val(1), e.int_val(2)),
              e.max_(e.to_int(e.float_bin("f")), e.int_count(e.int_bin("a"))))),
        (oe.Eq(oe.Cond(oe.Eq(oe.IntBin("a"), 1), "x", "y"), "x"),
         e.eq(e.cond(e.eq(e.int_bin("a"), e.int_val(1)), e.string_val("x"), e.string_val("y")), e.string_val("x"))),
        (oe.Eq(oe.IntLeftScan(oe.IntBin("a"), True), oe.IntRightScan(oe.IntBin("a"), False)),
         e.eq(e.int_lscan(e.int_bin("a"), e.bool_val(True)), e.int_rscan(e.int_bin("a"), e.bool_val(False)))),
        (oe.Eq(oe.IntArithmeticRightShift(oe.IntNot(oe.IntBin("a")), 1), oe.IntXOr(1, 2)),
         e.eq(e.int_arshift(e.int_not(e.int_bin("a")), e.int_val(1)), e.int_xor(e.int_val(1), e.int_val(2)))),
        (oe.Eq(oe.IntBin("a"), -(2**63)), e.eq(e.int_bin("a"), e.int_val(-(2**63)))),
        (oe.Eq(oe.ToFloat(oe.IntBin("a")), oe.Ceil(oe.Floor(oe.FloatBin("f")))),
         e.eq(e.to_float(e.int_bin("a")), e.num_ceil(e.num_floor(e.float_bin("f"))))),
        (oe.Eq(oe.KeyBlob(), b"x"), e.eq(e.key(e.EXP_TYPE_BLOB), e.blob_val(b"x"))),
    ]


def aerospike_geo(text: str):
    import json

    import aerospike

    return aerospike.GeoJSON(json.loads(text))


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
                c.get(("test", "g", "k"), policy={"expressions": official.compile()})
                assert captured and captured[0] == e._pack_filter(ours), official
        finally:
            c.close()
    finally:
        server_ops.FILTER_EVALUATOR.remove(capture)
    assert len(pairs) >= 12


# --------------------------------------------------------------------------- builders on the server

I, S, F = e.int_bin("i"), e.string_bin("s"), e.float_bin("f")  # noqa: E741
iv, fv, sv = e.int_val, e.float_val, e.string_val

# (filter, expected pass) — a positive and a negative case per builder.
FILTERS = [
    (e.eq(I, iv(10)), True), (e.eq(I, iv(11)), False),
    (e.ne(I, iv(3)), True), (e.ne(I, iv(10)), False),
    (e.gt(S, sv("b")), False), (e.gt(S, sv("a")), True),
    (e.ge(F, fv(1.5)), True), (e.ge(F, fv(1.6)), False),
    (e.lt(F, fv(2.0)), True), (e.lt(I, iv(10)), False),
    (e.le(I, iv(10)), True), (e.le(I, iv(9)), False),
    (e.eq(e.blob_bin("b"), e.blob_val(b"\x01\x02")), True), (e.eq(e.blob_bin("b"), e.blob_val(b"")), False),
    (e.eq(e.bool_bin("t"), e.bool_val(True)), True), (e.eq(e.bool_bin("t"), e.bool_val(False)), False),
    (e.eq(e.list_bin("l"), e.list_val([1, 2, 3])), True), (e.eq(e.list_bin("l"), e.list_val([1, 2])), False),
    (e.eq(e.map_bin("m"), e.map_val({"k": "v", "n": 5})), True), (e.eq(e.map_bin("m"), e.map_val({})), False),
    (e.bin_exists("l"), True), (e.bin_exists("nope"), False),
    (e.eq(e.bin_type("s"), iv(3)), True), (e.eq(e.bin_type("nope"), iv(0)), True),
    (e.eq(e.key(e.EXP_TYPE_STRING), sv("tv-exp-1")), True), (e.eq(e.key(e.EXP_TYPE_INT), iv(1)), False),
    (e.key_exists(), True), (e.not_(e.key_exists()), False),
    (e.eq(e.set_name(), sv("tv")), True), (e.eq(e.set_name(), sv("x")), False),
    (e.gt(e.record_size(), iv(10)), True), (e.lt(e.record_size(), iv(0)), False),
    (e.le(e.ttl(), iv(1000)), True), (e.eq(e.ttl(), iv(-1)), False),
    (e.gt(e.void_time(), iv(1_262_304_000 * 10**9)), True), (e.eq(e.void_time(), iv(-1)), False),
    (e.gt(e.last_update(), iv(1_600_000_000 * 10**9)), True), (e.lt(e.last_update(), iv(0)), False),
    (e.lt(e.since_update(), iv(60_000)), True), (e.gt(e.since_update(), iv(60_000)), False),
    (e.not_(e.is_tombstone()), True), (e.is_tombstone(), False),
    (e.lt(e.digest_modulo(3), iv(3)), True), (e.ge(e.digest_modulo(3), iv(3)), False),
    (e.and_(e.eq(I, iv(10)), e.eq(S, sv("apple"))), True), (e.and_(e.eq(I, iv(10)), e.eq(S, sv("x"))), False),
    (e.or_(e.eq(I, iv(1)), e.eq(S, sv("apple"))), True), (e.or_(e.eq(I, iv(1)), e.eq(S, sv("x"))), False),
    (e.xor_(e.eq(I, iv(10)), e.eq(S, sv("x"))), True), (e.xor_(e.eq(I, iv(10)), e.eq(S, sv("apple"))), False),
    (e.regex_compare("^APP", aerospike_py.REGEX_ICASE, S), True), (e.regex_compare("^APP", 0, S), False),
    (e.regex_compare("p+l", aerospike_py.REGEX_EXTENDED, S), True), (e.regex_compare("p+l", 0, S), False),
    (e.regex_compare("[[:digit:]]", aerospike_py.REGEX_NONE, S), False),
    (e.geo_compare(e.geo_val('{"type":"Point","coordinates":[5,5]}'), e.geo_val(POLY)), True),
    (e.geo_compare(e.geo_val('{"type":"Point","coordinates":[15,5]}'), e.geo_val(POLY)), False),
    (e.geo_compare(e.geo_val('{"type":"Point","coordinates":[0.001,0]}'),
                   e.geo_val('{"type":"AeroCircle","coordinates":[[0,0],200]}')), True),
    (e.eq(e.cond(e.gt(I, iv(5)), sv("big"), sv("small")), sv("big")), True),
    (e.eq(e.cond(e.gt(I, iv(50)), sv("big"), sv("small")), sv("big")), False),
    (e.let_(e.def_("x", e.num_add(I, iv(1))), e.eq(e.var("x"), iv(11))), True),
    (e.let_(e.def_("x", I), e.def_("y", e.num_mul(e.var("x"), iv(2))), e.eq(e.var("y"), iv(21))), False),
    # Typing at run time: a bin of another type or missing is unknown -> filtered out.
    (e.eq(e.int_bin("s"), iv(1)), False), (e.ne(e.int_bin("nope"), iv(1)), False),
    (e.not_(e.eq(e.int_bin("nope"), iv(1))), False),
    (e.or_(e.eq(e.int_bin("nope"), iv(1)), e.eq(I, iv(10))), True),
    (e.and_(e.eq(e.int_bin("nope"), iv(1)), e.eq(I, iv(11))), False),
]


@pytest.mark.parametrize("f,expected", FILTERS)
def test_filter_builders(rec, f, expected):
    assert passes(rec, f) is expected


VALUES = [
    (e.num_add(I, iv(5)), 15), (e.num_add(F, fv(1.0)), 2.5), (e.num_sub(I), -10), (e.num_sub(I, iv(3), iv(4)), 3),
    (e.num_mul(I, iv(3)), 30), (e.num_div(e.int_bin("neg"), iv(2)), -3), (e.num_div(F, fv(0.5)), 3.0),
    (e.num_mod(e.int_bin("neg"), iv(3)), -1), (e.num_pow(F, fv(2.0)), 2.25), (e.num_log(fv(8.0), fv(2.0)), 3.0),
    (e.num_abs(e.int_bin("neg")), 7), (e.num_floor(F), 1.0), (e.num_ceil(F), 2.0), (e.to_int(fv(-2.7)), -2),
    (e.to_float(I), 10.0), (e.min_(I, iv(3), iv(20)), 3), (e.max_(F, fv(0.5)), 1.5),
    (e.int_and(I, iv(6)), 2), (e.int_or(I, iv(5)), 15), (e.int_xor(I, iv(3)), 9), (e.int_not(I), -11),
    (e.int_lshift(I, iv(2)), 40), (e.int_rshift(iv(-1), iv(60)), 15), (e.int_arshift(iv(-16), iv(2)), -4),
    (e.int_count(iv(-1)), 64), (e.int_lscan(iv(1), e.bool_val(True)), 63), (e.int_rscan(iv(6), e.bool_val(True)), 62),
    (e.int_lscan(iv(0), e.bool_val(True)), -1), (e.bin_type("l"), 20), (e.set_name(), "tv"),
    (e.list_val([1, "a"]), [1, "a"]), (e.map_val({"x": 1}), {"x": 1}), (e.blob_val(b"z"), b"z"),
    (e.bool_val(False), False), (e.num_add(iv(2**63 - 1), iv(1)), -(2**63)),
    (e.cond(e.eq(I, iv(1)), iv(1), e.eq(I, iv(10)), iv(2), iv(3)), 2),
]


@pytest.mark.parametrize("x,expected", VALUES)
def test_value_builders(rec, x, expected):
    got = value(rec, x)
    assert got == expected and type(got) is type(expected)


def test_ttl_and_void_time_track_the_clock(rec, server):
    server.clock.advance(100)
    try:
        assert 895 <= value(rec, e.ttl()) <= 900
        vt = value(rec, e.void_time())
        assert abs(vt / 1e9 - (server.clock.time() + 900)) < 5
        assert value(rec, e.since_update()) >= 100_000
    finally:
        server.clock.advance(-100)  # the session server's clock is shared by later tests


def test_digest_modulo_is_stable(rec):
    d = rec.get(KEY).key.digest
    assert value(rec, e.digest_modulo(7)) == int.from_bytes(d[16:20], "little") % 7


# --------------------------------------------------------------------------- every command filters


def test_filter_on_every_single_record_command(rec):
    no = {"filter_expression": e.eq(I, iv(0))}
    yes = {"filter_expression": e.eq(I, iv(10))}
    for call in (lambda p: rec.get(KEY, policy=p), lambda p: rec.select(KEY, ["i"], policy=p),
                 lambda p: rec.exists(KEY, policy=p), lambda p: rec.put(KEY, {"w": 1}, policy=p),
                 lambda p: rec.touch(KEY, policy=p), lambda p: rec.operate(KEY, [{"op": 1, "bin": "i"}], policy=p),
                 lambda p: rec.remove(KEY, policy=p)):
        with pytest.raises(FilteredOut) as ei:
            call(no)
        assert ei.value.code == 27
    assert rec.get(KEY).meta.gen == 1  # nothing was written
    rec.put(KEY, {"w": 1}, policy=yes)
    assert rec.select(KEY, ["w"], policy=yes).bins == {"w": 1}
    rec.remove(KEY, policy=yes)
    with pytest.raises(aerospike_py.exception.RecordNotFound):
        rec.get(KEY)


# --------------------------------------------------------------------------- expression operations


def test_exp_write_and_read(rec):
    r = rec.operate(KEY, [e.exp_write("dbl", e.num_mul(I, iv(2))), {"op": aerospike_py.OPERATOR_READ, "bin": "dbl"}])
    assert r.bins["dbl"] == 20
    r = rec.operate_ordered(KEY, [e.exp_read("calc", e.num_add(I, iv(100))), e.exp_write("dbl", iv(1)),
                                  {"op": aerospike_py.OPERATOR_READ, "bin": "dbl"}])
    assert [tuple(b) for b in r.ordered_bins] == [("calc", 110), ("dbl", None), ("dbl", 1)]


def test_exp_write_flags(rec):
    with pytest.raises(aerospike_py.exception.BinExistsError):
        rec.operate(KEY, [e.exp_write("i", iv(1), e.EXP_WRITE_CREATE_ONLY)])
    rec.operate(KEY, [e.exp_write("i", iv(1), e.EXP_WRITE_CREATE_ONLY | e.EXP_WRITE_POLICY_NO_FAIL)])
    with pytest.raises(aerospike_py.exception.BinNotFound):
        rec.operate(KEY, [e.exp_write("zz", iv(1), e.EXP_WRITE_UPDATE_ONLY)])
    with pytest.raises(ServerError) as ei:
        rec.operate(KEY, [e.exp_write("s", e.nil())])
    assert ei.value.code == 26
    rec.operate(KEY, [e.exp_write("s", e.nil(), e.EXP_WRITE_ALLOW_DELETE)])
    with pytest.raises(ServerError) as ei:
        rec.operate(KEY, [e.exp_write("x", e.int_bin("nope"))])
    assert ei.value.code == 26
    rec.operate(KEY, [e.exp_write("x", e.int_bin("nope"), e.EXP_WRITE_EVAL_NO_FAIL)])
    bins = rec.get(KEY).bins
    assert bins["i"] == 10 and "s" not in bins and "x" not in bins and "zz" not in bins


def test_exp_read_unknown(rec):
    with pytest.raises(ServerError) as ei:
        value(rec, e.int_bin("s"))
    assert ei.value.code == 26
    r = rec.operate(KEY, [e.exp_read("v", e.int_bin("s"), e.EXP_READ_EVAL_NO_FAIL)])
    assert r.bins.get("v") is None


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("bad", [
    e.eq(I, sv("x")),  # int compared with a string
    e.eq(I, fv(10.0)),  # int vs float: no implicit conversion
    e.num_add(I, fv(1.0)),
    e.and_(I, e.bool_val(True)),
    e.regex_compare("a(", aerospike_py.REGEX_EXTENDED, S),  # does not compile
    e.regex_compare("x", 0, I),
    e.num_pow(I, iv(2)),
    e.int_bin("i"),  # a filter must be boolean
    e.cond(e.bool_val(True), iv(1), sv("x")),
    e.geo_compare(e.geo_bin("g"), e.geo_val("not json")),
])
def test_ill_typed_expressions_answer_parameter_error(rec, bad):
    with pytest.raises(ServerError) as ei:
        rec.get(KEY, policy={"filter_expression": bad})
    assert ei.value.code == 4


def test_undefined_variable_is_a_parameter_error(rec):
    with pytest.raises(ServerError) as ei:
        rec.get(KEY, policy={"filter_expression": e.eq(e.var("nope"), iv(1))})
    assert ei.value.code == 4


@pytest.mark.parametrize("bad", [
    {"__expr__": "bogus"},
    {"op": "eq"},
    "eq",
    e.eq(I, e.int_val("10")),
    e.int_val(2**64),
    e.eq(e.int_bin("x" * 16), iv(1)),
    e.and_(e.bool_val(True)),
    e.num_mod(I, iv(1)) | {"exprs": [I]},
    e.cond(e.bool_val(True), iv(1)),
    e.key(e.EXP_TYPE_LIST),
    e.digest_modulo(0),
    e.regex_compare(b"x", 0, S),
    e.let_(iv(1), iv(2)),
    e.def_("x", iv(1)),
    e.list_val([object()]),
    e.string_val(b"x"),
])
def test_bad_input_raises_before_sending(rec, server, bad):
    with pytest.raises(InvalidArgError):
        rec.get(KEY, policy={"filter_expression": bad})
    with pytest.raises(InvalidArgError):
        e._pack_filter(bad)


def test_bad_exp_op_arguments(rec):
    with pytest.raises(InvalidArgError):
        rec.operate(KEY, [e.exp_read("v", I, flags=1)])
    with pytest.raises(InvalidArgError):
        rec.operate(KEY, [e.exp_write("v", I, flags=64)])
    with pytest.raises(InvalidArgError):
        rec.operate(KEY, [{"op": e._OP_EXP_READ, "bin": "v"}])


def test_constants_and_node_shape():
    assert (e.EXP_TYPE_NIL, e.EXP_TYPE_BOOL, e.EXP_TYPE_INT, e.EXP_TYPE_STRING, e.EXP_TYPE_LIST, e.EXP_TYPE_MAP,
            e.EXP_TYPE_BLOB, e.EXP_TYPE_FLOAT, e.EXP_TYPE_GEO, e.EXP_TYPE_HLL) == tuple(range(10))
    assert e.eq(e.int_bin("a"), e.int_val(1)) == {
        "__expr__": "eq", "left": {"__expr__": "int_bin", "name": "a"}, "right": {"__expr__": "int_val", "val": 1}}
    assert e.and_(e.nil()) == {"__expr__": "and", "exprs": [{"__expr__": "nil"}]}
    assert math.isclose(value_of_pack(e.float_val(0.5)), 0.5)


def value_of_pack(x):
    import msgpack

    return msgpack.unpackb(e._pack_filter(x))


def test_api_surface_matches_reference():
    import re

    ref = (REFERENCE / "api-signatures.txt")
    if not ref.exists():
        pytest.skip("reference not available")
    text = ref.read_text().split("## module aerospike_py.exp", 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"^(\w+)[ (]", text, re.M)
    assert len(names) >= 80
    for n in names:
        assert hasattr(e, n), n
