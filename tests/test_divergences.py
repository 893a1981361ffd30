"""Regression tests for divergences the differential harness found (tests/_diffharness.py).

Each test pins what a real Aerospike 8.1 server answers; they run against the embedded server
only, so CI keeps them without a real server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import aerospike_py
from aerospike_py import cdt_ctx as X
from aerospike_py import exp as E
from aerospike_py import list_operations as L
from aerospike_py import map_operations as M
from aerospike_py import predicates as P
from aerospike_py.exception import (
    BinTypeError,
    RecordGenerationError,
    RecordNotFound,
    ServerError,
)

INV = L.LIST_RETURN_INVERTED


def key(k: Any) -> tuple:
    return ("test", "divergences", k)


def code(exc: pytest.ExceptionInfo) -> int:
    return exc.value.code


# --------------------------------------------------------------------------- records


def test_write_leaving_no_bins_on_missing_record_is_not_found(client: Any) -> None:
    with pytest.raises(RecordNotFound):
        client.remove_bin(key("nb"), ["a"])
    with pytest.raises(RecordNotFound):
        client.operate(key("nb"), [L.list_pop_range("l", 0, 1)])
    assert client.exists(key("nb")).meta is None


def test_generation_of_a_missing_record_is_zero(client: Any) -> None:
    with pytest.raises(RecordGenerationError):
        client.operate(key("g"), [L.list_append("l", 1)], meta={"gen": 2})


def test_replace_with_modify_op_or_bin_delete_is_parameter_error(client: Any) -> None:
    replace = {"exists": aerospike_py.POLICY_EXISTS_REPLACE_ONLY}
    with pytest.raises(ServerError) as e:  # before the record is looked up (it does not exist)
        client.increment(key("r"), "i", 1, policy=replace)
    assert code(e) == 4
    with pytest.raises(ServerError) as e:
        client.put(key("r"), {"i": None}, policy={"exists": aerospike_py.POLICY_EXISTS_REPLACE})
    assert code(e) == 4


def test_create_only_is_checked_before_the_filter(client: Any) -> None:
    client.put(key("c"), {"a": 1})
    with pytest.raises(aerospike_py.exception.RecordExistsError):
        client.put(key("c"), {"a": 2}, policy={"exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY,
                                               "filter_expression": E.eq(E.int_bin("a"), E.int_val(9))})


def test_deleted_bin_takes_the_last_bins_place(client: Any) -> None:
    client.put(key("o"), {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    client.put(key("o"), {"b": None, "a": None})
    assert list(client.get(key("o")).bins) == ["d", "e", "c"]


def test_touch_answers_no_entry_in_respond_all_replies(client: Any) -> None:
    client.put(key("t"), {"m": {1: 2}})
    res = client.operate_ordered(key("t"), [{"op": aerospike_py.OPERATOR_TOUCH}, M.map_get_by_key("m", 1, 7),
                                            {"op": aerospike_py.OPERATOR_WRITE, "bin": "z", "val": 1}, M.map_size("m")])
    assert [tuple(b) for b in res.ordered_bins] == [("m", 2), ("m", 1)]


def test_batch_write_errors_do_not_end_the_batch(client: Any) -> None:
    res = client.batch_write([(key("b1"), {"i": 1}, {"gen": 9}), (key("b2"), {"i": 1})],
                             policy={"respond_all_keys": False})
    assert [r.result for r in res.batch_records] == [3, 0]


# --------------------------------------------------------------------------- collections


def test_list_read_of_missing_bin_answers_nothing_map_read_nil(client: Any) -> None:
    client.put(key("m"), {"a": 1})
    assert client.operate(key("m"), [L.list_get_by_value("x", 1, aerospike_py.LIST_RETURN_VALUE)]).bins == {}
    assert client.operate(key("m"), [M.map_get_by_key("x", 1, aerospike_py.MAP_RETURN_VALUE)]).bins == {"x": None}


def test_list_read_returning_none_answers_nothing(client: Any) -> None:
    client.put(key("n"), {"l": [1, 2]})
    assert client.operate(key("n"), [L.list_get_by_index_range("l", 1, aerospike_py.LIST_RETURN_NONE, 1)]).bins == {}


def test_sort_of_missing_bin_is_incompatible(client: Any) -> None:
    client.put(key("s"), {"a": 1})
    with pytest.raises(BinTypeError):
        client.operate(key("s"), [L.list_sort("l")])


def test_context_of_the_wrong_collection_type_is_not_applicable(client: Any) -> None:
    client.put(key("x"), {"l": [1, 2], "m": {1: 2}, "b": b"ab"})
    for ops in ([L.list_size("l", ctx=[X.cdt_ctx_map_key(1)])], [M.map_size("m", ctx=[X.cdt_ctx_list_index(0)])]):
        with pytest.raises(ServerError) as e:
            client.operate(key("x"), ops)
        assert code(e) == 26
    with pytest.raises(ServerError) as e:  # a context into a bin that is not a collection
        client.operate(key("x"), [L.list_size("b", ctx=[X.cdt_ctx_list_index(0)])])
    assert code(e) == 4


def test_non_creating_op_with_create_context_on_missing_bin_is_a_no_op(client: Any) -> None:
    with pytest.raises(RecordNotFound):
        client.operate(key("nc"), [L.list_clear("l", ctx=[X.cdt_ctx_map_key_create("a", 1)])])
    with pytest.raises(ServerError) as e:  # no create flag: the context cannot be followed
        client.operate(key("nc"), [L.list_clear("l", ctx=[X.cdt_ctx_map_key("a")])])
    assert code(e) == 26


def test_ordered_list_create_context_ignores_the_index(client: Any) -> None:
    client.put(key("oc"), {"a": 1})
    ctx = [X.cdt_ctx_list_index_create(2, aerospike_py.LIST_ORDERED)]
    assert client.operate(key("oc"), [M.map_increment("l", "k", 3, ctx=ctx)]).bins == {"l": 3}
    assert client.get(key("oc")).bins["l"] == [{"k": 3}]
    with pytest.raises(ServerError) as e:  # unordered, no pad: out of bounds
        client.operate(key("oc"), [M.map_increment("u", "k", 3, ctx=[X.cdt_ctx_list_index_create(2)])])
    assert code(e) == 26


def test_inverted_single_element_selection_is_not_applicable(client: Any) -> None:
    client.put(key("i"), {"l": [1, 2, 3], "m": {1: 2, 3: 4}})
    for op in (L.list_get_by_index("l", 1, 7 | INV), M.map_get_by_key("m", 1, 7 | INV),
               M.map_remove_by_index("m", 0, 7 | INV)):
        with pytest.raises(ServerError) as e:
            client.operate(key("i"), [op])
        assert code(e) == 26
    assert client.operate(key("i"), [L.list_get_by_value("l", 1, 7 | INV)]).bins == {"l": [2, 3]}


def test_insert_of_no_items_checks_no_index(client: Any) -> None:
    assert client.operate(key("e"), [L.list_insert_items("l", -2, [])]).bins == {"l": 0}


# --------------------------------------------------------------------------- expressions and bits


def test_expression_collection_read_selecting_nothing_is_unknown(client: Any) -> None:
    client.put(key("u"), {"m": {5: 1}})
    missing = E.map_get_by_key(aerospike_py.MAP_RETURN_VALUE, E.EXP_TYPE_INT, 3, E.map_bin("m"))
    with pytest.raises(ServerError) as e:
        client.operate(key("u"), [E.exp_write("e", missing, E.EXP_WRITE_ALLOW_DELETE)])
    assert code(e) == 26
    with pytest.raises(aerospike_py.exception.FilteredOut):
        client.get(key("u"), policy={"filter_expression": E.le(missing, missing)})


def test_variable_defined_twice_is_parameter_error(client: Any) -> None:
    client.put(key("v"), {"i": 2})
    inner = E.let_(E.def_("x", E.int_bin("i")), E.var("x"))
    with pytest.raises(ServerError) as e:
        client.operate(key("v"), [E.exp_read("r", E.let_(E.def_("x", inner), E.var("x")))])
    assert code(e) == 4


def test_bit_read_of_missing_bin_is_nil_whatever_the_arguments(client: Any) -> None:
    client.put(key("bt"), {"a": 1})
    from aerospike_py import bit_operations as B

    assert client.operate(key("bt"), [B.bit_get_int("x", 0, 65, False)]).bins == {"x": None}


# --------------------------------------------------------------------------- second round


def test_not_found_single_index_or_rank_is_minus_one(client: Any) -> None:
    client.put(key("nf"), {"m": {"a": 1}})
    assert client.operate(key("nf"), [M.map_remove_by_key("m", "c", aerospike_py.MAP_RETURN_REVERSE_RANK)]).bins \
        == {"m": -1}


def test_order_of_multi_element_index_and_rank_results(client: Any) -> None:
    client.put(key("or"), {"m": {1: "a", 2: "b", 3: "c"}, "l": [3, 1, 2]})
    ops = [L.list_get_by_value_list("l", [1, 3], aerospike_py.LIST_RETURN_RANK),
           M.map_get_by_key_range("m", 1, 3, aerospike_py.MAP_RETURN_REVERSE_INDEX)]
    assert client.operate_ordered(key("or"), ops).ordered_bins == [("l", [0, 2]), ("m", [1, 2])]
    client.put(key("rr"), {"l": [7, 1e10, "b", [1], 1e10]})
    assert client.operate(key("rr"), [L.list_remove_by_rank_range("l", -4, aerospike_py.LIST_RETURN_REVERSE_RANK, 3)]
                          ).bins == {"l": [1, 2, 3]}


def test_increment_of_a_non_number_is_parameter_error(client: Any) -> None:
    client.put(key("in"), {"l": [{"a": 1}], "m": {1: "a"}})
    for op in (L.list_increment("l", 0, 1), M.map_increment("m", 1, 5)):
        with pytest.raises(ServerError) as e:
            client.operate(key("in"), [op])
        assert code(e) == 4


def test_unique_items_that_repeat(client: Any) -> None:
    with pytest.raises(ServerError) as e:
        client.operate(key("uq"), [L.list_append_items("q", [1, 1], {"flags": aerospike_py.LIST_WRITE_ADD_UNIQUE})])
    assert code(e) == 26
    flags = aerospike_py.LIST_WRITE_ADD_UNIQUE | aerospike_py.LIST_WRITE_NO_FAIL
    assert client.operate(key("uq"), [L.list_append_items("q", [1, 1], {"flags": flags})]).bins == {"q": 0}


def test_rank_results_of_a_key_list_are_not_applicable(client: Any) -> None:
    client.put(key("kl"), {"m": {1: "a"}})
    with pytest.raises(ServerError) as e:
        client.operate(key("kl"), [M.map_get_by_key_list("m", [1], aerospike_py.MAP_RETURN_RANK)])
    assert code(e) == 26


def test_expression_ops_see_the_new_ttl(client: Any) -> None:
    # The write's TTL (here the namespace default: never) applies before its ops run.
    client.put(key("tt"), {"l": []}, meta={"ttl": 86400})
    expr = E.cond(E.gt(E.ttl(), E.int_val(100)), E.int_val(1), E.int_val(2))
    client.operate(key("tt"), [E.exp_write("i", expr)])
    assert client.get(key("tt")).bins["i"] == 2


def test_no_fail_write_in_created_context_keeps_nothing(client: Any) -> None:
    policy = {"order": aerospike_py.LIST_ORDERED, "flags": 6}
    with pytest.raises(RecordNotFound):
        client.operate(key("sf"), [L.list_insert("l", 3, "b", policy, ctx=[X.cdt_ctx_map_key_create(5, 1)])])
    # without a context the bin itself is created
    assert client.operate(key("sf"), [L.list_insert("l", 3, "b", policy)]).bins == {"l": 0}


def test_increment_out_of_bounds_with_no_fail_answers_the_increment(client: Any) -> None:
    client.put(key("ib"), {"a": 1})
    flags = aerospike_py.LIST_WRITE_INSERT_BOUNDED | aerospike_py.LIST_WRITE_NO_FAIL
    assert client.operate(key("ib"), [L.list_increment("n", 1, 5, {"flags": flags})]).bins == {"n": 5}
    assert client.get(key("ib")).bins["n"] == []


def test_inverted_missing_key_of_key_ordered_map(client: Any) -> None:
    client.put(key("ko"), {"u": {1: 2}})
    client.operate(key("ko"), [M.map_put("k", 1, 2, {"order": aerospike_py.MAP_KEY_ORDERED})])
    count_inv = aerospike_py.MAP_RETURN_COUNT | M.MAP_RETURN_INVERTED
    assert client.operate(key("ko"), [M.map_remove_by_key("k", 9, count_inv)]).bins == {"k": 0}
    with pytest.raises(ServerError) as e:  # an unordered map refuses it
        client.operate(key("ko"), [M.map_remove_by_key("u", 9, count_inv)])
    assert code(e) == 26


def test_expression_map_results_keep_their_order(client: Any) -> None:
    client.put(key("eo"), {"m": {4: {}, 0: [], "ab": 8, 6: "z"}})
    expr = E.map_get_by_rank_range(aerospike_py.MAP_RETURN_KEY_VALUE, 0, 2, E.map_bin("m"))
    assert list(client.operate(key("eo"), [E.exp_read("r", expr)]).bins["r"].items()) == [("ab", 8), (6, "z")]


def test_increment_to_an_existing_value_with_add_unique(client: Any) -> None:
    client.put(key("au"), {"l": [8, 6, 7]})
    with pytest.raises(aerospike_py.exception.RecordError) as e:
        client.operate(key("au"), [L.list_increment("l", 1, 1, {"flags": aerospike_py.LIST_WRITE_ADD_UNIQUE})])
    assert code(e) == 24


def test_policy_order_applies_only_to_a_list_the_op_creates(client: Any) -> None:
    client.put(key("po"), {"l": [], "i": 4})
    policy = {"order": aerospike_py.LIST_ORDERED}
    assert client.operate(key("po"), [L.list_append_items("l", ["ab"], policy), L.list_increment("l", 5, 5)]
                          ).bins == {"l": [1, 5]}
    assert client.get(key("po")).bins["l"] == ["ab", None, None, None, None, 5]


def test_rest_of_a_map_rank_range_comes_by_rank(client: Any) -> None:
    client.put(key("rk"), {"m": {"a": 8, 3: "", 0: 255, "": {3: "ba"}}})
    op = M.map_get_by_value_rel_rank_range("m", "é", 1, aerospike_py.MAP_RETURN_VALUE | M.MAP_RETURN_INVERTED, 1)
    assert client.operate(key("rk"), [op]).bins == {"m": [8, 255, "", {3: "ba"}]}


def test_index_and_rank_results_of_a_whole_range_are_0_to_n(client: Any) -> None:
    client.put(key("wr"), {"l": [5, 1, 3, 1]})
    for rt in (aerospike_py.LIST_RETURN_RANK, aerospike_py.LIST_RETURN_REVERSE_RANK):
        assert client.operate(key("wr"), [L.list_get_by_index_range("l", 0, rt, 10)]).bins == {"l": [0, 1, 2, 3]}
    op = L.list_get_by_value_range("l", None, 2, aerospike_py.LIST_RETURN_REVERSE_RANK)  # [nil, 2): the ones
    assert client.operate(key("wr"), [op]).bins == {"l": [2, 3]}


def test_replace_writing_no_bins_is_not_found_and_keeps_the_record(client: Any) -> None:
    client.put(key("rp"), {"i": 7})
    expr = E.list_bin("l")  # no such bin: nothing is written (EVAL_NO_FAIL)
    with pytest.raises(RecordNotFound):
        client.operate(key("rp"), [E.exp_write("e", expr, E.EXP_WRITE_EVAL_NO_FAIL)],
                       policy={"exists": aerospike_py.POLICY_EXISTS_REPLACE})
    assert client.get(key("rp")).bins == {"i": 7}


def test_info_command_timing_out_raises_a_timeout() -> None:
    # An info reply that does not come used to end in KeyError('timeout_delay') in the retry engine.
    from aerospike_py.server import EmbeddedServer

    with EmbeddedServer() as srv:
        c = aerospike_py.client(srv.config).connect()
        srv.inject_fault("stall", match=lambda ptype, body: ptype == 1)
        with pytest.raises(aerospike_py.exception.AerospikeTimeoutError):
            c.info_random_node("build", policy={"timeout": 200})
        assert c.info_random_node("build")
        c.close()


def test_ranks_of_list_elements_found_by_index_and_by_value(client: Any) -> None:
    client.put(key("lr"), {"l": [5, 1, 3, 1, 1]})
    ops = [L.list_get_by_index("l", 3, aerospike_py.LIST_RETURN_RANK),  # ties share their lowest rank
           L.list_get_by_index_range("l", 2, aerospike_py.LIST_RETURN_RANK, 3),
           L.list_get_by_index_range("l", 1, aerospike_py.LIST_RETURN_REVERSE_INDEX, 2),
           L.list_get_by_value("l", 1, aerospike_py.LIST_RETURN_REVERSE_RANK)]
    assert client.operate_ordered(key("lr"), ops).ordered_bins == [("l", 0), ("l", [3, 0, 0]), ("l", [2, 3]),
                                                                   ("l", [2, 3, 4])]


def test_map_value_range_ranks_ascend(client: Any) -> None:
    client.put(key("mr"), {"m": {"ab": 5, 1: 2, 0: "a", "c": None, -1: 0.0}})
    op = M.map_get_by_value_range("m", True, None, aerospike_py.MAP_RETURN_RANK)
    assert client.operate(key("mr"), [op]).bins == {"m": [1, 2, 3, 4]}


def test_no_fail_write_in_created_context_still_answers(client: Any) -> None:
    flags = aerospike_py.LIST_WRITE_INSERT_BOUNDED | aerospike_py.LIST_WRITE_NO_FAIL
    ops = [{"op": aerospike_py.OPERATOR_INCR, "bin": "i", "val": 1},
           L.list_insert("l", 2, "ab", {"flags": flags}, ctx=[X.cdt_ctx_map_key_create(-1)])]
    assert client.operate(key("nf2"), ops).bins == {"l": 0}
    assert client.get(key("nf2")).bins == {"i": 1}


def test_inserting_no_items_pads_nothing(client: Any) -> None:
    client.put(key("np"), {"l": []})
    assert client.operate(key("np"), [L.list_insert_items("l", 1, [])]).bins == {"l": 0}
    client.operate(key("np"), [L.list_create("o", aerospike_py.LIST_ORDERED)])
    with pytest.raises(ServerError) as e:
        client.operate(key("np"), [L.list_insert_items("o", 1, [])])
    assert code(e) == 26


def test_list_rank_range_from_rank_0_gives_values_largest_first(client: Any) -> None:
    client.put(key("r0"), {"l": ["a", "é", 9, 1]})
    vals = aerospike_py.LIST_RETURN_VALUE
    assert client.operate(key("r0"), [L.list_get_by_rank_range("l", 0, vals, 3)]).bins == {"l": ["a", 9, 1]}
    assert client.operate(key("r0"), [L.list_get_by_rank_range("l", 1, vals, 3)]).bins == {"l": [9, "a", "é"]}


# --------------------------------------------------------------------------- UDFs, queries, scans


@pytest.fixture
def udf_client(client: Any) -> Iterator[Any]:
    pytest.importorskip("lupa")
    from pathlib import Path

    client.udf_put(str(Path(__file__).parent / "udf" / "diffh_udf.lua"))
    yield client
    client.udf_remove("diffh_udf")  # (the session's server keeps modules across tests)


def test_udf_update_keeps_stored_bins_in_place_and_appends_new_ones(udf_client: Any) -> None:
    c = udf_client
    c.put(key("uo"), {"s": "a", "i": 6, "x": b"\x01"})
    c.apply(key("uo"), "diffh_udf", "put", ["l", 0.5])
    assert list(c.get(key("uo")).bins) == ["s", "i", "x", "l"]
    c.apply(key("uo"), "diffh_udf", "drop_bin", ["s"])  # the last bin takes its place
    assert list(c.get(key("uo")).bins) == ["l", "i", "x"]
    c.apply(key("uo"), "diffh_udf", "put", ["s", 1])
    assert list(c.get(key("uo")).bins) == ["l", "i", "x", "s"]
    assert c.apply(key("uo"), "diffh_udf", "meta", [])["names"] == ["l", "i", "x", "s"]


@pytest.mark.parametrize("policy", [{"exists": aerospike_py.POLICY_EXISTS_UPDATE},
                                    {"exists": aerospike_py.POLICY_EXISTS_REPLACE},
                                    {"exists": aerospike_py.POLICY_EXISTS_REPLACE_ONLY},
                                    {"exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY},
                                    {"gen": aerospike_py.POLICY_GEN_EQ}, {"gen": aerospike_py.POLICY_GEN_GT}])
def test_udf_with_an_exists_or_generation_condition_is_parameter_error(udf_client: Any, policy: dict) -> None:
    c = udf_client
    for k in (key("uc"), key("uc-missing")):  # answered before the record is looked up
        if k == key("uc"):
            c.put(k, {"i": 1})
        with pytest.raises(ServerError) as e:
            c.apply(k, "diffh_udf", "get", ["i"], policy=policy)
        assert code(e) == 4
    assert c.get(key("uc")).bins == {"i": 1}


def test_batch_udf_with_an_exists_condition_is_parameter_error(udf_client: Any) -> None:
    c = udf_client
    c.put(key("bu"), {"i": 1})
    flt = E.eq(E.int_val(1), E.int_val(2))  # the condition is checked before the filter
    res = c.batch_apply([key("bu"), key("bu-missing")], "diffh_udf", "get", ["i"],
                        policy={"exists": aerospike_py.POLICY_EXISTS_UPDATE, "filter_expression": flt})
    assert [r.result for r in res.batch_records] == [4, 4]


def test_udf_delete_answers_the_next_generation(udf_client: Any) -> None:
    c = udf_client
    for _ in range(3):
        c.put(key("ud"), {"s": 1}, meta={"ttl": 1000})
    rec = c.batch_apply([key("ud")], "diffh_udf", "del", []).batch_records[0]
    assert (rec.result, rec.record.meta.gen, rec.record.meta.ttl) == (0, 4, 0xFFFFFFFF)
    assert c.exists(key("ud")).meta is None


def test_query_and_scan_skip_records_without_any_selected_bin(client: Any) -> None:
    client.put(("test", "divq", 1), {"i": 1, "s": "a"})
    client.put(("test", "divq", 2), {"i": 2, "zz": 1})
    scan = client.scan("test", "divq")
    scan.select("zz")
    assert [r.bins for r in scan.results()] == [{"zz": 1}]
    client.index_integer_create("test", "divq", "i", "divq_i")
    try:
        q = client.query("test", "divq")
        q.where(P.between("i", 0, 5))
        q.select("zz", "nope")
        assert [r.bins for r in q.results()] == [{"zz": 1}]
        q = client.query("test", "divq")  # without bin data every matching record is there
        q.where(P.between("i", 0, 5))
        q.select("nope")
        assert len(q.results({"include_bin_data": False})) == 2
    finally:
        client.index_remove("test", "divq_i")


def test_scan_records_without_selected_bins_count_against_max_records(client: Any) -> None:
    from aerospike_py._wire.digest import compute_digest, key_particle, partition_id

    def pid(k: int) -> int:
        return partition_id(compute_digest("divm", *key_particle(k)))

    first, second = sorted(range(2), key=pid)  # scans go in partition order
    client.put(("test", "divm", first), {"a": 1})
    client.put(("test", "divm", second), {"a": 2, "zz": 1})
    scan = client.scan("test", "divm")
    scan.select("zz")
    assert scan.results({"max_records": 1}) == []  # the first record used up the one allowed
    assert [r.bins for r in scan.results({"max_records": 2})] == [{"zz": 1}]


# --------------------------------------------------------------------------- INVERTED index/rank order


def _one(client: Any, k: str, bins: dict, op: dict) -> Any:
    client.put(key(k), bins)
    return client.operate_ordered(key(k), [op]).ordered_bins[0][1]


def test_inverted_list_index_results_in_the_real_servers_order(client: Any) -> None:
    rev_index, rev_rank = aerospike_py.LIST_RETURN_REVERSE_INDEX | INV, aerospike_py.LIST_RETURN_REVERSE_RANK | INV
    # the rest of an index range: head then tail, each ascending (reverse indexes)
    assert _one(client, "il1", {"l": [2, "a", 0.5, "ab", 5, 2, -1]},
                L.list_get_by_index_range("l", 3, rev_index, 2)) == [4, 5, 6, 0, 1]
    # the rest of an unordered list's rank range: by index, mapped to reverse indexes
    assert _one(client, "il2", {"l": [3, 1, 0, 2, 0, "ab", "a"]},
                L.list_get_by_rank_range("l", -3, rev_index, 2)) == [5, 4, 3, 2, 1]
    # of equal values, the rank range takes the ones the real server's heap takes
    assert _one(client, "il3", {"l": [1, 1, 1]}, L.list_get_by_value_rel_rank_range("l", 0, 2, rev_index, 2)) == [1, 0]
    assert _one(client, "il4", {"l": ["a", "b", -1, "a", 2]},
                L.list_get_by_rank_range("l", 0, aerospike_py.LIST_RETURN_INDEX | INV, 3)) == [0, 1]
    # an ordered list's rank range is an index range
    client.put(key("il5"), {"x": 1})
    ops = [L.list_set_order("l", aerospike_py.LIST_ORDERED), L.list_append_items("l", ["b", "b", 2, 2, 3]),
           L.list_get_by_rank_range("l", 1, rev_rank, 1)]
    assert client.operate_ordered(key("il5"), ops).ordered_bins[-1][1] == [4, 0, 1, 2]


def test_inverted_map_index_and_rank_results_in_the_real_servers_order(client: Any) -> None:
    inv = M.MAP_RETURN_INVERTED
    rev_index = aerospike_py.MAP_RETURN_REVERSE_INDEX | inv
    assert _one(client, "im1", {"m": {1: "b", "b": "b", "a": [1], 3: 1}},
                M.map_get_by_key_rel_index_range("m", 0, 1, rev_index, 2)) == [3, 0]
    # the rest of a rank range, by mask: key indexes in storage (insertion) order
    assert _one(client, "im2", {"m": {"b": b"x", 4: 2, 2: 0, "c": "b", 5: 0, 3: 1}},
                M.map_get_by_rank_range("m", -2, aerospike_py.MAP_RETURN_INDEX | inv, 3)) == [0, 3, 1, 2]
    assert _one(client, "im3", {"m": {"b": -1, 0: 0.5, 2: 0.5, 5: -1, 4: 1}},
                M.map_get_by_index_range("m", 0, aerospike_py.MAP_RETURN_REVERSE_RANK | inv, 2)) == [2, 4, 3]
    # nothing selected: everything, by mask (reverse indexes descend)
    assert _one(client, "im4", {"m": {0: 0, 2: b"x", 5: 3}},
                M.map_remove_by_value_list("m", ["b", 1], rev_index)) == [2, 1, 0]
    assert client.get(key("im4")).bins == {"m": {}}


def test_index_of_an_existing_definition_renames_it(client: Any) -> None:
    def names() -> list[tuple[str, str]]:
        out = client.info_random_node("sindex-list:ns=test")
        return [(dict(kv.split("=", 1) for kv in e.split(":"))["indexname"],
                 dict(kv.split("=", 1) for kv in e.split(":"))["bin"]) for e in out.split(";") if "set=divx" in e]

    client.index_integer_create("test", "divx", "i", "divx_a")
    client.index_integer_create("test", "divx", "i", "divx_b")  # the same definition: renamed, ok
    assert names() == [("divx_b", "i")]
    client.index_integer_create("test", "divx", "s", "divx_a")  # the name is free again
    assert names() == [("divx_b", "i"), ("divx_a", "s")]
    with pytest.raises(aerospike_py.exception.IndexFoundError):  # a name taken by another definition
        client.index_integer_create("test", "divx", "i", "divx_a")
    client.put(("test", "divx", 1), {"i": 3})
    q = client.query("test", "divx")
    q.where(P.equals("i", 3))
    assert [r.bins for r in q.results()] == [{"i": 3}]  # the renamed index still serves
    for n in ("divx_a", "divx_b"):
        client.index_remove("test", n)


def test_list_index_and_rank_results_in_the_real_servers_order(client: Any) -> None:
    rev_index = aerospike_py.LIST_RETURN_REVERSE_INDEX
    # an unordered list's rank range selects by mask: reverse indexes descend
    assert _one(client, "lp1", {"l": [6, 6]}, L.list_get_by_value_rel_rank_range("l", None, -2, rev_index, 10)) == [1, 0]
    # an ordered list's value range is an index range: its reverse indexes ascend
    client.put(key("lp2"), {"x": 1})
    ops = [L.list_set_order("l", aerospike_py.LIST_ORDERED), L.list_append_items("l", [[1], "b", 0.5, b"x", 5]),
           L.list_get_by_value_range("l", "b", None, rev_index)]
    assert client.operate_ordered(key("lp2"), ops).ordered_bins[-1][1] == [0, 1, 2, 3]
    # an unordered list's ranks of a value list: value by value, each value once
    assert _one(client, "lp3", {"l": [1, 1, [1], 3, 5, b"x", 3]},
                L.list_get_by_value_list("l", [[1], [1], 1], aerospike_py.LIST_RETURN_REVERSE_RANK)) == [1, 6, 5]


def test_map_index_results_of_rank_ranges_and_value_ranges_in_the_real_servers_order(client: Any) -> None:
    # a rank range's key indexes come in rank order, even when it takes every element
    assert _one(client, "mp1", {"m": {4: "a" * 20, 6: "é", "a": 8}},
                M.map_get_by_value_rel_rank_range("m", -3, 0, aerospike_py.MAP_RETURN_REVERSE_INDEX)) == [0, 2, 1]
    assert _one(client, "mp2", {"m": {b"a": "ba", 3: 0.5}},
                M.map_get_by_rank_range("m", 0, aerospike_py.MAP_RETURN_INDEX, 2)) == [1, 0]
    # a value range's key indexes go by mask (a key-ordered map: key order; reverse indexes descend)
    client.put(key("mp3"), {"x": 1})
    ops = [M.map_set_order("m", aerospike_py.MAP_KEY_ORDERED), M.map_put_items("m", {"b": 5, 4: 5, 5: 1, "c": 1}),
           M.map_get_by_value_range("m", 0, None, aerospike_py.MAP_RETURN_REVERSE_INDEX)]
    assert client.operate_ordered(key("mp3"), ops).ordered_bins[-1][1] == [3, 2, 1, 0]


def test_replace_leaving_no_bins_deletes_a_record_a_secondary_index_holds(client: Any) -> None:
    replace = {"exists": aerospike_py.POLICY_EXISTS_REPLACE_ONLY}
    write_e = [E.exp_write("e", E.int_bin("zz"), 24)]  # (fails to evaluate, no fail): no bin written
    client.put(key("rx1"), {"i": 1})
    with pytest.raises(RecordNotFound):  # no index holds it: nothing happens
        client.operate(key("rx1"), write_e, policy=replace)
    assert client.get(key("rx1")).bins == {"i": 1}
    client.index_integer_create("test", "divergences", "i", "div_rx_i")
    try:
        client.put(key("rx2"), {"s": "x"})  # (not indexed: nothing happens either)
        with pytest.raises(RecordNotFound):
            client.operate(key("rx2"), write_e, policy=replace)
        rec = client.operate(key("rx1"), write_e, policy=replace)  # indexed: the real server deletes it
        assert (rec.meta.gen, rec.bins) == (0, {"e": None})
        assert client.exists(key("rx1")).meta is None
    finally:
        client.index_remove("test", "div_rx_i")


# --------------------------------------------------------------------------- sixth harness round


def _ordered_map(client: Any, k: str, items: dict, order: int) -> None:
    client.remove(key(k)) if client.exists(key(k)).meta else None
    client.operate(key(k), [M.map_put_items("m", items, {"map_order": order})])


def test_map_key_list_index_results_item_by_item(client: Any) -> None:
    rt_index, rt_rev = aerospike_py.MAP_RETURN_INDEX, aerospike_py.MAP_RETURN_REVERSE_INDEX
    # a key-ordered map answers each key of the list in the list's order, repeats included
    _ordered_map(client, "kl1", {"c": 0.5, "ab": b"a", "b": b"a"}, aerospike_py.MAP_KEY_ORDERED)
    assert client.operate(key("kl1"), [M.map_get_by_key_list("m", ["b", "b"], rt_index)]).bins["m"] == [1, 1]
    _ordered_map(client, "kl2", {"a": "b", "c": [1], "b": 0.5}, aerospike_py.MAP_KEY_ORDERED)
    assert client.operate(key("kl2"), [M.map_get_by_key_list("m", [-2, "b", "a"], rt_rev)]).bins["m"] == [1, 2]
    # an unordered map: the list's order too, a repeated key once
    _ordered_map(client, "kl3", {-1: None, 4: "a", "b": None}, aerospike_py.MAP_UNORDERED)
    assert client.operate(key("kl3"), [M.map_get_by_key_list("m", ["b", 5, "b", 4], rt_rev)]).bins["m"] == [0, 1]


def test_map_value_list_rank_and_index_results_item_by_item(client: Any) -> None:
    rank, rev_rank = aerospike_py.MAP_RETURN_RANK, aerospike_py.MAP_RETURN_REVERSE_RANK
    _ordered_map(client, "vl1", {4: "a", "": b"a", 3: 2, 0: "b"}, aerospike_py.MAP_KEY_ORDERED)
    assert client.operate(key("vl1"), [M.map_get_by_value_list("m", ["a", None, 2, None], rank)]).bins["m"] == [1, 0]
    # a map of one entry answers every item found (its order index is valid there)
    _ordered_map(client, "vl2", {"ab": "a"}, aerospike_py.MAP_KEY_VALUE_ORDERED)
    assert client.operate(key("vl2"), [M.map_get_by_value_list("m", ["a", 4, "a", "a"], rev_rank)]).bins["m"] == [0, 0, 0]
    # indexes of a value list go by mask, in storage order (reverse indexes of a key-ordered map descend)
    _ordered_map(client, "vl3", {0: "a", -1: "a"}, aerospike_py.MAP_KEY_ORDERED)
    rev_index = aerospike_py.MAP_RETURN_REVERSE_INDEX
    assert client.operate(key("vl3"), [M.map_get_by_value_list("m", ["a", None], rev_index)]).bins["m"] == [1, 0]


def test_bit_rscan_scans_back_to_the_start_of_the_first_byte(client: Any) -> None:
    from aerospike_py import bit_operations as B

    client.put(key("rs"), {"x": b"ky\x07"})
    # bit 23 is set; the real server's scan for a clear bit goes on through bits 16..22 of that byte
    assert client.operate(key("rs"), [B.bit_rscan("x", -1, 1, False)]).bins["x"] == -3
    assert client.operate(key("rs"), [B.bit_rscan("x", -1, 1, True)]).bins["x"] == 0
    assert client.operate(key("rs"), [B.bit_rscan("x", 20, 3, True)]).bins["x"] == 2


def test_udf_update_keeps_bins_it_did_not_set_as_stored(udf_client: Any) -> None:
    from aerospike_py import bit_operations as B
    from aerospike_py import hll_operations as H

    c = udf_client
    c.operate(key("uh"), [H.hll_add("h", [2, "b"], 10),
                          M.map_put_items("m", {"b": 1, "a": 2}, {"map_order": aerospike_py.MAP_KEY_ORDERED})])
    c.apply(key("uh"), "diffh_udf", "ttl", [100])
    assert c.operate(key("uh"), [H.hll_get_count("h")]).bins["h"] == 2  # still an HLL
    with pytest.raises(BinTypeError):  # (not a blob either)
        c.operate(key("uh"), [B.bit_lshift("h", 0, 8, 1)])
    # still key-ordered: an index is a key order
    assert c.operate(key("uh"), [M.map_get_by_index("m", 0, aerospike_py.MAP_RETURN_KEY)]).bins["m"] == "a"


def test_exists_inverted_answers_as_the_real_server(client: Any) -> None:
    """EXISTS with INVERTED: where the real server keeps the selection and inverts its answer, it
    answers whether the selection before the inversion is empty (cdt.c)."""
    ex_inv = aerospike_py.LIST_RETURN_EXISTS | INV
    lst = [b"\x00", "abc", "a" * 20, -(1 << 63)]
    # an unordered list's rank range: two of four selected, two left, yet False
    assert _one(client, "ei1", {"l": lst}, L.list_get_by_rank_range("l", 2, ex_inv, 10)) is False
    # an index range (the rest is a range): whether anything is left
    assert _one(client, "ei2", {"l": lst}, L.list_get_by_index_range("l", 1, ex_inv, 2)) is True
    # an unordered empty list: a value range answers True, a rank range False
    assert _one(client, "ei3", {"l": []}, L.list_get_by_value_range("l", 0, 5, ex_inv)) is True
    assert _one(client, "ei3", {"l": []}, L.list_get_by_rank_range("l", 0, ex_inv, 2)) is False
    # a map's rank range amid the ranks: False; touching an end: whether anything is left
    m_inv = aerospike_py.MAP_RETURN_EXISTS | M.MAP_RETURN_INVERTED
    m = {"a": 1, "b": 2, "c": 3, "d": 4}
    assert _one(client, "ei4", {"m": m}, M.map_get_by_rank_range("m", 1, m_inv, 2)) is False
    assert _one(client, "ei5", {"m": m}, M.map_get_by_rank_range("m", 2, m_inv, 2)) is True
    # a map's value range: whether the selection is empty
    assert _one(client, "ei6", {"m": m}, M.map_get_by_value_range("m", 1, 3, m_inv)) is False


def test_inverted_map_rank_range_amid_the_ranks_goes_by_storage_order(client: Any) -> None:
    _ordered_map(client, "ir1", {"ab": [-1, "ba", "abc"], 0: 7, -2: False, "b": None}, aerospike_py.MAP_KEY_ORDERED)
    value_inv = aerospike_py.MAP_RETURN_VALUE | M.MAP_RETURN_INVERTED
    assert client.operate(key("ir1"), [M.map_get_by_rank_range("m", 1, value_inv, 1)]).bins["m"] == \
        [7, [-1, "ba", "abc"], None]
    # (touching an end, the rest is a rank range: by rank)
    assert client.operate(key("ir1"), [M.map_get_by_rank_range("m", 0, value_inv, 1)]).bins["m"] == \
        [False, 7, [-1, "ba", "abc"]]


def test_list_rank_results_as_the_real_servers_heap_leaves_them(client: Any) -> None:
    value, index = aerospike_py.LIST_RETURN_VALUE, aerospike_py.LIST_RETURN_INDEX
    # an unordered list's rank range nearer the bottom: largest first; nearer the top: smallest first
    lst = [{0: "z"}, "a", -100, 255, 3]
    assert _one(client, "hr1", {"l": lst}, L.list_get_by_rank_range("l", 1, value, 3)) == ["a", 255, 3]
    assert _one(client, "hr2", {"l": lst}, L.list_get_by_rank_range("l", 2, value, 2)) == [255, "a"]
    # one rank of equal values: the one the heap picks
    lst = ["b", None, {4: 0, 6: 6, 0: -1}, ["ba", None], b"ab", b"ab"]
    assert _one(client, "hr3", {"l": lst}, L.list_get_by_rank("l", 5, index)) == 4


def test_ordered_list_rank_selections_are_index_selections(client: Any) -> None:
    def ordered(k: str, items: list, op: dict) -> Any:
        client.put(key(k), {"x": 1})
        ops = [L.list_set_order("l", aerospike_py.LIST_ORDERED), L.list_append_items("l", items), op]
        return client.operate_ordered(key(k), ops).ordered_bins[-1][1]

    value = aerospike_py.LIST_RETURN_VALUE
    assert ordered("ol1", [9, b"ab", -1.25, "ab"], L.list_get_by_rank_range("l", 0, value, 10)) == [9, "ab", b"ab", -1.25]
    assert ordered("ol2", [None, 7], L.list_get_by_value_rel_rank_range("l", [None, 9], -2, value, 2)) == [None, 7]
    big = 1 << 62  # equal values: an ordered list's rank is its index
    assert ordered("ol3", [0.5, [], b"", big, big], L.list_get_by_index("l", 1, aerospike_py.LIST_RETURN_RANK)) == 1


def test_unordered_map_key_interval_results(client: Any) -> None:
    # its ranks stay in key order even when it takes every entry
    assert _one(client, "ki1", {"m": {1: 4, 0: b"\x00"}},
                M.map_get_by_key_range("m", 0, "a", aerospike_py.MAP_RETURN_RANK)) == [1, 0]
    # the rest of an empty interval: split where it begins
    rev_inv = aerospike_py.MAP_RETURN_REVERSE_INDEX | M.MAP_RETURN_INVERTED
    assert _one(client, "ki2", {"m": {0: 1e10, "b": 6, "c": None}}, M.map_get_by_key_range("m", "b", -2, rev_inv)) == \
        [2, 0, 1]


def test_add_unique_items_by_the_real_servers_rules(client: Any) -> None:
    unique, no_fail, partial, bounded = 1, 4, 8, 2

    def add(k: str, init: list | None, op: dict) -> Any:
        if init is not None:
            client.put(key(k), {"l": init})
        try:
            return client.operate(key(k), [op]).bins["l"], client.get(key(k)).bins["l"]
        except aerospike_py.exception.AerospikeError as e:
            return e.code

    # NO_FAIL with PARTIAL: items repeating one another go in once (seed 403651)
    pol = {"order": aerospike_py.LIST_ORDERED, "flags": unique | no_fail | partial}
    assert add("au1", None, L.list_append_items("l", [0, 0, "ab"], pol)) == (2, [0, "ab"])
    # PARTIAL without NO_FAIL is no PARTIAL: an item already there is ELEMENT_EXISTS (24)
    assert add("au2", [0, 1, 2], L.list_insert_items("l", 1, [3, 1], {"flags": unique | partial})) == 24
    # an unordered list looks item by item: the item already there comes first here (24, not 26)
    assert add("au3", [1], L.list_append_items("l", [1, "z", "z"], {"flags": unique | bounded})) == 24
    # an insert checks its bounds before its items
    assert add("au4", [2, 0, "ab"], L.list_insert_items("l", 5, [1, "ab", 3], {"flags": unique | bounded})) == 26


def test_list_index_query_resumes_a_partition_at_its_digest_and_bval(client: Any) -> None:
    """A partition resumed at (bval 0, digest) of a record whose list holds -2, -1 and 3: its entry
    (3, digest) lies past the resume point, so the record comes again (seed 417217)."""
    from aerospike_py._wire.digest import compute_digest, key_particle

    ctx = [X.cdt_ctx_map_key("b")]
    client.index_integer_create("test", "divergences", "m", "div_resume", collection_type=aerospike_py.INDEX_TYPE_LIST,
                                ctx=ctx)
    try:
        client.put(key("rq"), {"m": {"b": [-1, -2, 3], 3: -100}})
        pf = aerospike_py.partition_filter_by_digest(compute_digest("divergences", *key_particle("rq")))
        q = client.query("test", "divergences")
        q.where(P.range("m", aerospike_py.INDEX_TYPE_LIST, -2, 8, ctx=ctx))
        assert [r.key[2] for r in q.results({"partition_filter": pf})] == [None]
        q = client.query("test", "divergences")
        q.where(P.range("m", aerospike_py.INDEX_TYPE_LIST, -2, 0, ctx=ctx))  # (no entry past it: none)
        assert q.results({"partition_filter": pf}) == []
    finally:
        client.index_remove("test", "div_resume")


def test_value_selections_in_the_real_servers_order(client: Any) -> None:
    """Cases of tests/_invprobe.py --every-rt (every return type, INVERTED or not)."""
    def built(k: str, order: int, items: list, op: dict) -> Any:
        client.put(key(k), {"x": 1})
        ops = [L.list_set_order("l", order), L.list_append_items("l", items), op]
        res = client.operate_ordered(key(k), ops).ordered_bins[-1][1]
        return res, client.get(key(k)).bins["l"]

    value, rev_rank = aerospike_py.LIST_RETURN_VALUE, aerospike_py.LIST_RETURN_REVERSE_RANK
    # an ordered list's value list: item by item, an item asked twice answered twice
    assert built("vs1", 1, [1], L.list_get_by_value_list("l", [1, 1], value)) == ([1, 1], [1])
    assert built("vs2", 1, [1, -1, 1, 2, 0, 1, "ab", [1]], L.list_get_by_value_list("l", [2, 5, 0], value))[0] == [2, 0]
    # an unordered list's value list ranks: a value asked twice answers where it last stands
    assert built("vs3", 0, [0.5, 3, "a", 2, 1, "b", 2, "ab"],
                 L.list_remove_by_value_list("l", ["a", 3, "a"], rev_rank))[0] == [4, 3]
    # of equal values, a relative rank range removes the one the real server's heap picks
    assert built("vs4", 0, [1, "b", b"x", 5, 0, b"x", b"x"], L.list_remove_by_value_rel_rank_range("l", 5, 2, value, 1)) \
        == ([b"x"], [1, "b", b"x", 5, 0, b"x"])
    # a map's entries of one value: their (reverse) ranks as a range, ascending
    m_rev_rank = aerospike_py.MAP_RETURN_REVERSE_RANK
    assert _one(client, "vs5", {"m": {3: [1], 2: "b", "b": "b"}}, M.map_get_by_value("m", "b", m_rev_rank)) == [1, 2]


def test_levels_below_a_created_context_level_are_created_too(client: Any) -> None:
    """Once a context level is created, the real server creates the levels below it whether their
    items have create flags or not (map keys, list indexes 0 and -1); other items answer 26."""
    def run(k: str, bins: dict, op: dict) -> Any:
        client.put(key(k), bins)
        try:
            return client.operate(key(k), [op]).bins, client.get(key(k)).bins
        except aerospike_py.exception.AerospikeError as e:
            return e.code

    create_z = X.cdt_ctx_map_key_create("z", aerospike_py.MAP_KEY_ORDERED)
    assert run("cc1", {"b": {"a": {}}}, L.list_append("b", 5, ctx=[create_z, X.cdt_ctx_map_key("b")])) == \
        ({"b": 1}, {"b": {"a": {}, "z": {"b": [5]}}})
    assert run("cc2", {"b": {}}, M.map_put("b", 1, 9, ctx=[create_z, X.cdt_ctx_list_index(0)])) == \
        ({"b": 1}, {"b": {"z": [{1: 9}]}})
    assert run("cc3", {"b": {}}, L.list_append("b", 5, ctx=[create_z, X.cdt_ctx_list_index(2)])) == 26
    assert run("cc4", {"b": {}}, L.list_append("b", 5, ctx=[create_z, X.cdt_ctx_list_rank(-1)])) == 26
    # a missing bin: the first item must create, the rest follow
    assert run("cc5", {"o": 1}, M.map_increment("b", "q", 1, ctx=[X.cdt_ctx_list_index_create(1, aerospike_py.LIST_ORDERED, False),
                                                               X.cdt_ctx_map_key("b")])) == \
        ({"b": 1}, {"o": 1, "b": [{"b": {"q": 1}}]})


def test_list_rank_of_equal_values_answers_the_rank_asked(client: Any) -> None:
    """(seed 700032) Of 17 nils, rank 1 is removed; its rank is 1, whichever nil the heap took."""
    client.put(key("rt"), {"l": [True, b"\x00", [{"b": None}, "z"], {-2: -2, 6: "a" * 20, 2: "abc"}]})
    client.operate(key("rt"), [L.list_insert_items("l", 20, [3, b"", None], {"order": 0, "flags": 5})])
    assert client.operate(key("rt"), [L.list_remove_by_rank("l", 1, aerospike_py.LIST_RETURN_RANK)]).bins["l"] == 1
    assert client.operate(key("rt"), [L.list_get_by_rank("l", -2, aerospike_py.LIST_RETURN_REVERSE_RANK)]).bins["l"] == 1


def test_add_unique_increment_past_the_end_and_no_fail_answers(client: Any) -> None:
    """(seed 813596) An increment past the end inserts its value: ADD_UNIQUE refuses one already
    there; with NO_FAIL, in range or not, the answer is the value it would have written."""
    unique, no_fail = 1, 4
    client.put(key("ui"), {"l": [-2]})
    with pytest.raises(aerospike_py.exception.RecordError) as e:
        client.operate(key("ui"), [L.list_increment("l", 20, -2, {"flags": unique})])
    assert code(e) == 24
    assert client.operate(key("ui"), [L.list_increment("l", 20, -2, {"flags": unique | no_fail})]).bins == {"l": -2}
    client.put(key("ui"), {"l": [-2, 0]})
    assert client.operate(key("ui"), [L.list_increment("l", 1, -2, {"flags": unique | no_fail})]).bins == {"l": -2}
    assert client.get(key("ui")).bins["l"] == [-2, 0]
