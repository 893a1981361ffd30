"""Result shapes shared with aerospike-py 0.14.4: the dict-style API of batch_read results (sync
BatchRecords, async BatchReadHandle) and operate's results for several operations on one bin and
for map key/value returns. Differential tests run the original against the real server."""

from __future__ import annotations

import asyncio

import pytest

import aerospike_py
from aerospike_py import LazyBatchRecords, NumpyBatchRecords
from aerospike_py import list_operations as lo
from aerospike_py import map_operations as mo

SET = "dropin_results"


def _keys() -> list[tuple[str, str, object]]:
    return [("test", SET, "k0"), ("test", SET, "k1"), ("test", SET, "missing"), ("test", SET, 7)]


def _fill(c: aerospike_py.Client) -> None:
    for k in _keys():
        if k[2] != "missing":
            c.put(k, {"a": 1, "s": f"v{k[2]}"})


def test_sync_batch_read_dict_api(client):
    _fill(client)
    r = client.batch_read(_keys())
    assert isinstance(r, aerospike_py.BatchRecords) and isinstance(r, LazyBatchRecords)
    assert [br.result for br in r.batch_records] == [0, 0, 2, 0]  # the seed's contract holds
    (records,) = r
    assert records is r.batch_records
    assert len(r) == r.found_count() == 3
    assert list(r.keys()) == ["k0", "k1", 7]
    assert list(r.values()) == [{"a": 1, "s": "vk0"}, {"a": 1, "s": "vk1"}, {"a": 1, "s": "v7"}]
    assert dict(r.items()) == r.to_dict() == {"k0": {"a": 1, "s": "vk0"}, "k1": {"a": 1, "s": "vk1"},
                                               7: {"a": 1, "s": "v7"}}
    assert "k0" in r and 7 in r and "missing" not in r
    assert r.get("k1") == {"a": 1, "s": "vk1"} and r.get("missing", "dflt") == "dflt"
    assert r.to_list() == [{"a": 1, "s": "vk0"}, {"a": 1, "s": "vk1"}, None, {"a": 1, "s": "v7"}]
    assert list(r.iter_records()) == r.batch_records
    assert r.all_user_keys() == ["k0", "k1", "missing", 7]
    assert LazyBatchRecords.merge_to_dict([r, r]) == [r.to_dict(), r.to_dict()]
    d = r.to_dict()
    r.release_cache()
    assert r.to_dict() == d and r.to_dict() is not d


def test_sync_batch_read_to_numpy(client):
    np = pytest.importorskip("numpy")
    _fill(client)
    arr = client.batch_read(_keys()).to_numpy(np.dtype([("a", "i8"), ("s", "S4")]))
    assert isinstance(arr, NumpyBatchRecords)
    assert arr.result_codes.tolist() == [0, 0, 2, 0]
    assert arr.batch_records["a"].tolist() == [1, 1, 0, 1]
    assert arr.get("k1")["s"] == b"vk1"
    assert arr.meta["gen"].tolist() == [1, 1, 0, 1]


def test_async_handle_keeps_seed_semantics_and_gains_the_dict_api(server):
    async def main() -> None:
        async with aerospike_py.async_client(server.config) as c:
            await c.connect()
            for k in _keys():
                if k[2] != "missing":
                    await c.put(k, {"a": 1})
            h = await c.batch_read(_keys())
            assert isinstance(h, LazyBatchRecords)
            # the seed: len = every record, index access, keys() = every requested user key
            assert len(h) == 4 and h[2].result == 2 and h[-1].key.user_key == 7
            assert h.keys() == ["k0", "k1", "missing", 7] == h.all_user_keys()
            assert h.found_count() == 3
            # the non-conflicting LazyBatchRecords methods
            assert h.to_dict() == h.as_dict() == {"k0": {"a": 1}, "k1": {"a": 1}, 7: {"a": 1}}
            assert "k1" in h and "missing" not in h
            assert h.get("k0") == {"a": 1} and h.get("missing") is None
            assert list(h.values()) == [{"a": 1}] * 3 and list(dict(h.items())) == ["k0", "k1", 7]
            assert h.to_list() == [{"a": 1}, {"a": 1}, None, {"a": 1}]
            assert [br.result for br in h.iter_records()] == [0, 0, 2, 0]
            h.release_cache()
            assert LazyBatchRecords.merge_to_dict([h]) == [h.to_dict()]

    asyncio.run(main())


OPS_SCRIPT = """
k = ('test', SETNAME, 'ops')
c.put(k, {'i': 1, 'l': [1, 2, 3], 'm': {'a': 1, 'b': 2, 'c': 3}})
ops = [{'op': aerospike_py.OPERATOR_INCR, 'bin': 'i', 'val': 5}, {'op': aerospike_py.OPERATOR_READ, 'bin': 'i'},
       {'op': aerospike_py.OPERATOR_READ, 'bin': 'i'},
       lo.list_append('l', 4), lo.list_size('l'), lo.list_set('l', 0, 9), lo.list_get('l', 0),
       mo.map_get_by_key_list('m', ['a', 'b'], aerospike_py.MAP_RETURN_KEY_VALUE), mo.map_size('m'),
       mo.map_get_by_rank_range('m', 0, aerospike_py.MAP_RETURN_KEY_VALUE, 2)]
out = [c.operate(k, ops).bins]
out.append([[br.result, br.record.bins if br.record else None]
            for br in c.batch_operate([k, ('test', SETNAME, 'nope')], ops[1:]).batch_records])
c.remove(k)
c.remove(('test', SETNAME, 'nope'))
"""


def _ops_ours(c: aerospike_py.Client, set_name: str) -> list[object]:
    ns: dict[str, object] = {"c": c, "aerospike_py": aerospike_py, "lo": lo, "mo": mo, "SETNAME": set_name}
    exec(OPS_SCRIPT, ns)  # noqa: S102 - the very script the original runs
    return ns["out"]  # type: ignore[return-value]


EXPECTED_OPS = [
    {"i": [6, 6], "l": [4, 4, 9], "m": [[("a", 1), ("b", 2)], 3, [("a", 1), ("b", 2)]]},
    # batch_operate keeps the None results (list_set's; reads of bins the new record lacks), as the original
    [[0, {"i": [6, 6], "l": [5, 5, None, 9], "m": [[("a", 1), ("b", 2)], 3, [("a", 1), ("b", 2)]]}],
     [0, {"i": [None, None], "l": [1, 1, None, 9], "m": [None, None, None]}]],  # list_append creates it
]


def test_operate_several_ops_per_bin_and_key_value(client):
    assert _ops_ours(client, SET) == EXPECTED_OPS


def test_operate_same_as_the_original(real_server):
    from _orig import jsonable, run_original

    c = aerospike_py.client(real_server.config).connect()
    try:
        ours = _ops_ours(c, "dropin_ops_ours")
    finally:
        c.close()
    theirs = run_original(f"SETNAME = 'dropin_ops_orig'\n{OPS_SCRIPT}", real_server.hosts)
    assert _sorted(jsonable(ours)) == _sorted(theirs)


def _sorted(v: object) -> object:
    """Bins dicts compared by content (the original returns them in hash order)."""
    if isinstance(v, dict):
        return sorted((k, _sorted(x)) for k, x in v.items())
    if isinstance(v, list):
        return [_sorted(x) for x in v]
    return v


def test_batch_read_same_as_the_original(real_server):
    from _orig import jsonable, run_original

    script = """
keys = [('test', SETNAME, 'k0'), ('test', SETNAME, 'k1'), ('test', SETNAME, 'missing'), ('test', SETNAME, 7)]
for k in keys:
    if k[2] != 'missing':
        c.put(k, {'a': 1})
r = c.batch_read(keys)
out = [len(r), r.found_count(), list(r.keys()), list(r.values()), [list(x) for x in r.items()],
       'k0' in r, 'missing' in r, r.get('k1'), r.get('missing', 'd'), r.to_list(), r.all_user_keys(),
       [br.result for br in r.iter_records()]]
for k in keys:
    if k[2] != 'missing':
        c.remove(k)
"""
    c = aerospike_py.client(real_server.config).connect()
    try:
        ns: dict[str, object] = {"c": c, "SETNAME": "dropin_br_ours"}
        exec(script, ns)  # noqa: S102
    finally:
        c.close()
    theirs = run_original("SETNAME = 'dropin_br_orig'\n" + script, real_server.hosts)
    assert jsonable(ns["out"]) == theirs
